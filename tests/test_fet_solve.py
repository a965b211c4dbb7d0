"""The FET solve path: relax and repair finds a complete timetable that keeps every hard rule."""

from __future__ import annotations

import dataclasses
import importlib
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from ortools.sat.python import cp_model

from solver import relax
from solver.checker import check
from solver.domain import Placement, Rule, Timetable
from solver.fet import import_fet
from solver.model import BuildOptions, TimetableModel
from solver.relax import (
    GapRepair,
    PlacementRepair,
    SoftRepair,
    compact_early_rules,
    day_gaps,
    excess_elsewhere,
    gap_excess,
    relax_and_repair,
)
from solver.solve import Progress, SolveOptions, _Solver, rule_costs, solve

TINY = Path(__file__).parent / "data" / "fet" / "tiny.fet"
RULES = """<ConstraintStudentsMaxGapsPerWeek><Weight_Percentage>100</Weight_Percentage><Max_Gaps>0</Max_Gaps>
<Active>true</Active></ConstraintStudentsMaxGapsPerWeek>
<ConstraintStudentsEarlyMaxBeginningsAtSecondHour><Weight_Percentage>100</Weight_Percentage>
<Max_Beginnings_At_Second_Hour>1</Max_Beginnings_At_Second_Hour><Active>true</Active>
</ConstraintStudentsEarlyMaxBeginningsAtSecondHour>
<ConstraintTeachersMaxGapsPerDay><Weight_Percentage>100</Weight_Percentage><Max_Gaps>0</Max_Gaps>
<Active>true</Active></ConstraintTeachersMaxGapsPerDay>
<ConstraintTeacherMaxDaysPerWeek><Weight_Percentage>100</Weight_Percentage><Teacher_Name>T2</Teacher_Name>
<Max_Days_Per_Week>2</Max_Days_Per_Week><Active>true</Active></ConstraintTeacherMaxDaysPerWeek>
<ConstraintMinDaysBetweenActivities><Weight_Percentage>95</Weight_Percentage>
<Consecutive_If_Same_Day>true</Consecutive_If_Same_Day><Number_of_Activities>2</Number_of_Activities>
<Activity_Id>6</Activity_Id><Activity_Id>7</Activity_Id><MinDays>1</MinDays><Active>true</Active>
</ConstraintMinDaysBetweenActivities>
</Time_Constraints_List>"""


def school(tmp_path):
    path = tmp_path / "school.fet"
    path.write_text(
        TINY.read_text(encoding="utf-8").replace("</Time_Constraints_List>", RULES), encoding="utf-8"
    )
    return import_fet(path)


def test_relax_and_repair_keeps_every_hard_rule(tmp_path):
    s = school(tmp_path)
    hard = [r for r in s.rules if r.weight >= 100]
    assert [r.type for r in compact_early_rules(s, hard)] == ["early_start"]
    warm = relax_and_repair(s, 20)
    assert warm.timetable is not None, warm.steps
    assert warm.timetable.complete
    assert check(s, warm.timetable).ok


def test_relax_and_repair_starts_again_when_step_one_places_nothing(tmp_path, monkeypatch):
    s = school(tmp_path)
    seeds = []
    place = relax.place_everything

    def first_fails(*args):
        seeds.append(args[7])
        return None if len(seeds) == 1 else place(*args)

    monkeypatch.setattr(relax, "place_everything", first_fails)
    monkeypatch.setattr(relax, "RESTART_AFTER", 1.0)
    warm = relax.relax_and_repair(s, 30)
    assert seeds[:2] == [0, 1]
    assert warm.timetable is not None and check(s, warm.timetable).ok


def test_a_stalled_gap_repair_starts_again_from_the_same_placement_before_step_one_does(
    tmp_path, monkeypatch
):
    s = school(tmp_path)
    placements, repairs = [], []
    place = relax.place_everything

    def counting(*args):
        found = place(*args)
        placements.append(found)
        return found

    class StallsOnce(GapRepair):
        def run(self, chosen, *args, **kwargs):
            repairs.append((self.random.random(), dict(chosen)))
            if len(repairs) == 1:
                return chosen, 1, 0  # as if it stalled with one excess gap left
            return super().run(chosen, *args, **kwargs)

    monkeypatch.setattr(relax, "place_everything", counting)
    monkeypatch.setattr(relax, "GapRepair", StallsOnce)
    monkeypatch.setattr(relax, "RESTART_AFTER", 1.0)
    warm = relax.relax_and_repair(s, 30)
    assert warm.timetable is not None and check(s, warm.timetable).ok
    assert len(placements) == 1 and len(repairs) == 2
    # Another seed, the same start.
    assert repairs[0][0] != repairs[1][0] and repairs[0][1] == repairs[1][1]
    assert any("excess gaps left: 1" in line for line in warm.steps)


