"""Write a timetable back into its FET file, and let ``fet-cl`` judge it.

``lock_fet`` adds, per active activity, a 100% preferred starting time (and a 100% preferred room when a
room was assigned) to the original file, leaving every byte of the original in place. ``verify_with_fet``
runs ``fet-cl`` on such a file: a valid, fully locked timetable is accepted in about a second, an invalid
one is searched for until the time limit, so success within the limit means FET accepts our timetable.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from ..domain import Placement, School, Timetable
from .xmlread import FetError, parse_fet_bytes

VERIFY_SECONDS = 30
"""A fully locked valid file is accepted in about a second; longer means FET is searching, i.e. rejects it."""
GRACE_SECONDS = 10
"""fet-cl 6.8.5 may keep running long after an interrupted search; it is killed this long after its limit."""

FET_OUTPUT_SWITCHES = [
    "--htmllevel=0",
    *(
        f"--{name}=false"
        for name in (
            "writetimetablesstatistics",
            "writetimetablesdayshorizontal",
            "writetimetablesdaysvertical",
            "writetimetablestimehorizontal",
            "writetimetablestimevertical",
            "writetimetablessubgroups",
            "writetimetablesgroups",
            "writetimetablesyears",
            "writetimetablesteachers",
            "writetimetablesteachersfreeperiods",
            "writetimetablesrooms",
            "writetimetablessubjects",
            "writetimetablesactivitytags",
            "writetimetablesactivities",
        )
    ),
    "--warnifusingnotperfectconstraints=false",
    "--warnifusingstudentsminhoursdailywithallowemptydays=false",
    "--warnifusinggroupactivitiesininitialorder=false",
    "--warnsubgroupswiththesameactivities=false",
    "--warnifusingactivitiesnotfixedtimefixedspacevirtualroomsrealrooms=false",
    "--warnifusingmaxhoursdailywithlessthan100percentweight=false",
]
"""Only the conflicts file and the result are needed; HTML timetables only cost time."""


class IncompleteTimetable(ValueError):
    """The timetable does not place every active activity, so it cannot be locked."""


def lock_fet(original: bytes, school: School, timetable: Timetable, source: str = "FET file") -> bytes:
    """The original FET file with every active activity locked at its placement.

    Refuses (``IncompleteTimetable``) when an active activity is not placed.
    """
    root = parse_fet_bytes(original, source)
    placements = {p.lesson: p for p in timetable.placements if p.block == 0}
    active = [x for x in school.lessons if x.enabled]
    missing = [x.id for x in active if x.id not in placements]
    if missing:
        shown = ", ".join(missing[:10]) + (" ..." if len(missing) > 10 else "")
        raise IncompleteTimetable(
            f"the timetable leaves {len(missing)} of {len(active)} active activities unplaced (ids {shown}); "
            "only a complete timetable can be locked. Solve again with a longer --time-limit."
        )
    if root.find("Time_Constraints_List") is None or root.find("Space_Constraints_List") is None:
        raise FetError(
            f"{source}: no <Time_Constraints_List> or <Space_Constraints_List> to add the locks to"
        )
    cal = school.calendar
    time_locks, space_locks = [], []
    for lesson in active:
        p = placements[lesson.id]
        time_locks.append(
            "<ConstraintActivityPreferredStartingTime>\n"
            "\t<Weight_Percentage>100</Weight_Percentage>\n"
            f"\t<Activity_Id>{escape(lesson.id)}</Activity_Id>\n"
            f"\t<Preferred_Day>{escape(cal.days[p.slot[0]])}</Preferred_Day>\n"
            f"\t<Preferred_Hour>{escape(cal.periods[p.slot[1]])}</Preferred_Hour>\n"
            "\t<Permanently_Locked>true</Permanently_Locked>\n"
            "\t<Active>true</Active>\n"
            "\t<Comments>locked by timetabler</Comments>\n"
            "</ConstraintActivityPreferredStartingTime>\n"
        )
        if p.room is not None:
            space_locks.append(
                "<ConstraintActivityPreferredRoom>\n"
                "\t<Weight_Percentage>100</Weight_Percentage>\n"
                f"\t<Activity_Id>{escape(lesson.id)}</Activity_Id>\n"
                f"\t<Room>{escape(p.room)}</Room>\n"
                + _real_room_locks(p.real_rooms)
                + "\t<Permanently_Locked>true</Permanently_Locked>\n"
                "\t<Active>true</Active>\n"
                "\t<Comments>locked by timetabler</Comments>\n"
                "</ConstraintActivityPreferredRoom>\n"
            )
    text = original.decode("utf-8")
    text = _insert_before(text, "</Time_Constraints_List>", "".join(time_locks), source)
    text = _insert_before(text, "</Space_Constraints_List>", "".join(space_locks), source)
    return text.encode("utf-8")


def _real_room_locks(names: list[str]) -> str:
    """The real rooms of a block in a virtual room, as FET 6 locks them (none: FET chooses)."""
    if not names:
        return ""
    listed = "".join(f"\t<Real_Room>{escape(r)}</Real_Room>\n" for r in names)
    return f"\t<Number_of_Real_Rooms>{len(names)}</Number_of_Real_Rooms>\n" + listed


def _insert_before(text: str, closing: str, addition: str, source: str) -> str:
    at = text.rfind(closing)
    if at < 0:
        # An empty list may be written as a self-closing tag.
        empty = closing.replace("</", "<").replace(">", " />")
        at = text.rfind(empty)
        if at < 0:
            raise FetError(f"{source}: cannot find {closing} to add the locks to")
        opening = empty.replace(" />", ">")
        return text[:at] + opening + "\n" + addition + closing + text[at + len(empty) :]
    return text[:at] + addition + text[at:]


@dataclass
class FetRun:
    """The outcome of one ``fet-cl`` run."""

    solved: bool
    seconds: float
    soft_conflicts: float | None = None
    broken_soft: int | None = None
    message: str = ""


def fet_cl() -> str:
    path = shutil.which("fet-cl")
    if path is None:
        raise FetError("fet-cl is not installed: install the Debian package 'fet' (apt-get install fet)")
    return path


def run_fet(path: str | Path, time_limit: float, keep: Path | None = None) -> FetRun:
    """Run ``fet-cl`` on a file in a temporary directory, bounded by its own limit and a process timeout."""
    path = Path(path).resolve()
    limit = max(1, round(time_limit))
    with tempfile.TemporaryDirectory(prefix="fet-run-") as tmp:
        out = Path(tmp) / "out"
        command = [fet_cl(), f"--inputfile={path}", f"--outputdir={out}", f"--timelimitseconds={limit}"]
        started = time.perf_counter()
        try:
            result = subprocess.run(
                command + FET_OUTPUT_SWITCHES,
                cwd=tmp,
                stdin=subprocess.DEVNULL,
                capture_output=True,
                check=False,
                text=True,
                timeout=limit + GRACE_SECONDS,
                errors="replace",
            )
            log = result.stdout + result.stderr
        except subprocess.TimeoutExpired:
            return FetRun(False, float(limit), message=f"no timetable within {limit} s (fet-cl was stopped)")
        solved = "Simulation successful" in log
        seconds = time.perf_counter() - started if solved else float(limit)
        run = FetRun(solved, seconds, message=_last_line(log))
        conflicts = next(out.glob("timetables/*/*_soft_conflicts.txt"), None) if solved else None
        if conflicts is not None:
            text = conflicts.read_text(encoding="utf-8", errors="replace")
            total = re.search(r"Total soft conflicts:\s*([\d.]+)", text)
            broken = re.search(r"Number of broken soft constraints:\s*(\d+)", text)
            run.soft_conflicts = float(total.group(1)) if total else None
            run.broken_soft = int(broken.group(1)) if broken else None
            if keep is not None:
                shutil.copy(conflicts, keep)
        return run


def _last_line(log: str) -> str:
    lines = [x.strip() for x in log.splitlines() if x.strip()]
    return lines[-1] if lines else ""


def verify_with_fet(locked: str | Path, time_limit: float = VERIFY_SECONDS) -> FetRun:
    """Run ``fet-cl`` on a locked file: ``solved`` means FET accepts the timetable."""
    return run_fet(locked, time_limit)


def read_fet_timetable(data: bytes, school: School, source: str = "FET file") -> Timetable:
    """The timetable FET wrote into a ``*_data_and_timetable.fet`` file (its 100% starting times and rooms).

    Lets our checker judge FET's own timetables.
    """
    root = parse_fet_bytes(data, source)
    days = {d: i for i, d in enumerate(school.calendar.days)}
    hours = {h: i for i, h in enumerate(school.calendar.periods)}
    lessons = school.lesson_by_id
    starts: dict[str, tuple[int, int]] = {}
    rooms: dict[str, str] = {}
    real_rooms: dict[str, list[str]] = {}
    for el in root.iter("ConstraintActivityPreferredStartingTime"):
        act = (el.findtext("Activity_Id") or "").strip()
        day, hour = el.findtext("Preferred_Day") or "", el.findtext("Preferred_Hour") or ""
        weight = float(el.findtext("Weight_Percentage") or 0)
        if act in lessons and day in days and hour in hours and weight >= 100:
            starts[act] = (days[day], hours[hour])
    for el in root.iter("ConstraintActivityPreferredRoom"):
        act = (el.findtext("Activity_Id") or "").strip()
        if act in lessons and float(el.findtext("Weight_Percentage") or 0) >= 100:
            rooms[act] = el.findtext("Room") or ""
            real_rooms[act] = [(r.text or "").strip() for r in el.findall("Real_Room")]
    placements = [
        Placement(act, 0, slot, lessons[act].blocks[0], rooms.get(act), real_rooms.get(act, []))
        for act, slot in starts.items()
        if lessons[act].enabled
    ]
    placed = sum(p.length for p in placements)
    return Timetable(placements=placements, placed=placed, total=school.total_periods(), status="fet")
