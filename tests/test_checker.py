"""The independent checker, rule by rule, on small hand-made schools: satisfied and violated."""

import ast
from pathlib import Path

import pytest

from solver.checker import RULE_CHECKS, check
from solver.demo import demo_with_timetable
from solver.domain import (
    HARD,
    Calendar,
    Group,
    Lesson,
    Pin,
    Placement,
    Room,
    Rule,
    School,
    StudentClass,
    Subject,
    Teacher,
    Timetable,
)
from solver.rules import RULE_TYPES

MON, TUE, WED = 0, 1, 2
BREAK = 3  # period index of the daily break


def make_school(lessons: list[Lesson], rules: list[Rule] | None = None) -> School:
    """Three days of six periods ('1', '2', '3', 'Break', '4', '5'); 7A is split into halves."""
    return School(
        name="Test",
        calendar=Calendar(
            ["Mon", "Tue", "Wed"], ["1", "2", "3", "Break", "4", "5"], [(d, BREAK) for d in range(3)]
        ),
        subjects=[Subject("MATH", "Mathematics"), Subject("SCI", "Science"), Subject("ART", "Art")],
        teachers=[Teacher("A", "Ms Novak"), Teacher("B", "Mr Okafor"), Teacher("C", "Dr Rossi")],
        classes=[StudentClass("7A"), StudentClass("7B")],
        groups=[Group("7A-1", "7A", division="half"), Group("7A-2", "7A", division="half")],
        rooms=[Room("R1", "Room 1"), Room("R2", "Room 2"), Room("LAB", "Lab")],
        lessons=lessons,
        rules=rules or [],
    )


def lesson(id: str, subject: str, teachers, groups, blocks=(1,), rooms=(), apart=1, **kw) -> Lesson:
    return Lesson(id, subject, list(teachers), list(groups), list(blocks), apart, list(rooms), **kw)


def timetable(school: School, *placements: tuple) -> Timetable:
    """Placements as (lesson, block, day, period[, room]); the length comes from the lesson."""
    out = []
    for lesson_id, block, day, period, *room in placements:
        length = school.lesson_by_id[lesson_id].blocks[block]
        out.append(Placement(lesson_id, block, (day, period), length, room[0] if room else None))
    return Timetable(placements=out)


def kinds(report, hard=True) -> list[str]:
    return [v.rule for v in (report.hard if hard else report.soft)]


# ---------------------------------------------------------------------- built-ins


def test_a_valid_timetable_passes():
    school = make_school(
        [
            lesson("L1", "MATH", ["A"], ["7A"], [2, 1], ["R1"]),
            lesson("L2", "SCI", ["B"], ["7A-1"], [1], ["LAB"]),
            lesson("L3", "ART", ["C"], ["7A-2"], [1], ["R2"]),
        ]
    )
    t = timetable(
        school,
        ("L1", 0, MON, 0, "R1"),
        ("L1", 1, TUE, 0, "R1"),
        ("L2", 0, MON, 2, "LAB"),
        ("L3", 0, MON, 2, "R2"),
    )
    report = check(school, t)
    assert report.ok, report.hard
    assert report.score == 0 and report.breakdown == {}


def test_unplaced_block_is_a_hard_violation_naming_it():
    school = make_school([lesson("L1", "MATH", ["A"], ["7A"], [2, 1])])
    report = check(school, timetable(school, ("L1", 0, MON, 0)))
    assert kinds(report) == ["unplaced"]
    assert "L1" in report.hard[0].message and "block 1" in report.hard[0].message
    assert not report.ok


def test_disabled_lessons_and_rules_are_ignored():
    school = make_school(
        [lesson("L1", "MATH", ["A"], ["7A"]), lesson("L2", "SCI", ["A"], ["7A"], enabled=False)],
        [Rule("r", "max_periods_per_day", "all_teachers", None, 100, {"max": 0}, enabled=False)],
    )
    # The disabled lesson's placement clashes with L1, and it is ignored all the same.
    report = check(school, timetable(school, ("L1", 0, MON, 0), ("L2", 0, MON, 0)))
    assert report.ok, report.hard


