"""JSON in and out. The schema is documented in ``docs/school-format.md``.

Reading is strict: unknown fields, wrong types and unknown day or period names are reported with
their path in the file (``lessons[3].teachers``), all at once, as a ``FormatError``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .domain import (
    HARD,
    Calendar,
    Group,
    Lesson,
    Pin,
    Placement,
    Room,
    Rule,
    School,
    Slot,
    StudentClass,
    Subject,
    Teacher,
    Timetable,
    Unplaced,
)

FORMAT_VERSION = 1


@dataclass
class Problem:
    """One thing wrong with the input: where it is, what is wrong, and how to fix it."""

    where: str
    message: str
    fix: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}"
        return f"{text} ({self.fix})" if self.fix else text


class FormatError(ValueError):
    """The input could not be read. ``problems`` lists everything found, not only the first."""

    def __init__(self, problems: list[Problem], source: str = ""):
        self.problems = problems
        head = f"{source}: " if source else ""
        lines = "\n".join(f"  - {p}" for p in problems)
        super().__init__(f"{head}{len(problems)} problem(s) in the input:\n{lines}")


class _Reader:
    """Collects problems while walking a JSON document."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []

    def fail(self, where: str, message: str, fix: str = "") -> None:
        self.problems.append(Problem(where, message, fix))

    def obj(self, value: Any, where: str, required: dict, optional: dict) -> dict | None:
        if not isinstance(value, dict):
            self.fail(where, f"expected an object, found {_kind(value)}")
            return None
        out = {}
        for key in value:
            if key not in required and key not in optional:
                known = ", ".join(sorted([*required, *optional]))
                self.fail(f"{where}.{key}", "unknown field", f"known fields: {known}")
        for key, kind in required.items():
            if key not in value:
                self.fail(where, f"missing field '{key}'")
                continue
            out[key] = self.value(value[key], f"{where}.{key}", kind)
        for key, (kind, default) in optional.items():
            out[key] = self.value(value[key], f"{where}.{key}", kind) if key in value else default
        return out

    def value(self, value: Any, where: str, kind: str) -> Any:
        checks = {
            "str": lambda v: isinstance(v, str),
            "int": lambda v: isinstance(v, int) and not isinstance(v, bool),
            "num": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
            "bool": lambda v: isinstance(v, bool),
            "dict": lambda v: isinstance(v, dict),
            "any": lambda v: True,
            "str?": lambda v: v is None or isinstance(v, str),
            "int?": lambda v: v is None or (isinstance(v, int) and not isinstance(v, bool)),
        }
        if kind.startswith("list:"):
            item = kind[5:]
            if not isinstance(value, list):
                self.fail(where, f"expected a list, found {_kind(value)}")
                return []
            return [self.value(v, f"{where}[{i}]", item) for i, v in enumerate(value)]
        if kind == "ids":
            if isinstance(value, str):
                return [value]
            return self.value(value, where, "list:str")
        if not checks[kind](value):
            wanted = {"str": "text", "int": "a whole number", "num": "a number", "bool": "true or false"}
            self.fail(where, f"expected {wanted.get(kind.rstrip('?'), kind)}, found {_kind(value)}")
            return None
        return value


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    return {
        bool: "true/false",
        int: "a number",
        float: "a number",
        str: "text",
        list: "a list",
        dict: "an object",
    }.get(type(value), type(value).__name__)


class _Slots:
    def __init__(self, calendar: Calendar):
        self.days = {name: i for i, name in enumerate(calendar.days)}
        self.periods = {name: i for i, name in enumerate(calendar.periods)}
        self.calendar = calendar

    def read(self, reader: _Reader, value: Any, where: str) -> Slot | None:
        if not (isinstance(value, list) and len(value) == 2):
            reader.fail(where, f"expected a [day, period] pair, found {_kind(value)}")
            return None
        day, period = (str(v) for v in value)
        if day not in self.days:
            reader.fail(where, f"unknown day '{day}'", f"use one of {', '.join(self.days)}")
            return None
        if period not in self.periods:
            reader.fail(where, f"unknown period '{period}'", f"use one of {', '.join(self.periods)}")
            return None
        return self.days[day], self.periods[period]

    def read_list(self, reader: _Reader, value: Any, where: str) -> list[Slot]:
        if not isinstance(value, list):
            reader.fail(where, f"expected a list of [day, period] pairs, found {_kind(value)}")
            return []
        slots = [self.read(reader, v, f"{where}[{i}]") for i, v in enumerate(value)]
        return [s for s in slots if s is not None]

    def write(self, slot: Slot) -> list[str]:
        return [self.calendar.days[slot[0]], self.calendar.periods[slot[1]]]