def test_the_gap_repair_searches_the_model_of_the_first_placement(tmp_path, monkeypatch):
    """Step 1's model holds the gap rules as soft rules, so step 2 builds no model of its own."""
    s = school(tmp_path)
    built, repaired_in = [], []

    class Counting(TimetableModel):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            built.append(self)

    class Recording(GapRepair):
        def __init__(self, tm, *args, **kwargs):
            super().__init__(tm, *args, **kwargs)
            repaired_in.append(tm)

    monkeypatch.setattr(relax, "TimetableModel", Counting)
    monkeypatch.setattr(relax, "GapRepair", Recording)
    warm = relax.relax_and_repair(s, 20)
    assert warm.timetable is not None and check(s, warm.timetable).ok
    assert len(built) == 1 and repaired_in == built


def test_step_one_searches_first_on_two_workers_with_a_light_presolve_and_no_weight_decay(
    tmp_path, monkeypatch
):
    s = school(tmp_path)
    runs = []
    run = relax._run

    def recording(model, seconds, workers, cancel, core=False, seed=0, quick=False, **kw):
        solver = run(model, seconds, workers, cancel, core, seed, quick, **kw)
        if solver is not None:
            p = solver.parameters
            runs.append((quick, p.num_workers, p.max_presolve_iterations, p.feasibility_jump_decay))
        return solver

    monkeypatch.setattr(relax, "_run", recording)
    warm = relax.relax_and_repair(s, 20)
    assert warm.timetable is not None and check(s, warm.timetable).ok
    # Without decay of the feasibility jump's weights (CP-SAT's default is 0.95).
    assert runs[0] == (True, relax.QUICK_WORKERS, 1, relax.QUICK_JUMP_DECAY) and relax.QUICK_JUMP_DECAY == 1.0


def test_solve_starts_from_relax_and_repair_when_gap_rules_are_hard(tmp_path):
    s = school(tmp_path)
    reports: list[Progress] = []
    result = solve(s, SolveOptions(time_limit=20, stall_seconds=1), progress=reports.append)
    assert result.complete and result.first_complete_time is not None
    assert result.meta["warm_start"][0].startswith("without 2 gap rule(s), with compact days: placed")
    assert reports[0].message == "placing every lesson without the gap rules"
    report = check(s, result)
    assert report.ok, [str(v) for v in report.hard]
    assert report.score == 0


def _gap_school():
    s = import_fet(TINY)
    rules = [
        Rule("day", "max_gaps_per_day", "teacher", "T1", params={"max": 0}),
        Rule("week", "max_gaps_per_week", "teacher", "T1", params={"max": 1}),
    ]
    return dataclasses.replace(s, rules=rules)


def _place(tm):
    """A clash-free placement in which T1 has two gaps on the first day (lessons 1 and 2)."""
    where = {"1": (0, 0), "2": (0, 3), "3": (1, 0), "4": (2, 0), "5": (2, 0), "6": (2, 1), "7": (2, 2)}
    where["8"] = (1, 3)
    return {b.key: next(o for o in b.options if o.slot == where[b.lesson.id]) for b in tm.blocks}


def test_relax_and_repair_hands_on_its_nearest_partial_placement_when_none_is_complete(monkeypatch):
    """When no attempt places every block, the partial placement with the fewest periods left is what the
    engine starts its fallback from, not nothing."""
    s = _gap_school()
    # T1 may teach only in Monday's first period: one of its four lessons fits, the rest cannot.
    days, periods = len(s.calendar.days), len(s.calendar.periods)
    shut = [(d, p) for d in range(days) for p in range(periods) if (d, p) != (0, 0)]
    s = dataclasses.replace(
        s, rules=[*s.rules, Rule("shut", "unavailable", "teacher", "T1", params={"slots": shut})]
    )
    monkeypatch.setattr(relax, "RESTART_AFTER", 100.0)
    warm = relax.relax_and_repair(s, 10)
    assert warm.timetable is None
    assert warm.closest, warm.steps
    lessons = {lesson for lesson, _ in warm.closest}
    assert lessons >= {"4", "5", "6", "7", "8"}
    assert len(lessons & {"1", "2", "3", "9"}) <= 1
    assert all(start == (0, 0) for (lesson, _), (start, _) in warm.closest.items() if lesson in "1239")


