"""Relax and repair: a fast first complete timetable for schools with hard gap rules.

Measured on FET's examples, CP-SAT struggles to find any timetable when the gap rules are hard: Brazil
found nothing in 60 s, Gymnasio and German-100_and_0 nothing in 300 s. Without them it places everything
in seconds. So:

1. place every block keeping every hard rule except the gap rules (``STRUCTURAL``). Students with no
   gaps at all and an early start keep that exactly, as compact days (``add_compact_days``). CP-SAT's own
   search first, with compact days (``QUICK_SEARCH``) and then with only the busy periods they imply
   (``PLAIN_SEARCH``, ``add_busy_periods``), or, where the students' free periods and the teachers'
   days off can be lessons of their own, first the ejection search (``place_by_ejection``); when it
   finds nothing, as many periods as it places quickly and ``PlacementRepair`` for the rest
   (``place_everything``). When that fails too, step 1 starts again with other seeds.
2. repair the gap rules by a large neighbourhood search of our own (``GapRepair``). First a day pass:
   for each day with excess gaps, the most first, every block of that day is re-placed within the day
   (a small search, since each block keeps its day). Then pick a teacher or subgroup with too many gaps
   on a day, free every block on that day and another one of everyone it shares a block with, and let
   CP-SAT re-place them with all other blocks fixed, minimising the excess gaps. When that stalls,
   every second search is wide: two rounds of people sharing blocks (see ``Repair``), and every fourth
   re-places a whole day with excess gaps again. At zero every
   hard rule holds and the timetable is complete and valid.

Measured (2 cores, 8 workers): CP-SAT's own neighbourhood search from the step-1 placement needed 25 s
for VietNamHungYen and was still at 186 violations after 35 s on Gymnasio; the focused neighbourhoods
repair VietNamHungYen in 0.7 s and Gymnasio in 22 s.

``solver.solve`` runs this first whenever a school has hard gap rules (FET's examples often do), then
optimises soft rules from the timetable found.
"""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable

from ortools.sat.python import cp_model

from .domain import HARD, Group, Lesson, Rule, School, Timetable
from .eject import EjectionSearch, Unsupported, place_on_two_cores
from .model import BuildOptions, BuildStopped, Option, TimetableModel, stop_at
from .rules import STUDENTS, TEACHERS

STRUCTURAL = frozenset({"max_gaps_per_day", "max_gaps_per_week"})
"""Hard rule types left out of step 1 and repaired in step 2."""

SUBSOLVE_SECONDS = 1.0
"""Time limit of one neighbourhood search; most finish (optimal) well before it."""

GAP_STEP_SECONDS = 0.5
"""The same for the gap repair. Its first searches, with many excess gaps around, run to the limit and
improve all along; shorter ones let the next hot spot start sooner. Time for the repair alone to reach
no excess gap from one placement, medians over seeds 0-4 in two sets: Oradea 6.1 and 5.1 s against 7.1
and 8.6 s with 1 s; seeds 0-1: Bethlen 23.0 s against 28.0 s, liceo-scientifico 59.7 s against 59.4 s."""

FIRST_SEARCH = 12.0
"""Seconds at most for CP-SAT's search for the most periods it places quickly, when no complete placement
was found (Gymnasio, Brazil, VietNamHungYen and the other files it places at all take 1-5 s)."""

QUICK_SEARCH = 5.0
"""Seconds at most for a first search on ``QUICK_WORKERS`` workers with one light presolve pass, before
each of the longer searches below. With two workers CP-SAT's feasibility jump, which finds the first
placement on every file where one was found, has a core to itself. Medians of 7 seeds, against 8 workers
with full presolve: Brazil 0.26 s (2.1), VietNamHungYen 0.24 s (1.1), WTHS 0.67 s (4.1); Oradea and
Gymnasio with compact days 0.37 s and 0.52 s. Bethlen and German-100_and_0 need the longer search
(``PLAIN_WORKERS``).
Without ``QUICK_LEFT_OUT``, whole solves to the first complete timetable (medians of seeds 0-4) took
longer on shc-2013 (5.3 s against 4.4 s, 10.7 s at most against 4.7 s) and WTHS (3.8 s against 3.0 s)."""

QUICK_WORKERS = 2

QUICK_LEFT_OUT = ["feasibility_pump", "rins/rens"]
"""Subsolvers left out of the quick search: with two workers they share the second core with the
feasibility jump, and the pump alone took up to 1.7 s of it on shc-2013."""

QUICK_JUMP_DECAY = 1.0
"""Decay of the feasibility jump's constraint weights in the quick search: none (CP-SAT's default is
0.95), so a constraint that was often violated keeps its weight. Wall time of the quick search alone,
medians of seeds 0-7 or 0-11 against the default, with searches that found nothing (2.5 s without
presolve, 5 s with) counted as misses: Brazil 0.12 s against 0.19 s, shc-2013 0.24 s against 0.28 s
(no miss against one of 12), MAPS 0.62 s against 1.27 s, Arabic_Saudi_2 0.35 s against 0.89 s,
secondary-school (Spain) 1.64 s against 1.87 s (no miss against two of 8), test-2012 one miss of 8
against four, Van_RhynFinal four against eight; no more than a hundredth worse on the 13 other files
tried (VietNamHungYen, Gymnasio, Oradea and WTHS among them)."""

PLAIN_SEARCH = 120.0
"""Seconds at most for CP-SAT's own search for a complete placement without compact days, per attempt
(and half the time limit). Longer than ``FIRST_SEARCH``: measured on FET's two Bethlen files, it places
everything in 17-59 s (seven runs), where the placement repair that follows stalls about 36 periods
short. On a slower machine Bethlen took 53-58 s in two runs, and in a third missed the 60 s this was
before: the placement repair and a second attempt found nothing in the rest of the 240 s."""

PLAIN_WORKERS = 4
"""Workers of that search: CP-SAT's SAT search without LP (``PLAIN_SUBSOLVERS``) and the feasibility
jump, which found every first placement of Bethlen and German-100_and_0 in the full portfolio. With 2
cores the other subsolvers of 8 workers only took CPU from them. Seeds 0-2 on Bethlen: 13-27 s against
31-52 s with the full portfolio; German-100_and_0 within 150 s: seeds 0-5, 4 of 6 (30-98 s) against 2
(114 s), then 46 and 64 s for seeds 1-2 without the subsolvers of ``QUICK_LEFT_OUT``. Whole solves of
Bethlen, three each: placed at 31-36 s against 42-47 s, first complete timetable 34-47 s against
49-52 s."""

PLAIN_SUBSOLVERS = ["no_lp", "quick_restart_no_lp"]

PLAIN_SHARE = 0.5
"""Share of the time limit for that search."""

COMPACT_ANYWAY = 0.5
"""Share of the subgroups with no gaps and an early start whose days must be compact whatever the
placement for step 1 to go straight to the longer search (``compact_anyway``)."""

