"""Relax and repair: a fast first complete timetable for FET schools, handed to the engine as a hint.

Measured on FET's examples, CP-SAT struggles to find any timetable when rules that need auxiliary
variables (gaps, periods per day, early start, ...) are hard: Brazil found nothing in 60 s. Without
them it places everything in seconds, and from that placement CP-SAT's neighbourhood search removes
their violations quickly. So:

1. solve with only the hard rules that shape the options directly (unavailable times, preferred times,
   min days, same start, ...): a complete placement;
2. make the other hard rules soft, start from that placement, and minimise their violations; at zero
   every hard rule holds and the timetable is complete and valid.

The engine's ``solve`` then starts from this timetable (``SolveOptions.hint``) to optimise soft rules.
"""

from __future__ import annotations

import dataclasses
import threading
import time

from ortools.sat.python import cp_model

from ..domain import HARD, Placement, School, Timetable
from ..model import BuildOptions, TimetableModel

STRUCTURAL = frozenset({"max_gaps_per_day", "max_gaps_per_week"})
"""Hard rule types left out of step 1 and repaired in step 2. Step 1 keeps a cheap necessary condition
of each: every extra run of busy periods in a day needs at least one gap (``add_run_limits``)."""


def add_run_limits(tm: TimetableModel, rule) -> None:
    """Necessary conditions of ``max`` gaps per day (or week), without the auxiliary variables of exact
    gap counting: at most ``max`` extra runs of busy periods, and no free stretch longer than ``max``.
    Exact for ``max`` 0 and, per day, for ``max`` 1."""
    bound = int(rule.params["max"])
    model = tm.model
    for res in tm.targets(rule):
        occupied = tm.occupancy.get(res, {})
        if not occupied:
            continue
        off = tm.breaks | tm.forbidden.get(res, set())
        extras = []
        for d in range(tm.n_days):
            periods = [p for p in range(tm.n_periods) if (d, p) not in off]
            cells = [sum(occupied.get((d, p), [])) for p in periods]
            if sum(1 for p in periods if occupied.get((d, p))) < 2:
                continue
            # A free stretch of bound + 1 periods between two busy ones is already too many gaps.
            width = bound + 1
            for i in range(len(cells) - width - 1):
                middle = cells[i + 1 : i + 1 + width]
                model.add(cells[i] + cells[i + width + 1] - sum(middle) <= 1)
            starts = []
            for i, busy in enumerate(cells):
                start = model.new_bool_var("")
                model.add(start >= busy - (cells[i - 1] if i else 0))
                starts.append(start)
            extra = model.new_int_var(0, len(periods), "")
            model.add(extra >= sum(starts) - 1)
            if rule.type == "max_gaps_per_day":
                model.add(extra <= bound)
            extras.append(extra)
        if rule.type == "max_gaps_per_week" and extras:
            model.add(sum(extras) <= bound)


def _subgroups(school: School, rule) -> set[str]:
    if rule.scope == "all_groups":
        return set(school.all_subgroups())
    if rule.scope == "group":
        ids = [rule.target] if isinstance(rule.target, str) else list(rule.target or [])
        return set().union(*(school.subgroups_of.get(g, frozenset()) for g in ids))
    return set()


def compact_early_rules(school: School, hard: list) -> list:
    """Hard early-start rules whose subgroups all have no gaps at all (a hard max of 0 gaps).

    For them a day is one run of periods from the first available one (or the second, a few days a
    week), which ``add_compact_days`` states with plain inequalities instead of auxiliary variables.
    """
    no_gaps: set[str] = set()
    for rule in hard:
        if rule.type in STRUCTURAL and int(rule.params["max"]) == 0:
            no_gaps |= _subgroups(school, rule)
    return [r for r in hard if r.type == "early_start" and _subgroups(school, r) <= no_gaps]


def add_compact_days(tm: TimetableModel, rule) -> None:
    """No gaps and an early start: busy periods never increase from the second available period on, and
    the first available period is free on at most ``max_second_hour`` days."""
    bound = int(rule.params["max_second_hour"])
    model = tm.model
    for res in tm.targets(rule):
        occupied = tm.occupancy.get(res, {})
        if not occupied:
            continue
        off = tm.breaks | tm.forbidden.get(res, set())
        late_days = []
        for d in range(tm.n_days):
            cells = [sum(occupied.get((d, p), [])) for p in range(tm.n_periods) if (d, p) not in off]
            for i in range(1, len(cells) - 1):
                model.add(cells[i] >= cells[i + 1])
            if len(cells) > 1:
                late = model.new_bool_var("")
                model.add(cells[0] + late >= cells[1])
                late_days.append(late)
        if late_days:
            model.add(sum(late_days) <= bound)


