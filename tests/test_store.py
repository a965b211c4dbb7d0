"""The store against a real server: the embedded nx-27017 (or MONGODB_URI), through pymongo."""

import threading

import pandas as pd
import pytest

from solver.demo import demo_with_timetable
from solver.domain import Placement, Timetable
from solver.io import school_to_dict
from store import NotFoundError, ReferencedError, StoreError, ValidationError
from store.migrations import SCHEMA_VERSION

SMALL = {
    "name": "Small school",
    "calendar": {"days": ["Mon", "Tue"], "periods": ["1", "2", "3"], "breaks": []},
    "subjects": [{"id": "MA", "name": "Maths"}, {"id": "EN", "name": "English"}],
    "teachers": [{"id": "T1", "name": "Ann"}, {"id": "T2", "name": "Bob"}],
    "classes": [{"id": "7A"}, {"id": "7B"}],
    "groups": [
        {"id": "7A-1", "class": "7A", "division": "half"},
        {"id": "7A-2", "class": "7A", "division": "half"},
    ],
    "rooms": [{"id": "R1", "name": "Room 1"}, {"id": "R2", "name": "Room 2"}],
    "lessons": [
        {
            "id": "L1",
            "subject": "MA",
            "teachers": ["T1"],
            "groups": ["7A"],
            "blocks": [1, 1],
            "rooms": ["R1"],
        },
        {
            "id": "L2",
            "subject": "EN",
            "teachers": ["T1", "T2"],
            "groups": ["7A-1", "7B"],
            "rooms": ["R1", "R2"],
        },
        {
            "id": "L3",
            "subject": "EN",
            "teachers": ["T2"],
            "groups": ["7A-2"],
            "rooms": ["R2"],
            "pinned": [{"block": 0, "day": "Tue", "period": "1", "room": "R2"}],
        },
    ],
    "rules": [
        {
            "id": "R-T1",
            "type": "max_periods_per_day",
            "scope": "teacher",
            "target": "T1",
            "params": {"max": 3},
        },
        {
            "id": "R-L",
            "type": "preferred_times",
            "scope": "lessons",
            "target": ["L1", "L2"],
            "params": {"slots": [["Mon", "1"], ["Mon", "2"]]},
        },
        {"id": "R-7A", "type": "max_gaps_per_day", "scope": "group", "target": "7A", "params": {"max": 1}},
    ],
}


@pytest.fixture
def school_id(store):
    from solver.io import school_from_dict

    return store.import_school(school_from_dict(SMALL))


def timetable(lessons: list[str], day: int = 0) -> Timetable:
    placements = [Placement(lesson, 0, (day, i % 3), 1, None) for i, lesson in enumerate(lessons)]
    return Timetable(
        placements=placements,
        placed=len(placements),
        total=len(placements) + 1,
        score=7,
        solve_time=1.25,
        status="FEASIBLE",
        phase="complete",
    )


def stored_placements(store) -> int:
    return sum(len(chunk["items"]) for chunk in store.db.placements.find({}))


# Schools


def test_create_school_has_an_empty_default_calendar(store):
    school_id = store.create_school("New school")
    assert store.get_calendar(school_id) == {
        "days": ["Mon", "Tue", "Wed", "Thu", "Fri"],
        "periods": [str(p) for p in range(1, 9)],
        "breaks": [],
    }
    [listed] = store.list_schools()
    assert listed["id"] == school_id and listed["name"] == "New school"
    assert set(listed["counts"].values()) == {0}
    with pytest.raises(ValidationError, match="already exists"):
        store.create_school("New school")


def test_import_and_load_round_trip_a_demo_school(store):
    school, _ = demo_with_timetable(200, 3)
    school_id = store.import_school(school)
    loaded = store.load_school(school_id)
    assert school_to_dict(loaded) == school_to_dict(school)
    [listed] = store.list_schools()
    assert listed["counts"]["lessons"] == len(school.lessons)
    again = store.import_school(school)
    assert store.load_school(again).name == f"{school.name} (2)"


