"""View models of one timetable version: grids per class, teacher or room, unplaced lessons, rule scores.

Everything here works on the engine's ``School`` and ``Timetable`` alone, so it runs without a browser,
without Panel and without a database. ``Schedule`` indexes the placements once; a grid for any class,
teacher or room is then a cheap lookup, which keeps switching between grids fast.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import pandas as pd

from solver.checker import CheckReport, check
from solver.domain import Placement, School, Slot, Timetable
from solver.rules import RULE_TYPES

KINDS = ("class", "teacher", "room")
"""What a grid can show: the lessons of one class (with its groups), one teacher or one room."""

# Light, print-friendly colours for subjects that have none of their own; dark text stays readable.
PALETTE = (
    "#8ecae6",
    "#ffb703",
    "#90be6d",
    "#f4a261",
    "#cdb4db",
    "#ffafcc",
    "#a8dadc",
    "#e9c46a",
    "#b5e48c",
    "#f28482",
    "#bde0fe",
    "#d4a373",
    "#84a59d",
    "#f6bd60",
    "#c8b6ff",
    "#e5989b",
)


def subject_color(school: School, subject_id: str) -> str:
    """The subject's own colour, or a stable pick from the palette so a subject looks the same everywhere."""
    if school.has("subject", subject_id) and school.subject(subject_id).color:
        return school.subject(subject_id).color
    digest = hashlib.blake2s(subject_id.encode(), digest_size=2).digest()
    return PALETTE[int.from_bytes(digest, "big") % len(PALETTE)]


def ink(background: str) -> str:
    """Black or white text, whichever reads better on ``background`` (a #rrggbb colour)."""
    hex_ = background.lstrip("#")
    if len(hex_) != 6:
        return "#111"
    r, g, b = (int(hex_[i : i + 2], 16) for i in (0, 2, 4))
    return "#111" if 0.299 * r + 0.587 * g + 0.114 * b > 150 else "#fff"


@dataclass(frozen=True)
class Entry:
    """One placed block, with the names a reader needs; it covers ``length`` periods from ``slot``."""

    lesson: str
    block: int
    slot: Slot
    length: int
    room: str | None
    subject: str
    teachers: tuple[str, ...]
    groups: tuple[str, ...]
    classes: tuple[str, ...]
    real_rooms: tuple[str, ...] = ()
    """The real rooms it takes when ``room`` is a combined room; their grids show it too."""

    def periods(self) -> list[Slot]:
        return [(self.slot[0], self.slot[1] + i) for i in range(self.length)]


@dataclass(frozen=True)
class Cell:
    """What a grid shows in one slot for one entry. ``first`` is False on the later periods of a double."""

    lesson: str
    block: int
    subject: str
    subject_name: str
    color: str
    teachers: tuple[str, ...]
    groups: tuple[str, ...]
    room: str
    first: bool
    length: int

    def text(self) -> str:
        """A one-line label: subject, teachers, groups and room, the way a printed timetable reads."""
        parts = [self.subject_name, ", ".join(self.teachers), ", ".join(self.groups), self.room]
        return " · ".join(p for p in parts if p)


@dataclass
class Grid:
    """Days by periods for one class, teacher or room. ``cells[(day, period)]`` lists what runs there."""

    kind: str
    id: str
    title: str
    days: list[str]
    periods: list[str]
    breaks: frozenset[Slot]
    cells: dict[Slot, list[Cell]] = field(default_factory=dict)

    def at(self, day: int, period: int) -> list[Cell]:
        return self.cells.get((day, period), [])

    def lessons(self) -> set[tuple[str, int, Slot]]:
        """Every (lesson, block, slot) the grid shows, one per period covered; tests compare it to the store."""
        return {(c.lesson, c.block, s) for s, cs in self.cells.items() for c in cs}

    def frame(self) -> pd.DataFrame:
        """The grid as text: one row per day, one column per period; breaks read "break"."""
        rows = []
        for d in range(len(self.days)):
            row = []
            for p in range(len(self.periods)):
                if (d, p) in self.breaks:
                    row.append("break")
                else:
                    row.append(" / ".join(c.text() for c in self.at(d, p)))
            rows.append(row)
        return pd.DataFrame(rows, index=self.days, columns=self.periods)


