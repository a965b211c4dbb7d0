"""The independent checker: recomputes every hard and soft rule from a timetable's placements alone.

It shares no code with the model builder (``solver.model``) on purpose: a bug in one is caught by the
other. Each built-in rule and each rule type is one small function; rule types are looked up in
``RULE_CHECKS`` by name, so adding a type means writing one function decorated with ``@rule_check``.

Amounts follow the help texts in ``solver.rules``. Student rules apply to every subgroup of the class or
group in scope; ``score`` is the sum over soft rules of weight x amount.
"""

from __future__ import annotations

import itertools
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field

from .domain import HARD, Lesson, Placement, Rule, School, Slot, Timetable
from .rules import RULE_TYPES


@dataclass
class Violation:
    """One broken rule. ``rule`` is the rule id, or a built-in name such as ``teacher_clash``."""

    rule: str
    type: str
    hard: bool
    message: str
    amount: int = 1
    weight: int = HARD

    def __str__(self) -> str:
        kind = "hard" if self.hard else f"soft, weight {self.weight}"
        return f"[{self.rule}] {self.message} ({kind}, amount {self.amount})"


@dataclass
class CheckReport:
    hard: list[Violation] = field(default_factory=list)
    soft: list[Violation] = field(default_factory=list)
    score: int = 0
    breakdown: dict[str, int] = field(default_factory=dict)
    """Soft rule id -> weight x amount, for every soft rule that costs points."""

    @property
    def ok(self) -> bool:
        """True when every hard rule holds (soft rules may still cost points)."""
        return not self.hard

    def summary(self) -> str:
        state = "every hard rule holds" if self.ok else f"{len(self.hard)} hard violation(s)"
        return f"{state}; soft score {self.score} from {len(self.soft)} soft violation(s)"


class Schedule:
    """Who is busy when, recomputed from the placements of enabled lessons."""

    def __init__(self, school: School, timetable: Timetable):
        self.school = school
        cal = school.calendar
        self.n_days, self.n_periods = cal.n_days, cal.n_periods
        self.breaks = set(cal.breaks)
        self.lessons = {x.id: x for x in school.lessons if x.enabled}
        self.placements = [p for p in timetable.placements if p.lesson in self.lessons]
        self.subgroups = {x.id: school.lesson_subgroups(x) for x in self.lessons.values()}
        self.building = {r.id: r.building for r in school.rooms}
        # Combined rooms -> their sets of real rooms; such a room never clashes itself.
        self.combined = {r.id: r.real_rooms for r in school.rooms if r.real_rooms}
        # (kind, id) -> slot -> placements occupying it; kind is "teacher", "students" or "room".
        self.busy: dict[tuple[str, str], dict[Slot, list[Placement]]] = defaultdict(lambda: defaultdict(list))
        # (kind, id) -> blocks it takes part in, as placements.
        self.blocks: dict[tuple[str, str], list[Placement]] = defaultdict(list)
        for p in self.placements:
            lesson = self.lessons[p.lesson]
            people = [("teacher", t) for t in lesson.teachers] + [
                ("students", s) for s in self.subgroups[p.lesson]
            ]
            if p.room is not None:
                people.append(("room", p.room))
            people.extend(("room", r) for r in dict.fromkeys(p.real_rooms))
            for who in people:
                self.blocks[who].append(p)
                for cell in self.cells(p):
                    self.busy[who][cell].append(p)
        self.unavailable_hard: dict[tuple[str, str], set[Slot]] = defaultdict(set)
        for rule in school.rules:
            if rule.enabled and rule.type == "unavailable" and rule.weight >= HARD:
                for who in self.entities(rule):
                    self.unavailable_hard[who].update(_slots(rule))

    def cells(self, p: Placement) -> list[Slot]:
        return [(p.slot[0], p.slot[1] + k) for k in range(p.length)]

    def periods_on(self, who: tuple[str, str], day: int) -> list[int]:
        """Busy periods of the entity on the day, each counted once."""
        return sorted(p for (d, p), items in self.busy.get(who, {}).items() if d == day and items)

    def gaps_on(self, who: tuple[str, str], day: int) -> int:
        """Free teaching periods between the first and last busy period; breaks and hard-unavailable
        periods are not gaps (FET's definition)."""
        busy = self.periods_on(who, day)
        if len(busy) < 2:
            return 0
        off = self.breaks | self.unavailable_hard.get(who, set())
        return sum(1 for p in range(busy[0] + 1, busy[-1]) if p not in busy and (day, p) not in off)

    def days_taught(self, who: tuple[str, str]) -> int:
        return len({d for (d, _), items in self.busy.get(who, {}).items() if items})

    def entities(self, rule: Rule) -> list[tuple[str, str]]:
        """The teachers, subgroups or rooms a rule applies to."""
        ids = _targets(rule)
        if rule.scope == "teacher":
            return [("teacher", t) for t in ids]
        if rule.scope == "all_teachers":
            return [("teacher", t.id) for t in self.school.teachers]
        if rule.scope == "group":
            found: set[str] = set()
            for g in ids:
                found |= self.school.subgroups_of.get(g, frozenset())
            return [("students", s) for s in sorted(found)]
        if rule.scope == "all_groups":
            return [("students", s) for s in self.school.all_subgroups()]
        if rule.scope == "room":
            return [("room", r) for r in ids]
        if rule.scope == "all_rooms":
            return [("room", r.id) for r in self.school.rooms]
        return []

    def lessons_in(self, rule: Rule) -> list[Lesson]:
        """The lessons a lesson-set rule covers: by id, subject, teacher, or students attending."""
        if rule.scope in ("lesson", "lessons"):
            # In the target's order: rules such as "consecutive" depend on it.
            return [self.lessons[i] for i in dict.fromkeys(_targets(rule)) if i in self.lessons]
        ids = set(_targets(rule))
        lessons = self.lessons.values()
        if rule.scope == "subject":
            return [x for x in lessons if x.subject in ids]
        if rule.scope == "teacher":
            return [x for x in lessons if ids & set(x.teachers)]
        if rule.scope == "group":
            students = {s for _, s in self.entities(rule)}
            return [x for x in lessons if students & self.subgroups[x.id]]
        return []

    def name(self, who: tuple[str, str]) -> str:
        kind, id = who
        if kind == "teacher" and self.school.has("teacher", id):
            return f"teacher {self.school.teacher(id).name}"
        if kind == "room" and self.school.has("room", id):
            return f"room {self.school.room(id).name}"
        return f"{'students' if kind == 'students' else kind} {id}"

    def day(self, d: int) -> str:
        return self.school.calendar.days[d]

    def at(self, slot: Slot) -> str:
        return self.school.calendar.slot_name(slot)