def test_import_refuses_a_school_with_broken_references_listing_all(store):
    from solver.io import school_from_dict

    data = {
        **SMALL,
        "lessons": [*SMALL["lessons"], {"id": "L9", "subject": "XX", "teachers": ["T9"]}],
        "teachers": [*SMALL["teachers"], {"id": "T3", "name": "Ann"}],
    }
    with pytest.raises(ValidationError) as e:
        store.import_school(school_from_dict(data))
    text = str(e.value)
    assert "lesson L9.subject: unknown subject 'XX'" in text
    assert "lesson L9.teachers: unknown teacher 'T9'" in text
    assert "teacher T3.name: the name 'Ann' is used twice" in text
    assert store.list_schools() == []


def test_delete_school_removes_everything(store, school_id):
    store.save_version(school_id, "v", timetable(["L1"]))
    store.delete_school(school_id)
    assert store.list_schools() == []
    for name in ["subjects", "lessons", "rules", "versions", "revisions", "placements"]:
        assert store.db[name].count_documents({}) == 0, name
    with pytest.raises(NotFoundError, match="does not exist"):
        store.load_school(school_id)


# Items: create, read, update, delete for every kind

NEW_ITEMS = {
    "subjects": ({"id": "ART", "name": "Art", "color": "#ff0000"}, {"name": "Fine art"}),
    "teachers": ({"id": "T3", "name": "Cyd"}, {"name": "Cyd Smith"}),
    "classes": ({"id": "8A", "size": 25}, {"size": 27}),
    "groups": ({"id": "7B-FR", "class": "7B", "division": "language"}, {"name": "7B French"}),
    "rooms": ({"id": "R3", "capacity": 30}, {"building": "North"}),
    "lessons": (
        {"id": "L4", "subject": "MA", "teachers": "T2", "groups": ["7B"], "blocks": [2]},
        {"blocks": [1, 1]},
    ),
    "rules": (
        {
            "id": "R-new",
            "type": "max_gaps_per_week",
            "scope": "all_teachers",
            "weight": 50,
            "params": {"max": 2},
        },
        {"weight": 60},
    ),
}


@pytest.mark.parametrize("kind", list(NEW_ITEMS))
def test_crud_for_every_kind(store, school_id, kind):
    doc, changes = NEW_ITEMS[kind]
    created = store.create(school_id, kind, doc)
    assert created["id"] == doc["id"]
    assert store.get(school_id, kind, doc["id"]) == created
    assert [x["id"] for x in store.list(school_id, kind)][-1] == doc["id"]
    updated = store.update(school_id, kind, doc["id"], changes)
    assert {k: updated[k] for k in changes} == changes
    assert store.get(school_id, kind, doc["id"]) == updated
    store.delete(school_id, kind, doc["id"])
    with pytest.raises(NotFoundError, match=f"{doc['id']} does not exist"):
        store.get(school_id, kind, doc["id"])
    assert store.load_school(school_id) is not None


def test_created_items_are_canonical_and_appear_in_the_engine_model(store, school_id):
    created = store.create(school_id, "lessons", NEW_ITEMS["lessons"][0])
    assert created["teachers"] == ["T2"] and created["min_days_apart"] == 1 and created["enabled"] is True
    school = store.load_school(school_id)
    assert school.lesson_by_id["L4"].teachers == ["T2"]
    assert [x.id for x in school.lessons] == ["L1", "L2", "L3", "L4"]


def test_wrong_types_are_refused_naming_the_field(store, school_id):
    with pytest.raises(ValidationError) as e:
        store.create(school_id, "lessons", {"id": "L5", "subject": "MA", "blocks": "two", "colour": 1})
    text = str(e.value)
    assert "lesson L5.blocks: expected a list" in text
    assert "lesson L5.colour: unknown field" in text
    with pytest.raises(ValidationError, match="teacher T1.name: expected text, found a number"):
        store.update(school_id, "teachers", "T1", {"name": 5})
    with pytest.raises(ValidationError, match=r"lesson L1.blocks\[0\]: a block of 0 periods"):
        store.update(school_id, "lessons", "L1", {"blocks": [0]})
    with pytest.raises(ValidationError, match="rule R-T1.params"):
        store.update(school_id, "rules", "R-T1", {"params": {"most": 3}})
    with pytest.raises(ValidationError, match="id cannot be changed"):
        store.update(school_id, "teachers", "T1", {"id": "T9"})
    assert store.get(school_id, "teachers", "T1")["name"] == "Ann"


