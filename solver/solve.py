"""The solve strategy: complete placement first, a fallback that places as much as possible, then soft rules.

0. **Relax and repair**, only when the school has hard gap rules: ``solver.relax`` places every lesson
   without them and repairs their violations; its timetable is the hint of phase 1.
1. **Complete placement.** Every block is required and soft rules are left out of the model. With strict
   balancing every subject-spread rule is hard in this phase; when that cannot be placed, the model is
   rebuilt with hard spread rules relaxed to a low weight (the old "force mode"). A greedy timetable
   with compact days (``compact_start``): CP-SAT keeps its clash-free part and places the rest. A short
   search on two workers (``solver.relax.QUICK_SEARCH``) comes first; when it finds a timetable and the
   school has soft rules, the greedy start is still tried, and the soft phase starts from it if its
   repair succeeds. Failing both, CP-SAT searches freely from the greedy timetable as a hint. No
   objective yet, so CP-SAT stops at the first complete timetable.
2. **Fallback**, only when no complete timetable is proven possible or found within its budget: every
   block optional, maximise placed periods (with the ``core`` subsolver, several times faster here),
   then explain every unplaced block. Where the ejection search (``solver.eject``) reads every hard
   rule, it places the blocks instead of CP-SAT, and the fallback starts as soon as the quick search
   has failed (``ejection``). When the time left gives the last quick search its full share of the two
   cores, the ejection search already runs beside it, in a forked process (``start_side``), and the
   fallback takes up its placement.
3. **Soft rules.** The full model with soft rules, the soft score as objective and the previous
   solution as a complete hint. The search stops at the time limit, when the score is proven optimal,
   or when it has not improved for ``stall_seconds``. Our own neighbourhood searches come first
   (``SoftRepair``), except in deterministic mode. When they stall, the costliest soft rules still
   broken are tried as hard rules, in a new search from nothing (``keep_broken_rules``).

Every model is built afresh by ``solver.model.TimetableModel``; nothing is added twice on a rebuild.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace

from ortools.sat.python import cp_model

from .checker import check
from .domain import HARD, Lesson, Placement, School, Slot, Timetable, Unplaced
from .eject import Background, EjectionSearch, Unsupported
from .io import Problem
from .model import BlockVars, BuildOptions, BuildStopped, Option, TimetableModel
from .relax import (
    QUICK_SEARCH,
    PlacementRepair,
    SoftRepair,
    complete_timetable,
    has_hard_gap_rules,
    light_presolve,
    quick_search,
    relax_and_repair,
)
from .validate import validate

SLOW_FOR_SOFT = [
    "max_lp",
    "reduced_costs",
    "pseudo_costs",
    "lb_tree_search",
    "objective_lb_search",
    "probing",
    "quick_restart",
    "quick_restart_no_lp",
]
"""Subsolvers left out of the soft phase (see ``parameters``)."""

LARGE_SOFT_MODEL = 75_000
"""Variables of the full model above which the soft phase runs on fewer workers (see ``soft_workers``)."""

LARGE_SOFT_WORKERS = 4
"""Workers of the soft phase on a model larger than ``LARGE_SOFT_MODEL``, one of them full-problem."""

PLACE_SECONDS = 30.0
"""CP-SAT's searches for a complete timetable, then for the most periods placed, stop here (or at a
tenth of the time limit, when longer); neighbourhood searches then place the rest, faster."""

EJECT_SHARE = 0.6
"""Share of the time left that the ejection search (``solver.eject``) has to place every block, where it
reads the school's hard rules, before CP-SAT's neighbourhood searches place the rest."""

EJECT_STALL = 30.0
"""Seconds after which the ejection search stops when no fewer periods are left. On GYR it still finds
fewer now and then (seed 0: 23 left at 30 s, 20 at 75 s), where CP-SAT's neighbourhood searches after
it stalled for minutes (16 left at 106 s and at 250 s)."""

QUICK_TRIES = 2
"""Quick searches, each with its own seed, before the longer ones. Their time to a first timetable has a
long tail that a new seed cuts: shc-2013 with seed 0 took 2.1-2.4 s in half of ten runs and 6.6-11.4 s
in the other half; seeds 1-9 took 0.8-3.1 s in 21 of 22 runs, and 5.5 s in one. A miss costs more than
the search: the greedy repair and the 8-worker search then took 13-15 s more, and the soft phase,
starting from that search's timetable, ended 5-10 times higher after 50 s (2,443-3,230 against
194-485)."""

SIDE_SLOWER = 2.0
"""How much longer the last quick search may run when the ejection search runs beside it (``quick``):
they share the two cores. Where 30% of the time left is less than that longer search, nothing runs
beside it. Measured with it at 15 s (20 files, seeds 0-2): 31 complete against 32, CONCORDIA's quick
search missing twice on half the CPU. At 60 s, seed 0, first complete timetables against the search
alone: KalengaPSY15T1a 8.2 s against 15.7 s, Shipena 11.8 against 20.0, RehobothHSY2016T2d 2.8 against
7.5, Collegiate_Junior_School2 8.9 against 13.7, ConColY13T1a 25.2 against 29.3; CONCORDIA 7.6 against
6.6 and Van_RhynFinal 5.2 against 4.7."""

PROMOTE_RULES = 5
"""Broken soft rules tried as hard rules at once, the costliest first (see ``keep_broken_rules``)."""

PROMOTE_SHARE = 0.3
"""Share of the time left for our neighbourhood searches that one try of broken soft rules as hard ones
may take."""

PROMOTE_PACE = 3.0
"""A try of broken soft rules as hard ones needs this many times the time the first complete timetable
took: it starts from nothing. liceo-scientifico, first complete at 69 s, spent 24 s on a try for nothing;
VietNamHungYen, complete at 1.4 s, needed 15 s."""

PROGRESS_INTERVAL = 0.5
"""Seconds between progress reports (at most about twice a second)."""

SOFT_ROUND = 10.0
"""Seconds left at least for another round of our neighbourhood searches and CP-SAT's, after a round
that lowered the soft score."""

FIRST_SOFT_SEARCH = 2.0
"""Seconds of CP-SAT's own search for soft rules before ours, on a model of ``SMALL_SOFT_MODEL``
variables at most: enough to prove a small school's optimum. On the 914-period demo (46,266 variables)
it cost more than it gave: seeds 1-3, 5,220, 5,440 and 4,730 after 30 s against 4,090, 4,440 and 2,310
without."""

SMALL_SOFT_MODEL = 10_000
"""Variables of the full model up to which CP-SAT's own search comes before ours (``FIRST_SOFT_SEARCH``)."""

SOFT_REPAIR_SHARE = 0.7
"""Share of the time left for soft rules that goes to our own neighbourhood searches (``soft_repair``);
CP-SAT's own search has the rest."""


TIME_UP = "time limit reached"
"""The status of a solve whose time ran out before any search could place a block."""


@dataclass
class SolveOptions:
    time_limit: float = 300.0
    """Upper bound in seconds; the solve usually stops much earlier (optimal or stalled)."""
    strict_balancing: bool = True
    """Subject spread is hard in phase 1; relaxed to a low-weight soft rule only if that cannot place all."""
    stall_seconds: float = 20.0
    """Stop optimising soft rules when the score has not improved for this long."""
    workers: int = 8
    seed: int = 0
    deterministic: bool = False
    """One worker, a fixed seed and deterministic time limits: the same input gives the same timetable."""
    hint: Timetable | None = None
    """A previous timetable to start from (re-solves after edits)."""