def _targets(rule: Rule) -> list[str]:
    if rule.target is None:
        return []
    return [rule.target] if isinstance(rule.target, str) else list(rule.target)


def _slots(rule: Rule) -> set[Slot]:
    return {(int(s[0]), int(s[1])) for s in rule.params.get("slots", [])}


def _param(rule: Rule, name: str) -> int:
    value = rule.params.get(name, RULE_TYPES[rule.type].optional.get(name))
    return int(value)


def _block_name(p: Placement) -> str:
    return f"lesson {p.lesson} block {p.block}"


# ---------------------------------------------------------------------- built-in hard rules

Finding = tuple[int, str]
"""(amount, message) reported by one check."""

BUILTIN_CHECKS: dict[str, Callable[[Schedule, Timetable], list[Finding]]] = {}


def builtin(name: str):
    def register(fn):
        BUILTIN_CHECKS[name] = fn
        return fn

    return register


@builtin("unplaced")
def check_unplaced(s: Schedule, timetable: Timetable) -> list[Finding]:
    """Every block of every enabled lesson is placed."""
    placed = {(p.lesson, p.block) for p in s.placements}
    return [
        (length, f"lesson {x.id} ({x.subject}) block {k} ({length} period(s)) is not placed")
        for x in s.lessons.values()
        for k, length in enumerate(x.blocks)
        if (x.id, k) not in placed
    ]


@builtin("unknown_lesson")
def check_unknown_lesson(s: Schedule, timetable: Timetable) -> list[Finding]:
    """Placements of lessons the school does not have (placements of disabled lessons are ignored)."""
    return [
        (1, f"{_block_name(p)} is placed but the school has no such lesson")
        for p in timetable.placements
        if p.lesson not in s.school.lesson_by_id
    ]


@builtin("placed_twice")
def check_placed_twice(s: Schedule, timetable: Timetable) -> list[Finding]:
    counts = Counter((p.lesson, p.block) for p in s.placements)
    return [
        (n - 1, f"lesson {lesson} block {k} is placed {n} times")
        for (lesson, k), n in counts.items()
        if n > 1
    ]


@builtin("unknown_block")
def check_unknown_block(s: Schedule, timetable: Timetable) -> list[Finding]:
    return [
        (1, f"{_block_name(p)} does not exist (the lesson has {len(s.lessons[p.lesson].blocks)} block(s))")
        for p in s.placements
        if not 0 <= p.block < len(s.lessons[p.lesson].blocks)
    ]


@builtin("block_length")
def check_block_length(s: Schedule, timetable: Timetable) -> list[Finding]:
    out = []
    for p in s.placements:
        blocks = s.lessons[p.lesson].blocks
        if 0 <= p.block < len(blocks) and p.length != blocks[p.block]:
            out.append(
                (1, f"{_block_name(p)} is placed for {p.length} period(s), the lesson says {blocks[p.block]}")
            )
    return out


