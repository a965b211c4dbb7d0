"""Every supported FET constraint type on the tiny hand-made school: a placement that satisfies it and one
that violates it, judged by our checker; the satisfying one is also accepted by fet-cl once locked, and
our engine solves the school without breaking a hard rule."""

from __future__ import annotations

from pathlib import Path

import pytest
from conftest import require_system
from ortools.sat.python import cp_model

from solver.checker import check
from solver.domain import Placement, Timetable
from solver.fet import import_report
from solver.fet.importer import FetImporter
from solver.fet.lock import lock_fet, run_fet
from solver.fet.xmlread import parse_fet_bytes
from solver.model import BuildOptions, TimetableModel
from solver.solve import SolveOptions, solve

TINY = Path(__file__).parent / "data" / "fet" / "tiny.fet"

BASE = {
    "1": ("Mon", "h1"),
    "2": ("Tue", "h1"),
    "3": ("Wed", "h1"),
    "4": ("Mon", "h2"),
    "5": ("Mon", "h2"),
    "6": ("Mon", "h1"),
    "7": ("Tue", "h1"),
    "8": ("Wed", "h3"),
}
"""A clash-free placement of the tiny school's active activities (day, hour[, room])."""


def _times(tag: str, slots: list[tuple[str, str]], item: str, day: str, hour: str) -> str:
    inner = "".join(f"<{item}><{day}>{d}</{day}><{hour}>{h}</{hour}></{item}>" for d, h in slots)
    return f"<Number_of_{tag}>{len(slots)}</Number_of_{tag}>{inner}"


def not_available(slots):
    return _times("Not_Available_Times", slots, "Not_Available_Time", "Day", "Hour")


def starting(slots):
    return _times(
        "Preferred_Starting_Times",
        slots,
        "Preferred_Starting_Time",
        "Preferred_Starting_Day",
        "Preferred_Starting_Hour",
    )


def time_slots(slots):
    return _times("Preferred_Time_Slots", slots, "Preferred_Time_Slot", "Preferred_Day", "Preferred_Hour")


def selected(slots):
    return _times("Selected_Time_Slots", slots, "Selected_Time_Slot", "Selected_Day", "Selected_Hour")


def acts(*ids: str) -> str:
    return f"<Number_of_Activities>{len(ids)}</Number_of_Activities>" + "".join(
        f"<Activity_Id>{i}</Activity_Id>" for i in ids
    )


def rooms(*names: str) -> str:
    return f"<Number_of_Preferred_Rooms>{len(names)}</Number_of_Preferred_Rooms>" + "".join(
        f"<Preferred_Room>{n}</Preferred_Room>" for n in names
    )


FILTER = (
    "<Teacher_Name>{t}</Teacher_Name><Students_Name>{s}</Students_Name><Subject_Name>{su}</Subject_Name>"
    "<Activity_Tag_Name>{tag}</Activity_Tag_Name><Duration></Duration>"
)


def filt(t: str = "", s: str = "", su: str = "", tag: str = "") -> str:
    return FILTER.format(t=t, s=s, su=su, tag=tag)