@dataclass
class Progress:
    """A progress report: the phase, periods placed of the total, the CP-SAT objective and bound of the
    current search (None when it has none) and seconds since the solve began."""

    phase: str
    placed: int
    total: int
    objective: float | None
    bound: float | None
    elapsed: float
    message: str = ""


class InvalidSchool(ValueError):
    """The school was refused before solving; ``problems`` lists everything wrong with it."""

    def __init__(self, problems: list[Problem]):
        self.problems = problems
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"the school cannot be solved, {len(problems)} problem(s):\n{lines}")


class _Watch(cp_model.CpSolverSolutionCallback):
    """Records improvements. Reads only the per-block ``placed`` literals: reading every option literal
    costs tens of milliseconds per solution on big schools."""

    def __init__(self, placed: list[tuple[int, cp_model.IntVar]] | None):
        super().__init__()
        self.placed_literals = placed
        self.objective: float | None = None
        self.bound: float | None = None
        self.placed: int | None = None
        self.solutions = 0
        self.last_improvement = time.monotonic()

    def on_solution_callback(self) -> None:
        now = time.monotonic()
        self.solutions += 1
        objective = self.objective_value
        if self.objective is None or objective != self.objective:
            self.last_improvement = now
        self.objective = objective
        self.bound = self.best_objective_bound
        if self.placed_literals is not None:
            self.placed = sum(n for n, lit in self.placed_literals if self.boolean_value(lit))