def test_unknown_references_are_refused(store, school_id):
    with pytest.raises(ValidationError, match="lesson L5.teachers: unknown teacher 'ghost'"):
        store.create(
            school_id, "lessons", {"id": "L5", "subject": "MA", "teachers": ["ghost"], "groups": ["7A"]}
        )
    with pytest.raises(ValidationError, match="unknown class or group 'nope'"):
        store.update(school_id, "lessons", "L1", {"groups": ["nope"]})
    with pytest.raises(ValidationError, match="group 7C-1.class: unknown class '7C'"):
        store.create(school_id, "groups", {"id": "7C-1", "class": "7C"})
    with pytest.raises(ValidationError, match="rule R-x.target: unknown teacher 'T7'"):
        store.create(
            school_id,
            "rules",
            {
                "id": "R-x",
                "type": "max_periods_per_day",
                "scope": "teacher",
                "target": "T7",
                "params": {"max": 4},
            },
        )
    with pytest.raises(ValidationError, match=r"lesson L3.pinned\[0\].room: room 'R9'"):
        store.update(
            school_id, "lessons", "L3", {"pinned": [{"block": 0, "day": "Mon", "period": "1", "room": "R9"}]}
        )
    with pytest.raises(ValidationError, match="unknown day 'Sun'"):
        store.update(school_id, "lessons", "L3", {"pinned": [{"block": 0, "day": "Sun", "period": "1"}]})


def test_ids_and_names_are_unique_within_a_school(store, school_id):
    with pytest.raises(ValidationError, match="teacher T1.id: teacher id 'T1' is already used"):
        store.create(school_id, "teachers", {"id": "T1", "name": "Other"})
    with pytest.raises(ValidationError, match="teacher name 'Ann' is already used"):
        store.create(school_id, "teachers", {"id": "T9", "name": "Ann"})
    with pytest.raises(ValidationError, match="teacher name 'Bob' is already used"):
        store.update(school_id, "teachers", "T1", {"name": "Bob"})
    with pytest.raises(ValidationError, match="'7B' is already a class id"):
        store.create(school_id, "groups", {"id": "7B", "class": "7A"})
    other = store.create_school("Other school")
    assert store.create(other, "teachers", {"id": "T1", "name": "Ann"})["id"] == "T1"


def test_operator_like_text_is_stored_as_plain_text(store, school_id):
    store.create(school_id, "teachers", {"id": "$gt", "name": "$gt"})
    store.create(school_id, "teachers", {"id": "{'$ne': 1}", "name": "$where: sleep(1000)"})
    assert store.get(school_id, "teachers", "$gt") == {"id": "$gt", "name": "$gt"}
    assert store.get(school_id, "teachers", "{'$ne': 1}")["name"] == "$where: sleep(1000)"
    with pytest.raises(ValidationError, match="teacher T5.name: expected text, found an object"):
        store.create(school_id, "teachers", {"id": "T5", "name": {"$gt": ""}})
    with pytest.raises(ValidationError, match="expected text"):
        store.create(school_id, "teachers", {"id": {"$gt": ""}, "name": "x"})
    with pytest.raises(NotFoundError):
        store.get(school_id, "teachers", {"$gt": ""})
    with pytest.raises(NotFoundError):
        store.get({"$ne": None}, "teachers", "T1")
    with pytest.raises(NotFoundError):
        store.get_version({"$ne": None})
    with pytest.raises(ValidationError, match=r"params.\$gt"):
        store.update(school_id, "rules", "R-T1", {"params": {"max": 3, "$gt": 1}})
    lesson = store.create(
        school_id, "lessons", {"id": "L$", "subject": "MA", "teachers": ["$gt"], "groups": ["7B"]}
    )
    assert lesson["teachers"] == ["$gt"]
    with pytest.raises(ReferencedError, match="lesson 'L\\$'"):
        store.delete(school_id, "teachers", "$gt")
    assert store.create_school("$gt") and "$gt" in [s["name"] for s in store.list_schools()]


# Deleting: references and cascades


def test_delete_still_referenced_is_refused_listing_who(store, school_id):
    with pytest.raises(ReferencedError) as e:
        store.delete(school_id, "teachers", "T1")
    assert (
        "teacher T1 is still used by lesson 'L1' (teachers), lesson 'L2' (teachers), rule 'R-T1' (target)"
        in str(e.value)
    )
    assert "cascade" in str(e.value)
    assert e.value.refs == [
        ("lessons", "L1", "teachers"),
        ("lessons", "L2", "teachers"),
        ("rules", "R-T1", "target"),
    ]
    assert store.referrers(school_id, "rooms", "R2") == [
        ("lessons", "L2", "rooms"),
        ("lessons", "L3", "rooms"),
        ("lessons", "L3", "pinned[0].room"),
    ]
    assert store.get(school_id, "teachers", "T1")


