"""Demo schools: deterministic, seedable, realistic and feasible by construction.

The generator first builds a hidden timetable and then derives the school from it, so a complete
timetable keeping every hard rule is known to exist:

1. Each class gets a curriculum (Mathematics, English, Science in labs for half classes, language
   groups, PE in the gym, ...) written as *bundles*: lessons taught at the same time to groups that
   together make the whole class, such as Science for 7A-1 while 7A-2 has Computing.
2. Every bundle's blocks are packed into the class's week, on different days, early in each day.
3. Teachers and rooms are then assigned lesson by lesson to someone free at all of its times, hiring
   a new teacher or opening a new room when nobody fits. Part-time teachers keep a day off.
4. Hard rules (days off, max periods per day, a few unavailable times) are ones the hidden timetable
   keeps; soft rules (gaps, subject spread, preferred times) are left for the solver to optimise.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field

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
)

DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday"]
PERIODS = ["1", "2", "3", "4", "Lunch", "5", "6", "7", "8"]
LUNCH = PERIODS.index("Lunch")
RUNS = [[0, 1, 2, 3], [5, 6, 7, 8]]
"""The break-free runs of a day: a block never leaves its run."""

TEACHER_MAX_PER_DAY = 6
FULL_TIME_LOAD = 22
PART_TIME_LOAD = 14
PART_TIME_SHARE = 0.2

SUBJECTS = {
    "MATH": ("Mathematics", "#4e79a7"),
    "ENG": ("English", "#f28e2b"),
    "SCI": ("Science", "#59a14f"),
    "COMP": ("Computing", "#76b7b2"),
    "FR": ("French", "#e15759"),
    "DE": ("German", "#ff9da7"),
    "ES": ("Spanish", "#d37295"),
    "HIST": ("History", "#b07aa1"),
    "GEO": ("Geography", "#9c755f"),
    "REL": ("Religious Education", "#bab0ac"),
    "ECON": ("Economics", "#8cd17d"),
    "PE": ("Physical Education", "#edc948"),
    "ART": ("Art", "#a0cbe8"),
    "MUS": ("Music", "#ffbe7d"),
}

DEPARTMENTS = {
    "Mathematics": ["MATH"],
    "English": ["ENG"],
    "Science": ["SCI"],
    "Computing": ["COMP"],
    "Languages": ["FR", "DE", "ES"],
    "Humanities": ["HIST", "GEO", "REL", "ECON"],
    "PE": ["PE"],
    "Arts": ["ART", "MUS"],
}
DEPARTMENT_OF = {s: d for d, subjects in DEPARTMENTS.items() for s in subjects}

ROOM_KINDS = {
    "SCI": "Lab",
    "COMP": "Computer room",
    "PE": "Gym",
    "ART": "Art studio",
    "MUS": "Music room",
}
"""Subjects taught in special rooms; every other subject uses the class's home room."""
ROOM_PREFIX = {
    "Lab": "LAB",
    "Computer room": "ICT",
    "Gym": "GYM",
    "Art studio": "ART",
    "Music room": "MUS",
    "Language room": "LANG",
}

# fmt: off
SURNAMES = [
    "Novak", "Okafor", "Lindqvist", "Moreau", "Patel", "Schneider", "Rossi", "Kowalski", "Nakamura",
    "Haddad", "O'Brien", "Silva", "Jansen", "Dubois", "Petrov", "Murphy", "Ahmed", "Fischer", "Costa",
    "Nowak", "Andersen", "Kim", "Walsh", "Bauer", "Romano", "Yilmaz", "Eriksen", "Keller", "Lopez",
    "Ivanova", "Hughes", "Sato", "Larsen", "Weber", "Ricci", "Mensah", "Dahl", "Gallagher", "Varga",
    "Brennan", "Horvat", "Quinn", "Lambert", "Mazur", "Ortega", "Sandoval", "Tanaka", "Virtanen",
    "Hoffmann", "Barros", "Kaplan", "Lund", "Castillo", "Morgan", "Zielinski", "Farouk", "Nyberg",
    "Douglas", "Pereira", "Vogel", "Fontaine", "Reid", "Santos", "Holm", "Marino", "Chen", "Abbott",
    "Iqbal", "Sokolov", "Byrne", "Duarte", "Lehmann", "Rahman", "Wolff", "Moretti", "Berg", "Kovacs",
    "Fraser", "Ellis", "Grant", "Hayes", "Jovanovic", "Kerr", "Lowe", "Navarro", "Price", "Rowe", "Steele",
    "Ueda", "Vance", "Wade", "Young", "Zhou", "Baker", "Carter", "Dixon", "Evans", "Foster", "Gibson",
    "Harper", "Irwin", "Jensen", "Knight", "Lucas", "Mills", "Nash", "Owens", "Parry", "Ramos", "Shaw",
    "Tate",
]
# fmt: on