def test_gap_excess_counts_gaps_as_fet_does():
    s = _gap_school()
    tm = TimetableModel(s, BuildOptions(require_all=True))
    chosen = _place(tm)
    excess, gaps = gap_excess(tm, s.rules, chosen)
    teacher = ("teacher", "T1")
    assert excess[(teacher, 0)] == 2 + 1  # two over the daily 0, one over the weekly 1
    assert gaps == 2 + 2  # counted once per rule
    # What a search of one day cannot change: the excess of the other days, once per weekly limit.
    by_day = day_gaps(tm, s.rules, chosen)
    assert by_day == {(teacher, 0): 2}
    assert excess_elsewhere(tm, s.rules, by_day, 0) == 0
    assert excess_elsewhere(tm, s.rules, by_day, 1) == 2 + 1
    relaxed = [dataclasses.replace(r, weight=99) for r in s.rules]
    tm = TimetableModel(dataclasses.replace(s, rules=relaxed), BuildOptions(require_all=True))
    repair = GapRepair(tm, s.rules, workers=8)
    assert repair.day_done_below(_place(tm), 0) == repair.done_below
    assert repair.day_done_below(_place(tm), 1) == (99 * 3 + 1) * repair.done_below


def test_gap_repair_removes_every_excess_gap():
    s = _gap_school()
    relaxed = [dataclasses.replace(r, weight=99) for r in s.rules]
    tm = TimetableModel(dataclasses.replace(s, rules=relaxed), BuildOptions(require_all=True))
    chosen = _place(tm)
    repaired, left, _ = GapRepair(tm, s.rules, workers=8).run(chosen, time.monotonic() + 20, None)
    assert left == 0
    assert gap_excess(tm, s.rules, repaired)[0] == {}


def test_gap_repair_picks_a_day_in_proportion_to_its_excess_gaps():
    s = _gap_school()
    relaxed = [dataclasses.replace(r, weight=99) for r in s.rules]
    tm = TimetableModel(dataclasses.replace(s, rules=relaxed), BuildOptions(require_all=True))
    (excess, _), spots = GapRepair(tm, s.rules, workers=8).score(_place(tm))
    assert excess == 3
    assert spots == [((("teacher", "T1"),), 0, ())] * 3


def test_the_gap_repair_first_re_places_each_day_with_excess_gaps_within_that_day():
    """The day pass: one search per day with excess gaps, the most first, freeing every block of that
    day on that day only. T1's two gaps on the first day are gone without any block changing its day."""
    s = _gap_school()
    relaxed = [dataclasses.replace(r, weight=99) for r in s.rules]
    tm = TimetableModel(dataclasses.replace(s, rules=relaxed), BuildOptions(require_all=True))
    repair = GapRepair(tm, s.rules, workers=8)
    searches = []
    step = repair.step

    def recording(chosen, free, seed, seconds, force=(), day=None, stop_below=None):
        searches.append((set(free), day, stop_below))
        return step(chosen, free, seed, seconds, force, day, stop_below)

    repair.step = recording
    chosen = _place(tm)
    repaired, left, steps = repair.run(chosen, time.monotonic() + 20, None)
    assert left == 0 and steps == 1
    # No other day has excess gaps, so the search is done once this day has none.
    assert searches == [({key for key, o in chosen.items() if o.slot[0] == 0}, 0, repair.done_below)]
    assert all(repaired[key].slot[0] == o.slot[0] for key, o in chosen.items())


def test_placement_repair_places_every_block_from_none():
    s = import_fet(TINY)
    tm = TimetableModel(s, BuildOptions(require_all=False))
    repair = PlacementRepair(tm, workers=8)
    assert repair.score({})[0][0] == s.total_periods()
    chosen, left, steps = repair.run({}, time.monotonic() + 20)
    assert left == 0 and len(chosen) == len(tm.blocks) and steps >= 1
    timetable = Timetable(
        placements=[
            Placement(k[0], k[1], o.slot, tm.block_by_key[k].length, o.room) for k, o in chosen.items()
        ],
        placed=s.total_periods(),
        total=s.total_periods(),
    )
    assert check(s, timetable).ok


