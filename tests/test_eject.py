"""The ejection search: it reads the hard rules from the CP-SAT model, places every block where it can,
pushes others out to make room, and its placements keep every hard rule (judged by the checker)."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pytest

from solver import eject
from solver.checker import check
from solver.domain import HARD, Lesson, Rule, Timetable
from solver.eject import Background, EjectionSearch, Unsupported, place_on_two_cores
from solver.fet import import_fet
from solver.model import BuildOptions, BuildStopped, TimetableModel
from solver.solve import SolveOptions, _Solver
from tests.test_solver import L, make_school, sports_school

TINY = Path(__file__).parent / "data" / "fet" / "tiny.fet"


def hard_model(school) -> TimetableModel:
    return TimetableModel(school, BuildOptions(require_all=False, soft=False))


def timetable(school, tm, chosen) -> Timetable:
    placements = tm.placements([(tm.block_by_key[key], opt) for key, opt in chosen.items()])
    return Timetable(placements=placements, placed=school.total_periods(), total=school.total_periods())


def test_places_every_block_of_a_fet_school_keeping_its_hard_rules():
    school = import_fet(TINY)
    tm = hard_model(school)
    chosen, left = EjectionSearch(tm, seed=1).run(None, time.monotonic() + 10)
    assert left == 0 and len(chosen) == len(tm.blocks)
    report = check(school, timetable(school, tm, chosen))
    assert report.hard == []


def test_on_two_cores_the_forked_search_can_be_the_one_that_places_everything(monkeypatch):
    school = import_fet(TINY)
    tm = hard_model(school)
    here, real_run = os.getpid(), EjectionSearch.run

    def only_elsewhere(search, start, deadline, cancel=None, *args, **kwargs):
        if os.getpid() != here:
            return real_run(search, start, deadline, cancel, *args, **kwargs)
        # This process finds nothing: it waits until the other has placed everything.
        while not cancel.is_set() and time.monotonic() < deadline:
            time.sleep(0.01)
        return {}, school.total_periods()

    monkeypatch.setattr(EjectionSearch, "run", only_elsewhere)
    chosen = place_on_two_cores(EjectionSearch(tm, seed=1), time.monotonic() + 20, 10_000, seed=1)
    assert chosen is not None and set(chosen) == {b.key for b in tm.blocks}
    # The options are this process's own, so the placement reads as any other.
    assert all(opt in tm.block_by_key[key].options for key, opt in chosen.items())
    assert check(school, timetable(school, tm, chosen)).hard == []


def test_without_fork_one_process_searches_alone(monkeypatch):
    school = import_fet(TINY)
    tm = hard_model(school)

    def no_fork(method):
        raise ValueError(f"cannot find context for {method!r}")

    monkeypatch.setattr(eject.multiprocessing, "get_context", no_fork)
    chosen = place_on_two_cores(EjectionSearch(tm, seed=1), time.monotonic() + 20, 10_000, seed=1)
    assert chosen is not None and check(school, timetable(school, tm, chosen)).hard == []
    # A cancelled search gives up at once.
    cancel = threading.Event()
    cancel.set()
    assert place_on_two_cores(EjectionSearch(tm), time.monotonic() + 20, 10_000, 1, cancel) is None


def test_pushes_a_block_out_of_the_only_time_another_can_take():
    # "a" can only start at P0; the start puts "b", of the same teacher, there.
    lessons = [Lesson("a", "Math", ["T"], ["A"], [1]), Lesson("b", "Art", ["T"], ["B"], [1])]
    rules = [Rule("only-first", "preferred_times", "lesson", "a", HARD, {"slots": [(0, 0)], "mode": "start"})]
    school = make_school(lessons, periods=2, rules=rules)
    tm = hard_model(school)
    b = tm.block_by_key[("b", 0)]
    start = {b.key: next(o for o in b.options if o.slot == (0, 0))}
    chosen, left = EjectionSearch(tm).run(start, time.monotonic() + 5)
    assert left == 0
    assert chosen[("a", 0)].slot == (0, 0) and chosen[("b", 0)].slot == (0, 1)


def test_makes_room_by_a_kempe_chain_instead_of_pushing_out():
    # c can only start at P0, where a (same class) is; a and b (same teacher) swap starts instead.
    lessons = [
        Lesson("a", "Math", ["T"], ["A"], [1]),
        Lesson("b", "Art", ["T"], ["B"], [1]),
        Lesson("c", "Music", ["U"], ["A"], [1]),
    ]
    rules = [Rule("c-first", "preferred_times", "lesson", "c", HARD, {"slots": [(0, 0)], "mode": "start"})]
    school = make_school(lessons, periods=2, rules=rules)
    tm = hard_model(school)
    start = {
        key: next(o for o in tm.block_by_key[key].options if o.slot == slot)
        for key, slot in [(("a", 0), (0, 0)), (("b", 0), (0, 1))]
    }
    search = EjectionSearch(tm)
    chosen, left = search.run(start, time.monotonic() + 5)
    assert left == 0 and search.steps == 1
    assert {key[0]: o.slot for key, o in chosen.items()} == {"a": (0, 1), "b": (0, 0), "c": (0, 0)}


def test_a_kempe_chain_that_cannot_close_changes_nothing():
    # Moving a to P1 would take b to P0, which b may not take.
    lessons = [
        Lesson("a", "Math", ["T"], ["A"], [1]),
        Lesson("b", "Art", ["T"], ["B"], [1]),
        Lesson("c", "Music", ["U"], ["A"], [1]),
    ]
    rules = [
        Rule(f"{x}-only", "preferred_times", "lesson", x, HARD, {"slots": [slot], "mode": "start"})
        for x, slot in [("b", (0, 1)), ("c", (0, 0))]
    ]
    school = make_school(lessons, periods=2, rules=rules)
    tm = hard_model(school)
    a = tm.block_by_key[("a", 0)]
    start = {
        a.key: next(o for o in a.options if o.slot == (0, 0)),
        ("b", 0): tm.block_by_key[("b", 0)].options[0],
    }
    search = EjectionSearch(tm)
    chosen, left = search.run(start, time.monotonic() - 1)
    assert left == 1 and set(chosen) == {("a", 0), ("b", 0)}
    before = (list(search.chosen), [list(h) for h in search.holders])
    index = [b.key for b in search.blocks].index(("a", 0))
    assert not search._swap(search.unit_of[index], (0, 1))
    assert (list(search.chosen), [list(h) for h in search.holders]) == before
    # Nothing fits c: the search ends with one period left, every rule kept.
    chosen, left = search.run(start, time.monotonic() + 1, give_up=0.3)
    assert left == 1
    assert all(len(h) <= cap for h, cap in zip(search.holders, search.capacity))


def test_blocks_starting_together_move_as_one_and_pools_hold_their_rooms():
    lessons = [
        Lesson("a", "Math", ["T1"], ["A"], [1], rooms=["R1", "R2"]),
        Lesson("b", "Art", ["T2"], ["B"], [1], rooms=["R1", "R2"]),
        Lesson("c", "Music", ["T3"], ["C"], [1], rooms=["R1", "R2"]),
        Lesson("d", "Math", ["T1"], ["D"], [1]),
    ]
    rules = [
        Rule("together", "same_starting_time", "lessons", ["a", "b"], HARD),
        Rule("d-first", "preferred_times", "lesson", "d", HARD, {"slots": [(0, 0)], "mode": "start"}),
    ]
    school = make_school(lessons, periods=2, rules=rules)
    tm = hard_model(school)
    assert tm.pools, "R1 and R2 form a pool of two rooms"
    search = EjectionSearch(tm, seed=3)
    assert len(search.units) == len(tm.blocks) - 1
    chosen, left = search.run(None, time.monotonic() + 5)
    assert left == 0
    # d takes P0 from T1, so a and b start at P1 together, filling the pool; c is left P0.
    assert chosen[("a", 0)].slot == chosen[("b", 0)].slot == (0, 1)
    assert chosen[("c", 0)].slot == (0, 0)
    assert check(school, timetable(school, tm, chosen)).hard == []


def test_reports_the_fewest_periods_left_when_not_everything_fits():
    lessons = [Lesson(x, "Math", ["T"], [x.upper()], [1]) for x in "abc"]
    school = make_school(lessons, periods=2)
    chosen, left = EjectionSearch(hard_model(school)).run(None, time.monotonic() + 0.5, give_up=0.2)
    assert left == 1 and len(chosen) == 2


def test_a_model_with_gap_rules_is_refused():
    lessons = [Lesson("a", "Math", ["T"], ["A"], [1, 1], min_days_apart=0)]
    rules = [Rule("gaps", "max_gaps_per_day", "teacher", "T", HARD, {"max": 0})]
    with pytest.raises(Unsupported):
        EjectionSearch(hard_model(make_school(lessons, periods=4, rules=rules)))


def test_the_solver_gives_its_placement_as_options_of_the_partial_model():
    school = import_fet(TINY)
    solver = _Solver(school, SolveOptions(time_limit=10), None, None)
    tm = TimetableModel(school, BuildOptions(require_all=False, soft_minimums=True))
    chosen = solver.eject(tm)
    assert len(chosen) == len(tm.blocks)
    assert all(opt in tm.block_by_key[key].options for key, opt in chosen.items())
    assert solver.eject(tm) is not None
    deterministic = _Solver(school, SolveOptions(time_limit=10, deterministic=True), None, None)
    assert deterministic.eject(tm) is None


def test_when_the_quick_search_fails_the_fallback_places_by_ejection_and_completes(monkeypatch):
    school = import_fet(TINY)
    monkeypatch.setattr(_Solver, "quick", lambda self, tm, phase, side=False: None)
    monkeypatch.setattr(_Solver, "repair", lambda self, tm, phase: pytest.fail("CP-SAT's repair ran"))
    lines = []
    solver = _Solver(school, SolveOptions(time_limit=20, stall_seconds=2), lines.append, None)
    tt = solver.solve()
    assert tt.complete and tt.phase == "complete"
    assert any("pushing others out" in p.message for p in lines)
    assert check(school, tt).hard == []


def test_reading_a_model_into_the_ejection_search_stops_where_its_build_would():
    """Reading a large model takes seconds (470,000 options: NehaleSS2017T1a); past the time limit it
    stops as the model's build does."""
    lessons = [Lesson(f"x{i}", "S", [f"T{i % 7}"], [f"C{i % 5}"], [1]) for i in range(200)]
    school = make_school(lessons, days=5, periods=8)
    late = threading.Event()
    tm = TimetableModel(school, BuildOptions(require_all=False, soft=False, stop=late.is_set))
    late.set()
    with pytest.raises(BuildStopped):
        EjectionSearch(tm)