LIGHT_STEP_WORKERS = 4
"""Workers of one neighbourhood search of the gap repair, with a light presolve. Four runs each, medians
of the whole relax and repair: Oradea 5.1 s against 7.2 s with 8 workers and full presolve,
VietNamHungYen 2.0 s against 2.9 s; Gymnasio, three runs, 24-55 s against 34-142 s."""

PATIENCE = 30
"""Neighbourhood searches without improvement before the repair accepts a worse placement."""

WIDE_AFTER = 8
"""Neighbourhood searches without a lower first item of the score (fewer excess gaps) before every second
one is wide (see ``Repair``). A better tie-break alone (fewer gaps in all) does not count: it kept
German-100_and_0's repair from ever widening while 2-5 excess gaps were left. The gap repair alone from
one placement each, seeds 0-17: no excess gap within 40 s in 17 runs against 12 (median 10.0 s against
12.1 s); Gymnasio, seeds 0-31: median 8.1 s against 7.7 s (within 60 s in 31 runs against 32);
liceo-scientifico, seeds 0-15: 1.7 s against 1.4 s; Oradea and Bethlen, seeds 0-7, as before. With 3,
the gap repair alone from one placement each, seeds 0-2: Gymnasio 6.1-12.2 s (median 7.0 s) against
5.7-19.0 s (18.4 s), but German-100_and_0 22.9-49.7 s (34.6 s) against 8.0-41.6 s (16.7 s)."""

WIDE_SECONDS = 4.0
"""Time limit of one wide neighbourhood search. A class of liceo-scientifico kept its last gap for
60 s: with the rest fixed, freeing every day of the class and its teachers proved no better placement
(207 blocks); two rounds of sharing people on every day (587 blocks) found none in 30 s; two rounds on
the class's day and one other found a placement without it on 2 of 5 other days in 4 s, on none in
2 s."""

DAY_EVERY = 4
"""Once ``WIDE_AFTER`` searches brought no fewer excess gaps, every fourth neighbourhood search of a repair
with a day pass re-places a hot spot's whole day within the day. Gymnasio's gap repair alone, seeds 0-11 from the same placements:
zero excess gaps at a median of 16.1 s (47.5 s at most) against 22.4 s (73.3 s, and one run stuck at 3
excess gaps after 60 s); a last teacher with gaps on two days took moves of several classes on one day.
liceo-scientifico and Bethlen, two seeds each, step 1 included: 32-34 s against 20-31 s and 21-26 s
against 21-26 s."""

EJECT_SEARCH = 40.0
"""Seconds at most, and half the longer search's share, for the ejection search over free periods as
lessons (``place_by_ejection``) before CP-SAT's longer search."""

EJECT_RESTART = 36_000
"""Moves of one such ejection search before it starts again from nothing with another seed (a count of
moves, unlike seconds, does not depend on the machine). German-100_and_0, seeds 0-14, 12 s each: 5
placed everything, at 29,900-35,200 moves (6.5-8.5 s); the other 10 stayed 1-5 periods short to the
end, at 37,900-57,400 moves; seeds 1000-1007 placed everything in none of 8 runs of 36,000 moves. On a
faster machine, seeds 0-19 placed everything in 7 of 20 at 2.9-8.4 s and one at 16.6 s."""

EJECT_KEMPE = (10, 60)
"""Kempe chain tries and length of that search (``EjectionSearch``): every period of a subgroup is taken
there, so a block moves only by trading places. German-100_and_0, 40 s each: seeds 0-9 placed everything
in 5 runs (2.9-20.6 s) against 1 of seeds 0-3 (14.0 s) and 3 of seeds 4-9 (38.7-43.9 s) with the
defaults (3, 20); with (20, 120), 3 of seeds 0-9 within 20 s (8.8-13.4 s)."""

RESTART_AFTER = 40.0
"""Seconds of repair without a new lowest count of excess gaps before the repair gives up: relax and
repair then repairs the same placement again or, after ``REPAIRS_PER_PLACEMENT`` repairs, starts again
from a new placement. The repair's runs differ a lot: liceo-scientifico reached zero at 46 s in one run and
stayed at 2 until its deadline (240 s) in another; Gymnasio reaches zero in 22-38 s."""

REPAIRS_PER_PLACEMENT = 2
"""Gap repairs from one step-1 placement, each with its own seed, before step 1 starts again. Whether a
repair stalls is mostly chance: German-100_and_0, four repairs from each of three placements, twice
(60 s and 90 s each): 22 of 24 reached no excess gap; both misses started from one placement, from which
six other repairs reached it in 14.6-39.1 s. A new placement costs more than a repair may: step 1 took
3.0-3.4 s with seed 0 and 27.6 s with seed 1. Whole solves of German-100_and_0 with the repair giving
up after 10 s instead of 40 s, so that stalls are common, 12 runs each, interleaved: first complete
timetable at a median of 12.9 s (6.3-90.0 s) against 18.9 s (6.0-111.7 s) with a new placement at
once. Of the three repeated repairs, two reached no excess gap in 4-6 s."""


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
        late_days = []
        for d in range(tm.n_days):
            cells = [sum(occupied.get((d, p), [])) for p in tm.open_periods(res, d)]
            for i in range(1, len(cells) - 1):
                model.add(cells[i] >= cells[i + 1])
            if len(cells) > 1:
                late = model.new_bool_var("")
                model.add(cells[0] + late >= cells[1])
                late_days.append(late)
        if late_days:
            model.add(sum(late_days) <= bound)


def daily_minimums(tm: TimetableModel, hard: list) -> dict:
    """Subgroup -> the periods it must have every day, from hard daily minimums that allow no empty day,
    where they leave at most the last period of each day open.

    Only those: such a subgroup's days are compact whatever the placement (``compact_anyway``). Bethlen's
    minimum of 5 of 7 periods leaves two open, and its busy periods with it made whole solves slower
    (seeds 0-2: 12.4-14.2 s against 7.9-11.3 s)."""
    minimum: dict = {}
    for rule in hard:
        if rule.type == "min_periods_per_day" and not rule.params.get("allow_empty_days", True):
            for res in tm.targets(rule):
                minimum[res] = max(minimum.get(res, 0), int(rule.params["min"]))
    return {
        res: need
        for res, need in minimum.items()
        if all(len(tm.open_periods(res, d)) - need <= 1 for d in range(tm.n_days))
    }


