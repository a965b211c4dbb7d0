"""pandas views of a school and of a timetable, for notebooks and analysts.

``school_tables(school)`` gives one DataFrame per table (subjects, teachers, classes, groups, rooms,
lessons, rules). ``timetable_frame(school, timetable)`` gives one row per placed period. The helpers
answer the usual questions: how many periods each teacher has each day (``teacher_load``), where the
gaps are (``gaps``) and how a subject is spread over the week (``subject_spread``).

Names are shown where a planner expects them (teacher and subject names); ids stay in their own columns
so that frames can be joined.
"""

from __future__ import annotations

import pandas as pd

from .domain import School, Timetable


def _ids(values) -> str:
    return ", ".join(values)


def school_tables(school: School) -> dict[str, pd.DataFrame]:
    """Every table of the school as a DataFrame, keyed by table name."""
    cal = school.calendar

    def slots(value) -> str:
        return _ids(cal.slot_name(tuple(s)) for s in value)

    lessons = pd.DataFrame(
        [
            {
                "id": x.id,
                "subject": x.subject,
                "subject_name": school.subject(x.subject).name if school.has("subject", x.subject) else x.subject,
                "teachers": _ids(x.teachers),
                "groups": _ids(x.groups),
                "blocks": "+".join(str(n) for n in x.blocks),
                "periods": x.periods,
                "min_days_apart": x.min_days_apart,
                "rooms": _ids(x.rooms),
                "pinned": len(x.pinned),
                "enabled": x.enabled,
            }
            for x in school.lessons
        ],
        columns=[
            "id", "subject", "subject_name", "teachers", "groups", "blocks", "periods",
            "min_days_apart", "rooms", "pinned", "enabled",
        ],
    )  # fmt: skip
    rules = pd.DataFrame(
        [
            {
                "id": r.id,
                "type": r.type,
                "scope": r.scope,
                "target": r.target if isinstance(r.target, str) or r.target is None else _ids(r.target),
                "weight": r.weight,
                "hard": r.hard,
                "params": ", ".join(
                    f"{k}={slots(v) if k == 'slots' else v}" for k, v in sorted(r.params.items())
                ),
                "enabled": r.enabled,
                "note": r.note,
            }
            for r in school.rules
        ],
        columns=["id", "type", "scope", "target", "weight", "hard", "params", "enabled", "note"],
    )
    periods = teaching_load(school)
    return {
        "subjects": pd.DataFrame(
            [{"id": x.id, "name": x.name, "color": x.color} for x in school.subjects],
            columns=["id", "name", "color"],
        ),
        "teachers": pd.DataFrame(
            [
                {"id": x.id, "name": x.name, "periods": periods.get(("teacher", x.id), 0)}
                for x in school.teachers
            ],
            columns=["id", "name", "periods"],
        ),
        "classes": pd.DataFrame(
            [
                {
                    "id": x.id,
                    "name": x.name,
                    "size": x.size,
                    "groups": _ids(g.id for g in school.groups if g.class_id == x.id),
                    "subgroups": len(school.subgroups_of.get(x.id, ())),
                }
                for x in school.classes
            ],
            columns=["id", "name", "size", "groups", "subgroups"],
        ),
        "groups": pd.DataFrame(
            [
                {"id": g.id, "name": g.name, "class": g.class_id, "division": g.division}
                for g in school.groups
            ],
            columns=["id", "name", "class", "division"],
        ),
        "rooms": pd.DataFrame(
            [
                {
                    "id": x.id,
                    "name": x.name,
                    "capacity": x.capacity,
                    "building": x.building,
                    "periods": periods.get(("room", x.id), 0),
                }
                for x in school.rooms
            ],
            columns=["id", "name", "capacity", "building", "periods"],
        ),
        "lessons": lessons,
        "rules": rules,
    }


def teaching_load(school: School) -> dict[tuple[str, str], int]:
    """Weekly periods each teacher must teach, and each room is the only allowed room for."""
    load: dict[tuple[str, str], int] = {}
    for x in school.active_lessons():
        for t in x.teachers:
            load["teacher", t] = load.get(("teacher", t), 0) + x.periods
        if len(x.rooms) == 1:
            load["room", x.rooms[0]] = load.get(("room", x.rooms[0]), 0) + x.periods
    return load


TIMETABLE_COLUMNS = [
    "day", "period", "day_index", "period_index", "lesson", "block", "subject", "subject_name",
    "teachers", "teacher_names", "groups", "room", "real_rooms",
]  # fmt: skip


def timetable_frame(school: School, timetable: Timetable) -> pd.DataFrame:
    """One row per placed period: day, period, lesson, subject, teachers, groups and room.

    A double period gives two rows. Lists (teachers, groups) are comma-separated text; use
    ``occupancy_frame`` for one row per teacher or subgroup.
    """
    cal = school.calendar
    teacher_names = {t.id: t.name for t in school.teachers}
    subject_names = {s.id: s.name for s in school.subjects}
    rows = []
    for p in timetable.placements:
        lesson = school.lesson_by_id.get(p.lesson)
        if lesson is None:
            continue
        for k in range(p.length):
            d, q = p.slot[0], p.slot[1] + k
            rows.append(
                {
                    "day": cal.days[d],
                    "period": cal.periods[q] if q < cal.n_periods else str(q),
                    "day_index": d,
                    "period_index": q,
                    "lesson": lesson.id,
                    "block": p.block,
                    "subject": lesson.subject,
                    "subject_name": subject_names.get(lesson.subject, lesson.subject),
                    "teachers": _ids(lesson.teachers),
                    "teacher_names": _ids(teacher_names.get(t, t) for t in lesson.teachers),
                    "groups": _ids(lesson.groups),
                    "room": p.room,
                    "real_rooms": _ids(p.real_rooms),
                }
            )
    frame = pd.DataFrame(rows, columns=TIMETABLE_COLUMNS)
    return frame.sort_values(["day_index", "period_index", "lesson"], ignore_index=True)