def school_from_dict(data: Any, source: str = "") -> School:
    """Build a School from its JSON form, or raise FormatError listing every problem."""
    r = _Reader()
    top = r.obj(
        data,
        "$",
        {"name": "str", "calendar": "any"},
        {
            "format": ("int", FORMAT_VERSION),
            "subjects": ("list:any", []),
            "teachers": ("list:any", []),
            "classes": ("list:any", []),
            "groups": ("list:any", []),
            "rooms": ("list:any", []),
            "lessons": ("list:any", []),
            "rules": ("list:any", []),
            "meta": ("dict", {}),
        },
    )
    if top is None:
        raise FormatError(r.problems, source)
    cal = r.obj(
        top.get("calendar"),
        "$.calendar",
        {"days": "list:str", "periods": "list:str"},
        {"breaks": ("list:any", [])},
    )
    if cal is None or not cal.get("days") or not cal.get("periods"):
        if cal is not None:
            r.fail("$.calendar", "needs at least one day and one period")
        raise FormatError(r.problems, source)
    calendar = Calendar([str(d) for d in cal["days"]], [str(p) for p in cal["periods"]])
    slots = _Slots(calendar)
    calendar.breaks = slots.read_list(r, cal["breaks"], "$.calendar.breaks")

    def items(key: str, required: dict, optional: dict, build) -> list:
        out = []
        for i, raw in enumerate(top.get(key) or []):
            where = f"$.{key}[{i}]"
            fields = r.obj(raw, where, required, optional)
            if fields is not None and None not in (fields.get(k) for k in required):
                out.append(build(fields, where))
        return out

    named = {"id": "str"}, {"name": ("str", "")}
    subjects = items("subjects", named[0], {**named[1], "color": ("str", "")}, lambda f, w: Subject(**f))
    teachers = items("teachers", *named, lambda f, w: Teacher(**f))
    rooms = items(
        "rooms",
        named[0],
        {
            **named[1],
            "capacity": ("int?", None),
            "building": ("str", ""),
            "real_rooms": ("list:list:str", []),
        },
        lambda f, w: Room(**f),
    )
    classes = items("classes", named[0], {**named[1], "size": ("int?", None)}, lambda f, w: StudentClass(**f))

    def build_group(f: dict, where: str) -> Group:
        return Group(
            id=f["id"],
            class_id=f["class"],
            name=f["name"],
            division=f["division"],
            subgroups=f["subgroups"],
        )

    groups = items(
        "groups",
        {"id": "str", "class": "str"},
        {"name": ("str", ""), "division": ("str", ""), "subgroups": ("any", None)},
        build_group,
    )
    for i, g in enumerate(groups):
        if g.subgroups is not None:
            g.subgroups = r.value(g.subgroups, f"$.groups[{i}].subgroups", "list:str")

    def build_lesson(f: dict, where: str) -> Lesson:
        pins = []
        for j, raw in enumerate(f["pinned"] or []):
            pw = f"{where}.pinned[{j}]"
            pf = r.obj(
                raw, pw, {"day": "str", "period": "str"}, {"block": ("int", 0), "room": ("str?", None)}
            )
            if pf is None or pf.get("day") is None or pf.get("period") is None:
                continue
            slot = slots.read(r, [pf["day"], pf["period"]], pw)
            if slot is not None:
                pins.append(Pin(block=pf["block"], slot=slot, room=pf["room"]))
        return Lesson(
            id=f["id"],
            subject=f["subject"],
            teachers=f["teachers"] or [],
            groups=f["groups"] or [],
            blocks=f["blocks"] or [],
            min_days_apart=f["min_days_apart"] if f["min_days_apart"] is not None else 1,
            rooms=f["rooms"] or [],
            pinned=pins,
            enabled=f["enabled"] if f["enabled"] is not None else True,
            tags=f["tags"] or [],
            real_rooms=f["real_rooms"] or [],
        )

    lessons = items(
        "lessons",
        {"id": "str", "subject": "str"},
        {
            "teachers": ("ids", []),
            "groups": ("ids", []),
            "blocks": ("list:int", [1]),
            "min_days_apart": ("int", 1),
            "rooms": ("ids", []),
            "pinned": ("list:any", []),
            "enabled": ("bool", True),
            "tags": ("list:str", []),
            "real_rooms": ("list:str", []),
        },
        build_lesson,
    )

    def build_rule(f: dict, where: str) -> Rule | None:
        rule = Rule(
            id=f["id"],
            type=f["type"],
            scope=f["scope"],
            target=f["target"],
            weight=f["weight"] if f["weight"] is not None else HARD,
            params=dict(f["params"] or {}),
            enabled=f["enabled"] if f["enabled"] is not None else True,
            note=f["note"] or "",
        )
        if "slots" in rule.params:
            rule.params["slots"] = slots.read_list(r, rule.params["slots"], f"{where}.params.slots")
        return rule

    rules = items(
        "rules",
        {"id": "str", "type": "str", "scope": "str"},
        {
            "target": ("any", None),
            "weight": ("int", HARD),
            "params": ("dict", {}),
            "enabled": ("bool", True),
            "note": ("str", ""),
        },
        build_rule,
    )
    if r.problems:
        raise FormatError(r.problems, source)
    return School(
        name=top["name"],
        calendar=calendar,
        subjects=subjects,
        teachers=teachers,
        classes=classes,
        groups=groups,
        rooms=rooms,
        lessons=lessons,
        rules=rules,
        meta=top["meta"] or {},
    )


