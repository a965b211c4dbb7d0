"""Demo schools: deterministic, the requested size, realistic, and feasible by construction."""

import pytest

from solver import check, school_from_dict, school_to_dict, validate
from solver.demo import demo_with_timetable, generate_demo


def test_same_seed_same_school():
    assert school_to_dict(generate_demo(300, seed=7)) == school_to_dict(generate_demo(300, seed=7))


def test_other_seed_other_school():
    assert school_to_dict(generate_demo(300, seed=1)) != school_to_dict(generate_demo(300, seed=2))


@pytest.mark.parametrize("periods", [1, 7, 40, 123, 914, 2000])
def test_exact_number_of_periods(periods):
    assert generate_demo(periods).total_periods() == periods


def test_914_looks_like_a_real_school():
    school = generate_demo(914, seed=1)
    assert 22 <= len(school.classes) <= 26
    assert 40 <= len(school.teachers) <= 65
    assert any(g.division == "half" for g in school.groups)
    assert any(g.division == "language" for g in school.groups)
    assert any(max(x.blocks) == 2 and len(x.blocks) > 1 for x in school.lessons)
    assert any(len(x.teachers) == 2 for x in school.lessons)
    assert any(x.pinned for x in school.lessons)
    assert school.calendar.breaks
    names = {s.name for s in school.subjects}
    assert {"Mathematics", "English", "Science"} <= names
    types = {(r.type, r.hard) for r in school.rules}
    assert ("subject_spread", False) in types
    assert ("unavailable", True) in types
    assert ("max_gaps_per_day", False) in types
    assert ("preferred_times", False) in types
    part_time = [r for r in school.rules if r.id.startswith("day-off-")]
    assert part_time


def test_round_trips_through_json():
    school = generate_demo(200, seed=3)
    assert school_to_dict(school_from_dict(school_to_dict(school))) == school_to_dict(school)


def test_2000_periods_scales_up():
    school = generate_demo(2000, seed=1)
    assert len(school.classes) > 45
    assert len(school.teachers) > 80


def test_hidden_timetable_is_complete():
    school, timetable = demo_with_timetable(914, seed=1)
    placed = sum(p.length for p in timetable.placements)
    assert placed == school.total_periods() == timetable.placed == timetable.total
    assert {(p.lesson, p.block) for p in timetable.placements} == {
        (x.id, b) for x in school.lessons for b in range(len(x.blocks))
    }


@pytest.mark.parametrize(("periods", "seed"), [(50, 1), (300, 2), (914, 3), (2000, 4)])
def test_feasible_by_construction(periods, seed):
    school, hidden = demo_with_timetable(periods, seed)
    assert validate(school) == []
    report = check(school, hidden)
    assert report.ok, [str(v) for v in report.hard[:5]]
