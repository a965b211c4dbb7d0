"""The School page, lesson pins and tags, and the timetable view's watcher, driven without a browser."""

from __future__ import annotations

from types import SimpleNamespace

import pytest

from dashboard.pages.lessons import LessonDetail, LessonsPage, parse_tags
from dashboard.pages.school import SchoolPage
from dashboard.shell import Shell
from dashboard.state import AppState
from dashboard.timetable.view import TimetableView
from solver.demo import generate_demo
from store.errors import ValidationError


class NoJobs:
    def list(self, school_id=None, active_only=False, limit=100):
        return []


@pytest.fixture
def app(store):
    store.import_school(generate_demo(120, 1), "Demo")
    return AppState(store, NoJobs())


def errors(app: AppState) -> list[str]:
    return [text for kind, text in app.toasts if kind == "error"]


# ---------------------------------------------------------------- the store's calendar checks


def test_the_store_refuses_repeated_and_empty_day_and_period_names(store):
    school = store.create_school("Plain")
    calendar = store.get_calendar(school)
    for bad, words in [
        ({**calendar, "days": [*calendar["days"], calendar["days"][0]]}, "used twice"),
        ({**calendar, "periods": [*calendar["periods"], " "]}, "period name is empty"),
    ]:
        with pytest.raises(ValidationError, match=words):
            store.update_calendar(school, bad)
    assert store.get_calendar(school) == calendar


# ---------------------------------------------------------------- the School page


def test_days_and_periods_are_added_renamed_and_removed(app):
    page = SchoolPage(app=app)
    revision = app.data_revision
    assert page.add("periods", "9", after="8")
    assert app.store.get_calendar(app.school)["periods"][-1] == "9"
    assert page.rename("periods", "9", "Late")
    assert page.periods[-1] == "Late" and app.data_revision > revision
    assert page.remove("periods", "Late")
    assert "Late" not in app.store.get_calendar(app.school)["periods"]
    assert not errors(app)


def test_renaming_a_period_takes_its_breaks_along(store):
    school = store.create_school("Small")
    store.update_calendar(
        school, {"days": ["Mon", "Tue"], "periods": ["1", "2", "3"], "breaks": [["Mon", "2"]]}
    )
    app = AppState(store, NoJobs(), school=school)
    page = SchoolPage(app=app)
    assert page.rename("periods", "2", "Lunch")
    assert store.get_calendar(school)["breaks"] == [["Mon", "Lunch"]]
    assert page.rename("days", "Mon", "Monday")
    assert store.get_calendar(school)["breaks"] == [["Monday", "Lunch"]]


def test_renaming_a_day_carries_its_pins_rules_and_breaks_along(app):
    store, school = app.store, app.school
    lesson = store.list(school, "lessons")[0]["id"]
    store.update(school, "lessons", lesson, {"pinned": [{"block": 0, "day": "Friday", "period": "2"}]})
    page = SchoolPage(app=app)
    assert page.rename("days", "Friday", "Fri")
    calendar = store.get_calendar(school)
    assert calendar["days"] == ["Monday", "Tuesday", "Wednesday", "Thursday", "Fri"]
    assert ["Fri", "Lunch"] in calendar["breaks"] and len(calendar["breaks"]) == 5
    assert store.get(school, "lessons", lesson)["pinned"][0]["day"] == "Fri"
    slots = [s for r in store.list(school, "rules") for s in r.get("params", {}).get("slots", [])]
    assert ["Fri", "1"] in slots and not any(s[0] == "Friday" for s in slots)
    assert "now name 'Fri'" in page.status and not errors(app)


def test_removing_a_day_that_rules_use_is_refused_with_the_fix(app):
    page = SchoolPage(app=app)
    before = app.store.get_calendar(app.school)
    assert not page.remove("days", before["days"][-1])
    assert app.store.get_calendar(app.school) == before
    assert page.days == before["days"]
    message = errors(app)[-1]
    assert f"Removing day '{before['days'][-1]}' refused" in message
    assert "rule " in message and "Rules page" in message and "Nothing was changed" in message


def test_removing_a_pinned_period_names_the_lesson(store):
    school = store.create_school("Pinned")
    store.create(school, "subjects", {"id": "m", "name": "Maths"})
    store.create(school, "classes", {"id": "1a", "name": "1A"})
    store.create(
        school,
        "lessons",
        {"id": "L1", "subject": "m", "groups": ["1a"], "pinned": [{"block": 0, "day": "Mon", "period": "8"}]},
    )
    app = AppState(store, NoJobs(), school=school)
    page = SchoolPage(app=app)
    assert not page.remove("periods", "8")
    assert "lesson L1" in errors(app)[-1] and "Lessons page" in errors(app)[-1]
    assert "8" in store.get_calendar(school)["periods"]


def test_a_duplicate_day_name_is_refused_and_the_list_put_back(app):
    page = SchoolPage(app=app)
    days = list(page.days)
    assert not page.rename("days", days[0], days[1])
    assert f"'{days[1]}' is used twice" in errors(app)[-1]
    assert list(page.lists["days"][0].value["name"]) == days
    assert app.store.get_calendar(app.school)["days"] == days