def test_placed_twice_and_unknown_lesson():
    school = make_school([lesson("L1", "MATH", ["A"], ["7A"])])
    t = timetable(school, ("L1", 0, MON, 0), ("L1", 0, TUE, 0))
    t.placements.append(Placement("L9", 0, (WED, 0), 1))
    assert sorted(kinds(check(school, t))) == ["placed_twice", "unknown_lesson"]


def test_block_across_a_break_or_past_the_day():
    school = make_school([lesson("L1", "MATH", ["A"], ["7A"], [2, 2])])
    report = check(school, timetable(school, ("L1", 0, MON, 2), ("L1", 1, TUE, 5)))
    assert sorted(kinds(report)) == ["break", "day_overflow"]


def test_wrong_block_length():
    school = make_school([lesson("L1", "MATH", ["A"], ["7A"], [2])])
    t = Timetable(placements=[Placement("L1", 0, (MON, 0), 1)])
    assert kinds(check(school, t)) == ["block_length"]


def test_teacher_clash():
    school = make_school([lesson("L1", "MATH", ["A"], ["7A"]), lesson("L2", "SCI", ["A"], ["7B"])])
    report = check(school, timetable(school, ("L1", 0, MON, 0), ("L2", 0, MON, 0)))
    assert kinds(report) == ["teacher_clash"]
    assert "Ms Novak" in report.hard[0].message and "Mon 1" in report.hard[0].message
    assert report.ok is False
    assert check(school, timetable(school, ("L1", 0, MON, 0), ("L2", 0, MON, 1))).ok


def test_students_clash_through_shared_subgroups_only():
    school = make_school(
        [
            lesson("L1", "MATH", ["A"], ["7A"]),
            lesson("L2", "SCI", ["B"], ["7A-1"]),
            lesson("L3", "ART", ["C"], ["7A-2"]),
        ]
    )
    halves_together = timetable(school, ("L1", 0, MON, 0), ("L2", 0, MON, 1), ("L3", 0, MON, 1))
    assert check(school, halves_together).ok
    whole_and_half = timetable(school, ("L1", 0, MON, 0), ("L2", 0, MON, 0), ("L3", 0, MON, 1))
    assert kinds(check(school, whole_and_half)) == ["student_clash"]


def test_rooms_allowed_and_clashes():
    school = make_school(
        [
            lesson("L1", "MATH", ["A"], ["7A"], rooms=["R1"]),
            lesson("L2", "SCI", ["B"], ["7B"], rooms=["R1", "LAB"]),
        ]
    )
    assert kinds(check(school, timetable(school, ("L1", 0, MON, 0, "R1"), ("L2", 0, MON, 0, "R1")))) == [
        "room_clash"
    ]
    assert kinds(check(school, timetable(school, ("L1", 0, MON, 0), ("L2", 0, MON, 0, "R2")))) == [
        "room_not_allowed",
        "room_not_allowed",
    ]
    assert check(school, timetable(school, ("L1", 0, MON, 0, "R1"), ("L2", 0, MON, 0, "LAB"))).ok


def test_pins_are_respected():
    school = make_school(
        [lesson("L1", "MATH", ["A"], ["7A"], rooms=["R1", "R2"], pinned=[Pin(0, (TUE, 1), "R2")])]
    )
    assert check(school, timetable(school, ("L1", 0, TUE, 1, "R2"))).ok
    assert kinds(check(school, timetable(school, ("L1", 0, TUE, 2, "R2")))) == ["pinned"]
    assert kinds(check(school, timetable(school, ("L1", 0, TUE, 1, "R1")))) == ["pinned"]


@pytest.mark.parametrize(
    ("apart", "days", "ok"), [(1, (MON, TUE), True), (2, (MON, TUE), False), (0, (MON, MON), True)]
)
def test_min_days_apart(apart, days, ok):
    school = make_school([lesson("L1", "MATH", ["A"], ["7A"], [1, 1], apart=apart)])
    report = check(school, timetable(school, ("L1", 0, days[0], 0), ("L1", 1, days[1], 1)))
    assert report.ok is ok
    if not ok:
        assert kinds(report) == ["min_days_apart"]


# ---------------------------------------------------------------------- rule types


def test_every_engine_rule_family_has_a_check():
    families = {
        "unavailable",
        "max_periods_per_day",
        "max_gaps_per_day",
        "max_gaps_per_week",
        "min_days_per_week",
        "max_days_per_week",
        "subject_spread",
        "preferred_times",
    }
    assert families <= set(RULE_TYPES) and families <= set(RULE_CHECKS)