class Schedule:
    """A timetable version read for people: the school, its placements, and indexes by class, teacher, room.

    ``version`` is the store's summary of the version (name, created, stats); it may be empty when the
    timetable did not come from the store.
    """

    def __init__(self, school: School, timetable: Timetable, version: dict | None = None):
        self.school = school
        self.timetable = timetable
        self.version = dict(version or {})
        self._class_of = {c.id: c.id for c in school.classes} | {g.id: g.class_id for g in school.groups}
        self._names = {
            "class": {c.id: c.name for c in school.classes},
            "teacher": {t.id: t.name for t in school.teachers},
            "room": {r.id: r.name for r in school.rooms},
            "group": {c.id: c.name for c in school.classes} | {g.id: g.name for g in school.groups},
            "subject": {s.id: s.name for s in school.subjects},
        }

    @property
    def name(self) -> str:
        return str(self.version.get("name") or self.school.name)

    def label(self, kind: str, id: str) -> str:
        """A person's name for an id of ``kind`` (class, teacher, room, group, subject); the id if unknown."""
        return self._names.get(kind, {}).get(id, id)

    def items(self, kind: str) -> dict[str, str]:
        """Ids and names of every class, teacher or room, in the school's order, for a selector."""
        if kind not in KINDS:
            raise ValueError(f"unknown grid kind '{kind}': use one of {', '.join(KINDS)}")
        return dict(self._names[kind])

    def entry(self, placement: Placement) -> Entry:
        lesson = self.school.lesson_by_id.get(placement.lesson)
        if lesson is None:
            # A version saved before its lesson was deleted still shows, under its id.
            return Entry(
                placement.lesson,
                placement.block,
                placement.slot,
                placement.length,
                placement.room,
                "?",
                (),
                (),
                (),
            )
        classes = tuple(dict.fromkeys(self._class_of.get(g, g) for g in lesson.groups))
        return Entry(
            lesson.id,
            placement.block,
            tuple(placement.slot),
            placement.length,
            placement.room,
            lesson.subject,
            tuple(lesson.teachers),
            tuple(lesson.groups),
            classes,
            tuple(placement.real_rooms),
        )

    @cached_property
    def entries(self) -> list[Entry]:
        """Every placed block, sorted by day and period."""
        return sorted((self.entry(p) for p in self.timetable.placements), key=lambda e: (e.slot, e.lesson))

    @cached_property
    def _index(self) -> dict[str, dict[str, list[Entry]]]:
        index: dict[str, dict[str, list[Entry]]] = {k: {} for k in KINDS}
        subgroups = self.school.subgroups_of
        owners: dict[str, list[str]] = {}
        for c in self.school.classes:
            for s in subgroups.get(c.id, ()):
                owners.setdefault(s, []).append(c.id)
        for e in self.entries:
            # A class sees every lesson its students attend: whole-class lessons and its groups' lessons.
            attending: dict[str, None] = dict.fromkeys(e.classes)
            for g in e.groups:
                for s in subgroups.get(g, ()):
                    attending.update(dict.fromkeys(owners.get(s, ())))
            for c in attending:
                index["class"].setdefault(c, []).append(e)
            for t in e.teachers:
                index["teacher"].setdefault(t, []).append(e)
            for r in dict.fromkeys([e.room, *e.real_rooms] if e.room else e.real_rooms):
                index["room"].setdefault(r, []).append(e)
        return index

    def entries_for(self, kind: str, id: str) -> list[Entry]:
        """The placed blocks a class, teacher or room takes part in."""
        if kind not in KINDS:
            raise ValueError(f"unknown grid kind '{kind}': use one of {', '.join(KINDS)}")
        return self._index[kind].get(id, [])

    def room_label(self, e: Entry) -> str:
        """The room's name; a combined room's with the real rooms taken, as "Sport (Hall 1, Gym)"."""
        if not e.room:
            return ""
        name = self.label("room", e.room)
        return f"{name} ({', '.join(self.label('room', r) for r in e.real_rooms)})" if e.real_rooms else name

    def cell(self, e: Entry, first: bool) -> Cell:
        return Cell(
            lesson=e.lesson,
            block=e.block,
            subject=e.subject,
            subject_name=self.label("subject", e.subject),
            color=subject_color(self.school, e.subject),
            teachers=tuple(self.label("teacher", t) for t in e.teachers),
            groups=tuple(self.label("group", g) for g in e.groups),
            room=self.room_label(e),
            first=first,
            length=e.length,
        )

    def grid(self, kind: str, id: str) -> Grid:
        """The days-by-periods grid of one class, teacher or room."""
        if id not in self.items(kind):
            known = ", ".join(list(self.items(kind))[:8])
            raise ValueError(f"no {kind} with id '{id}' in school '{self.school.name}': pick one of {known}…")
        cal = self.school.calendar
        grid = Grid(kind, id, self.label(kind, id), list(cal.days), list(cal.periods), frozenset(cal.breaks))
        for e in self.entries_for(kind, id):
            for i, slot in enumerate(e.periods()):
                grid.cells.setdefault(slot, []).append(self.cell(e, first=i == 0))
        return grid

    def unplaced_frame(self, kind: str | None = None, id: str | None = None) -> pd.DataFrame:
        """The lessons that could not be placed and why; only those of one class, teacher or room if given."""
        rows = []
        subgroups = self.school.subgroups_of
        wanted = subgroups.get(id, frozenset()) if kind == "class" and id else frozenset()
        for u in self.timetable.unplaced:
            lesson = self.school.lesson_by_id.get(u.lesson)
            teachers = list(lesson.teachers) if lesson else []
            groups = list(lesson.groups) if lesson else []
            if kind == "teacher" and id not in teachers:
                continue
            if kind == "room" and (lesson is None or id not in lesson.rooms):
                continue
            if kind == "class" and (lesson is None or not (self.school.lesson_subgroups(lesson) & wanted)):
                continue
            rows.append(
                {
                    "lesson": u.lesson,
                    "subject": self.label("subject", lesson.subject) if lesson else "?",
                    "teachers": ", ".join(self.label("teacher", t) for t in teachers),
                    "groups": ", ".join(self.label("group", g) for g in groups),
                    "block": u.block,
                    "periods": u.periods,
                    "reason": u.reason,
                }
            )
        columns = ["lesson", "subject", "teachers", "groups", "block", "periods", "reason"]
        return pd.DataFrame(rows, columns=columns)

    @cached_property
    def report(self) -> CheckReport:
        """The independent checker's verdict on this version under the school's current rules."""
        return check(self.school, self.timetable)

    def _rule_row(self, rule_id: str) -> dict:
        rule = self._rules.get(rule_id)
        if rule is None:
            # Built-in hard rules (clashes, breaks, block lengths) have a name instead of a rule record.
            return {"rule": rule_id, "type": rule_id.replace("_", " "), "applies to": "", "weight": 100}
        target = rule.target if isinstance(rule.target, str) else ", ".join(rule.target or [])
        return {
            "rule": rule.id,
            "type": RULE_TYPES[rule.type].title if rule.type in RULE_TYPES else rule.type,
            "applies to": f"{rule.scope.replace('_', ' ')} {target}".strip(),
            "weight": rule.weight,
        }

    @cached_property
    def _rules(self) -> dict:
        return {r.id: r for r in self.school.rules}

    def breakdown_frame(self) -> pd.DataFrame:
        """The soft score by rule, worst first: which rule, whom it applies to, its weight, how many times
        it is broken and the penalty (weight x amount), recomputed by the checker from the placements."""
        counts: dict[str, int] = {}
        for v in self.report.soft:
            counts[v.rule] = counts.get(v.rule, 0) + 1
        rows = [
            {**self._rule_row(rule_id), "violations": counts.get(rule_id, 0), "penalty": penalty}
            for rule_id, penalty in self.report.breakdown.items()
        ]
        columns = ["rule", "type", "applies to", "weight", "violations", "penalty"]
        frame = pd.DataFrame(rows, columns=columns)
        return frame.sort_values("penalty", ascending=False, kind="stable").reset_index(drop=True)

    def violations_frame(self) -> pd.DataFrame:
        """Every broken rule, hard ones (conflicts) first, with the checker's message naming who and when."""
        rows = [
            {
                "hard": v.hard,
                "rule": v.rule,
                "message": v.message,
                "penalty": 0 if v.hard else v.weight * v.amount,
            }
            for v in [*self.report.hard, *self.report.soft]
        ]
        return pd.DataFrame(rows, columns=["hard", "rule", "message", "penalty"])

    def placements_frame(self) -> pd.DataFrame:
        """One row per placed block, with names: the long form behind the CSV export."""
        cal = self.school.calendar
        rows = []
        for e in self.entries:
            d, p = e.slot
            rows.append(
                {
                    "day": cal.days[d],
                    "period": cal.periods[p],
                    "length": e.length,
                    "last period": cal.periods[min(p + e.length - 1, cal.n_periods - 1)],
                    "subject": self.label("subject", e.subject),
                    "teachers": "; ".join(self.label("teacher", t) for t in e.teachers),
                    "groups": "; ".join(self.label("group", g) for g in e.groups),
                    "classes": "; ".join(self.label("class", c) for c in e.classes),
                    "room": self.room_label(e),
                    "lesson": e.lesson,
                    "block": e.block,
                }
            )
        columns = [
            "day",
            "period",
            "length",
            "last period",
            "subject",
            "teachers",
            "groups",
            "classes",
            "room",
            "lesson",
            "block",
        ]
        return pd.DataFrame(rows, columns=columns)
