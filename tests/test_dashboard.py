"""Dashboard view models driven without a browser, against the embedded database."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from dashboard.pages.classes import ClassesPage
from dashboard.pages.generate import GeneratePage, default_version_name, time_limits
from dashboard.pages.importer import ImportPage
from dashboard.pages.jobs import JobsPage, job_row
from dashboard.pages.lessons import LessonsPage
from dashboard.pages.overview import OverviewPage, problem_link
from dashboard.pages.rooms import RoomsPage
from dashboard.pages.rules import RulesPage
from dashboard.pages.subjects import SubjectsPage
from dashboard.pages.teachers import TeachersPage
from dashboard.progress import ProgressIndicator, announcement, line_state, shown_jobs
from dashboard.shell import Shell
from dashboard.state import AppState
from solver.demo import generate_demo
from solver.validate import validate


class JobDocs:
    """Job documents as the jobs collection returns them, for the indicator's read-only tests."""

    def __init__(self, docs: list[dict]):
        self.docs = docs

    def list(self, school_id=None, active_only=False, limit=100):
        return [dict(d) for d in self.docs]


@pytest.fixture
def app(store):
    store.import_school(generate_demo(120, 1), "Demo")
    return AppState(store, JobDocs([]))


def make_unsolvable(app: AppState) -> str:
    """Make the first lesson's teacher unavailable all week: valid data, but validation finds a problem."""
    teacher = app.store.list(app.school, "lessons")[0]["teachers"][0]
    calendar = app.store.get_calendar(app.school)
    breaks = [list(b) for b in calendar["breaks"]]
    slots = [[d, p] for d in calendar["days"] for p in calendar["periods"] if [d, p] not in breaks]
    rule = {
        "id": "busy",
        "type": "unavailable",
        "scope": "teacher",
        "target": teacher,
        "weight": 100,
        "params": {"slots": slots},
    }
    app.store.create(app.school, "rules", rule)
    return teacher


def errors(app: AppState) -> list[str]:
    return [text for kind, text in app.toasts if kind == "error"]


# ---------------------------------------------------------------- editing


def test_an_edit_is_saved_at_once(app):
    page = LessonsPage(app=app)
    lesson = page.table.value.index[0]
    assert page.edit(lesson, "min_days_apart", 2)
    assert app.store.get(app.school, "lessons", lesson)["min_days_apart"] == 2
    assert not errors(app)


def test_references_are_edited_by_name(app):
    page = LessonsPage(app=app)
    lesson = page.table.value.index[0]
    teachers = {t["name"]: t["id"] for t in app.store.list(app.school, "teachers")}
    two = sorted(teachers)[:2]
    assert page.edit(lesson, "teachers", two)
    assert app.store.get(app.school, "lessons", lesson)["teachers"] == [teachers[n] for n in two]
    assert page.table.value.loc[lesson, "teachers"] == two


def test_an_unknown_name_is_reverted_with_a_toast_naming_it(app):
    page = LessonsPage(app=app)
    lesson = page.table.value.index[0]
    before = app.store.get(app.school, "lessons", lesson)
    page.table.value.loc[lesson, "subject"] = "Astrology"  # what the browser already shows
    assert not page.edit(lesson, "subject", "Astrology")
    assert app.store.get(app.school, "lessons", lesson) == before
    assert page.table.value.loc[lesson, "subject"] != "Astrology"
    assert "Astrology" in errors(app)[-1] and "Subject" in errors(app)[-1]


def test_a_bad_number_is_reverted(app):
    page = RoomsPage(app=app)
    room = page.table.value.index[0]
    assert not page.edit(room, "capacity", "thirty")
    assert "Capacity" in errors(app)[-1] and "whole number" in errors(app)[-1]