@dataclass
class _Part:
    """One lesson of a bundle: a subject for some of the class's groups."""

    subject: str
    groups: list[str]
    rooms: str  # "home", "home+language" or a ROOM_KINDS key
    teachers: int = 1


@dataclass
class _Bundle:
    blocks: list[int]
    parts: list[_Part]

    @property
    def periods(self) -> int:
        return sum(self.blocks) * len(self.parts)


@dataclass
class _Class:
    id: str
    year: int
    halves: bool
    languages: list[str]
    bundles: list[_Bundle] = field(default_factory=list)
    blocked: set[Slot] = field(default_factory=set)


def _curriculum(c: _Class) -> list[_Bundle]:
    """The weekly lessons of a class; a list of bundles covering the whole class each time."""
    lower = c.year <= 9
    whole = [c.id]
    out = []
    if c.halves:
        h1, h2 = f"{c.id}-1", f"{c.id}-2"
        out.append(_Bundle([2, 1], [_Part("SCI", [h1], "SCI"), _Part("COMP", [h2], "COMP")]))
        out.append(_Bundle([2, 1], [_Part("COMP", [h1], "COMP"), _Part("SCI", [h2], "SCI")]))
    else:
        out.append(_Bundle([2, 1, 1], [_Part("SCI", whole, "SCI")]))
        out.append(_Bundle([2], [_Part("COMP", whole, "COMP")]))
    if len(c.languages) > 1:
        parts = [_Part(lang, [f"{c.id}-{lang}"], "home+language") for lang in c.languages]
        out.append(_Bundle([1, 1, 1], parts))
    else:
        out.append(_Bundle([1, 1, 1], [_Part(c.languages[0], whole, "home")]))
    out += [
        _Bundle([2, 1, 1, 1], [_Part("MATH", whole, "home")]),
        _Bundle([2, 1, 1, 1] if lower else [2, 1, 1], [_Part("ENG", whole, "home")]),
        _Bundle([1, 1], [_Part("HIST", whole, "home")]),
        _Bundle([1, 1], [_Part("GEO", whole, "home")]),
        _Bundle([2, 1] if lower else [2], [_Part("PE", whole, "PE", teachers=1 if lower else 2)]),
        _Bundle([2], [_Part("ART", whole, "ART")]),
        _Bundle([1, 1] if lower else [1], [_Part("MUS", whole, "MUS")]),
        _Bundle([1], [_Part("REL", whole, "home")]),
    ]
    if not lower:
        out.append(_Bundle([1, 1], [_Part("ECON", whole, "home")]))
    return out


def _trim(bundles: list[_Bundle], budget: int) -> list[_Bundle]:
    """The bundles cut down to exactly ``budget`` periods (the last class of a school)."""
    out = []
    for b in sorted(bundles, key=lambda b: -len(b.parts)):
        if b.periods <= budget:
            out.append(b)
            budget -= b.periods
        elif len(b.parts) == 1 and budget > 0:
            blocks = []
            for n in sorted(b.blocks, reverse=True):
                n = min(n, budget - sum(blocks))
                if n > 0:
                    blocks.append(n)
            out.append(_Bundle(blocks, b.parts))
            budget -= sum(blocks)
    return out