def test_cascade_removes_a_teacher_from_lessons_and_drops_rules_about_them(store, school_id):
    store.delete(school_id, "teachers", "T1", cascade=True)
    assert store.get(school_id, "lessons", "L1")["teachers"] == []
    assert store.get(school_id, "lessons", "L2")["teachers"] == ["T2"]
    assert [r["id"] for r in store.list(school_id, "rules")] == ["R-L", "R-7A"]


def test_cascade_of_a_subject_deletes_its_lessons_and_shrinks_lesson_rules(store, school_id):
    store.delete(school_id, "subjects", "MA", cascade=True)
    assert [x["id"] for x in store.list(school_id, "lessons")] == ["L2", "L3"]
    assert store.get(school_id, "rules", "R-L")["target"] == ["L2"]
    store.delete(school_id, "lessons", "L2", cascade=True)
    assert [r["id"] for r in store.list(school_id, "rules")] == ["R-T1", "R-7A"]


def test_cascade_of_a_class_deletes_its_groups_and_lessons_left_for_nobody(store, school_id):
    store.delete(school_id, "classes", "7A", cascade=True)
    assert [g["id"] for g in store.list(school_id, "groups")] == []
    assert [x["id"] for x in store.list(school_id, "lessons")] == ["L2"]
    assert store.get(school_id, "lessons", "L2")["groups"] == ["7B"]
    assert [r["id"] for r in store.list(school_id, "rules")] == ["R-T1", "R-L"]
    assert store.get(school_id, "rules", "R-L")["target"] == ["L2"]


def test_cascade_of_a_room_clears_pins(store, school_id):
    store.delete(school_id, "rooms", "R2", cascade=True)
    lesson = store.get(school_id, "lessons", "L3")
    assert lesson["rooms"] == [] and lesson["pinned"][0]["room"] is None


# Calendar


def test_calendar_update_is_checked_against_pins_and_rules(store, school_id):
    with pytest.raises(ValidationError) as e:
        store.update_calendar(school_id, {"days": ["Mon", "Wed"], "periods": ["1", "2", "3"]})
    assert "lesson L3.pinned[0]: unknown day 'Tue'" in str(e.value)
    calendar = store.update_calendar(
        school_id, {"days": ["Mon", "Tue", "Wed"], "periods": ["1", "2", "3"], "breaks": [["Wed", "2"]]}
    )
    assert calendar["breaks"] == [["Wed", "2"]]
    assert store.load_school(school_id).calendar.days == ["Mon", "Tue", "Wed"]


# DataFrames


def test_frames_for_every_kind(store, school_id):
    frame = store.frame(school_id, "lessons")
    assert isinstance(frame, pd.DataFrame)
    assert list(frame["id"]) == ["L1", "L2", "L3"]
    assert list(store.frame(school_id, "teachers")["name"]) == ["Ann", "Bob"]
    assert store.frame(store.create_school("Empty"), "rooms").empty
    schools = store.schools_frame()
    assert list(schools["name"]) == ["Small school", "Empty"] and list(schools["lessons"]) == [3, 0]
    store.save_version(school_id, "A", timetable(["L1"]))
    versions = store.versions_frame(school_id)
    assert list(versions["name"]) == ["A"] and list(versions["placed"]) == [1]
    assert store.versions_frame(store.list_schools()[1]["id"]).empty


# Versions and safe saves