def _full_solution(tm, chosen):
    """Every variable of ``tm`` for the placement ``chosen`` (block -> option)."""
    tm.hint({key: (o.slot, o.room, o.pool) for key, o in chosen.items()})
    solver = cp_model.CpSolver()
    solver.parameters.fix_variables_to_their_hinted_value = True
    assert solver.solve(tm.model) == cp_model.OPTIMAL
    return list(solver.response_proto.solution)


def test_soft_repair_finds_its_hot_spots_in_the_model_and_lowers_the_score():
    s = _gap_school()
    soft = [dataclasses.replace(r, weight=5) for r in s.rules]
    tm = TimetableModel(dataclasses.replace(s, rules=soft), BuildOptions(require_all=True))
    tm.minimize_soft()
    chosen = _place(tm)
    repair = SoftRepair(tm, _full_solution(tm, chosen), workers=8)
    (score,), spots = repair.score(chosen)
    assert score == 5 * 2 + 5 * 1  # two gaps over the daily 0, one over the weekly 1
    assert spots and all(day == 0 for _, day, _ in spots)
    better, left, _ = repair.run(chosen, time.monotonic() + 20, None)
    assert left == 0
    assert gap_excess(tm, s.rules, better)[0] == {}


def test_repair_gives_up_after_a_while_without_gain():
    s = _gap_school()
    relaxed = [dataclasses.replace(r, weight=99) for r in s.rules]
    tm = TimetableModel(dataclasses.replace(s, rules=relaxed), BuildOptions(require_all=True))
    repair = GapRepair(tm, s.rules, workers=8)
    repair.score = lambda chosen: ((1,), [((("teacher", "T1"),), 0, ())])  # never better
    started = time.monotonic()
    _, left, _ = repair.run(_place(tm), started + 30, None, give_up=0.5)
    assert left == 1 and time.monotonic() - started < 10


def test_fewer_gaps_in_all_do_not_hold_off_the_wide_searches_while_the_excess_stays():
    """Once ``WIDE_AFTER`` searches leave the excess gaps as they were, every second search is wide, even
    when each of them lowers the tie-break (the gaps in all)."""
    s = _gap_school()
    relaxed = [dataclasses.replace(r, weight=99) for r in s.rules]
    tm = TimetableModel(dataclasses.replace(s, rules=relaxed), BuildOptions(require_all=True))
    repair = GapRepair(tm, s.rules, workers=8)
    tie_break = iter(range(1000, 0, -1))
    repair.score = lambda chosen: ((1, next(tie_break)), [((("teacher", "T1"),), 0, ())])
    cancel = threading.Event()
    searches = []

    def recording(chosen, free, seed, seconds, force=(), day=None, stop_below=None):
        searches.append("day" if day is not None else "wide" if seconds == relax.WIDE_SECONDS else "plain")
        if len(searches) == relax.WIDE_AFTER + 4:
            cancel.set()
        return dict(chosen), True

    repair.step = recording
    repair.run(_place(tm), time.monotonic() + 30, cancel)
    # WIDE_AFTER searches without fewer excess gaps (the day pass among them), then wide and day ones.
    assert searches[: relax.WIDE_AFTER] == ["day"] + ["plain"] * (relax.WIDE_AFTER - 1)
    assert searches[relax.WIDE_AFTER :] == ["wide", "plain", "wide", "day"]


def test_a_search_moves_only_its_neighbourhood_and_the_fixed_model_follows_the_blocks_that_moved():
    """Each search copies a model that holds every block where the placement has it, and frees its
    neighbourhood in the copy; after a move, only the blocks that moved are rewritten in that model."""
    s = _gap_school()
    relaxed = [dataclasses.replace(r, weight=99) for r in s.rules]
    tm = TimetableModel(dataclasses.replace(s, rules=relaxed), BuildOptions(require_all=True))
    repair = GapRepair(tm, s.rules, workers=8)
    chosen = _place(tm)
    free = {key for key in chosen if key[0] in {"1", "2"}}
    new, complete = repair.step(chosen, free, seed=0, seconds=10)
    assert new is not None and complete
    assert all(new[key] is chosen[key] for key in chosen if key not in free)
    # T1's two gaps on the first day are gone: lessons 1 and 2 moved next to each other.
    assert {new[key].slot for key in free} != {chosen[key].slot for key in free}

    def fixed_at(placement):
        variables = repair.fixed.proto.variables
        return all(
            list(variables[o.var.index].domain) == [int(o is placement[b.key])] * 2
            for b in tm.blocks
            for o in b.options
        )

    assert fixed_at(chosen)
    rewritten = []
    real_options = {key: tm.block_by_key[key].options for key in chosen}
    for key in chosen:
        tm.block_by_key[key].options = _Recording(real_options[key], key, rewritten)
    repair.fixed_at(new)
    for key, options in real_options.items():
        tm.block_by_key[key].options = options
    assert fixed_at(new)
    assert set(rewritten) == {key for key in free if new[key] is not chosen[key]}