def test_a_combined_room_lists_sets_of_real_rooms_by_name(app):
    page = RoomsPage(app=app)
    first, second, third = page.table.value.index[:3]
    names = [page.table.value.loc[r, "name"] for r in (first, second)]
    combined = page.add()
    assert page.edit(combined, "real_rooms", f"{names[0]}, {names[1]}; {second}")
    assert app.store.get(app.school, "rooms", combined)["real_rooms"] == [[first, second], [second]]
    assert page.table.value.loc[combined, "real_rooms"] == f"{names[0]}, {names[1]}; {names[1]}"
    # An unknown name is refused and the cell put back.
    assert not page.edit(combined, "real_rooms", "Nowhere; " + names[0])
    assert "there is no room called 'Nowhere'" in errors(app)[-1]
    assert app.store.get(app.school, "rooms", combined)["real_rooms"] == [[first, second], [second]]
    # Deleting a real room asks first; the cascade takes it out of the sets, and an emptied set goes.
    page.delete([second])
    assert "still used by" in page.pending_message and combined in page.pending_message
    page.confirm_delete(True)
    assert app.store.get(app.school, "rooms", combined)["real_rooms"] == [[first]]
    assert page.edit(combined, "real_rooms", "")
    assert app.store.get(app.school, "rooms", combined).get("real_rooms", []) == []
    # A lesson's own real rooms in a combined room, picked by name.
    assert page.edit(combined, "real_rooms", f"{names[0]}; {third}")
    lessons = LessonsPage(app=app)
    lesson = lessons.table.value.index[0]
    assert lessons.edit(lesson, "rooms", [page.table.value.loc[combined, "name"]])
    assert lessons.edit(lesson, "real_rooms", [page.table.value.loc[third, "name"], names[0]])
    assert app.store.get(app.school, "lessons", lesson)["real_rooms"] == [third, first]
    # Real rooms that do not fit the sets are refused, with the sets to pick from.
    assert not lessons.edit(lesson, "real_rooms", [names[0]])
    assert "not one room from each set" in errors(app)[-1] and "list one room from each of" in errors(app)[-1]
    assert app.store.get(app.school, "lessons", lesson)["real_rooms"] == [third, first]
    assert third in page.table.value.index
    # Deleting a room a lesson takes as a real room clears the lesson's real rooms.
    assert lessons.edit(lesson, "real_rooms", [names[0], page.table.value.loc[third, "name"]])
    page.delete([third])
    page.confirm_delete(True)
    assert app.store.get(app.school, "lessons", lesson).get("real_rooms", []) == []
    assert app.store.get(app.school, "rooms", combined)["real_rooms"] == [[first]]


def test_a_duplicate_name_is_refused_by_the_store_and_reverted(app):
    page = SubjectsPage(app=app)
    first, second = page.table.value.index[:2]
    name = page.table.value.loc[second, "name"]
    old = page.table.value.loc[first, "name"]
    assert not page.edit(first, "name", name)
    assert page.table.value.loc[first, "name"] == old
    assert "already used" in errors(app)[-1]
    assert "Traceback" not in errors(app)[-1]


def test_blocks_and_enabled(app):
    page = LessonsPage(app=app)
    lesson = page.table.value.index[0]
    assert page.edit(lesson, "blocks", "2, 1, 1")
    assert page.edit(lesson, "enabled", False)
    stored = app.store.get(app.school, "lessons", lesson)
    assert stored["blocks"] == [2, 1, 1] and stored["enabled"] is False
    assert not page.edit(lesson, "blocks", "two")
    assert "block lengths" in errors(app)[-1]


def test_adding_and_deleting_an_unreferenced_row(app):
    page = SubjectsPage(app=app)
    new = page.add()
    assert new in page.table.value.index
    assert app.store.get(app.school, "subjects", new)["name"].startswith("New subject")
    page.delete([new])
    assert new not in page.table.value.index
    assert not page.pending_delete


def test_deleting_a_referenced_item_asks_then_cancels(app):
    page = SubjectsPage(app=app)
    subject = page.table.value.index[0]
    page.delete([subject])
    assert page.pending_delete == [subject]
    assert "still used by" in page.pending_message
    page.confirm_delete(False)
    assert app.store.get(app.school, "subjects", subject)


def test_deleting_a_referenced_item_with_cascade_leaves_no_dangling_reference(app):
    page = SubjectsPage(app=app)
    subject = page.table.value.index[0]
    page.delete([subject])
    page.confirm_delete(True)
    school = app.store.load_school(app.school)
    assert subject not in {s.id for s in school.subjects}
    assert all(lesson.subject != subject for lesson in school.lessons)
    assert not [p for p in validate(school) if "subject" in p.where and subject in str(p)]


