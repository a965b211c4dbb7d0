"""The CP-SAT model of a school: variables, built-in hard constraints and one method per rule type.

Formulation: one boolean per (lesson block, start time[, room]) "option". A block is placed when exactly
one of its options is true. Every resource (teacher, student subgroup, room) gets, for every slot, the
list of option literals that occupy it; clashes are ``add_at_most_one`` over those lists. Measured on
this machine this solves several times faster than interval variables.

Interchangeable rooms form a *pool*: rooms that appear in exactly the same lessons' room lists and that no
rule or pin names, hard unavailable times aside when they are the same for every room of the pool. A pool
is one resource of capacity ``len(pool)`` per slot, and rooms are given to blocks afterwards by interval
colouring (``assign_rooms``), which is exact because blocks are intervals within a day. A lab lesson then
has one literal per start instead of one per start and lab; a language lesson allowed its home room or
any language room has two (home, language pool). German-100_and_0's two sports halls, shut at the same
times, are one pool (fewer literals; its placement search was no faster for it, seeds 0-11: median
31.9 s against 32.8 s).

Hard rules that only forbid times (hard ``unavailable``, hard ``preferred_times``, pins, breaks) shrink
the option lists before any variable exists, so they cost nothing in the search.

Adding a rule family: write ``rule_<type>(self, rule)`` (and, when the hard form only removes times,
``prune_<type>(self, rule)``). Use ``targets``/``rule_lessons`` for the scope, the primitives
(``periods_on_day``, ``busy``, ``day_busy``, ``gaps_on_day``) for the quantities, and ``limit``/``penalize``
to make the result hard or soft by the rule's weight.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from ortools.sat.python import cp_model
from ortools.util.python.sorted_interval_list import Domain

from .domain import HARD, Lesson, Placement, Rule, School, Slot, one_from_each

Resource = tuple[str, str]
"""``("teacher", id)``, ``("students", subgroup)``, ``("room", id)`` or ``("pool", "LAB1+LAB2")``."""

RELAXED_SPREAD_WEIGHT = 10
"""Weight given to hard subject-spread rules when strict balancing is relaxed to reach full placement."""

EXPAND_COMBINED = 64
"""Ways at most to take a combined room's real rooms for its options to be expanded
(``BuildOptions.expand_combined``); beyond, the option keeps a literal per real room. FET's German
test-virtual-rooms-2 has 11 (one of three halls, and one of four rooms with the first hall); its
test-virtual-rooms-1 has up to 5 sets of the same 34 rooms."""

REAL_ROOM_SECONDS = 10.0
"""Time limit of the search giving blocks in combined rooms their real rooms (``give_real_rooms``)."""


@dataclass
class Option:
    """One way to place a block: start ``slot``, in ``room``, or in some room of ``pool``.

    Both are None when the lesson needs no room.
    """

    slot: Slot
    room: str | None
    var: cp_model.IntVar
    pool: tuple[str, ...] | None = None
    real_rooms: tuple[str, ...] = ()
    """The real rooms it takes, in a combined room whose options are expanded
    (``BuildOptions.expand_combined``)."""


@dataclass
class BlockVars:
    """The decision variables of one block of one lesson."""

    lesson: Lesson
    index: int
    length: int
    options: list[Option] = field(default_factory=list)
    placed: cp_model.IntVar | None = None
    """Literal "this block is placed"; None when the model requires every block."""

    @property
    def key(self) -> tuple[str, int]:
        return (self.lesson.id, self.index)


@dataclass
class BuildOptions:
    """What kind of model to build.

    ``require_all``: every block must be placed (phase 1). Otherwise each block has a ``placed`` literal
    and the objective maximises placed periods. ``balancing`` sets the weight of ``subject_spread`` rules:
    ``"strict"`` makes them all hard, ``"relaxed"`` turns the hard ones into soft rules of weight
    ``RELAXED_SPREAD_WEIGHT``, ``"as-is"`` keeps the school's weights.
    """

    require_all: bool = True
    balancing: str = "as-is"
    soft: bool = True
    """Include soft rules. The search for a first complete timetable leaves them out: they cannot make
    it infeasible, and their variables double the presolve time."""
    soft_minimums: bool = False
    """Hard minimum rules (``MINIMUM_RULES``) become soft rules just below hard. For incomplete timetables
    (the fallback): a timetable with lessons left out often cannot reach the minimums, and keeping them
    hard left CP-SAT with no timetable at all on FET's Gymnasio and liceo-scientifico (0 periods placed)."""
    expand_combined: bool = False
    """A block in a combined room gets one option per way to take its real rooms (``room_combinations``),
    each taking those rooms as a room option takes its room, instead of one option with a literal per
    real room (``add_real_rooms``). For the ejection search, which reads only option literals."""
    stop: Callable[[], bool] | None = field(default=None, compare=False, repr=False)
    """Asked between the steps of the build (every rule, every few dozen lessons): True stops it with
    ``BuildStopped``, for a time limit reached or a solve cancelled. FET's Diff1T (5,433 activities over
    33 days) builds a model of 2 million variables for 97 s and 4.8 GB; unstopped, a solve of it given
    60 s took 269 s and 11 GB, and placed nothing."""


class BuildStopped(Exception):
    """The build was stopped (``BuildOptions.stop``) before the model was complete."""


def stop_at(deadline: float, cancel: threading.Event | None = None) -> Callable[[], bool]:
    """A ``BuildOptions.stop`` for a ``time.monotonic()`` deadline and an optional cancel event."""
    return lambda: time.monotonic() >= deadline or (cancel is not None and cancel.is_set())


MINIMUM_RULES = frozenset({"min_periods_per_day", "min_days_per_week"})

MINIMUM_PRIORITY = 1000
"""With ``soft_minimums``, each point of a hard minimum rule weighs this many times its weight in the
objective, far above the soft rules (liceo-scientifico's whole soft score is about 10,000 points): the
fallback meets the minimums first when it can."""


