"""Validation finds every problem at once, each naming the item, the field and a fix."""

import json
import re
from dataclasses import replace
from pathlib import Path

import pytest

from solver import school_from_dict
from solver.demo import generate_demo
from solver.domain import Calendar, Group, Lesson, Pin, Room, Rule, School, StudentClass, Subject, Teacher
from solver.validate import validate


def make_school(lessons=(), rules=(), **kw) -> School:
    """Two days of five periods ('1', '2', 'Break', '3', '4'); class 7A split into halves."""
    return School(
        name="Test",
        calendar=Calendar(["Mon", "Tue"], ["1", "2", "Break", "3", "4"], [(0, 2), (1, 2)]),
        subjects=[Subject("MATH", "Mathematics"), Subject("SCI", "Science")],
        teachers=[Teacher("T1", "Ms Novak"), Teacher("T2", "Mr Okafor")],
        classes=[StudentClass("7A"), StudentClass("7B")],
        groups=[Group("7A-1", "7A", division="half"), Group("7A-2", "7A", division="half")],
        rooms=[Room("R1", "Room 1"), Room("LAB", "Lab")],
        lessons=list(lessons),
        rules=list(rules),
        **kw,
    )


def where(problems) -> list[str]:
    return [p.where for p in problems]


def test_a_sound_school_has_no_problems():
    school = make_school(
        [
            Lesson("L1", "MATH", ["T1"], ["7A"], [2, 1], rooms=["R1"]),
            Lesson("L2", "SCI", ["T2"], ["7A-1"], [1]),
        ],
        [Rule("r1", "max_gaps_per_day", "all_teachers", None, 40, {"max": 1})],
    )
    assert validate(school) == []


@pytest.mark.parametrize(("periods", "seed"), [(60, 1), (300, 2), (914, 1), (2000, 1)])
def test_demo_schools_are_valid(periods, seed):
    assert validate(generate_demo(periods, seed)) == []


def test_broken_references_are_all_reported_at_once():
    school = make_school(
        [
            Lesson("L1", "HISTORY", ["T9", "T1"], ["7C"], [1], rooms=["R7"]),
            Lesson("L1", "MATH", ["T1"], ["7A"], [1]),
        ],
        [Rule("r1", "max_gaps_per_day", "teacher", "T8", 40, {"max": 1})],
    )
    school.groups.append(Group("8A-1", "8A"))
    problems = validate(school)
    text = "\n".join(map(str, problems))
    assert "lesson L1.subject" in where(problems) and "unknown subject 'HISTORY'" in text
    assert "unknown teacher 'T9'" in text and "unknown class or group '7C'" in text
    assert "unknown room 'R7'" in text and "two lessons share the id 'L1'" in text
    assert "group 8A-1.class" in where(problems) and "rule r1.target" in where(problems)
    assert all(p.fix for p in problems), [str(p) for p in problems if not p.fix]
    # The fix for a reference names what does exist.
    subject = next(p for p in problems if p.where == "lesson L1.subject")
    assert "MATH" in subject.fix


def test_blocks_that_cannot_exist():
    school = make_school(
        [
            Lesson("L1", "MATH", ["T1"], ["7A"], [0, -1]),
            Lesson("L2", "MATH", ["T1"], ["7B"], [3]),
            Lesson("L3", "SCI", ["T2"], ["7B"], [1, 1, 1]),
            Lesson("L4", "SCI", ["T2"], ["7A-1"], []),
        ]
    )
    problems = validate(school)
    assert {"lesson L1.blocks[0]", "lesson L1.blocks[1]", "lesson L2.blocks[0]"} <= set(where(problems))
    assert "lesson L3.min_days_apart" in where(problems) and "lesson L4.blocks" in where(problems)
    longest = next(p for p in problems if p.where == "lesson L2.blocks[0]")
    assert "longest run of periods without a break is 2" in longest.message


def test_demand_beyond_availability():
    school = make_school(
        [Lesson("L1", "MATH", ["T1"], ["7A"], [2, 2]), Lesson("L2", "SCI", ["T1"], ["7B"], [2, 1])],
        [Rule("off", "unavailable", "teacher", "T1", 100, {"slots": [(0, 0), (0, 1), (0, 3)]})],
    )
    problems = validate(school)
    teacher = next(p for p in problems if p.where == "teacher Ms Novak (T1)")
    assert "must be taught 7 periods but is available for 5" in teacher.message
    assert "unavailable times" in teacher.message
    # Monday has one free period left, so the two doubles of L1 cannot be on different days.
    assert "lesson L1.min_days_apart" in where(problems)


def test_soft_unavailability_does_not_limit_capacity():
    school = make_school(
        [Lesson("L1", "MATH", ["T1"], ["7A"], [2, 2]), Lesson("L2", "SCI", ["T1"], ["7B"], [2, 1])],
        [Rule("off", "unavailable", "teacher", "T1", 50, {"slots": [(0, 0), (0, 1), (0, 3)]})],
    )
    assert validate(school) == []


