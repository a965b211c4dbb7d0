"""FET import: corpus files with counts matching the file, the student mapping, the report, hostile XML."""

from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import pytest

from solver.__main__ import main
from solver.fet import FetError, import_fet, import_report
from solver.fet.importer import fet_weight
from solver.io import load_school

TINY = Path(__file__).parent / "data" / "fet" / "tiny.fet"
EXAMPLES = Path("/usr/share/doc/fet-data/examples/FET-5-official")
CORPUS = [
    "Brazil/1/Brazil.fet",
    "Greece/Gymnasio/Gymnasio.fet",
    "Hungary/Bethlen/2008-2009/2-newer/Bethlen-2008-2009.fet",
    "Germany/secondary-school-2/GYR.fet",
]


def raw_counts(text: str) -> tuple[Counter, dict[str, int]]:
    """Constraint types and list sizes counted straight from the XML text, independently of the importer."""
    types = Counter(m.group(1) for m in re.finditer(r"<Constraint(\w+)>", text))
    sizes = {
        "activities": len(re.findall(r"<Activity>", text)),
        "teachers": len(re.findall(r"<Teacher>\s*<Name>", text)),
        "subjects": len(re.findall(r"<Subject>\s*<Name>", text)),
        "rooms": len(re.findall(r"<Room>\s*<Name>", text)),
        "years": len(re.findall(r"<Year>", text)),
        "inactive": len(
            re.findall(r"<Activity>(?:(?!</Activity>).)*<Active>false</Active>", text, re.DOTALL)
        ),
    }
    return types, sizes


@pytest.mark.parametrize("name", CORPUS)
def test_corpus_file_counts_match_the_file(name):
    path = EXAMPLES / name
    if not path.exists():
        pytest.skip("the FET examples (Debian package fet-data) are not installed")
    types, sizes = raw_counts(path.read_text(encoding="utf-8"))
    school = import_fet(path)
    report = import_report(school)
    assert len(school.lessons) == sizes["activities"]
    assert sum(not x.enabled for x in school.lessons) == sizes["inactive"]
    assert len(school.teachers) == sizes["teachers"]
    assert len(school.subjects) == sizes["subjects"]
    assert len(school.rooms) == sizes["rooms"]
    assert len(school.classes) == sizes["years"]
    assert {t: r.active + r.inactive for t, r in report.types.items()} == dict(types)
    assert all(x.blocks == [int(x.blocks[0])] and x.min_days_apart == 0 for x in school.lessons)


def test_tiny_school_maps_years_groups_and_subgroups():
    school = import_fet(TINY)
    sub = school.subgroups_of
    assert sub["Y1"] == {"Y1-A-F", "Y1-A-G", "Y1-B-F", "Y1-B-G"}
    assert sub["Y1-A"] == {"Y1-A-F", "Y1-A-G"}
    assert sub["Y1-F"] == {"Y1-A-F", "Y1-B-F"}
    assert sub["Y1-A-F"] == {"Y1-A-F"}
    assert sub["Y2"] == {"Y2"}
    lessons = school.lesson_by_id
    # Halves may run together; a half and a language group share a subgroup, so they clash.
    assert not school.lesson_subgroups(lessons["4"]) & school.lesson_subgroups(lessons["5"])
    assert school.lesson_subgroups(lessons["4"]) & school.lesson_subgroups(lessons["8"])
    assert lessons["8"].teachers == ["T2", "T3"] and lessons["8"].groups == ["Y1-F", "Y2"]
    assert lessons["3"].blocks == [2] and lessons["4"].tags == ["Lab"]
    assert not lessons["9"].enabled
    assert school.room("R3").building == "B2"
    assert school.calendar.days == ["Mon", "Tue", "Wed"] and school.calendar.n_periods == 5


def test_weights():
    assert fet_weight(100) == 100
    assert fet_weight(99.9) == 99
    assert fet_weight(95) == 95
    assert fet_weight(0.4) == 1


def test_report_lists_unsupported_hard_constraints():
    text = TINY.read_text(encoding="utf-8").replace(
        "</Time_Constraints_List>",
        "<ConstraintTeacherMaxRoomChangesPerDay><Weight_Percentage>100</Weight_Percentage><Teacher>T1</Teacher>"
        "<Max_Room_Changes_Per_Day>1</Max_Room_Changes_Per_Day><Active>true</Active>"
        "</ConstraintTeacherMaxRoomChangesPerDay>\n"
        "<ConstraintTeachersMaxGapsPerDay><Weight_Percentage>100</Weight_Percentage><Max_Gaps>1</Max_Gaps>"
        "<Active>false</Active></ConstraintTeachersMaxGapsPerDay>\n</Time_Constraints_List>",
    )
    path = TINY.parent / "_report.fet"
    try:
        path.write_text(text, encoding="utf-8")
        report = import_report(import_fet(path))
    finally:
        path.unlink()
    changes = report.types["TeacherMaxRoomChangesPerDay"]
    assert (changes.hard, changes.unsupported_hard, changes.status) == (1, 1, "unsupported")
    assert report.types["TeachersMaxGapsPerDay"].status == "inactive"
    assert report.types["BasicCompulsoryTime"].status == "imported"
    assert "may violate" in report.text() and "TeacherMaxRoomChangesPerDay" in report.text()