@builtin("day_overflow")
def check_day_overflow(s: Schedule, timetable: Timetable) -> list[Finding]:
    """A block stays within its day."""
    return [
        (
            p.slot[1] + p.length - s.n_periods,
            f"{_block_name(p)} at {s.at(p.slot)} runs past the end of the day",
        )
        for p in s.placements
        if p.slot[1] + p.length > s.n_periods
    ]


@builtin("break")
def check_break(s: Schedule, timetable: Timetable) -> list[Finding]:
    """Nothing is placed in a break; in particular no block runs across one."""
    out = []
    for p in s.placements:
        hits = [c for c in s.cells(p) if c in s.breaks]
        if hits:
            out.append((len(hits), f"{_block_name(p)} at {s.at(p.slot)} covers the break {s.at(hits[0])}"))
    return out


def _clashes(s: Schedule, kind: str) -> list[Finding]:
    out = []
    for who, slots in s.busy.items():
        if who[0] != kind or (kind == "room" and who[1] in s.combined):
            continue
        for slot, items in sorted(slots.items()):
            if len(items) > 1:
                what = ", ".join(sorted({_block_name(p) for p in items}))
                out.append(
                    (len(items) - 1, f"{s.name(who)} has {len(items)} lessons at {s.at(slot)}: {what}")
                )
    return out


@builtin("teacher_clash")
def check_teacher_clash(s: Schedule, timetable: Timetable) -> list[Finding]:
    return _clashes(s, "teacher")


@builtin("student_clash")
def check_student_clash(s: Schedule, timetable: Timetable) -> list[Finding]:
    """Students clash when two lessons at one time share a subgroup."""
    return _clashes(s, "students")


@builtin("room_clash")
def check_room_clash(s: Schedule, timetable: Timetable) -> list[Finding]:
    return _clashes(s, "room")


@builtin("room_not_allowed")
def check_room_not_allowed(s: Schedule, timetable: Timetable) -> list[Finding]:
    """A lesson that lists rooms is placed in one of them."""
    out = []
    for p in s.placements:
        rooms = s.lessons[p.lesson].rooms
        if rooms and p.room is None:
            out.append((1, f"{_block_name(p)} has no room; it needs one of {', '.join(rooms)}"))
        elif rooms and p.room not in rooms:
            out.append((1, f"{_block_name(p)} is in room {p.room}, not one of {', '.join(rooms)}"))
        elif p.room is not None and not s.school.has("room", p.room):
            out.append((1, f"{_block_name(p)} is in room {p.room}, which does not exist"))
    return out


@builtin("real_rooms")
def check_real_rooms(s: Schedule, timetable: Timetable) -> list[Finding]:
    """A block in a combined room takes one real room from each of its sets, in their order, all
    different, and a lesson's fixed real rooms if it has them; a block in any other room takes none.
    (Clashes and shut times of the real rooms are checked with every room's.)"""
    out = []
    for p in s.placements:
        sets = s.combined.get(p.room or "")
        got = ", ".join(p.real_rooms) or "none"
        if sets is None:
            if p.real_rooms:
                out.append(
                    (1, f"{_block_name(p)} is in room {p.room or '(none)'}, which has no real rooms to take")
                )
            continue
        fixed = s.lessons[p.lesson].real_rooms
        wrong = len(p.real_rooms) != len(sets) or any(r not in names for r, names in zip(p.real_rooms, sets))
        if wrong or len(set(p.real_rooms)) < len(p.real_rooms):
            wanted = "; ".join(" or ".join(names) for names in sets)
            out.append(
                (
                    1,
                    f"{_block_name(p)} in {p.room} takes real rooms {got}; it needs a different one from each of: {wanted}",
                )
            )
        elif fixed and sorted(p.real_rooms) != sorted(fixed):
            out.append(
                (1, f"{_block_name(p)} in {p.room} takes real rooms {got}, not its own: {', '.join(fixed)}")
            )
    return out


@builtin("pinned")
def check_pinned(s: Schedule, timetable: Timetable) -> list[Finding]:
    """A pinned block is placed at its pinned time, and in its pinned room when one is given."""
    where = {(p.lesson, p.block): p for p in s.placements}
    out = []
    for x in s.lessons.values():
        for pin in x.pinned:
            p = where.get((x.id, pin.block))
            if p is None:
                continue  # reported as unplaced
            if p.slot != pin.slot:
                out.append(
                    (1, f"{_block_name(p)} is pinned to {s.at(pin.slot)} but placed at {s.at(p.slot)}")
                )
            elif pin.room is not None and p.room != pin.room:
                out.append((1, f"{_block_name(p)} is pinned to room {pin.room} but placed in {p.room}"))
    return out