def school_to_dict(school: School) -> dict:
    slots = _Slots(school.calendar)

    def named(x) -> dict:
        return {"id": x.id, "name": x.name}

    def rule(x: Rule) -> dict:
        params = dict(x.params)
        if "slots" in params:
            params["slots"] = [slots.write(s) for s in params["slots"]]
        out = {"id": x.id, "type": x.type, "scope": x.scope, "target": x.target, "weight": x.weight}
        out["params"] = params
        if not x.enabled:
            out["enabled"] = False
        if x.note:
            out["note"] = x.note
        return out

    def lesson(x: Lesson) -> dict:
        out = {
            "id": x.id,
            "subject": x.subject,
            "teachers": list(x.teachers),
            "groups": list(x.groups),
            "blocks": list(x.blocks),
            "min_days_apart": x.min_days_apart,
            "rooms": list(x.rooms),
            "enabled": x.enabled,
        }
        if x.pinned:
            out["pinned"] = [
                {
                    "block": p.block,
                    "day": slots.write(p.slot)[0],
                    "period": slots.write(p.slot)[1],
                    "room": p.room,
                }
                for p in x.pinned
            ]
        if x.tags:
            out["tags"] = list(x.tags)
        if x.real_rooms:
            out["real_rooms"] = list(x.real_rooms)
        return out

    def room(x: Room) -> dict:
        out = {**named(x), "capacity": x.capacity, "building": x.building}
        if x.real_rooms:
            out["real_rooms"] = [list(s) for s in x.real_rooms]
        return out

    def group(x: Group) -> dict:
        out = {"id": x.id, "name": x.name, "class": x.class_id, "division": x.division}
        if x.subgroups is not None:
            out["subgroups"] = list(x.subgroups)
        return out

    return {
        "format": FORMAT_VERSION,
        "name": school.name,
        "calendar": {
            "days": list(school.calendar.days),
            "periods": list(school.calendar.periods),
            "breaks": [slots.write(s) for s in school.calendar.breaks],
        },
        "subjects": [{**named(x), "color": x.color} for x in school.subjects],
        "teachers": [named(x) for x in school.teachers],
        "classes": [{**named(x), "size": x.size} for x in school.classes],
        "groups": [group(x) for x in school.groups],
        "rooms": [room(x) for x in school.rooms],
        "lessons": [lesson(x) for x in school.lessons],
        "rules": [rule(x) for x in school.rules],
        "meta": school.meta,
    }