class _Solver:
    """Runs the phases; owns the clock, the cancel flag, progress reporting and the best result."""

    def __init__(
        self,
        school: School,
        options: SolveOptions,
        progress,
        cancel: threading.Event | None,
        start: float | None = None,
        promote: bool = True,
    ):
        self.school = school
        self.options = options
        self.report = progress
        self.cancel = cancel or threading.Event()
        self.start = time.monotonic() if start is None else start
        self.deadline = self.start + options.time_limit
        self.total = school.total_periods()
        self.placed = self.total
        """Periods placed in the timetable being optimised: all of them, but where none complete was found."""
        self.first_complete: float | None = None
        self.greedy: tuple[TimetableModel, dict] | None = None
        self.warm_start: list[str] = []
        """The steps of relax and repair, when it ran (``relax_first``)."""
        self.closest: dict[tuple[str, int], tuple] | None = None
        """Relax and repair's placement with the fewest excess gaps, when it found no timetable."""
        self.in_hand: Timetable | None = None
        """The first complete timetable, kept for when a model's build stops before it is optimised."""
        self.last_report = 0.0
        self.may_promote = promote and not options.deterministic and options.hint is None
        """Whether broken soft rules may still be tried as hard ones (``keep_broken_rules``); not on a
        re-solve, which keeps close to the timetable it starts from."""
        self.promoted: set[str] = set()
        """Soft rules made hard by a try that found a better timetable."""
        self._ejection: EjectionSearch | bool | None = None
        """The ejection search once built (``ejection``); False where the school's hard rules are not all
        read by it."""
        self.side: Background | None = None
        """The ejection search running beside CP-SAT's second quick search (``quick``), once started."""
        self.evaluate_seconds = 0.0
        """The longest full solution of a timetable so far (``evaluate``): searches that end with one
        leave that much time for it."""

    # ------------------------------------------------------------------ helpers

    def remaining(self) -> float:
        """Seconds left for searching; a margin is kept to read and check the result."""
        margin = min(1.0, 0.03 * self.options.time_limit)
        return max(0.0, self.deadline - margin - time.monotonic())

    def time_to_search(self) -> bool:
        """Whether a soft search still fits: more time left than the full solution of its result took
        (``evaluate_seconds``). MHS_Covid_Final given 15 s ended at 16.1 s: a search started with 0.3 s
        left, and 0.8 s of its full solution came after."""
        return self.remaining() > max(0.05, self.evaluate_seconds)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def cancelled(self) -> bool:
        return self.cancel.is_set()

    def emit(
        self, phase: str, placed: int, objective=None, bound=None, message: str = "", force=False
    ) -> None:
        if self.report is None:
            return
        now = time.monotonic()
        if not force and now - self.last_report < PROGRESS_INTERVAL:
            return
        self.last_report = now
        self.report(Progress(phase, placed, self.total, objective, bound, round(self.elapsed(), 2), message))

    def parameters(self, budget: float, mode: str, variables: int = 0, attempt: int = 0) -> cp_model.CpSolver:
        """CP-SAT parameters for a search: ``find`` a complete timetable (``quick``: the short first one on
        two workers), ``place`` as many periods as possible, or optimise ``soft`` rules on a model of
        ``variables`` variables. Each ``attempt`` of a search gets its own seed."""
        solver = cp_model.CpSolver()
        p = solver.parameters
        # CP-SAT's own Ctrl-C handler aborts the process (std::bad_function_call in 9.15); callers cancel
        # through the ``cancel`` event instead, and Python keeps its KeyboardInterrupt.
        p.catch_sigint_signal = False
        light_presolve(p)
        # The repair search keeps the hinted blocks where they are.
        p.fix_variables_to_their_hinted_value = mode == "repair"
        if self.options.deterministic:
            p.num_workers = 1
            p.random_seed = self.options.seed
            # Wall-clock limits would make the result depend on machine load; this one does not.
            p.max_deterministic_time = max(budget, 0.01)
            p.max_time_in_seconds = max(budget * 4, 1.0)
        else:
            p.num_workers = self.options.workers
            p.random_seed = self.options.seed + attempt
            p.max_time_in_seconds = max(budget, 0.01)
            if mode == "quick":
                # Only the first try runs without presolve (see ``quick``).
                quick_search(p, presolve=attempt > 0)
            if mode == "place":
                # Measured: 4-8x faster to full placement than the default portfolio.
                p.extra_subsolvers.append("core")
            if mode == "soft":
                # The soft score improves by local moves; with 2 cores the workers proving bounds took
                # CPU from the LNS workers (measured on the 914-period demo: 5-7% lower score in 30 s).
                p.ignore_subsolvers.extend(SLOW_FOR_SOFT)
                p.num_workers, p.num_full_subsolvers = soft_workers(variables, self.options.workers)
        return solver

    def run(
        self,
        tm: TimetableModel,
        phase: str,
        budget: float,
        mode: str,
        placed_literals: list[tuple[int, cp_model.IntVar]] | None = None,
        attempt: int = 0,
        stop: Callable[[], bool] | None = None,
    ) -> tuple[int, list[int] | None]:
        """One CP-SAT solve with a watchdog thread for cancel, stall, ``stop`` (when it says so) and
        progress.

        ``stop_search()`` before the solve has started is silently ignored, so the watchdog keeps
        calling it until the solve returns.
        """
        if not self.options.deterministic:
            # Never past the time limit, whatever the caller's share (MED_2019-20-1, given 60 s: a
            # search given 7.8 s at 56.3 s, its share worked out before the model of the ejection search
            # was built, made the solve take 64.6 s).
            budget = max(min(budget, self.remaining()), 0.05)
        solver = self.parameters(budget, mode, len(tm.model.proto.variables), attempt)
        watch = _Watch(placed_literals)
        done = threading.Event()
        optimising = mode in ("place", "soft")
        stall = self.options.stall_seconds if optimising and not self.options.deterministic else None
        placed_now = self.placed if mode == "soft" else 0

        def watchdog() -> None:
            while not done.wait(0.05):
                if self.cancelled() or (stop is not None and stop()):
                    solver.stop_search()
                    continue
                if (
                    stall is not None
                    and watch.solutions
                    and time.monotonic() - watch.last_improvement > stall
                ):
                    solver.stop_search()
                placed = watch.placed if watch.placed is not None else placed_now
                self.emit(phase, placed, watch.objective, watch.bound)

        thread = threading.Thread(target=watchdog, daemon=True)
        thread.start()
        try:
            status = solver.solve(tm.model, watch)
        finally:
            done.set()
            thread.join()
        values = None
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            values = list(solver.response_proto.solution)
        return status, values

    # ------------------------------------------------------------------ phases

    def relax_first(self) -> None:
        """With hard gap rules, find the first complete timetable by relax and repair (``solver.relax``)
        and start the phases below from it: CP-SAT alone finds none in minutes on such schools."""
        if self.options.hint is not None or self.options.deterministic or not has_hard_gap_rules(self.school):
            return
        self.emit("complete", 0, message="placing every lesson without the gap rules", force=True)
        warm = relax_and_repair(
            self.school,
            self.remaining() * 0.8,
            self.options.workers,
            self.cancel,
            report=lambda line, placed: self.emit(
                "complete", self.total if placed else 0, message=line, force=True
            ),
        )
        self.warm_start = warm.steps
        self.closest = warm.closest
        if warm.timetable is not None:
            self.first_complete = self.elapsed()
            self.in_hand = warm.timetable
            self.options = replace(self.options, hint=warm.timetable)

    def solve(self) -> Timetable:
        self.relax_first()
        has_spread = any(r.enabled and r.type == "subject_spread" for r in self.school.rules)
        attempts = [("complete", "as-is")]
        if has_spread and self.options.strict_balancing:
            attempts = [("complete", "strict"), ("complete-relaxed-balancing", "relaxed")]
        if self.warm_start and self.first_complete is None:
            # Relax and repair ran and found nothing: CP-SAT's own search on the whole model, which it
            # stands in for, would not either (liceo-scientifico: 40 s for nothing); the fallback gets
            # that time.
            attempts = []
        for i, (phase, balancing) in enumerate(attempts):
            if self.cancelled() or self.remaining() <= 0:
                break
            # Leave time for the later attempts and the fallback.
            last = i + 1 == len(attempts)
            share = 0.6 if last else 0.4
            hard = self.build(require_all=True, balancing=balancing, soft=False)
            self.emit(phase, 0, message="searching for a complete timetable", force=True)
            values = self.quick(hard, phase, side=last and self.options.hint is None)
            if values is not None:
                self.stop_side()
            if values is None and self.options.hint is not None:
                # A timetable in hand (relax and repair's, or the one re-solved after edits) that keeps
                # every hard rule of this model is complete as it is. A search hinted with it took longer
                # than the time left on lycee-Farabi-old (1,214 periods, 20 s): its repaired timetable was
                # lost and the solve returned nothing.
                values = self.evaluate(hard, self.hint_placements())
            if values is None and last and self.options.hint is None and self.ejection_applies():
                # The ejection search of the fallback reads every hard rule: it places more, sooner, than
                # CP-SAT's searches below (GYR: 15-26 periods left after 30 s, where they placed none).
                del hard
                break
            if values is None:
                values = self.repair(hard, phase)
            else:
                self.first_complete = self.first_complete or self.elapsed()
                if self.has_soft:
                    # The soft phase starts better from the greedy start's compact days, when its repair
                    # succeeds (914-period demo: soft score 23,500 after 30 s from the quick search's
                    # timetable, 9,900 from the greedy one's).
                    values = self.repair(hard, phase) or values
            if values is None:
                self.apply_hint(hard)
                budget = min(self.remaining() * share, max(PLACE_SECONDS, 0.1 * self.options.time_limit))
                hard.fill_full_weeks()
                _, values = self.run(hard, phase, budget, "find")
            if values is not None:
                if self.first_complete is None:
                    self.first_complete = self.elapsed()
                self.emit(phase, self.total, message="complete timetable found", force=True)
                chosen = {b.key: o for b, o in hard.chosen(values)}
                found = {key: (o.slot, o.room, o.pool) for key, o in chosen.items()}
                self.in_hand = self.in_hand or complete_timetable(hard, chosen, self.total)
                # Free the first model before building the full one: peak memory matters at 2,000 periods.
                del hard, values
                full = self.build(require_all=True, balancing=balancing)
                return self.optimise(full, found, phase)
        if self.cancelled():
            return self.nothing_placed()
        return self.fallback()

    @property
    def fallback_balancing(self) -> str:
        return "relaxed" if self.options.strict_balancing else "as-is"

    def fallback(self) -> Timetable:
        """Place as many periods as possible (by the ejection search where it reads the hard rules, else
        by CP-SAT), then the rest by neighbourhood searches; explain what stays unplaced, then optimise
        soft rules."""
        if self.remaining() <= 0:
            # Building the models took the whole time limit (FET's Econ-Timisoara: 1,166 activities, half a
            # million options, 20 s a model); another model and a search now would only run over it.
            return self.nothing_placed()
        balancing = self.fallback_balancing
        began = time.monotonic()
        tm = self.build(require_all=False, balancing=balancing, soft_minimums=True)
        # The full solution of the timetable in the end (``evaluate``) takes about as long as the model's
        # build: the searches leave that much time for it.
        reserve = max(time.monotonic() - began, self.evaluate_seconds)
        literals = [(b.length, b.placed) for b in tm.blocks]
        self.emit("partial", 0, message="placing as many periods as possible", force=True)
        status, values = (cp_model.UNKNOWN, None)
        budget = self.place_budget(reserve)
        if self.closest and budget > 0:
            status, values = self.keep_closest(tm, budget, literals)
        chosen = self.eject(tm) if values is None else None
        # The ejection search beside the quick search has said all it will say.
        self.stop_side()
        if chosen is None:
            # Its share of the time left after the ejection search's model, when one was built.
            budget = self.place_budget(reserve)
            if values is None and budget > 0:
                self.apply_hint(tm)
                status, values = self.run(tm, "partial", budget, "place", placed_literals=literals)
            if values is None:
                return self.timetable(tm, None, "partial", "cancelled" if self.cancelled() else "no solution")
            chosen = {b.key: o for b, o in tm.chosen(values)}
        if status != cp_model.OPTIMAL and len(chosen) < len(tm.blocks) and not self.options.deterministic:
            chosen = self.place_rest(tm, chosen, reserve)
        completed = len(chosen) == len(tm.blocks)
        found = {key: (o.slot, o.room, o.pool) for key, o in chosen.items()}
        if completed:
            try:
                full = self.build(require_all=True, balancing=balancing)
            except BuildStopped:
                # No time to build the full model: the partial timetable below, from the model in hand.
                full = None
            # Every block placed; it is a complete timetable when the minimum rules hold too.
            if full is not None and self.evaluate(full, found) is not None:
                self.first_complete = self.elapsed()
                self.emit("complete", self.total, message="complete timetable found", force=True)
                del tm, values
                return self.optimise(full, found, "complete")
            del full
        self.emit(
            "partial",
            sum(b.length for b in tm.blocks if b.key in found),
            force=True,
            message=f"{len(tm.blocks) - len(found)} block(s) cannot be placed",
        )
        # Keep the placed set fixed while optimising soft rules.
        for b in tm.blocks:
            tm.model.add(b.placed == int(b.key in found))
        tm.set_objective()
        return self.optimise(tm, found, "partial")

    def place_budget(self, reserve: float = 0.0) -> float:
        """Seconds for the fallback's search for the most periods placed, for a model that took ``reserve``
        seconds to build; none (0) when too little time is left to load it. CP-SAT loads and presolves
        a large model before it searches, and a search of it ends past its limit by about as long as
        its build took: given 15 s, Klikks-SLP's search started with 0.05 s left and took 2.0 s, ending at
        16.6 s; GYR-5-gaps-per-teacher's took 4.0 s for a limit of 2.0 s, ending at 15.8 s."""
        budget = min(self.remaining() * 0.7, max(PLACE_SECONDS, 0.1 * self.options.time_limit))
        if self.options.deterministic:
            return budget
        return max(0.0, min(budget, self.remaining() - 2 * reserve))

    def nothing_placed(self) -> Timetable:
        """No block placed: the solve was cancelled, or its time limit reached, before any search placed
        one (building the models of a large school can take it all: ``build``)."""
        cancelled = self.cancelled()
        status = "cancelled" if cancelled else TIME_UP
        why = "cancelled" if cancelled else "the time limit was reached"
        unplaced = [
            Unplaced(lesson.id, i, length, f"{why} before this block was placed")
            for lesson in self.school.active_lessons()
            for i, length in enumerate(lesson.blocks)
        ]
        phase = "cancelled" if cancelled else "partial"
        self.emit(phase, 0, message=status, force=True)
        return Timetable(
            unplaced=unplaced,
            total=self.total,
            phase=phase,
            status=status,
            solve_time=round(self.elapsed(), 3),
            meta={"warm_start": self.warm_start} if self.warm_start else {},
        )

    def build(self, **options) -> TimetableModel:
        """A model of the school with these ``BuildOptions``. Its build stops with ``BuildStopped`` once
        the time is up or the solve is cancelled, and the solve returns what it has (``stopped``): FET's
        Diff1T, 5,433 activities over 33 days, given 60 s, built models for 269 s and 11 GB before; at
        15 s, lycee-Farabi-old's fallback built two models of 7 s each after its time was up (32 s)."""
        return TimetableModel(self.school, BuildOptions(**options, stop=self.stop_building))

    def stop_building(self) -> bool:
        return self.cancelled() or self.remaining() <= 0

    def solve_within(self) -> Timetable:
        """``solve``, with what there is when a model's build stops (``stopped``)."""
        try:
            return self.solve()
        except BuildStopped:
            return self.stopped()
        finally:
            self.stop_side()

    def stopped(self) -> Timetable:
        """The first complete timetable as it was found, scored by the checker (no model needed), or
        every block unplaced when there is none."""
        if self.in_hand is None:
            return self.nothing_placed()
        report = check(self.school, self.in_hand)
        why = "cancelled" if self.cancelled() else TIME_UP
        status = f"{why} before the soft rules were optimised"
        self.emit("complete", self.total, float(report.score), message=status, force=True)
        return replace(
            self.in_hand,
            score=report.score,
            breakdown=report.breakdown,
            phase="complete",
            status=status,
            solve_time=round(self.elapsed(), 3),
            first_complete_time=self.first_complete,
            meta={"warm_start": self.warm_start} if self.warm_start else {},
        )

    def ejection(self) -> EjectionSearch | None:
        """The ejection search (``solver.eject``) over the hard rules of the fallback's model (see
        ``fallback``), built once; None where it does not read them all, or in deterministic mode."""
        if self._ejection is None and not self.options.deterministic:
            try:
                self._ejection = self.build_ejection()
            except Unsupported:
                self._ejection = False
        return self._ejection or None

    def build_ejection(self) -> EjectionSearch:
        """A new ejection search over the fallback's hard rules; ``Unsupported`` where it does not read
        them all."""
        hard = self.build(
            require_all=False,
            balancing=self.fallback_balancing,
            soft_minimums=True,
            soft=False,
            expand_combined=True,
        )
        hard.check_stop()
        return EjectionSearch(hard, self.options.seed)

    def ejection_applies(self) -> bool:
        """Whether the fallback places blocks by the ejection search: the one beside the quick search
        (waiting until it is built), else one built here. Either build stops at the time limit
        (``BuildStopped``)."""
        if self.side is not None:
            self.side.wait(self.stop_building)
            if self.side.state == "building":
                # Its build ran to the time limit (or a cancel), where one here would stop too.
                self.stop_side()
                raise BuildStopped("the ejection search was still being built at the time limit")
            return self.side.state in ("searching", "done")
        return self.ejection() is not None

    def eject(self, tm: TimetableModel) -> dict | None:
        """As many blocks placed as the ejection search places in ``EJECT_SHARE`` of the time left, from
        the timetable re-solved if any, as options of ``tm``, the fallback's model; None where there is no
        ejection search."""
        if self.side is not None:
            if self.side.state not in ("searching", "done"):
                return None
            self.emit("partial", 0, message="placing every lesson by pushing others out", force=True)
            self.side.result(
                self.cancelled,
                lambda line, left: self.emit("partial", self.total - left, message=line, force=True),
            )
            if self.side.state != "done":
                return None
            return tm.matching_options(self.side_placement())
        search = self.ejection()
        if search is None:
            return None
        hard = search.tm
        self.emit("partial", 0, message="placing every lesson by pushing others out", force=True)
        begin = hard.matching_options(self.hint_placements())

        def report(line: str, left: int) -> None:
            self.emit("partial", self.total - left, message=line, force=True)

        deadline = time.monotonic() + self.remaining() * EJECT_SHARE
        found, _ = search.run(begin, deadline, self.cancel, report, give_up=EJECT_STALL)
        return tm.same_options(found)

    def keep_closest(self, tm: TimetableModel, budget: float, literals: list) -> tuple[int, list[int] | None]:
        """As much of relax and repair's closest placement as every hard rule allows: each block keeps its
        place there or is left out, the most periods kept. A small search (one choice per block); the
        blocks left out are then placed by neighbourhood searches (``place_rest``)."""
        tm.hint(self.closest)
        domains = []
        for block in tm.blocks:
            keep = tm.matching_option(block, self.closest.get(block.key))
            for opt in block.options:
                if opt is not keep:
                    domain = tm.model.proto.variables[opt.var.index].domain
                    domain[1] = 0
                    domains.append(domain)
        self.emit(
            "partial", 0, message="keeping what the gap rules allow of the closest placement", force=True
        )
        status, values = self.run(tm, "partial", budget, "place", placed_literals=literals)
        for domain in domains:
            domain[1] = 1
        # Optimal here is only the best choice of blocks to keep: the others may still fit elsewhere.
        return (cp_model.FEASIBLE if values is not None else status), values

    def place_rest(self, tm: TimetableModel, chosen: dict, reserve: float = 0.0) -> dict:
        """Place the blocks left out by neighbourhood searches (``solver.relax.PlacementRepair``), for
        most of the time left but ``reserve`` seconds: on GYR, FET's largest example, CP-SAT alone stalls
        far short of full, and these searches place about half of what the ejection search leaves (18
        of 1,965 periods left after it, 9 after them 22 s later, 7 after 140 s more). The ejection
        search, started again from their placement, does not come back as low (from 8 left, 36-54 in
        80 s). Without the reserve, Shipena given 15 s ended at 16.2 s: 1.1 s of the full solution of
        its partial timetable came after these searches had used 80% of the time left."""
        placed = sum(tm.block_by_key[key].length for key in chosen)
        self.emit("partial", placed, message="placing the rest by neighbourhood searches", force=True)
        repair = PlacementRepair(tm, self.options.workers, self.options.seed)
        deadline = time.monotonic() + max(self.remaining() - reserve, 0.0) * 0.8

        def report(line: str, left: int) -> None:
            self.emit("partial", self.total - left, message=line, force=True)

        chosen, _, _ = repair.run(chosen, deadline, self.cancel, report)
        return chosen

    def optimise(
        self,
        tm: TimetableModel,
        found: dict[tuple[str, int], tuple],
        phase: str,
    ) -> Timetable:
        """Minimise the soft score of ``tm`` from the timetable ``found`` for the rest of the time limit.

        ``found`` fixes only the option literals; CP-SAT needs seconds to complete such a hint on big
        schools (at 2,000 periods it found nothing in 45 s), so the full solution is computed first and
        given as a complete hint. It is also the result when the search finds nothing better in time.
        """
        status = cp_model.UNKNOWN
        self.placed = sum(b.length for b in tm.blocks if b.key in found)
        values = self.evaluate(tm, found)
        if values is not None and tm.penalties and not self.cancelled() and self.time_to_search():
            tm.minimize_soft()
            title = f"optimise ({phase})"
            variables = len(tm.model.proto.variables)
            if variables > LARGE_SOFT_MODEL:
                # A try of broken rules as hard ones builds its own model beside this one.
                self.may_promote = False
            # Our neighbourhood searches, on every school but in deterministic mode; on a small one, after
            # a brief search of CP-SAT's that proves its optimum at once. Where CP-SAT's search ran alone
            # before (no relax and repair), ours end far lower: the 914-period demo, medians of seeds 1-3,
            # 4,000 against 18,320 after 30 s; the 2,000-period demo, seed 1, 1,140 against 24,790 after
            # 120 s; shc-2013, seeds 0-1, 0 at 40-45 s against 97-194 after 200 s.
            ours = not self.options.deterministic
            if not ours or variables <= SMALL_SOFT_MODEL:
                status, values = self.soft_search(tm, values, title, FIRST_SOFT_SEARCH if ours else None)
            while ours and status != cp_model.OPTIMAL and not self.cancelled() and self.time_to_search():
                before = tm.soft_score(values)
                values = self.soft_repair(tm, values, phase)
                status, values = self.soft_search(tm, values, title)
                # Another round while a round lowers the score: our neighbourhoods may still find more
                # from CP-SAT's result (liceo-scientifico: 3,181 at the end of the first round, 43 s left).
                if self.remaining() < SOFT_ROUND or tm.soft_score(values) >= before:
                    break
        if self.cancelled():
            label = "cancelled"
        elif status == cp_model.OPTIMAL or not tm.penalties:
            label = "optimal"
        else:
            label = "feasible"
        return self.timetable(tm, values, phase, label)

    def soft_search(
        self, tm: TimetableModel, values: list[int], title: str, budget: float | None = None
    ) -> tuple[int, list[int]]:
        """CP-SAT's own search for a lower soft score from the full solution ``values``, for ``budget``
        seconds at most (else the time left): its status and the best full solution."""
        tm.model.clear_hints()
        hint = tm.model.proto.solution_hint
        hint.vars.extend(range(len(values)))
        hint.values.extend(values)
        seconds = self.remaining() if budget is None else min(budget, self.remaining())
        status, better = self.run(tm, title, seconds, "soft")
        return status, better if better is not None else values

    def soft_repair(self, tm: TimetableModel, values: list[int], phase: str) -> list[int]:
        """Lower the soft score by neighbourhood searches of our own (``solver.relax.SoftRepair``) for a
        share of the time left, before CP-SAT's own search takes over: the full solution of the best.
        When they stall for ``stall_seconds``, the soft rules the timetable still breaks are tried as
        hard rules (``keep_broken_rules``)."""
        deadline = time.monotonic() + max(self.remaining() - self.evaluate_seconds, 0.0) * SOFT_REPAIR_SHARE
        label = f"optimise ({phase})"

        def report(line: str, score: int) -> None:
            self.emit(label, self.placed, objective=score, message=line, force=True)

        while True:
            repair = SoftRepair(tm, values, self.options.workers, self.options.seed)
            chosen = {b.key: o for b, o in tm.chosen(values)}
            stall = self.options.stall_seconds if self.may_promote else None
            best, score, _ = repair.run(chosen, deadline, self.cancel, report, give_up=stall)
            found = {key: (o.slot, o.room, o.pool) for key, o in best.items()}
            values = self.evaluate(tm, found) or values
            if not score or self.cancelled() or time.monotonic() >= deadline or not self.may_promote:
                return values
            values = self.keep_broken_rules(tm, values, deadline, label) or values

    def keep_broken_rules(
        self, tm: TimetableModel, values: list[int], deadline: float, label: str
    ) -> list[int] | None:
        """Search again for a complete timetable with the costliest soft rules that ``values`` breaks
        (``PROMOTE_RULES`` at most) made hard, for ``PROMOTE_SHARE`` of the time to ``deadline``: the full
        solution of the timetable found, when its soft score is lower. Those rules stay hard for the
        next try.

        A try that finds a complete timetable, but no better one, leads to another: its rules stay hard
        and the costliest rules its own timetable breaks join them. A try that finds none, or no new
        rule to add, is the last: the search goes on without trying again.

        Neighbourhoods around a broken rule rarely reach a timetable that keeps it when every other rule
        binds as well: VietNamHungYen stayed at 95 (one broken min-days rule) for 290 s, and is placed
        with no soft conflict in 9-12 s once that rule is hard. shc-2013 (score 194, two broken rules):
        with those two hard, a complete timetable at 3 s that scores 393 and breaks four others; with
        all six hard, a score of 0."""
        before = tm.soft_score(values)
        keep, broken_by = set(self.promoted), values
        while True:
            costs = rule_costs(tm, broken_by)
            skip = keep | tm.soft_minimum_rules
            broken = sorted(costs.keys() - skip, key=lambda rule_id: (-costs[rule_id], rule_id))
            pick = set(broken[:PROMOTE_RULES])
            budget = (deadline - time.monotonic()) * PROMOTE_SHARE
            if not pick or budget < max(1.0, PROMOTE_PACE * (self.first_complete or 0.0)):
                break
            keep |= pick
            self.emit(
                label,
                self.placed,
                objective=before,
                message=f"trying {len(keep)} broken soft rule(s) as hard rules",
                force=True,
            )
            school = replace(
                self.school,
                rules=[replace(r, weight=HARD) if r.id in keep else r for r in self.school.rules],
            )
            options = replace(self.options, time_limit=budget, hint=None)
            found = _Solver(school, options, None, self.cancel, promote=False).solve_within()
            if not found.complete or self.cancelled():
                break
            broken_by = self.evaluate(tm, {(p.lesson, p.block): (p.slot, p.room) for p in found.placements})
            if broken_by is None:
                break
            after = tm.soft_score(broken_by)
            if after < before:
                self.promoted = keep
                self.emit(label, self.placed, objective=after, message=f"soft score: {after}", force=True)
                return broken_by
            self.emit(
                label,
                self.placed,
                objective=before,
                message=f"with them hard: {after}, no better; adding the rules that timetable breaks",
                force=True,
            )
        self.may_promote = False
        if keep != self.promoted:
            self.emit(
                label,
                self.placed,
                objective=before,
                message="kept as soft rules: no better timetable",
                force=True,
            )
        return None

    def evaluate(self, tm: TimetableModel, found: dict[tuple[str, int], tuple]) -> list[int] | None:
        """The full solution of ``tm`` (every auxiliary variable too) for the placements ``found``.

        With every option literal fixed, presolve alone solves it, so one worker is enough; a block
        without a match in ``tm`` is left free, within the time left.
        """
        tm.hint(found)
        solver = cp_model.CpSolver()
        solver.parameters.fix_variables_to_their_hinted_value = True
        solver.parameters.num_workers = 1
        solver.parameters.catch_sigint_signal = False
        solver.parameters.max_time_in_seconds = min(60.0, max(self.remaining(), 10.0))
        began = time.monotonic()
        status = solver.solve(tm.model)
        self.evaluate_seconds = max(self.evaluate_seconds, time.monotonic() - began)
        if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return list(solver.response_proto.solution)
        return None

    def hint_placements(self) -> dict[tuple[str, int], tuple]:
        """The previous timetable's placements (re-solves after edits): block -> (start, room name)."""
        if self.options.hint is None:
            return {}
        return {(p.lesson, p.block): (tuple(p.slot), p.room) for p in self.options.hint.placements}

    def apply_hint(self, tm: TimetableModel) -> None:
        """Start from a previous timetable's placements (re-solves after edits), else from a greedy one."""
        if self.options.hint is not None:
            tm.hint(self.hint_placements())
        elif self.greedy is not None and self.greedy[0] is tm:
            tm.hint(self.greedy[1])
        else:
            tm.hint(compact_start(tm)[0])

    @property
    def has_soft(self) -> bool:
        """Whether the school has any enabled soft rule."""
        return any(r.enabled and r.weight < HARD for r in self.school.rules)

    def quick(self, tm: TimetableModel, phase: str, side: bool = False) -> list[int] | None:
        """Short searches on two workers (``solver.relax.QUICK_SEARCH``), up to ``QUICK_TRIES`` of them
        with a new seed each, the first without presolve and the second with one light pass (see
        ``quick_search``): WTHS in 2 s, where the greedy start and its repair take 6-10 s.

        With ``side``, the ejection search starts beside the last of them (``start_side``); when it
        places every block first, that search stops and the timetable is the ejection search's."""
        if self.options.hint is not None or self.options.deterministic:
            return None
        for attempt in range(QUICK_TRIES):
            if self.cancelled():
                break
            # Half the time for the first: without presolve it finds a timetable fast or not at all
            # (shc-2013, 16 seeds: all but two in under 1.7 s).
            limit = QUICK_SEARCH if attempt else QUICK_SEARCH / 2
            stop = None
            last = attempt + 1 == QUICK_TRIES
            if side and last and self.remaining() * 0.3 >= limit * SIDE_SLOWER and self.start_side():
                stop = self.side.placed_all
                limit *= SIDE_SLOWER
            # A short time limit still gives it a fair share: with 8 s and a tenth of it, WTHS (found in
            # 0.7 s with 1.8 s to search) got no timetable at all.
            budget = min(limit, self.remaining() * 0.3)
            _, values = self.run(tm, phase, budget, "quick", attempt=attempt, stop=stop)
            if values is None and stop is not None and stop():
                values = self.evaluate(tm, self.side_placement())
            if values is not None:
                return values
        return None

    def start_side(self) -> bool:
        """Build and run the fallback's ejection search (``ejection``) in a forked process, beside this
        one's searches, with the time it would have in the fallback (``eject``). Whether it started: not
        where one was built here already."""
        if self.side is None and self._ejection is None:
            deadline = time.monotonic() + self.remaining() * EJECT_SHARE
            self.side = Background(self.build_ejection, deadline, EJECT_STALL)
            return True
        return False

    def side_placement(self) -> dict[tuple[str, int], tuple]:
        """Where the ejection search beside (``start_side``) placed each block: (start, room, pool)."""
        return {key: (slot, room, pool) for key, slot, room, pool in self.side.placement}

    def stop_side(self) -> None:
        if self.side is not None:
            self.side.stop()

    def repair(self, tm: TimetableModel, phase: str) -> list[int] | None:
        """Complete the greedy timetable: keep every block that did not clash, except those sharing a
        teacher or students with one that did, and let CP-SAT place the rest.

        A plain search hinted with the greedy timetable drifts far from it and loses its compact days;
        this keeps them. None when the repair is impossible or slow (the plain search follows).
        """
        if self.options.hint is not None:
            return None
        found, clashed = compact_start(tm)
        self.greedy = (tm, found)
        touched = {r for b in tm.blocks if b.key in clashed for r in tm.resources_of(b.lesson)}
        keep = {
            key: want
            for key, want in found.items()
            if key not in clashed and not touched.intersection(tm.resources_of(tm.block_by_key[key].lesson))
        }
        tm.hint(keep)
        _, values = self.run(tm, phase, min(self.remaining() * 0.15, 10.0), "repair")
        return values

    # ------------------------------------------------------------------ result

    def timetable(self, tm: TimetableModel, values: list[int] | None, phase: str, status: str) -> Timetable:
        chosen = tm.chosen(values) if values is not None else []
        taken = {b.key for b, _ in chosen}
        unplaced_blocks = [b for b in tm.blocks if b.key not in taken]
        placements = tm.placements(chosen)
        breakdown = rule_costs(tm, values) if values is not None else {}
        if values is None:
            phase = "cancelled" if self.cancelled() else "partial"
            why = (
                "cancelled"
                if self.cancelled()
                else "the time limit was reached"
                if status == TIME_UP
                else "no timetable found"
            )
            reasons = {b.key: f"{why} before this block was placed" for b in unplaced_blocks}
        else:
            if unplaced_blocks:
                phase = "partial"
            reasons = explain(self.school, tm, placements, unplaced_blocks) if unplaced_blocks else {}
        unplaced = [
            Unplaced(b.lesson.id, b.index, b.length, reasons.get(b.key, "not placed"))
            for b in unplaced_blocks
        ]
        placed = sum(p.length for p in placements)
        # Hard minimum rules are soft in the fallback's model (``BuildOptions.soft_minimums``): say which
        # ones the timetable misses, and keep them out of the soft score.
        missed = sorted(tm.soft_minimum_rules & breakdown.keys())
        for rule_id in missed:
            del breakdown[rule_id]
        if missed:
            status = f"{status}; hard minimum rule(s) not met: {', '.join(missed)}"
        elif values is not None and not unplaced_blocks and phase == "partial":
            # The fallback placed everything and its soft search met every minimum: complete, from now.
            phase = "complete"
            if self.first_complete is None:
                self.first_complete = self.elapsed()
        self.emit(phase, placed, float(sum(breakdown.values())), None, message=status, force=True)
        return Timetable(
            placements=placements,
            unplaced=unplaced,
            placed=placed,
            total=self.total,
            score=sum(breakdown.values()),
            breakdown=breakdown,
            phase=phase,
            status=status,
            solve_time=round(self.elapsed(), 3),
            first_complete_time=self.first_complete,
            meta={
                "model_variables": tm.size()[0],
                "model_constraints": tm.size()[1],
                **({"warm_start": self.warm_start} if self.warm_start else {}),
                **({"minimums_not_met": missed} if missed else {}),
            },
        )