def test_students_and_rooms_demand():
    school = make_school(
        [
            Lesson("L1", "MATH", ["T1"], ["7A"], [2, 2], rooms=["LAB"]),
            Lesson("L2", "SCI", ["T2"], ["7A-1"], [2, 2], rooms=["LAB"]),
        ],
        [Rule("short", "max_periods_per_day", "group", "7A", 100, {"max": 3})],
    )
    problems = validate(school)
    text = "\n".join(map(str, problems))
    assert "students of 7A-1" in text and "must be taught 8 periods but is available for 6" in text
    # The lab is booked for exactly the 8 periods it offers: not a problem.
    assert not [p for p in problems if "room" in p.where]


def test_room_pool_overbooked():
    school = make_school(
        [
            Lesson("L1", "MATH", ["T1"], ["7A"], [2, 2, 2, 2], min_days_apart=0, rooms=["LAB"]),
            Lesson("L2", "SCI", ["T2"], ["7B"], [1], rooms=["LAB"]),
        ]
    )
    problems = validate(school)
    assert [p.where for p in problems if "room" in p.where] == ["room Lab (LAB)"]
    assert "need 9 periods, but it offers 8" in str(problems)


def test_pins_that_collide_or_do_not_fit():
    school = make_school(
        [
            Lesson("L1", "MATH", ["T1"], ["7A"], [2], pinned=[Pin(0, (0, 0))]),
            Lesson("L2", "SCI", ["T1"], ["7B"], [1], pinned=[Pin(0, (0, 1))]),
            Lesson(
                "L3", "SCI", ["T2"], ["7B"], [2, 1], rooms=["R1"], pinned=[Pin(0, (1, 1)), Pin(3, (1, 0))]
            ),
            Lesson("L4", "MATH", ["T2"], ["7A-2"], [1], rooms=["R1"], pinned=[Pin(0, (1, 4), room="LAB")]),
        ]
    )
    problems = validate(school)
    text = "\n".join(map(str, problems))
    assert "lesson L3.pinned[0]" in where(problems) and "covers a break" in text
    assert "lesson L3.pinned[1].block" in where(problems) and "no block 3" in text
    assert "lesson L4.pinned[0].room" in where(problems)
    # References must resolve before collisions are looked for; fix those and the collision shows.
    school.lessons = school.lessons[:2]
    problems = validate(school)
    assert len(problems) == 1
    assert "lesson L2 block 0 and lesson L1 block 0 are both pinned at Mon 2" in problems[0].message
    assert "Ms Novak" in problems[0].message


def test_pin_at_an_unavailable_time():
    school = make_school(
        [Lesson("L1", "MATH", ["T1"], ["7A"], [1], pinned=[Pin(0, (1, 0))])],
        [Rule("off", "unavailable", "group", "7A", 100, {"slots": [(1, 0)]})],
    )
    problems = validate(school)
    assert len(problems) == 1 and "unavailable" in problems[0].message and "7A" in problems[0].message


def test_rule_problems():
    school = make_school(
        [Lesson("L1", "MATH", ["T1"], ["7A"], [1])],
        [
            Rule("a", "no_such_rule", "teacher", "T1", 50, {}),
            Rule("b", "subject_spread", "room", "R1", 50, {}),
            Rule("c", "max_gaps_per_day", "all_teachers", None, 0, {}),
            Rule("d", "max_periods_per_day", "teacher", "T1", 101, {"max": "six", "extra": 1}),
            Rule("e", "unavailable", "group", "7Z", 100, {"slots": [(5, 0)]}),
            Rule("f", "preferred_times", "lessons", ["L1", "L9"], 20, {"slots": [], "mode": "middle"}),
            Rule("g", "max_days_per_week", "all_teachers", "T1", 20, {"max": -1}),
        ],
    )
    problems = validate(school)
    found = set(where(problems))
    assert {
        "rule a.type",
        "rule b.scope",
        "rule c.weight",
        "rule c.params",
        "rule d.weight",
        "rule d.params.max",
        "rule d.params.extra",
        "rule e.target",
        "rule e.params.slots",
        "rule f.target",
        "rule f.params.mode",
        "rule g.target",
        "rule g.params.max",
    } <= found
    missing = next(p for p in problems if p.where == "rule c.params")
    assert "missing parameter 'max'" in missing.message
    scope = next(p for p in problems if p.where == "rule b.scope")
    assert "group" in scope.fix and "all_groups" in scope.fix


def test_duplicate_ids_and_class_group_name_clash():
    school = make_school([Lesson("L1", "MATH", ["T1"], ["7A"], [1])])
    school.teachers.append(Teacher("T1", "Someone else"))
    school.groups.append(Group("7B", "7A"))
    school.invalidate()
    found = where(validate(school))
    assert "teacher T1.id" in found and "group 7B.id" in found


