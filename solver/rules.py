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
        help="Nothing is placed for the teacher, students or room at these times.",
    ),
    RuleType(
        "max_periods_per_day",
        "Max periods per day",
        PEOPLE,
        {"max": "int"},
        help="At most `max` periods are taught on any day.",
    ),
    RuleType(
        "max_gaps_per_day",
        "Max gaps per day",
        PEOPLE,
        {"max": "int"},
        help="A gap is a free period between the first and last lesson of a day (breaks excluded).",
    ),
    RuleType(
        "max_gaps_per_week",
        "Max gaps per week",
        PEOPLE,
        {"max": "int"},
        help="Gaps summed over the week.",
    ),
    RuleType(
        "min_days_per_week",
        "Min days per week",
        TEACHERS,
        {"min": "int"},
        help="The teacher teaches on at least `min` days (or on every day when they teach fewer lessons).",
    ),
    RuleType(
        "max_days_per_week",
        "Max days per week",
        TEACHERS,
        {"max": "int"},
        help="The teacher teaches on at most `max` days.",
    ),
    RuleType(
        "subject_spread",
        "Subject spread",
        ("group", "all_groups", "subject"),
        optional={"max_per_day": 1},
        help=(
            "Students have each subject in at most `max_per_day` blocks a day (a double period counts "
            "once). This is what strict balancing makes hard."
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
            "be in the slots; with mode `start` only its first period."
        ),
    ),
)


def describe(rule_type: str) -> str:
    t = RULE_TYPES[rule_type]
    return f"{t.title}: {t.help}"