class _Recording(list):
    """A block's options that record when they are walked through."""

    def __init__(self, options, key, walked):
        super().__init__(options)
        self.key, self.walked = key, walked

    def __iter__(self):
        self.walked.append(self.key)
        return super().__iter__()


def test_a_wide_neighbourhood_takes_two_rounds_of_sharing_people_on_two_days():
    s = _gap_school()
    tm = TimetableModel(s, BuildOptions(require_all=True))
    repair = GapRepair(tm, s.rules, workers=8)
    repair.random = SimpleNamespace(sample=lambda days, k: [2][:k])  # the other day is day 2
    chosen = _place(tm)
    spot = ((("teacher", "T1"),), 0, ())
    repair.size = 2.0
    lessons = {key[0] for key in repair.neighbourhood(chosen, spot)}
    # T1 and the subgroups of Y1, on days 0 and 2.
    assert lessons == {"1", "2", "4", "5"}
    repair.size = 1.0
    lessons = {key[0] for key in repair.neighbourhood(chosen, spot, wide=True)}
    # Also T2, T3 and Y2, who share lessons 4, 5 and 8 with Y1; lesson 6 and 7 are theirs, on day 2.
    assert lessons == {"1", "2", "4", "5", "6", "7"}


def test_a_stalled_gap_repair_takes_every_second_step_wide_with_a_longer_limit(monkeypatch):
    s = _gap_school()
    relaxed = [dataclasses.replace(r, weight=99) for r in s.rules]
    tm = TimetableModel(dataclasses.replace(s, rules=relaxed), BuildOptions(require_all=True))
    repair = GapRepair(tm, s.rules, workers=8)
    repair.score = lambda chosen: ((1,), [((("teacher", "T1"),), 0, ())])  # never better
    monkeypatch.setattr(relax, "WIDE_AFTER", 2)
    monkeypatch.setattr(relax, "WIDE_SECONDS", 0.7)
    monkeypatch.setattr(GapRepair, "step_seconds", 0.3)
    monkeypatch.setattr(GapRepair, "day_pass", False)
    steps = []
    neighbourhood, step = repair.neighbourhood, repair.step

    def recording_neighbourhood(chosen, spot, wide=False):
        steps.append([wide])
        return neighbourhood(chosen, spot, wide)

    def recording_step(chosen, free, seed, seconds, force=(), day=None, stop_below=None):
        steps[-1].append(seconds)
        return step(chosen, free, seed, seconds, force, day, stop_below)

    repair.neighbourhood, repair.step = recording_neighbourhood, recording_step
    started = time.monotonic()
    repair.run(_place(tm), started + 30, None, give_up=3)
    assert len(steps) >= 6
    assert [wide for wide, _ in steps[:6]] == [False, False, True, False, True, False]
    assert all(seconds <= (0.7 if wide else 0.3) for wide, seconds in steps)
    assert any(seconds > 0.3 for wide, seconds in steps if wide)


def test_a_stalled_gap_repair_re_places_a_hot_spot_s_whole_day_every_fourth_step(monkeypatch):
    s = _gap_school()
    relaxed = [dataclasses.replace(r, weight=99) for r in s.rules]
    tm = TimetableModel(dataclasses.replace(s, rules=relaxed), BuildOptions(require_all=True))
    repair = GapRepair(tm, s.rules, workers=8)
    hot_day = 1
    repair.score = lambda chosen: ((1,), [((("teacher", "T1"),), hot_day, ())])  # never better
    monkeypatch.setattr(relax, "WIDE_AFTER", 2)
    monkeypatch.setattr(GapRepair, "step_seconds", 0.2)
    monkeypatch.setattr(relax, "WIDE_SECONDS", 0.2)
    days, step = [], repair.step

    def recording_step(chosen, free, seed, seconds, force=(), day=None, stop_below=None):
        days.append(day)
        if day is not None:
            # The whole day is free, and only within the day.
            assert free == {key for key, opt in chosen.items() if opt.slot[0] == day}
        return step(chosen, free, seed, seconds, force, day, stop_below)

    repair.step = recording_step
    repair.run(_place(tm), time.monotonic() + 30, None, give_up=3)
    # The day pass first (one day with a hot spot), then one step per count of steps without gain
    # (1, 2, ...): from ``WIDE_AFTER`` on, every fourth (3, 7, ...) is the hot spot's day.
    assert days[0] == hot_day and len(days) >= 9
    assert [d is not None for d in days[1:9]] == [False, False, True, False, False, False, True, False]
    assert {d for d in days if d is not None} == {hot_day}