def _class_specs(periods: int) -> list[_Class]:
    """Enough classes, years 7 to 12, to reach exactly ``periods`` periods a week."""
    # Classes come letter by letter (7A, 8A, ..., 12A, 7B, ...) so every school has every year.
    letters = math.ceil(periods / 30 / 6) + 1
    specs = []
    for k in range(letters):
        for year in range(7, 13):
            cid = f"{year}{chr(ord('A') + k)}"
            if year <= 9:
                langs = ["FR", "DE"] if k % 4 != 3 else ["FR", "ES"]
            elif year <= 11:
                langs = [["FR", "DE", "ES"][k % 3]]
            else:
                langs = ["ES"]
            specs.append(_Class(cid, year, halves=year <= 11, languages=langs))
    classes, total = [], 0
    for c in specs:
        if total >= periods:
            break
        bundles = _curriculum(c)
        size = sum(b.periods for b in bundles)
        if total + size > periods:
            bundles = _trim(bundles, periods - total)
            size = sum(b.periods for b in bundles)
        c.bundles = bundles
        if c.year == 12:
            # Year 12 leaves early on Fridays.
            c.blocked = {(4, 7), (4, 8)}
        classes.append(c)
        total += size
    return sorted(classes, key=lambda c: (c.year, c.id))


@dataclass
class _Staff:
    id: str
    name: str
    department: str
    part_time_day: int | None = None
    busy: set[Slot] = field(default_factory=set)

    @property
    def cap(self) -> int:
        return PART_TIME_LOAD if self.part_time_day is not None else FULL_TIME_LOAD

    def day_load(self, day: int) -> int:
        return sum(1 for s in self.busy if s[0] == day)


ATTEMPTS = 6
"""Existing teachers tried for a bundle before a new one is hired."""


def _team(bundle: _Bundle, staff: list[_Staff], attempt: int | None) -> list[list[_Staff]]:
    """Teachers for each part of a bundle: the ``attempt``-th busiest who has room, or a new hire."""
    load = sum(bundle.blocks)
    chosen: list[_Staff] = []
    team = []
    for part in bundle.parts:
        department = DEPARTMENT_OF[part.subject]
        teachers = []
        for _ in range(part.teachers):
            candidates = sorted(
                (
                    t
                    for t in staff
                    if t.department == department and t not in chosen and len(t.busy) + load <= t.cap
                ),
                key=lambda t: (-len(t.busy), t.id),
            )
            if attempt is not None and attempt < len(candidates):
                t = candidates[attempt]
            else:
                t = _Staff("", "", department)
            chosen.append(t)
            teachers.append(t)
        team.append(teachers)
    return team


def _place(
    busy: set[Slot], blocks: list[int], teachers: list[_Staff], rng: random.Random, apart: bool
) -> list[Slot] | None:
    """Start slots for the blocks where the class and every teacher are free, or None.

    With ``apart`` the blocks go on different days. Each block goes early in a lightly used day, with
    enough randomness that classes do not all share one shape (which would need a teacher per class
    at the same hour).
    """
    taken: set[Slot] = set()
    used_days: set[int] = set()
    starts = []
    for length in blocks:
        options = []
        for d in range(len(DAYS)):
            if apart and d in used_days:
                continue
            if any(t.part_time_day == d for t in teachers):
                continue
            today = sum(1 for s in taken if s[0] == d)
            if any(t.day_load(d) + today + length > TEACHER_MAX_PER_DAY for t in teachers):
                continue
            load = sum(1 for s in busy if s[0] == d) + today
            for run in RUNS:
                for k in range(len(run) - length + 1):
                    cells = run[k : k + length]
                    if any(
                        (d, p) in busy or (d, p) in taken or any((d, p) in t.busy for t in teachers)
                        for p in cells
                    ):
                        continue
                    options.append((load + 4 * rng.random(), d, run[k]))
                    break
        if not options:
            return None
        _, d, p = min(options)
        used_days.add(d)
        taken.update((d, q) for q in range(p, p + length))
        starts.append((d, p))
    return starts