def free_periods_as_lessons(tm: TimetableModel, hard: list, compact: list) -> School | None:
    """``tm``'s school as the ejection search reads it, when students have no gaps and an early start
    (``compact``): each free period of such a subgroup is a lesson of its own at the last period of a
    day, one a day, so every period of the subgroup is taken and its days are compact wherever its
    lessons go; each day off a teacher must have (max days a week) is a lesson of a whole day. The rules
    this implies are left out, and so are the other gap rules, which the gap repair keeps.

    None where that does not hold: breaks, a later start allowed some days, unavailable times of those
    students or teachers, more free periods a week than days."""
    school = tm.school
    n_days, n_periods = tm.n_days, tm.n_periods
    if school.calendar.breaks or not compact or any(int(r.params["max_second_hour"]) for r in compact):
        return None
    students = set().union(*(_subgroups(school, r) for r in compact))
    class_of = {s: c.id for c in school.classes for s in school.subgroups_of.get(c.id, ())}
    groups, lessons, free_periods = list(school.groups), list(school.lessons), []
    for subgroup in sorted(students):
        free = n_days * n_periods - tm.load(("students", subgroup))
        if not 0 <= free <= n_days:
            return None
        if free:
            name = f"free period:{subgroup}"
            groups.append(Group(id=name, class_id=class_of[subgroup], name=name, subgroups=[subgroup]))
            lessons.append(Lesson(id=name, subject="", groups=[name], blocks=[1] * free, min_days_apart=1))
            free_periods.append(name)
    days_off: dict[str, int] = {}
    implied = [r for r in hard if r.type == "max_days_per_week" and r.scope in TEACHERS]
    for rule in implied:
        for teacher in [rule.target] if rule.scope == "teacher" else [t.id for t in school.teachers]:
            if tm.uses.get(("teacher", teacher)):
                days_off[teacher] = max(days_off.get(teacher, 0), n_days - int(rule.params["max"]))
    for rule in hard:
        if rule.type != "unavailable":
            continue
        if rule.scope == "all_teachers" or (rule.scope == "teacher" and rule.target in days_off):
            return None
        if rule.scope in STUDENTS and _subgroups(school, rule) & students:
            return None
    for teacher, off in sorted(days_off.items()):
        if off > 0:
            name = f"day off:{teacher}"
            lessons.append(
                Lesson(id=name, subject="", teachers=[teacher], blocks=[n_periods] * off, min_days_apart=1)
            )
    rules = [r for r in hard if r.type not in STRUCTURAL and r not in compact and r not in implied]
    if free_periods:
        ends = [(d, n_periods - 1) for d in range(n_days)]
        rules.append(
            Rule(
                id="free period",
                type="preferred_times",
                scope="lessons",
                target=free_periods,
                params={"slots": ends, "mode": "start"},
            )
        )
    return dataclasses.replace(school, groups=groups, lessons=lessons, rules=rules)


def place_by_ejection(
    tm: TimetableModel,
    hard: list,
    compact: list,
    seconds: float,
    cancel: threading.Event | None,
    seed: int = 0,
    stop: Callable[[], bool] | None = None,
) -> dict | None:
    """Every block of ``tm`` placed by the ejection search over ``free_periods_as_lessons``, started again
    with another seed every ``EJECT_RESTART`` moves, on two cores (``place_on_two_cores``), as block ->
    option of ``tm``; None where that school does not apply or the ejection search does not read its
    rules, or when nothing was found in ``seconds``."""
    deadline = time.monotonic() + seconds
    free = free_periods_as_lessons(tm, hard, compact)
    if free is None:
        return None
    try:
        search = EjectionSearch(
            TimetableModel(free, BuildOptions(require_all=False, expand_combined=True, stop=stop)),
            seed,
            *EJECT_KEMPE,
        )
    except Unsupported:
        return None
    found = place_on_two_cores(search, deadline, EJECT_RESTART, seed, cancel)
    if found is None:
        return None
    chosen = tm.same_options(found)
    return chosen if len(chosen) == len(tm.blocks) else None


def busy_cells(tm: TimetableModel, res, rule, minimum: int = 0) -> list[list[tuple[int, int]]]:
    """Per day, the periods a subgroup under ``rule`` (no gaps and an early start) is busy in whatever
    the placement: its day is one run from the first available period (or the second, on late days), of
    at least ``minimum`` periods, and ``k`` periods free a week leave every period but the last ``k`` of
    a day busy."""
    late = int(rule.params["max_second_hour"]) > 0
    days = [[(d, p) for p in tm.open_periods(res, d)] for d in range(tm.n_days)]
    free = sum(map(len, days)) - tm.load(res)
    return [cells[int(late) : max(min(minimum, len(cells)), len(cells) - free)] for cells in days]


def compact_anyway(tm: TimetableModel, rules: list, minimums: dict) -> bool:
    """Whether at least ``COMPACT_ANYWAY`` of the subgroups of ``rules`` (no gaps and an early start) have
    days that are compact whatever the placement: lessons in every period they can take, or a daily
    minimum that leaves at most the last period of each day open (``minimums``, from ``daily_minimums``). The busy periods
    (``add_busy_periods``) then say all of it in a form CP-SAT propagates, so step 1 skips both quick
    searches: German-100_and_0 (79% of its subgroups full) and Bethlen (54%) never placed anything in
    them (four seeds each), and spent 7.5 s there; liceo-scientifico's classes must have 4 of their 5
    periods every day, and compact days found nothing in 5 s in four runs.

    One free period a week would do as well, but Gymnasio's subgroups (all of them so) are placed with
    compact days in under a second: whole solves, seeds 0-2, 5.1-10.2 s against 21.2-43.5 s by the
    longer search."""
    subgroups = {res: rule for rule in rules for res in tm.targets(rule) if tm.occupancy.get(res)}

    anyway = sum(
        tm.fills_week(res) or (int(rule.params["max_second_hour"]) == 0 and res in minimums)
        for res, rule in subgroups.items()
    )
    return bool(subgroups) and anyway >= COMPACT_ANYWAY * len(subgroups)


def add_busy_periods(tm: TimetableModel, rule, minimums: dict | None = None) -> int:
    """No gaps and an early start, as the periods they imply a subgroup is busy in (``busy_cells``), each
    taken by exactly one block: plain constraints CP-SAT's complete search propagates, unlike compact
    days' inequalities over sums; the number of subgroups. ``minimums``: subgroup -> periods it must
    have every day (``daily_minimums``).

    On German-100_and_0 (every subgroup free at most one period a week) the longer placement search
    found a placement with seeds 0-2 in 36-98 s, without a student gap, and the gap repair went on from
    each to none in 3-74 s. Without them, none of 11 repair runs from three placements reached zero
    in 50-120 s, and 10 ended with gaps in the fifth classes, whose five subgroups share every period
    of the week but one; with compact days the search found no placement in 150 s (seeds 0-1). Whole
    solves of German-100_and_0: complete in 6 of 7 runs, at 58-120 s (before: one of four). Bethlen, two
    runs each: complete at 23-26 s against 32-48 s.
    """
    minimums = minimums or {}
    count = 0
    for res in tm.targets(rule):
        occupied = tm.occupancy.get(res, {})
        if not occupied:
            continue
        busy = [cell for cells in busy_cells(tm, res, rule, minimums.get(res, 0)) for cell in cells]
        if not busy:
            continue
        count += 1
        for cell in busy:
            tm.require_busy(occupied.get(cell, []))
    return count


@dataclasses.dataclass
class WarmStart:
    timetable: Timetable | None
    """A complete timetable keeping every hard rule, or None when none was found in time."""
    seconds: float
    steps: list[str]
    closest: dict[tuple[str, int], tuple] | None = None
    """When no timetable was found: the placement with the fewest excess gaps, every other hard rule
    kept, as block -> (start, room name); the engine keeps as much of it as the gap rules allow. When
    no attempt placed every block, the partial placement with the fewest periods left instead."""