HOSTILE = {
    "billion laughs": b"""<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>
<fet version="5.0"><Institution_Name>&lol3;</Institution_Name></fet>""",
    "external entity": b"""<?xml version="1.0"?>
<!DOCTYPE fet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>
<fet version="5.0"><Institution_Name>&xxe;</Institution_Name></fet>""",
    "malformed": b"<fet version='5.0'><Days_List></fet>",
    "not FET": b"<html><body>hello</body></html>",
    "no days": b"<fet version='5.0'><Hours_List><Hour><Name>1</Name></Hour></Hours_List></fet>",
}


@pytest.mark.parametrize("kind", HOSTILE)
def test_hostile_or_broken_xml_is_refused_with_a_message(kind, tmp_path, capsys):
    path = tmp_path / "bad.fet"
    path.write_bytes(HOSTILE[kind])
    with pytest.raises(FetError):
        import_fet(path)
    assert main(["import-fet", str(path), "-o", str(tmp_path / "out.json")]) == 2
    err = capsys.readouterr().err
    assert "bad.fet" in err and "Traceback" not in err
    assert not (tmp_path / "out.json").exists()


def test_missing_file_is_a_clear_error(tmp_path, capsys):
    assert main(["import-fet", str(tmp_path / "nope.fet"), "-o", str(tmp_path / "out.json")]) == 2
    assert "file not found" in capsys.readouterr().err


def test_import_command_writes_school_with_report(tmp_path, capsys):
    out = tmp_path / "school.json"
    assert main(["import-fet", str(TINY), "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "BasicCompulsoryTime" in printed and "Every hard (100%) constraint" in printed
    school = load_school(out)
    assert len(school.lessons) == 9
    assert school.meta["import_report"]["unsupported_hard"] == []


def test_consecutive_if_same_day_is_hard_at_any_weight(tmp_path):
    """FET keeps same-day activities of a min-days constraint back to back even at 0%."""
    constraint = (
        "<ConstraintMinDaysBetweenActivities><Weight_Percentage>{w}</Weight_Percentage>"
        "<Consecutive_If_Same_Day>true</Consecutive_If_Same_Day><Number_of_Activities>2</Number_of_Activities>"
        "<Activity_Id>1</Activity_Id><Activity_Id>2</Activity_Id><MinDays>1</MinDays><Active>true</Active>"
        "</ConstraintMinDaysBetweenActivities>"
    )
    for weight, expected in (("0", [(100, 0)]), ("95", [(100, 0), (95, 1)]), ("100", [(100, 1)])):
        path = tmp_path / f"w{weight}.fet"
        text = TINY.read_text(encoding="utf-8")
        path.write_text(
            text.replace(
                "</Time_Constraints_List>", constraint.format(w=weight) + "</Time_Constraints_List>"
            ),
            encoding="utf-8",
        )
        rules = [r for r in import_fet(path).rules if r.type == "min_days_between"]
        assert [(r.weight, r.params["min_days"]) for r in rules] == expected
        assert all(r.params["consecutive_if_same_day"] for r in rules if r.weight == 100)


def test_students_filter_picks_activities_sharing_students(tmp_path):
    """FET's activity filters match students sets that share students, not only the exact name."""
    constraint = (
        "<ConstraintActivitiesPreferredTimeSlots><Weight_Percentage>100</Weight_Percentage><Teacher_Name>"
        "</Teacher_Name><Students_Name>{s}</Students_Name><Subject_Name></Subject_Name><Activity_Tag_Name>"
        "</Activity_Tag_Name><Duration></Duration><Number_of_Preferred_Time_Slots>1</Number_of_Preferred_Time_Slots>"
        "<Preferred_Time_Slot><Preferred_Day>Mon</Preferred_Day><Preferred_Hour>h1</Preferred_Hour>"
        "</Preferred_Time_Slot><Active>true</Active></ConstraintActivitiesPreferredTimeSlots>"
    )
    expected = {"Y1-A": {"1", "2", "3", "4", "8"}, "Y1-B-G": {"1", "2", "3", "5"}, "Y2": {"6", "7", "8"}}
    for students, lessons in expected.items():
        path = tmp_path / f"{students}.fet"
        text = TINY.read_text(encoding="utf-8").replace(
            "</Time_Constraints_List>", constraint.format(s=students) + "</Time_Constraints_List>"
        )
        path.write_text(text, encoding="utf-8")
        rule = next(r for r in import_fet(path).rules if r.type == "preferred_times")
        assert set(rule.target) == lessons | ({"9"} & set(rule.target))