@dataclasses.dataclass
class WarmStart:
    timetable: Timetable | None
    """A complete timetable keeping every hard rule, or None when none was found in time."""
    seconds: float
    steps: list[str]


class _StopAtZero(cp_model.CpSolverSolutionCallback):
    def __init__(self) -> None:
        super().__init__()
        self.best: float | None = None

    def on_solution_callback(self) -> None:
        self.best = self.objective_value
        if self.objective_value <= 0:
            self.stop_search()


def _run(
    model: cp_model.CpModel, seconds: float, workers: int, cancel: threading.Event | None, callback=None
):
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(seconds, 0.1)
    solver.parameters.num_workers = workers
    done = threading.Event()

    def watch() -> None:
        # stop_search() before the solve has started is ignored, so keep asking until it returns.
        while not done.wait(0.05):
            if cancel is not None and cancel.is_set():
                solver.stop_search()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        status = solver.solve(model, callback) if callback else solver.solve(model)
    finally:
        done.set()
        thread.join()
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return solver
    return None


def _placements(tm: TimetableModel, solver: cp_model.CpSolver) -> list[Placement]:
    return [
        Placement(b.lesson.id, b.index, o.slot, b.length, o.room)
        for b in tm.blocks
        for o in b.options
        if solver.boolean_value(o.var)
    ]


def relax_and_repair(
    school: School, time_limit: float, workers: int = 8, cancel: threading.Event | None = None
) -> WarmStart:
    """A complete timetable keeping every hard rule, found in two steps (see the module docstring)."""
    start = time.monotonic()
    hard = [r for r in school.rules if r.enabled and r.weight >= HARD]
    compact = compact_early_rules(school, hard)
    light_rules = [r for r in hard if r.type not in STRUCTURAL and r not in compact]
    light = dataclasses.replace(school, rules=light_rules)
    first = TimetableModel(light, BuildOptions(require_all=True))
    for rule in hard:
        if rule.type in STRUCTURAL:
            add_run_limits(first, rule)
    for rule in compact:
        add_compact_days(first, rule)
    solver = _run(first.model, time_limit * 0.5, workers, cancel)
    steps = [f"without {len(hard) - len(light.rules)} structural rule(s): {time.monotonic() - start:.1f} s"]
    if solver is None:
        return WarmStart(
            None, time.monotonic() - start, [*steps[:-1], "no placement without structural rules"]
        )
    placements = _placements(first, solver)
    total = school.total_periods()
    if len(light_rules) == len(hard):
        done = Timetable(placements=placements, placed=total, total=total, status="warm start")
        return WarmStart(done, time.monotonic() - start, steps)

    relaxed = [dataclasses.replace(r, weight=HARD - 1) if r.type in STRUCTURAL else r for r in hard]
    second = TimetableModel(dataclasses.replace(school, rules=relaxed), BuildOptions(require_all=True))
    second.minimize_soft()
    second.hint({(p.lesson, p.block): (p.slot, p.room) for p in placements})
    callback = _StopAtZero()
    remaining = time_limit - (time.monotonic() - start)
    solver = _run(second.model, remaining, workers, cancel, callback)
    seconds = time.monotonic() - start
    steps.append(f"structural violations left: {callback.best}, at {seconds:.1f} s")
    if solver is None or callback.best is None or callback.best > 0:
        return WarmStart(None, seconds, steps)
    done = Timetable(placements=_placements(second, solver), placed=total, total=total, status="warm start")
    return WarmStart(done, seconds, steps)


def solve_fet(
    school: School, time_limit: float, workers: int = 8, progress=None, stall_seconds: float = 20.0
) -> Timetable:
    """Solve an imported FET school: relax and repair for the first complete timetable, then the engine's
    soft optimisation from it. ``first_complete_time`` counts from the call (model builds included)."""
    from ..solve import SolveOptions, solve

    start = time.monotonic()
    warm = relax_and_repair(school, time_limit * 0.6, workers)
    remaining = max(time_limit - (time.monotonic() - start), 1.0)
    options = SolveOptions(
        time_limit=remaining,
        strict_balancing=False,
        workers=workers,
        stall_seconds=stall_seconds,
        hint=warm.timetable,
    )
    result = solve(school, options, progress=progress)
    if warm.timetable is not None:
        result.first_complete_time = warm.seconds
    elif result.first_complete_time is not None:
        result.first_complete_time += warm.seconds
    result.meta["warm_start"] = warm.steps
    return result