def test_classes_page_has_both_tables(app):
    page = ClassesPage(app=app)
    group = page.groups.table.value.index[0]
    classes = app.store.list(app.school, "classes")
    assert page.groups.edit(group, "division", "halves B")
    assert not page.groups.edit(group, "class", "No such class")
    assert page.classes.edit(classes[0]["id"], "size", 31)


def test_rule_targets_are_names_for_their_scope(app):
    page = RulesPage(app=app)
    rule = page.add()
    assert page.edit(rule, "scope", "teacher") is False  # a teacher scope needs a target first
    teacher = app.store.list(app.school, "teachers")[0]
    assert not page.edit(rule, "target", teacher["name"])
    assert "applies to everyone" in errors(app)[-1]
    assert page.edit(rule, "params", '{"max": 2}')
    assert not page.edit(rule, "params", "{max: 2")
    assert "not valid JSON" in errors(app)[-1]


# ---------------------------------------------------------------- availability


def test_a_click_toggles_a_teachers_slot_as_an_unavailable_rule(app):
    page = TeachersPage(app=app)
    grid = page.grid
    teacher = grid.teacher
    assert grid.toggle("Monday", "1")
    rules = [
        r
        for r in app.store.list(app.school, "rules")
        if r["type"] == "unavailable" and r["target"] == teacher
    ]
    assert rules and ["Monday", "1"] in rules[0]["params"]["slots"]
    assert grid.buttons[("Monday", "1")].button_type == "danger"
    assert grid.toggle("Tuesday", "2")
    assert grid.toggle("Monday", "1")
    assert grid.unavailable == [("Tuesday", "2")]
    assert grid.buttons[("Monday", "1")].button_type == "light"
    assert not grid.toggle("Monday", "Lunch")  # a break is not a teaching slot


def test_picking_another_teacher_shows_their_week(app):
    page = TeachersPage(app=app)
    other = list(page.table.docs)[1]
    page.picker.value = other
    assert page.grid.teacher == other


# ---------------------------------------------------------------- overview, navigation, import


def test_problem_links_point_at_rows():
    ids = {"lessons": ["L12"], "teachers": ["T03"]}
    assert problem_link("lesson L12.teachers", ids) == ("lessons", "L12")
    assert problem_link("teacher Ms Novak (T03)", ids) == ("teachers", "T03")
    assert problem_link("calendar.days", ids) is None


def test_overview_lists_problems_with_links(app):
    teacher = make_unsolvable(app)
    page = OverviewPage(app=app)
    assert page.counts["lessons"] > 0
    assert any(
        f"page=teachers&school={app.school}&focus={teacher}" in href for _, _, _, href in page.problems
    )


def test_a_link_to_a_row_selects_it_on_its_page(app):
    lessons = [d["id"] for d in app.store.list(app.school, "lessons")]
    app.focus = lessons[-1]
    page = LessonsPage(app=app)
    assert page.table.selection == [len(lessons) - 1]
    assert page.table.page == (len(lessons) - 1) // page.table.page_size + 1


def test_an_unknown_school_in_the_url_falls_back_to_one_that_exists(app):
    shell = Shell({key: (lambda a, k=key: k) for key in app.param.page.objects}, app=app)
    first = app.school
    app.school = "no-such-school"
    assert app.school == first
    assert "no longer exists" in app.toasts[-1][1]
    assert shell.content.objects


def test_shell_follows_the_page_and_school(app, store):
    other = store.import_school(generate_demo(60, 2), "Second")
    app.refresh_schools()
    built = []
    shell = Shell({key: (lambda a, k=key: built.append(k) or k) for key in app.param.page.objects}, app=app)
    app.page = "lessons"
    assert shell.content.objects[1].object == "lessons"
    shell.school_select.value = other
    assert app.school == other and built[-1] == "lessons"
    shell.nav.value = "jobs"
    assert app.page == "jobs"


def test_the_jobs_page_stops_following_jobs_when_closed(app):
    page = JobsPage(app=app)
    reloads = []
    page.reload = lambda: reloads.append(app.jobs_revision)
    app.jobs_revision += 1
    page.dispose()
    app.jobs_revision += 1
    assert reloads == [1]


def test_a_page_that_fails_shows_a_message_not_a_traceback(app):
    def broken(_app):
        raise ValueError("lessons[3]: something is off")

    shell = Shell({key: broken for key in app.param.page.objects}, app=app)
    alert = shell.content.objects[1]
    assert "could not be opened" in alert.object and "Traceback" not in alert.object