@builtin("min_days_apart")
def check_min_days_apart(s: Schedule, timetable: Timetable) -> list[Finding]:
    """Blocks of one lesson are at least ``min_days_apart`` days apart (0: the same day is fine)."""
    by_lesson: dict[str, list[Placement]] = defaultdict(list)
    for p in s.placements:
        by_lesson[p.lesson].append(p)
    out = []
    for lesson_id, items in by_lesson.items():
        apart = s.lessons[lesson_id].min_days_apart
        items = sorted(items, key=lambda p: (p.slot, p.block))
        for i, a in enumerate(items):
            for b in items[i + 1 :]:
                if abs(a.slot[0] - b.slot[0]) < apart:
                    days = f"{a.block} ({s.day(a.slot[0])}) and {b.block} ({s.day(b.slot[0])})"
                    out.append((1, f"lesson {lesson_id} blocks {days} must be at least {apart} day(s) apart"))
    return out


# ---------------------------------------------------------------------- rule types

RULE_CHECKS: dict[str, Callable[[Schedule, Rule], list[Finding]]] = {}
"""Rule type -> function returning the rule's violations as (amount, message)."""


def rule_check(rule_type: str):
    """Register the checker function of a rule type."""

    def register(fn: Callable[[Schedule, Rule], list[Finding]]):
        RULE_CHECKS[rule_type] = fn
        return fn

    return register


@rule_check("unavailable")
def check_unavailable(s: Schedule, rule: Rule) -> list[Finding]:
    """Periods placed in the unavailable times, per teacher, subgroup or room."""
    slots = _slots(rule)
    out = []
    for who in s.entities(rule):
        hit = sorted(slot for slot, items in s.busy.get(who, {}).items() if items and slot in slots)
        if hit:
            at = ", ".join(s.at(x) for x in hit)
            out.append((len(hit), f"{s.name(who)} is busy at unavailable time(s) {at}"))
    return out


@rule_check("max_periods_per_day")
def check_max_periods_per_day(s: Schedule, rule: Rule) -> list[Finding]:
    limit = _param(rule, "max")
    out = []
    for who in s.entities(rule):
        for d in range(s.n_days):
            n = len(s.periods_on(who, d))
            if n > limit:
                out.append((n - limit, f"{s.name(who)} has {n} periods on {s.day(d)} (max {limit})"))
    return out


@rule_check("max_gaps_per_day")
def check_max_gaps_per_day(s: Schedule, rule: Rule) -> list[Finding]:
    limit = _param(rule, "max")
    out = []
    for who in s.entities(rule):
        for d in range(s.n_days):
            n = s.gaps_on(who, d)
            if n > limit:
                out.append((n - limit, f"{s.name(who)} has {n} gap(s) on {s.day(d)} (max {limit})"))
    return out


@rule_check("max_gaps_per_week")
def check_max_gaps_per_week(s: Schedule, rule: Rule) -> list[Finding]:
    limit = _param(rule, "max")
    out = []
    for who in s.entities(rule):
        n = sum(s.gaps_on(who, d) for d in range(s.n_days))
        if n > limit:
            out.append((n - limit, f"{s.name(who)} has {n} gaps in the week (max {limit})"))
    return out


@rule_check("min_days_per_week")
def check_min_days_per_week(s: Schedule, rule: Rule) -> list[Finding]:
    """Shortfall in days below min(`min`, blocks taught, days in the week)."""
    out = []
    for who in s.entities(rule):
        blocks = _blocks_of(s, who)
        need = min(_param(rule, "min"), blocks, s.n_days)
        days = s.days_taught(who)
        if days < need:
            out.append((need - days, f"{s.name(who)} teaches on {days} day(s) (min {need})"))
    return out


def _blocks_of(s: Schedule, who: tuple[str, str]) -> int:
    """Blocks of enabled lessons the teacher teaches, placed or not."""
    kind, id = who
    return sum(len(x.blocks) for x in s.lessons.values() if kind == "teacher" and id in x.teachers)


@rule_check("max_days_per_week")
def check_max_days_per_week(s: Schedule, rule: Rule) -> list[Finding]:
    limit = _param(rule, "max")
    out = []
    for who in s.entities(rule):
        days = s.days_taught(who)
        if days > limit:
            out.append((days - limit, f"{s.name(who)} teaches on {days} days (max {limit})"))
    return out


@rule_check("subject_spread")
def check_subject_spread(s: Schedule, rule: Rule) -> list[Finding]:
    """Blocks beyond `max_per_day` per (subgroup, subject, day); a double period is one block."""
    limit = _param(rule, "max_per_day")
    if rule.scope == "subject":
        subjects: set[str] | None = set(_targets(rule))
        who_list = [("students", g) for g in s.school.all_subgroups()]
    else:
        subjects = None
        who_list = s.entities(rule)
    out = []
    for who in who_list:
        counts: Counter[tuple[str, int]] = Counter()
        for p in s.blocks.get(who, []):
            subject = s.lessons[p.lesson].subject
            if subjects is None or subject in subjects:
                counts[subject, p.slot[0]] += 1
        for (subject, d), n in sorted(counts.items()):
            if n > limit:
                out.append((n - limit, f"{s.name(who)} has {subject} {n} times on {s.day(d)} (max {limit})"))
    return out