def test_save_list_load_a_version(store, school_id):
    good = Timetable(
        placements=[
            Placement("L1", 0, (0, 0), 1, "R1"),
            Placement("L2", 0, (0, 1), 1, "R1"),
            Placement("L3", 0, (1, 0), 1, "R2"),
        ],
        placed=3,
        total=4,
        score=7,
        solve_time=1.25,
        status="FEASIBLE",
    )
    version_id = store.save_version(
        school_id, "Week A", good, options={"time_limit": 300, "strict": True}, job_id="job-1"
    )
    [listed] = store.list_versions(school_id)
    assert listed["id"] == version_id and listed["name"] == "Week A" and listed["draft"] is False
    assert listed["stats"] == {
        "placed": 3,
        "total": 4,
        "unplaced": 1,
        "unplaced_lessons": 0,
        "conflicts": 0,
        "score": 7,
        "solve_time": 1.25,
    }
    assert listed["options"] == {"time_limit": 300, "strict": True} and listed["job_id"] == "job-1"
    loaded = store.load_version(version_id)
    assert [(p.lesson, p.slot, p.room) for p in loaded.placements] == [
        ("L1", (0, 0), "R1"),
        ("L2", (0, 1), "R1"),
        ("L3", (1, 0), "R2"),
    ]
    assert loaded.placed == 3 and loaded.score == 7 and loaded.status == "FEASIBLE"
    frame = store.version_frame(version_id)
    assert list(frame["lesson"]) == ["L1", "L2", "L3"]
    assert list(frame["subject"]) == ["MA", "EN", "EN"] and frame.loc[1, "teachers"] == ["T1", "T2"]
    assert store.get_version(version_id)["school"] == school_id


def test_conflicts_are_counted_by_the_independent_checker(store, school_id):
    clash = Timetable(placements=[Placement("L1", 0, (0, 0), 1, "R1"), Placement("L2", 0, (0, 0), 1, "R2")])
    version_id = store.save_version(school_id, "Clash", clash)
    # Teacher T1 and class 7A (via 7A-1) are both double-booked; L3 is unplaced, which is not a conflict.
    assert store.get_version(version_id)["stats"]["conflicts"] == 2


def test_saving_again_replaces_the_timetable_and_drops_the_old_placements(store, school_id):
    first = store.save_version(school_id, "Week A", timetable(["L1", "L2"]))
    again = store.save_version(school_id, "Week A", timetable(["L3"], day=1), draft=True)
    assert again == first
    [listed] = store.list_versions(school_id)
    assert listed["draft"] is True and listed["placements"] == 1
    assert [(p.lesson, p.slot) for p in store.load_version(first).placements] == [("L3", (1, 0))]
    assert stored_placements(store) == 1
    assert store.db.revisions.count_documents({}) == 1


def test_versions_are_listed_newest_first_and_deleted_with_their_placements(store, school_id):
    a = store.save_version(school_id, "A", timetable(["L1"]))
    b = store.save_version(school_id, "B", timetable(["L2"]))
    assert [v["id"] for v in store.list_versions(school_id)] == [b, a]
    store.delete_version(a)
    assert [v["id"] for v in store.list_versions(school_id)] == [b]
    assert stored_placements(store) == 1
    with pytest.raises(NotFoundError, match=f"version '{a}' does not exist"):
        store.load_version(a)


def test_a_version_of_a_changed_school_leaves_out_what_no_longer_exists(store, school_id):
    version_id = store.save_version(school_id, "A", timetable(["L1", "L2", "L3"]))
    store.delete(school_id, "lessons", "L2", cascade=True)
    loaded = store.load_version(version_id)
    assert [p.lesson for p in loaded.placements] == ["L1", "L3"] and loaded.meta["left_out"] == 1


def test_readers_never_see_a_half_saved_timetable(store):
    model, a = demo_with_timetable(1200, 4)
    b = Timetable(placements=a.placements[:700], placed=700, total=a.total)
    assert len(a.placements) > 500, "more than one chunk of placements"
    school_id = store.import_school(model)
    version_id = store.save_version(school_id, "V", a, school=model)
    done = threading.Event()
    seen = []

    def writer():
        for i in range(4):
            store.save_version(school_id, "V", b if i % 2 == 0 else a, school=model)
        done.set()

    thread = threading.Thread(target=writer)
    thread.start()
    while not done.is_set():
        seen.append(len(store.load_version(version_id, model).placements))
    thread.join()
    assert set(seen) <= {len(a.placements), 700} and seen


def test_cleanup_removes_orphaned_revisions_only(store, school_id):
    from datetime import timedelta

    version_id = store.save_version(school_id, "V", timetable(["L1", "L2"]))
    store._write_revision(school_id, version_id, [{"lesson": "L1", "block": 0, "day": "Mon", "period": "1"}])
    assert store.cleanup() == {"revisions": 0, "schools": 0}
    assert store.cleanup(older_than=timedelta(0)) == {"revisions": 1, "schools": 0}
    assert len(store.load_version(version_id).placements) == 2
    assert stored_placements(store) == 2


