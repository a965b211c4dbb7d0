"""FET (.fet) files to a School.

Mapping, chosen so that FET's semantics hold exactly:

- days and hours become the calendar; a 100% ``BreakTimes`` becomes calendar breaks;
- a FET year becomes a class; its groups and subgroups become groups with explicit ``subgroups``
  lists, the FET subgroup being the atom (a year without groups is one atom, a group without
  subgroups is one atom), so two lessons clash exactly when FET says their students overlap;
- every FET activity becomes one lesson with one block, keeping the activity id as lesson id;
- rooms keep their building; hard preferred rooms become ``lesson.rooms``, soft ones rules;
- every other constraint becomes a rule with FET's weight (100 hard, lower soft, 0 dropped).

Each supported FET constraint type has one handler; "Teacher"/"Teachers" and "StudentsSet"/"Students"
share one handler with two scopes. Types without a handler are listed as unsupported in the report.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from xml.etree.ElementTree import Element

from ..domain import HARD, Calendar, Group, Lesson, Pin, Room, Rule, School, StudentClass, Subject, Teacher
from ..rules import RULE_TYPES
from .report import ImportReport
from .xmlread import FetError, read_fet

ALWAYS_ON = {"BasicCompulsoryTime", "BasicCompulsorySpace"}
"""FET's basic constraints: no clashes of teachers, students or rooms. Our model always enforces them."""

SCOPE_PREFIXES = (
    ("StudentsSet", "group"),
    ("Students", "all_groups"),
    ("Teachers", "all_teachers"),
    ("Teacher", "teacher"),
)
"""FET's "who" prefixes: the singular form names a target, the plural applies to everyone."""

PEOPLE_RULES: dict[str, tuple[str, str, str]] = {
    "MaxHoursDaily": ("max_periods_per_day", "Maximum_Hours_Daily", "max"),
    "MaxGapsPerDay": ("max_gaps_per_day", "Max_Gaps", "max"),
    "MaxGapsPerWeek": ("max_gaps_per_week", "Max_Gaps", "max"),
    "MaxDaysPerWeek": ("max_days_per_week", "Max_Days_Per_Week", "max"),
    "MinDaysPerWeek": ("min_days_per_week", "Minimum_Days_Per_Week", "min"),
    "MinHoursDaily": ("min_periods_per_day", "Minimum_Hours_Daily", "min"),
    "MaxHoursContinuously": ("max_consecutive", "Maximum_Hours_Continuously", "max"),
    "EarlyMaxBeginningsAtSecondHour": ("early_start", "Max_Beginnings_At_Second_Hour", "max_second_hour"),
    "IntervalMaxDaysPerWeek": ("interval_max_days_per_week", "Max_Days_Per_Week", "max"),
    "MaxBuildingChangesPerDay": ("max_building_changes_per_day", "Max_Building_Changes_Per_Day", "max"),
    "MaxBuildingChangesPerWeek": ("max_building_changes_per_week", "Max_Building_Changes_Per_Week", "max"),
    "MaxSpanPerDay": ("max_span_per_day", "Max_Span", "max"),
    "MinRestingHours": ("min_resting_periods", "Minimum_Resting_Hours", "min"),
    "MinGapsBetweenBuildingChanges": (
        "min_gaps_between_building_changes",
        "Min_Gaps_Between_Building_Changes",
        "min",
    ),
}
"""FET suffix -> (our rule type, FET element with the number, our parameter)."""


class _Unsupported(Exception):
    """This constraint (not its whole type) cannot be imported, for the reason given."""


def _text(el: Element, tag: str, default: str = "") -> str:
    found = el.find(tag)
    if found is None or found.text is None:
        return default
    return found.text


def _int(el: Element, tag: str, default: int | None = None) -> int:
    raw = _text(el, tag).strip()
    if not raw:
        if default is None:
            raise _Unsupported(f"missing <{tag}>")
        return default
    try:
        return int(float(raw))
    except ValueError:
        raise _Unsupported(f"<{tag}> is '{raw}', not a number") from None


def _bool(el: Element, tag: str, default: bool) -> bool:
    raw = _text(el, tag).strip().lower()
    return default if not raw else raw == "true"


def fet_weight(percentage: float) -> int:
    """FET's weight percentage as our weight: 100 is hard; anything lower is soft, at least 1, at most 99."""
    if percentage >= 100:
        return HARD
    return max(1, min(HARD - 1, round(percentage)))


@dataclass
class _Activity:
    id: str
    group_id: str
    component: int
    teachers: list[str]
    subject: str
    tags: list[str]
    students: list[str]
    duration: int
    active: bool
    size: int | None = None
    """FET's number of students: given on the activity, else the sum over its students sets."""