def _run(
    model: cp_model.CpModel,
    seconds: float,
    workers: int,
    cancel: threading.Event | None,
    core: bool = False,
    seed: int = 0,
    quick: bool = False,
    plain: bool = False,
    deadline: float | None = None,
):
    """CP-SAT's search, stopped by ``cancel``, for ``seconds`` and never past ``deadline``; ``quick`` runs
    it as ``QUICK_SEARCH`` describes, ``plain`` as ``PLAIN_WORKERS`` does."""
    if deadline is not None:
        # Building the model took time out of the step's share (Bethlen_2007_2008 at 15 s: its longer
        # search started at 12.5 s, past relax and repair's 12 s, and took 3.4 s).
        seconds = min(seconds, deadline - time.monotonic())
        if seconds <= 0:
            # None at all: loading a large model alone takes CP-SAT seconds (Econ-Timisoara: 2.5 s for a
            # search of 0.1 s).
            return None
    solver = cp_model.CpSolver()
    solver.parameters.max_time_in_seconds = max(seconds, 0.1)
    solver.parameters.num_workers = workers
    if quick:
        quick_search(solver.parameters)
    if plain:
        solver.parameters.num_workers = min(workers, PLAIN_WORKERS)
        solver.parameters.subsolvers.extend(PLAIN_SUBSOLVERS)
        solver.parameters.ignore_subsolvers.extend(QUICK_LEFT_OUT)
    solver.parameters.random_seed = seed
    solver.parameters.catch_sigint_signal = False
    if core:
        # Maximising placed periods: several times faster with the core subsolver (see solver.solve).
        solver.parameters.extra_subsolvers.append("core")
    done = threading.Event()

    def watch() -> None:
        # stop_search() before the solve has started is ignored, so keep asking until it returns.
        while not done.wait(0.05):
            if cancel is not None and cancel.is_set():
                solver.stop_search()

    thread = threading.Thread(target=watch, daemon=True)
    thread.start()
    try:
        status = solver.solve(model)
    finally:
        done.set()
        thread.join()
    if status in (cp_model.OPTIMAL, cp_model.FEASIBLE):
        return solver
    return None


def quick_search(parameters, presolve: bool = True) -> None:
    """The parameters of the quick search (``QUICK_SEARCH``); ``presolve``: one light pass, or none.

    Without presolve, medians of the first complete timetable over seeds: WTHS 1.9 s against 2.7 s,
    shc-2013 1.6 s against 3.0 s, the 914-period demo 1.2 s against 2.1 s, all with only hard rules in
    the model. But it misses where presolve does not (shc-2013, one seed in 16 found nothing in 5 s), so
    a second search has it. Step 1 of relax and repair needs it (Brazil 7.1 s against 0.8 s,
    VietNamHungYen 6.3 s against 1.2 s)."""
    parameters.num_workers = QUICK_WORKERS
    light_presolve(parameters)
    parameters.cp_model_presolve = presolve
    parameters.ignore_subsolvers.extend(QUICK_LEFT_OUT)
    parameters.feasibility_jump_decay = QUICK_JUMP_DECAY


def light_presolve(parameters) -> None:
    """One presolve pass without probing or symmetries: on the 914-period demo, full presolve took 4-5x
    the CPU time of the search it prepared."""
    parameters.max_presolve_iterations = 1
    parameters.cp_model_probing_level = 0
    parameters.symmetry_level = 0


def _chosen(tm: TimetableModel, solver: cp_model.CpSolver) -> dict[tuple[str, int], Option]:
    """Block -> its option in the solution, for every placed block."""
    return {b.key: o for b, o in tm.chosen(list(solver.response_proto.solution))}


def complete_timetable(tm: TimetableModel, chosen: dict[tuple[str, int], Option], total: int) -> Timetable:
    """The complete timetable of a placement, with a room from its pool for every pooled block."""
    pairs = [(tm.block_by_key[key], opt) for key, opt in chosen.items()]
    return Timetable(placements=tm.placements(pairs), placed=total, total=total, status="warm start")


def starts_and_rooms(
    tm: TimetableModel, chosen: dict[tuple[str, int], Option]
) -> dict[tuple[str, int], tuple]:
    """A placement (block -> option) as ``WarmStart.closest`` holds it: block -> (start, room name)."""
    placements = complete_timetable(tm, chosen, len(chosen)).placements
    return {(p.lesson, p.block): (p.slot, p.room) for p in placements}


def day_gaps(tm: TimetableModel, rules: list, chosen: dict[tuple[str, int], Option]) -> dict:
    """(resource, day) -> gaps in the placement ``chosen`` (block -> option), for every resource ``rules``
    cover that has any.

    Gaps are counted as FET does (and as ``TimetableModel.gaps_on_day``): free periods between the first
    and last busy one, breaks and the resource's unavailable periods left out.
    """
    busy: dict = defaultdict(set)
    for key, opt in chosen.items():
        block = tm.block_by_key[key]
        for res in tm.resources_of(block.lesson):
            busy[res].update(tm.covered(opt.slot, block.length))
    gaps: dict = {}
    for res in {res for rule in rules for res in tm.targets(rule)}:
        cells = busy.get(res)
        if not cells:
            continue
        for d in range(tm.n_days):
            on = [i for i, p in enumerate(tm.open_periods(res, d)) if (d, p) in cells]
            if len(on) > 1 and on[-1] - on[0] + 1 > len(on):
                gaps[(res, d)] = on[-1] - on[0] + 1 - len(on)
    return gaps


def gap_excess(tm: TimetableModel, rules: list, chosen: dict[tuple[str, int], Option]) -> tuple[dict, int]:
    """(resource, day) -> gaps over the limit of ``rules`` in the placement ``chosen`` (block -> option),
    and the gaps of every resource the rules cover (see ``day_gaps``). For a weekly limit the excess is
    charged to every day that has gaps, since moving any of them helps.
    """
    gaps = day_gaps(tm, rules, chosen)
    excess: dict = defaultdict(int)
    all_gaps = 0
    for rule in rules:
        bound = int(rule.params["max"])
        for res in tm.targets(rule):
            days = {d: gaps[(res, d)] for d in range(tm.n_days) if (res, d) in gaps}
            all_gaps += sum(days.values())
            if rule.type == "max_gaps_per_day":
                for d, n in days.items():
                    if n > bound:
                        excess[(res, d)] += n - bound
            elif sum(days.values()) > bound:
                for d in days:
                    excess[(res, d)] += sum(days.values()) - bound
    return excess, all_gaps


def excess_elsewhere(tm: TimetableModel, rules: list, gaps: dict, day: int) -> int:
    """The excess gaps of ``rules`` as the model counts them (once per resource for a weekly limit) that
    no move within ``day`` can remove: those of the other days, ``gaps`` being ``day_gaps``."""
    total = 0
    for rule in rules:
        bound = int(rule.params["max"])
        for res in tm.targets(rule):
            others = [gaps.get((res, d), 0) for d in range(tm.n_days) if d != day]
            if rule.type == "max_gaps_per_day":
                total += sum(max(0, n - bound) for n in others)
            else:
                total += max(0, sum(others) - bound)
    return total