def test_disabled_lessons_do_not_count_towards_demand():
    school = make_school([Lesson(f"L{i}", "MATH", ["T1"], ["7A"], [1], enabled=i < 8) for i in range(12)])
    assert validate(school) == []


def test_documented_example_reads_and_validates():
    text = (Path(__file__).parents[1] / "docs" / "school-format.md").read_text()
    example = re.search(r"## Example\n\n```json\n(.*?)```", text, re.DOTALL).group(1)
    assert validate(school_from_dict(json.loads(example))) == []


def test_blocks_that_fit_at_no_time():
    school = make_school(
        [
            Lesson("L1", "MATH", ["T1"], ["7A"], [2], rooms=["LAB"]),
            Lesson("L2", "SCI", ["T2"], ["7B"], [1, 1]),
            Lesson("L3", "SCI", ["T2"], ["7A-2"], [2]),
        ],
        [
            Rule("mornings", "preferred_times", "lesson", "L1", 100, {"slots": [(0, 0), (1, 0)]}),
            Rule("lab", "unavailable", "room", "LAB", 100, {"slots": [(0, 3), (0, 4)]}),
            Rule("tuesday", "unavailable", "teacher", "T2", 100, {"slots": [(0, 0), (0, 1), (0, 3), (0, 4)]}),
            Rule("soft", "preferred_times", "lesson", "L3", 50, {"slots": [(0, 0)]}),
        ],
    )
    problems = validate(school)
    text = "\n".join(map(str, problems))
    assert "lesson L1.blocks[0]: no time fits this 2-period block" in text
    assert "hard preferred times rule mornings" in text
    assert "lesson L2.min_days_apart" in where(problems) and "only available together on Tue" in text
    assert not [p for p in problems if p.where.startswith("lesson L3")]


def test_combined_rooms_name_real_rooms_in_every_set():
    school = replace(
        make_school(
            [Lesson("L1", "MATH", ["T1"], ["7A"], [1], rooms=["BOTH"])],
        ),
        rooms=[
            Room("R1", "Room 1"),
            Room("LAB", "Lab"),
            Room("BOTH", real_rooms=[["R1", "GYM"], [], ["LAB"]]),
            Room("ALL", real_rooms=[["BOTH"], ["R1"]]),
            Room("TWICE", real_rooms=[["R1"], ["R1"]]),
        ],
    )
    problems = [str(p) for p in validate(school)]
    assert any("room BOTH.real_rooms" in p and "unknown room 'GYM' in set 1" in p for p in problems)
    assert any("set 2 has no room" in p for p in problems)
    assert any(
        "'BOTH' in set 1 is itself a combined room" in p and "list its real rooms instead" in p
        for p in problems
    )
    assert any("room TWICE.real_rooms" in p and "2 sets share fewer different rooms" in p for p in problems)
    # A sound combined room, used by more lessons than it has periods: its real rooms are what count.
    school = replace(
        make_school(
            [
                Lesson(
                    f"L{k}",
                    "MATH",
                    ["T1" if k % 2 else "T2"],
                    ["7A-1" if k % 2 else "7A-2"],
                    [1] * 4,
                    min_days_apart=0,
                    rooms=["BOTH"],
                )
                for k in range(3)
            ],
        ),
        rooms=[Room("R1"), Room("LAB"), Room("R2"), Room("BOTH", real_rooms=[["R1", "R2"], ["LAB", "R2"]])],
    )
    assert [p for p in validate(school) if "room" in p.where] == []


def test_fixed_real_rooms_are_one_of_each_set_of_the_lessons_one_combined_room():
    rooms = [Room("R1"), Room("R2"), Room("LAB"), Room("BOTH", real_rooms=[["R1", "R2"], ["R2", "LAB"]])]
    lessons = [
        Lesson("ok", "MATH", ["T1"], ["7A"], [1], rooms=["BOTH"], real_rooms=["LAB", "R1"]),
        Lesson("twice", "MATH", ["T1"], ["7A"], [1], rooms=["BOTH"], real_rooms=["R2", "R2"]),
        Lesson("outside", "MATH", ["T1"], ["7A"], [1], rooms=["BOTH"], real_rooms=["LAB", "R2", "R1"]),
        Lesson("plain", "SCI", ["T2"], ["7B"], [1], rooms=["R1"], real_rooms=["R1"]),
    ]
    problems = {p.where: str(p) for p in validate(replace(make_school(lessons), rooms=rooms))}
    assert "lesson ok.real_rooms" not in problems
    assert "list one room from each of: R1 or R2; R2 or LAB" in problems["lesson twice.real_rooms"]
    assert "not one room from each set of BOTH" in problems["lesson outside.real_rooms"]
    assert "only for a lesson in exactly one combined room" in problems["lesson plain.real_rooms"]