@dataclass
class _Rooms:
    """Room wishes of one lesson, collected before lessons are finalised."""

    hard: list[set[str]] = field(default_factory=list)
    home_hard: list[set[str]] = field(default_factory=list)
    soft: list[tuple[set[str], int, str]] = field(default_factory=list)
    home_soft: list[tuple[set[str], int, str]] = field(default_factory=list)


class FetImporter:
    """Turns one parsed FET document into a School and an ImportReport."""

    def __init__(self, root: Element, source: str, name: str):
        self.root = root
        self.source = source
        self.name = name
        self.report = ImportReport(source=source, fet_version=root.get("version", ""))
        self.rules: list[Rule] = []
        self.room_wishes: dict[str, _Rooms] = defaultdict(_Rooms)
        # Activity -> (virtual room, the real rooms a 100% preferred room gives it there).
        self.fixed_real_rooms: dict[str, tuple[str, list[str]]] = {}
        self.pins: dict[str, Pin] = {}

    # ---- basic data ------------------------------------------------------------------------------

    def _names(self, list_tag: str, item_tag: str) -> list[str]:
        section = self.root.find(list_tag)
        if section is None:
            return []
        return [_text(x, "Name") for x in section.findall(item_tag)]

    def _calendar(self) -> Calendar:
        days = self._names("Days_List", "Day")
        hours = self._names("Hours_List", "Hour")
        if not days or not hours:
            raise FetError(f"{self.source}: the file has no days or no hours (<Days_List>, <Hours_List>)")
        self.day_index = {d: i for i, d in enumerate(days)}
        self.hour_index = {h: i for i, h in enumerate(hours)}
        return Calendar(days=days, periods=hours)

    def _students(self) -> tuple[list[StudentClass], list[Group]]:
        classes: list[StudentClass] = []
        groups: dict[str, Group] = {}
        section = self.root.find("Students_List")
        for year in section.findall("Year") if section is not None else []:
            year_name = _text(year, "Name")
            if year_name in self.known_students:
                self.report.note(f"year '{year_name}' is listed twice; the second one was skipped")
                continue
            classes.append(StudentClass(id=year_name, size=_int_or_none(year, "Number_of_Students")))
            self.set_size[year_name] = _int_or_none(year, "Number_of_Students") or 0
            self.known_students.add(year_name)
            for group in year.findall("Group"):
                group_name = _text(group, "Name")
                subs = group.findall("Subgroup")
                atoms = [_text(s, "Name") for s in subs] or [group_name]
                if group_name in groups:
                    if groups[group_name].class_id != year_name:
                        self.report.note(
                            f"group '{group_name}' belongs to years '{groups[group_name].class_id}' and "
                            f"'{year_name}'; it is kept in the first one only"
                        )
                    continue
                groups[group_name] = Group(id=group_name, class_id=year_name, subgroups=atoms)
                self.set_size[group_name] = _int_or_none(group, "Number_of_Students") or 0
                for sub in subs:
                    self.set_size.setdefault(_text(sub, "Name"), _int_or_none(sub, "Number_of_Students") or 0)
                self.known_students.add(group_name)
                for sub_name in atoms:
                    if sub_name != group_name and sub_name not in groups:
                        groups[sub_name] = Group(id=sub_name, class_id=year_name, subgroups=[sub_name])
                        self.known_students.add(sub_name)
        # The students a set name stands for: FET's filters match sets that share students.
        self.atoms = {g.id: set(g.subgroups or [g.id]) for g in groups.values()}
        for c in classes:
            members = [g for g in groups.values() if g.class_id == c.id]
            self.atoms[c.id] = set().union(*(self.atoms[g.id] for g in members)) if members else {c.id}
        return classes, list(groups.values())

    def _rooms(self) -> list[Room]:
        rooms = []
        section = self.root.find("Rooms_List")
        for room in section.findall("Room") if section is not None else []:
            # A virtual room: a block in it takes one real room from each set, all different.
            sets = []
            if _bool(room, "Virtual", False):
                for each in room.findall("Set_of_Real_Rooms"):
                    sets.append([(r.text or "").strip() for r in each.findall("Real_Room")])
            rooms.append(
                Room(
                    id=_text(room, "Name"),
                    capacity=_int_or_none(room, "Capacity"),
                    building=_text(room, "Building"),
                    real_rooms=sets,
                )
            )
        combined = [r.id for r in rooms if r.real_rooms]
        if combined:
            shown = ", ".join(combined[:5]) + (", ..." if len(combined) > 5 else "")
            self.report.note(
                f"{len(combined)} virtual room(s) ({shown}) imported as combined rooms: a lesson in one "
                "takes a different real room from each of its sets"
            )
        return rooms

    def _activities(self) -> list[_Activity]:
        section = self.root.find("Activities_List")
        out: list[_Activity] = []
        components: dict[str, int] = defaultdict(int)
        for a in section.findall("Activity") if section is not None else []:
            act_id = _text(a, "Id").strip()
            group_id = _text(a, "Activity_Group_Id", "0").strip()
            key = group_id if group_id not in ("", "0") else f"single-{act_id}"
            components[key] += 1
            try:
                duration = _int(a, "Duration")
            except _Unsupported as e:
                raise FetError(f"{self.source}: activity {act_id}: {e}") from None
            out.append(
                _Activity(
                    id=act_id,
                    group_id=key,
                    component=components[key],
                    teachers=[x.text or "" for x in a.findall("Teacher")],
                    subject=_text(a, "Subject"),
                    tags=[x.text or "" for x in a.findall("Activity_Tag")],
                    students=[x.text or "" for x in a.findall("Students")],
                    duration=duration,
                    active=_bool(a, "Active", True),
                    size=_int_or_none(a, "Number_Of_Students"),
                )
            )
        return out

    # ---- the whole file --------------------------------------------------------------------------

    def run(self) -> School:
        self.known_students: set[str] = set()
        self.set_size: dict[str, int] = {}
        calendar = self._calendar()
        subjects = [Subject(id=n) for n in self._names("Subjects_List", "Subject")]
        teachers = [Teacher(id=n) for n in self._names("Teachers_List", "Teacher")]
        tags = self._names("Activity_Tags_List", "Activity_Tag")
        self.tags = set(tags)
        classes, groups = self._students()
        rooms = self._rooms()
        self.activities = self._activities()
        self.activity = {a.id: a for a in self.activities}
        self.teacher_ids = {t.id for t in teachers}
        self.subject_ids = {s.id for s in subjects}
        self.room_ids = {r.id for r in rooms}
        self.room_building = {r.id: r.building for r in rooms}
        self.room_capacity = {r.id: r.capacity for r in rooms}
        self._check_activity_references()

        for list_tag in ("Time_Constraints_List", "Space_Constraints_List"):
            section = self.root.find(list_tag)
            for el in list(section) if section is not None else []:
                self._constraint(el, calendar)

        lessons = [self._lesson(a) for a in self.activities]
        self._room_rules()
        school = School(
            name=self.name,
            calendar=calendar,
            subjects=subjects,
            teachers=teachers,
            classes=classes,
            groups=groups,
            rooms=rooms,
            lessons=lessons,
            rules=self.rules,
        )
        school.meta["source"] = "fet"
        school.meta["fet_file"] = self.source
        school.meta["activity_tags"] = tags
        school.meta["import_report"] = self.report.to_dict()
        return school

    def _check_activity_references(self) -> None:
        for a in self.activities:
            for t in a.teachers:
                if t not in self.teacher_ids:
                    raise FetError(
                        f"{self.source}: activity {a.id} names teacher '{t}', who is not in <Teachers_List>"
                    )
            for s in a.students:
                if s not in self.known_students:
                    raise FetError(
                        f"{self.source}: activity {a.id} names students '{s}', who are not in <Students_List>"
                    )
            if a.subject not in self.subject_ids:
                raise FetError(
                    f"{self.source}: activity {a.id} names subject '{a.subject}', not in <Subjects_List>"
                )
            if a.duration < 1:
                raise FetError(
                    f"{self.source}: activity {a.id} has duration {a.duration}; it must be at least 1"
                )

    def _lesson(self, a: _Activity) -> Lesson:
        wishes = self.room_wishes.get(a.id)
        rooms: list[str] = []
        if wishes is not None:
            # FET considers home rooms only for activities without preferred-room constraints.
            hard = wishes.hard if (wishes.hard or wishes.soft) else wishes.home_hard
            if hard:
                allowed = set.intersection(*hard)
                if not allowed:
                    self.report.note(
                        f"activity {a.id}: its 100% preferred rooms have no room in common; FET cannot place it "
                        "either. Its first room wish is used."
                    )
                    allowed = hard[0]
                fitting = self._fitting(a, allowed)
                if fitting != allowed:
                    if fitting:
                        allowed = fitting
                    else:
                        self.report.note(
                            f"activity {a.id}: none of its rooms holds its {self._size(a)} students"
                        )
                rooms = sorted(allowed)
        pin = self.pins.get(a.id)
        room, real = self.fixed_real_rooms.get(a.id, (None, []))
        if real and rooms != [room]:
            self.report.note(
                f"activity {a.id}: its real rooms {', '.join(real)} are for room {room}, which is not its only "
                "room; they were left out"
            )
            real = []
        return Lesson(
            id=a.id,
            subject=a.subject,
            teachers=list(a.teachers),
            groups=list(a.students),
            blocks=[a.duration],
            min_days_apart=0,
            rooms=rooms,
            pinned=[pin] if pin else [],
            enabled=a.active,
            tags=list(a.tags),
            real_rooms=list(real),
        )

    def _fitting(self, a: _Activity, rooms: set[str]) -> set[str]:
        """The rooms that hold the activity's students: FET never puts an activity in a smaller room."""
        size = self._size(a)
        return {r for r in rooms if (self.room_capacity.get(r) or size) >= size}

    def _size(self, a: _Activity) -> int:
        """The activity's number of students: its own, or the sum of its students sets'."""
        return a.size if a.size is not None else sum(self.set_size.get(x, 0) for x in a.students)

    def _room_rules(self) -> None:
        for act_id, wishes in self.room_wishes.items():
            soft = wishes.soft if (wishes.hard or wishes.soft) else wishes.home_soft
            for rooms, weight, fet_type in soft:
                # A lesson that needs no room may take one of these (see TimetableModel.wished_rooms),
                # so a room too small for it is no choice.
                act = self.activity.get(act_id)
                fitting = sorted(self._fitting(act, rooms) if act is not None else rooms)
                self._add_rule("preferred_rooms", "lesson", act_id, weight, {"rooms": fitting}, fet_type)

    # ---- constraints -----------------------------------------------------------------------------

    def _add_rule(self, type_: str, scope: str, target, weight: int, params: dict, fet_type: str) -> None:
        self.rules.append(
            Rule(
                id=f"fet-{len(self.rules) + 1}",
                type=type_,
                scope=scope,
                target=target,
                weight=weight,
                params=params,
                note=f"FET {fet_type}",
            )
        )

    def _constraint(self, el: Element, calendar: Calendar) -> None:
        tag = el.tag
        fet_type = tag.removeprefix("Constraint")
        active = _bool(el, "Active", True)
        try:
            percentage = float(_text(el, "Weight_Percentage", "100").strip() or 100)
        except ValueError:
            percentage = 100.0
        hard = percentage >= 100
        if not active:
            self.report.count(fet_type, hard, "inactive")
            return
        handler = self._handler(fet_type)
        if handler is None:
            self.report.count(fet_type, hard, "unsupported")
            return
        # A 0% constraint has no effect, except FET's "consecutive if same day", which holds at any weight.
        consecutive = fet_type == "MinDaysBetweenActivities" and _bool(el, "Consecutive_If_Same_Day", False)
        if percentage <= 0 and not consecutive:
            self.report.count(fet_type, hard, "imported")
            return
        self.zero_weight = percentage <= 0
        try:
            handler(el, fet_type, fet_weight(percentage), calendar)
        except _Unsupported as e:
            self.report.count(fet_type, hard, "unsupported", reason=str(e))
            return
        self.report.count(fet_type, hard, "imported")

    def _handler(self, fet_type: str):
        if fet_type in ALWAYS_ON:
            return lambda *args: None
        direct = getattr(self, f"_c_{fet_type}", None)
        if direct is not None:
            return direct
        for prefix, scope in SCOPE_PREFIXES:
            if fet_type.startswith(prefix):
                suffix = fet_type[len(prefix) :]
                if (
                    suffix in PEOPLE_RULES
                    and scope in RULE_TYPES.get(PEOPLE_RULES[suffix][0], _NO_TYPE).scopes
                ):
                    return self._people_rule
                if suffix == "NotAvailableTimes" and scope in ("teacher", "group"):
                    return self._not_available
                if suffix == "ActivityTagMaxHoursDaily":
                    return self._tag_max_daily
                if suffix == "ActivityTagMaxHoursContinuously":
                    return self._tag_max_continuously
                if suffix == "MinGapsBetweenOrderedPairOfActivityTags":
                    return self._tag_pair_gaps
                return None
        return None

    # -- helpers

    def _who(self, el: Element, fet_type: str) -> tuple[str, str | None]:
        """Scope and target of a Teacher/Teachers/StudentsSet/Students constraint."""
        for prefix, scope in SCOPE_PREFIXES:
            if fet_type.startswith(prefix):
                break
        if scope == "teacher":
            name = _text(el, "Teacher_Name") or _text(el, "Teacher")
            if name not in self.teacher_ids:
                raise _Unsupported(f"unknown teacher '{name}'")
            return scope, name
        if scope == "group":
            name = _text(el, "Students")
            if name not in self.known_students:
                raise _Unsupported(f"unknown students set '{name}'")
            return scope, name
        return scope, None

    def _slot(self, day: str, hour: str) -> tuple[int, int]:
        if day not in self.day_index:
            raise _Unsupported(f"unknown day '{day}'")
        if hour not in self.hour_index:
            raise _Unsupported(f"unknown hour '{hour}'")
        return self.day_index[day], self.hour_index[hour]

    def _slots(self, el: Element, item: str, day_tag: str, hour_tag: str) -> list[tuple[int, int]]:
        return [self._slot(_text(x, day_tag), _text(x, hour_tag)) for x in el.findall(item)]

    def _lesson_id(self, raw: str) -> str:
        act_id = raw.strip()
        if act_id not in self.activity:
            raise _Unsupported(f"unknown activity id '{act_id}'")
        return act_id

    def _lesson_ids(self, el: Element, tag: str = "Activity_Id") -> list[str]:
        return [self._lesson_id(x.text or "") for x in el.findall(tag)]

    def _filtered(self, el: Element, component: int | None = None) -> list[str]:
        """Activities chosen by FET's teacher/students/subject/tag/duration filter.

        Names match exactly, except students: an activity matches when its students share any students
        with the named set (a filter on a year also picks the activities of its groups)."""
        teacher = _text(el, "Teacher_Name")
        students = _text(el, "Students_Name")
        subject = _text(el, "Subject_Name")
        tag = _text(el, "Activity_Tag_Name")
        duration = _text(el, "Duration").strip()
        wanted = self.atoms.get(students, {students})
        out = []
        for a in self.activities:
            if teacher and teacher not in a.teachers:
                continue
            if students and not any(self.atoms.get(x, set()) & wanted for x in a.students):
                continue
            if subject and subject != a.subject:
                continue
            if tag and tag not in a.tags:
                continue
            if duration and str(a.duration) != duration:
                continue
            if component is not None and a.component != component:
                continue
            out.append(a.id)
        return out

    # -- time constraints

    def _c_BreakTimes(self, el, fet_type, weight, calendar):
        if weight < HARD:
            raise _Unsupported("break times below 100% have no meaning in FET")
        for slot in self._slots(el, "Break_Time", "Day", "Hour"):
            if slot not in calendar.breaks:
                calendar.breaks.append(slot)

    def _not_available(self, el, fet_type, weight, calendar):
        scope, target = self._who(el, fet_type)
        slots = self._slots(el, "Not_Available_Time", "Day", "Hour")
        if slots:
            self._add_rule("unavailable", scope, target, weight, {"slots": slots}, fet_type)

    def _c_RoomNotAvailableTimes(self, el, fet_type, weight, calendar):
        room = _text(el, "Room")
        if room not in self.room_ids:
            raise _Unsupported(f"unknown room '{room}'")
        slots = self._slots(el, "Not_Available_Time", "Day", "Hour")
        if slots:
            self._add_rule("unavailable", "room", room, weight, {"slots": slots}, fet_type)

    def _people_rule(self, el, fet_type, weight, calendar):
        scope, target = self._who(el, fet_type)
        suffix = fet_type[len(next(p for p, _ in SCOPE_PREFIXES if fet_type.startswith(p))) :]
        type_, fet_param, param = PEOPLE_RULES[suffix]
        params: dict = {param: _int(el, fet_param)}
        if suffix == "MinHoursDaily":
            # FET allows empty days for teachers always; for students only when the file says so.
            params["allow_empty_days"] = _bool(el, "Allow_Empty_Days", scope in ("teacher", "all_teachers"))
        if suffix == "MaxSpanPerDay":
            params["one_day_plus_one"] = _bool(el, "Allow_One_Day_Exception_of_Plus_One", False)
        if suffix == "MinRestingHours":
            params["circular"] = _bool(el, "Circular", False)
        if suffix == "IntervalMaxDaysPerWeek":
            start = _text(el, "Interval_Start_Hour")
            end = _text(el, "Interval_End_Hour")
            if start not in self.hour_index:
                raise _Unsupported(f"unknown interval start hour '{start}'")
            if end and end not in self.hour_index:
                raise _Unsupported(f"unknown interval end hour '{end}'")
            params["start"] = self.hour_index[start]
            params["end"] = self.hour_index[end] if end else len(self.hour_index)
        self._add_rule(type_, scope, target, weight, params, fet_type)

    def _c_MinDaysBetweenActivities(self, el, fet_type, weight, calendar):
        ids = list(dict.fromkeys(self._lesson_ids(el)))
        if len(ids) < 2:
            return
        consecutive = _bool(el, "Consecutive_If_Same_Day", False)
        if weight < HARD and consecutive:
            # FET keeps two of them on one day back to back at any weight, even 0%: a hard rule of its own.
            self._add_rule(
                "min_days_between",
                "lessons",
                ids,
                HARD,
                {"min_days": 0, "consecutive_if_same_day": True},
                fet_type,
            )
            consecutive = False
        if not self.zero_weight:
            params = {"min_days": _int(el, "MinDays"), "consecutive_if_same_day": consecutive}
            self._add_rule("min_days_between", "lessons", ids, weight, params, fet_type)

    def _c_ActivityPreferredStartingTime(self, el, fet_type, weight, calendar):
        act = self._lesson_id(_text(el, "Activity_Id"))
        day, hour = _text(el, "Preferred_Day"), _text(el, "Preferred_Hour")
        if day and hour and weight == HARD and act not in self.pins:
            self.pins[act] = Pin(block=0, slot=self._slot(day, hour))
            return
        if day and day not in self.day_index:
            raise _Unsupported(f"unknown day '{day}'")
        if hour and hour not in self.hour_index:
            raise _Unsupported(f"unknown hour '{hour}'")
        slots = [
            (d, h)
            for d in (range(len(self.day_index)) if not day else [self.day_index[day]])
            for h in (range(len(self.hour_index)) if not hour else [self.hour_index[hour]])
        ]
        self._add_rule("preferred_times", "lesson", act, weight, {"slots": slots, "mode": "start"}, fet_type)

    def _c_ActivityPreferredStartingTimes(self, el, fet_type, weight, calendar):
        act = self._lesson_id(_text(el, "Activity_Id"))
        slots = self._slots(
            el, "Preferred_Starting_Time", "Preferred_Starting_Day", "Preferred_Starting_Hour"
        )
        self._add_rule("preferred_times", "lesson", act, weight, {"slots": slots, "mode": "start"}, fet_type)

    def _c_ActivityPreferredTimeSlots(self, el, fet_type, weight, calendar):
        act = self._lesson_id(_text(el, "Activity_Id"))
        slots = self._slots(el, "Preferred_Time_Slot", "Preferred_Day", "Preferred_Hour")
        self._add_rule("preferred_times", "lesson", act, weight, {"slots": slots, "mode": "all"}, fet_type)

    def _activities_times(self, el, fet_type, weight, mode: str, component: int | None):
        if mode == "start":
            slots = self._slots(
                el, "Preferred_Starting_Time", "Preferred_Starting_Day", "Preferred_Starting_Hour"
            )
        else:
            slots = self._slots(el, "Preferred_Time_Slot", "Preferred_Day", "Preferred_Hour")
        ids = self._filtered(el, component)
        if ids:
            self._add_rule(
                "preferred_times", "lessons", ids, weight, {"slots": slots, "mode": mode}, fet_type
            )

    def _c_ActivitiesPreferredStartingTimes(self, el, fet_type, weight, calendar):
        self._activities_times(el, fet_type, weight, "start", None)

    def _c_ActivitiesPreferredTimeSlots(self, el, fet_type, weight, calendar):
        self._activities_times(el, fet_type, weight, "all", None)

    def _c_SubactivitiesPreferredStartingTimes(self, el, fet_type, weight, calendar):
        self._activities_times(el, fet_type, weight, "start", _int(el, "Component_Number"))

    def _c_SubactivitiesPreferredTimeSlots(self, el, fet_type, weight, calendar):
        self._activities_times(el, fet_type, weight, "all", _int(el, "Component_Number"))

    def _lesson_set_rule(self, el, fet_type, weight, type_: str) -> None:
        ids = list(dict.fromkeys(self._lesson_ids(el)))
        if len(ids) >= 2:
            self._add_rule(type_, "lessons", ids, weight, {}, fet_type)

    def _c_ActivitiesSameStartingTime(self, el, fet_type, weight, calendar):
        self._lesson_set_rule(el, fet_type, weight, "same_starting_time")

    def _c_ActivitiesSameStartingDay(self, el, fet_type, weight, calendar):
        self._lesson_set_rule(el, fet_type, weight, "same_starting_day")

    def _c_ActivitiesSameStartingHour(self, el, fet_type, weight, calendar):
        self._lesson_set_rule(el, fet_type, weight, "same_starting_hour")

    def _c_ActivitiesNotOverlapping(self, el, fet_type, weight, calendar):
        self._lesson_set_rule(el, fet_type, weight, "not_overlapping")

    def _two(self, el, fet_type, weight, type_: str, params: dict | None = None) -> None:
        first = self._lesson_id(_text(el, "First_Activity_Id"))
        second = self._lesson_id(_text(el, "Second_Activity_Id"))
        if first == second:
            raise _Unsupported(f"activity {first} cannot be paired with itself")
        self._add_rule(type_, "lessons", [first, second], weight, params or {}, fet_type)

    def _c_TwoActivitiesOrdered(self, el, fet_type, weight, calendar):
        self._two(el, fet_type, weight, "ordered")

    def _c_TwoActivitiesOrderedIfSameDay(self, el, fet_type, weight, calendar):
        self._two(el, fet_type, weight, "ordered", {"same_day_only": True})

    def _c_ActivitiesOccupyMaxTimeSlotsFromSelection(self, el, fet_type, weight, calendar):
        ids = list(dict.fromkeys(self._lesson_ids(el)))
        slots = self._slots(el, "Selected_Time_Slot", "Selected_Day", "Selected_Hour")
        most = _int(el, "Max_Number_of_Occupied_Time_Slots")
        if ids and slots:
            self._add_rule("max_busy_slots", "lessons", ids, weight, {"slots": slots, "max": most}, fet_type)

    def _c_ActivitiesMaxSimultaneousInSelectedTimeSlots(self, el, fet_type, weight, calendar):
        ids = list(dict.fromkeys(self._lesson_ids(el)))
        slots = self._slots(el, "Selected_Time_Slot", "Selected_Day", "Selected_Hour")
        most = _int(el, "Max_Number_of_Simultaneous_Activities")
        if ids and slots:
            self._add_rule(
                "max_simultaneous", "lessons", ids, weight, {"slots": slots, "max": most}, fet_type
            )

    def _c_MaxDaysBetweenActivities(self, el, fet_type, weight, calendar):
        ids = list(dict.fromkeys(self._lesson_ids(el)))
        if len(ids) > 1:
            self._add_rule(
                "max_days_between", "lessons", ids, weight, {"max_days": _int(el, "MaxDays")}, fet_type
            )

    def _c_ActivitiesOccupyMaxDifferentRooms(self, el, fet_type, weight, calendar):
        ids = list(dict.fromkeys(self._lesson_ids(el)))
        most = _int(el, "Max_Number_of_Different_Rooms")
        if ids:
            self._add_rule("max_rooms", "lessons", ids, weight, {"max": most}, fet_type)

    def _c_ActivitiesSameRoomIfConsecutive(self, el, fet_type, weight, calendar):
        ids = list(dict.fromkeys(self._lesson_ids(el)))
        if len(ids) > 1:
            self._add_rule("same_room_if_consecutive", "lessons", ids, weight, {}, fet_type)

    def _c_TwoActivitiesConsecutive(self, el, fet_type, weight, calendar):
        self._two(el, fet_type, weight, "consecutive")

    def _c_TwoActivitiesGrouped(self, el, fet_type, weight, calendar):
        self._two(el, fet_type, weight, "grouped")

    def _c_ThreeActivitiesGrouped(self, el, fet_type, weight, calendar):
        tags = ("First_Activity_Id", "Second_Activity_Id", "Third_Activity_Id")
        ids = [self._lesson_id(_text(el, tag)) for tag in tags]
        if len(set(ids)) < 3:
            raise _Unsupported(f"activities {', '.join(ids)} are not three different activities")
        self._add_rule("grouped", "lessons", ids, weight, {}, fet_type)

    def _c_MinGapsBetweenActivities(self, el, fet_type, weight, calendar):
        ids = list(dict.fromkeys(self._lesson_ids(el)))
        if len(ids) >= 2:
            self._add_rule(
                "min_gaps_between", "lessons", ids, weight, {"min_gaps": _int(el, "MinGaps")}, fet_type
            )

    def _activity_tag_rule(self, el, fet_type, weight, type_: str, fet_param: str) -> None:
        scope, target = self._who(el, fet_type)
        # Teachers' variants name the tag in Activity_Tag_Name, students' in Activity_Tag.
        tag = _text(el, "Activity_Tag_Name") or _text(el, "Activity_Tag")
        if tag not in self.tags:
            raise _Unsupported(f"unknown activity tag '{tag}'")
        params = {"tag": tag, "max": _int(el, fet_param)}
        self._add_rule(type_, scope, target, weight, params, fet_type)

    def _tag_max_daily(self, el, fet_type, weight, calendar):
        self._activity_tag_rule(el, fet_type, weight, "max_tag_periods_per_day", "Maximum_Hours_Daily")

    def _tag_max_continuously(self, el, fet_type, weight, calendar):
        self._activity_tag_rule(el, fet_type, weight, "max_consecutive", "Maximum_Hours_Continuously")

    def _tag_pair_gaps(self, el, fet_type, weight, calendar):
        scope, target = self._who(el, fet_type)
        tags = [_text(el, "First_Activity_Tag"), _text(el, "Second_Activity_Tag")]
        for tag in tags:
            if tag not in self.tags:
                raise _Unsupported(f"unknown activity tag '{tag}'")
        params = {"first_tag": tags[0], "second_tag": tags[1], "min": _int(el, "MinGaps")}
        self._add_rule("min_gaps_between_tags", scope, target, weight, params, fet_type)

    def _c_ActivityEndsStudentsDay(self, el, fet_type, weight, calendar):
        act = self._lesson_id(_text(el, "Activity_Id"))
        self._add_rule("ends_students_day", "lesson", act, weight, {}, fet_type)

    def _c_ActivitiesEndStudentsDay(self, el, fet_type, weight, calendar):
        ids = self._filtered(el)
        if ids:
            self._add_rule("ends_students_day", "lessons", ids, weight, {}, fet_type)

    # -- space constraints

    def _room_set(self, names: list[str]) -> set[str]:
        for n in names:
            if n not in self.room_ids:
                raise _Unsupported(f"unknown room '{n}'")
        return set(names)

    def _wish(self, ids: list[str], rooms: set[str], weight: int, fet_type: str, home: bool = False) -> None:
        for act in ids:
            wishes = self.room_wishes[act]
            if weight == HARD:
                (wishes.home_hard if home else wishes.hard).append(rooms)
            else:
                (wishes.home_soft if home else wishes.soft).append((rooms, weight, fet_type))

    def _preferred(self, el: Element) -> set[str]:
        return self._room_set([x.text or "" for x in el.findall("Preferred_Room")])

    def _by(self, pred) -> list[str]:
        return [a.id for a in self.activities if pred(a)]

    def _c_ActivityPreferredRoom(self, el, fet_type, weight, calendar):
        act = self._lesson_id(_text(el, "Activity_Id"))
        room = _text(el, "Room")
        self._wish([act], self._room_set([room]), weight, fet_type)
        # In a virtual room, FET 6 may name the real rooms too (only at 100%).
        real = [(r.text or "").strip() for r in el.findall("Real_Room")]
        if real and weight == HARD:
            self._room_set(real)
            self.fixed_real_rooms[act] = (room, real)

    def _c_ActivityPreferredRooms(self, el, fet_type, weight, calendar):
        act = self._lesson_id(_text(el, "Activity_Id"))
        self._wish([act], self._preferred(el), weight, fet_type)

    def _c_SubjectPreferredRoom(self, el, fet_type, weight, calendar):
        subject = _text(el, "Subject")
        self._wish(
            self._by(lambda a: a.subject == subject), self._room_set([_text(el, "Room")]), weight, fet_type
        )

    def _c_SubjectPreferredRooms(self, el, fet_type, weight, calendar):
        subject = _text(el, "Subject")
        self._wish(self._by(lambda a: a.subject == subject), self._preferred(el), weight, fet_type)

    def _c_ActivityTagPreferredRoom(self, el, fet_type, weight, calendar):
        tag = _text(el, "Activity_Tag")
        self._wish(self._by(lambda a: tag in a.tags), self._room_set([_text(el, "Room")]), weight, fet_type)

    def _c_ActivityTagPreferredRooms(self, el, fet_type, weight, calendar):
        tag = _text(el, "Activity_Tag")
        self._wish(self._by(lambda a: tag in a.tags), self._preferred(el), weight, fet_type)

    def _c_SubjectActivityTagPreferredRoom(self, el, fet_type, weight, calendar):
        subject, tag = _text(el, "Subject"), _text(el, "Activity_Tag")
        ids = self._by(lambda a: a.subject == subject and tag in a.tags)
        self._wish(ids, self._room_set([_text(el, "Room")]), weight, fet_type)

    def _c_SubjectActivityTagPreferredRooms(self, el, fet_type, weight, calendar):
        subject, tag = _text(el, "Subject"), _text(el, "Activity_Tag")
        self._wish(
            self._by(lambda a: a.subject == subject and tag in a.tags), self._preferred(el), weight, fet_type
        )

    # Home rooms apply to the activities of exactly that teacher or students set, as in FET.

    def _c_TeacherHomeRoom(self, el, fet_type, weight, calendar):
        teacher = _text(el, "Teacher")
        ids = self._by(lambda a: a.teachers == [teacher])
        self._wish(ids, self._room_set([_text(el, "Room")]), weight, fet_type, home=True)

    def _c_TeacherHomeRooms(self, el, fet_type, weight, calendar):
        teacher = _text(el, "Teacher")
        self._wish(
            self._by(lambda a: a.teachers == [teacher]), self._preferred(el), weight, fet_type, home=True
        )

    def _c_StudentsSetHomeRoom(self, el, fet_type, weight, calendar):
        students = _text(el, "Students")
        ids = self._by(lambda a: a.students == [students])
        self._wish(ids, self._room_set([_text(el, "Room")]), weight, fet_type, home=True)

    def _c_StudentsSetHomeRooms(self, el, fet_type, weight, calendar):
        students = _text(el, "Students")
        ids = self._by(lambda a: a.students == [students])
        self._wish(ids, self._preferred(el), weight, fet_type, home=True)


_NO_TYPE = type("_NoType", (), {"scopes": ()})()


def _int_or_none(el: Element, tag: str) -> int | None:
    raw = _text(el, tag).strip()
    try:
        value = int(raw)
    except ValueError:
        return None
    return value if value > 0 else None


def import_fet(path: str | Path) -> School:
    """Read a FET file into a School; ``school.meta["import_report"]`` holds the import report."""
    root, _ = read_fet(path)
    return FetImporter(root, str(path), Path(path).stem).run()


def import_report(school: School) -> ImportReport:
    """The import report stored in a school imported from FET."""
    return ImportReport.from_dict(school.meta["import_report"])