def rule_costs(tm: TimetableModel, values: list[int]) -> dict[str, int]:
    """Rule id -> the points it costs in the solution ``values``, for every rule that costs any."""
    costs = {}
    for rule_id, (weight, amounts) in tm.penalties.items():
        amount = sum(values[v.index] for v in amounts)
        if amount:
            costs[rule_id] = weight * amount
    return costs


def soft_workers(variables: int, workers: int) -> tuple[int, int]:
    """CP-SAT workers for the soft phase of a model with ``variables`` variables, as (workers, full
    workers); 0 full workers leaves CP-SAT's default portfolio.

    Every full-problem worker holds its own copy of the whole model, so peak memory grows with their
    number times the model size; LNS and local-search workers solve small neighbourhoods instead, and
    they found every improvement in the 2,000-period logs. Measured with CP-SAT 9.15 on 2 shared cores, peak RSS of
    the whole solve: 914-period demo (46,000 variables) 1.0 GB with 8 workers; 2,000-period demo
    (101,000 variables) 2.1-2.6 GB with 8, 1.7 GB with 6, 1.1-1.4 GB with 4, about 23 KB per variable
    with 8 workers. Beyond 75,000 variables (1.7 GB with 8) the soft phase runs on 4 workers with one
    full-problem worker (default_lp): at 2,000 periods, seeds 1-3, peak 1.33-1.41 GB, and the score
    after 120 s median 35,550 against 46,810 with CP-SAT's 4-worker portfolio (three full-problem
    workers, which left one thread to improve the score, so the stall window stopped them early).
    Smaller models keep every worker and the default portfolio.
    """
    if variables > LARGE_SOFT_MODEL:
        return min(workers, LARGE_SOFT_WORKERS), 1
    return workers, 0


