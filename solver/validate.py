"""Validation before solving: every problem with a school, found at once, each with a fix.

``validate(school)`` never raises on bad data; it returns a list of ``Problem`` (where, message, fix).
``where`` names the item and the field, such as ``lesson L12.teachers`` or ``teacher Ms Novak (T03)``.
An empty list means the school can be given to the solver.

What is checked:

- references: subjects, teachers, classes, groups, rooms, lessons and rule targets that do not exist,
  and duplicate ids;
- lessons: block lengths of zero or less, blocks longer than the longest break-free run of a day, a
  ``min_days_apart`` that the number of blocks cannot satisfy in the week, pins on missing blocks or at
  impossible times;
- rules: unknown types, scopes a type does not allow, missing or unknown parameters, parameters of the
  wrong kind, weights outside 1..100;
- capacity: a teacher, subgroup or set of rooms that must give more periods than it is available
  (breaks, hard unavailable times and hard max periods per day taken into account);
- lessons that fit nowhere: a block with no allowed start once breaks, hard unavailable times of its
  teachers, students and rooms and hard preferred times are taken out, or too few such days for its
  blocks to be ``min_days_apart``;
- pins that put one teacher, subgroup or room in two places at once.
"""

from __future__ import annotations

from collections import defaultdict

from .domain import HARD, SCOPES, Lesson, Rule, School, Slot, one_from_each
from .io import Problem
from .rules import RULE_TYPES

SINGULAR_SCOPES = {
    "teacher": "teacher",
    "group": "group",
    "room": "room",
    "lesson": "lesson",
    "subject": "subject",
}
"""Scopes that name items in ``target``, and the kind of item they name."""


def validate(school: School) -> list[Problem]:
    """Every problem with the school, each naming the item, the field and a fix. Empty when valid."""
    v = _Validator(school)
    v.ids()
    v.calendar()
    v.groups()
    v.rooms()
    for lesson in school.lessons:
        v.lesson(lesson)
    for rule in school.rules:
        v.rule(rule)
    if not v.problems:
        # Capacity and pin collisions only make sense once every reference resolves.
        v.capacity()
        v.lesson_times()
        v.pin_collisions()
    # One cause can surface through several subgroups of a class; say it once.
    unique = {str(p): p for p in v.problems}
    return list(unique.values())