def test_import_a_demo_school_selects_it(app):
    page = ImportPage(app=app, demo_periods=60, demo_name="Tiny")
    school_id = page.create_demo()
    assert app.school == school_id and app.page == "overview"
    assert app.school_name() == "Tiny"


def test_import_a_fet_upload(app):
    data = (Path(__file__).parent / "data" / "fet" / "tiny.fet").read_bytes()
    page = ImportPage(app=app, fet_name="From FET")
    school_id = page.import_fet(data, "tiny.fet")
    assert school_id and app.school == school_id and app.school_name() == "From FET"
    assert app.store.list(school_id, "lessons")
    assert "Import report" in page.report


def test_import_rejects_a_broken_fet_file(app):
    page = ImportPage(app=app)
    assert page.import_fet(b"<fet><broken", "bad.fet") is None
    assert "bad.fet" in errors(app)[-1]


# ---------------------------------------------------------------- generate


def test_time_limits_default_to_five_minutes(monkeypatch):
    monkeypatch.delenv("TIMETABLER_TEST_TIME_LIMIT", raising=False)
    assert list(time_limits().values()) == [180, 300, 420, 600, 900, 1200]
    monkeypatch.setenv("TIMETABLER_TEST_TIME_LIMIT", "5")
    assert time_limits()["5 seconds (test)"] == 5
    assert default_version_name(["Timetable 2026-01-02"], dt.date(2026, 1, 2)) == "Timetable 2026-01-02 (2)"


def test_validation_problems_block_the_start(app):
    teacher = make_unsolvable(app)
    app.jobs = StartRecorder()
    page = GeneratePage(app=app)
    assert page.time_limit == 300
    assert page.start() is None
    assert page.problems and any(teacher in p for p in page.problems)
    assert any(f"focus={teacher}" in href for href in page.problem_links.values())
    assert app.jobs.started == []


class StartRecorder:
    def __init__(self):
        self.started = []

    def start(self, school, name, options):
        self.started.append((school, name, options))
        return "job-1"


def test_start_gives_a_toast_at_once(app):
    app.jobs = StartRecorder()
    page = GeneratePage(app=app, strict_balancing=False)
    page.limit_input.value = 600
    assert page.start() == "job-1"
    assert app.jobs.started == [
        (app.school, page.version_name, {"time_limit": 600, "strict_balancing": False})
    ]
    assert app.toasts[-1][0] == "info" and "started in the background" in app.toasts[-1][1]


# ---------------------------------------------------------------- the progress indicator

NOW = dt.datetime(2026, 11, 28, 12, 0, tzinfo=dt.UTC)


def job(status: str, **fields) -> dict:
    base = {
        "id": f"job-{status}",
        "school_id": "s1",
        "version_name": "Week A",
        "status": status,
        "phase": "solving",
        "progress": 47,
        "placed": 430,
        "total": 914,
        "created": NOW - dt.timedelta(minutes=2),
        "started": NOW - dt.timedelta(seconds=83),
        "finished": None,
        "options": {"time_limit": 300, "strict_balancing": True},
        "message": "Solving.",
        "error": None,
        "result": None,
    }
    return {**base, **fields}


def test_a_running_line_shows_percent_periods_phase_and_times():
    state = line_state(job("running"), NOW)
    assert state.detail == "47% · 430/914 periods · solving · 1:23 elapsed · ~3:37 left"
    assert state.actions == ["dismiss", "cancel"]


def test_finished_lines_offer_view_retry_or_retry_save():
    done = line_state(job("completed", progress=100, finished=NOW, result={"version_id": "v1"}), NOW)
    assert done.actions == ["dismiss", "view"] and done.version_id == "v1" and done.percent == 100
    failed = line_state(job("failed", finished=NOW, error="the school has no lessons"), NOW)
    assert failed.actions == ["dismiss", "retry"] and failed.message == "the school has no lessons"
    unsaved = line_state(job("save_failed", finished=NOW, error="database down"), NOW)
    assert unsaved.actions == ["dismiss", "retry_save"]
    assert "could not be saved" in unsaved.message and "database down" in unsaved.message