def occupancy_frame(school: School, timetable: Timetable) -> pd.DataFrame:
    """One row per (who, day, period, lesson): kind ``teacher``, ``subgroup`` or ``room``, and its id."""
    rows = []
    for p in timetable.placements:
        lesson = school.lesson_by_id.get(p.lesson)
        if lesson is None or not lesson.enabled:
            continue
        who = [("teacher", t) for t in lesson.teachers]
        who += [("subgroup", s) for s in sorted(school.lesson_subgroups(lesson))]
        if p.room is not None:
            who.append(("room", p.room))
        who += [("room", r) for r in dict.fromkeys(p.real_rooms)]
        for k in range(p.length):
            for kind, id in who:
                rows.append(
                    {
                        "kind": kind,
                        "id": id,
                        "day_index": p.slot[0],
                        "period_index": p.slot[1] + k,
                        "lesson": lesson.id,
                        "subject": lesson.subject,
                        "block": p.block,
                    }
                )
    return pd.DataFrame(
        rows, columns=["kind", "id", "day_index", "period_index", "lesson", "subject", "block"]
    )


def _by_day(school: School, frame: pd.DataFrame, index: list[str]) -> pd.DataFrame:
    """A (who x day) table with day names as columns, every day present, and a week total."""
    days = school.calendar.days
    table = frame.pivot_table(index=index, columns="day_index", values="value", aggfunc="sum", fill_value=0)
    table = table.reindex(columns=range(len(days)), fill_value=0)
    table.columns = days
    table["week"] = table.sum(axis=1)
    return table.astype(int)


def teacher_load(school: School, timetable: Timetable) -> pd.DataFrame:
    """Periods per teacher per day, with the week total; one row per teacher, named."""
    occ = occupancy_frame(school, timetable)
    occ = occ[occ["kind"] == "teacher"].drop_duplicates(["id", "day_index", "period_index"])
    counts = occ.groupby(["id", "day_index"]).size().rename("value").reset_index()
    names = {t.id: t.name for t in school.teachers}
    full = pd.MultiIndex.from_product([list(names), range(school.calendar.n_days)], names=["id", "day_index"])
    counts = counts.set_index(["id", "day_index"]).reindex(full, fill_value=0).reset_index()
    counts["teacher"] = counts["id"].map(names)
    return _by_day(school, counts, ["id", "teacher"])


def gaps(school: School, timetable: Timetable, kind: str = "teacher") -> pd.DataFrame:
    """Free periods between the first and last lesson of each day, per teacher or per subgroup.

    ``kind`` is ``"teacher"`` or ``"subgroup"``. Breaks are not gaps; neither are the teacher's or
    subgroup's hard-unavailable times (FET's definition, as the checker counts them).
    """
    if kind not in ("teacher", "subgroup"):
        raise ValueError("kind must be 'teacher' or 'subgroup'")
    cal = school.calendar
    breaks = set(cal.breaks)
    off = _hard_unavailable(school)
    occ = occupancy_frame(school, timetable)
    occ = occ[occ["kind"] == kind]
    busy = occ.groupby(["id", "day_index"])["period_index"].apply(lambda s: sorted(set(s)))
    ids = [t.id for t in school.teachers] if kind == "teacher" else school.all_subgroups()
    rows = []
    for id in ids:
        for d in range(cal.n_days):
            periods = busy.get((id, d), [])
            n = 0
            if len(periods) >= 2:
                blocked = breaks | off.get((kind, id), set())
                n = sum(
                    1
                    for p in range(periods[0] + 1, periods[-1])
                    if p not in periods and (d, p) not in blocked
                )
            rows.append({"id": id, "day_index": d, "value": n})
    frame = pd.DataFrame(rows, columns=["id", "day_index", "value"])
    if frame.empty:
        return pd.DataFrame(columns=[*cal.days, "week"])
    return _by_day(school, frame, ["id"])


def _hard_unavailable(school: School) -> dict[tuple[str, str], set]:
    off: dict[tuple[str, str], set] = {}
    for rule in school.rules:
        if not (rule.enabled and rule.hard and rule.type == "unavailable"):
            continue
        ids = [rule.target] if isinstance(rule.target, str) else list(rule.target or [])
        if rule.scope == "teacher":
            who = [("teacher", t) for t in ids]
        elif rule.scope == "all_teachers":
            who = [("teacher", t.id) for t in school.teachers]
        elif rule.scope == "group":
            who = [("subgroup", s) for g in ids for s in school.subgroups_of.get(g, ())]
        elif rule.scope == "all_groups":
            who = [("subgroup", s) for s in school.all_subgroups()]
        else:
            continue
        for w in who:
            off.setdefault(w, set()).update(tuple(s) for s in rule.params.get("slots", []))
    return off


def subject_spread(school: School, timetable: Timetable) -> pd.DataFrame:
    """Blocks of each subject each day, per subgroup; a double period counts once.

    Rows are (subgroup, subject), columns the days plus ``max``; sort by ``max`` to find the subjects
    taught more than once on a day.
    """
    occ = occupancy_frame(school, timetable)
    occ = occ[occ["kind"] == "subgroup"].drop_duplicates(["id", "lesson", "block"])
    if occ.empty:
        return pd.DataFrame(columns=[*school.calendar.days, "max"])
    frame = occ.assign(value=1).rename(columns={"id": "subgroup"})
    table = _by_day(school, frame, ["subgroup", "subject"]).drop(columns="week")
    table["max"] = table.max(axis=1)
    return table