_UNWRITTEN = object()
"""A block ``Repair.fixed_at`` has not written yet: unlike None (unplaced), no placement matches it."""


class _StopBelow(cp_model.CpSolverSolutionCallback):
    """Stops a search at its first solution with an objective below ``bound``."""

    def __init__(self, bound: int):
        super().__init__()
        self.bound = bound

    def on_solution_callback(self) -> None:
        if self.objective_value < self.bound:
            self.stop_search()


class Repair:
    """A large neighbourhood search of our own, from a placement towards a score of zero.

    A subclass gives the score of a placement (a tuple compared in order; its first item must reach 0)
    and its hot spots: (resources, day, blocks that must be placed) where the score can be improved. Each
    step picks a hot spot, fixes every block outside a neighbourhood of it and lets CP-SAT re-place the rest; a result
    no worse than the current placement is kept (equal ones too, to move across plateaus). The
    neighbourhood grows while its searches end proven optimal without improving, and shrinks when they
    run out of time, as CP-SAT's own neighbourhood searches do. After ``PATIENCE`` steps without
    improvement the next result is taken even if worse, a kick out of a local minimum (seen on
    VietNamHungYen: one excess gap left for minutes in one run of four).

    After ``WIDE_AFTER`` steps without a lower first item every second step is wide, when the subclass allows
    it: two rounds of sharing people (the people of the hot spot, everyone sharing a block with them,
    and everyone sharing a block with those) on the hot spot's day and one other, searched for
    ``WIDE_SECONDS``. The people around a last gap are often locked by their own neighbours' rules.
    With a day pass, every ``DAY_EVERY``-th step then re-places a hot spot's whole day instead.
    """

    what = "left"
    light_steps = False
    """Whether each search runs on ``LIGHT_STEP_WORKERS`` workers with one light presolve pass."""
    wide_steps = False
    """Whether a stalled search takes wide steps (see above)."""
    step_seconds = SUBSOLVE_SECONDS
    """Time limit of a search that is not wide."""
    done_below: int | None = None
    """An objective below which a search stops at once: its placement has a score of zero, and what it
    would still optimise is only a tie-break."""
    day_pass = False
    """Whether the first searches are the day pass: one per day with hot spots, the most first, each
    re-placing every block of that day within the day (and, once stalled, every ``DAY_EVERY``-th search
    is one such day, of a hot spot). For the gap repair, from one placement each
    (seed 1): Oradea 225 excess gaps to none in 2.5 s (about 5 s without), Bethlen 170 to 3 in 1.2 s
    (none at 5.9 s; about 23 s without), liceo-scientifico 193 to 46 in 1.6 s (none at 45 s; about
    60 s without), Gymnasio 572 to 83 in 2.6 s (none at 10.7 s)."""

    def __init__(self, tm: TimetableModel, workers: int, seed: int = 0):
        self.tm = tm
        self.workers = workers
        self.random = random.Random(seed)
        self.size = 2.0
        """Days in a neighbourhood; beyond the week, how many rounds of sharing people to add."""
        self.values: list[int] = []
        """The full solution (every variable) of the last search that found one."""
        self.fixed: cp_model.CpModel | None = None
        self.fixed_as: dict[tuple[str, int], Option | None] = {}
        """Where ``fixed`` holds each block (see ``fixed_at``)."""

    def score(self, chosen: dict) -> tuple[tuple[int, ...], list]:
        """(the score, the hot spots) of a placement: block -> option of every placed block."""
        raise NotImplementedError

    def neighbourhood(self, chosen: dict, spot: tuple, wide: bool = False) -> set[tuple[str, int]]:
        """Blocks of a hot spot's resources and of everyone sharing a block with them, on the hot spot's
        day and other random days, and every unplaced block of these people; ``wide``: two rounds of
        sharing people, on two days."""
        tm = self.tm
        on_day: dict = defaultdict(list)
        for key, opt in chosen.items():
            for res in tm.resources_of(tm.block_by_key[key].lesson):
                on_day[(res, opt.slot[0])].append(key)
        resources, day, _ = spot
        wanted = 2 if wide else int(self.size)
        rounds = 2 if wide else 1 + max(0, wanted - tm.n_days)
        others = [d for d in range(tm.n_days) if d != day]
        days = {day, *self.random.sample(others, min(wanted, tm.n_days) - 1)}
        people = set(resources)
        for _ in range(rounds):
            sharing = {
                other
                for r in people
                for d in range(tm.n_days)
                for key in on_day[(r, d)]
                for other in tm.resources_of(tm.block_by_key[key].lesson)
            }
            people |= sharing
        free = {key for d in days for r in people for key in on_day[(r, d)]}
        free.update(
            b.key for b in tm.blocks if b.key not in chosen and people.intersection(tm.resources_of(b.lesson))
        )
        return free

    def day_done_below(self, chosen: dict, day: int) -> int | None:
        """For a search re-placing ``day`` within the day: an objective below which it stops at once,
        since nothing better is possible within the day (None: ``done_below``)."""
        return None

    def step(
        self,
        chosen: dict,
        free: set,
        seed: int,
        seconds: float,
        force: tuple = (),
        day: int | None = None,
        stop_below: int | None = None,
    ) -> tuple[dict | None, bool]:
        """Re-place the ``free`` blocks with every other block fixed (or left out, when unplaced), the
        blocks ``force`` placed, on ``day`` only when given, stopping at once below ``stop_below`` (or
        ``done_below``): (the new placement or None, whether the search was complete)."""
        tm = self.tm
        sub = self.fixed_at(chosen).clone()
        proto = sub.proto
        variables, hint = proto.variables, proto.solution_hint
        hinted, values = [], []
        for key in free:
            current = chosen.get(key)
            for opt in tm.block_by_key[key].options:
                if day is not None and opt.slot[0] != day:
                    continue
                domain = variables[opt.var.index].domain
                domain[0], domain[1] = 0, 1
                hinted.append(opt.var.index)
                values.append(int(opt is current))
        hint.vars.extend(hinted)
        hint.values.extend(values)
        for key in force:
            sub.add_exactly_one(o.var for o in tm.block_by_key[key].options)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = self.workers
        if self.light_steps:
            solver.parameters.num_workers = min(self.workers, LIGHT_STEP_WORKERS)
            light_presolve(solver.parameters)
        solver.parameters.random_seed = seed
        solver.parameters.max_time_in_seconds = seconds
        solver.parameters.catch_sigint_signal = False
        stop_below = self.done_below if stop_below is None else stop_below
        status = solver.solve(sub, None if stop_below is None else _StopBelow(stop_below))
        if status not in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            return None, status == cp_model.INFEASIBLE
        self.values = values = list(solver.response_proto.solution)
        # Only the free blocks can have moved.
        new = dict(chosen)
        for key in free.union(force):
            option = next((o for o in tm.block_by_key[key].options if values[o.var.index]), None)
            if option is None:
                new.pop(key, None)
            else:
                new[key] = option
        return new, status == cp_model.OPTIMAL

    def fixed_at(self, chosen: dict) -> cp_model.CpModel:
        """The model with every block fixed where ``chosen`` places it (every option off when unplaced),
        without hints; each search copies it and frees its neighbourhood. It is kept between searches
        and only blocks that moved since are rewritten. With the placement read back from the free
        blocks alone, a search on liceo-scientifico's full model (22,602 variables) took a median of
        0.215 s against 0.29 s when every option literal was rewritten each time."""
        tm = self.tm
        if self.fixed is None:
            self.fixed = tm.model.clone()
            self.fixed.clear_hints()
        variables = self.fixed.proto.variables
        for block in tm.blocks:
            current = chosen.get(block.key)
            if self.fixed_as.get(block.key, _UNWRITTEN) is current:
                continue
            for opt in block.options:
                domain = variables[opt.var.index].domain
                domain[0] = domain[1] = int(opt is current)
            self.fixed_as[block.key] = current
        return self.fixed

    def resize(self, complete: bool) -> None:
        """After a search that did not improve: a larger neighbourhood when it was complete (proven
        optimal or infeasible), a smaller one when it ran out of time."""
        biggest = self.tm.n_days + 3
        self.size = min(self.size + 0.25, biggest) if complete else max(self.size - 0.5, 1.0)

    def run(
        self,
        chosen: dict,
        deadline: float,
        cancel: threading.Event | None = None,
        report: Callable[[str, int], None] | None = None,
        give_up: float | None = None,
    ) -> tuple[dict, int, int]:
        """Search until the score is zero, the deadline, a cancel, or ``give_up`` seconds without a new
        lowest first item: (placement, first item of its score, steps). ``report`` hears of every new
        lowest first item: a line and the item."""
        total, spots = self.score(chosen)
        best = (total, chosen)
        # Steps without improvement (of the whole score) and without a lower first item.
        steps = stalled = flat = 0
        last_gain = time.monotonic()
        # Days of the hot spots, the most first, for the day pass.
        days = [d for d, _ in Counter(spot[1] for spot in spots).most_common()] if self.day_pass else []
        while total[0] and time.monotonic() < deadline and not (cancel and cancel.is_set()):
            if give_up is not None and time.monotonic() - last_gain > give_up:
                break
            steps += 1
            day = days.pop(0) if days else None
            # The day pass stops each day at the best the other days allow; a later day search also
            # lowers the gaps of any kind, which helps the stalled repair move on (Gymnasio, seeds
            # 0-11: median 20.9 s to no excess gap, one run stuck after 80 s, with the bound on those
            # too, against 16.1 s).
            stop_below = None if day is None else self.day_done_below(chosen, day)
            if day is None and self.day_pass and flat >= WIDE_AFTER and flat % DAY_EVERY == DAY_EVERY - 1:
                day = self.random.choice(spots)[1]
            if day is not None:
                wide, force, limit = False, (), self.step_seconds
                free = {key for key, opt in chosen.items() if opt.slot[0] == day}
            else:
                spot = self.random.choice(spots)
                wide = self.wide_steps and flat >= WIDE_AFTER and flat % 2 == 0
                free, force = self.neighbourhood(chosen, spot, wide), spot[2]
                limit = WIDE_SECONDS if wide else self.step_seconds
            # Only a search of ``self.size`` days may change that size: not a wide one, nor the day pass.
            sized = day is None and not wide
            seconds = max(min(limit, deadline - time.monotonic()), 0.05)
            new, complete = self.step(chosen, free, steps, seconds, force, day, stop_below)
            if new is None:
                stalled += 1
                flat += 1
                if sized:
                    # Infeasible: the forced block does not fit in this neighbourhood, so widen it.
                    self.resize(complete)
                continue
            new_total, new_spots = self.score(new)
            kick = stalled >= PATIENCE and new_total > total
            flat = 0 if new_total[0] < total[0] else flat + 1
            if new_total <= total or kick:
                stalled = 0 if new_total < total or kick else stalled + 1
                chosen, spots, total = new, new_spots, new_total
                if kick:
                    self.size = 2.0
            else:
                stalled += 1
            if new_total >= best[0] and not kick and sized:
                self.resize(complete)
            if total < best[0]:
                if total[0] < best[0][0]:
                    last_gain = time.monotonic()
                    if report is not None:
                        report(f"{self.what}: {total[0]}", total[0])
                best = (total, chosen)
        return best[1], best[0][0], steps