def test_combined_rooms_are_read_as_one_option_per_way_to_take_their_real_rooms():
    """Sport takes hall 1 or 2, and hall 2 or the gym: any two sports lessons share a hall, so three of
    them take the three periods; art in hall 1 goes beside the one in hall 2 and the gym."""
    lessons = [L(f"sport-{k}", [f"T{k}"], [f"C{k}"], [1], rooms=["SPORT"]) for k in range(3)]
    lessons.append(L("art", ["A"], ["D"], [1], rooms=["H1"]))
    school = sports_school(lessons, periods=3)
    with pytest.raises(Unsupported):
        EjectionSearch(hard_model(school))
    tm = TimetableModel(school, BuildOptions(require_all=False, soft=False, expand_combined=True))
    sport = tm.block_by_key[("sport-0", 0)]
    assert {o.real_rooms for o in sport.options} == {("H1", "H2"), ("H1", "GYM"), ("H2", "GYM")}
    assert len(sport.options) == 3 * 3
    chosen, left = EjectionSearch(tm, seed=1).run(None, time.monotonic() + 10)
    assert left == 0
    placed = timetable(school, tm, chosen)
    assert check(school, placed).hard == []
    art = next(p for p in placed.placements if p.lesson == "art")
    beside = next(p for p in placed.placements if p.slot == art.slot and p.lesson != "art")
    assert beside.real_rooms == ["H2", "GYM"]