@rule_check("preferred_times")
def check_preferred_times(s: Schedule, rule: Rule) -> list[Finding]:
    """Blocks outside the slots: every period must be inside (mode all) or the first one (mode start)."""
    slots = _slots(rule)
    start_only = rule.params.get("mode", RULE_TYPES["preferred_times"].optional["mode"]) == "start"
    lessons = {x.id for x in s.lessons_in(rule)}
    out = []
    for p in s.placements:
        if p.lesson not in lessons:
            continue
        cells = [p.slot] if start_only else s.cells(p)
        if any(c not in slots for c in cells):
            out.append((1, f"{_block_name(p)} at {s.at(p.slot)} is outside the preferred times"))
    return out


# ---------------------------------------------------------------------- rule types for FET files


def _lesson_placements(s: Schedule, rule: Rule) -> list[Placement]:
    lessons = {x.id for x in s.lessons_in(rule)}
    return [p for p in s.placements if p.lesson in lessons]


def _pairs(items: list) -> list[tuple]:
    return [(a, b) for i, a in enumerate(items) for b in items[i + 1 :]]


def _after(s: Schedule, p: Placement) -> tuple[int, int]:
    """Day and period right after the block, skipping breaks (a break between two blocks keeps them together)."""
    day, end = p.slot[0], p.slot[1] + p.length
    while end < s.n_periods and (day, end) in s.breaks:
        end += 1
    return day, end


def _touching(a: Placement, b: Placement) -> bool:
    """One ends in the period before the other starts, on the same day, with no break between: FET's
    min days rule compares the hours alone, where its consecutive and grouped rules skip breaks."""
    if a.slot[0] != b.slot[0]:
        return False
    return a.slot[1] + a.length == b.slot[1] or b.slot[1] + b.length == a.slot[1]


@rule_check("same_room_if_consecutive")
def check_same_room_if_consecutive(s: Schedule, rule: Rule) -> list[Finding]:
    return [
        (
            1,
            f"{_block_name(a)} ({a.room}) and {_block_name(b)} ({b.room}) are back to back in different rooms",
        )
        for a, b in _pairs(_lesson_placements(s, rule))
        if a.room is not None and b.room is not None and a.room != b.room and _touching(a, b)
    ]


@rule_check("min_days_between")
def check_min_days_between(s: Schedule, rule: Rule) -> list[Finding]:
    """Days too close, per pair closer than `min_days` days (as FET counts them); with
    `consecutive_if_same_day`, same-day pairs must touch (hard)."""
    gap = _param(rule, "min_days")
    out = []
    for a, b in _pairs(_lesson_placements(s, rule)):
        distance = abs(a.slot[0] - b.slot[0])
        if distance < gap:
            message = f"{_block_name(a)} and {_block_name(b)} are {distance} day(s) apart (min {gap})"
            out.append((gap - distance, message))
        if distance == 0 and rule.params.get("consecutive_if_same_day") and not _touching(a, b):
            out.append((1, f"{_block_name(a)} and {_block_name(b)} share a day but are not back to back"))
    return out


def _same_start(
    s: Schedule, rule: Rule, key: Callable[[Slot], object], at: Callable[[Slot], str]
) -> list[Finding]:
    """Pairs of the rule's lessons whose starts differ in ``key`` (the slot, its day or its period)."""
    return [
        (1, f"{_block_name(a)} starts {at(a.slot)} but {_block_name(b)} {at(b.slot)}")
        for a, b in _pairs(_lesson_placements(s, rule))
        if key(a.slot) != key(b.slot)
    ]


@rule_check("same_starting_time")
def check_same_starting_time(s: Schedule, rule: Rule) -> list[Finding]:
    return _same_start(s, rule, lambda slot: slot, lambda slot: f"at {s.at(slot)}")


@rule_check("same_starting_day")
def check_same_starting_day(s: Schedule, rule: Rule) -> list[Finding]:
    return _same_start(s, rule, lambda slot: slot[0], lambda slot: f"on {s.day(slot[0])}")


@rule_check("same_starting_hour")
def check_same_starting_hour(s: Schedule, rule: Rule) -> list[Finding]:
    return _same_start(s, rule, lambda slot: slot[1], lambda slot: f"at {s.at(slot)}")


@rule_check("not_overlapping")
def check_not_overlapping(s: Schedule, rule: Rule) -> list[Finding]:
    return [
        (1, f"{_block_name(a)} and {_block_name(b)} overlap on {s.day(a.slot[0])}")
        for a, b in _pairs(_lesson_placements(s, rule))
        if set(s.cells(a)) & set(s.cells(b))
    ]


def _pair_in_order(s: Schedule, rule: Rule) -> tuple[Placement, Placement] | None:
    by_lesson = {p.lesson: p for p in s.placements}
    found = [by_lesson[i] for i in _targets(rule) if i in by_lesson]
    return (found[0], found[1]) if len(found) == 2 else None


