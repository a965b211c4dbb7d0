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
            "periods placed in these times."
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
)


def describe(rule_type: str) -> str:
    t = RULE_TYPES[rule_type]
    return f"{t.title}: {t.help}"