class GapRepair(Repair):
    """Step 2: remove the excess gaps of a complete placement.

    ``tm`` holds every hard rule with the gap rules turned into soft rules just below hard. Its objective
    is the excess gaps first, then all gaps of the people the rules cover: fewer gaps leave room to
    move, and the tie-break keeps the search moving on plateaus of equal excess.
    """

    what = "excess gaps left"
    light_steps = True
    wide_steps = True
    step_seconds = GAP_STEP_SECONDS
    day_pass = True

    def __init__(self, tm: TimetableModel, rules: list, workers: int, seed: int = 0):
        super().__init__(tm, workers, seed)
        self.rules = rules
        gaps = [
            tm.gaps_on_day(res, d) for rule in rules for res in tm.targets(rule) for d in range(tm.n_days)
        ]
        # The tie-break is below one excess gap, so a search is done once the first term is zero (Oradea,
        # last search: no excess gap left at 0.2 s, its 0.5 s spent on the tie-break).
        self.done_below = len(gaps) * tm.n_periods + 1
        tm.model.minimize(tm.soft_objective() * self.done_below + sum(gaps))
        self.weights = {rule.id: tm.penalties.get(rule.id, (0, []))[0] for rule in rules}

    def day_done_below(self, chosen: dict, day: int) -> int | None:
        """The excess gaps of the other days stay whatever this day holds: a search of the day is done
        when no more than those are left. Without this each search of the day pass ran to its time
        limit until the last day (Oradea: 0.5 s each). Relax and repair of Oradea, seeds 0-7: no excess
        gap at a median of 2.0 s against 2.65 s, faster with every seed."""
        gaps = day_gaps(self.tm, self.rules, chosen)
        fixed = sum(self.weights[r.id] * excess_elsewhere(self.tm, [r], gaps, day) for r in self.rules)
        return (fixed + 1) * self.done_below

    def score(self, chosen: dict) -> tuple[tuple[int, ...], list]:
        excess, gaps = gap_excess(self.tm, self.rules, chosen)
        # One hot spot per excess gap, so a day is picked in proportion to its excess. Six runs each,
        # medians of the whole relax and repair: Oradea 3.6 s against 4.2 s with one per day,
        # VietNamHungYen 1.4 s against 2.1 s; Gymnasio, four runs, 38 s against 37 s and 104 s in two sets.
        spots = [((res,), day, ()) for (res, day), n in sorted(excess.items()) for _ in range(n)]
        return (sum(excess.values()), gaps), spots