def compact_start(
    tm: TimetableModel, passes: int = 5
) -> tuple[dict[tuple[str, int], tuple], set[tuple[str, int]]]:
    """A greedy timetable to hint the first search: each block at the earliest clash-free time.

    CP-SAT's first complete timetable otherwise ignores soft rules entirely (its phase has no objective),
    leaving students hundreds of gaps the soft phase then fails to remove in its time. Packing days
    from the first period keeps them compact; CP-SAT repairs whatever the greedy could not fit. Blocks
    that clashed go first in the next pass ("squeaky wheel"); the pass with fewest clashes wins.
    Returns the placements and the blocks placed with a clash.
    """
    order = sorted(tm.blocks, key=lambda b: (len(b.options), -b.length))
    best: tuple[dict, set] = ({}, set())
    for i in range(passes):
        found, clashed = _greedy(tm, order)
        if i == 0 or len(clashed) < len(best[1]):
            best = (found, clashed)
        if not clashed:
            break
        order = [b for b in order if b.key in clashed] + [b for b in order if b.key not in clashed]
    return best


def _greedy(
    tm: TimetableModel, order: list[BlockVars]
) -> tuple[dict[tuple[str, int], tuple], set[tuple[str, int]]]:
    """One greedy pass in ``order``: the placements, and the blocks placed with a clash."""
    busy: dict[tuple[str, str], Counter] = defaultdict(Counter)
    # Hard daily limits count as clashes too, or the repair search is left with an impossible timetable.
    daily: dict[tuple[str, str], int] = {}
    for rule in tm.active_rules():
        if rule.type == "max_periods_per_day" and tm.weight(rule) >= HARD:
            for res in tm.targets(rule):
                daily[res] = min(daily.get(res, tm.n_periods), int(rule.params["max"]))
    # (resource, day) -> [first period, last period, periods taught]
    span: dict[tuple[tuple[str, str], int], list[int]] = {}
    # teaching[d][q]: non-break periods before period q, so a span's length is a difference.
    teaching = [[0] * (tm.n_periods + 1) for _ in range(tm.n_days)]
    for d in range(tm.n_days):
        for q in range(tm.n_periods):
            teaching[d][q + 1] = teaching[d][q] + ((d, q) not in tm.breaks)

    def new_gaps(res: tuple[str, str], d: int, p: int, length: int) -> int:
        old = span.get((res, d))
        if old is None:
            return 0
        lo, hi, n = old
        before = teaching[d][hi + 1] - teaching[d][lo] - n
        lo, hi = min(lo, p), max(hi, p + length - 1)
        return teaching[d][hi + 1] - teaching[d][lo] - n - length - before

    subject_days: set[tuple[str, str, int]] = set()
    lesson_days: dict[str, list[int]] = defaultdict(list)
    found = {}
    clashed = set()
    for block in order:
        lesson = block.lesson
        people = tm.resources_of(lesson)
        students = tm.subgroups[lesson.id]
        apart = max(lesson.min_days_apart, 1)
        best, best_cost = None, None
        people_cost: dict[Slot, tuple[int, int]] = {}
        for opt in block.options:
            d, p = opt.slot
            cells = tm.covered(opt.slot, block.length)
            if opt.slot not in people_cost:
                clashes = sum(busy[r][c] > 0 for r in people for c in cells)
                clashes += sum(abs(d - e) < apart for e in lesson_days[lesson.id])
                clashes += sum((x, lesson.subject, d) in subject_days for x in students)
                clashes += sum(
                    span.get((r, d), (0, 0, 0))[2] + block.length > daily[r] for r in people if r in daily
                )
                gaps = sum(new_gaps(r, d, p, block.length) for r in people) if not clashes else 0
                people_cost[opt.slot] = (clashes, gaps)
            clashes, gaps = people_cost[opt.slot]
            room = tm.room_resource(opt)
            if room is not None:
                clashes += sum(busy[room][c] >= tm.capacity.get(room, 1) for c in cells)
            cost = (clashes, gaps, p, d)
            if best_cost is None or cost < best_cost:
                best, best_cost = opt, cost
        if best is None:
            continue
        found[block.key] = (best.slot, best.room, best.pool)
        if best_cost[0]:
            clashed.add(block.key)
        d, p = best.slot
        room = tm.room_resource(best)
        for r in people + ([room] if room else []):
            for c in tm.covered(best.slot, block.length):
                busy[r][c] += 1
            lo, hi, n = span.get((r, d), (p, p, 0))
            span[(r, d)] = [min(lo, p), max(hi, p + block.length - 1), n + block.length]
        lesson_days[lesson.id].append(d)
        subject_days.update((x, lesson.subject, d) for x in students)
    return found, clashed