# (FET type, weight, body, overrides making it hold, overrides breaking it)
CASES = [
    ("BasicCompulsoryTime", 100, "", {}, {"2": ("Mon", "h1")}),
    (
        "MinDaysBetweenActivities",
        100,
        acts("1", "2", "3") + "<MinDays>1</MinDays><Consecutive_If_Same_Day>true</Consecutive_If_Same_Day>",
        {},
        {"2": ("Mon", "h3")},
    ),
    (
        "MinDaysBetweenActivities",
        95,
        acts("1", "2") + "<MinDays>1</MinDays><Consecutive_If_Same_Day>true</Consecutive_If_Same_Day>",
        {},
        {"2": ("Mon", "h3")},
    ),
    (
        "TeacherNotAvailableTimes",
        100,
        "<Teacher>T1</Teacher>" + not_available([("Mon", "h4")]),
        {},
        {"1": ("Mon", "h4")},
    ),
    (
        "BreakTimes",
        100,
        _times("Break_Times", [("Mon", "h5")], "Break_Time", "Day", "Hour"),
        {},
        {"1": ("Mon", "h5")},
    ),
    (
        "ActivityPreferredStartingTime",
        100,
        (
            "<Activity_Id>1</Activity_Id><Preferred_Day>Mon</Preferred_Day>"
            "<Preferred_Hour>h1</Preferred_Hour><Permanently_Locked>true</Permanently_Locked>"
        ),
        {},
        {"1": ("Mon", "h3")},
    ),
    (
        "StudentsSetNotAvailableTimes",
        100,
        "<Students>Y1-A</Students>" + not_available([("Tue", "h5")]),
        {"5": ("Tue", "h5")},
        {"4": ("Tue", "h5")},
    ),
    (
        "SubjectPreferredRoom",
        100,
        "<Subject>Art</Subject><Room>R1</Room>",
        {"4": ("Mon", "h2", "R1"), "5": ("Mon", "h3", "R1")},
        {"4": ("Mon", "h2", "R2"), "5": ("Mon", "h3", "R1")},
    ),
    (
        "ActivitiesPreferredStartingTimes",
        100,
        filt(su="Sport") + starting([("Mon", "h1"), ("Tue", "h1")]),
        {},
        {"7": ("Tue", "h2")},
    ),
    (
        "ActivitiesPreferredTimeSlots",
        100,
        filt(t="T3")
        + time_slots(
            [("Mon", "h1"), ("Mon", "h2"), ("Mon", "h3"), ("Tue", "h1"), ("Tue", "h2"), ("Wed", "h3")]
        ),
        {},
        {"7": ("Tue", "h2")},
    ),
    (
        "TeacherMaxDaysPerWeek",
        100,
        "<Teacher_Name>T1</Teacher_Name><Max_Days_Per_Week>2</Max_Days_Per_Week>",
        {"2": ("Mon", "h3")},
        {},
    ),
    ("StudentsMaxGapsPerWeek", 100, "<Max_Gaps>0</Max_Gaps>", {}, {"4": ("Mon", "h3")}),
    (
        "ActivityPreferredRoom",
        100,
        ("<Activity_Id>6</Activity_Id><Room>R3</Room><Permanently_Locked>true</Permanently_Locked>"),
        {"6": ("Mon", "h1", "R3")},
        {"6": ("Mon", "h1", "R1")},
    ),
    ("TeachersMaxGapsPerWeek", 100, "<Max_Gaps>0</Max_Gaps>", {}, {"4": ("Mon", "h3")}),
    (
        "RoomNotAvailableTimes",
        100,
        "<Room>R1</Room>" + not_available([("Mon", "h1")]),
        {"6": ("Mon", "h1", "R2")},
        {"6": ("Mon", "h1", "R1")},
    ),
    (
        "SubjectPreferredRooms",
        100,
        "<Subject>Sport</Subject>" + rooms("R2", "R3"),
        {"6": ("Mon", "h1", "R2"), "7": ("Tue", "h1", "R3")},
        {"6": ("Mon", "h1", "R1"), "7": ("Tue", "h1", "R3")},
    ),
    ("ActivitiesSameStartingTime", 100, acts("4", "5"), {}, {"5": ("Mon", "h3")}),
    ("TeachersMaxHoursDaily", 100, "<Maximum_Hours_Daily>2</Maximum_Hours_Daily>", {}, {"8": ("Mon", "h3")}),
    (
        "StudentsEarlyMaxBeginningsAtSecondHour",
        100,
        "<Max_Beginnings_At_Second_Hour>1</Max_Beginnings_At_Second_Hour>",
        {"3": ("Wed", "h2"), "8": ("Wed", "h1")},
        {},
    ),
    (
        "TeacherMaxHoursDaily",
        100,
        "<Teacher_Name>T2</Teacher_Name><Maximum_Hours_Daily>2</Maximum_Hours_Daily>",
        {},
        {"8": ("Mon", "h3")},
    ),
    (
        "TeacherHomeRoom",
        100,
        "<Teacher>T1</Teacher><Room>R1</Room>",
        {"1": ("Mon", "h1", "R1"), "2": ("Tue", "h1", "R1"), "3": ("Wed", "h1", "R1")},
        {"1": ("Mon", "h1", "R2"), "2": ("Tue", "h1", "R1"), "3": ("Wed", "h1", "R1")},
    ),
    (
        "ActivityPreferredStartingTimes",
        100,
        "<Activity_Id>7</Activity_Id>" + starting([("Tue", "h1"), ("Wed", "h1")]),
        {},
        {"7": ("Tue", "h2")},
    ),
    (
        "ActivityPreferredTimeSlots",
        100,
        "<Activity_Id>7</Activity_Id>" + time_slots([("Tue", "h1"), ("Tue", "h2")]),
        {},
        {"7": ("Tue", "h2")},
    ),
    (
        "TeacherMinHoursDaily",
        100,
        (
            "<Teacher_Name>T2</Teacher_Name><Minimum_Hours_Daily>2</Minimum_Hours_Daily>"
            "<Allow_Empty_Days>true</Allow_Empty_Days>"
        ),
        {"8": ("Mon", "h3")},
        {},
    ),
    (
        "TeacherMaxGapsPerWeek",
        100,
        "<Teacher_Name>T2</Teacher_Name><Max_Gaps>0</Max_Gaps>",
        {},
        {"4": ("Mon", "h3")},
    ),
    ("TeachersMaxGapsPerDay", 100, "<Max_Gaps>0</Max_Gaps>", {}, {"4": ("Mon", "h3")}),
    (
        "StudentsSetMinHoursDaily",
        100,
        (
            "<Minimum_Hours_Daily>2</Minimum_Hours_Daily><Students>Y2</Students>"
            "<Allow_Empty_Days>true</Allow_Empty_Days>"
        ),
        {"6": ("Tue", "h3"), "8": ("Tue", "h4")},
        {},
    ),
    (
        "TwoActivitiesConsecutive",
        100,
        "<First_Activity_Id>1</First_Activity_Id><Second_Activity_Id>4</Second_Activity_Id>",
        {},
        {"4": ("Mon", "h3")},
    ),
    ("ActivitiesNotOverlapping", 100, acts("4", "5"), {"5": ("Mon", "h3")}, {}),
    (
        "TeachersMinHoursDaily",
        100,
        "<Minimum_Hours_Daily>2</Minimum_Hours_Daily><Allow_Empty_Days>true</Allow_Empty_Days>",
        {"2": ("Mon", "h2"), "4": ("Mon", "h3"), "5": ("Mon", "h3"), "8": ("Mon", "h4")},
        {},
    ),
    (
        "ActivityPreferredRooms",
        100,
        "<Activity_Id>6</Activity_Id>" + rooms("R2", "R3"),
        {"6": ("Mon", "h1", "R2")},
        {"6": ("Mon", "h1", "R1")},
    ),
    (
        "StudentsSetHomeRoom",
        100,
        "<Students>Y2</Students><Room>R3</Room>",
        {"6": ("Mon", "h1", "R3"), "7": ("Tue", "h1", "R3")},
        {"6": ("Mon", "h1", "R1"), "7": ("Tue", "h1", "R3")},
    ),
    (
        "StudentsMinHoursDaily",
        100,
        "<Minimum_Hours_Daily>1</Minimum_Hours_Daily><Allow_Empty_Days>false</Allow_Empty_Days>",
        {},
        None,
    ),
    (
        "StudentsMinHoursDaily",
        100,
        "<Minimum_Hours_Daily>2</Minimum_Hours_Daily><Allow_Empty_Days>false</Allow_Empty_Days>",
        None,
        {},
    ),
    (
        "StudentsSetMaxGapsPerWeek",
        100,
        "<Max_Gaps>0</Max_Gaps><Students>Y1-A</Students>",
        {},
        {"4": ("Mon", "h3")},
    ),
    (
        "ActivityTagPreferredRooms",
        100,
        "<Activity_Tag>Lab</Activity_Tag>" + rooms("R1", "R2"),
        {"4": ("Mon", "h2", "R1"), "5": ("Mon", "h2", "R2")},
        {"4": ("Mon", "h2", "R3"), "5": ("Mon", "h2", "R2")},
    ),
    (
        "SubjectActivityTagPreferredRoom",
        100,
        "<Subject>Art</Subject><Activity_Tag>Lab</Activity_Tag><Room>R1</Room>",
        {"4": ("Mon", "h2", "R1"), "5": ("Mon", "h3", "R1")},
        {"4": ("Mon", "h2", "R2"), "5": ("Mon", "h3", "R1")},
    ),
    (
        "TeachersMaxHoursContinuously",
        100,
        "<Maximum_Hours_Continuously>2</Maximum_Hours_Continuously>",
        {},
        {"5": ("Tue", "h3")},
    ),
    (
        "TwoActivitiesGrouped",
        100,
        "<First_Activity_Id>6</First_Activity_Id><Second_Activity_Id>4</Second_Activity_Id>",
        {},
        {"4": ("Mon", "h3")},
    ),
    (
        "TeacherMaxGapsPerDay",
        100,
        "<Teacher_Name>T2</Teacher_Name><Max_Gaps>0</Max_Gaps>",
        {},
        {"4": ("Mon", "h3")},
    ),
    (
        "TeachersMaxDaysPerWeek",
        100,
        "<Max_Days_Per_Week>2</Max_Days_Per_Week>",
        {"2": ("Mon", "h3"), "5": ("Tue", "h3")},
        {},
    ),
    (
        "TeacherHomeRooms",
        100,
        "<Teacher>T1</Teacher>" + rooms("R1", "R2"),
        {"1": ("Mon", "h1", "R1"), "2": ("Tue", "h1", "R2"), "3": ("Wed", "h1", "R1")},
        {"1": ("Mon", "h1", "R3"), "2": ("Tue", "h1", "R2"), "3": ("Wed", "h1", "R1")},
    ),
    (
        "TeacherMaxHoursContinuously",
        100,
        ("<Teacher_Name>T3</Teacher_Name><Maximum_Hours_Continuously>2</Maximum_Hours_Continuously>"),
        {},
        {"5": ("Tue", "h3")},
    ),
    ("ActivityEndsStudentsDay", 100, "<Activity_Id>4</Activity_Id>", {}, {"8": ("Mon", "h3")}),
    (
        "StudentsSetMaxHoursDaily",
        100,
        "<Maximum_Hours_Daily>2</Maximum_Hours_Daily><Students>Y2</Students>",
        {},
        {"6": ("Tue", "h3")},
    ),
    (
        "StudentsMaxHoursDaily",
        100,
        "<Maximum_Hours_Daily>3</Maximum_Hours_Daily>",
        {},
        {"2": ("Mon", "h3"), "8": ("Mon", "h4")},
    ),
    (
        "SubactivitiesPreferredTimeSlots",
        100,
        "<Component_Number>1</Component_Number>" + filt(t="T1", su="Math") + time_slots([("Mon", "h1")]),
        {},
        {"1": ("Tue", "h3")},
    ),
    (
        "TeacherIntervalMaxDaysPerWeek",
        100,
        (
            "<Teacher_Name>T1</Teacher_Name><Interval_Start_Hour>h1"
            "</Interval_Start_Hour><Interval_End_Hour>h3</Interval_End_Hour><Max_Days_Per_Week>2</Max_Days_Per_Week>"
        ),
        {"2": ("Tue", "h3")},
        {},
    ),
    (
        "StudentsSetEarlyMaxBeginningsAtSecondHour",
        100,
        ("<Max_Beginnings_At_Second_Hour>0</Max_Beginnings_At_Second_Hour><Students>Y2</Students>"),
        {"3": ("Wed", "h2"), "8": ("Wed", "h1")},
        {},
    ),
    (
        "ActivityTagPreferredRoom",
        100,
        "<Activity_Tag>Lecture</Activity_Tag><Room>R3</Room>",
        {"6": ("Mon", "h1", "R3")},
        {"6": ("Mon", "h1", "R2")},
    ),
    (
        "TeachersMaxBuildingChangesPerDay",
        100,
        "<Max_Building_Changes_Per_Day>0</Max_Building_Changes_Per_Day>",
        {"6": ("Mon", "h1", "R1"), "4": ("Mon", "h2", "R2")},
        {"6": ("Mon", "h1", "R3"), "4": ("Mon", "h2", "R1")},
    ),
    ("ActivitiesSameStartingDay", 100, acts("1", "6"), {}, {"6": ("Tue", "h3")}),
    (
        "TeacherMinDaysPerWeek",
        100,
        "<Teacher_Name>T2</Teacher_Name><Minimum_Days_Per_Week>3</Minimum_Days_Per_Week>",
        {"6": ("Tue", "h3")},
        {},
    ),
    (
        "StudentsSetMaxHoursDaily",
        90,
        "<Maximum_Hours_Daily>2</Maximum_Hours_Daily><Students>Y2</Students>",
        {},
        {"6": ("Tue", "h3")},
    ),
    (
        "ActivityPreferredRoom",
        80,
        ("<Activity_Id>6</Activity_Id><Room>R3</Room><Permanently_Locked>false</Permanently_Locked>"),
        {"6": ("Mon", "h1", "R3")},
        {"6": ("Mon", "h1", "R1")},
    ),
]
THREE = (
    "<First_Activity_Id>8</First_Activity_Id><Second_Activity_Id>6</Second_Activity_Id>"
    "<Third_Activity_Id>4</Third_Activity_Id>"
)
CASES += [
    ("ThreeActivitiesGrouped", 100, THREE, {"8": ("Mon", "h3")}, {}),
    # On one day, but a free period splits the run.
    ("ThreeActivitiesGrouped", 90, THREE, {"8": ("Mon", "h3")}, {"8": ("Mon", "h4")}),
    (
        "ActivitiesOccupyMaxDifferentRooms",
        100,
        acts("1", "2") + "<Max_Number_of_Different_Rooms>1</Max_Number_of_Different_Rooms>",
        {"1": ("Mon", "h1", "R1"), "2": ("Tue", "h1", "R1")},
        {"1": ("Mon", "h1", "R1"), "2": ("Tue", "h1", "R2")},
    ),
    # Spans and rests count breaks as FET does (see the tests below).
    (
        "TeacherMaxSpanPerDay",
        100,
        (
            "<Teacher_Name>T2</Teacher_Name><Max_Span>2</Max_Span>"
            "<Allow_One_Day_Exception_of_Plus_One>false</Allow_One_Day_Exception_of_Plus_One>"
        ),
        {},
        {"4": ("Mon", "h3")},
    ),
    # Every teacher has one day of two periods' span, the one day allowed one more.
    (
        "TeachersMaxSpanPerDay",
        100,
        "<Max_Span>1</Max_Span><Allow_One_Day_Exception_of_Plus_One>true</Allow_One_Day_Exception_of_Plus_One>",
        {},
        {"4": ("Mon", "h3")},
    ),
    ("StudentsMaxSpanPerDay", 100, "<Max_Span>3</Max_Span>", {}, {"4": ("Mon", "h4")}),
    (
        "TeacherMinRestingHours",
        100,
        "<Teacher_Name>T1</Teacher_Name><Minimum_Resting_Hours>2</Minimum_Resting_Hours><Circular>false</Circular>",
        {"1": ("Mon", "h4"), "2": ("Tue", "h2")},
        {"1": ("Mon", "h5")},
    ),
    # Y2 ends Wednesday at h3 and starts Monday at h1: two periods' rest over the weekend, one with 8 at h4.
    (
        "StudentsSetMinRestingHours",
        100,
        "<Students>Y2</Students><Minimum_Resting_Hours>2</Minimum_Resting_Hours><Circular>true</Circular>",
        {},
        {"8": ("Wed", "h4")},
    ),
    # T2 teaches 6 (Lecture) then 4 (Lab); what lies between, busy or not, counts (checked with fet-cl).
    (
        "TeacherMinGapsBetweenOrderedPairOfActivityTags",
        100,
        (
            "<Teacher>T2</Teacher><First_Activity_Tag>Lecture</First_Activity_Tag>"
            "<Second_Activity_Tag>Lab</Second_Activity_Tag><MinGaps>2</MinGaps>"
        ),
        {"4": ("Mon", "h4")},
        {"4": ("Mon", "h3"), "8": ("Mon", "h2"), "5": ("Mon", "h4")},
    ),
    # The other order is free: Lab at h1, Lecture at h2.
    (
        "TeachersMinGapsBetweenOrderedPairOfActivityTags",
        100,
        "<First_Activity_Tag>Lecture</First_Activity_Tag><Second_Activity_Tag>Lab</Second_Activity_Tag><MinGaps>1</MinGaps>",
        {"4": ("Mon", "h1"), "6": ("Mon", "h2"), "1": ("Mon", "h3")},
        {},
    ),
    (
        "StudentsSetMinGapsBetweenOrderedPairOfActivityTags",
        100,
        (
            "<Students>Y1</Students><First_Activity_Tag>Lab</First_Activity_Tag>"
            "<Second_Activity_Tag>Lecture</Second_Activity_Tag><MinGaps>1</MinGaps>"
        ),
        {},
        None,
    ),
    ("MaxDaysBetweenActivities", 100, acts("1", "3") + "<MaxDays>1</MaxDays>", {"3": ("Tue", "h3")}, {}),
    ("MaxDaysBetweenActivities", 80, acts("1", "3") + "<MaxDays>0</MaxDays>", {"3": ("Mon", "h3")}, {}),
    (
        "ActivitiesMaxSimultaneousInSelectedTimeSlots",
        100,
        acts("4", "5")
        + selected([("Mon", "h2"), ("Mon", "h3")])
        + "<Max_Number_of_Simultaneous_Activities>1</Max_Number_of_Simultaneous_Activities>",
        {"5": ("Mon", "h3")},
        {},
    ),
    # T2 teaches 6 and 4; R1 and R2 are in building B1, R3 in B2.
    (
        "TeachersMinGapsBetweenBuildingChanges",
        100,
        "<Min_Gaps_Between_Building_Changes>1</Min_Gaps_Between_Building_Changes>",
        {"6": ("Mon", "h1", "R3"), "4": ("Mon", "h3", "R1")},
        {"6": ("Mon", "h1", "R3"), "4": ("Mon", "h2", "R1")},
    ),
    (
        "TeacherMinGapsBetweenBuildingChanges",
        100,
        "<Teacher>T2</Teacher><Min_Gaps_Between_Building_Changes>2</Min_Gaps_Between_Building_Changes>",
        {"6": ("Mon", "h1", "R3"), "4": ("Mon", "h4", "R1")},
        {"6": ("Mon", "h1", "R3"), "4": ("Mon", "h3", "R1")},
    ),
    # Y1-A has 1 and 4.
    (
        "StudentsMinGapsBetweenBuildingChanges",
        100,
        "<Min_Gaps_Between_Building_Changes>1</Min_Gaps_Between_Building_Changes>",
        {"1": ("Mon", "h1", "R3"), "4": ("Mon", "h3", "R1")},
        {"1": ("Mon", "h1", "R3"), "4": ("Mon", "h2", "R1")},
    ),
    (
        "TeachersMaxBuildingChangesPerWeek",
        100,
        "<Max_Building_Changes_Per_Week>0</Max_Building_Changes_Per_Week>",
        {"6": ("Mon", "h1", "R1"), "4": ("Mon", "h2", "R2")},
        {"6": ("Mon", "h1", "R3"), "4": ("Mon", "h2", "R1")},
    ),
    (
        "StudentsSetMaxBuildingChangesPerWeek",
        100,
        "<Students>Y1-A</Students><Max_Building_Changes_Per_Week>0</Max_Building_Changes_Per_Week>",
        {"1": ("Mon", "h1", "R1"), "4": ("Mon", "h2", "R2")},
        {"1": ("Mon", "h1", "R3"), "4": ("Mon", "h2", "R1")},
    ),
    (
        "ActivitiesSameRoomIfConsecutive",
        100,
        acts("6", "4"),
        {"6": ("Mon", "h1", "R1"), "4": ("Mon", "h2", "R1")},
        {"6": ("Mon", "h1", "R1"), "4": ("Mon", "h2", "R3")},
    ),
    ("ActivitiesSameStartingHour", 100, acts("4", "5"), {}, {"5": ("Tue", "h3")}),
    # Students' tag rules name the tag in Activity_Tag, not Activity_Tag_Name as teachers' do.
    (
        "StudentsSetActivityTagMaxHoursDaily",
        100,
        "<Maximum_Hours_Daily>0</Maximum_Hours_Daily><Students>Y1-A</Students><Activity_Tag>Lab</Activity_Tag>",
        None,
        {},
    ),
    (
        "StudentsActivityTagMaxHoursContinuously",
        100,
        "<Activity_Tag>Lab</Activity_Tag><Maximum_Hours_Continuously>1</Maximum_Hours_Continuously>",
        {},
        None,
    ),
    ("ActivitiesEndStudentsDay", 100, filt(su="Art"), {}, {"1": ("Mon", "h3")}),
    (
        "TwoActivitiesOrdered",
        100,
        "<First_Activity_Id>1</First_Activity_Id><Second_Activity_Id>2</Second_Activity_Id>",
        {},
        {"1": ("Tue", "h1"), "2": ("Mon", "h1")},
    ),
    (
        "TwoActivitiesOrderedIfSameDay",
        100,
        "<First_Activity_Id>2</First_Activity_Id><Second_Activity_Id>1</Second_Activity_Id>",
        {},
        {"2": ("Mon", "h3")},
    ),
    (
        "ActivitiesOccupyMaxTimeSlotsFromSelection",
        100,
        acts("4", "5")
        + selected([("Mon", "h2"), ("Mon", "h3")])
        + "<Max_Number_of_Occupied_Time_Slots>1</Max_Number_of_Occupied_Time_Slots>",
        {},
        {"5": ("Mon", "h3")},
    ),
    ("MinGapsBetweenActivities", 100, acts("6", "4") + "<MinGaps>1</MinGaps>", {"4": ("Mon", "h3")}, {}),
    (
        "TeachersActivityTagMaxHoursDaily",
        100,
        ("<Activity_Tag_Name>Lab</Activity_Tag_Name><Maximum_Hours_Daily>1</Maximum_Hours_Daily>"),
        {},
        None,
    ),
    (
        "TeacherActivityTagMaxHoursDaily",
        100,
        (
            "<Teacher_Name>T2</Teacher_Name><Activity_Tag_Name>Lab"
            "</Activity_Tag_Name><Maximum_Hours_Daily>0</Maximum_Hours_Daily>"
        ),
        None,
        {},
    ),
    (
        "TeachersActivityTagMaxHoursContinuously",
        100,
        (
            "<Activity_Tag_Name>Lab</Activity_Tag_Name>"
            "<Maximum_Hours_Continuously>1</Maximum_Hours_Continuously>"
        ),
        {},
        None,
    ),
]
SPACE = {
    "ActivitiesOccupyMaxDifferentRooms",
    "SubjectPreferredRoom",
    "SubjectPreferredRooms",
    "ActivityPreferredRoom",
    "ActivityPreferredRooms",
    "RoomNotAvailableTimes",
    "TeacherHomeRoom",
    "TeacherHomeRooms",
    "StudentsSetHomeRoom",
    "ActivityTagPreferredRoom",
    "ActivityTagPreferredRooms",
    "SubjectActivityTagPreferredRoom",
    "TeachersMaxBuildingChangesPerDay",
    "TeachersMinGapsBetweenBuildingChanges",
    "TeacherMinGapsBetweenBuildingChanges",
    "StudentsMinGapsBetweenBuildingChanges",
    "TeachersMaxBuildingChangesPerWeek",
    "StudentsSetMaxBuildingChangesPerWeek",
    "ActivitiesSameRoomIfConsecutive",
}