def test_a_count_of_periods_weighs_a_double_lesson_twice():
    # T teaches 6 periods over two days of four, at most 3 a day: a double lesson and a single each day.
    lessons = [
        Lesson("a", "Math", ["T"], ["A"], [2]),
        Lesson("b", "Art", ["T"], ["B"], [2]),
        Lesson("c", "Music", ["T"], ["C"], [1]),
        Lesson("d", "Math", ["T"], ["D"], [1]),
    ]
    rules = [Rule("three", "max_periods_per_day", "teacher", "T", HARD, {"max": 3})]
    school = make_school(lessons, days=2, periods=4, rules=rules)
    tm = hard_model(school)
    search = EjectionSearch(tm, seed=2)
    assert search.weighted
    # Both doubles on day 0 would be 4 periods: the second pushes the first out.
    a, b = tm.block_by_key[("a", 0)], tm.block_by_key[("b", 0)]
    i = [blk.key for blk in search.blocks].index(("b", 0))
    j = next(k for k, o in enumerate(b.options) if o.slot == (0, 2))
    start = {a.key: next(o for o in a.options if o.slot == (0, 0))}
    search.run(start, time.monotonic() - 1)
    assert not search._free(i, j)
    for seed in range(4):
        chosen, left = EjectionSearch(tm, seed=seed).run(None, time.monotonic() + 5)
        assert left == 0
        assert check(school, timetable(school, tm, chosen)).hard == []
        per_day = [
            sum(tm.block_by_key[k].length for k, o in chosen.items() if o.slot[0] == d) for d in (0, 1)
        ]
        assert per_day == [3, 3]