class TimetableModel:
    """Builds the CP-SAT model of a school. ``build()`` always starts from an empty model."""

    ROOMS_MATTER = frozenset({"max_rooms", "same_room_if_consecutive"})
    """Rule types that need each option's own room: the rooms their lessons may use are not pooled."""

    BUILDINGS_MATTER = frozenset(
        {"max_building_changes_per_day", "max_building_changes_per_week", "min_gaps_between_building_changes"}
    )
    """Rule types that need each option's building: a pool then holds rooms of one building only. On FET's
    Econ-Timisoara (1,166 activities, building rules for every subgroup), one option per room made a model
    of a million variables that took 62 s to build."""

    def __init__(self, school: School, options: BuildOptions | None = None):
        self.school = school
        self.options = options or BuildOptions()
        self.build()

    # ------------------------------------------------------------------ building

    def build(self) -> cp_model.CpModel:
        """(Re)build the whole model from the school; every container is reset first."""
        self.model = cp_model.CpModel()
        cal = self.school.calendar
        self.n_days, self.n_periods = cal.n_days, cal.n_periods
        self.breaks: set[Slot] = set(cal.breaks)
        self.lessons = self.school.active_lessons()
        self.lesson_order = {x.id: k for k, x in enumerate(self.lessons)}
        self.subgroups = {x.id: sorted(self.school.lesson_subgroups(x)) for x in self.lessons}
        self.people: dict[str, list[Resource]] = {
            x.id: [("teacher", t) for t in x.teachers] + [("students", g) for g in self.subgroups[x.id]]
            for x in self.lessons
        }
        self.blocks: list[BlockVars] = []
        self.block_by_key: dict[tuple[str, int], BlockVars] = {}
        self.lesson_blocks: dict[str, list[BlockVars]] = {}
        # Resource -> slot -> literals of the options occupying it.
        self.occupancy: dict[Resource, dict[Slot, list[cp_model.IntVar]]] = defaultdict(
            lambda: defaultdict(list)
        )
        # Resource -> (block, option) pairs using it; rooms only see options in that room.
        self.uses: dict[Resource, list[tuple[BlockVars, Option]]] = defaultdict(list)
        # Hard pruning, filled by the prune_* methods before variables exist.
        self.forbidden: dict[Resource, set[Slot]] = defaultdict(set)
        self.allowed_starts: dict[tuple[str, int], set[Slot]] = {}
        self.pruned_by: dict[tuple[str, int], list[str]] = defaultdict(list)
        # Soft rule id -> (weight, amount variables); the objective is sum(weight * amount).
        self.penalties: dict[str, tuple[int, list[cp_model.IntVar]]] = {}
        self.building_of = {r.id: r.building for r in self.school.rooms}
        # Combined rooms -> their sets of real rooms (``add_real_rooms``).
        self.combined: dict[str, list[list[str]]] = {
            r.id: r.real_rooms for r in self.school.rooms if r.real_rooms
        }
        # Room pools: room -> its pool, pool -> its resource and capacity.
        self.pool_of: dict[str, tuple[str, ...]] = self.find_pools()
        self.pools: dict[tuple[str, ...], Resource] = {
            pool: ("pool", "+".join(pool)) for pool in set(self.pool_of.values())
        }
        self.capacity: dict[Resource, int] = {res: len(pool) for pool, res in self.pools.items()}
        # A combined room never clashes itself (its real rooms do); its own times still count.
        self.capacity.update({("room", r): len(self.school.lessons) + 1 for r in self.combined})
        self._busy: dict[tuple[Resource, Slot], cp_model.IntVar] = {}
        self._cells: dict[tuple[Slot, int], tuple[Slot, ...]] = {}
        self._by_day: dict[tuple[str, int], list[list[cp_model.IntVar]]] = {}
        self._day_busy: dict[tuple[Resource, int], cp_model.IntVar] = {}
        self._gaps: dict[tuple[Resource, int], cp_model.IntVar] = {}
        self._changes: dict[tuple, list[cp_model.IntVar]] = {}
        self._sums: dict[tuple[int, ...], cp_model.IntVar] = {}
        self._edges: dict[tuple[Resource, str], tuple[dict, dict]] = {}
        self._building_options: dict[Resource, list[list[dict[str, list[cp_model.IntVar]]]]] = {}
        # Subgroups of one class share most lessons: identical hard constraints are added once.
        self._seen: set[tuple] = set()
        self.soft_minimum_rules = {
            r.id
            for r in self.active_rules()
            if self.options.soft_minimums and r.type in MINIMUM_RULES and r.weight >= HARD
        }

        self.wished = self.wished_rooms()
        for rule in self.active_rules():
            prune = getattr(self, f"prune_{rule.type}", None)
            if prune is not None and self.weight(rule) >= HARD:
                prune(rule)
        self._building = True
        try:
            self.add_block_variables()
            self.check_stop()
            self.add_placement()
            self.add_clashes()
            self.check_stop()
            self.add_days_apart()
            for rule in self.active_rules():
                if self.options.soft or self.weight(rule) >= HARD:
                    self.check_stop()
                    getattr(self, f"rule_{rule.type}")(rule)
        finally:
            self._building = False
        self.set_objective()
        return self.model

    def check_stop(self) -> None:
        """Raise ``BuildStopped`` when ``BuildOptions.stop`` says so."""
        if self.options.stop is not None and self.options.stop():
            raise BuildStopped(f"the model of {len(self.lessons)} lessons was stopped before it was complete")

    def check_stop_building(self) -> None:
        """``check_stop`` during ``build`` only: the primitives ask it per person and day, since one rule
        over every subgroup can take seconds (Econ-Timisoara: 4.3 s for its min gaps between building
        changes); called later, by the repair searches on a built model, they never stop."""
        if self._building:
            self.check_stop()

    def active_rules(self) -> list[Rule]:
        return [r for r in self.school.rules if r.enabled]

    def weight(self, rule: Rule) -> int:
        """The weight the rule has in this model (strict balancing changes subject spread)."""
        if self.options.soft_minimums and rule.type in MINIMUM_RULES and rule.weight >= HARD:
            return HARD - 1
        if rule.type == "subject_spread":
            if self.options.balancing == "strict":
                return HARD
            if self.options.balancing == "relaxed" and rule.weight >= HARD:
                return RELAXED_SPREAD_WEIGHT
        return rule.weight

    def find_pools(self) -> dict[str, tuple[str, ...]]:
        """Room -> its pool, for rooms that can be modelled together as one resource with a capacity."""
        named: set[str] = set()
        # Hard unavailable times only remove options: rooms shut at exactly the same times still pool.
        shut: dict[str, set] = defaultdict(set)
        buildings = any(rule.type in self.BUILDINGS_MATTER for rule in self.active_rules())
        building = self.building_of if buildings else {}
        for rule in self.active_rules():
            if rule.scope == "all_rooms":
                return {}
            if rule.type in self.ROOMS_MATTER:
                # The rooms its lessons may use keep their own options; the others still pool (MED_2019-20-1
                # with no pool at all: 158,000 options, 14 s of presolve before any search).
                named.update(r for lesson in self.rule_lessons(rule) for r in lesson.rooms)
                continue
            if rule.scope == "room" and rule.type == "unavailable" and self.weight(rule) >= HARD:
                for _, r in self.targets(rule):
                    shut[r].update(tuple(s) for s in rule.params.get("slots", []))
            elif rule.scope == "room":
                named.update(r for _, r in self.targets(rule))
            named.update(rule.params.get("rooms", []))
        for lesson in self.lessons:
            named.update(p.room for p in lesson.pinned if p.room)
        # Combined rooms and their real rooms each keep their own literals.
        for room, sets in self.combined.items():
            named.add(room)
            named.update(r for names in sets for r in names)
        # Rooms listed by exactly the same lessons are interchangeable.
        lessons_of: dict[str, set[str]] = defaultdict(set)
        for lesson in self.lessons:
            for r in lesson.rooms:
                lessons_of[r].add(lesson.id)
        alike: dict[tuple[frozenset, frozenset, str], list[str]] = defaultdict(list)
        for r, lesson_ids in lessons_of.items():
            if r not in named:
                alike[(frozenset(lesson_ids), frozenset(shut.get(r, ())), building.get(r, ""))].append(r)
        return {r: tuple(sorted(rooms)) for rooms in alike.values() if len(rooms) > 1 for r in rooms}

    def wished_rooms(self) -> dict[str, set[str]]:
        """Lesson -> rooms its soft preferred-room rules name, for lessons that need no room.

        As in FET, such a lesson takes one of them when it can and no room otherwise (FET's Bethlen has 157
        such rules)."""
        wished: dict[str, set[str]] = defaultdict(set)
        if not self.options.soft:
            return wished
        for rule in self.active_rules():
            if rule.type == "preferred_rooms" and self.weight(rule) < HARD:
                for lesson in self.rule_lessons(rule):
                    if not lesson.rooms:
                        wished[lesson.id].update(rule.params.get("rooms", []))
        return wished

    def room_choices(self, lesson: Lesson) -> list[tuple[str | None, tuple[str, ...] | None]]:
        """(room, pool) alternatives of a lesson: single rooms, and each pool once. A lesson that needs no
        room has none, or one of the rooms a soft rule wishes for it (``wished_rooms``)."""
        if not lesson.rooms:
            return [(None, None)] + [(r, None) for r in sorted(self.wished.get(lesson.id, ()))]
        choices: dict = {}
        for r in sorted(set(lesson.rooms)):
            pool = self.pool_of.get(r)
            choices[(None, pool) if pool else (r, None)] = None
        return list(choices)

    def resources_of(self, lesson: Lesson) -> list[Resource]:
        """Teachers and student subgroups a lesson occupies (rooms depend on the option); one list per
        lesson, shared by every caller, so never changed in place. The neighbourhood searches of
        ``solver.relax`` ask for it tens of thousands of times a minute."""
        return self.people[lesson.id]

    def covered(self, slot: Slot, length: int) -> tuple[Slot, ...]:
        """The slots a block of ``length`` starting at ``slot`` occupies (cached: called 10^5 times)."""
        key = (slot, length)
        cells = self._cells.get(key)
        if cells is None:
            cells = self._cells[key] = tuple((slot[0], slot[1] + i) for i in range(length))
        return cells

    def add_block_variables(self) -> None:
        """One literal per feasible (block, start, room); breaks, pins and hard pruning remove options."""
        # A literal without a name, its domain shared: twice as fast as ``new_bool_var`` (WTHS: 42,707).
        proto, zero_one = self.model.model_proto, Domain(0, 1)

        def new_literal(_: str) -> cp_model.IntVar:
            return cp_model.IntVar(proto).with_domain(zero_one)

        # Starts of a block of some length where no period is a break or blocked for its people; lessons
        # of the same people share them.
        fitting: dict[tuple, list[tuple[Slot, tuple[Slot, ...]]]] = {}
        ways = {room: self.room_combinations(room) for room in self.combined}
        for n, lesson in enumerate(self.lessons):
            if n % 64 == 63:
                self.check_stop()
            people = self.resources_of(lesson)
            pins = {p.block: p for p in lesson.pinned}
            choices = self.room_choices(lesson)
            # A pool's rooms are shut at the same times (``find_pools``).
            room_shut = {
                (room, pool): self.forbidden.get(("room", room or pool[0]))
                for room, pool in choices
                if room is not None or pool is not None
            }
            room_res = {(room, pool): self.room_of(room, pool) for room, pool in choices}
            # A lesson whose real rooms are fixed takes them: one set each.
            own = self.fixed_real_rooms(lesson)
            fixed = [[r] for r in own]
            combinations = {
                room: [tuple(own)] if own and ways[room] is not None else ways[room]
                for room, _ in choices
                if room in ways
            }
            self.lesson_blocks[lesson.id] = []
            for k, length in enumerate(lesson.blocks):
                block = BlockVars(lesson, k, length)
                allowed = self.allowed_starts.get(block.key)
                pin = pins.get(k)
                fits = fitting.get((length, *people))
                if fits is None:
                    blocked = set(self.breaks).union(*(self.forbidden.get(r, ()) for r in people))
                    fits = fitting[(length, *people)] = [
                        ((d, p), cells)
                        for d in range(self.n_days)
                        for p in range(self.n_periods - length + 1)
                        if blocked.isdisjoint(cells := self.covered((d, p), length))
                    ]
                # Every person of the lesson gets the same literals in the same cells: gathered once
                # per block, then added per person a cell at a time (WTHS: 873 lessons, up to 45
                # subgroups each).
                at_cell: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
                in_rooms: list[tuple[Resource, Option, tuple[Slot, ...]]] = []
                for slot, cells in fits:
                    if pin is not None and pin.slot != slot:
                        continue
                    if allowed is not None and slot not in allowed:
                        continue
                    for room, pool in choices:
                        if pin is not None and pin.room is not None and room != pin.room:
                            continue
                        shut = room_shut.get((room, pool))
                        if shut and not shut.isdisjoint(cells):
                            continue
                        for real in combinations.get(room) or [()]:
                            if real and any(
                                not self.forbidden.get(("room", r), set()).isdisjoint(cells) for r in real
                            ):
                                continue
                            # Unnamed: names of 10^5 option literals cost build time and memory.
                            opt = Option(slot, room, new_literal(""), pool, real)
                            block.options.append(opt)
                            for c in cells:
                                at_cell[c].append(opt.var)
                            where = room_res[(room, pool)]
                            if where is not None:
                                in_rooms.append((where, opt, cells))
                            in_rooms.extend((("room", r), opt, cells) for r in real)
                            if room in self.combined and not real:
                                self.add_real_rooms(opt, cells, fixed or self.combined[room])
                uses = [(block, opt) for opt in block.options]
                cell_literals = list(at_cell.items())
                for res in people:
                    self.uses[res].extend(uses)
                    occupied = self.occupancy[res]
                    for c, literals in cell_literals:
                        occupied[c].extend(literals)
                # Rooms after people: the order of resources is the order of the clash constraints,
                # which CP-SAT's search is sensitive to.
                for where, opt, cells in in_rooms:
                    self.uses[where].append((block, opt))
                    occupied = self.occupancy[where]
                    for c in cells:
                        occupied[c].append(opt.var)
                self.blocks.append(block)
                self.block_by_key[block.key] = block
                self.lesson_blocks[lesson.id].append(block)

    def fixed_real_rooms(self, lesson: Lesson) -> list[str]:
        """A lesson's fixed real rooms in the order of its combined room's sets (``one_from_each``)."""
        if not lesson.real_rooms or len(lesson.rooms) != 1 or lesson.rooms[0] not in self.combined:
            return []
        return one_from_each(self.combined[lesson.rooms[0]], lesson.real_rooms) or list(lesson.real_rooms)

    def room_combinations(self, room: str) -> list[tuple[str, ...]] | None:
        """The ways a block in combined room ``room`` can take its real rooms, one of each set, all
        different, each set of rooms once; None unless the model expands them
        (``BuildOptions.expand_combined``) and there are at most ``EXPAND_COMBINED``."""
        if not self.options.expand_combined:
            return None
        ways: dict[frozenset, tuple[str, ...]] = {}
        for real in itertools.product(*self.combined[room]):
            if len(set(real)) == len(real):
                ways.setdefault(frozenset(real), real)
                if len(ways) > EXPAND_COMBINED:
                    return None
        return list(ways.values())

    def add_real_rooms(self, opt: Option, cells: tuple[Slot, ...], sets: list[list[str]]) -> None:
        """An option in a combined room takes one real room of each set: sets with the same rooms are
        taken together, ``m`` identical sets as ``m`` of their rooms, with one literal per room, ``m`` of
        them true when the option is. Each literal is in its room's clash constraints, so no room is
        taken twice, within a set or across sets. (FET's German test-virtual-rooms-1 has up to five sets
        of the same 34 rooms: 34 literals an option, against 170 with a literal per room of each set.)"""
        alike: dict[frozenset, int] = defaultdict(int)
        for names in sets:
            alike[frozenset(names)] += 1
        for names, m in alike.items():
            literals = []
            for r in sorted(names):
                shut = self.forbidden.get(("room", r))
                if shut and not shut.isdisjoint(cells):
                    continue
                literal = self.model.new_bool_var("")
                literals.append(literal)
                occupied = self.occupancy[("room", r)]
                for c in cells:
                    occupied[c].append(literal)
            self.model.add(sum(literals) == m * opt.var)

    def room_resource(self, opt: Option) -> Resource | None:
        return self.room_of(opt.room, opt.pool)

    def room_of(self, room: str | None, pool: tuple[str, ...] | None) -> Resource | None:
        """The resource an option in ``room``, or in some room of ``pool``, occupies (None: no room)."""
        if pool is not None:
            return self.pools[pool]
        return ("room", room) if room is not None else None

    def add_placement(self) -> None:
        """Each block placed once (required), or at most once with a ``placed`` literal (optional)."""
        for block in self.blocks:
            literals = [o.var for o in block.options]
            if self.options.require_all:
                if literals:
                    self.model.add_exactly_one(literals)
                else:
                    # No option at all: the model is infeasible, which phase 1 reports and phase 2 explains.
                    self.model.add_bool_or([])
            else:
                block.placed = self.model.new_bool_var(f"placed[{block.lesson.id},{block.index}]")
                self.model.add(sum(literals) == block.placed)

    def add_clashes(self) -> None:
        """No teacher, subgroup or room does two things at once; a pool holds len(pool) blocks at once."""
        for n, (res, slots) in enumerate(self.occupancy.items()):
            if n % 256 == 255:
                self.check_stop()
            capacity = self.capacity.get(res, 1)
            for literals in slots.values():
                # Each literal is one object, added in lesson order to every list it is in, so equal
                # lists hold the same objects in the same order.
                if len(literals) > capacity and self.first_time(("clash", capacity, *map(id, literals))):
                    if capacity == 1:
                        self.model.add_at_most_one(literals)
                    else:
                        self.model.add(sum(literals) <= capacity)

    def fill_full_weeks(self) -> int:
        """When every block is required: a teacher or subgroup whose lessons fill every period they can
        take is busy in each of them, exactly once, which CP-SAT does not infer. The number of such
        people.

        Not part of ``build()``: the equalities help CP-SAT's complete search (Bethlen, 27 full
        subgroups: a first placement in a median of 18 s over six seeds, against 34 s) but slow its
        local search, which the quick searches lean on (VietNamHungYen: 1.4 s against 0.3 s)."""
        if not self.options.require_all:
            return 0
        full = 0
        for res in self.uses:
            if res[0] not in ("teacher", "students"):
                continue
            if not self.fills_week(res):
                continue
            full += 1
            for literals in self.occupancy[res].values():
                self.require_busy(literals)
        return full

    def fills_week(self, res: Resource) -> bool:
        """Whether the lessons of a teacher or subgroup fill every period they can take."""
        return self.load(res) == len(self.occupancy[res])

    def load(self, res: Resource) -> int:
        """Periods of lessons of a teacher, subgroup or room."""
        return sum(b.length for b in {b.key: b for b, _ in self.uses.get(res, [])}.values())

    def require_busy(self, literals: list) -> None:
        """Exactly one of the options covering a period is taken (once per set of options)."""
        if literals and self.first_time(("full", *sorted(v.index for v in literals))):
            self.model.add_exactly_one(literals)

    def add_days_apart(self) -> None:
        """Blocks of one lesson fall at least ``min_days_apart`` days apart; blocks never overlap."""
        for lesson in self.lessons:
            blocks = self.lesson_blocks[lesson.id]
            if len(blocks) < 2:
                continue
            gap = lesson.min_days_apart
            if gap >= 1:
                # Any window of `gap` consecutive days holds at most one block of the lesson.
                for first in range(self.n_days - gap + 1):
                    days = range(first, first + gap)
                    self.model.add_at_most_one(o.var for b in blocks for o in b.options if o.slot[0] in days)
            elif not self.resources_of(lesson):
                # Nothing else keeps blocks of a lesson without teachers or students from overlapping.
                cells: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
                for b in blocks:
                    for o in b.options:
                        for c in self.covered(o.slot, b.length):
                            cells[c].append(o.var)
                for literals in cells.values():
                    if len(literals) > 1:
                        self.model.add_at_most_one(literals)

    def set_objective(self) -> None:
        """Optional placement maximises placed periods; required placement starts with no objective,
        so that CP-SAT stops at the first complete timetable (``minimize_soft`` comes after)."""
        self.model.clear_objective()
        if not self.options.require_all:
            self.model.maximize(sum(b.length * b.placed for b in self.blocks))

    def minimize_soft(self) -> None:
        """Make the soft score (sum of weight x violation amount) the objective."""
        self.model.clear_objective()
        if self.penalties:
            self.model.minimize(self.soft_objective())

    def objective_terms(self) -> list[tuple[cp_model.IntVar, int]]:
        """(amount, coefficient) of every penalty in the soft objective: the rule's weight, times
        ``MINIMUM_PRIORITY`` for hard minimums made soft (``BuildOptions.soft_minimums``)."""
        return [
            (v, w * (MINIMUM_PRIORITY if rule_id in self.soft_minimum_rules else 1))
            for rule_id, (w, amounts) in self.penalties.items()
            for v in amounts
        ]

    def soft_objective(self) -> cp_model.LinearExprT:
        return sum(c * v for v, c in self.objective_terms())

    def soft_score(self, values: list[int]) -> int:
        """The soft objective's value in a full solution (every variable) of the model."""
        return sum(c * values[v.index] for v, c in self.objective_terms())

    def first_time(self, key: tuple) -> bool:
        """True the first time a hard constraint with this key is seen (to skip duplicates)."""
        if key in self._seen:
            return False
        self._seen.add(key)
        return True

    # ------------------------------------------------------------------ scope

    def targets(self, rule: Rule) -> list[Resource]:
        """The teachers, subgroups or rooms a rule applies to. Class and group rules apply per subgroup."""
        target = rule.target
        ids = [target] if isinstance(target, str) else list(target or [])
        if rule.scope == "teacher":
            return [("teacher", t) for t in ids]
        if rule.scope == "all_teachers":
            return [("teacher", t.id) for t in self.school.teachers]
        if rule.scope == "group":
            subgroups = sorted(set().union(*(self.school.subgroups_of.get(g, frozenset()) for g in ids)))
            return [("students", s) for s in subgroups]
        if rule.scope == "all_groups":
            return [("students", s) for s in self.school.all_subgroups()]
        if rule.scope == "room":
            return [("room", r) for r in ids]
        if rule.scope == "all_rooms":
            return [("room", r.id) for r in self.school.rooms]
        return []

    def rule_lessons(self, rule: Rule) -> list[Lesson]:
        """The lessons a lesson-set rule (``lesson``, ``lessons``, ``subject``, ``teacher``, ``group``) covers."""
        target = rule.target
        ids = set([target] if isinstance(target, str) else list(target or []))
        if rule.scope in ("lesson", "lessons"):
            # In lesson order, looked up by id: FET files have thousands of such rules (shc-2013: 1,300).
            found = [self.lesson_order[i] for i in ids if i in self.lesson_order]
            return [self.lessons[k] for k in sorted(found)]
        if rule.scope == "subject":
            return [x for x in self.lessons if x.subject in ids]
        if rule.scope == "teacher":
            return [x for x in self.lessons if ids & set(x.teachers)]
        if rule.scope == "group":
            students = {s for _, s in self.targets(rule)}
            return [x for x in self.lessons if students & set(self.subgroups[x.id])]
        return []

    # ------------------------------------------------------------------ primitives

    def busy(self, res: Resource, slot: Slot) -> cp_model.IntVar:
        """Boolean: the resource is occupied at the slot (exact, since clashes are forbidden)."""
        key = (res, slot)
        if key not in self._busy:
            literals = self.occupancy.get(res, {}).get(slot, [])
            var = self.model.new_bool_var("")
            self.model.add(cp_model.LinearExpr.sum(literals) == var)
            self._busy[key] = var
        return self._busy[key]

    def periods_on_day(self, res: Resource, day: int) -> cp_model.LinearExprT:
        self.check_stop_building()
        pairs = [(o.var, b.length) for b, o in self.uses.get(res, []) if o.slot[0] == day]
        return cp_model.LinearExpr.weighted_sum([v for v, _ in pairs], [n for _, n in pairs])

    def blocks_on_day(self, res: Resource, day: int) -> cp_model.LinearExprT:
        return cp_model.LinearExpr.sum([o.var for _, o in self.uses.get(res, []) if o.slot[0] == day])

    def day_busy(self, res: Resource, day: int) -> cp_model.IntVar:
        """Boolean: the resource has at least one block on the day."""
        self.check_stop_building()
        key = (res, day)
        if key not in self._day_busy:
            starts = [o.var for _, o in self.uses.get(res, []) if o.slot[0] == day]
            var = self.model.new_bool_var(f"day[{res[0]}:{res[1]},{day}]")
            if starts:
                self.model.add_max_equality(var, starts)
            else:
                self.model.add(var == 0)
            self._day_busy[key] = var
        return self._day_busy[key]

    def open_periods(self, res: Resource, day: int) -> list[int]:
        """The periods of a day, in order, without breaks and the resource's hard-unavailable ones."""
        off = self.breaks | self.forbidden.get(res, set())
        return [p for p in range(self.n_periods) if (day, p) not in off]

    def gaps_on_day(self, res: Resource, day: int) -> cp_model.IntVar:
        """Free periods between the first and last busy period of the day.

        Breaks and the resource's hard-unavailable periods are left out, as FET does. Gaps are the
        periods inside the span minus the busy ones, with the span from prefix/suffix "has started" and
        "has not ended" flags, all exact so the count is right in every solution, not only optimal ones.
        """
        self.check_stop_building()
        key = (res, day)
        if key in self._gaps:
            return self._gaps[key]
        model = self.model
        periods = self.open_periods(res, day)
        occupied = self.occupancy.get(res, {})
        periods_used = [p for p in periods if occupied.get((day, p))]
        var = model.new_int_var(0, max(len(periods) - 2, 0), f"gaps[{res[0]}:{res[1]},{day}]")
        self._gaps[key] = var
        if len(periods_used) < 2:
            model.add(var == 0)
            return var
        # Only periods between the first and last possibly-busy period can be gaps.
        periods = [p for p in periods if periods_used[0] <= p <= periods_used[-1]]
        busy = [self.busy(res, (day, p)) for p in periods]
        name = f"{res[0]}:{res[1]},{day}"
        started, ended = [], []
        for i, b in enumerate(busy):
            if i == 0:
                started.append(b)
                continue
            s = model.new_bool_var(f"started[{name},{i}]")
            model.add_max_equality(s, [started[-1], b])
            started.append(s)
        for i, b in reversed(list(enumerate(busy))):
            if i == len(busy) - 1:
                ended.append(b)
                continue
            e = model.new_bool_var(f"ending[{name},{i}]")
            model.add_max_equality(e, [ended[-1], b])
            ended.append(e)
        # On a day with lessons, sum(started) + sum(ended) - n is the span from the first to the last
        # busy period; on an empty day it is -n, hence the max with 0. No per-period "inside" flags:
        # the gap variables were the largest part of the model's memory at 2,000 periods.
        n = len(busy)
        model.add_max_equality(var, [0, sum(started) + sum(ended) - n - sum(busy)])
        return var

    # ------------------------------------------------------------------ hard or soft

    def limit(self, rule: Rule, expr: cp_model.LinearExprT, bound: int, upper: int) -> None:
        """``expr <= bound``: a constraint when the rule is hard, else a penalty on the excess.

        ``upper`` is an upper bound of ``expr``; nothing is added when it cannot exceed ``bound``.
        """
        if upper <= bound:
            return
        if self.weight(rule) >= HARD:
            self.model.add(expr <= bound)
            return
        excess = self.model.new_int_var(0, upper - bound, f"excess[{rule.id},{len(self.amounts(rule))}]")
        self.model.add_max_equality(excess, [0, expr - bound])
        self.penalize(rule, excess)

    def penalize(self, rule: Rule, amount: cp_model.IntVar) -> None:
        self.amounts(rule).append(amount)

    def amounts(self, rule: Rule) -> list[cp_model.IntVar]:
        return self.penalties.setdefault(rule.id, (self.weight(rule), []))[1]

    def count(self, expr: cp_model.LinearExprT, upper: int, name: str) -> cp_model.IntVar:
        var = self.model.new_int_var(0, upper, name)
        self.model.add(var == expr)
        return var

    # ------------------------------------------------------------------ rule types

    def prune_unavailable(self, rule: Rule) -> None:
        for res in self.targets(rule):
            self.forbidden[res].update(tuple(s) for s in rule.params.get("slots", []))

    def rule_unavailable(self, rule: Rule) -> None:
        if self.weight(rule) >= HARD:
            return  # pruned: no option touches these times
        slots = {tuple(s) for s in rule.params.get("slots", [])}
        for res in self.targets(rule):
            terms = [
                (sum(1 for c in self.covered(o.slot, b.length) if c in slots), o.var)
                for b, o in self.uses.get(res, [])
            ]
            terms = [(n, v) for n, v in terms if n]
            if terms:
                upper = sum(1 for s in slots if s not in self.breaks)
                amount = self.count(sum(n * v for n, v in terms), upper, f"unavailable[{rule.id},{res[1]}]")
                self.penalize(rule, amount)

    def rule_max_periods_per_day(self, rule: Rule) -> None:
        bound = int(rule.params["max"])
        for res in self.targets(rule):
            for d in range(self.n_days):
                upper = sum(1 for p in range(self.n_periods) if self.occupancy.get(res, {}).get((d, p)))
                self.limit(rule, self.periods_on_day(res, d), bound, upper)

    def rule_max_gaps_per_day(self, rule: Rule) -> None:
        bound = int(rule.params["max"])
        for res in self.targets(rule):
            for d in range(self.n_days):
                self.limit(rule, self.gaps_on_day(res, d), bound, self.n_periods)

    def rule_max_gaps_per_week(self, rule: Rule) -> None:
        bound = int(rule.params["max"])
        for res in self.targets(rule):
            if not self.uses.get(res):
                continue
            gaps = sum(self.gaps_on_day(res, d) for d in range(self.n_days))
            self.limit(rule, gaps, bound, self.n_days * self.n_periods)

    def rule_min_days_per_week(self, rule: Rule) -> None:
        for res in self.targets(rule):
            n_blocks = len({b.key for b, _ in self.uses.get(res, [])})
            need = min(int(rule.params["min"]), n_blocks, self.n_days)
            if need <= 0:
                continue
            days = sum(self.day_busy(res, d) for d in range(self.n_days))
            # days >= need  <=>  -days <= -need
            self.limit(rule, -days, -need, 0)

    def rule_max_days_per_week(self, rule: Rule) -> None:
        bound = int(rule.params["max"])
        for res in self.targets(rule):
            if not self.uses.get(res):
                continue
            days = sum(self.day_busy(res, d) for d in range(self.n_days))
            self.limit(rule, days, bound, self.n_days)

    def rule_subject_spread(self, rule: Rule) -> None:
        bound = int(rule.params.get("max_per_day", 1))
        if rule.scope == "subject":
            subjects = {rule.target} if isinstance(rule.target, str) else set(rule.target or [])
            targets = [("students", s) for s in self.school.all_subgroups()]
        else:
            subjects = None
            targets = self.targets(rule)
        for res in targets:
            by_subject: dict[str, set[tuple[str, int]]] = defaultdict(set)
            for b, _ in self.uses.get(res, []):
                if subjects is None or b.lesson.subject in subjects:
                    by_subject[b.lesson.subject].add(b.key)
            for keys in by_subject.values():
                if len(keys) <= bound:
                    continue
                blocks = [self.block_by_key[k] for k in sorted(keys)]
                hard = self.weight(rule) >= HARD
                if hard and not self.first_time(("spread", bound, *sorted(keys))):
                    continue
                for d in range(self.n_days):
                    starts = [o.var for b in blocks for o in b.options if o.slot[0] == d]
                    self.limit(rule, sum(starts), bound, min(len(blocks), len(starts)))

    def _outside(self, rule: Rule, block: BlockVars, option: Option) -> bool:
        slots = {tuple(s) for s in rule.params.get("slots", [])}
        if rule.params.get("mode", "all") == "start":
            return option.slot not in slots
        return any(c not in slots for c in self.covered(option.slot, block.length))

    def prune_preferred_times(self, rule: Rule) -> None:
        slots = {tuple(s) for s in rule.params.get("slots", [])}
        for lesson in self.rule_lessons(rule):
            for k, length in enumerate(lesson.blocks):
                starts = {
                    (d, p)
                    for d in range(self.n_days)
                    for p in range(self.n_periods - length + 1)
                    if (d, p) in slots
                    and (
                        rule.params.get("mode", "all") == "start"
                        or all(c in slots for c in self.covered((d, p), length))
                    )
                }
                key = (lesson.id, k)
                self.allowed_starts[key] = self.allowed_starts.get(key, starts) & starts
                self.pruned_by[key].append(rule.id)

    def rule_preferred_times(self, rule: Rule) -> None:
        if self.weight(rule) >= HARD:
            return  # pruned: only options inside the slots exist
        for lesson in self.rule_lessons(rule):
            for block in self.lesson_blocks[lesson.id]:
                outside = [o.var for o in block.options if self._outside(rule, block, o)]
                if outside:
                    self.penalize(rule, self.count(sum(outside), 1, f"outside[{rule.id},{block.key}]"))

    # ------------------------------------------------------------------ rule types for FET files

    def _starts(self, block: BlockVars) -> dict[Slot, list[cp_model.IntVar]]:
        """Start slot -> option literals (one per room) of the block."""
        out: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
        for o in block.options:
            out[o.slot].append(o.var)
        return out

    def _day_literals(self, block: BlockVars) -> list[list[cp_model.IntVar]]:
        """Day -> the option literals of the block on that day (cached: min-days rules ask per window)."""
        days = self._by_day.get(block.key)
        if days is None:
            days = self._by_day[block.key] = [[] for _ in range(self.n_days)]
            for o in block.options:
                days[o.slot[0]].append(o.var)
        return days

    def _rule_blocks(self, rule: Rule) -> list[BlockVars]:
        return [b for lesson in self.rule_lessons(rule) for b in self.lesson_blocks[lesson.id]]

    def _pair_violation(self, rule: Rule, name: str) -> cp_model.IntVar:
        var = self.model.new_bool_var(f"{name}[{rule.id},{len(self.amounts(rule))}]")
        self.penalize(rule, var)
        return var

    def _next_start(self, day: int, end: int) -> int:
        """The period a block ending at ``end`` is followed by: the next one after any breaks."""
        while end < self.n_periods and (day, end) in self.breaks:
            end += 1
        return end

    def rule_min_days_between(self, rule: Rule) -> None:
        blocks = self._rule_blocks(rule)
        gap = int(rule.params["min_days"])
        hard = self.weight(rule) >= HARD
        if len(blocks) < 2:
            return
        if hard and gap >= 1:
            # Pairwise "at least gap days apart" = every window of gap days holds at most one block.
            on_day = [self._day_literals(b) for b in blocks]
            for first in range(self.n_days - gap + 1):
                self.model.add_at_most_one(
                    v for days in on_day for d in range(first, first + gap) for v in days[d]
                )
        pairs = [(a, b) for i, a in enumerate(blocks) for b in blocks[i + 1 :]]
        if not hard and gap >= 1:
            # The amount is the days too close, as FET counts it: gap - distance. ``close[j]`` is forced
            # when the pair is at most j days apart, for j < gap, so their sum is exactly that.
            for a, b in pairs:
                a_days, b_days = self._day_literals(a), self._day_literals(b)
                for j in range(gap):
                    close = self._pair_violation(rule, "close")
                    for d in range(self.n_days):
                        window = range(max(0, d - j), min(self.n_days, d + j + 1))
                        both = a_days[d] + [v for e in window for v in b_days[e]]
                        self.model.add(close >= cp_model.LinearExpr.sum(both) - 1)
        if rule.params.get("consecutive_if_same_day") and not (hard and gap >= 1):
            # Two of them on one day must be back to back, whatever the weight (FET does the same).
            for a, b in pairs:
                self._same_day_adjacent(a, b)

    def _same_day_adjacent(self, a: BlockVars, b: BlockVars) -> None:
        """On one day, ``b`` starts right after ``a`` ends, or ends right before it starts. A break
        between them does not join them: FET's min days rule compares the hours alone (EEBLJ-Diurno:
        two lessons around a break were refused), unlike its consecutive and grouped rules."""
        # Day -> (literal, start period, the period after it) of each option of ``b``.
        b_on_day: dict[int, list[tuple[cp_model.IntVar, int, int]]] = defaultdict(list)
        for o in b.options:
            d, p = o.slot
            b_on_day[d].append((o.var, p, p + b.length))
        for (d, p), lits in self._starts(a).items():
            after = p + a.length
            # On a's day, b starts right after a or ends right before it.
            wrong = [v for v, start, follows in b_on_day.get(d, ()) if start != after and follows != p]
            if wrong:
                self.model.add_at_most_one(lits + wrong)

    def _same(self, rule: Rule, key) -> None:
        """Every block of the set has the same ``key(start slot)`` (its start time, or its day)."""
        blocks = self._rule_blocks(rule)
        if len(blocks) < 2:
            return
        # Per block, value -> its literals there, gathered once (WTHS: 108 rules, 0.25 s of build when each
        # value scanned every option).
        by_value: list[dict] = []
        for b in blocks:
            lits: dict = defaultdict(list)
            for o in b.options:
                lits[key(o.slot)].append(o.var)
            by_value.append(lits)
        values = {v for lits in by_value for v in lits}

        def at(lits: dict, value) -> cp_model.LinearExprT:
            return cp_model.LinearExpr.sum(lits.get(value, []))

        if self.weight(rule) >= HARD:
            first = by_value[0]
            for other in by_value[1:]:
                for v in values:
                    self.model.add(at(first, v) == at(other, v))
            return
        for i, a in enumerate(by_value):
            for b in by_value[i + 1 :]:
                apart = self._pair_violation(rule, "apart")
                for v in values:
                    self.model.add(apart >= at(a, v) - at(b, v))

    def rule_same_starting_time(self, rule: Rule) -> None:
        self._same(rule, lambda slot: slot)

    def rule_same_starting_day(self, rule: Rule) -> None:
        self._same(rule, lambda slot: slot[0])

    def rule_same_starting_hour(self, rule: Rule) -> None:
        self._same(rule, lambda slot: slot[1])

    def _covering(self, block: BlockVars) -> dict[Slot, list[cp_model.IntVar]]:
        out: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
        for o in block.options:
            for c in self.covered(o.slot, block.length):
                out[c].append(o.var)
        return out

    def rule_not_overlapping(self, rule: Rule) -> None:
        blocks = self._rule_blocks(rule)
        covers = [self._covering(b) for b in blocks]
        if self.weight(rule) >= HARD:
            cells: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
            for cover in covers:
                for c, lits in cover.items():
                    cells[c].extend(lits)
            for lits in cells.values():
                if len(lits) > 1:
                    self.model.add_at_most_one(lits)
            return
        for i, a in enumerate(covers):
            for b in covers[i + 1 :]:
                shared = a.keys() & b.keys()
                if shared:
                    overlap = self._pair_violation(rule, "overlap")
                    for c in shared:
                        self.model.add(overlap >= sum(a[c]) + sum(b[c]) - 1)

    def _follows(self, first: BlockVars, second: BlockVars) -> list[tuple[Slot, list, list]]:
        """For each start of ``first``: the slot, its literals, and those of ``second`` starting right after."""
        second_starts = self._starts(second)
        out = []
        for (d, p), lits in self._starts(first).items():
            after = (d, self._next_start(d, p + first.length))
            out.append(((d, p), lits, second_starts.get(after, [])))
        return out

    def rule_consecutive(self, rule: Rule) -> None:
        blocks = self._ordered_pair(rule)
        if blocks is None:
            return
        first, second = blocks
        hard = self.weight(rule) >= HARD
        broken = None if hard else self._pair_violation(rule, "not_consecutive")
        for _, lits, follow in self._follows(first, second):
            if hard:
                self.model.add(sum(lits) <= sum(follow))
            else:
                self.model.add(broken >= sum(lits) - sum(follow))

    def rule_grouped(self, rule: Rule) -> None:
        blocks = self._lesson_firsts(rule)
        if len(blocks) > 2:
            self._grouped_run(rule, blocks)
            return
        if len(blocks) < 2:
            return
        a, b = blocks
        # "a then b" or "b then a": per start of a, b starts right after it or ends right before it.
        b_before: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
        for o in b.options:
            b_before[(o.slot[0], self._next_start(o.slot[0], o.slot[1] + b.length))].append(o.var)
        hard = self.weight(rule) >= HARD
        broken = None if hard else self._pair_violation(rule, "not_grouped")
        for start, lits, follow in self._follows(a, b):
            neighbours = list(follow) + b_before.get(start, [])
            if hard:
                self.model.add(sum(lits) <= sum(neighbours))
            else:
                self.model.add(broken >= sum(lits) - sum(neighbours))

    def _grouped_run(self, rule: Rule, blocks: list[BlockVars]) -> None:
        """Three or more lessons form one run on one day, in any order (breaks may fall inside it): all on
        one day, no two at once, and every block but the first starts right after another ends. Those
        followers are distinct (no two start at once) and one block is first, so the blocks chain from it to the
        last."""
        model = self.model
        broken = None if self.weight(rule) >= HARD else self._pair_violation(rule, "not_grouped")
        slack = [] if broken is None else [broken]
        days = [self._day_literals(b) for b in blocks]
        for d in range(self.n_days):
            for x, y in itertools.pairwise(days):
                model.add(sum(x[d]) <= sum(y[d]) + sum(slack))
                model.add(sum(y[d]) <= sum(x[d]) + sum(slack))
        cells: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
        for b in blocks:
            for cell, lits in self._covering(b).items():
                cells[cell].extend(lits)
        for lits in cells.values():
            if len(lits) > 1:
                model.add(sum(lits) <= 1 + len(blocks) * sum(slack))
        # Where each block would end: the start right after it (breaks skipped), with its literals.
        ends: dict[Slot, list[tuple[int, cp_model.IntVar]]] = defaultdict(list)
        for i, b in enumerate(blocks):
            for (d, p), lits in self._starts(b).items():
                ends[(d, self._next_start(d, p + b.length))].extend((i, v) for v in lits)
        first = [model.new_bool_var(f"first[{rule.id},{i}]") for i in range(len(blocks))]
        model.add(sum(first) + sum(slack) >= 1)
        model.add(sum(first) <= 1 + len(blocks) * sum(slack))
        for i, b in enumerate(blocks):
            for slot, lits in self._starts(b).items():
                before = [v for j, v in ends.get(slot, ()) if j != i]
                model.add(sum(lits) <= first[i] + sum(before) + sum(slack))

    def rule_ordered(self, rule: Rule) -> None:
        blocks = self._ordered_pair(rule)
        if blocks is None:
            return
        first, second = blocks
        same_day_only = bool(rule.params.get("same_day_only", False))
        hard = self.weight(rule) >= HARD
        broken = None if hard else self._pair_violation(rule, "not_ordered")
        for (d, p), lits in self._starts(first).items():
            # Options of the second that start before the first ends: on its day, or on an earlier one.
            end = p + first.length
            wrong = [
                o.var
                for o in second.options
                if (o.slot[0] == d and o.slot[1] < end) or (not same_day_only and o.slot[0] < d)
            ]
            if not wrong:
                continue
            if hard:
                self.model.add_at_most_one(lits + wrong)
            else:
                self.model.add(broken >= sum(lits) + sum(wrong) - 1)

    def _selected_covering(self, rule: Rule, blocks: list[BlockVars]) -> dict[Slot, list[cp_model.IntVar]]:
        """Slot of the rule's ``slots`` -> the literals of the blocks' options occupying it."""
        selected = {tuple(s) for s in rule.params.get("slots", [])}
        covering: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
        for block in blocks:
            for slot, lits in self._covering(block).items():
                if slot in selected:
                    covering[slot].extend(lits)
        return covering

    def rule_max_busy_slots(self, rule: Rule) -> None:
        covering = self._selected_covering(rule, self._rule_blocks(rule))
        used = []
        for lits in covering.values():
            # At least as busy as any option on it; the bound keeps it no higher than needed.
            var = self.model.new_bool_var("")
            for v in lits:
                self.model.add_implication(v, var)
            used.append(var)
        self.limit(rule, cp_model.LinearExpr.sum(used), int(rule.params["max"]), len(used))

    def rule_max_simultaneous(self, rule: Rule) -> None:
        blocks = self._rule_blocks(rule)
        for lits in self._selected_covering(rule, blocks).values():
            self.limit(rule, sum(lits), int(rule.params["max"]), len(blocks))

    def rule_max_days_between(self, rule: Rule) -> None:
        most, n = int(rule.params["max_days"]), self.n_days
        hard = self.weight(rule) >= HARD
        blocks = self._rule_blocks(rule)
        for i, a in enumerate(blocks):
            for b in blocks[i + 1 :]:
                a_days, b_days = self._day_literals(a), self._day_literals(b)
                if hard:
                    for d in range(n):
                        far = [v for e in range(n) if abs(e - d) > most for v in b_days[e]]
                        if a_days[d] and far:
                            self.model.add(sum(a_days[d]) + sum(far) <= 1)
                    continue
                # The amount is the days beyond: ``far`` j is forced when the pair is more than most + j apart.
                for j in range(n - 1 - most):
                    far = self._pair_violation(rule, "far")
                    for d in range(n):
                        beyond = [v for e in range(n) if abs(e - d) > most + j for v in b_days[e]]
                        if a_days[d] and beyond:
                            self.model.add(far >= sum(a_days[d]) + sum(beyond) - 1)

    def _lesson_firsts(self, rule: Rule) -> list[BlockVars]:
        """The first block of each lesson the rule names, in its order."""
        ids = [rule.target] if isinstance(rule.target, str) else list(rule.target or [])
        return [self.lesson_blocks[i][0] for i in dict.fromkeys(ids) if self.lesson_blocks.get(i)]

    def rule_max_rooms(self, rule: Rule) -> None:
        """The lessons together use at most ``max`` different rooms (their rooms are not pooled: ``ROOMS_MATTER``).

        A room is in use when any option in it is taken, said per period: the options in that room over one
        period are at most its use (they clash there anyway), and the lessons in some room over one period
        are at most the rooms in use. Both tell CP-SAT early what the bound costs: on FET's
        institution-2012-2013 (32 such rules of 24 lessons, at most 3 or 4 of 11 rooms), CP-SAT's own search
        of its hard rules without the gap rules, seeds 0-2, found a placement at 41, 48 and 38 s, against
        57 s and none in 60 s (seeds 1-2) with one implication per option."""
        in_room: dict[str, dict[Slot, list[cp_model.IntVar]]] = defaultdict(lambda: defaultdict(list))
        any_room: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
        for block in self._rule_blocks(rule):
            for o in block.options:
                if o.room is not None:
                    for cell in self.covered(o.slot, block.length):
                        in_room[o.room][cell].append(o.var)
                        any_room[cell].append(o.var)
        used = {}
        for room in sorted(in_room):
            used[room] = var = self.model.new_bool_var(f"uses[{rule.id},{room}]")
            for lits in in_room[room].values():
                self.model.add(sum(lits) <= var)
        total = cp_model.LinearExpr.sum(list(used.values()))
        for lits in any_room.values():
            if len(lits) > 1:
                self.model.add(sum(lits) <= total)
        self.limit(rule, total, int(rule.params["max"]), len(used))

    def rule_same_room_if_consecutive(self, rule: Rule) -> None:
        """Two of the blocks back to back on one day (no break between, as FET reads it) share their room;
        a block without a room keeps any (their rooms are not pooled: ``ROOMS_MATTER``).

        Said per slot and room: at most one of the blocks ends right before the slot in that room (rooms
        hold one block at a time), and when one does, none starts at the slot in another room; the amount
        is the blocks that do. On FET's MED_2019-20-1 (17 such rules of 11-18 lessons, 17 rooms) a
        constraint per pair of blocks and room took 22 s to build and 15-28 s to presolve."""
        blocks = self._rule_blocks(rule)
        ending: dict[tuple[Slot, str], list] = defaultdict(list)
        starting: dict[Slot, list[Option]] = defaultdict(list)
        for b in blocks:
            for o in b.options:
                if o.room is not None:
                    ending[((o.slot[0], o.slot[1] + b.length), o.room)].append(o.var)
                    starting[o.slot].append(o)
        for (cell, room), before in ending.items():
            elsewhere = [o.var for o in starting.get(cell, []) if o.room != room]
            if elsewhere:
                most = len(blocks)
                self.limit(rule, most * self._one_of(before) + sum(elsewhere), most, 2 * most)

    def _ordered_pair(self, rule: Rule) -> tuple[BlockVars, BlockVars] | None:
        blocks = self._lesson_firsts(rule)
        return (blocks[0], blocks[1]) if len(blocks) == 2 else None

    def rule_ends_students_day(self, rule: Rule) -> None:
        hard = self.weight(rule) >= HARD
        for lesson in self.rule_lessons(rule):
            for block in self.lesson_blocks[lesson.id]:
                broken = None if hard else self._pair_violation(rule, "not_last")
                for (d, p), lits in self._starts(block).items():
                    for s in self.subgroups[lesson.id]:
                        occupied = self.occupancy.get(("students", s), {})
                        for q in range(p + block.length, self.n_periods):
                            later = [v for v in occupied.get((d, q), []) if v not in lits]
                            if not later:
                                continue
                            if hard:
                                self.model.add(sum(lits) + sum(later) <= 1)
                            else:
                                self.model.add(broken >= sum(lits) + sum(later) - 1)

    def rule_min_periods_per_day(self, rule: Rule) -> None:
        need = int(rule.params["min"])
        allow_empty = bool(rule.params.get("allow_empty_days", True))
        for res in self.targets(rule):
            if not self.uses.get(res) or need <= 0:
                continue
            for d in range(self.n_days):
                wanted = need * self.day_busy(res, d) if allow_empty else need
                # periods >= wanted  <=>  wanted - periods <= 0
                self.limit(rule, wanted - self.periods_on_day(res, d), 0, need)

    def _tagged_occupancy(self, res: Resource, tag: str) -> dict[Slot, list[cp_model.IntVar]]:
        """Slot -> literals of the resource's options whose lesson has ``tag``."""
        out: dict[Slot, list[cp_model.IntVar]] = defaultdict(list)
        for b, o in self.uses.get(res, []):
            if tag in b.lesson.tags:
                for c in self.covered(o.slot, b.length):
                    out[c].append(o.var)
        return out

    def rule_max_tag_periods_per_day(self, rule: Rule) -> None:
        bound = int(rule.params["max"])
        for res in self.targets(rule):
            occupied = self._tagged_occupancy(res, rule.params["tag"])
            for d in range(self.n_days):
                cells = [v for (day, _), lits in occupied.items() if day == d for v in lits]
                used = sum(1 for (day, _), lits in occupied.items() if day == d and lits)
                self.limit(rule, sum(cells), bound, used)

    def rule_min_gaps_between(self, rule: Rule) -> None:
        blocks = self._rule_blocks(rule)
        gap = int(rule.params["min_gaps"])
        hard = self.weight(rule) >= HARD
        for i, a in enumerate(blocks):
            for b in blocks[i + 1 :]:
                b_starts = self._starts(b)
                broken = None if hard else self._pair_violation(rule, "too_close")
                for (d, p), lits in self._starts(a).items():
                    close = [
                        v
                        for (bd, bp), vs in b_starts.items()
                        if bd == d and bp < p + a.length + gap and bp + b.length + gap > p
                        for v in vs
                    ]
                    if not close:
                        continue
                    if hard:
                        self.model.add(sum(lits) + sum(close) <= 1)
                    else:
                        self.model.add(broken >= sum(lits) + sum(close) - 1)

    def rule_max_consecutive(self, rule: Rule) -> None:
        bound = int(rule.params["max"])
        tag = rule.params.get("tag")
        for res in self.targets(rule):
            occupied = self._tagged_occupancy(res, tag) if tag else self.occupancy.get(res, {})
            if not occupied:
                continue
            for d in range(self.n_days):
                for p in range(self.n_periods - bound):
                    cells = [(d, q) for q in range(p, p + bound + 1)]
                    if any(c in self.breaks or not occupied.get(c) for c in cells):
                        continue
                    # Literals of one cell are at most one, so the sum counts busy periods in the window.
                    self.limit(rule, sum(v for c in cells for v in occupied[c]), bound, bound + 1)

    def rule_early_start(self, rule: Rule) -> None:
        bound = int(rule.params["max_second_hour"])
        hard = self.weight(rule) >= HARD
        for res in self.targets(rule):
            if not self.uses.get(res):
                continue
            forbidden = self.forbidden.get(res, set())
            second_starts = []
            for d in range(self.n_days):
                off = self.breaks | forbidden
                free = [p for p in range(self.n_periods) if (d, p) not in off]
                if not free:
                    continue
                day = self.day_busy(res, d)
                first = self.busy(res, (d, free[0]))
                second = self.busy(res, (d, free[1])) if len(free) > 1 else 0
                if hard:
                    self.model.add(first + second >= day)
                else:
                    late = self._pair_violation(rule, "late")
                    self.model.add(late >= day - first - second)
                if len(free) > 1:
                    at_second = self.model.new_bool_var(f"second[{rule.id},{res[1]},{d}]")
                    self.model.add(at_second >= second - first)
                    second_starts.append(at_second)
            if second_starts:
                self.limit(rule, sum(second_starts), bound, len(second_starts))

    def rule_interval_max_days_per_week(self, rule: Rule) -> None:
        bound = int(rule.params["max"])
        start = int(rule.params["start"])
        end = rule.params.get("end")
        end = self.n_periods if end is None else int(end)
        for res in self.targets(rule):
            days = []
            for d in range(self.n_days):
                lits = [
                    o.var
                    for b, o in self.uses.get(res, [])
                    if o.slot[0] == d and o.slot[1] < end and o.slot[1] + b.length > start
                ]
                if lits:
                    busy = self.model.new_bool_var(f"interval[{rule.id},{res[1]},{d}]")
                    self.model.add_max_equality(busy, lits)
                    days.append(busy)
            self.limit(rule, sum(days), bound, len(days))

    def apart_excess(self, res: Resource, pairs: list[tuple[Slot, Slot, int]], upper: int) -> cp_model.IntVar:
        """An amount at least ``w`` wherever the resource is busy in both slots of a pair (a, b, w): at the
        least solution, the worst pair taken. Pairs with a slot the resource can never take are left out."""
        excess = self.model.new_int_var(0, upper, "")
        possible = self.occupancy.get(res, {})
        for a, b, w in pairs:
            if possible.get(a) and possible.get(b):
                self.model.add(excess >= w * (self.busy(res, a) + self.busy(res, b) - 1))
        return excess

    def rule_max_span_per_day(self, rule: Rule) -> None:
        most, n = int(rule.params["max"]), self.n_periods
        plus_one = bool(rule.params.get("one_day_plus_one", False))
        if most >= n:
            return
        for res in self.targets(rule):
            days = []
            for d in range(self.n_days):
                pairs = [((d, p), (d, q), q - p + 1 - most) for p in range(n) for q in range(p + most, n)]
                days.append(self.apart_excess(res, pairs, n - most))
            if not plus_one:
                for excess in days:
                    self.limit(rule, excess, 0, n - most)
                continue
            # One day a week may run one period over: that much of the total is forgiven.
            forgiven = self.model.new_bool_var("")
            self.model.add(forgiven <= sum(days))
            self.limit(rule, sum(days) - forgiven, 0, (n - most) * len(days))

    def rule_min_resting_periods(self, rule: Rule) -> None:
        need, n = int(rule.params["min"]), self.n_periods
        nights = [(d, d + 1) for d in range(self.n_days - 1)]
        if rule.params.get("circular") and self.n_days > 1:
            nights.append((self.n_days - 1, 0))
        for res in self.targets(rule):
            for d, e in nights:
                # Free periods after the last of day d and before the first of day e.
                pairs = [
                    ((d, p), (e, q), need - (n - 1 - p) - q)
                    for p in range(n)
                    for q in range(n)
                    if (n - 1 - p) + q < need
                ]
                if pairs:
                    self.limit(rule, self.apart_excess(res, pairs, need), 0, need)

    def rule_min_gaps_between_tags(self, rule: Rule) -> None:
        """A block of the second tag starting within ``min`` periods after one of the first tag ends, on one
        day, is too close: per end, the blocks of the first tag ending there and those starting too soon."""
        first, second, need = rule.params["first_tag"], rule.params["second_tag"], int(rule.params["min"])
        hard = self.weight(rule) >= HARD
        for res in self.targets(rule):
            ends, starts = self._tag_edges(res, first)[1], self._tag_edges(res, second)[0]
            # At most one block of the resource ends (or starts) at a time: one literal each, shared by
            # subgroups with the same lessons (MED_2019-20-1's twelve rules for every subgroup took 8.4 s to
            # build over the options themselves).
            for (d, e), before in ends.items():
                soon = [self._one_of(starts[(d, q)]) for q in range(e, e + need) if (d, q) in starts]
                if not soon:
                    continue
                end = self._one_of(before)
                if hard and not self.first_time(("tags", end.index, *sorted(v.index for v in soon))):
                    continue
                self.limit(rule, end + sum(soon), 1, 1 + need)

    def _tag_edges(self, res: Resource, tag: str) -> tuple[dict[Slot, list], dict[Slot, list]]:
        """Where the resource's blocks with ``tag`` start, and the slot right after each ends: slot -> the
        option literals (cached per resource and tag)."""
        key = (res, tag)
        if key not in self._edges:
            starts: dict[Slot, list] = defaultdict(list)
            ends: dict[Slot, list] = defaultdict(list)
            for b, o in self.uses.get(res, []):
                if tag in b.lesson.tags:
                    starts[o.slot].append(o.var)
                    ends[(o.slot[0], o.slot[1] + b.length)].append(o.var)
            self._edges[key] = (starts, ends)
        return self._edges[key]

    def building_options(self, res: Resource, day: int) -> list[dict[str, list[cp_model.IntVar]]]:
        """at[p][B]: the options putting the resource in building B at period p of the day (cached per
        resource). Rooms without a building and lessons without a room are left out, as FET does."""
        week = self._building_options.get(res)
        if week is None:
            building = self.building_of
            week = [[defaultdict(list) for _ in range(self.n_periods)] for _ in range(self.n_days)]
            for b, o in self.uses.get(res, []):
                # A pool's rooms are all in one building (``BUILDINGS_MATTER``).
                name = building.get(o.room or (o.pool[0] if o.pool else ""))
                if name:
                    for d, q in self.covered(o.slot, b.length):
                        week[d][q][name].append(o.var)
            self._building_options[res] = week
        return week[day]

    def in_building(self, res: Resource, day: int) -> list[dict[str, cp_model.IntVar]]:
        """at[p][B]: a literal, the resource is in building B at period p of the day. Subgroups with the
        same lessons share the literals, and so every constraint built on them once (``_changes``)."""
        return [
            {name: self._one_of(lits) for name, lits in cell.items()}
            for cell in self.building_options(res, day)
        ]

    def _one_of(self, literals: list[cp_model.IntVar]) -> cp_model.IntVar:
        """A literal equal to the sum of ``literals``, at most one of which holds (cached by the literals)."""
        key = tuple(sorted(v.index for v in literals))
        var = self._sums.get(key)
        if var is None:
            var = self._sums[key] = self.model.new_bool_var("")
            self.model.add(var == sum(literals))
        return var

    def building_changes(self, res: Resource, day: int) -> list[cp_model.IntVar]:
        """One literal per possible building change of the resource on the day (cached by the day's
        literals): between one period with a room in a building and the next such period, the building
        differs."""
        self.check_stop_building()
        at = self.in_building(res, day)
        key = tuple((q, name, v.index) for q, cell in enumerate(at) for name, v in sorted(cell.items()))
        if key in self._changes:
            return self._changes[key]
        names = sorted({name for cell in at for name in cell})
        changes: list[cp_model.IntVar] = []
        self._changes[key] = changes
        if len(names) < 2:
            return changes
        # last[B]: the latest period with a room so far was in building B.
        last: dict[str, cp_model.LinearExprT] = {}
        for q in range(self.n_periods):
            if not at[q]:
                continue
            here = {name: at[q].get(name, 0) for name in names}
            present = sum(at[q].values())
            if last:
                change = self.model.new_bool_var("")
                for name in names:
                    others = sum(v for other, v in last.items() if other != name)
                    self.model.add(change >= here[name] + others - 1)
                changes.append(change)
            new_last = {}
            for name in names:
                var = self.model.new_bool_var("")
                previous = last.get(name, 0)
                self.model.add(var >= here[name])
                self.model.add(var >= previous - present)
                self.model.add(var <= here[name] + previous)
                self.model.add(var <= here[name] + 1 - present)
                new_last[name] = var
            last = new_last
        return changes

    def rule_max_building_changes_per_day(self, rule: Rule) -> None:
        bound = int(rule.params["max"])
        for res in self.targets(rule):
            for d in range(self.n_days):
                changes = self.building_changes(res, d)
                self.limit(rule, sum(changes), bound, len(changes))

    def rule_max_building_changes_per_week(self, rule: Rule) -> None:
        bound = int(rule.params["max"])
        for res in self.targets(rule):
            changes = [c for d in range(self.n_days) for c in self.building_changes(res, d)]
            self.limit(rule, sum(changes), bound, len(changes))

    def rule_min_gaps_between_building_changes(self, rule: Rule) -> None:
        """Two periods of one day in different buildings have at least ``min`` periods between them: a
        period in building B excludes every other building in the next ``min`` periods."""
        need, hard = int(rule.params["min"]), self.weight(rule) >= HARD
        for res in self.targets(rule):
            for d in range(self.n_days):
                self.check_stop_building()
                # Over the options themselves: the ejection search reads such constraints as clashes
                # (stjosephemhss1, three runs: complete at 1.1-1.2 s, against 6-8 s or none in 25 s over building
                # literals).
                at = self.building_options(res, d)
                for p in range(self.n_periods):
                    for name, here in at[p].items():
                        for q in range(p + 1, min(p + need + 1, self.n_periods)):
                            pair = here + [v for other, vs in at[q].items() if other != name for v in vs]
                            if len(pair) == len(here):
                                continue
                            # Subgroups of one class share these pairs: a hard one is added once.
                            if hard and not self.first_time(("apart", *sorted(v.index for v in pair))):
                                continue
                            self.limit(rule, sum(pair), 1, 2)

    def rule_preferred_rooms(self, rule: Rule) -> None:
        rooms = set(rule.params.get("rooms", []))
        for lesson in self.rule_lessons(rule):
            for block in self.lesson_blocks[lesson.id]:
                outside = [o.var for o in block.options if o.room not in rooms]
                if not outside:
                    continue
                if self.weight(rule) >= HARD:
                    self.model.add(sum(outside) == 0)
                else:
                    self.penalize(rule, self.count(sum(outside), 1, f"room[{rule.id},{block.key}]"))

    # ------------------------------------------------------------------ reading a solution

    def assign_rooms(self, chosen: list[tuple[BlockVars, Option]]) -> dict[tuple[str, int], str | None]:
        """The room of every chosen option: its own, or one from its pool by interval colouring.

        Per pool and day, blocks taken in order of start get the first room free by then; with
        intervals this never needs more rooms than the most blocks at once, which the model bounds.
        """
        rooms: dict[tuple[str, int], str | None] = {}
        pooled: dict[tuple[tuple[str, ...], int], list[tuple[int, int, BlockVars]]] = defaultdict(list)
        for block, opt in chosen:
            if opt.pool is None:
                rooms[block.key] = opt.room
            else:
                pooled[(opt.pool, opt.slot[0])].append((opt.slot[1], opt.slot[1] + block.length, block))
        for (pool, _), items in pooled.items():
            free_from = {r: -1 for r in pool}
            for start, end, block in sorted(items, key=lambda x: (x[0], x[1], x[2].key)):
                room = next(r for r in pool if free_from[r] <= start)
                free_from[room] = end
                rooms[block.key] = room
        return rooms

    def placements(self, chosen: list[tuple[BlockVars, Option]]) -> list[Placement]:
        """The placements of chosen options, each with its room (``assign_rooms``) and, in a combined
        room, its real rooms (``give_real_rooms``)."""
        rooms = self.assign_rooms(chosen)
        out = [Placement(b.lesson.id, b.index, o.slot, b.length, rooms[b.key]) for b, o in chosen]
        self.give_real_rooms(out)
        return out

    def give_real_rooms(self, placements: list[Placement]) -> None:
        """Real rooms for every block in a combined room: one from each set, all different, none taken by
        another block at the time nor shut then. A small search of its own, since the searches that
        found the placement only keep each block's option; the model's real-room literals ensure one
        exists. Blocks left without are reported by the checker."""
        inside = [p for p in placements if p.room in self.combined]
        if not inside:
            return
        taken: dict[str, set[Slot]] = defaultdict(set)
        for p in placements:
            if p.room is not None and p.room not in self.combined:
                taken[p.room].update(self.covered(p.slot, p.length))
        model = cp_model.CpModel()
        at: dict[tuple[str, Slot], list[cp_model.IntVar]] = defaultdict(list)
        picks = []
        for p in inside:
            cells = self.covered(p.slot, p.length)
            sets = []
            lesson = self.school.lesson_by_id.get(p.lesson)
            fixed = [[r] for r in self.fixed_real_rooms(lesson)] if lesson else []
            for names in fixed or self.combined[p.room]:
                free = []
                for r in dict.fromkeys(names):
                    shut = self.forbidden.get(("room", r), set()) | taken.get(r, set())
                    if shut.isdisjoint(cells):
                        literal = model.new_bool_var("")
                        free.append((r, literal))
                        for c in cells:
                            at[(r, c)].append(literal)
                model.add_exactly_one([literal for _, literal in free])
                sets.append(free)
            picks.append((p, sets))
        for literals in at.values():
            if len(literals) > 1:
                model.add_at_most_one(literals)
        solver = cp_model.CpSolver()
        solver.parameters.num_workers = 8
        solver.parameters.max_time_in_seconds = REAL_ROOM_SECONDS
        if solver.solve(model) in (cp_model.OPTIMAL, cp_model.FEASIBLE):
            for p, sets in picks:
                p.real_rooms = [next(r for r, literal in free if solver.value(literal)) for free in sets]

    def chosen(self, values: list[int]) -> list[tuple[BlockVars, Option]]:
        """The option taken by every placed block in a solution (``values`` indexed by variable)."""
        out = []
        for block in self.blocks:
            option = next((o for o in block.options if values[o.var.index]), None)
            if option is not None:
                out.append((block, option))
        return out

    def resource_days(self) -> dict[int, tuple[Resource, int]]:
        """Index of every busy, day and gap variable built so far -> (its resource, its day)."""
        out = {var.index: key for cache in (self._gaps, self._day_busy) for key, var in cache.items()}
        out.update({var.index: (res, slot[0]) for (res, slot), var in self._busy.items()})
        return out

    def matching_option(self, block: BlockVars, want: tuple | None) -> Option | None:
        """The option of ``block`` that is ``want``: (start, room, pool) exactly, or (start, room name) as
        in a timetable's placement."""
        return next((o for o in block.options if _matches(o, want)), None) if want else None

    def matching_options(self, wanted: dict[tuple[str, int], tuple]) -> dict[tuple[str, int], Option]:
        """``wanted`` (block -> what ``matching_option`` reads) as options of this model, for every block
        it has and allows there."""
        out = {}
        for key, want in wanted.items():
            block = self.block_by_key.get(key)
            match = block and self.matching_option(block, want)
            if match is not None:
                out[key] = match
        return out

    def same_options(self, chosen: dict[tuple[str, int], Option]) -> dict[tuple[str, int], Option]:
        """``chosen`` (block -> option of another model) as options of this one: the same start, room
        and pool, for every block this model has and allows there."""
        return self.matching_options({key: (o.slot, o.room, o.pool) for key, o in chosen.items()})

    def hint(self, placements: dict[tuple[str, int], tuple]) -> None:
        """Hint the option of every block in ``placements``: (lesson, block) -> (start, room name) as in a
        timetable, or (start, room, pool) naming an option exactly. Blocks without a match get no hint."""
        self.model.clear_hints()
        hinted, values = [], []
        for block in self.blocks:
            match = self.matching_option(block, placements.get(block.key))
            if match is not None:
                for opt in block.options:
                    hinted.append(opt.var.index)
                    values.append(int(opt is match))
        # Written to the proto at once: one ``add_hint`` per literal took 0.07 s on WTHS (42,707).
        hint = self.model.proto.solution_hint
        hint.vars.extend(hinted)
        hint.values.extend(values)

    def size(self) -> tuple[int, int]:
        """(variables, constraints) of the built model."""
        proto = self.model.proto
        return len(proto.variables), len(proto.constraints)


def _matches(option: Option, want: tuple) -> bool:
    """Whether an option is ``want``: (start, room, pool) exactly, or (start, room name) of a placement."""
    if option.slot != tuple(want[0]):
        return False
    if len(want) == 3:
        return option.room == want[1] and option.pool == want[2]
    if option.pool is not None:
        return want[1] in option.pool
    return option.room == want[1]