def generate_demo(periods: int = 914, seed: int = 1) -> School:
    """A realistic school of exactly ``periods`` lesson periods a week; see ``demo_with_timetable``."""
    return demo_with_timetable(periods, seed)[0]


def demo_with_timetable(periods: int = 914, seed: int = 1) -> tuple[School, Timetable]:
    """A realistic school of exactly ``periods`` lesson periods a week, the same for the same seed.

    At 914 periods: about 24 classes (years 7 to 12), most split into halves for labs and into language
    groups, about 50 teachers (some part-time), home rooms plus labs, computer rooms, gyms, art and
    music rooms, double periods, and a realistic mix of hard and soft rules. A complete timetable
    keeping every hard rule exists by construction: it is returned too, as the second item. At 2,000
    periods: about 55 classes and 110 teachers.
    """
    if periods < 1:
        raise ValueError("a demo school needs at least 1 period")
    rng = random.Random(seed)
    calendar = Calendar(list(DAYS), list(PERIODS), [(d, LUNCH) for d in range(len(DAYS))])
    specs = _class_specs(periods)

    classes = [StudentClass(c.id, f"Class {c.id}", size=rng.randint(24, 30)) for c in specs]
    groups: list[Group] = []
    for c in specs:
        if c.halves:
            groups += [Group(f"{c.id}-{h}", c.id, f"{c.id} half {h}", division="half") for h in (1, 2)]
        if len(c.languages) > 1:
            groups += [
                Group(f"{c.id}-{lang}", c.id, f"{c.id} {SUBJECTS[lang][0]}", division="language")
                for lang in c.languages
            ]

    rooms: list[Room] = [Room(f"R{c.id}", f"Room {c.id}", capacity=32, building="Main") for c in specs]
    room_busy: dict[str, set[Slot]] = {r.id: set() for r in rooms}
    pools: dict[str, list[str]] = {kind: [] for kind in ROOM_PREFIX}

    def room_for(kind: str, cells: list[Slot]) -> str:
        for rid in pools[kind]:
            if not any(s in room_busy[rid] for s in cells):
                return rid
        n = len(pools[kind]) + 1
        rid = f"{ROOM_PREFIX[kind]}{n}"
        building = {"Gym": "Sports hall", "Lab": "Science wing", "Computer room": "Science wing"}.get(
            kind, "Main"
        )
        rooms.append(Room(rid, f"{kind} {n}", capacity=32, building=building))
        room_busy[rid] = set()
        pools[kind].append(rid)
        return rid

    surnames = list(SURNAMES)
    rng.shuffle(surnames)
    staff: list[_Staff] = []

    def hire(t: _Staff) -> None:
        n = len(staff)
        surname = surnames[n % len(surnames)]
        if n >= len(surnames):
            surname = f"{chr(ord('A') + n // len(surnames) - 1)}. {surname}"
        t.id = f"T{n + 1:03d}"
        t.name = f"{rng.choice(['Ms', 'Mr', 'Dr', 'Mrs'])} {surname}"
        free_days = [d for d in range(len(DAYS)) if not any(s[0] == d for s in t.busy)]
        if free_days and rng.random() < PART_TIME_SHARE:
            t.part_time_day = rng.choice(free_days)
        staff.append(t)

    # Bundles are placed round by round (every class's longest bundle first), so that a teacher picks
    # up the same kind of lesson in many classes, as in a real school.
    class_busy = {c.id: set(c.blocked) for c in specs}
    queue = []
    for ci, c in enumerate(specs):
        ranked = sorted(
            range(len(c.bundles)),
            key=lambda i: (-max(c.bundles[i].blocks), -len(c.bundles[i].blocks), rng.random()),
        )
        queue += [(rank, ci, bi) for rank, bi in enumerate(ranked)]
    placed: dict[tuple[int, int, int], tuple[list[_Staff], list[Slot], list[str], int]] = {}
    for _, ci, bi in sorted(queue):
        c, bundle = specs[ci], specs[ci].bundles[bi]
        result = None
        for attempt in range(ATTEMPTS + 1):
            team = _team(bundle, staff, attempt if attempt < ATTEMPTS else None)
            starts = _place(class_busy[c.id], bundle.blocks, [t for ts in team for t in ts], rng, True)
            if starts is not None:
                result = team, starts, 1
                break
        if result is None:
            # The class's week is too fragmented for blocks on different days: allow the same day.
            team = _team(bundle, staff, None)
            starts = _place(class_busy[c.id], bundle.blocks, [t for ts in team for t in ts], rng, False)
            if starts is None:
                raise RuntimeError(f"demo class {c.id} does not fit its week")
            result = team, starts, 0
        team, starts, apart = result
        cells_by_block = [[(d, p + k) for k in range(n)] for (d, p), n in zip(starts, bundle.blocks)]
        cells = [x for block in cells_by_block for x in block]
        class_busy[c.id].update(cells)
        for pi, (part, teachers) in enumerate(zip(bundle.parts, team)):
            for t in teachers:
                t.busy.update(cells)
                if not t.id:
                    hire(t)
            if part.rooms == "home":
                chosen = [f"R{c.id}"] * len(starts)
            elif part.rooms == "home+language":
                home_free = not any(x in room_busy[f"R{c.id}"] for x in cells)
                chosen = [f"R{c.id}" if home_free else room_for("Language room", cells)] * len(starts)
            else:
                chosen = [room_for(ROOM_KINDS[part.rooms], block) for block in cells_by_block]
            for rid, block in zip(chosen, cells_by_block):
                room_busy[rid].update(block)
            placed[ci, bi, pi] = teachers, starts, chosen, apart

    # Lesson ids follow the classes' order so that they read naturally (L1 is 7A's first lesson).
    lessons: list[Lesson] = []
    hidden: dict[str, list[tuple[Slot, str]]] = {}
    for key in sorted(placed):
        teachers, starts, chosen, apart = placed[key]
        c = specs[key[0]]
        bundle = c.bundles[key[1]]
        part = bundle.parts[key[2]]
        if part.rooms == "home":
            allowed = [f"R{c.id}"]
        elif part.rooms == "home+language":
            allowed = [f"R{c.id}", *pools["Language room"]]
        else:
            allowed = list(pools[ROOM_KINDS[part.rooms]])
        lesson = Lesson(
            id=f"L{len(lessons) + 1}",
            subject=part.subject,
            teachers=[t.id for t in teachers],
            groups=list(part.groups),
            blocks=list(bundle.blocks),
            min_days_apart=apart,
            rooms=allowed,
        )
        lessons.append(lesson)
        hidden[lesson.id] = list(zip(starts, chosen))

    teachers = [Teacher(t.id, t.name) for t in staff]
    subjects = [Subject(sid, name, color) for sid, (name, color) in SUBJECTS.items()]
    used_subjects = {x.subject for x in lessons}
    subjects = [s for s in subjects if s.id in used_subjects]

    rules = _rules(specs, staff, rooms, room_busy, lessons, hidden, rng)
    school = School(
        name=f"Demo school ({periods} periods, seed {seed})",
        calendar=calendar,
        subjects=subjects,
        teachers=teachers,
        classes=classes,
        groups=groups,
        rooms=rooms,
        lessons=lessons,
        rules=rules,
        meta={"generator": "solver.demo", "periods": periods, "seed": seed},
    )
    placements = [
        Placement(x.id, b, slot, x.blocks[b], room if x.rooms else None)
        for x in lessons
        for b, (slot, room) in enumerate(hidden[x.id])
    ]
    total = school.total_periods()
    return school, Timetable(placements=placements, placed=total, total=total, phase="demo", status="hidden")