def test_fallback_keeps_what_it_can_of_the_closest_placement_and_places_the_rest():
    """When relax and repair ends with excess gaps, the fallback keeps each block of its closest placement
    or leaves it out, whichever the gap rules allow, then places the rest."""
    s = _gap_school()
    tm = TimetableModel(s, BuildOptions(require_all=True))
    closest = {key: (o.slot, o.room) for key, o in _place(tm).items()}
    engine = _Solver(s, SolveOptions(time_limit=20, stall_seconds=1), None, None)
    engine.closest = closest
    optional = TimetableModel(s, BuildOptions(require_all=False, soft_minimums=True))
    _, values = engine.keep_closest(optional, 10, [(b.length, b.placed) for b in optional.blocks])
    assert values is not None
    timetable = engine.fallback()
    assert timetable.complete
    assert check(s, timetable).ok


# ``solver.solve`` is also the name of the solve function, which ``solver`` exports.
solve_module = importlib.import_module("solver.solve")


def _soft_gap_school():
    s = _gap_school()
    return dataclasses.replace(s, rules=[dataclasses.replace(r, weight=5) for r in s.rules])


def _soft_phase(**options):
    """The engine, full model and a complete placement of ``_soft_gap_school``, for its soft phase."""
    s = _soft_gap_school()
    engine = _Solver(s, SolveOptions(time_limit=60, **options), None, None)
    tm = TimetableModel(s, BuildOptions(require_all=True))
    found = {key: (o.slot, o.room, o.pool) for key, o in _place(tm).items()}
    return s, engine, tm, found


def test_soft_optimisation_goes_another_round_while_a_round_lowers_the_score():
    """After a brief search of CP-SAT's, our neighbourhood searches, then CP-SAT's search from their
    result; another round starts from that for as long as a round lowers the soft score and time is
    left."""
    _, engine, tm, found = _soft_phase()
    penalty = tm.objective_terms()[0][0].index
    calls, rounds = [], []

    def ours(tm, values, phase):
        calls.append("ours")
        rounds.append(values[penalty])
        return values

    def cp_sat(tm, phase, budget, mode):
        calls.append(("cp-sat", budget))
        values = list(tm.model.proto.solution_hint.values)
        # The first round lowers the score by one point, the second finds nothing better.
        if len(rounds) == 1:
            values[penalty] = max(rounds[-1] - 1, 0)
        return cp_model.FEASIBLE, values

    engine.soft_repair, engine.run = ours, cp_sat
    engine.optimise(tm, found, "complete")
    assert calls[0] == ("cp-sat", solve_module.FIRST_SOFT_SEARCH)
    assert [c if c == "ours" else "cp-sat" for c in calls[1:]] == ["ours", "cp-sat", "ours", "cp-sat"]
    assert len(rounds) == 2 and rounds[1] == rounds[0] - 1


def test_on_a_larger_school_our_neighbourhood_searches_come_first(monkeypatch):
    monkeypatch.setattr(solve_module, "SMALL_SOFT_MODEL", 0)
    _, engine, tm, found = _soft_phase()
    calls = []

    def ours(tm, values, phase):
        calls.append("ours")
        return values

    def cp_sat(tm, phase, budget, mode):
        calls.append("cp-sat")
        return cp_model.OPTIMAL, list(tm.model.proto.solution_hint.values)

    engine.soft_repair, engine.run = ours, cp_sat
    engine.optimise(tm, found, "complete")
    assert calls == ["ours", "cp-sat"]


def test_a_small_school_whose_optimum_cp_sat_proves_at_once_skips_our_neighbourhood_searches():
    s, engine, tm, found = _soft_phase()
    engine.soft_repair = lambda *a: pytest.fail("our searches ran after a proven optimum")
    result = engine.optimise(tm, found, "complete")
    assert result.status == "optimal" and check(s, result).score == 0