def test_checker_shares_no_code_with_the_model_builder():
    tree = ast.parse(Path(__file__).parents[1].joinpath("solver/checker.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m and ("model" in m or "solve" in m or "ortools" in m)}


def two_lessons_school(rules):
    return make_school(
        [lesson("L1", "MATH", ["A"], ["7A"], [2, 1]), lesson("L2", "SCI", ["A"], ["7A-1"], [1, 1])], rules
    )


def test_unavailable_hard_and_soft_amounts():
    slots = [(MON, 0), (MON, 1)]
    hard = two_lessons_school([Rule("u", "unavailable", "teacher", "A", 100, {"slots": slots})])
    t = timetable(hard, ("L1", 0, MON, 0), ("L1", 1, TUE, 0), ("L2", 0, WED, 0), ("L2", 1, TUE, 1))
    report = check(hard, t)
    assert kinds(report) == ["u"] and report.hard[0].amount == 2
    soft = two_lessons_school([Rule("u", "unavailable", "teacher", "A", 30, {"slots": slots})])
    report = check(soft, t)
    assert report.ok and report.score == 60 and report.breakdown == {"u": 60}
    ok = timetable(hard, ("L1", 0, MON, 4), ("L1", 1, TUE, 0), ("L2", 0, WED, 0), ("L2", 1, TUE, 1))
    assert check(hard, ok).ok


def test_group_rules_apply_to_each_subgroup():
    school = two_lessons_school([Rule("u", "unavailable", "group", "7A", 10, {"slots": [(TUE, 0)]})])
    t = timetable(school, ("L1", 0, MON, 0), ("L1", 1, TUE, 0), ("L2", 0, WED, 0), ("L2", 1, TUE, 1))
    # L1 at Tue 1 occupies both halves of 7A: one period for each subgroup.
    report = check(school, t)
    assert report.score == 20 and len(report.soft) == 2


def test_room_unavailable():
    school = make_school(
        [lesson("L1", "MATH", ["A"], ["7A"], rooms=["LAB"])],
        [Rule("u", "unavailable", "room", "LAB", 100, {"slots": [(WED, 5)]})],
    )
    assert kinds(check(school, timetable(school, ("L1", 0, WED, 5, "LAB")))) == ["u"]
    assert check(school, timetable(school, ("L1", 0, WED, 4, "LAB"))).ok


def test_max_periods_per_day():
    rule = Rule("m", "max_periods_per_day", "all_teachers", None, 50, {"max": 2})
    school = two_lessons_school([rule])
    busy_monday = timetable(
        school, ("L1", 0, MON, 0), ("L1", 1, TUE, 0), ("L2", 0, MON, 4), ("L2", 1, TUE, 1)
    )
    report = check(school, busy_monday)
    assert [v.amount for v in report.soft] == [1] and report.score == 50
    spread = timetable(school, ("L1", 0, MON, 0), ("L1", 1, TUE, 0), ("L2", 0, WED, 4), ("L2", 1, TUE, 1))
    assert check(school, spread).score == 0


def test_gaps_skip_breaks_and_hard_unavailable_times():
    rules = [
        Rule("day", "max_gaps_per_day", "teacher", "A", 10, {"max": 0}),
        Rule("week", "max_gaps_per_week", "teacher", "A", 5, {"max": 1}),
    ]
    school = two_lessons_school(rules)
    # Mon: periods '1'-'2' then '5': '3' and '4' are gaps, the break is not. Tue: '1' and '3', one gap.
    t = timetable(school, ("L1", 0, MON, 0), ("L2", 0, MON, 5), ("L1", 1, TUE, 0), ("L2", 1, TUE, 2))
    report = check(school, t)
    assert report.breakdown == {"day": 30, "week": 10}
    meeting = Rule("u", "unavailable", "teacher", "A", 100, {"slots": [(MON, 4)]})
    with_meeting = two_lessons_school([*rules, meeting])
    assert check(with_meeting, t).breakdown == {"day": 20, "week": 5}


def test_students_gaps():
    school = two_lessons_school([Rule("g", "max_gaps_per_day", "group", "7A-1", 10, {"max": 0})])
    t = timetable(school, ("L1", 0, MON, 0), ("L2", 0, MON, 4), ("L1", 1, TUE, 0), ("L2", 1, TUE, 1))
    # 7A-1 on Monday: 1, 2, (3 free), break, 4: one gap. 7A-2 has only L1: no gaps.
    report = check(school, t)
    assert report.score == 10 and "7A-1" in report.soft[0].message


def test_min_and_max_days_per_week():
    rules = [
        Rule("min", "min_days_per_week", "teacher", "A", 10, {"min": 3}),
        Rule("max", "max_days_per_week", "teacher", "A", 100, {"max": 1}),
    ]
    school = two_lessons_school(rules)
    two_days = timetable(school, ("L1", 0, MON, 0), ("L2", 0, MON, 2), ("L1", 1, TUE, 0), ("L2", 1, TUE, 1))
    report = check(school, two_days)
    assert report.breakdown == {"min": 10}
    assert kinds(report) == ["max"] and report.hard[0].amount == 1


def test_min_days_capped_by_number_of_blocks():
    school = make_school(
        [lesson("L1", "MATH", ["A"], ["7A"], [1, 1], apart=0)],
        [Rule("min", "min_days_per_week", "teacher", "A", 10, {"min": 3})],
    )
    assert check(school, timetable(school, ("L1", 0, MON, 0), ("L1", 1, TUE, 0))).score == 0
    assert check(school, timetable(school, ("L1", 0, MON, 0), ("L1", 1, MON, 1))).score == 10


def test_subject_spread_counts_blocks_per_subgroup():
    school = make_school(
        [
            lesson("L1", "MATH", ["A"], ["7A"], [2]),
            lesson("L2", "MATH", ["B"], ["7A-1"], [1]),
            lesson("L3", "MATH", ["C"], ["7B"], [1, 1], apart=0),
        ],
        [Rule("s", "subject_spread", "all_groups", None, 80, {})],
    )
    t = timetable(school, ("L1", 0, MON, 0), ("L2", 0, MON, 4), ("L3", 0, TUE, 0), ("L3", 1, TUE, 1))
    report = check(school, t)
    # 7A-1: the double counts once, plus L2 = 2 blocks on Monday; 7B: 2 blocks on Tuesday.
    assert sorted(v.amount for v in report.soft) == [1, 1] and report.score == 160
    assert "7A-1" in report.soft[0].message or "7A-1" in report.soft[1].message
    by_subject = make_school(school.lessons, [Rule("s", "subject_spread", "subject", "SCI", 80, {})])
    assert check(by_subject, t).score == 0
    relaxed = make_school(
        school.lessons, [Rule("s", "subject_spread", "group", "7B", 80, {"max_per_day": 2})]
    )
    assert check(relaxed, t).score == 0


@pytest.mark.parametrize(
    ("mode", "day", "start", "outside"),
    [("all", MON, 0, 0), ("all", MON, 1, 1), ("start", MON, 1, 0), ("start", TUE, 0, 1)],
)
def test_preferred_times_modes(mode, day, start, outside):
    slots = [(MON, 0), (MON, 1), (MON, 4)]
    school = make_school(
        [lesson("L1", "MATH", ["A"], ["7A"], [2])],
        [Rule("p", "preferred_times", "subject", "MATH", 20, {"slots": slots, "mode": mode})],
    )
    report = check(school, timetable(school, ("L1", 0, day, start)))
    assert report.ok and report.score == 20 * outside


@pytest.mark.parametrize(
    ("scope", "target", "hit"),
    [
        ("teacher", "A", 1),
        ("teacher", "B", 0),
        ("group", "7A-2", 1),
        ("lessons", ["L2"], 0),
        ("lesson", "L1", 1),
    ],
)
def test_preferred_times_scopes(scope, target, hit):
    school = make_school(
        [lesson("L1", "MATH", ["A"], ["7A"]), lesson("L2", "SCI", ["B"], ["7A-1"])],
        [Rule("p", "preferred_times", scope, target, 100, {"slots": [(MON, 0)]})],
    )
    report = check(school, timetable(school, ("L1", 0, TUE, 0), ("L2", 0, MON, 0)))
    assert len(report.hard) == hit


def test_unknown_rule_type_is_not_silently_passed():
    school = make_school(
        [lesson("L1", "MATH", ["A"], ["7A"])], [Rule("x", "no_such_type", "teacher", "A", 10, {})]
    )
    assert kinds(check(school, timetable(school, ("L1", 0, MON, 0)))) == ["x"]


def test_demo_hidden_timetable_keeps_every_hard_rule():
    school, hidden = demo_with_timetable(914, seed=1)
    report = check(school, hidden)
    assert report.ok, [str(v) for v in report.hard[:5]]
    assert report.score > 0  # gaps and preferences are left for the solver


def test_a_malformed_rule_is_reported_not_raised():
    school = make_school(
        [lesson("L1", "MATH", ["A"], ["7A"])],
        [Rule("m", "max_periods_per_day", "all_teachers", None, 50, {})],
    )
    report = check(school, timetable(school, ("L1", 0, MON, 0)))
    assert kinds(report) == ["m"] and "could not be checked" in report.hard[0].message


def test_combined_rooms_take_a_different_real_room_from_each_set():
    """A block in a combined room (FET's virtual room) takes one real room from each set; the combined
    room never clashes itself, its real rooms do."""
    school = make_school(
        [
            lesson("L1", "ART", ["A"], ["7A"], rooms=["BOTH"]),
            lesson("L2", "ART", ["B"], ["7B"], rooms=["BOTH"]),
            lesson("L3", "MATH", ["C"], [], rooms=["R1"]),
        ]
    )
    school.rooms.append(Room("BOTH", "Both rooms", real_rooms=[["R1", "R2"], ["R2", "LAB"]]))
    school.invalidate()

    def tt(*placements: tuple) -> Timetable:
        out = timetable(school, *[p[:5] for p in placements])
        for p, given in zip(out.placements, placements):
            p.real_rooms = list(given[5]) if len(given) > 5 else []
        return out

    good = tt(
        ("L1", 0, MON, 0, "BOTH", ["R1", "R2"]),
        ("L2", 0, MON, 1, "BOTH", ["R2", "LAB"]),
        ("L3", 0, MON, 1, "R1"),
    )
    assert check(school, good).ok
    # Two blocks in the combined room at once are fine when their real rooms differ: here they do not.
    both = tt(
        ("L1", 0, MON, 0, "BOTH", ["R1", "R2"]),
        ("L2", 0, MON, 0, "BOTH", ["R2", "LAB"]),
        ("L3", 0, TUE, 0, "R1"),
    )
    assert kinds(check(school, both)) == ["room_clash"]
    # A real room also taken by a lesson of its own.
    taken = tt(
        ("L1", 0, MON, 0, "BOTH", ["R1", "R2"]),
        ("L2", 0, TUE, 0, "BOTH", ["R1", "R2"]),
        ("L3", 0, MON, 0, "R1"),
    )
    assert kinds(check(school, taken)) == ["room_clash"]
    # One room twice, a room from no set, none at all, and real rooms outside a combined room.
    report = check(
        school,
        tt(
            ("L1", 0, MON, 0, "BOTH", ["R2", "R2"]),
            ("L2", 0, TUE, 0, "BOTH", ["LAB", "R1"]),
            ("L3", 0, WED, 0, "R1", ["R2"]),
        ),
    )
    assert kinds(report) == ["real_rooms", "real_rooms", "real_rooms"]
    assert "it needs a different one from each of: R1 or R2; R2 or LAB" in str(report.hard[0])
    assert kinds(
        check(
            school,
            tt(("L1", 0, MON, 0, "BOTH"), ("L2", 0, TUE, 0, "BOTH", ["R1", "R2"]), ("L3", 0, WED, 0, "R1")),
        )
    ) == ["real_rooms"]
    # A real room's hard unavailable times hold for the blocks that take it.
    shut = Rule("shut", "unavailable", "room", "LAB", HARD, {"slots": [(TUE, 0)]})
    school.rules.append(shut)
    report = check(
        school,
        tt(
            ("L1", 0, MON, 0, "BOTH", ["R1", "R2"]),
            ("L2", 0, TUE, 0, "BOTH", ["R2", "LAB"]),
            ("L3", 0, WED, 0, "R1"),
        ),
    )
    assert kinds(report) == ["shut"]