def test_dismissed_and_old_jobs_are_not_shown():
    jobs = [
        job("running", id="a"),
        job("completed", id="b", finished=NOW - dt.timedelta(minutes=5)),
        job("completed", id="c", finished=NOW - dt.timedelta(days=2)),
        job("failed", id="d", finished=NOW),
    ]
    assert [j["id"] for j in shown_jobs(jobs, ["d"], NOW)] == ["a", "b"]


def test_announcements_on_completion_failure_and_failed_save():
    assert announcement("running", job("completed", result={"placed": 914, "total": 914}))[0] == "success"
    assert announcement("saving", job("save_failed", error="db"))[0] == "warning"
    assert announcement("running", job("failed", error="boom"))[0] == "error"
    assert announcement(None, job("completed", finished=NOW - dt.timedelta(hours=1)), NOW) is None
    assert announcement(None, job("running"), NOW) is None
    # Finished while the page was reloading: still announced.
    assert announcement(None, job("completed", finished=NOW - dt.timedelta(seconds=5)), NOW)[0] == "success"
    assert announcement("completed", job("completed")) is None


def test_the_indicator_follows_the_job_documents(app):
    docs = [job("running", id="j1", school_id=app.school)]
    app.jobs = JobDocs(docs)
    indicator = ProgressIndicator(app=app)
    indicator.refresh()
    assert indicator.card.visible and [s.job_id for s in indicator.states] == ["j1"]
    line = indicator._lines["j1"]
    assert line.bar.value == 47 and line.cancel.visible and not line.view.visible
    docs[0] = job(
        "completed",
        id="j1",
        school_id=app.school,
        progress=100,
        finished=dt.datetime.now(dt.UTC),
        result={"version_id": "v9", "placed": 914, "total": 914},
    )
    indicator.refresh()
    assert app.toasts[-1][0] == "success" and "Week A" in app.toasts[-1][1]
    assert line.view.visible and not line.cancel.visible and line.bar.value == 100
    indicator.view("j1")
    assert app.page == "timetables" and app.version == "v9"
    indicator.dismiss("j1")
    assert not indicator.card.visible and indicator.memory.value == ["j1"]


def test_the_indicator_shows_a_failed_save_with_retry(app):
    app.jobs = JobDocs([job("saving", id="j2", school_id=app.school)])
    indicator = ProgressIndicator(app=app)
    indicator.refresh()
    app.jobs.docs[0] = job(
        "save_failed",
        id="j2",
        school_id=app.school,
        error="the database did not answer",
        finished=dt.datetime.now(dt.UTC),
    )
    indicator.refresh()
    line = indicator._lines["j2"]
    assert line.retry_save.visible and "could not be saved" in line.message.object
    assert app.toasts[-1][0] == "warning"


def test_jobs_page_rows():
    row = job_row(job("completed", finished=NOW, result={"placed": 900, "total": 914, "score": 12}), NOW)
    assert row["status"] == "completed" and row["duration"] == "1:23"
    assert row["result"] == "900/914 placed, score 12" and row["options"] == "limit 5:00, strict"


def test_jobs_page_lists_and_deletes_with_a_real_job_manager(app, store):
    from jobs import JobManager

    manager = JobManager(store, workers=1, min_time_limit=1)
    try:
        app.jobs = manager
        job_id = manager.start(app.school, "Quick", {"time_limit": 2, "strict_balancing": False})
        manager.wait(job_id, timeout=60)
        page = JobsPage(app=app)
        assert page.selected == job_id and "Quick" in page.detail.object
        page.delete()
        assert manager.list(school_id=app.school) == []

        # The card's controls act on the jobs: a queued job cancelled, then retried.
        running = manager.start(app.school, "Long", {"time_limit": 30, "strict_balancing": False})
        queued = manager.start(app.school, "Queued", {"time_limit": 30, "strict_balancing": False})
        indicator = ProgressIndicator(app=app)
        indicator.refresh()
        assert {s.job_id for s in indicator.states} == {running, queued}
        indicator.cancel(queued, "discard")
        assert manager.get(queued)["status"] == "cancelled"
        indicator.retry(queued)
        assert queued in indicator.dismissed
        assert [j["version_name"] for j in manager.list(school_id=app.school)].count("Queued") == 2
    finally:
        manager.shutdown()
