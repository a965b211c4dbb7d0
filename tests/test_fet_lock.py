"""lock-fet: our timetables written back into the FET file and judged by fet-cl."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
from conftest import require_system

from solver.__main__ import main
from solver.checker import check
from solver.domain import Timetable
from solver.fet import import_fet
from solver.fet.lock import IncompleteTimetable, lock_fet, read_fet_timetable, run_fet
from solver.io import save_timetable
from solver.solve import SolveOptions, solve

TINY = Path(__file__).parent / "data" / "fet" / "tiny.fet"
RULES = """<ConstraintMinDaysBetweenActivities><Weight_Percentage>100</Weight_Percentage>
<Consecutive_If_Same_Day>true</Consecutive_If_Same_Day><Number_of_Activities>3</Number_of_Activities>
<Activity_Id>1</Activity_Id><Activity_Id>2</Activity_Id><Activity_Id>3</Activity_Id><MinDays>1</MinDays>
<Active>true</Active><Comments></Comments></ConstraintMinDaysBetweenActivities>
<ConstraintStudentsMaxGapsPerWeek><Weight_Percentage>100</Weight_Percentage><Max_Gaps>0</Max_Gaps>
<Active>true</Active><Comments></Comments></ConstraintStudentsMaxGapsPerWeek>
<ConstraintTeacherNotAvailableTimes><Weight_Percentage>100</Weight_Percentage><Teacher>T1</Teacher>
<Number_of_Not_Available_Times>1</Number_of_Not_Available_Times><Not_Available_Time><Day>Mon</Day>
<Hour>h1</Hour></Not_Available_Time><Active>true</Active><Comments></Comments></ConstraintTeacherNotAvailableTimes>
<ConstraintActivitiesPreferredTimeSlots><Weight_Percentage>90</Weight_Percentage><Teacher_Name>T2</Teacher_Name>
<Students_Name></Students_Name><Subject_Name></Subject_Name><Activity_Tag_Name></Activity_Tag_Name>
<Duration></Duration><Number_of_Preferred_Time_Slots>1</Number_of_Preferred_Time_Slots><Preferred_Time_Slot>
<Preferred_Day>Tue</Preferred_Day><Preferred_Hour>h2</Preferred_Hour></Preferred_Time_Slot><Active>true</Active>
<Comments></Comments></ConstraintActivitiesPreferredTimeSlots>
</Time_Constraints_List>"""
SPACE = """<ConstraintSubjectPreferredRooms><Weight_Percentage>100</Weight_Percentage><Subject>Art</Subject>
<Number_of_Preferred_Rooms>2</Number_of_Preferred_Rooms><Preferred_Room>R1</Preferred_Room>
<Preferred_Room>R2</Preferred_Room><Active>true</Active><Comments></Comments></ConstraintSubjectPreferredRooms>
</Space_Constraints_List>"""


@pytest.fixture
def school_file(tmp_path) -> Path:
    text = TINY.read_text(encoding="utf-8")
    text = text.replace("</Time_Constraints_List>", RULES).replace("</Space_Constraints_List>", SPACE)
    path = tmp_path / "school.fet"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.system
def test_solved_timetable_is_verified_by_fet(school_file, tmp_path):
    require_system("fet-cl", "fet")
    school = import_fet(school_file)
    timetable = solve(school, SolveOptions(time_limit=10, strict_balancing=False, stall_seconds=1))
    assert timetable.complete and check(school, timetable).ok
    assert all(p.room in ("R1", "R2") for p in timetable.placements if p.lesson in ("4", "5"))
    locked = tmp_path / "locked.fet"
    locked.write_bytes(lock_fet(school_file.read_bytes(), school, timetable))
    text = locked.read_text(encoding="utf-8")
    assert text.count("locked by timetabler") == 8 + 2  # 8 active activities, 2 with a room
    assert text.startswith(school_file.read_text(encoding="utf-8")[:200])
    run = run_fet(locked, 30)
    assert run.solved, run.message
    assert run.soft_conflicts is not None


@pytest.mark.system
def test_fet_rejects_a_broken_timetable(school_file, tmp_path):
    """The judge is not a rubber stamp: a timetable with a teacher clash is not accepted."""
    require_system("fet-cl", "fet")
    school = import_fet(school_file)
    timetable = solve(school, SolveOptions(time_limit=10, strict_balancing=False, stall_seconds=1))
    by_lesson = {p.lesson: p for p in timetable.placements}
    by_lesson["2"].slot = by_lesson["1"].slot  # teacher T1 twice at once
    locked = tmp_path / "broken.fet"
    locked.write_bytes(lock_fet(school_file.read_bytes(), school, timetable))
    assert not run_fet(locked, 1).solved


@pytest.mark.system
def test_fet_timetable_passes_our_checker(school_file, tmp_path):
    """FET's own timetable, read back from its output file, breaks none of our hard rules."""
    require_system("fet-cl", "fet")
    school = import_fet(school_file)
    timetable = solve(school, SolveOptions(time_limit=10, strict_balancing=False, stall_seconds=1))
    locked = tmp_path / "locked.fet"
    locked.write_bytes(lock_fet(school_file.read_bytes(), school, timetable))
    again = read_fet_timetable(locked.read_bytes(), school)
    assert again.complete
    assert check(school, again).ok