def test_beside_the_quick_search_the_ejection_search_can_be_the_one_that_places_everything(monkeypatch):
    """CP-SAT's second quick search and the ejection search in a forked process run at once; the first
    to place everything stops the other."""
    school = import_fet(TINY)
    real_run, stopped_by = _Solver.run, []

    def quick_finds_nothing(self, tm, phase, budget, mode, *args, stop=None, **kwargs):
        if mode != "quick":
            return real_run(self, tm, phase, budget, mode, *args, stop=stop, **kwargs)
        until = time.monotonic() + (20 if stop is not None else 0)
        while time.monotonic() < until and not stop():
            time.sleep(0.01)
        stopped_by.append(stop is not None and stop())
        return 0, None

    monkeypatch.setattr(_Solver, "run", quick_finds_nothing)
    monkeypatch.setattr(_Solver, "repair", lambda self, tm, phase: pytest.fail("CP-SAT's repair ran"))
    solver = _Solver(school, SolveOptions(time_limit=60, stall_seconds=2), None, None)
    tt = solver.solve_within()
    # The first quick search ran alone; the ejection search placed everything during the second.
    assert stopped_by == [False, True]
    assert tt.complete and tt.phase == "complete" and check(school, tt).hard == []
    assert solver.side.state == "done" and solver.side.left == 0


def test_the_ejection_search_beside_stops_when_the_quick_search_places_everything(monkeypatch):
    school = import_fet(TINY)
    real_run, calls = _Solver.run, []

    def second_quick_succeeds(self, tm, phase, budget, mode, *args, **kwargs):
        if mode == "quick":
            calls.append(kwargs.get("stop"))
            if len(calls) == 1:
                return 0, None
        return real_run(self, tm, phase, budget, mode, *args, **kwargs)

    monkeypatch.setattr(_Solver, "run", second_quick_succeeds)
    solver = _Solver(school, SolveOptions(time_limit=60, stall_seconds=2), None, None)
    tt = solver.solve_within()
    assert tt.complete and check(school, tt).hard == []
    assert calls[0] is None and calls[1] is not None
    # Stopped as soon as CP-SAT's timetable was in hand (or done already, on a fast machine).
    assert solver.side.state in ("stopped", "done") and solver.side._process is None
    # Under a short time limit the quick search keeps both cores: nothing runs beside it.
    calls.clear()
    solver = _Solver(school, SolveOptions(time_limit=15, stall_seconds=2), None, None)
    assert solver.solve_within().complete
    assert calls == [None, None] and solver.side is None


def test_an_ejection_search_in_the_background_says_when_it_cannot_read_the_model():
    lessons = [Lesson("a", "Math", ["T"], ["A"], [1, 1], min_days_apart=0)]
    rules = [Rule("gaps", "max_gaps_per_day", "teacher", "T", HARD, {"max": 0})]
    school = make_school(lessons, periods=4, rules=rules)
    side = Background(lambda: EjectionSearch(hard_model(school)), time.monotonic() + 10, 5)
    side.wait(lambda: False)
    assert side.state == "unsupported" and side.why
    assert not side.placed_all()


def test_an_ejection_search_in_the_background_reports_and_can_be_stopped():
    lessons = [Lesson(x, "Math", ["T"], [x.upper()], [1]) for x in "abc"]
    school = make_school(lessons, periods=2)
    # Three lessons of one teacher in two periods: one is always left, so it searches until stopped.
    side = Background(lambda: EjectionSearch(hard_model(school)), time.monotonic() + 60, 60)
    side.wait(lambda: False)
    assert side.state == "searching"
    lines = []
    until = time.monotonic() + 1.5
    side.result(lambda: time.monotonic() > until, lambda line, left: lines.append(left))
    assert side.state == "stopped" and side._process is None
    assert lines and min(lines) == 1


def test_without_fork_no_ejection_search_runs_in_the_background(monkeypatch):
    def no_fork(method):
        raise ValueError(f"cannot find context for {method!r}")

    monkeypatch.setattr(eject.multiprocessing, "get_context", no_fork)
    side = Background(lambda: pytest.fail("built without a process"), time.monotonic() + 10, 5)
    assert side.state == "unsupported" and not side.placed_all()


def test_a_forked_search_ends_once_the_process_that_started_it_is_gone(monkeypatch):
    orphaned = eject._Orphaned()
    assert not orphaned.is_set()
    # Its parent killed without a word: the child is handed to another parent.
    monkeypatch.setattr(eject.os, "getppid", lambda: orphaned.parent + 1)
    assert orphaned.is_set()
    lessons = [Lesson(x, "Math", ["T"], [x.upper()], [1]) for x in "abc"]
    search = EjectionSearch(hard_model(make_school(lessons, periods=2)))
    began = time.monotonic()
    _, left = search.run(None, time.monotonic() + 30, orphaned)
    assert left == 1 and time.monotonic() - began < 5
