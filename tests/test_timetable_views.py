"""Timetable views without a browser: grids, comparison, exports read back, analytics, the page's view model."""

from __future__ import annotations

import copy
import csv
import io

import pytest
from openpyxl import load_workbook

from dashboard.pages.timetables import TimetablesPage
from dashboard.shell import Shell
from dashboard.state import AppState
from dashboard.timetable import Schedule, changes_frame, compare, grid_html, to_csv, to_print_html, to_xlsx
from dashboard.timetable.analytics import (
    analytics_figures,
    class_gaps,
    subject_days,
    subject_spread,
    teacher_gaps,
    teacher_load,
)
from dashboard.timetable.compare import change_marks, summary
from dashboard.timetable.exports import sheet_title
from dashboard.timetable.source import ScheduleCache, describe_options, versions_frame
from dashboard.timetable.view import TimetableView
from solver.demo import demo_with_timetable
from solver.domain import (
    Calendar,
    Group,
    Lesson,
    Placement,
    Room,
    Rule,
    School,
    StudentClass,
    Subject,
    Teacher,
    Timetable,
    Unplaced,
)


@pytest.fixture(scope="module")
def demo():
    school, timetable = demo_with_timetable(240, seed=3)
    return school, timetable


def tiny() -> tuple[School, Timetable]:
    """7A split into halves; Ann teaches maths to 7A and science to 7A-1; one lesson left unplaced."""
    school = School(
        "Tiny",
        Calendar(["Mon", "Tue"], ["1", "2", "Lunch", "3", "4"], breaks=[(0, 2), (1, 2)]),
        subjects=[Subject("MA", "Maths", "#4e79a7"), Subject("SC", "Science")],
        teachers=[Teacher("ann", "Ann"), Teacher("bob", "Bob")],
        classes=[StudentClass("7A", "Class 7A"), StudentClass("7B", "Class 7B")],
        groups=[Group("7A-1", "7A", "7A half 1", "half"), Group("7A-2", "7A", "7A half 2", "half")],
        rooms=[Room("r1", "Room 1"), Room("lab", "Lab")],
        lessons=[
            Lesson("ma", "MA", ["ann"], ["7A"], [2, 1], rooms=["r1"]),
            Lesson("sc1", "SC", ["ann"], ["7A-1"], [1], rooms=["lab"]),
            Lesson("sc2", "SC", ["bob"], ["7A-2"], [1], rooms=["lab", "r1"]),
            Lesson("mb", "MA", ["bob"], ["7B"], [1, 1], rooms=["r1"]),
        ],
        rules=[Rule("gaps", "max_gaps_per_week", "all_teachers", None, 20, {"max": 0})],
    )
    timetable = Timetable(
        placements=[
            Placement("ma", 0, (0, 0), 2, "r1"),
            Placement("ma", 1, (1, 4), 1, "r1"),
            Placement("sc1", 0, (0, 3), 1, "lab"),
            Placement("sc2", 0, (0, 3), 1, "r1"),
            Placement("mb", 0, (1, 0), 1, "r1"),
        ],
        unplaced=[Unplaced("mb", 1, 1, "teacher Bob must teach 2 periods but is available for 1")],
        placed=5,
        total=6,
        score=20,
        breakdown={"gaps": 20},
    )
    return school, timetable


# --- grids ---------------------------------------------------------------------------------------


def test_class_grid_shows_whole_class_and_group_lessons_and_breaks():
    school, timetable = tiny()
    grid = Schedule(school, timetable).grid("class", "7A")
    assert grid.title == "Class 7A"
    assert [c.lesson for c in grid.at(0, 0)] == ["ma"]
    assert [(c.lesson, c.first) for c in grid.at(0, 1)] == [("ma", False)]
    # Both halves have science at Mon 3: the class grid shows the two side by side.
    assert sorted(c.lesson for c in grid.at(0, 3)) == ["sc1", "sc2"]
    assert grid.breaks == {(0, 2), (1, 2)}
    frame = grid.frame()
    assert frame.loc["Mon", "Lunch"] == "break"
    assert frame.loc["Mon", "1"] == "Maths · Ann · Class 7A · Room 1"
    assert frame.loc["Tue", "1"] == ""


def test_group_lessons_do_not_leak_into_other_classes():
    school, timetable = tiny()
    grid = Schedule(school, timetable).grid("class", "7B")
    assert grid.lessons() == {("mb", 0, (1, 0))}