def test_in_deterministic_mode_the_soft_phase_is_cp_sat_search_alone():
    _, engine, tm, found = _soft_phase(deterministic=True)
    budgets = []

    def cp_sat(tm, phase, budget, mode):
        budgets.append(budget)
        return cp_model.FEASIBLE, list(tm.model.proto.solution_hint.values)

    engine.soft_repair = lambda *a: pytest.fail("our searches ran in deterministic mode")
    engine.run = cp_sat
    engine.optimise(tm, found, "complete")
    assert len(budgets) == 1 and budgets[0] > solve_module.FIRST_SOFT_SEARCH


def test_broken_soft_rules_are_tried_as_hard_rules_and_kept_when_that_lowers_the_score():
    s = _soft_gap_school()
    engine = _Solver(s, SolveOptions(time_limit=60), None, None)
    engine.first_complete = 0.1
    tm = TimetableModel(s, BuildOptions(require_all=True))
    tm.minimize_soft()
    values = _full_solution(tm, _place(tm))
    assert tm.soft_score(values) == 15
    better = engine.keep_broken_rules(tm, values, time.monotonic() + 30, "optimise")
    assert better is not None and tm.soft_score(better) == 0
    assert engine.promoted == {"day", "week"} and engine.may_promote


def test_soft_rules_that_cannot_be_hard_stay_soft_and_are_not_tried_again():
    """Our neighbourhood searches stall on a soft rule no timetable keeps; the try with it as a hard rule
    finds nothing, so the search goes on to its deadline with the rule soft."""
    s = import_fet(TINY)
    never = Rule("never", "max_periods_per_day", "teacher", "T1", weight=5, params={"max": 0})
    s = dataclasses.replace(s, rules=[never])
    messages = []
    engine = _Solver(s, SolveOptions(time_limit=20, stall_seconds=0.3), messages.append, None)
    tm = TimetableModel(s, BuildOptions(require_all=True))
    tm.minimize_soft()
    values = _full_solution(tm, _place(tm))
    before = tm.soft_score(values)
    started = time.monotonic()
    after = engine.soft_repair(tm, values, "complete")
    assert tm.soft_score(after) == before
    assert not engine.may_promote and engine.promoted == set()
    said = [p.message for p in messages]
    assert "trying 1 broken soft rule(s) as hard rules" in said
    assert "kept as soft rules: no better timetable" in said
    # The search then ran on to its deadline (a share of the time left), the rule still soft.
    assert time.monotonic() - started > 5


def test_a_try_that_finds_no_better_timetable_leads_to_one_with_the_rules_its_timetable_breaks(monkeypatch):
    """A try's own soft phase may end worse than the timetable it was to improve, breaking other rules:
    those join the next try (shc-2013: two rules hard gave 393 against 194; all six, 0)."""
    s = _soft_gap_school()
    monkeypatch.setattr(solve_module, "PROMOTE_RULES", 1)
    messages = []
    engine = _Solver(s, SolveOptions(time_limit=60), messages.append, None)
    engine.first_complete = 0.1
    tm = TimetableModel(s, BuildOptions(require_all=True))
    tm.minimize_soft()
    chosen = _place(tm)
    values = _full_solution(tm, chosen)
    assert rule_costs(tm, values) == {"day": 10, "week": 5}
    hard_in_try = []
    real_solve = _Solver.solve

    def try_solve(inner):
        hard_in_try.append({r.id for r in inner.school.rules if r.weight >= 100})
        if len(hard_in_try) == 1:
            # No better: the very same timetable, which breaks "week" too.
            placements = [
                Placement(k[0], k[1], o.slot, tm.block_by_key[k].length, o.room) for k, o in chosen.items()
            ]
            return Timetable(placements=placements, placed=s.total_periods(), total=s.total_periods())
        return real_solve(inner)

    monkeypatch.setattr(_Solver, "solve", try_solve)
    better = engine.keep_broken_rules(tm, values, time.monotonic() + 30, "optimise")
    assert hard_in_try == [{"day"}, {"day", "week"}]
    assert better is not None and tm.soft_score(better) == 0
    assert engine.promoted == {"day", "week"} and engine.may_promote
    said = [p.message for p in messages]
    assert "with them hard: 15, no better; adding the rules that timetable breaks" in said