def with_constraint(data: bytes, fet_type: str, weight: int, body: str) -> bytes:
    """A FET file with one more constraint, in the space or time list as its type says."""
    element = (
        f"<Constraint{fet_type}>\n\t<Weight_Percentage>{weight}</Weight_Percentage>\n\t{body}\n"
        f"\t<Active>true</Active>\n\t<Comments></Comments>\n</Constraint{fet_type}>\n"
    )
    closing = b"</Space_Constraints_List>" if fet_type in SPACE else b"</Time_Constraints_List>"
    return data.replace(closing, element.encode() + closing)


def fet_with(fet_type: str, weight: int, body: str) -> bytes:
    """The tiny school with one more constraint (the basic ones are there already)."""
    data = TINY.read_bytes()
    if fet_type in ("BasicCompulsoryTime", "BasicCompulsorySpace"):
        return data
    return with_constraint(data, fet_type, weight, body)


def school_of(data: bytes):
    return FetImporter(parse_fet_bytes(data, "tiny"), "tiny", "tiny").run()


def timetable(school, overrides: dict) -> Timetable:
    where = {**{k: (*v, None) for k, v in BASE.items()}, **{k: (*v, None)[:3] for k, v in overrides.items()}}
    days, hours = school.calendar.days, school.calendar.periods
    placements = [
        Placement(act, 0, (days.index(d), hours.index(h)), school.lesson_by_id[act].blocks[0], room)
        for act, (d, h, room) in where.items()
    ]
    return Timetable(
        placements=placements, placed=sum(p.length for p in placements), total=school.total_periods()
    )


