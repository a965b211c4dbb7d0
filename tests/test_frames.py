"""DataFrame views of a school and a timetable agree with the school and with the checker."""

from solver import frames
from solver.checker import check
from solver.demo import demo_with_timetable


def test_school_tables_have_one_row_per_item():
    school, _ = demo_with_timetable(200, seed=1)
    tables = frames.school_tables(school)
    assert set(tables) == {"subjects", "teachers", "classes", "groups", "rooms", "lessons", "rules"}
    assert len(tables["lessons"]) == len(school.lessons)
    assert tables["lessons"]["periods"].sum() == 200
    assert tables["teachers"]["periods"].sum() == sum(x.periods * len(x.teachers) for x in school.lessons)
    assert len(tables["rules"]) == len(school.rules)


def test_timetable_frame_has_one_row_per_placed_period():
    school, timetable = demo_with_timetable(200, seed=1)
    frame = frames.timetable_frame(school, timetable)
    assert len(frame) == 200
    assert set(frame["day"]) <= set(school.calendar.days)
    assert frame.iloc[0]["subject_name"]


def test_teacher_load_and_gaps_agree_with_the_checker():
    school, timetable = demo_with_timetable(300, seed=2)
    load = frames.teacher_load(school, timetable)
    assert load["week"].sum() == sum(x.periods * len(x.teachers) for x in school.lessons)
    report = check(school, timetable)
    teacher_gaps = frames.gaps(school, timetable).drop(columns="week")
    rule = next(r for r in school.rules if r.id == "teachers-gaps-day")
    excess = (teacher_gaps - rule.params["max"]).clip(lower=0).sum().sum()
    assert report.breakdown.get(rule.id, 0) == rule.weight * excess
    student_gaps = frames.gaps(school, timetable, "subgroup").drop(columns="week")
    rule = next(r for r in school.rules if r.id == "students-gaps-day")
    excess = (student_gaps - rule.params["max"]).clip(lower=0).sum().sum()
    assert report.breakdown.get(rule.id, 0) == rule.weight * excess


def test_subject_spread_counts_blocks():
    school, timetable = demo_with_timetable(200, seed=1)
    spread = frames.subject_spread(school, timetable)
    # The demo's hidden timetable has every subject at most once a day for every subgroup.
    assert spread["max"].max() == 1