def test_teacher_and_room_grids():
    school, timetable = tiny()
    schedule = Schedule(school, timetable)
    ann = schedule.grid("teacher", "ann")
    assert {(lesson, slot) for lesson, _, slot in ann.lessons()} == {
        ("ma", (0, 0)),
        ("ma", (0, 1)),
        ("ma", (1, 4)),
        ("sc1", (0, 3)),
    }
    lab = schedule.grid("room", "lab")
    assert lab.lessons() == {("sc1", 0, (0, 3))}
    assert [c.room for c in ann.at(0, 3)] == ["Lab"]


def test_a_combined_room_shows_in_the_grids_of_its_real_rooms():
    school, timetable = tiny()
    school.rooms.append(Room("both", "Both rooms", real_rooms=[["r1"], ["lab"]]))
    school.invalidate()
    timetable.placements[-1] = Placement("mb", 0, (1, 0), 1, "both", ["r1", "lab"])
    schedule = Schedule(school, timetable)
    for room in ("both", "r1", "lab"):
        assert ("mb", 0, (1, 0)) in schedule.grid("room", room).lessons()
    assert [c.room for c in schedule.grid("class", "7B").at(1, 0)] == ["Both rooms (Room 1, Lab)"]
    assert schedule.placements_frame().set_index("lesson").loc["mb", "room"] == "Both rooms (Room 1, Lab)"
    # Other real rooms are a room change.
    moved = copy.deepcopy(timetable)
    moved.placements[-1].real_rooms = ["lab", "r1"]
    changes = compare(schedule, Schedule(school, moved))
    assert [(c.kind, c.lesson) for c in changes] == [("room", "mb")]


def test_unknown_item_is_a_clear_error():
    school, timetable = tiny()
    with pytest.raises(ValueError, match="no teacher with id 'zed'"):
        Schedule(school, timetable).grid("teacher", "zed")
    with pytest.raises(ValueError, match="unknown grid kind 'pupil'"):
        Schedule(school, timetable).items("pupil")


def test_demo_grids_match_placements(demo):
    """Every period of every placement shows in the grid of each class, teacher and room it involves."""
    school, timetable = demo
    schedule = Schedule(school, timetable)
    for kind in ("class", "teacher", "room"):
        expected: dict[str, set] = {id: set() for id in schedule.items(kind)}
        for p in timetable.placements:
            lesson = school.lesson_by_id[p.lesson]
            if kind == "class":
                who = [
                    c.id
                    for c in school.classes
                    if school.subgroups_of[c.id] & school.lesson_subgroups(lesson)
                ]
            elif kind == "teacher":
                who = lesson.teachers
            else:
                who = [p.room] if p.room else []
            for id in who:
                expected[id] |= {(p.lesson, p.block, (p.slot[0], p.slot[1] + i)) for i in range(p.length)}
        for id, lessons in expected.items():
            assert schedule.grid(kind, id).lessons() == lessons, (kind, id)


def test_grid_html_carries_lessons_and_colours():
    school, timetable = tiny()
    html = grid_html(Schedule(school, timetable).grid("class", "7A"))
    assert 'data-lesson="ma"' in html and 'data-slot="0,0"' in html
    assert "background:#4e79a7;color:#fff" in html
    assert html.count("tt-break") == 2


def test_unplaced_and_breakdown_tables():
    school, timetable = tiny()
    schedule = Schedule(school, timetable)
    everything = schedule.unplaced_frame()
    assert list(everything["lesson"]) == ["mb"]
    assert "available for 1" in everything.iloc[0]["reason"]
    assert list(schedule.unplaced_frame("class", "7B")["lesson"]) == ["mb"]
    assert schedule.unplaced_frame("class", "7A").empty
    assert list(schedule.unplaced_frame("teacher", "bob")["lesson"]) == ["mb"]
    assert schedule.unplaced_frame("teacher", "ann").empty
    assert schedule.breakdown_frame().empty
    # sc1 moves to Tue 1: Ann teaches Tue 1 and Tue 4, two gaps against a soft "no gaps" rule of weight 20.
    timetable.placements[2].slot = (1, 0)
    schedule = Schedule(school, timetable)
    row = schedule.breakdown_frame().iloc[0]
    assert (
        row["rule"],
        row["type"],
        row["applies to"],
        row["weight"],
        row["violations"],
        row["penalty"],
    ) == (
        "gaps",
        "Max gaps per week",
        "all teachers",
        20,
        1,
        40,
    )
    violations = schedule.violations_frame()
    hard = violations[violations["hard"]]
    assert list(hard["rule"]) == ["unplaced"] and "mb" in hard.iloc[0]["message"]
    soft = violations[~violations["hard"]].iloc[0]
    assert soft["rule"] == "gaps" and "Ann" in soft["message"] and soft["penalty"] == 40