def ids(case) -> str:
    return f"{case[0]}-{case[1]}"


@pytest.mark.parametrize("case", CASES, ids=[ids(c) for c in CASES])
def test_satisfied_and_violated(case):
    fet_type, weight, body, good, bad = case
    school = school_of(fet_with(fet_type, weight, body))
    row = import_report(school).types[fet_type]
    assert row.imported == 1 and row.unsupported == 0, row
    if good is not None:
        report = check(school, timetable(school, good))
        assert not report.hard and not report.soft, [str(v) for v in report.hard + report.soft]
    if bad is not None:
        report = check(school, timetable(school, bad))
        found = report.hard if weight >= 100 else report.soft
        assert found, f"{fet_type}: the violating placement was not caught"


HARD_GOOD = [c for c in CASES if c[1] >= 100 and c[3] is not None]


@pytest.mark.system
def test_satisfying_placements_are_accepted_by_fet(tmp_path):
    """FET agrees with our reading: each satisfying placement, locked, is a valid FET timetable."""
    require_system("fet-cl", "fet")
    rejected = []
    for fet_type, weight, body, good, _ in HARD_GOOD:
        data = fet_with(fet_type, weight, body)
        school = school_of(data)
        locked = tmp_path / f"{fet_type}.fet"
        locked.write_bytes(lock_fet(data, school, timetable(school, good)))
        run = run_fet(locked, 5)
        if not run.solved:
            rejected.append(fet_type)
    assert not rejected