class _Validator:
    def __init__(self, school: School):
        self.school = school
        self.problems: list[Problem] = []
        cal = school.calendar
        self.breaks = set(cal.breaks)
        self.slots = [(d, p) for d in range(cal.n_days) for p in range(cal.n_periods)]
        self.ids_of = {
            "subject": {x.id for x in school.subjects},
            "teacher": {x.id for x in school.teachers},
            "class": {x.id for x in school.classes},
            "group": {x.id for x in school.groups},
            "room": {x.id for x in school.rooms},
            "lesson": {x.id for x in school.lessons},
        }
        self.students = self.ids_of["class"] | self.ids_of["group"]
        self.longest = self.longest_run()
        self._starts: dict[tuple[frozenset[Slot], int], frozenset[Slot]] = {}

    def fail(self, where: str, message: str, fix: str = "") -> None:
        self.problems.append(Problem(where, message, fix))

    # ------------------------------------------------------------------ naming

    def teacher_name(self, id: str) -> str:
        names = {t.id: t.name for t in self.school.teachers}
        name = names.get(id, id)
        return f"teacher {name} ({id})" if name != id else f"teacher {id}"

    def room_name(self, id: str) -> str:
        names = {r.id: r.name for r in self.school.rooms}
        name = names.get(id, id)
        return f"room {name} ({id})" if name != id else f"room {id}"

    def slot_name(self, slot: Slot) -> str:
        return self.school.calendar.slot_name(slot)

    # ------------------------------------------------------------------ structure

    def ids(self) -> None:
        lists = {
            "subject": self.school.subjects,
            "teacher": self.school.teachers,
            "class": self.school.classes,
            "group": self.school.groups,
            "room": self.school.rooms,
            "lesson": self.school.lessons,
            "rule": self.school.rules,
        }
        for kind, items in lists.items():
            seen: set[str] = set()
            for x in items:
                if not isinstance(x.id, str) or not x.id:
                    self.fail(f"{kind} {x.id!r}.id", "the id is empty", f"give every {kind} a unique id")
                elif x.id in seen:
                    self.fail(
                        f"{kind} {x.id}.id", f"two {kind}s share the id '{x.id}'", "give each a unique id"
                    )
                seen.add(x.id)
        for id in sorted(self.ids_of["class"] & self.ids_of["group"]):
            self.fail(
                f"group {id}.id",
                f"'{id}' is both a class and a group, so lessons naming it are ambiguous",
                "rename the group, e.g. with the class as a prefix",
            )

    def rooms(self) -> None:
        """A combined room's sets name real rooms, none empty, and can give each block different rooms."""
        combined = {r.id for r in self.school.rooms if r.real_rooms}
        for room in self.school.rooms:
            where = f"room {room.id}.real_rooms"
            for k, names in enumerate(room.real_rooms):
                if not names:
                    self.fail(where, f"set {k + 1} has no room", "put at least one real room in every set")
                for r in names:
                    if r not in self.ids_of["room"]:
                        self.fail(where, f"unknown room '{r}' in set {k + 1}", self.known("room"))
                    elif r in combined:
                        self.fail(
                            where,
                            f"'{r}' in set {k + 1} is itself a combined room",
                            "list its real rooms instead",
                        )
            if room.real_rooms and len(set().union(*room.real_rooms)) < len(room.real_rooms):
                self.fail(
                    where,
                    f"{len(room.real_rooms)} sets share fewer different rooms, so no lesson can take a "
                    "different room from each",
                    "add rooms to the sets, or remove a set",
                )

    def calendar(self) -> None:
        cal = self.school.calendar
        for field, names in (("days", cal.days), ("periods", cal.periods)):
            dupes = sorted({n for n in names if names.count(n) > 1})
            if dupes:
                self.fail(
                    f"calendar.{field}", f"repeated name(s): {', '.join(dupes)}", "give each a unique name"
                )
        for slot in cal.breaks:
            if not self.in_calendar(slot):
                self.fail("calendar.breaks", f"break {slot} is outside the calendar", "remove it")
        if not [s for s in self.slots if s not in self.breaks]:
            self.fail(
                "calendar.breaks", "every period is a break: nothing can be placed", "remove some breaks"
            )

    def in_calendar(self, slot) -> bool:
        cal = self.school.calendar
        try:
            d, p = slot
        except (TypeError, ValueError):
            return False
        ints = (
            isinstance(d, int) and isinstance(p, int) and not isinstance(d, bool) and not isinstance(p, bool)
        )
        return ints and 0 <= d < cal.n_days and 0 <= p < cal.n_periods

    def groups(self) -> None:
        for g in self.school.groups:
            if g.class_id not in self.ids_of["class"]:
                self.fail(
                    f"group {g.id}.class",
                    f"unknown class '{g.class_id}'",
                    self.known("class", "add the class first or"),
                )
            if g.subgroups is not None and not g.subgroups:
                self.fail(
                    f"group {g.id}.subgroups",
                    "an empty list of subgroups: the group has no students",
                    "list its subgroups or leave the field out",
                )

    def known(self, kind: str, lead: str = "use") -> str:
        ids = sorted(self.ids_of[kind] | (self.ids_of["class"] if kind == "group" else set()))
        shown = ", ".join(ids[:12]) + (", ..." if len(ids) > 12 else "")
        return f"{lead} one of: {shown}" if ids else f"no {kind} exists yet: add one"

    # ------------------------------------------------------------------ lessons

    def longest_run(self) -> int:
        """The longest run of consecutive teaching periods on any day."""
        cal = self.school.calendar
        best = 0
        for d in range(cal.n_days):
            run = 0
            for p in range(cal.n_periods):
                run = 0 if (d, p) in self.breaks else run + 1
                best = max(best, run)
        return best

    def lesson_real_rooms(self, x: Lesson, where: str) -> None:
        """A lesson's fixed real rooms: it is in one combined room, and they are one of each set, all
        different."""
        rooms = [self.school.room(r) for r in x.rooms if r in self.ids_of["room"]]
        if len(x.rooms) != 1 or not rooms or not rooms[0].real_rooms:
            self.fail(
                f"{where}.real_rooms",
                "real rooms are fixed only for a lesson in exactly one combined room",
                "give the lesson one combined room, or clear its real rooms",
            )
            return
        sets = rooms[0].real_rooms
        if one_from_each(sets, x.real_rooms) is None:
            wanted = "; ".join(" or ".join(names) for names in sets)
            self.fail(
                f"{where}.real_rooms",
                f"{', '.join(x.real_rooms)} are not one room from each set of {rooms[0].id}, all different",
                f"list one room from each of: {wanted}",
            )

    def lesson(self, x: Lesson) -> None:
        where = f"lesson {x.id}"
        if x.subject not in self.ids_of["subject"]:
            self.fail(f"{where}.subject", f"unknown subject '{x.subject}'", self.known("subject"))
        for t in x.teachers:
            if t not in self.ids_of["teacher"]:
                self.fail(f"{where}.teachers", f"unknown teacher '{t}'", self.known("teacher"))
        for g in x.groups:
            if g not in self.students:
                self.fail(f"{where}.groups", f"unknown class or group '{g}'", self.known("group"))
        for r in x.rooms:
            if r not in self.ids_of["room"]:
                self.fail(f"{where}.rooms", f"unknown room '{r}'", self.known("room"))
        if x.real_rooms:
            self.lesson_real_rooms(x, where)
        for field, values in (("teachers", x.teachers), ("groups", x.groups), ("rooms", x.rooms)):
            dupes = sorted({v for v in values if values.count(v) > 1})
            if dupes:
                self.fail(f"{where}.{field}", f"listed twice: {', '.join(dupes)}", "list each once")
        if not x.blocks:
            self.fail(
                f"{where}.blocks", "no blocks: the lesson has no periods", "give blocks such as [1] or [2, 1]"
            )
        longest = self.longest
        for k, n in enumerate(x.blocks):
            if n <= 0:
                self.fail(
                    f"{where}.blocks[{k}]", f"a block of {n} periods", "every block lasts 1 period or more"
                )
            elif n > longest:
                self.fail(
                    f"{where}.blocks[{k}]",
                    f"a block of {n} periods, but the longest run of periods without a break is {longest}",
                    f"split it into blocks of at most {longest}",
                )
        n_days = self.school.calendar.n_days
        if x.min_days_apart < 0:
            self.fail(
                f"{where}.min_days_apart",
                f"{x.min_days_apart} is negative",
                "use 0 (same day allowed) or more",
            )
        elif x.min_days_apart > 0 and len(x.blocks) > 1:
            needed = (len(x.blocks) - 1) * x.min_days_apart + 1
            if needed > n_days:
                most = (n_days - 1) // (len(x.blocks) - 1)
                self.fail(
                    f"{where}.min_days_apart",
                    f"{len(x.blocks)} blocks at least {x.min_days_apart} day(s) apart need {needed} days; "
                    f"the week has {n_days}",
                    f"use min_days_apart {most} or fewer blocks" if most >= 1 else "use fewer, longer blocks",
                )
        self.pins(x)

    def pins(self, x: Lesson) -> None:
        where = f"lesson {x.id}.pinned"
        seen: set[int] = set()
        cal = self.school.calendar
        for j, pin in enumerate(x.pinned):
            here = f"{where}[{j}]"
            if not 0 <= pin.block < len(x.blocks):
                self.fail(
                    f"{here}.block",
                    f"the lesson has no block {pin.block} (it has {len(x.blocks)})",
                    f"use a block index from 0 to {len(x.blocks) - 1}"
                    if x.blocks
                    else "add blocks to the lesson",
                )
                continue
            if pin.block in seen:
                self.fail(f"{here}.block", f"block {pin.block} is pinned twice", "keep one pin per block")
            seen.add(pin.block)
            if not self.in_calendar(pin.slot):
                self.fail(
                    f"{here}",
                    f"time {pin.slot} is outside the calendar",
                    "pin to a day and period that exist",
                )
                continue
            length = x.blocks[pin.block]
            d, p = pin.slot
            cells = [(d, p + k) for k in range(length)]
            if p + length > cal.n_periods:
                self.fail(
                    here,
                    f"block {pin.block} ({length} periods) from {self.slot_name(pin.slot)} runs past the end of the day",
                    "pin it earlier in the day",
                )
            elif any(c in self.breaks for c in cells):
                self.fail(
                    here,
                    f"block {pin.block} ({length} periods) from {self.slot_name(pin.slot)} covers a break",
                    "pin it where the block fits between breaks",
                )
            if pin.room is not None:
                if pin.room not in self.ids_of["room"]:
                    self.fail(f"{here}.room", f"unknown room '{pin.room}'", self.known("room"))
                elif x.rooms and pin.room not in x.rooms:
                    self.fail(
                        f"{here}.room",
                        f"room '{pin.room}' is not one of the lesson's rooms ({', '.join(x.rooms)})",
                        "pin one of the lesson's rooms or add the room to the lesson",
                    )
        days = sorted((pin.slot[0], pin.block) for pin in x.pinned if self.in_calendar(pin.slot))
        for i, (d1, b1) in enumerate(days):
            for d2, b2 in days[i + 1 :]:
                if b1 != b2 and abs(d1 - d2) < x.min_days_apart:
                    self.fail(
                        where,
                        f"blocks {b1} and {b2} are pinned {abs(d1 - d2)} day(s) apart, "
                        f"closer than min_days_apart {x.min_days_apart}",
                        "move a pin or lower min_days_apart",
                    )

    # ------------------------------------------------------------------ rules

    def rule(self, rule: Rule) -> None:
        where = f"rule {rule.id}"
        if not isinstance(rule.weight, int) or isinstance(rule.weight, bool) or not 1 <= rule.weight <= HARD:
            self.fail(
                f"{where}.weight",
                f"weight {rule.weight!r} is outside 1..100",
                "use 100 for a must, 1-99 to prefer",
            )
        rtype = RULE_TYPES.get(rule.type)
        if rtype is None:
            known = ", ".join(sorted(RULE_TYPES))
            self.fail(f"{where}.type", f"unknown rule type '{rule.type}'", f"use one of: {known}")
            return
        if rule.scope not in SCOPES:
            self.fail(
                f"{where}.scope", f"unknown scope '{rule.scope}'", f"use one of: {', '.join(rtype.scopes)}"
            )
        elif rule.scope not in rtype.scopes:
            self.fail(
                f"{where}.scope",
                f"a {rtype.title.lower()} rule cannot have scope '{rule.scope}'",
                f"use one of: {', '.join(rtype.scopes)}",
            )
        else:
            self.target(rule)
        self.params(rule)

    def target(self, rule: Rule) -> None:
        where = f"rule {rule.id}.target"
        if rule.scope.startswith("all_"):
            if rule.target not in (None, "", []):
                self.fail(
                    where,
                    f"scope '{rule.scope}' takes no target",
                    "remove the target or pick a singular scope",
                )
            return
        target = rule.target
        if isinstance(target, str):
            ids = [target]
        elif isinstance(target, list) and all(isinstance(t, str) for t in target):
            ids = target
        else:
            what = "lesson ids" if rule.scope == "lessons" else f"a {rule.scope} id"
            self.fail(
                where, f"scope '{rule.scope}' needs {what}, found {target!r}", f"set the target to {what}"
            )
            return
        if not ids:
            self.fail(where, f"scope '{rule.scope}' needs a target", "name the items the rule applies to")
        kind = "lesson" if rule.scope == "lessons" else SINGULAR_SCOPES[rule.scope]
        for id in ids:
            known = self.students if kind == "group" else self.ids_of[kind]
            if id not in known:
                label = "class or group" if kind == "group" else kind
                self.fail(where, f"unknown {label} '{id}'", self.known(kind))

    def params(self, rule: Rule) -> None:
        where = f"rule {rule.id}.params"
        rtype = RULE_TYPES[rule.type]
        if not isinstance(rule.params, dict):
            self.fail(where, "params must be an object", "give the parameters as name: value")
            return
        for name in rule.params:
            if name not in rtype.params and name not in rtype.optional:
                known = ", ".join([*rtype.params, *rtype.optional]) or "none"
                self.fail(f"{where}.{name}", "unknown parameter", f"{rtype.title} takes: {known}")
        for name, kind in rtype.params.items():
            if name not in rule.params:
                self.fail(where, f"missing parameter '{name}' ({_KIND_TEXT[kind]})", f"add '{name}'")
            else:
                self.param(rule, name, kind, rule.params[name])
        for name, default in rtype.optional.items():
            if name in rule.params:
                kind = _kind_of_default(default)
                if kind is not None and not (default is None and rule.params[name] is None):
                    self.param(rule, name, kind, rule.params[name])
        mode = rule.params.get("mode")
        if rule.type == "preferred_times" and mode is not None and mode not in ("all", "start"):
            self.fail(
                f"{where}.mode", f"unknown mode '{mode}'", "use 'all' (whole block) or 'start' (first period)"
            )

    def param(self, rule: Rule, name: str, kind: str, value) -> None:
        where = f"rule {rule.id}.params.{name}"
        if kind == "int":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                self.fail(
                    where, f"expected a whole number 0 or more, found {value!r}", "use a number such as 2"
                )
        elif kind == "bool":
            if not isinstance(value, bool):
                self.fail(where, f"expected true or false, found {value!r}", "use true or false")
        elif kind == "str":
            if not isinstance(value, str):
                self.fail(where, f"expected text, found {value!r}", "use text")
        elif kind == "slots":
            if not isinstance(value, (list, tuple)):
                self.fail(where, f"expected a list of times, found {value!r}", "list [day, period] pairs")
                return
            bad = [s for s in value if not self.in_calendar(s)]
            if bad:
                self.fail(
                    where,
                    f"{len(bad)} time(s) outside the calendar, e.g. {bad[0]!r}",
                    "use days and periods that exist",
                )
        elif kind == "ids":
            if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                self.fail(where, f"expected a list of ids, found {value!r}", "list ids as text")
                return
            ref = {"rooms": "room", "lessons": "lesson", "teachers": "teacher", "subjects": "subject"}.get(
                name
            )
            for id in value:
                if ref and id not in self.ids_of[ref]:
                    self.fail(where, f"unknown {ref} '{id}'", self.known(ref))

    # ------------------------------------------------------------------ capacity

    def hard_rules(self, rule_type: str) -> list[Rule]:
        return [r for r in self.school.rules if r.enabled and r.type == rule_type and r.weight >= HARD]

    def entities(self, rule: Rule) -> list[tuple[str, str]]:
        ids = [rule.target] if isinstance(rule.target, str) else list(rule.target or [])
        if rule.scope == "teacher":
            return [("teacher", t) for t in ids]
        if rule.scope == "all_teachers":
            return [("teacher", t.id) for t in self.school.teachers]
        if rule.scope == "group":
            return [("students", s) for g in ids for s in self.school.subgroups_of.get(g, ())]
        if rule.scope == "all_groups":
            return [("students", s) for s in self.school.all_subgroups()]
        if rule.scope == "room":
            return [("room", r) for r in ids]
        if rule.scope == "all_rooms":
            return [("room", r.id) for r in self.school.rooms]
        return []

    def available(self) -> tuple[dict[tuple[str, str], int], dict[tuple[str, str], str]]:
        """Periods each teacher, subgroup and room can be used in a week, and why it is fewer than all."""
        cal = self.school.calendar
        off = self.unavailable_slots()
        cap: dict[tuple[str, str], int] = defaultdict(lambda: cal.n_periods)
        for rule in self.hard_rules("max_periods_per_day"):
            for who in self.entities(rule):
                cap[who] = min(cap[who], int(rule.params.get("max", cal.n_periods)))
        entities = (
            [("teacher", t.id) for t in self.school.teachers]
            + [("students", s) for s in self.school.all_subgroups()]
            + [("room", r.id) for r in self.school.rooms]
        )
        result, why = {}, {}
        for who in entities:
            total = 0
            for d in range(cal.n_days):
                free = sum(
                    1 for p in range(cal.n_periods) if (d, p) not in self.breaks and (d, p) not in off[who]
                )
                total += min(free, cap[who])
            result[who] = total
            reasons = ["breaks"] if self.breaks else []
            if off[who]:
                reasons.append("unavailable times")
            if cap[who] < cal.n_periods:
                reasons.append(f"at most {cap[who]} a day")
            why[who] = ", ".join(reasons)
        return result, why

    def capacity(self) -> None:
        available, why = self.available()
        demand: dict[tuple[str, str], int] = defaultdict(int)
        room_sets: dict[frozenset[str], int] = defaultdict(int)
        for x in self.school.active_lessons():
            for t in set(x.teachers):
                demand["teacher", t] += x.periods
            for s in self.school.lesson_subgroups(x):
                demand["students", s] += x.periods
            # A combined room takes several real rooms and never clashes itself: not counted here.
            if x.rooms and not any(self.school.room(r).real_rooms for r in x.rooms):
                room_sets[frozenset(x.rooms)] += x.periods
        for who, need in demand.items():
            have = available.get(who, 0)
            if need > have:
                kind, id = who
                name = self.teacher_name(id) if kind == "teacher" else f"students of {id}"
                self.fail(
                    name,
                    f"must be taught {need} periods but is available for {have} ({why.get(who, '')})",
                    "remove or move lessons, or free more times",
                )
        # Lessons that can only use rooms within a set need no more periods than those rooms offer.
        for rooms in room_sets:
            need = sum(n for other, n in room_sets.items() if other <= rooms)
            have = sum(available.get(("room", r), 0) for r in rooms)
            if need > have:
                names = ", ".join(self.room_name(r) for r in sorted(rooms))
                self.fail(
                    names if len(rooms) == 1 else f"rooms {names}",
                    f"lessons limited to {'this room' if len(rooms) == 1 else 'these rooms'} need {need} periods, "
                    f"but {'it offers' if len(rooms) == 1 else 'they offer'} {have}",
                    "allow more rooms for some of these lessons, or free more times",
                )

    def unavailable_slots(self) -> dict[tuple[str, str], set[Slot]]:
        off: dict[tuple[str, str], set[Slot]] = defaultdict(set)
        for rule in self.hard_rules("unavailable"):
            for who in self.entities(rule):
                off[who].update(tuple(s) for s in rule.params.get("slots", []))
        return off

    def rule_lessons(self, rule: Rule) -> set[str]:
        """Ids of the lessons a lesson-set rule (such as preferred times) covers."""
        ids = set([rule.target] if isinstance(rule.target, str) else list(rule.target or []))
        lessons = self.school.active_lessons()
        if rule.scope in ("lesson", "lessons"):
            return {x.id for x in lessons if x.id in ids}
        if rule.scope == "subject":
            return {x.id for x in lessons if x.subject in ids}
        if rule.scope == "teacher":
            return {x.id for x in lessons if ids & set(x.teachers)}
        if rule.scope == "group":
            students = {s for _, s in self.entities(rule)}
            return {x.id for x in lessons if students & self.school.lesson_subgroups(x)}
        return set()

    def starts(self, blocked: frozenset[Slot], length: int) -> frozenset[Slot]:
        """Start times of a block of ``length`` periods that covers none of ``blocked`` (cached)."""
        key = (blocked, length)
        if key not in self._starts:
            cal = self.school.calendar
            self._starts[key] = frozenset(
                (d, p)
                for d in range(cal.n_days)
                for p in range(cal.n_periods - length + 1)
                if not any((d, p + i) in blocked for i in range(length))
            )
        return self._starts[key]

    def lesson_times(self) -> None:
        """Lessons with a block that fits at no time, or too few days for their blocks."""
        cal = self.school.calendar
        off = self.unavailable_slots()
        breaks = frozenset(self.breaks)
        wishes = []
        for r in self.hard_rules("preferred_times"):
            slots = frozenset(tuple(x) for x in r.params.get("slots", []))
            outside = frozenset(s for s in self.slots if s not in slots)
            wishes.append((r, self.rule_lessons(r), slots, r.params.get("mode") == "start", outside))
        for x in self.school.active_lessons():
            people = [("teacher", t) for t in x.teachers] + [
                ("students", s) for s in self.school.lesson_subgroups(x)
            ]
            blocked = breaks.union(*(off.get(w, ()) for w in people))
            rules = [w for w in wishes if x.id in w[1]]
            fitting_days: set[int] = set()
            for k, n in enumerate(x.blocks):
                starts = self.starts(blocked, n)
                if x.rooms:
                    rooms = frozenset().union(
                        *(self.starts(breaks.union(off.get(("room", r), ())), n) for r in x.rooms)
                    )
                    starts &= rooms
                for _, _, slots, start_only, outside in rules:
                    starts &= slots if start_only else self.starts(outside, n)
                fitting_days |= {d for d, _ in starts}
                if not starts:
                    causes = ["breaks"]
                    causes += [self.who(w) for w in people if off.get(w)]
                    if x.rooms and any(off.get(("room", r)) for r in x.rooms):
                        causes.append("unavailable times of its rooms")
                    causes += [f"hard preferred times rule {r.id}" for r, *_ in rules]
                    self.fail(
                        f"lesson {x.id}.blocks[{k}]",
                        f"no time fits this {n}-period block; ruled out by {', '.join(causes)}",
                        "shorten the block, or free times for the people, rooms or rules named",
                    )
            if x.min_days_apart >= 1 and len(x.blocks) > 1 and fitting_days:
                # The most blocks that can be min_days_apart days apart, earliest day first.
                count, last = 0, None
                for d in sorted(fitting_days):
                    if last is None or d - last >= x.min_days_apart:
                        count, last = count + 1, d
                if count < len(x.blocks):
                    days = ", ".join(cal.days[d] for d in sorted(fitting_days))
                    self.fail(
                        f"lesson {x.id}.min_days_apart",
                        f"{len(x.blocks)} blocks at least {x.min_days_apart} day(s) apart, but its teachers, "
                        f"students and rooms are only available together on {days}",
                        "lower min_days_apart, use fewer blocks, or free more days",
                    )

    def pin_collisions(self) -> None:
        """Two pinned blocks that need the same teacher, subgroup or room at the same time."""
        off = self.unavailable_slots()
        taken: dict[tuple[tuple[str, str], Slot], str] = {}
        reported: set[tuple[str, str]] = set()
        for x in self.school.active_lessons():
            people = [("teacher", t) for t in x.teachers] + [
                ("students", s) for s in self.school.lesson_subgroups(x)
            ]
            for pin in x.pinned:
                if not (0 <= pin.block < len(x.blocks)) or not self.in_calendar(pin.slot):
                    continue
                me = f"lesson {x.id} block {pin.block}"
                who_list = people + ([("room", pin.room)] if pin.room else [])
                for k in range(x.blocks[pin.block]):
                    cell = (pin.slot[0], pin.slot[1] + k)
                    for who in who_list:
                        if cell in off[who]:
                            # Name the lesson's classes rather than each of their subgroups.
                            name = (
                                f"its students ({', '.join(x.groups)})"
                                if who[0] == "students"
                                else self.who(who)
                            )
                            self.fail(
                                f"lesson {x.id}.pinned",
                                f"block {pin.block} is pinned at {self.slot_name(cell)}, when {name} is unavailable",
                                "move the pin or the unavailable time",
                            )
                        other = taken.get((who, cell))
                        if other is not None and other != me and (other, me) not in reported:
                            reported.add((other, me))
                            self.fail(
                                f"lesson {x.id}.pinned",
                                f"{me} and {other} are both pinned at {self.slot_name(cell)} and both need "
                                f"{self.who(who)}",
                                "move one of the pins",
                            )
                        taken[who, cell] = me

    def who(self, who: tuple[str, str]) -> str:
        kind, id = who
        if kind == "teacher":
            return self.teacher_name(id)
        if kind == "room":
            return self.room_name(id)
        return f"students of {id}"


_KIND_TEXT = {
    "int": "a whole number",
    "slots": "a list of [day, period] times",
    "bool": "true or false",
    "str": "text",
    "ids": "a list of ids",
}


def _kind_of_default(default) -> str | None:
    """The parameter kind an optional parameter's default implies (None: any value)."""
    if isinstance(default, bool):
        return "bool"
    if isinstance(default, int):
        return "int"
    if isinstance(default, str):
        return "str"
    if default is None:
        return "int"
    return None