# --- comparing versions --------------------------------------------------------------------------


def test_compare_finds_moves_room_changes_additions_and_removals():
    school, old = tiny()
    new = copy.deepcopy(old)
    new.placements[1].slot = (1, 3)  # ma block 1 moves Tue 4 -> Tue 3
    new.placements[2].room = "r1"  # sc1 changes room
    del new.placements[4]  # mb block 0 removed
    new.placements.append(Placement("mb", 1, (1, 1), 1, "r1"))  # mb block 1 placed now
    changes = compare(Schedule(school, old), Schedule(school, new))
    assert summary(changes) == {"moved": 2, "room": 1, "added": 0, "removed": 0}
    frame = changes_frame(Schedule(school, old), Schedule(school, new), changes)
    moved = frame[(frame["change"] == "moved") & (frame["lesson"] == "ma")].iloc[0]
    assert (moved["from"], moved["to"]) == ("Tue 4", "Tue 3")
    room = frame[frame["change"] == "room"].iloc[0]
    assert (room["lesson"], room["room before"], room["room after"]) == ("sc1", "Lab", "Room 1")
    # mb's one block went from Tue 1 to Tue 2: a move, whichever block number the solver gave it.
    mb = frame[frame["lesson"] == "mb"].iloc[0]
    assert (mb["change"], mb["from"], mb["to"]) == ("moved", "Tue 1", "Tue 2")
    marks = change_marks(Schedule(school, old), Schedule(school, new), changes)
    assert marks == {
        ("ma", 1): "moved from Tue 4",
        ("sc1", 0): "room changed from Lab",
        ("mb", 1): "moved from Tue 1",
    }
    html = grid_html(Schedule(school, new).grid("class", "7A"), marks)
    assert html.count("tt-changed") == 2 and "moved from Tue 4" in html


def test_compare_added_removed_and_renumbered_blocks():
    school, old = tiny()
    new = copy.deepcopy(old)
    new.placements = [p for p in new.placements if p.lesson != "sc2"]
    new.placements.append(Placement("mb", 1, (1, 3), 1, "r1"))
    # The two single mb blocks swap numbers but not times: no change.
    old.placements.append(Placement("mb", 1, (1, 3), 1, "r1"))
    new.placements = [
        Placement("mb", 1 - p.block, p.slot, p.length, p.room) if p.lesson == "mb" else p
        for p in new.placements
    ]
    changes = compare(Schedule(school, old), Schedule(school, new))
    assert [(c.kind, c.lesson) for c in changes] == [("removed", "sc2")]
    assert compare(Schedule(school, new), Schedule(school, old))[0].kind == "added"
    assert compare(Schedule(school, old), Schedule(school, old)) == []
    ma_dropped = copy.deepcopy(old)
    ma_dropped.placements[0].length = 1
    kinds = sorted(c.kind for c in compare(Schedule(school, old), Schedule(school, ma_dropped)))
    assert kinds == ["added", "removed"]


# --- exports -------------------------------------------------------------------------------------


def test_csv_reads_back_one_row_per_placed_block(demo):
    school, timetable = demo
    schedule = Schedule(school, timetable)
    rows = list(csv.DictReader(io.StringIO(to_csv(schedule))))
    assert len(rows) == len(timetable.placements)
    cal = school.calendar
    got = {(r["lesson"], int(r["block"]), r["day"], r["period"], int(r["length"])) for r in rows}
    want = {
        (p.lesson, p.block, cal.days[p.slot[0]], cal.periods[p.slot[1]], p.length)
        for p in timetable.placements
    }
    assert got == want
    first = next(r for r in rows if r["lesson"] == timetable.placements[0].lesson)
    lesson = school.lesson_by_id[first["lesson"]]
    assert first["subject"] == school.subject(lesson.subject).name
    assert first["teachers"] == "; ".join(school.teacher(t).name for t in lesson.teachers)