@pytest.mark.parametrize("case", HARD_GOOD, ids=[ids(c) for c in HARD_GOOD])
def test_engine_keeps_the_rule(case):
    fet_type, weight, body, _, _ = case
    school = school_of(fet_with(fet_type, weight, body))
    result = solve(school, SolveOptions(time_limit=10, strict_balancing=False, stall_seconds=1))
    assert result.complete, result.unplaced
    report = check(school, result)
    assert report.ok, [str(v) for v in report.hard]


def _min_days_around_a_break() -> bytes:
    """The tiny school with a break at Monday h4 and activities 1 and 2 at least a day apart (95%), back to
    back when on one day."""
    data = fet_with("BreakTimes", 100, _times("Break_Times", [("Mon", "h4")], "Break_Time", "Day", "Hour"))
    body = acts("1", "2") + "<MinDays>1</MinDays><Consecutive_If_Same_Day>true</Consecutive_If_Same_Day>"
    return with_constraint(data, "MinDaysBetweenActivities", 95, body)


def fet_solves_locked(path: Path, data: bytes, overrides: dict, seconds: int) -> bool:
    """Whether fet-cl accepts the school ``data`` locked at BASE with ``overrides``."""
    school = school_of(data)
    path.write_bytes(lock_fet(data, school, timetable(school, overrides)))
    return run_fet(path, seconds).solved