@rule_check("consecutive")
def check_consecutive(s: Schedule, rule: Rule) -> list[Finding]:
    pair = _pair_in_order(s, rule)
    if pair is None or _after(s, pair[0]) == pair[1].slot:
        return []
    first, second = pair
    message = f"{_block_name(second)} at {s.at(second.slot)} does not follow {_block_name(first)}"
    return [(1, f"{message} at {s.at(first.slot)}")]


@rule_check("ordered")
def check_ordered(s: Schedule, rule: Rule) -> list[Finding]:
    pair = _pair_in_order(s, rule)
    if pair is None:
        return []
    first, second = pair
    if first.slot[0] == second.slot[0]:
        if first.slot[1] + first.length <= second.slot[1]:
            return []
    elif rule.params.get("same_day_only") or first.slot[0] < second.slot[0]:
        return []
    message = f"{_block_name(second)} at {s.at(second.slot)} does not come after {_block_name(first)}"
    return [(1, f"{message} at {s.at(first.slot)}")]


@rule_check("max_busy_slots")
def check_max_busy_slots(s: Schedule, rule: Rule) -> list[Finding]:
    most = _param(rule, "max")
    selected = _slots(rule)
    used = {c for p in _lesson_placements(s, rule) for c in s.cells(p) if c in selected}
    if len(used) <= most:
        return []
    return [(len(used) - most, f"the lessons use {len(used)} of the selected periods (max {most})")]


@rule_check("max_simultaneous")
def check_max_simultaneous(s: Schedule, rule: Rule) -> list[Finding]:
    most, selected = _param(rule, "max"), _slots(rule)
    at = Counter(c for p in _lesson_placements(s, rule) for c in s.cells(p) if c in selected)
    return [
        (n - most, f"{n} of the lessons at {s.at(c)} (max {most})") for c, n in sorted(at.items()) if n > most
    ]


@rule_check("max_days_between")
def check_max_days_between(s: Schedule, rule: Rule) -> list[Finding]:
    most = _param(rule, "max_days")
    out = []
    for a, b in _pairs(_lesson_placements(s, rule)):
        apart = abs(a.slot[0] - b.slot[0])
        if apart > most:
            out.append(
                (apart - most, f"{_block_name(a)} and {_block_name(b)} are {apart} days apart (max {most})")
            )
    return out


@rule_check("max_rooms")
def check_max_rooms(s: Schedule, rule: Rule) -> list[Finding]:
    most = _param(rule, "max")
    used = sorted({p.room for p in _lesson_placements(s, rule) if p.room is not None})
    if len(used) <= most:
        return []
    return [(len(used) - most, f"the lessons use {len(used)} rooms ({', '.join(used)}; max {most})")]


@rule_check("grouped")
def check_grouped(s: Schedule, rule: Rule) -> list[Finding]:
    by_lesson = {p.lesson: p for p in s.placements}
    found = sorted(
        (by_lesson[i] for i in dict.fromkeys(_targets(rule)) if i in by_lesson), key=lambda p: p.slot
    )
    if len(found) < 2 or all(_after(s, a) == b.slot for a, b in itertools.pairwise(found)):
        return []
    names = ", ".join(f"{_block_name(p)} ({s.at(p.slot)})" for p in found)
    return [(1, f"{names} are not one run")]


@rule_check("ends_students_day")
def check_ends_students_day(s: Schedule, rule: Rule) -> list[Finding]:
    out = []
    for p in _lesson_placements(s, rule):
        day, end = p.slot[0], p.slot[1] + p.length
        later = [
            sub
            for sub in sorted(s.subgroups[p.lesson])
            if any(q >= end for q in s.periods_on(("students", sub), day))
        ]
        if later:
            out.append((1, f"{_block_name(p)} does not end the day of students {', '.join(later)}"))
    return out


@rule_check("min_periods_per_day")
def check_min_periods_per_day(s: Schedule, rule: Rule) -> list[Finding]:
    need = _param(rule, "min")
    default = RULE_TYPES["min_periods_per_day"].optional["allow_empty_days"]
    allow_empty = bool(rule.params.get("allow_empty_days", default))
    out = []
    for who in s.entities(rule):
        if not s.blocks.get(who):
            continue
        for d in range(s.n_days):
            n = len(s.periods_on(who, d))
            if (n or not allow_empty) and n < need:
                out.append((need - n, f"{s.name(who)} has {n} period(s) on {s.day(d)} (min {need})"))
    return out


def _tagged_periods(s: Schedule, who: tuple[str, str], day: int, tag: str | None) -> set[int]:
    """Busy periods of the entity on the day, counting only lessons with ``tag`` when one is given."""
    if not tag:
        return set(s.periods_on(who, day))
    return {
        cell[1]
        for p in s.blocks.get(who, [])
        if p.slot[0] == day and tag in s.lessons[p.lesson].tags
        for cell in s.cells(p)
    }