def test_bad_version_input_is_refused(store, school_id):
    with pytest.raises(ValidationError, match="version.name"):
        store.save_version(school_id, "", timetable(["L1"]))
    with pytest.raises(NotFoundError, match="school 'nope' does not exist"):
        store.save_version("nope", "A", timetable(["L1"]))
    with pytest.raises(StoreError, match="unknown kind 'pupils'"):
        store.list(school_id, "pupils")


# Schema


def test_documents_carry_the_schema_version_and_newer_databases_are_refused(store, school_id, store_server):
    assert store.db.lessons.find_one({})["schema"] == SCHEMA_VERSION
    assert store.db.meta.find_one({"_id": "schema"})["version"] == SCHEMA_VERSION
    store.db.meta.update_one({"_id": "schema"}, {"$set": {"version": SCHEMA_VERSION + 1}})
    with pytest.raises(StoreError, match="newer than this program"):
        store_server.open(store.db.name)


def test_migrations_run_in_order_when_a_store_opens(store, store_server, monkeypatch):
    from store import migrations

    ran = []

    def add_colour(db):
        ran.append(db.name)
        db.subjects.update_many({"color": {"$exists": False}}, {"$set": {"color": ""}})

    monkeypatch.setattr(migrations, "SCHEMA_VERSION", SCHEMA_VERSION + 1)
    monkeypatch.setitem(migrations.MIGRATIONS, SCHEMA_VERSION, add_colour)
    again = store_server.open(store.db.name)
    assert ran == [store.db.name]
    assert store.db.meta.find_one({"_id": "schema"})["version"] == SCHEMA_VERSION + 1
    again.close()


def test_half_imported_schools_are_hidden_and_cleaned_up(store):
    from datetime import UTC, datetime, timedelta

    long_ago = datetime.now(UTC) - timedelta(hours=1)
    store.db.schools.insert_one(
        {
            "_id": "crashed",
            "name": "Crashed import",
            "state": "importing",
            "created": long_ago,
            "updated": long_ago,
        }
    )
    store.db.teachers.insert_one({"school": "crashed", "id": "T1", "name": "T1", "pos": 0})
    assert store.list_schools() == []
    with pytest.raises(NotFoundError):
        store.load_school("crashed")
    assert store.cleanup() == {"revisions": 0, "schools": 1}
    assert store.db.teachers.count_documents({}) == 0


def test_rule_parameters_that_list_ids_are_references(store, school_id):
    rule = {
        "id": "R-rooms",
        "type": "preferred_rooms",
        "scope": "lesson",
        "target": "L2",
        "weight": 80,
        "params": {"rooms": ["R1", "R2"]},
    }
    with pytest.raises(ValidationError, match="rule R-rooms.params.rooms: unknown room 'R7'"):
        store.create(school_id, "rules", {**rule, "params": {"rooms": ["R1", "R7"]}})
    store.create(school_id, "rules", rule)
    assert ("rules", "R-rooms", "params.rooms") in store.referrers(school_id, "rooms", "R1")
    store.delete(school_id, "rooms", "R1", cascade=True)
    assert store.get(school_id, "rules", "R-rooms")["params"] == {"rooms": ["R2"]}


def test_a_combined_room_and_the_real_rooms_of_a_version_round_trip(store, school_id):
    store.create(school_id, "rooms", {"id": "BOTH", "name": "Both rooms", "real_rooms": [["R1"], ["R2"]]})
    store.update(school_id, "lessons", "L1", {"rooms": ["BOTH"], "real_rooms": ["R2", "R1"]})
    school = store.load_school(school_id)
    assert school.room("BOTH").real_rooms == [["R1"], ["R2"]]
    assert school.lesson_by_id["L1"].real_rooms == ["R2", "R1"]
    placed = Timetable(placements=[Placement("L1", 0, (0, 0), 1, "BOTH", ["R1", "R2"])], placed=1, total=5)
    version = store.save_version(school_id, "combined", placed)
    assert store.load_version(version).placements[0].real_rooms == ["R1", "R2"]
    # A real room still named by a combined room and a lesson cannot go without a cascade.
    with pytest.raises(ReferencedError, match="room 'BOTH' \\(real_rooms\\[0\\]\\)"):
        store.delete(school_id, "rooms", "R1")