def solve_pinned(school, pins: dict) -> int:
    """CP-SAT's status on the school's hard rules with each activity of ``pins`` at its (day, hour)."""
    cal = school.calendar
    tm = TimetableModel(school, BuildOptions(soft=False))
    for key, (day, hour) in pins.items():
        slot = (cal.days.index(day), cal.periods.index(hour))
        for o in tm.block_by_key[(key, 0)].options:
            tm.model.add(o.var == int(o.slot == slot))
    solver = cp_model.CpSolver()
    solver.parameters.num_workers = 8
    solver.parameters.max_time_in_seconds = 10
    return solver.solve(tm.model)


AROUND = {"1": ("Mon", "h3"), "2": ("Mon", "h5")}
"""Activities 1 and 2 on Monday, with the break between them."""


def test_a_break_between_does_not_make_same_day_lessons_back_to_back():
    """FET's min days rule compares hours alone: h3 and h5 around a break at h4 are not consecutive."""
    school = school_of(_min_days_around_a_break())
    around = check(school, timetable(school, AROUND))
    assert any("not back to back" in str(v) for v in around.hard), [str(v) for v in around.hard]
    apart = check(school, timetable(school, {}))
    assert apart.ok and not apart.soft, [str(v) for v in apart.hard + apart.soft]