@rule_check("max_tag_periods_per_day")
def check_max_tag_periods_per_day(s: Schedule, rule: Rule) -> list[Finding]:
    limit = _param(rule, "max")
    tag = rule.params["tag"]
    out = []
    for who in s.entities(rule):
        for d in range(s.n_days):
            n = len(_tagged_periods(s, who, d, tag))
            if n > limit:
                out.append(
                    (n - limit, f"{s.name(who)} has {n} periods tagged {tag} on {s.day(d)} (max {limit})")
                )
    return out


@rule_check("min_gaps_between")
def check_min_gaps_between(s: Schedule, rule: Rule) -> list[Finding]:
    need = _param(rule, "min_gaps")
    out = []
    for a, b in _pairs(_lesson_placements(s, rule)):
        if a.slot[0] != b.slot[0]:
            continue
        first, second = sorted((a, b), key=lambda p: p.slot[1])
        between = second.slot[1] - (first.slot[1] + first.length)
        if between < need:
            message = (
                f"{_block_name(first)} and {_block_name(second)} have {max(between, 0)} period(s) between"
            )
            out.append((1, f"{message} (min {need})"))
    return out


@rule_check("max_consecutive")
def check_max_consecutive(s: Schedule, rule: Rule) -> list[Finding]:
    """Periods beyond `max` in each run of busy periods; a free period or a break ends a run."""
    limit = _param(rule, "max")
    tag = rule.params.get("tag")
    out = []
    for who in s.entities(rule):
        for d in range(s.n_days):
            busy = _tagged_periods(s, who, d, tag)
            run = 0
            for p in range(s.n_periods + 1):
                if p in busy and (d, p) not in s.breaks:
                    run += 1
                    continue
                if run > limit:
                    message = f"{s.name(who)} has {run} periods in a row on {s.day(d)} (max {limit})"
                    out.append((run - limit, message))
                run = 0
    return out


@rule_check("early_start")
def check_early_start(s: Schedule, rule: Rule) -> list[Finding]:
    limit = _param(rule, "max_second_hour")
    out = []
    for who in s.entities(rule):
        off = s.breaks | s.unavailable_hard.get(who, set())
        second = 0
        for d in range(s.n_days):
            busy = s.periods_on(who, d)
            if not busy:
                continue
            free = [p for p in range(s.n_periods) if (d, p) not in off]
            skipped = sum(1 for p in free if p < busy[0])
            if skipped >= 2:
                out.append((1, f"{s.name(who)} starts at {s.at((d, busy[0]))}, after the second period"))
            elif skipped == 1:
                second += 1
        if second > limit:
            message = f"{s.name(who)} starts at the second period on {second} days (max {limit})"
            out.append((second - limit, message))
    return out


@rule_check("interval_max_days_per_week")
def check_interval_max_days_per_week(s: Schedule, rule: Rule) -> list[Finding]:
    limit = _param(rule, "max")
    start = _param(rule, "start")
    end = s.n_periods if rule.params.get("end") is None else _param(rule, "end")
    out = []
    for who in s.entities(rule):
        days = sum(1 for d in range(s.n_days) if any(start <= p < end for p in s.periods_on(who, d)))
        if days > limit:
            out.append((days - limit, f"{s.name(who)} is busy in the interval on {days} days (max {limit})"))
    return out


@rule_check("min_gaps_between_tags")
def check_min_gaps_between_tags(s: Schedule, rule: Rule) -> list[Finding]:
    first, second, need = rule.params["first_tag"], rule.params["second_tag"], _param(rule, "min")
    out = []
    for who in s.entities(rule):
        blocks = s.blocks.get(who, [])
        for a in (p for p in blocks if first in s.lessons[p.lesson].tags):
            for b in (p for p in blocks if second in s.lessons[p.lesson].tags):
                between = b.slot[1] - (a.slot[1] + a.length)
                if a.slot[0] == b.slot[0] and 0 <= between < need:
                    message = (
                        f"{s.name(who)}: {_block_name(b)} comes {between} period(s) after {_block_name(a)}"
                    )
                    out.append((1, f"{message} (min {need})"))
    return out


@rule_check("max_span_per_day")
def check_max_span_per_day(s: Schedule, rule: Rule) -> list[Finding]:
    most = _param(rule, "max")
    plus_one = bool(rule.params.get("one_day_plus_one", False))
    out = []
    for who in s.entities(rule):
        forgiven = not plus_one
        for d in range(s.n_days):
            busy = s.periods_on(who, d)
            span = busy[-1] - busy[0] + 1 if busy else 0
            over = span - most
            if over > 0 and not forgiven:
                # The one day a week allowed one period more.
                forgiven, over = True, over - 1
            if over > 0:
                out.append((over, f"{s.name(who)} spans {span} periods on {s.day(d)} (max {most})"))
    return out