def test_a_click_toggles_a_break(app):
    page = SchoolPage(app=app)
    day, period = page.days[0], page.periods[0]
    page.buttons[(day, period)].clicks += 1
    assert [day, period] in app.store.get_calendar(app.school)["breaks"]
    assert page.buttons[(day, period)].name == "break"
    assert page.toggle_break(day, period)
    assert [day, period] not in app.store.get_calendar(app.school)["breaks"]


def test_the_grid_follows_new_days_and_periods(app):
    page = SchoolPage(app=app)
    assert page.add("days", "Saturday")
    assert ("Saturday", page.periods[0]) in page.buttons


def test_renaming_the_school(app):
    page = SchoolPage(app=app)
    other = app.store.create_school("Other")
    app.refresh_schools()
    assert page.rename_school("Renamed")
    assert app.school_name() == "Renamed"
    assert not page.rename_school("Other")
    assert "already exists" in errors(app)[-1]
    assert app.store.list_schools()[0]["name"] == "Renamed"
    assert other in {s["id"] for s in app.store.list_schools()}


def test_creating_an_empty_school_opens_it(app):
    page = SchoolPage(app=app)
    new = page.create_school("Second school")
    assert new and app.school == new and app.page == "school"
    assert page.school_name == "Second school"
    assert page.days == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    assert page.create_school("") is None and "name" in errors(app)[-1]


def test_deleting_a_school_asks_first_and_says_what_goes(app):
    page = SchoolPage(app=app)
    doomed = app.school
    keep = app.store.create_school("Keep")
    app.refresh_schools()
    assert not page.delete_school()
    page.ask_delete()
    summary = page.delete_summary()
    lessons = len(app.store.list(doomed, "lessons"))
    assert "Demo" in summary and f"{lessons} lessons" in summary and "rules" in summary
    assert "timetable versions" in summary
    page.cancel_delete()
    assert not page.delete_school()
    page.ask_delete()
    assert page.delete_school()
    assert [s["id"] for s in app.store.list_schools()] == [keep]
    assert app.school == keep and page.school_name == "Keep"


def test_the_shell_keeps_the_school_page_which_follows_the_school(app):
    app.page = "school"
    shell = Shell({"school": lambda a: SchoolPage(app=a)}, app=app)
    page = shell.views["school"]
    other = app.store.create_school("Other")
    app.refresh_schools()
    app.school = other
    assert shell.views["school"] is page
    assert page.school_name == "Other" and page.days == ["Mon", "Tue", "Wed", "Thu", "Fri"]


# ---------------------------------------------------------------- lesson pins and tags


def test_a_lesson_is_pinned_and_unpinned(app):
    page = LessonsPage(app=app)
    lesson = page.table.value.index[0]
    detail = page.detail
    assert detail.lesson == lesson
    calendar = app.store.get_calendar(app.school)
    day, period = calendar["days"][0], calendar["periods"][0]
    room = app.store.get(app.school, "lessons", lesson)["rooms"][0]
    assert room in detail.room.options.values()
    assert detail.add_pin(0, day, period, room)
    assert app.store.get(app.school, "lessons", lesson)["pinned"] == [
        {"block": 0, "day": day, "period": period, "room": room}
    ]
    assert page.table.value.loc[lesson, "pinned"] == f"{day} {period}"
    assert detail.remove_pin(0)
    assert app.store.get(app.school, "lessons", lesson).get("pinned", []) == []
    assert not errors(app)


def test_a_refused_pin_leaves_the_lesson_as_it_was(app):
    detail = LessonDetail(app=app, lesson=app.store.list(app.school, "lessons")[0]["id"])
    before = app.store.get(app.school, "lessons", detail.lesson)
    calendar = app.store.get_calendar(app.school)
    day, period = calendar["breaks"][0]
    assert not detail.add_pin(0, day, period)
    assert app.store.get(app.school, "lessons", detail.lesson) == before
    assert detail.doc == before
    assert errors(app)[-1].startswith(f"Lesson '{detail.lesson}' not changed")


def test_tags_are_saved(app):
    page = LessonsPage(app=app)
    lesson = page.table.value.index[1]
    assert page.detail.card.collapsed
    page._on_click(SimpleNamespace(row=1, column="subject"))
    assert page.detail.lesson == lesson and not page.detail.card.collapsed
    assert page.detail.set_tags("lab, double , lab")
    assert app.store.get(app.school, "lessons", lesson)["tags"] == ["lab", "double"]
    assert page.table.value.loc[lesson, "tags"] == "lab, double"
    assert page.detail.known_tags == ["double", "lab"] and "double, lab" in page.detail.hint.object
    assert parse_tags(["a", " ", "a", "b"]) == ["a", "b"]


# ---------------------------------------------------------------- the timetable view's watcher


def test_the_timetable_view_survives_several_changes_in_one_update(app):
    view = TimetableView(app)
    other = app.store.create_school("Other")
    app.refresh_schools()
    app.param.update(school=other, data_revision=app.data_revision + 1, jobs_revision=app.jobs_revision + 1)
    assert view.message.startswith("No timetable yet")