def test_xlsx_reads_back_one_sheet_per_class(demo):
    school, timetable = demo
    schedule = Schedule(school, timetable)
    wb = load_workbook(io.BytesIO(to_xlsx(schedule, "class")))
    assert wb.sheetnames == [c.name for c in school.classes]
    cal = school.calendar
    for c in school.classes:
        ws = wb[c.name]
        assert [ws.cell(2, 2 + p).value for p in range(cal.n_periods)] == cal.periods
        assert [ws.cell(3 + d, 1).value for d in range(cal.n_days)] == cal.days
        grid = schedule.grid("class", c.id)
        for d in range(cal.n_days):
            for p in range(cal.n_periods):
                value = ws.cell(3 + d, 2 + p).value
                if (d, p) in grid.breaks:
                    assert value == "break"
                    continue
                cells = grid.at(d, p)
                assert (value or "") == "\n\n".join(
                    "\n".join(
                        x for x in (e.subject_name, ", ".join(e.teachers), ", ".join(e.groups), e.room) if x
                    )
                    for e in cells
                )
                if cells:
                    assert ws.cell(3 + d, 2 + p).fill.fgColor.rgb.endswith(cells[0].color.lstrip("#").upper())


def test_xlsx_by_teacher_and_sheet_names():
    school, timetable = tiny()
    school.teachers.append(Teacher("x", "A/very:long*name?that[goes]on and on"))
    wb = load_workbook(io.BytesIO(to_xlsx(Schedule(school, timetable), "teacher")))
    assert wb.sheetnames[:2] == ["Ann", "Bob"]
    assert wb.sheetnames[2] == "A-very-long-name-that-goes-on a"
    assert wb["Ann"]["B3"].value == "Maths\nAnn\nClass 7A\nRoom 1"
    taken: set[str] = set()
    assert [sheet_title("Ann", taken), sheet_title("ann", taken), sheet_title("", taken)] == [
        "Ann",
        "ann (2)",
        "sheet",
    ]


def test_print_html_has_one_page_per_teacher():
    school, timetable = tiny()
    page = to_print_html(Schedule(school, timetable), "teacher")
    assert page.count('<section class="tt-page">') == 2
    assert "break-after: page" in page and "page-break-after: always" in page
    assert page.index("<h1>Ann</h1>") < page.index("<h1>Bob</h1>")


# --- analytics -----------------------------------------------------------------------------------


def test_teacher_load_and_gaps():
    school, timetable = tiny()
    schedule = Schedule(school, timetable)
    load = teacher_load(schedule)
    assert load.loc["Ann"].tolist() == [3, 1]
    assert load.loc["Bob"].tolist() == [1, 1]
    gaps = teacher_gaps(schedule).set_index("teacher")
    # Ann: Mon 1, 2, (lunch), 3 - no gap; Tue 4 only. Bob: Mon 3 and Tue 1 - none.
    assert gaps.loc["Ann", "gaps"] == 0 and gaps.loc["Ann", "periods"] == 4
    timetable.placements.append(Placement("sc1", 0, (1, 0), 1, "lab"))
    gaps = teacher_gaps(Schedule(school, timetable)).set_index("teacher")
    # Ann now teaches Tue 1 and Tue 4: periods 2 and 3 between them are gaps, the lunch break is not.
    assert gaps.loc["Ann", "gaps"] == 2


def test_class_gaps_count_subgroups_and_subject_spread():
    school, timetable = tiny()
    timetable.placements.append(Placement("sc2", 0, (1, 0), 1, "lab"))
    schedule = Schedule(school, timetable)
    gaps = class_gaps(schedule).set_index("class")
    # 7A half 2 has Tue 1 and Tue 4 (ma): two gaps; half 1 has only Tue 4.
    assert gaps.loc["Class 7A", "gaps"] == 2 and gaps.loc["Class 7A", "subgroups"] == 2
    assert gaps.loc["Class 7B", "gaps"] == 0
    spread = subject_spread(schedule).set_index("subject")
    assert spread.loc["Science", "blocks"] == 3
    assert spread.loc["Science", "same day"] == 0
    timetable.placements.append(Placement("sc2", 0, (0, 4), 1, "lab"))
    spread = subject_spread(Schedule(school, timetable)).set_index("subject")
    assert spread.loc["Science", "same day"] == 1
    days = subject_days(Schedule(school, timetable))
    assert days.loc["Science"].tolist() == [3, 1] and days.loc["Maths"].tolist() == [1, 2]