def test_the_model_refuses_same_day_lessons_around_a_break():
    """Pinned at Monday h3 and h5, with the break between, the hard part of the rule has no solution."""
    assert solve_pinned(school_of(_min_days_around_a_break()), AROUND) == cp_model.INFEASIBLE


@pytest.mark.system
def test_fet_refuses_same_day_lessons_around_a_break(tmp_path):
    """The case above, judged by fet-cl: locked at Monday h3 and h5 it finds no timetable."""
    require_system("fet-cl", "fet")
    data = _min_days_around_a_break()
    assert not fet_solves_locked(tmp_path / "around-a-break.fet", data, AROUND, 3)
    assert fet_solves_locked(tmp_path / "apart.fet", data, {}, 5)


def test_lessons_limited_to_one_room_take_turns_in_it():
    """Activities 4 and 5 may use R1 or R2 and must share one room: the engine places them apart in time."""
    data = fet_with("ActivityTagPreferredRooms", 100, "<Activity_Tag>Lab</Activity_Tag>" + rooms("R1", "R2"))
    body = acts("4", "5") + "<Max_Number_of_Different_Rooms>1</Max_Number_of_Different_Rooms>"
    school = school_of(with_constraint(data, "ActivitiesOccupyMaxDifferentRooms", 100, body))
    result = solve(school, SolveOptions(time_limit=10, strict_balancing=False, stall_seconds=1))
    assert result.complete and check(school, result).ok
    four, five = (next(p for p in result.placements if p.lesson == i) for i in ("4", "5"))
    assert four.room == five.room and four.room in ("R1", "R2") and four.slot != five.slot