def test_incomplete_timetable_is_refused(school_file, tmp_path, capsys):
    school = import_fet(school_file)
    with pytest.raises(IncompleteTimetable, match="8 active activities unplaced"):
        lock_fet(school_file.read_bytes(), school, Timetable())
    empty = tmp_path / "empty.json"
    save_timetable(Timetable(total=school.total_periods()), school, empty)
    code = main(["lock-fet", str(school_file), str(empty), "-o", str(tmp_path / "locked.fet")])
    assert code == 2
    err = capsys.readouterr().err
    assert "only a complete timetable can be locked" in err and "Traceback" not in err
    assert not (tmp_path / "locked.fet").exists()


@pytest.mark.system
def test_lock_command_with_verification(school_file, tmp_path, capsys):
    require_system("fet-cl", "fet")
    school = import_fet(school_file)
    timetable = solve(school, SolveOptions(time_limit=10, strict_balancing=False, stall_seconds=1))
    saved = tmp_path / "timetable.json"
    save_timetable(timetable, school, saved)
    out = tmp_path / "locked.fet"
    assert main(["lock-fet", str(school_file), str(saved), "-o", str(out), "--verify"]) == 0
    assert "Verified by FET" in capsys.readouterr().out


HALLS = """<Room><Name>Halls</Name><Building></Building><Capacity>60</Capacity><Virtual>true</Virtual>
<Number_of_Sets_of_Real_Rooms>2</Number_of_Sets_of_Real_Rooms>
<Set_of_Real_Rooms><Number_of_Real_Rooms>2</Number_of_Real_Rooms><Real_Room>R1</Real_Room><Real_Room>R2</Real_Room></Set_of_Real_Rooms>
<Set_of_Real_Rooms><Number_of_Real_Rooms>2</Number_of_Real_Rooms><Real_Room>R2</Real_Room><Real_Room>R3</Real_Room></Set_of_Real_Rooms>
<Comments></Comments></Room>
</Rooms_List>"""
SPORT = """<ConstraintSubjectPreferredRoom><Weight_Percentage>100</Weight_Percentage><Subject>Sport</Subject>
<Room>Halls</Room><Active>true</Active><Comments></Comments></ConstraintSubjectPreferredRoom>
</Space_Constraints_List>"""


@pytest.fixture
def virtual_room_file(tmp_path) -> Path:
    """The tiny school with art in R1 or R2, and sport in a virtual room: one of R1 and R2, and one of R2
    and R3."""
    text = TINY.read_text(encoding="utf-8").replace("</Space_Constraints_List>", SPACE)
    text = text.replace("</Rooms_List>", HALLS).replace("</Space_Constraints_List>", SPORT)
    path = tmp_path / "halls.fet"
    path.write_text(text, encoding="utf-8")
    return path


def test_virtual_rooms_are_imported_as_combined_rooms(virtual_room_file):
    school = import_fet(virtual_room_file)
    assert school.room("Halls").real_rooms == [["R1", "R2"], ["R2", "R3"]]
    assert school.room("R1").real_rooms == []
    notes = school.meta["import_report"]["notes"]
    assert any("1 virtual room(s) (Halls) imported as combined rooms" in n for n in notes)