@rule_check("min_resting_periods")
def check_min_resting_periods(s: Schedule, rule: Rule) -> list[Finding]:
    need = _param(rule, "min")
    nights = [(d, d + 1) for d in range(s.n_days - 1)]
    if rule.params.get("circular") and s.n_days > 1:
        nights.append((s.n_days - 1, 0))
    out = []
    for who in s.entities(rule):
        for d, e in nights:
            before, after = s.periods_on(who, d), s.periods_on(who, e)
            if not before or not after:
                continue
            rest = (s.n_periods - 1 - before[-1]) + after[0]
            if rest < need:
                message = f"{s.name(who)} rests {rest} periods from {s.day(d)} to {s.day(e)} (min {need})"
                out.append((need - rest, message))
    return out


def _in_buildings(s: Schedule, who, day: int) -> list[tuple[int, int, str]]:
    """(start, end, building) of each block of the day in a room with a building, in order of start."""
    return sorted(
        (p.slot[1], p.slot[1] + p.length, s.building[p.room])
        for p in s.blocks.get(who, [])
        if p.slot[0] == day and p.room is not None and s.building.get(p.room)
    )


def _building_changes(s: Schedule, who, day: int) -> int:
    seen = _in_buildings(s, who, day)
    return sum(1 for (*_, a), (*_, b) in itertools.pairwise(seen) if a != b)


@rule_check("max_building_changes_per_day")
def check_max_building_changes_per_day(s: Schedule, rule: Rule) -> list[Finding]:
    limit = _param(rule, "max")
    out = []
    for who in s.entities(rule):
        for d in range(s.n_days):
            changes = _building_changes(s, who, d)
            if changes > limit:
                message = f"{s.name(who)} changes building {changes} times on {s.day(d)} (max {limit})"
                out.append((changes - limit, message))
    return out


@rule_check("max_building_changes_per_week")
def check_max_building_changes_per_week(s: Schedule, rule: Rule) -> list[Finding]:
    limit = _param(rule, "max")
    out = []
    for who in s.entities(rule):
        changes = sum(_building_changes(s, who, d) for d in range(s.n_days))
        if changes > limit:
            out.append(
                (changes - limit, f"{s.name(who)} changes building {changes} times a week (max {limit})")
            )
    return out


@rule_check("min_gaps_between_building_changes")
def check_min_gaps_between_building_changes(s: Schedule, rule: Rule) -> list[Finding]:
    need = _param(rule, "min")
    out = []
    for who in s.entities(rule):
        for d in range(s.n_days):
            for (_, end, a), (start, _, b) in itertools.combinations(_in_buildings(s, who, d), 2):
                if a != b and start - end < need:
                    message = (
                        f"{s.name(who)} moves from {a} to {b} on {s.day(d)} with {max(start - end, 0)} free "
                        f"period(s) between (min {need})"
                    )
                    out.append((1, message))
    return out


@rule_check("preferred_rooms")
def check_preferred_rooms(s: Schedule, rule: Rule) -> list[Finding]:
    rooms = set(rule.params.get("rooms", []))
    return [
        (1, f"{_block_name(p)} is in {p.room or 'no room'}, not in {', '.join(sorted(rooms))}")
        for p in _lesson_placements(s, rule)
        if p.room not in rooms
    ]


# ---------------------------------------------------------------------- the report


def check(school: School, timetable: Timetable) -> CheckReport:
    """Check a timetable against every built-in hard rule and every enabled rule of the school."""
    s = Schedule(school, timetable)
    report = CheckReport()
    for name, fn in BUILTIN_CHECKS.items():
        for amount, message in fn(s, timetable):
            report.hard.append(Violation(name, name, True, message, amount, HARD))
    for rule in school.rules:
        if not rule.enabled:
            continue
        hard = rule.weight >= HARD
        fn = RULE_CHECKS.get(rule.type)
        if fn is None:
            message = f"rule type '{rule.type}' is not known to the checker"
            report.hard.append(Violation(rule.id, rule.type, True, message, 1, rule.weight))
            continue
        try:
            findings = fn(s, rule)
        except (KeyError, TypeError, ValueError) as e:
            # A malformed rule (validation would refuse it) must not hide the rest of the report.
            message = f"the rule could not be checked ({type(e).__name__}: {e}); run validation on the school"
            report.hard.append(Violation(rule.id, rule.type, True, message, 1, rule.weight))
            continue
        violations = [Violation(rule.id, rule.type, hard, m, a, rule.weight) for a, m in findings if a > 0]
        if hard:
            report.hard.extend(violations)
        else:
            report.soft.extend(violations)
            if violations:
                cost = rule.weight * sum(v.amount for v in violations)
                report.breakdown[rule.id] = report.breakdown.get(rule.id, 0) + cost
    report.score = sum(report.breakdown.values())
    return report
