"""Compare two versions of a timetable: which lessons moved, changed room, or were added or removed.

Blocks are matched lesson by lesson. A block that sits at the same time in both versions is unchanged,
even when the solver numbered equal-length blocks the other way round; the rest are paired by length
in block order and count as moves. Whatever is left over was added or removed.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from .model import Entry, Schedule

CHANGES = ("moved", "room", "added", "removed")


@dataclass(frozen=True)
class Change:
    """One difference: ``before`` is the block in the old version, ``after`` the one in the new."""

    kind: str
    lesson: str
    before: Entry | None
    after: Entry | None


def compare(old: Schedule, new: Schedule) -> list[Change]:
    """The changes from ``old`` to ``new``, in lesson order: moves, room changes, additions and removals."""
    by_lesson_old: dict[str, list[Entry]] = {}
    by_lesson_new: dict[str, list[Entry]] = {}
    for e in old.entries:
        by_lesson_old.setdefault(e.lesson, []).append(e)
    for e in new.entries:
        by_lesson_new.setdefault(e.lesson, []).append(e)
    changes: list[Change] = []
    for lesson in sorted(by_lesson_old.keys() | by_lesson_new.keys()):
        before = sorted(by_lesson_old.get(lesson, []), key=lambda e: e.block)
        after = sorted(by_lesson_new.get(lesson, []), key=lambda e: e.block)
        left_after = list(after)
        left_before = []
        for b in before:
            same = next((a for a in left_after if (a.slot, a.length) == (b.slot, b.length)), None)
            if same is None:
                left_before.append(b)
                continue
            left_after.remove(same)
            if (same.room, same.real_rooms) != (b.room, b.real_rooms):
                changes.append(Change("room", lesson, b, same))
        for b in left_before:
            moved = next((a for a in left_after if a.length == b.length), None)
            if moved is None:
                changes.append(Change("removed", lesson, b, None))
                continue
            left_after.remove(moved)
            changes.append(Change("moved", lesson, b, moved))
        changes.extend(Change("added", lesson, None, a) for a in left_after)
    return changes


def when(schedule: Schedule, e: Entry | None) -> str:
    """A block's time as a planner says it: ``Tuesday 3`` or ``Tuesday 3–4`` for a double."""
    if e is None:
        return ""
    cal = schedule.school.calendar
    d, p = e.slot
    last = cal.periods[min(p + e.length - 1, cal.n_periods - 1)]
    span = cal.periods[p] if e.length == 1 else f"{cal.periods[p]}–{last}"
    return f"{cal.days[d]} {span}"


def changes_frame(old: Schedule, new: Schedule, changes: list[Change] | None = None) -> pd.DataFrame:
    """The changes as a table a planner reads: lesson, subject, who, and from → to with rooms."""

    def room(s: Schedule, e: Entry | None) -> str:
        return s.room_label(e) if e is not None else ""

    rows = []
    for c in compare(old, new) if changes is None else changes:
        e = c.after or c.before
        source = new if c.after is not None else old
        rows.append(
            {
                "change": c.kind,
                "lesson": c.lesson,
                "subject": source.label("subject", e.subject),
                "teachers": ", ".join(source.label("teacher", t) for t in e.teachers),
                "groups": ", ".join(source.label("group", g) for g in e.groups),
                "from": when(old, c.before),
                "to": when(new, c.after),
                "room before": room(old, c.before),
                "room after": room(new, c.after),
            }
        )
    columns = ["change", "lesson", "subject", "teachers", "groups", "from", "to", "room before", "room after"]
    return pd.DataFrame(rows, columns=columns)


def summary(changes: list[Change]) -> dict[str, int]:
    """How many changes of each kind, for a one-line headline."""
    counts = dict.fromkeys(CHANGES, 0)
    for c in changes:
        counts[c.kind] += 1
    return counts


def change_marks(old: Schedule, new: Schedule, changes: list[Change]) -> dict[tuple[str, int], str]:
    """For the blocks of ``new`` that differ from ``old``: (lesson, block) -> what changed, for the grid."""
    marks = {}
    for c in changes:
        if c.after is None:
            continue
        if c.kind == "moved":
            text = f"moved from {when(old, c.before)}"
        elif c.kind == "room":
            before = old.room_label(c.before) or "no room"
            text = f"room changed from {before}"
        else:
            text = "not placed in the compared version"
        marks[(c.lesson, c.after.block)] = text
    return marks