def _three_grouped_around_a_break() -> bytes:
    """The tiny school with a break at Monday h3 and activities 8, 6 and 4 grouped (hard)."""
    data = fet_with("BreakTimes", 100, _times("Break_Times", [("Mon", "h3")], "Break_Time", "Day", "Hour"))
    return with_constraint(data, "ThreeActivitiesGrouped", 100, THREE)


RUN_OVER_A_BREAK = {"8": ("Mon", "h4")}
"""Activities 6 and 4 at Monday h1 and h2, the break at h3, then 8: one run, as FET's grouped rules count."""


def test_three_grouped_lessons_may_run_over_a_break():
    school = school_of(_three_grouped_around_a_break())
    over = check(school, timetable(school, RUN_OVER_A_BREAK))
    assert over.ok, [str(v) for v in over.hard]
    split = check(school, timetable(school, {"8": ("Mon", "h5")}))
    assert any("not one run" in str(v) for v in split.hard), [str(v) for v in split.hard]
    # The model agrees: 8 pinned at h4 with 6 and 4 where they are has a solution, at h5 none.
    assert solve_pinned(school, {**BASE, "8": ("Mon", "h4")}) == cp_model.OPTIMAL
    assert solve_pinned(school, {**BASE, "8": ("Mon", "h5")}) == cp_model.INFEASIBLE


@pytest.mark.system
def test_fet_accepts_three_grouped_lessons_over_a_break(tmp_path):
    require_system("fet-cl", "fet")
    assert fet_solves_locked(tmp_path / "three.fet", _three_grouped_around_a_break(), RUN_OVER_A_BREAK, 5)


def _same_room_around_a_break() -> bytes:
    """The tiny school with a break at Monday h2 and activities 6 and 4 in one room when back to back."""
    data = fet_with("BreakTimes", 100, _times("Break_Times", [("Mon", "h2")], "Break_Time", "Day", "Hour"))
    return with_constraint(data, "ActivitiesSameRoomIfConsecutive", 100, acts("6", "4"))


ROOMS_AROUND_A_BREAK = {"6": ("Mon", "h1", "R1"), "4": ("Mon", "h3", "R3"), "5": ("Mon", "h4")}
"""6 before the break and 4 after it, in different rooms: not back to back, as FET reads it."""


def test_a_break_parts_lessons_that_share_a_room_when_back_to_back():
    school = school_of(_same_room_around_a_break())
    assert check(school, timetable(school, ROOMS_AROUND_A_BREAK)).ok
    # Without the break between, the same rooms break the rule.
    school = school_of(fet_with("ActivitiesSameRoomIfConsecutive", 100, acts("6", "4")))
    moved = {"6": ("Mon", "h2", "R1"), "4": ("Mon", "h3", "R3"), "5": ("Mon", "h4")}
    assert any("back to back" in str(v) for v in check(school, timetable(school, moved)).hard)


@pytest.mark.system
def test_fet_accepts_different_rooms_around_a_break(tmp_path):
    require_system("fet-cl", "fet")
    assert fet_solves_locked(tmp_path / "rooms.fet", _same_room_around_a_break(), ROOMS_AROUND_A_BREAK, 5)


def test_spans_and_rests_count_breaks():
    """FET counts a break inside a span and at the end of a day as rest (each checked with fet-cl)."""
    broken = fet_with("BreakTimes", 100, _times("Break_Times", [("Mon", "h2")], "Break_Time", "Day", "Hour"))
    body = "<Teacher_Name>T2</Teacher_Name><Max_Span>2</Max_Span>"
    school = school_of(with_constraint(broken, "TeacherMaxSpanPerDay", 100, body))
    around = check(school, timetable(school, {"4": ("Mon", "h3"), "5": ("Mon", "h4")}))
    assert [v.amount for v in around.hard] == [1], [str(v) for v in around.hard]
    late = fet_with("BreakTimes", 100, _times("Break_Times", [("Mon", "h5")], "Break_Time", "Day", "Hour"))
    body = "<Teacher_Name>T1</Teacher_Name><Minimum_Resting_Hours>2</Minimum_Resting_Hours>"
    school = school_of(with_constraint(late, "TeacherMinRestingHours", 100, body))
    assert check(school, timetable(school, {"1": ("Mon", "h3")})).ok


def test_a_day_off_between_is_rest_enough():
    body = "<Teacher_Name>T1</Teacher_Name><Minimum_Resting_Hours>2</Minimum_Resting_Hours>"
    school = school_of(fet_with("TeacherMinRestingHours", 100, body))
    # T1 ends Monday at h5; nothing on Tuesday, Wednesday from h1.
    assert check(school, timetable(school, {"1": ("Mon", "h5"), "2": ("Wed", "h4")})).ok