class PlacementRepair(Repair):
    """Step 1 when CP-SAT finds no complete placement in its share of the time: from a partial one,
    place the rest. ``tm`` is built with optional blocks (``require_all=False``), so its objective is
    the periods placed; the hot spots of an unplaced block are its teachers and students together, on
    each day it could take, with the block forced in: as FET does, placing it may push others out, and
    the search walks on while the count of placed periods stays the same."""

    what = "periods left to place"

    def score(self, chosen: dict) -> tuple[tuple[int, ...], list]:
        tm = self.tm
        unplaced = [b for b in tm.blocks if b.key not in chosen]
        spots = sorted(
            {(tuple(tm.resources_of(b.lesson)), o.slot[0], (b.key,)) for b in unplaced for o in b.options}
        )
        return (sum(b.length for b in unplaced),), spots


class SoftRepair(Repair):
    """Lower the soft score of a complete timetable that keeps every hard rule.

    ``tm`` is the full model with the soft score as its objective, and ``values`` its full solution for
    the starting placement. The hot spots are found in the model itself: for every penalty that costs
    points, the constraints defining it name the option literals taken (the blocks it is about, on their
    days) or the busy, day and gap variables of a resource on a day (those that are not zero).
    Neighbourhoods of our own around them (see ``Repair``) beat CP-SAT's generic ones on FET's examples,
    whose hard gap rules make most of CP-SAT's neighbourhoods infeasible.
    """

    what = "soft score"
    light_steps = True
    """Measured from one complete timetable of liceo-scientifico, the score after 120 s: median 3,012 over
    seeds 0-5 with light steps (2,565, 3,926, 3,478, 2,849, 3,009, 3,015), 4,042 over seeds 0-2 with 8
    workers and full presolve (3,403, 4,042, 4,232)."""

    def __init__(self, tm: TimetableModel, values: list[int], workers: int, seed: int = 0):
        super().__init__(tm, workers, seed)
        self.values = values
        """The full solution of the placement last scored: the start, then each search's result."""
        self.block_of = {o.var.index: b for b in tm.blocks for o in b.options}
        self.resource_day = tm.resource_days()
        self.penalties = penalties = {v.index: c for v, c in tm.objective_terms()}
        # Penalty variable -> variables of the constraints it appears in.
        self.around: dict[int, set[int]] = defaultdict(set)
        for ct in tm.model.proto.constraints:
            if ct.has_linear():
                refs = list(ct.linear.vars)
            elif ct.has_lin_max():
                refs = [*ct.lin_max.target.vars, *(v for e in ct.lin_max.exprs for v in e.vars)]
            elif ct.has_bool_or():
                refs = list(ct.bool_or.literals)
            else:
                continue
            refs = [r if r >= 0 else -r - 1 for r in refs]
            for r in refs:
                if r in penalties:
                    self.around[r].update(refs)

    def score(self, chosen: dict) -> tuple[tuple[int, ...], list]:
        values, tm = self.values, self.tm
        total = 0
        spots = set()
        for index, weight in self.penalties.items():
            if not values[index]:
                continue
            total += weight * values[index]
            for ref in self.around[index]:
                block = self.block_of.get(ref)
                if block is not None and values[ref] and block.key in chosen:
                    spots.add((tuple(tm.resources_of(block.lesson)), chosen[block.key].slot[0], ()))
                elif values[ref] and ref in self.resource_day:
                    res, day = self.resource_day[ref]
                    spots.add(((res,), day, ()))
        return (total,), sorted(spots)


def has_hard_gap_rules(school: School) -> bool:
    """Whether ``relax_and_repair`` should find the school's first complete timetable."""
    return any(r.enabled and r.weight >= HARD and r.type in STRUCTURAL for r in school.rules)


def gaps_as_soft(hard: list) -> list:
    """The hard rules with the gap rules (``STRUCTURAL``) as soft rules just below hard."""
    return [dataclasses.replace(r, weight=HARD - 1) if r.type in STRUCTURAL else r for r in hard]


def place_everything(
    school: School,
    hard: list,
    time_limit: float,
    workers: int,
    cancel: threading.Event | None,
    steps: list[str],
    report: Callable[[str, bool], None] | None,
    seed: int = 0,
    failed: set[str] | None = None,
    partial: list | None = None,
) -> tuple[TimetableModel, dict] | None:
    """Step 1: every block placed, every hard rule kept except the gap rules; (its model, the placement).
    The model of a placement found by CP-SAT alone holds the gap rules as soft rules, ready for step 2.

    CP-SAT's own search first, with compact days (the quick search alone) and then without, but with
    the busy periods compact days imply (``PLAIN_SEARCH``, ``add_busy_periods``); when that finds
    nothing (GYR needs far longer), as many periods as CP-SAT places quickly, and ``PlacementRepair``
    for the rest. When some are still left, ``partial`` (if given) receives (periods left, the
    placement as block -> (start, room name)).
    """
    start = time.monotonic()
    end = start + time_limit
    stop = stop_at(end, cancel)
    structural = [r for r in hard if r.type in STRUCTURAL]
    compact = compact_early_rules(school, hard)
    brief = min(time_limit * 0.15, FIRST_SEARCH)

    def note(line: str, placed: bool) -> None:
        steps.append(line)
        if report is not None:
            report(line, placed)

    failed = set() if failed is None else failed
    relaxed = gaps_as_soft(hard)
    for rules in [compact, []] if compact and "compact" not in failed else [[]]:
        # Compact days get the quick search alone. Where they are found at all, it finds them (seeds
        # 0-5: liceo-scientifico 0.8-4.4 s, Oradea and Gymnasio under 1 s); Bethlen spent 7 s more on
        # 8 workers for nothing (75 s found them once in three seeds, at 65 s).
        budget = min(brief, QUICK_SEARCH) if rules else min(time_limit * PLAIN_SHARE, PLAIN_SEARCH)
        # The gap rules are soft here, so the search (with no objective) leaves them alone, and step 2
        # repairs them in this same model; compact days only restate hard rules, so they stay.
        kept = [r for r in relaxed if r not in rules]
        tm = TimetableModel(
            dataclasses.replace(school, rules=kept), BuildOptions(require_all=True, stop=stop)
        )
        # After compact days found nothing, the quick search without them gets half as long: where it
        # places anything, it is fast (liceo-scientifico, seeds 0-2: 0.7-0.8 s), and German-100_and_0 and
        # Bethlen, where compact days fail, found nothing in 5 s in 4 seeds each.
        quick = min(QUICK_SEARCH / 2 if "compact" in failed else QUICK_SEARCH, budget)
        minimums = daily_minimums(tm, hard)
        direct = bool(compact) and compact_anyway(tm, compact, minimums)
        if direct:
            # Straight to the longer search, with the early-start rules as they are.
            for rule in rules:
                tm.rule_early_start(rule)
            rules, quick = [], 0.0
            budget = min(time_limit * PLAIN_SHARE, PLAIN_SEARCH)
            failed.add("compact")
        for rule in rules:
            add_compact_days(tm, rule)
        solver = (
            _run(tm.model, quick, workers, cancel, seed=seed, quick=True, deadline=end) if quick else None
        )
        if direct:
            chosen = place_by_ejection(tm, hard, compact, min(budget / 2, EJECT_SEARCH), cancel, seed, stop)
            if chosen is not None:
                note(
                    f"without {len(structural)} gap rule(s): placed by pushing others out at "
                    f"{time.monotonic() - start:.1f} s",
                    True,
                )
                return tm, chosen
        if solver is None and budget > quick:
            tm.fill_full_weeks()
            for rule in compact:
                add_busy_periods(tm, rule, minimums)
            solver = _run(tm.model, budget - quick, workers, cancel, seed=seed, plain=True, deadline=end)
        what = f"without {len(structural)} gap rule(s)" + (", with compact days" if rules else "")
        if solver is not None:
            note(f"{what}: placed at {time.monotonic() - start:.1f} s", True)
            return tm, _chosen(tm, solver)
        note(f"{what}: no placement in {budget:.0f} s", False)
        if direct:
            break
        if rules:
            failed.add("compact")
    light = [r for r in hard if r.type not in STRUCTURAL]
    tm = TimetableModel(dataclasses.replace(school, rules=light), BuildOptions(require_all=False, stop=stop))
    solver = _run(tm.model, brief, workers, cancel, core=True, seed=seed, deadline=end)
    chosen = _chosen(tm, solver) if solver is not None else {}
    repair = PlacementRepair(tm, workers, seed)
    left = repair.score(chosen)[0][0]
    note(f"placed all but {left} period(s) at {time.monotonic() - start:.1f} s, placing the rest", False)
    deadline = start + time_limit * 0.65
    chosen, left, n = repair.run(
        chosen, deadline, cancel, report and (lambda line, _: report(line, False)), give_up=RESTART_AFTER
    )
    note(
        f"{left} period(s) left after {n} neighbourhood search(es), at {time.monotonic() - start:.1f} s",
        False,
    )
    if left and chosen and partial is not None:
        partial.append((left, starts_and_rooms(tm, chosen)))
    return (tm, chosen) if not left else None


