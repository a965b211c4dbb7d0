"""The school model: calendar, subjects, teachers, classes and groups, rooms, lessons and rules.

Times inside Python are ``(day, period)`` index pairs; the JSON form (``solver.io``) uses names.

Students are modelled the way FET does it. Every class is made of *subgroups*, the smallest sets of
students that always move together. A class with no groups has one subgroup, itself. A class divided
into groups gets one subgroup per combination of its divisions: 7A split into halves (7A-1, 7A-2) and
into languages (7A-FR, 7A-DE) has four subgroups. Two lessons clash when the subgroups they teach
overlap, so lessons for 7A-1 and 7A-2 may run together, but 7A-1 and 7A-FR may not.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from functools import cached_property

Slot = tuple[int, int]
"""A (day index, period index) pair."""

HARD = 100
"""A rule of weight 100 must hold; any lower weight makes it a soft rule penalised in proportion."""


@dataclass
class Calendar:
    days: list[str]
    periods: list[str]
    breaks: list[Slot] = field(default_factory=list)

    @property
    def n_days(self) -> int:
        return len(self.days)

    @property
    def n_periods(self) -> int:
        return len(self.periods)

    def slots(self) -> list[Slot]:
        return [(d, p) for d in range(self.n_days) for p in range(self.n_periods)]

    def teaching_slots(self) -> list[Slot]:
        breaks = set(self.breaks)
        return [s for s in self.slots() if s not in breaks]

    def slot_name(self, slot: Slot) -> str:
        return f"{self.days[slot[0]]} {self.periods[slot[1]]}"


@dataclass
class Subject:
    id: str
    name: str = ""
    color: str = ""

    def __post_init__(self):
        self.name = self.name or self.id


@dataclass
class Teacher:
    id: str
    name: str = ""

    def __post_init__(self):
        self.name = self.name or self.id


@dataclass
class Room:
    """A room. A room with ``real_rooms`` is a combined room (FET's virtual room): sets of real rooms, and a
    block placed in it takes one real room from each set, all different, for its whole length (a sports
    lesson in "both halls", or "the big hall or two small ones"). The combined room itself never clashes;
    its real rooms do."""

    id: str
    name: str = ""
    capacity: int | None = None
    building: str = ""
    real_rooms: list[list[str]] = field(default_factory=list)

    def __post_init__(self):
        self.name = self.name or self.id


@dataclass
class StudentClass:
    """A class of students, such as 7A. Called a "year" in FET."""

    id: str
    name: str = ""
    size: int | None = None

    def __post_init__(self):
        self.name = self.name or self.id


@dataclass
class Group:
    """A part of a class, such as 7A-1 or 7A-French.

    Groups of one ``division`` split the class between them and may be taught at the same time. When
    ``subgroups`` is given it lists the class's subgroups this group is made of (FET import uses this);
    otherwise they are derived from the divisions.
    """

    id: str
    class_id: str
    name: str = ""
    division: str = ""
    subgroups: list[str] | None = None

    def __post_init__(self):
        self.name = self.name or self.id


@dataclass
class Pin:
    """A block fixed in advance: block ``block`` of the lesson starts at ``slot`` (and in ``room``)."""

    block: int
    slot: Slot
    room: str | None = None


def one_from_each(sets: list[list[str]], rooms: list[str]) -> list[str] | None:
    """``rooms`` in an order that takes the i-th from the i-th of ``sets``, all different; None when they
    cannot be (a lesson's fixed real rooms in a combined room, listed in any order as FET does)."""
    if len(rooms) != len(sets) or len(set(rooms)) != len(rooms):
        return None
    return next(
        (list(order) for order in itertools.permutations(rooms) if all(r in s for r, s in zip(order, sets))),
        None,
    )


@dataclass
class Lesson:
    """A subject taught by some teachers to some classes or groups, ``sum(blocks)`` periods a week.

    ``blocks`` splits the weekly periods into contiguous runs, e.g. ``[2, 1, 1]`` is one double and two
    singles. Blocks of one lesson fall at least ``min_days_apart`` days apart (0 allows the same day).
    ``rooms`` lists the rooms it may use; an empty list means it needs no room. ``real_rooms``, for a
    lesson in one combined room, are the real rooms its blocks take there, one for each of the room's
    sets, in any order (FET's preferred room with real rooms); empty: any.
    """

    id: str
    subject: str
    teachers: list[str] = field(default_factory=list)
    groups: list[str] = field(default_factory=list)
    blocks: list[int] = field(default_factory=lambda: [1])
    min_days_apart: int = 1
    rooms: list[str] = field(default_factory=list)
    pinned: list[Pin] = field(default_factory=list)
    enabled: bool = True
    tags: list[str] = field(default_factory=list)
    real_rooms: list[str] = field(default_factory=list)

    @property
    def periods(self) -> int:
        return sum(self.blocks)


SCOPES = (
    "teacher",
    "all_teachers",
    "group",
    "all_groups",
    "room",
    "all_rooms",
    "lesson",
    "lessons",
    "subject",
)
"""Who a rule applies to. Singular scopes name one item in ``target``; ``lessons`` lists lesson ids."""


@dataclass
class Rule:
    """A weighted constraint: a ``type`` from ``solver.rules.RULE_TYPES`` applied to a scope."""

    id: str
    type: str
    scope: str
    target: str | list[str] | None = None
    weight: int = HARD
    params: dict = field(default_factory=dict)
    enabled: bool = True
    note: str = ""

    @property
    def hard(self) -> bool:
        return self.weight >= HARD


@dataclass
class School:
    name: str
    calendar: Calendar
    subjects: list[Subject] = field(default_factory=list)
    teachers: list[Teacher] = field(default_factory=list)
    classes: list[StudentClass] = field(default_factory=list)
    groups: list[Group] = field(default_factory=list)
    rooms: list[Room] = field(default_factory=list)
    lessons: list[Lesson] = field(default_factory=list)
    rules: list[Rule] = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    # Lookups. Derived data is cached; code that edits a School in place calls ``invalidate()``.

    def invalidate(self) -> None:
        for name in ("subgroups_of", "lesson_by_id", "_index"):
            self.__dict__.pop(name, None)

    @cached_property
    def _index(self) -> dict[str, dict[str, object]]:
        return {
            "subject": {x.id: x for x in self.subjects},
            "teacher": {x.id: x for x in self.teachers},
            "class": {x.id: x for x in self.classes},
            "group": {x.id: x for x in self.groups},
            "room": {x.id: x for x in self.rooms},
        }

    def subject(self, id: str) -> Subject:
        return self._index["subject"][id]

    def teacher(self, id: str) -> Teacher:
        return self._index["teacher"][id]

    def room(self, id: str) -> Room:
        return self._index["room"][id]

    def has(self, kind: str, id: str) -> bool:
        return id in self._index[kind]

    @cached_property
    def lesson_by_id(self) -> dict[str, Lesson]:
        return {x.id: x for x in self.lessons}

    def active_lessons(self) -> list[Lesson]:
        return [x for x in self.lessons if x.enabled]

    @cached_property
    def subgroups_of(self) -> dict[str, frozenset[str]]:
        """Subgroups of every class and group id: the students a lesson for it occupies."""
        result: dict[str, frozenset[str]] = {}
        by_class: dict[str, list[Group]] = {}
        for g in self.groups:
            by_class.setdefault(g.class_id, []).append(g)
        for c in self.classes:
            members = by_class.get(c.id, [])
            explicit = [g for g in members if g.subgroups is not None]
            if explicit:
                for g in explicit:
                    result[g.id] = frozenset(g.subgroups or ())
                derived = [g for g in members if g.subgroups is None]
                for g in derived:
                    result[g.id] = frozenset([g.id])
                result[c.id] = frozenset().union(*(result[g.id] for g in members))
                continue
            if not members:
                result[c.id] = frozenset([c.id])
                continue
            divisions: dict[str, list[Group]] = {}
            for g in members:
                divisions.setdefault(g.division, []).append(g)
            parts = list(divisions.values())
            combos = ["/".join(g.id for g in combo) for combo in itertools.product(*parts)]
            result[c.id] = frozenset(combos)
            for g in members:
                result[g.id] = frozenset(name for name in combos if g.id in name.split("/"))
        return result

    def all_subgroups(self) -> list[str]:
        seen: dict[str, None] = {}
        for c in self.classes:
            for s in sorted(self.subgroups_of.get(c.id, ())):
                seen.setdefault(s, None)
        return list(seen)

    def lesson_subgroups(self, lesson: Lesson) -> frozenset[str]:
        return frozenset().union(*(self.subgroups_of.get(g, frozenset()) for g in lesson.groups))

    def total_periods(self) -> int:
        return sum(x.periods for x in self.active_lessons())


@dataclass
class Placement:
    """Block ``block`` of ``lesson`` runs ``length`` periods from ``slot``, in ``room`` if any. In a combined
    room, ``real_rooms`` are the real rooms it takes, one from each of the room's sets, in their order."""

    lesson: str
    block: int
    slot: Slot
    length: int
    room: str | None = None
    real_rooms: list[str] = field(default_factory=list)


@dataclass
class Unplaced:
    lesson: str
    block: int
    periods: int
    reason: str


@dataclass
class Timetable:
    """The result of a solve: placements, what could not be placed and why, and the soft score."""

    placements: list[Placement] = field(default_factory=list)
    unplaced: list[Unplaced] = field(default_factory=list)
    placed: int = 0
    total: int = 0
    score: int = 0
    breakdown: dict[str, int] = field(default_factory=dict)
    phase: str = ""
    status: str = ""
    solve_time: float = 0.0
    first_complete_time: float | None = None
    meta: dict = field(default_factory=dict)

    @property
    def complete(self) -> bool:
        """Every period placed and every hard rule kept (the fallback may place everything yet miss a
        hard minimum rule, listed in ``meta["minimums_not_met"]``)."""
        return (
            self.total > 0
            and self.placed == self.total
            and not self.unplaced
            and not self.meta.get("minimums_not_met")
        )