def _rules(
    specs: list[_Class],
    staff: list[_Staff],
    rooms: list[Room],
    room_busy: dict[str, set[Slot]],
    lessons: list[Lesson],
    hidden: dict[str, list[tuple[Slot, str | None]]],
    rng: random.Random,
) -> list[Rule]:
    """Hard rules the hidden timetable keeps, and soft rules for the solver to optimise."""
    teaching = [(d, p) for d in range(len(DAYS)) for p in range(len(PERIODS)) if p != LUNCH]
    rules = [
        Rule(
            "teachers-max-per-day",
            "max_periods_per_day",
            "all_teachers",
            None,
            HARD,
            {"max": TEACHER_MAX_PER_DAY},
            note="No teacher teaches more than six periods a day.",
        ),
        Rule(
            "spread",
            "subject_spread",
            "all_groups",
            None,
            80,
            {"max_per_day": 1},
            note="Each subject at most once a day (strict balancing makes this hard).",
        ),
        Rule("teachers-gaps-day", "max_gaps_per_day", "all_teachers", None, 40, {"max": 2}),
        Rule("teachers-gaps-week", "max_gaps_per_week", "all_teachers", None, 20, {"max": 5}),
        Rule("students-gaps-day", "max_gaps_per_day", "all_groups", None, 60, {"max": 0}),
        Rule("teachers-min-days", "min_days_per_week", "all_teachers", None, 10, {"min": 3}),
        Rule(
            "maths-mornings",
            "preferred_times",
            "subject",
            "MATH",
            30,
            {"slots": [s for s in teaching if s[1] < LUNCH], "mode": "start"},
            note="Mathematics before lunch when possible.",
        ),
    ]
    for t in staff:
        if t.part_time_day is not None:
            rules.append(
                Rule(
                    f"day-off-{t.id}",
                    "unavailable",
                    "teacher",
                    t.id,
                    HARD,
                    {"slots": [s for s in teaching if s[0] == t.part_time_day]},
                    note=f"{t.name} works part-time.",
                )
            )
    # A few teachers with a standing meeting, kept free in the hidden timetable.
    full_time = [t for t in staff if t.part_time_day is None]
    for t in rng.sample(full_time, min(len(full_time), max(1, len(staff) // 10))):
        free = [s for s in teaching if s not in t.busy]
        slots = sorted(rng.sample(free, min(2, len(free))))
        rules.append(
            Rule(
                f"meeting-{t.id}",
                "unavailable",
                "teacher",
                t.id,
                HARD,
                {"slots": slots},
                note=f"{t.name} has department meetings.",
            )
        )
    # A few teachers prefer to end their day early.
    for t in rng.sample(staff, min(len(staff), max(1, len(staff) // 15))):
        rules.append(
            Rule(
                f"early-{t.id}",
                "preferred_times",
                "teacher",
                t.id,
                20,
                {"slots": [s for s in teaching if s[1] < 7], "mode": "all"},
                note=f"{t.name} prefers to finish by period 6.",
            )
        )
    for c in specs:
        if c.blocked:
            rules.append(
                Rule(
                    f"early-friday-{c.id}",
                    "unavailable",
                    "group",
                    c.id,
                    HARD,
                    {"slots": sorted(c.blocked)},
                    note=f"{c.id} leaves early on Fridays.",
                )
            )
    gyms = [r for r in rooms if r.id.startswith("GYM")]
    if gyms:
        gym = gyms[0]
        free = [s for s in teaching if s not in room_busy[gym.id]]
        if free:
            slots = sorted(rng.sample(free, min(3, len(free))))
            rules.append(
                Rule(
                    f"maintenance-{gym.id}",
                    "unavailable",
                    "room",
                    gym.id,
                    HARD,
                    {"slots": slots},
                    note=f"{gym.name} is being cleaned.",
                )
            )
    # Pin a few single-period lessons where the hidden timetable has them.
    singles = [x for x in lessons if len(x.blocks) == 1 and x.blocks[0] == 1]
    for lesson in rng.sample(singles, min(len(singles), max(1, len(specs) // 12))):
        slot, room = hidden[lesson.id][0]
        lesson.pinned = [Pin(0, slot, room if lesson.rooms else None)]
    return rules
