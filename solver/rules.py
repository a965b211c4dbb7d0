"""The catalogue of rule types: which scopes each accepts and which parameters it takes.

Every family is one implementation with a scope. "Teacher max gaps per week" and "all teachers max
gaps per week" are the same type ``max_gaps_per_week`` with scope ``teacher`` or ``all_teachers``.
The model builder (``solver.model``) and the checker (``solver.checker``) each implement every type
listed here, independently of one another.

Parameter kinds: ``int`` (a whole number >= 0), ``slots`` (a list of times), ``bool``, ``str``,
``ids`` (a list of ids).

Student rules apply to every subgroup of the class or group in scope, as in FET.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PEOPLE = ("teacher", "all_teachers", "group", "all_groups")
TEACHERS = ("teacher", "all_teachers")
STUDENTS = ("group", "all_groups")
RESOURCES = ("teacher", "all_teachers", "group", "all_groups", "room", "all_rooms")
LESSON_SETS = ("lesson", "lessons", "subject", "teacher", "group")


@dataclass(frozen=True)
class RuleType:
    name: str
    title: str
    scopes: tuple[str, ...]
    params: dict[str, str] = field(default_factory=dict)
    optional: dict[str, object] = field(default_factory=dict)
    help: str = ""


def _types(*types: RuleType) -> dict[str, RuleType]:
    return {t.name: t for t in types}


RULE_TYPES: dict[str, RuleType] = _types(
    RuleType(
        "unavailable",
        "Unavailable times",
        RESOURCES,
        {"slots": "slots"},
        help=(
            "Nothing is placed for the teacher, students or room at these times. Violation amount: "
            "periods placed in these times, summed over every teacher, subgroup or room in scope."
        ),
    ),
    RuleType(
        "max_periods_per_day",
        "Max periods per day",
        PEOPLE,
        {"max": "int"},
        help=(
            "At most `max` periods are taught on any day. Violation amount: the excess over `max`, "
            "summed over every (teacher or subgroup, day)."
        ),
    ),
    RuleType(
        "max_gaps_per_day",
        "Max gaps per day",
        PEOPLE,
        {"max": "int"},
        help=(
            "A gap is a free period between the first and last lesson of a day; breaks and the "
            "entity's hard-unavailable times are not gaps (as in FET). Violation amount: excess gaps "
            "over `max`, summed over every (teacher or subgroup, day)."
        ),
    ),
    RuleType(
        "max_gaps_per_week",
        "Max gaps per week",
        PEOPLE,
        {"max": "int"},
        help=(
            "Gaps (as in max_gaps_per_day) summed over the week. Violation amount: the excess over "
            "`max`, summed over teachers or subgroups."
        ),
    ),
    RuleType(
        "min_days_per_week",
        "Min days per week",
        TEACHERS,
        {"min": "int"},
        help=(
            "The teacher teaches on at least `min` days, or on as many days as they have blocks when "
            "they have fewer. Violation amount: the shortfall in days, min(`min`, blocks) minus days taught."
        ),
    ),
    RuleType(
        "max_days_per_week",
        "Max days per week",
        TEACHERS,
        {"max": "int"},
        help="The teacher teaches on at most `max` days. Violation amount: the days taught beyond `max`.",
    ),
    RuleType(
        "subject_spread",
        "Subject spread",
        ("group", "all_groups", "subject"),
        optional={"max_per_day": 1},
        help=(
            "Students have each subject in at most `max_per_day` blocks a day (a double period counts "
            "once). This is what strict balancing makes hard. Violation amount: blocks beyond `max_per_day`, "
            "summed over every (subgroup, subject, day)."
        ),
    ),
    RuleType(
        "preferred_times",
        "Preferred times",
        LESSON_SETS,
        {"slots": "slots"},
        optional={"mode": "all"},
        help=(
            "Lessons in scope are placed within `slots`. With mode `all` every period of a block must "
            "be in the slots; with mode `start` only its first period. Scope `teacher`: the lessons they teach; "
            "`group`: the lessons its students attend. Violation amount: blocks outside the slots."
        ),
    ),
    # Families brought in for FET files (solver.fet); FET's own semantics, weights penalised in proportion.
    RuleType(
        "min_days_between",
        "Min days between lessons",
        ("lessons",),
        {"min_days": "int"},
        optional={"consecutive_if_same_day": False},
        help=(
            "Every two lessons of the set fall at least `min_days` days apart. With "
            "`consecutive_if_same_day`, two of them on one day must be back to back, with no break between "
            "(always, even when the rule is soft, as in FET). Violation amount: for each pair closer than "
            "`min_days` days, the days too close (`min_days` minus their distance), as FET counts it."
        ),
    ),
    RuleType(
        "same_starting_time",
        "Same starting time",
        ("lessons",),
        help="The lessons all start at the same day and period. Violation amount: pairs that do not.",
    ),
    RuleType(
        "same_starting_day",
        "Same starting day",
        ("lessons",),
        help="The lessons all start on the same day. Violation amount: pairs that do not.",
    ),
    RuleType(
        "same_starting_hour",
        "Same starting period",
        ("lessons",),
        help=(
            "The lessons all start in the same period of the day, on any days. Violation amount: pairs that "
            "do not."
        ),
    ),
    RuleType(
        "not_overlapping",
        "Not overlapping",
        ("lessons",),
        help="No two of the lessons share a period. Violation amount: pairs that do.",
    ),
    RuleType(
        "consecutive",
        "Consecutive",
        ("lessons",),
        help=(
            "Two lessons [first, second]: the second starts on the same day right after the first ends. "
            "Violation amount: 1 when it does not."
        ),
    ),
    RuleType(
        "grouped",
        "Grouped",
        ("lessons",),
        help=(
            "Two or more lessons on the same day, one right after the other, in any order, as one run "
            "(breaks may fall inside it). Violation amount: 1 when they are not."
        ),
    ),
    RuleType(
        "ordered",
        "Ordered",
        ("lessons",),
        optional={"same_day_only": False},
        help=(
            "Two lessons [first, second]: the second starts after the first ends, later the same day or on a "
            "later day. With `same_day_only`, only when they share a day. Violation amount: 1 when it does "
            "not."
        ),
    ),
    RuleType(
        "max_busy_slots",
        "Max periods used of a selection",
        ("lessons",),
        {"slots": "slots", "max": "int"},
        help=(
            "The lessons together occupy at most `max` of the periods `slots` (a period counts once, however "
            "many of them share it). Violation amount: periods over `max`."
        ),
    ),
    RuleType(
        "max_simultaneous",
        "Max lessons at once in a selection",
        ("lessons",),
        {"slots": "slots", "max": "int"},
        help=(
            "In each of the periods `slots`, at most `max` of the lessons take place. Violation amount: "
            "lessons over `max`, summed over the periods."
        ),
    ),
    RuleType(
        "max_days_between",
        "Max days between lessons",
        ("lessons",),
        {"max_days": "int"},
        help=(
            "Every two of the lessons are at most `max_days` days apart. Violation amount: days beyond "
            "`max_days`, summed over the pairs."
        ),
    ),
    RuleType(
        "max_rooms",
        "Max different rooms",
        ("lessons",),
        {"max": "int"},
        help=("The lessons together use at most `max` different rooms. Violation amount: rooms over `max`."),
    ),
    RuleType(
        "same_room_if_consecutive",
        "Same room if consecutive",
        ("lessons",),
        help=(
            "Two of the lessons back to back on one day (the second starts in the period right after the "
            "first ends; a break between parts them) take place in the same room. Violation amount: pairs "
            "back to back in different rooms."
        ),
    ),
    RuleType(
        "ends_students_day",
        "Ends the students' day",
        ("lesson", "lessons"),
        help=(
            "No subgroup of the lesson has anything later that day. Violation amount: lessons that do not "
            "end their students' day."
        ),
    ),
    RuleType(
        "min_periods_per_day",
        "Min periods per day",
        PEOPLE,
        {"min": "int"},
        optional={"allow_empty_days": True},
        help=(
            "Every day with a lesson has at least `min` periods; without `allow_empty_days` every day "
            "must. Violation amount: the shortfall, summed over every (teacher or subgroup, day)."
        ),
    ),
    RuleType(
        "max_consecutive",
        "Max periods in a row",
        PEOPLE,
        {"max": "int"},
        optional={"tag": ""},
        help=(
            "At most `max` busy periods in a row; a break or a free period ends the run. With `tag`, only "
            "lessons with that tag count. Violation amount: periods beyond `max` in each run."
        ),
    ),
    RuleType(
        "max_tag_periods_per_day",
        "Max periods of a tag per day",
        PEOPLE,
        {"tag": "str", "max": "int"},
        help=(
            "At most `max` periods a day of lessons with tag `tag`. Violation amount: the excess, summed "
            "over every (teacher or subgroup, day)."
        ),
    ),
    RuleType(
        "min_gaps_between",
        "Min gaps between lessons",
        ("lessons",),
        {"min_gaps": "int"},
        help=(
            "Two of the lessons on the same day have at least `min_gaps` periods between the end of one and "
            "the start of the other. Violation amount: pairs closer than that."
        ),
    ),
    RuleType(
        "early_start",
        "Early start",
        STUDENTS,
        {"max_second_hour": "int"},
        help=(
            "FET's 'early max beginnings at second hour': a subgroup's day starts at its first available "
            "period (not a break, not hard-unavailable), or at the second on at most `max_second_hour` days "
            "a week. Violation amount: days starting later than the second available period, plus "
            "second-period beginnings beyond `max_second_hour`, summed over subgroups."
        ),
    ),
    RuleType(
        "interval_max_days_per_week",
        "Max days per week in an interval",
        PEOPLE,
        {"start": "int", "max": "int"},
        optional={"end": None},
        help=(
            "At most `max` days a week with a busy period in periods `start` .. `end` - 1 (period "
            "indexes; no `end` means the end of the day). Violation amount: days beyond `max`."
        ),
    ),
    RuleType(
        "max_span_per_day",
        "Max span per day",
        PEOPLE,
        {"max": "int"},
        optional={"one_day_plus_one": False},
        help=(
            "From the first busy period of a day to the last, breaks included, at most `max` periods; with "
            "`one_day_plus_one`, one day a week may take one more. Violation amount: periods beyond the "
            "span allowed, summed over every (teacher or subgroup, day)."
        ),
    ),
    RuleType(
        "min_resting_periods",
        "Min resting periods",
        PEOPLE,
        {"min": "int"},
        optional={"circular": False},
        help=(
            "Between the last busy period of a day and the first of the next day, at least `min` free "
            "periods (those after the last and before the first, breaks included), when both days are "
            "busy; with `circular`, from the last day of the week to the first too. Violation amount: "
            "periods short of `min`, summed over every (teacher or subgroup, pair of days)."
        ),
    ),
    RuleType(
        "min_gaps_between_tags",
        "Min gaps from one tag to another",
        PEOPLE,
        {"first_tag": "str", "second_tag": "str", "min": "int"},
        help=(
            "When a lesson with tag `second_tag` follows one with tag `first_tag` on the same day, at least "
            "`min` periods lie between them, busy or not. Violation amount: such pairs too close, summed "
            "over every teacher or subgroup."
        ),
    ),
    RuleType(
        "max_building_changes_per_day",
        "Max building changes per day",
        PEOPLE,
        {"max": "int"},
        help=(
            "Between one lesson of a day and the next (lessons with a room), the building changes at most "
            "`max` times. Violation amount: changes beyond `max`, summed over every (teacher or subgroup, "
            "day)."
        ),
    ),
    RuleType(
        "max_building_changes_per_week",
        "Max building changes per week",
        PEOPLE,
        {"max": "int"},
        help=(
            "As `max_building_changes_per_day`, counted over the whole week: at most `max` changes. "
            "Violation amount: changes beyond `max`, summed over every teacher or subgroup."
        ),
    ),
    RuleType(
        "min_gaps_between_building_changes",
        "Min gaps between building changes",
        PEOPLE,
        {"min": "int"},
        help=(
            "Two lessons of one day in rooms of different buildings have at least `min` periods between "
            "them, time to walk over (lessons without a room, or in a room without a building, do not "
            "count). Violation amount: pairs of lessons too close, summed over every teacher or subgroup."
        ),
    ),
    RuleType(
        "preferred_rooms",
        "Preferred rooms",
        ("lesson", "lessons"),
        {"rooms": "ids"},
        help=(
            "The lessons take place in one of `rooms`. Hard room wishes are usually written as the lesson's "
            "own `rooms`; this rule carries soft ones. Violation amount: blocks in another room or none."
        ),
    ),
)


def describe(rule_type: str) -> str:
    t = RULE_TYPES[rule_type]
    return f"{t.title}: {t.help}"