def gap_repair_model(
    school: School,
    hard: list,
    first: TimetableModel,
    placed: dict,
    built: TimetableModel | None = None,
    stop: Callable[[], bool] | None = None,
) -> tuple[TimetableModel, dict]:
    """The model the gap repair works in, and step 1's placement (``first``'s ``placed``) in it.

    Step 1's own model when it holds the gap rules as soft rules already. Building another took 0.7-1.3 s
    on Oradea; steps 1 and 2, seeds 1-12 interleaved: medians 6.5 s against 8.1 s (seed 0 alone, ten runs
    each: 6.55 s against 6.37 s). Otherwise ``built`` when given (one from an earlier attempt), else a new
    one; both models have the same blocks and options (rooms and pools do not depend on the gap rules).
    """
    if first.options.require_all:
        return first, placed
    if built is None:
        built = TimetableModel(
            dataclasses.replace(school, rules=gaps_as_soft(hard)), BuildOptions(require_all=True, stop=stop)
        )
    return built, built.same_options(placed)


def relax_and_repair(
    school: School,
    time_limit: float,
    workers: int = 8,
    cancel: threading.Event | None = None,
    report: Callable[[str, bool], None] | None = None,
) -> WarmStart:
    """A complete timetable keeping every hard rule, found in two steps (see the module docstring).

    When step 1 places nothing, or the repair finds no lower count of excess gaps (or periods left to
    place) for ``RESTART_AFTER`` seconds, both steps start again with other seeds, while at least that
    much time is left; a repair that stalls is first tried again from the same placement, with another
    seed (``REPAIRS_PER_PLACEMENT``).

    ``report`` receives a line on each step and on each improvement of the repair, and whether every
    block is placed by then."""
    start = time.monotonic()
    deadline = start + time_limit
    hard = [r for r in school.rules if r.enabled and r.weight >= HARD]
    structural = [r for r in hard if r.type in STRUCTURAL]
    steps: list[str] = []
    total = school.total_periods()
    second = None
    closest: tuple[int, dict] | None = None
    # Step 1's partial placements, (periods left, placement): the nearest when no attempt placed all.
    # MED_2019-20-1 at 300 s, one run: the first attempt left 67 of 809 periods, the second 558, and the
    # engine's fallback, which started from nothing, ended with 456 left.
    partial: list[tuple[int, dict]] = []
    attempt = 0
    failed: set[str] = set()

    def nearest() -> dict | None:
        if closest is not None:
            return closest[1]
        return min(partial, key=lambda p: p[0])[1] if partial else None

    def no_time_to_restart() -> bool:
        return deadline - time.monotonic() < RESTART_AFTER or (cancel is not None and cancel.is_set())

    def stopped() -> WarmStart:
        # A model too large to build in the time left, or a cancel during its build.
        seconds = time.monotonic() - start
        why = "cancelled" if cancel is not None and cancel.is_set() else "time limit reached"
        line = f"{why} while building a model, at {seconds:.1f} s"
        steps.append(line)
        if report is not None:
            report(line, False)
        return WarmStart(None, seconds, steps, nearest())

    while True:
        # A variant of step 1 that found nothing is not tried again (compact days on liceo-scientifico).
        try:
            found = place_everything(
                school,
                hard,
                deadline - time.monotonic(),
                workers,
                cancel,
                steps,
                report,
                attempt,
                failed,
                partial,
            )
        except BuildStopped:
            return stopped()
        if found is None:
            if no_time_to_restart():
                return WarmStart(None, time.monotonic() - start, steps, nearest())
            attempt += 1
            if report is not None:
                report("starting again with other seeds", False)
            continue
        first, placed = found
        if not structural:
            return WarmStart(complete_timetable(first, placed, total), time.monotonic() - start, steps)
        try:
            second, chosen = gap_repair_model(school, hard, first, placed, second, stop_at(deadline, cancel))
        except BuildStopped:
            return stopped()
        placement = chosen
        for again in range(REPAIRS_PER_PLACEMENT):
            if report is not None:
                report("repairing the gap rules" + (" again, from the same placement" if again else ""), True)
            repair = GapRepair(second, structural, workers, seed=attempt + 1000 * again)
            chosen, left, n = repair.run(
                placement,
                deadline,
                cancel,
                report and (lambda line, _: report(line, True)),
                give_up=RESTART_AFTER,
            )
            seconds = time.monotonic() - start
            steps.append(f"excess gaps left: {left} after {n} neighbourhood search(es), at {seconds:.1f} s")
            if not left:
                return WarmStart(complete_timetable(second, chosen, total), seconds, steps)
            if closest is None or left < closest[0]:
                closest = (left, starts_and_rooms(second, chosen))
            if no_time_to_restart():
                return WarmStart(None, seconds, steps, closest[1])
        attempt += 1
        if report is not None:
            report(f"starting again from another placement ({left} excess gap(s) left)", False)