def _who(res: tuple[str, str]) -> str:
    kind, name = res
    if kind == "pool":
        return "every room of " + ", ".join(name.split("+"))
    return f"{kind} {name}"


def explain(
    school: School, tm: TimetableModel, placements: list[Placement], unplaced: list[BlockVars]
) -> dict[tuple[str, int], str]:
    """A reason a planner understands for every unplaced block: the resource or rule that blocks it.

    In order: a resource asked for more periods than it is available; no time left at all for the block
    (breaks, pins, hard unavailable or preferred times); otherwise the resources already busy at every
    time the block could take, or the hard rules that forbid the free ones.
    """
    cal = school.calendar
    teaching = set(cal.teaching_slots())
    demand: Counter = Counter()
    for lesson in tm.lessons:
        for res in tm.resources_of(lesson):
            demand[res] += lesson.periods
        for res in _only_room(tm, lesson):
            demand[res] += lesson.periods
    busy: dict[tuple[str, str], set] = {}
    pool_use: Counter = Counter()
    for p in placements:
        lesson = school.lesson_by_id[p.lesson]
        cells = tm.covered(p.slot, p.length)
        for res in tm.resources_of(lesson) + ([("room", p.room)] if p.room else []):
            busy.setdefault(res, set()).update(cells)
        for r in p.real_rooms:
            busy.setdefault(("room", r), set()).update(cells)
        pool = tm.pools.get(tm.pool_of.get(p.room or "", ()))
        pool_use.update((pool, c) for c in cells if pool)
    for (pool, cell), n in pool_use.items():
        if n >= tm.capacity[pool]:
            busy.setdefault(pool, set()).add(cell)
    hard_rules = [r for r in tm.active_rules() if tm.weight(r) >= HARD and r.type != "unavailable"]
    # Each hard rule's people and lessons, read once, when a block first needs them (asked per block and
    # rule, they took 7.6 s of a 15 s solve of FET's Find-the-gaps, with 487 blocks unplaced).
    scopes: list[tuple[str, set, set[str]]] = []
    reasons = {}
    for block in unplaced:
        lesson = block.lesson
        people = tm.resources_of(lesson)
        rooms = _only_room(tm, lesson)
        over = []
        for res in people + rooms:
            available = len(teaching - tm.forbidden.get(res, set()))
            if demand[res] > available:
                over.append(f"{_who(res)} must be in {demand[res]} periods but is available for {available}")
        if over:
            reasons[block.key] = "; ".join(over)
            continue
        if not block.options:
            reasons[block.key] = _no_time(school, tm, block)
            continue
        blockers: Counter = Counter()
        free = 0
        for opt in block.options:
            cells = tm.covered(opt.slot, block.length)
            hit = [res for res in people + _rooms_of(tm, opt) if busy.get(res, set()) & set(cells)]
            hit += _real_rooms_taken(tm, opt, cells, busy)
            blockers.update(set(hit))
            free += not hit
        n = len(block.options)
        parts = [f"{_who(res)} at {k}" for res, k in blockers.most_common(4)]
        taken = "every one" if not free else f"{n - free}"
        text = f"{taken} of its {n} possible times taken: " + ", ".join(parts) if parts else ""
        if free:
            if hard_rules and not scopes:
                scopes = [(r.id, set(tm.targets(r)), {x.id for x in tm.rule_lessons(r)}) for r in hard_rules]
            rules = [
                rid for rid, targets, ids in scopes if not targets.isdisjoint(people) or lesson.id in ids
            ]
            apart = lesson.min_days_apart >= 1 and len(lesson.blocks) > 1
            causes = [f"its blocks must be {lesson.min_days_apart} day(s) apart"] if apart else []
            if rules:
                causes.append("hard rules " + ", ".join(sorted(rules)[:5]))
            ruled_out = f"the other {free} are ruled out by {' and '.join(causes) or 'the blocks placed'}"
            text = f"{text}; {ruled_out}" if text else ruled_out
        reasons[block.key] = f"no time left for this {block.length}-period block: {text}"
    return reasons