def test_analytics_figures_build(demo):
    figs = analytics_figures(Schedule(*demo))
    assert set(figs) == {"load", "teacher_gaps", "class_gaps", "spread"}
    assert figs["load"].title.text.startswith("Teacher load")
    assert "0 same-day repeats" in figs["spread"].title.text


# --- the version list ----------------------------------------------------------------------------


def test_versions_frame_and_options():
    frame = versions_frame(
        [
            {
                "id": "a",
                "name": "old",
                "created": "2026-01-01T08:00:00",
                "stats": {"placed": 5, "solve_time": 3.14},
            },
            {
                "id": "b",
                "name": "new",
                "created": "2026-01-02T08:00:00",
                "draft": True,
                "stats": {
                    "placed": 6,
                    "total": 6,
                    "unplaced": 0,
                    "conflicts": 0,
                    "score": 4,
                    "solve_time": 1,
                },
                "options": {"time_limit": 300, "strict_balancing": True},
            },
        ]
    )
    assert list(frame["name"]) == ["new", "old"]
    assert frame.iloc[0]["options"] == "strict balancing, time limit 300 s"
    assert frame.iloc[1]["solve time (s)"] == 3.1
    assert bool(frame.iloc[0]["draft"]) is True
    assert describe_options(None) == ""


# --- through the store (the embedded MongoDB) ----------------------------------------------------


@pytest.fixture(scope="module")
def stored(store_server):
    """A fresh database holding the demo school and two versions: 'first', and 'second' with a few changes."""
    store = store_server.open()
    school, timetable = demo_with_timetable(240, seed=3)
    school_id = store.import_school(school, "Views demo")
    first = store.save_version(school_id, "first", timetable, options={"time_limit": 180})
    second = copy.deepcopy(timetable)
    moved = second.placements[0]
    free = next(
        (d, p)
        for d in range(school.calendar.n_days)
        for p in range(school.calendar.n_periods - moved.length + 1)
        if all((d, p + i) not in school.calendar.breaks for i in range(moved.length)) and (d, p) != moved.slot
    )
    moved.slot = free
    removed = second.placements.pop()
    second.unplaced.append(Unplaced(removed.lesson, removed.block, removed.length, "no room left"))
    second_id = store.save_version(school_id, "second", second, options={"time_limit": 300}, draft=True)
    yield store, school_id, first, second_id, moved, removed
    store.db.client.drop_database(store.db.name)
    store.close()


def db_lessons(store, version_id: str, kind: str, item: str, school: School) -> set:
    """(lesson, block, slot) of every period the database holds for one class, teacher or room."""
    cal = school.calendar
    out = set()
    for row in store.version_frame(version_id).itertuples():
        lesson = school.lesson_by_id[row.lesson]
        if kind == "class":
            hit = bool(school.subgroups_of[item] & school.lesson_subgroups(lesson))
        elif kind == "teacher":
            hit = item in row.teachers
        else:
            hit = row.room == item
        if hit:
            d, p = cal.days.index(row.day), cal.periods.index(row.period)
            out |= {(row.lesson, row.block, (d, p + i)) for i in range(row.length)}
    return out


def test_grids_show_what_the_database_holds(stored):
    store, school_id, first, *_ = stored
    school = store.load_school(school_id)
    schedule = ScheduleCache(store).get(first, school_id)
    assert schedule.name == "first"
    for kind in ("class", "teacher", "room"):
        for item in list(schedule.items(kind))[:6]:
            assert schedule.grid(kind, item).lessons() == db_lessons(store, first, kind, item, school)


def test_compare_two_stored_versions(stored):
    store, school_id, first, second, moved, removed = stored
    cache = ScheduleCache(store)
    changes = compare(cache.get(first, school_id), cache.get(second, school_id))
    assert [(c.kind, c.lesson) for c in changes if c.kind == "moved"] == [("moved", moved.lesson)]
    assert [(c.kind, c.lesson, c.before.slot) for c in changes if c.kind == "removed"] == [
        ("removed", removed.lesson, tuple(removed.slot))
    ]
    assert summary(changes) == {"moved": 1, "room": 0, "added": 0, "removed": 1}