def timetable_to_dict(timetable: Timetable, school: School) -> dict:
    slots = _Slots(school.calendar)
    return {
        "placed": timetable.placed,
        "total": timetable.total,
        "complete": timetable.complete,
        "status": timetable.status,
        "phase": timetable.phase,
        "score": timetable.score,
        "breakdown": timetable.breakdown,
        "solve_time": round(timetable.solve_time, 3),
        "first_complete_time": (
            None if timetable.first_complete_time is None else round(timetable.first_complete_time, 3)
        ),
        "unplaced": [
            {"lesson": u.lesson, "block": u.block, "periods": u.periods, "reason": u.reason}
            for u in timetable.unplaced
        ],
        "placements": [
            {
                "lesson": p.lesson,
                "block": p.block,
                "day": slots.write(p.slot)[0],
                "period": slots.write(p.slot)[1],
                "length": p.length,
                "room": p.room,
                **({"real_rooms": list(p.real_rooms)} if p.real_rooms else {}),
            }
            for p in timetable.placements
        ],
        "meta": timetable.meta,
    }


def timetable_from_dict(data: Any, school: School, source: str = "") -> Timetable:
    r = _Reader()
    slots = _Slots(school.calendar)
    top = r.obj(
        data,
        "$",
        {"placements": "list:any"},
        {
            "placed": ("int", 0),
            "total": ("int", 0),
            "complete": ("bool", False),
            "status": ("str", ""),
            "phase": ("str", ""),
            "score": ("num", 0),
            "breakdown": ("dict", {}),
            "solve_time": ("num", 0.0),
            "first_complete_time": ("any", None),
            "unplaced": ("list:any", []),
            "meta": ("dict", {}),
        },
    )
    if top is None:
        raise FormatError(r.problems, source)
    placements = []
    for i, raw in enumerate(top.get("placements") or []):
        where = f"$.placements[{i}]"
        f = r.obj(
            raw,
            where,
            {"lesson": "str", "day": "str", "period": "str"},
            {
                "block": ("int", 0),
                "length": ("int", None),
                "room": ("str?", None),
                "real_rooms": ("list:str", []),
            },
        )
        if f is None or None in (f.get("lesson"), f.get("day"), f.get("period")):
            continue
        slot = slots.read(r, [f["day"], f["period"]], where)
        lesson = school.lesson_by_id.get(f["lesson"])
        if lesson is None:
            r.fail(
                f"{where}.lesson",
                f"unknown lesson '{f['lesson']}'",
                "the timetable belongs to another school?",
            )
            continue
        if not 0 <= (f["block"] or 0) < len(lesson.blocks):
            r.fail(f"{where}.block", f"lesson '{lesson.id}' has no block {f['block']}")
            continue
        length = f["length"] if f["length"] is not None else lesson.blocks[f["block"]]
        if slot is not None:
            real = [x for x in f["real_rooms"] if x is not None]
            placements.append(Placement(f["lesson"], f["block"], slot, length, f["room"], real))
    unplaced = []
    for i, raw in enumerate(top.get("unplaced") or []):
        f = r.obj(
            raw,
            f"$.unplaced[{i}]",
            {"lesson": "str"},
            {"block": ("int", 0), "periods": ("int", 0), "reason": ("str", "")},
        )
        if f is not None and f.get("lesson") is not None:
            unplaced.append(Unplaced(f["lesson"], f["block"], f["periods"], f["reason"]))
    if r.problems:
        raise FormatError(r.problems, source)
    return Timetable(
        placements=placements,
        unplaced=unplaced,
        placed=top["placed"],
        total=top["total"],
        score=top["score"],
        breakdown=top["breakdown"],
        phase=top["phase"],
        status=top["status"],
        solve_time=top["solve_time"],
        first_complete_time=top["first_complete_time"],
        meta=top["meta"],
    )


def read_json(path: str | Path) -> Any:
    """Read a JSON file, turning I/O and syntax errors into a FormatError that names the place."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise FormatError([Problem(str(path), "file not found")]) from None
    except (OSError, UnicodeDecodeError) as e:
        raise FormatError([Problem(str(path), f"cannot read the file: {e}")]) from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise FormatError([Problem(f"{path}:{e.lineno}:{e.colno}", f"not valid JSON: {e.msg}")]) from None


def load_school(path: str | Path) -> School:
    return school_from_dict(read_json(path), source=str(path))


def save_school(school: School, path: str | Path) -> None:
    Path(path).write_text(json.dumps(school_to_dict(school), indent=1), encoding="utf-8")


def load_timetable(path: str | Path, school: School) -> Timetable:
    return timetable_from_dict(read_json(path), school, source=str(path))


def save_timetable(timetable: Timetable, school: School, path: str | Path) -> None:
    Path(path).write_text(json.dumps(timetable_to_dict(timetable, school), indent=1), encoding="utf-8")