@pytest.mark.system
def test_virtual_rooms_are_solved_locked_and_verified_by_fet(virtual_room_file, tmp_path):
    require_system("fet-cl", "fet")
    school = import_fet(virtual_room_file)
    assert school.room("Halls").real_rooms == [["R1", "R2"], ["R2", "R3"]]
    timetable = solve(school, SolveOptions(time_limit=10, strict_balancing=False, stall_seconds=1))
    assert timetable.complete and check(school, timetable).ok
    sport = [p for p in timetable.placements if p.lesson in ("6", "7")]
    assert all(p.room == "Halls" and len(set(p.real_rooms)) == 2 for p in sport)
    locked = tmp_path / "locked.fet"
    locked.write_bytes(lock_fet(virtual_room_file.read_bytes(), school, timetable))
    text = locked.read_text(encoding="utf-8")
    assert text.count("<Number_of_Real_Rooms>2</Number_of_Real_Rooms>\n\t<Real_Room>") == 2
    run = run_fet(locked, 30)
    assert run.solved, run.message
    # FET's own timetable names the real rooms too, and our checker accepts it.
    again = read_fet_timetable(locked.read_bytes(), school)
    assert [p.real_rooms for p in again.placements if p.lesson in ("6", "7")] == [p.real_rooms for p in sport]
    assert check(school, again).ok


@pytest.mark.system
def test_fet_rejects_real_rooms_taken_twice(virtual_room_file, tmp_path):
    """An art lesson moved to a sports lesson's time, into one of its real rooms: the only rule broken is
    that room's clash, and we and FET both refuse it."""
    require_system("fet-cl", "fet")
    school = import_fet(virtual_room_file)
    timetable = solve(school, SolveOptions(time_limit=10, strict_balancing=False, stall_seconds=1))
    broken = None
    for sport, art in [(s, a) for s in ("6", "7") for a in ("4", "5")]:
        moved = copy.deepcopy(timetable)
        by_lesson = {p.lesson: p for p in moved.placements}
        by_lesson[art].slot = by_lesson[sport].slot
        by_lesson[art].room = next(r for r in by_lesson[sport].real_rooms if r in ("R1", "R2"))
        if {v.rule for v in check(school, moved).hard} == {"room_clash"}:
            broken = moved
            break
    assert broken is not None
    locked = tmp_path / "broken.fet"
    locked.write_bytes(lock_fet(virtual_room_file.read_bytes(), school, broken))
    assert not run_fet(locked, 1).solved


FIXED = """<ConstraintActivityPreferredRoom><Weight_Percentage>100</Weight_Percentage><Activity_Id>7</Activity_Id>
<Room>Halls</Room><Number_of_Real_Rooms>2</Number_of_Real_Rooms><Real_Room>R3</Real_Room><Real_Room>R1</Real_Room>
<Permanently_Locked>false</Permanently_Locked><Active>true</Active><Comments></Comments></ConstraintActivityPreferredRoom>
</Space_Constraints_List>"""


@pytest.mark.system
def test_real_rooms_fixed_by_the_file_are_kept(virtual_room_file, tmp_path):
    """A preferred virtual room naming its real rooms, in any order (R3 is only in the second set): the
    activity takes exactly those, and fet-cl accepts the lock beside the file's own."""
    require_system("fet-cl", "fet")
    path = tmp_path / "fixed.fet"
    path.write_text(virtual_room_file.read_text(encoding="utf-8").replace("</Space_Constraints_List>", FIXED))
    school = import_fet(path)
    assert school.lesson_by_id["7"].real_rooms == ["R3", "R1"]
    timetable = solve(school, SolveOptions(time_limit=10, strict_balancing=False, stall_seconds=1))
    assert timetable.complete and check(school, timetable).ok
    assert next(p.real_rooms for p in timetable.placements if p.lesson == "7") == ["R1", "R3"]
    locked = tmp_path / "locked.fet"
    locked.write_bytes(lock_fet(path.read_bytes(), school, timetable))
    run = run_fet(locked, 30)
    assert run.solved, run.message