def test_page_view_model_through_the_store(stored):
    store, school_id, first, second, moved, removed = stored
    state = AppState(store, None, school=school_id, page="timetables")
    view = TimetableView(state)
    assert list(view.versions["name"]) == ["second", "first"]
    assert view.versions.iloc[0]["draft"] and view.versions.iloc[1]["options"] == "time limit 180 s"
    assert view.version == second and view.compare_to == first
    state.version = first
    assert view.version == first
    school = store.load_school(school_id)
    for kind in ("class", "teacher", "room"):
        view.kind = kind
        assert view.item == next(iter(view.schedule.items(kind)))
        html = view.grid_html()
        for lesson, block, (d, p) in db_lessons(store, first, kind, view.item, school):
            assert f'data-lesson="{lesson}" data-block="{block}" data-slot="{d},{p}"' in html
    # Each kind remembers its item.
    view.kind = "teacher"
    last = list(view.schedule.items("teacher"))[-1]
    view.item = last
    view.kind = "class"
    view.kind = "teacher"
    assert view.item == last

    view.version = second
    assert state.version == second
    frame, counts = view.changes()
    assert counts == {"moved": 1, "room": 0, "added": 0, "removed": 1}
    view.kind = "teacher"
    view.item = school.lesson_by_id[moved.lesson].teachers[0]
    assert 'tt-changed"' not in view.grid_html()
    view.mark_changes = True
    assert view.grid_html().count('tt-changed"') == moved.length
    view.mark_changes = False
    assert set(frame["lesson"]) == {moved.lesson, removed.lesson}
    view.unplaced_all = True
    assert list(view.unplaced()["lesson"]) == [removed.lesson]
    assert "no room left" in view.unplaced().iloc[0]["reason"]

    rows = list(csv.DictReader(io.StringIO(view.csv_file().getvalue().decode("utf-8-sig"))))
    assert len(rows) == len(store.version_frame(second))
    assert {(r["lesson"], int(r["block"])) for r in rows} == {
        (r.lesson, r.block) for r in store.version_frame(second).itertuples()
    }
    view.export_kind = "teacher"
    assert view.export_name("xlsx") == "second-teacher.xlsx"
    wb = load_workbook(view.xlsx_file())
    assert wb.sheetnames == [t.name for t in school.teachers]
    printed = view.print_file().getvalue().decode()
    assert printed.count('<section class="tt-page">') == len(school.teachers)
    assert view.__panel__() is not None


def test_page_without_versions_says_what_to_do(stored):
    store, *_ = stored
    empty = store.create_school("Empty school")
    view = TimetableView(AppState(store, None, school=empty))
    assert view.version is None
    assert "Generate" in view.message
    assert "Generate" in view.grid_html()
    view.state.school = ""
    assert view.version is None and "Import page" in view.message
    assert not [m for kind, m in view.state.toasts if kind == "error"]


def test_a_version_deleted_meanwhile_is_one_clear_toast(stored):
    store, school_id, first, *_ = stored
    school = store.load_school(school_id)
    gone = store.save_version(school_id, "gone soon", Timetable(placed=0, total=school.total_periods()))
    state = AppState(store, None, school=school_id, version=first)
    view = TimetableView(state)
    assert view.version == first
    store.delete_version(gone)
    view.version = gone
    assert view.schedule is None
    assert "does not exist" in view.grid_html() and view.unplaced().empty
    errors = [m for kind, m in state.toasts if kind == "error"]
    assert errors == [f"Opening the version failed: version '{gone}' does not exist"]
    state.data_revision += 1
    assert gone not in view.param.version.objects and view.version != gone


def test_links_and_navigation_keep_the_version(stored):
    """ "View timetable" (a link to a version) opens that version, and the URL keeps the version shown."""
    store, school_id, first, second, *_ = stored
    state = AppState(store, None, school=school_id)
    shell = Shell(
        {"overview": lambda app: "overview", "jobs": lambda app: "jobs", "timetables": TimetablesPage},
        app=state,
    )
    state.go("timetables", version=first)
    page = shell.views["timetables"]
    assert page.version == first and state.version == first
    state.go("jobs")
    assert state.version == ""
    state.go("timetables", version=second)
    assert page.version == second
    shell.nav.value = "jobs"
    shell.nav.value = "timetables"
    assert page.version == second and state.version == second