def _rooms_of(tm: TimetableModel, opt: Option) -> list[tuple[str, str]]:
    res = tm.room_resource(opt)
    return [res] if res else []


def _only_room(tm: TimetableModel, lesson: Lesson) -> list[tuple[str, str]]:
    """The one room a lesson must use, as a resource; none for several rooms or a combined room (its
    real rooms are what it takes)."""
    return (
        [("room", lesson.rooms[0])] if len(lesson.rooms) == 1 and lesson.rooms[0] not in tm.combined else []
    )


def _real_rooms_taken(tm: TimetableModel, opt: Option, cells: tuple, busy: dict) -> list[tuple[str, str]]:
    """For an option in a combined room, each set of real rooms that are all taken or shut at ``cells``
    (as a room named "R1 or R2")."""
    out = []
    for names in tm.combined.get(opt.room or "", []):
        if all(
            (busy.get(("room", r), set()) | tm.forbidden.get(("room", r), set())) & set(cells) for r in names
        ):
            out.append(("room", " or ".join(names)))
    return out


def _no_time(school: School, tm: TimetableModel, block: BlockVars) -> str:
    """Why a block has no possible time at all."""
    lesson = block.lesson
    cal = school.calendar
    fits = [
        (d, p)
        for d in range(cal.n_days)
        for p in range(cal.n_periods - block.length + 1)
        if not any(c in tm.breaks for c in tm.covered((d, p), block.length))
    ]
    if not fits:
        return f"a {block.length}-period block does not fit between the breaks of any day"
    pin = next((p for p in lesson.pinned if p.block == block.index), None)
    if pin is not None:
        return f"it is pinned at {cal.slot_name(pin.slot)}, which a break or a hard rule forbids"
    causes = [
        _who(r) for r in tm.resources_of(lesson) + [("room", x) for x in lesson.rooms] if tm.forbidden.get(r)
    ]
    rules = tm.pruned_by.get(block.key, [])
    parts = []
    if causes:
        parts.append("unavailable times of " + ", ".join(causes))
    if rules:
        parts.append("hard preferred times " + ", ".join(rules))
    return "no time is allowed for it: " + ("; ".join(parts) or "breaks")


def solve(
    school: School,
    options: SolveOptions | None = None,
    progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
) -> Timetable:
    """Solve a school; see the module docstring for the phases.

    ``progress`` is called at most about twice a second, from a background thread. Setting ``cancel``
    stops the search and returns the best timetable found so far. Raises ``InvalidSchool`` when
    validation finds problems.
    """
    started = time.monotonic()
    problems = validate(school)
    if problems:
        raise InvalidSchool(problems)
    # Times (the first complete timetable, the solve) count from the call: validation is part of it.
    return _Solver(school, options or SolveOptions(), progress, cancel, started).solve_within()
