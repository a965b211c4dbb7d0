"""Background solve jobs in one process, against the embedded MongoDB through the store."""

import contextlib
import time

import pytest

import jobs.manager
from jobs import JobError, JobManager
from solver.checker import check
from solver.demo import generate_demo

SMALL = 20
"""Periods of a school CP-SAT solves to optimality in a second or two."""
LARGE = 150
"""Periods of a school that keeps a solve busy long enough to cancel it."""


@pytest.fixture
def small_school(store):
    return store.import_school(generate_demo(periods=SMALL, seed=1), "Small")


@pytest.fixture
def large_school(store):
    return store.import_school(generate_demo(periods=LARGE, seed=2), "Large")


@pytest.fixture
def make_manager(store, tmp_path):
    made = []

    def make(**kwargs):
        kwargs = {"workers": 1, "min_time_limit": 1, "spool_dir": tmp_path / "spool", **kwargs}
        kwargs.setdefault("heartbeat_seconds", 0.5)
        jm = JobManager(store, **kwargs)
        made.append(jm)
        return jm

    yield make
    for jm in made:
        jm.shutdown()


def wait_for(jm, job_id, predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = jm.get(job_id)
        if predicate(doc):
            return doc
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never got there: {jm.get(job_id)}")


def solving(doc):
    return doc["status"] == "running" and doc["phase"] not in ("loading", "solving")


def test_a_job_solves_then_saves_its_version(store, small_school, make_manager):
    jm = make_manager()
    job_id = jm.start(small_school, "Week A", {"time_limit": 30})
    doc = jm.wait(job_id, timeout=120)

    assert doc["status"] == "completed", doc
    assert doc["progress"] == 100
    assert doc["worker"] == jm.worker_id
    assert doc["started"] >= doc["created"] and doc["finished"] >= doc["started"]
    assert len(doc["fingerprint"]) == 16
    assert doc["error"] is None
    assert doc["options"] == {"time_limit": 30, "strict_balancing": True}
    result = doc["result"]
    assert result["placed"] == result["total"] == SMALL and result["unplaced"] == 0
    assert result["conflicts"] == 0
    assert any("Saved version 'Week A'" in line for line in doc["log"])

    versions = store.list_versions(small_school)
    assert [(v["id"], v["name"], v["job_id"], v["draft"]) for v in versions] == [
        (result["version_id"], "Week A", job_id, False)
    ]
    timetable = store.load_version(result["version_id"])
    assert timetable.placed == SMALL and len(timetable.placements) == versions[0]["placements"]
    assert check(store.load_school(small_school), timetable).ok


def test_start_returns_before_any_solving(store, small_school, make_manager, monkeypatch):
    entered = []
    real = jobs.manager.solve

    def recording_solve(*args, **kwargs):
        entered.append(time.monotonic())
        return real(*args, **kwargs)

    monkeypatch.setattr(jobs.manager, "solve", recording_solve)
    jm = make_manager()
    job_id = jm.start(small_school, "Week A", {"time_limit": 30})
    returned = time.monotonic()
    assert jm.wait(job_id, timeout=120)["status"] == "completed"
    assert len(entered) == 1 and entered[0] > returned


def test_bad_requests_get_messages_naming_the_field(store, small_school, make_manager):
    jm = make_manager(min_time_limit=180)
    cases = [
        ({"time_limit": 60}, "options.time_limit: 60 s is out of range; choose from 180 to 1200 seconds"),
        ({"time_limit": "long"}, "options.time_limit: expected a number"),
        ({"strict_balancing": "yes"}, "options.strict_balancing: expected true or false"),
        ({"speed": 3}, "options.speed: unknown option"),
    ]
    for options, message in cases:
        with pytest.raises(JobError, match=message.replace("(", r"\(")):
            jm.start(small_school, "Week A", options)
    with pytest.raises(JobError, match="version_name"):
        jm.start(small_school, "  ", {})
    with pytest.raises(JobError, match="No job with id 'nope'"):
        jm.get("nope")
    assert jm.list() == []


def test_cancel_keeps_the_best_timetable_as_a_draft(store, large_school, make_manager):
    jm = make_manager()
    job_id = jm.start(large_school, "Week A", {"time_limit": 120})
    wait_for(jm, job_id, solving)
    jm.cancel(job_id, keep="draft")
    doc = jm.wait(job_id, timeout=60)

    assert doc["status"] == "cancelled", doc
    assert doc["result"]["draft"] is True and doc["result"]["version_id"]
    versions = store.list_versions(large_school)
    assert [(v["name"], v["draft"], v["job_id"]) for v in versions] == [("Week A (draft)", True, job_id)]
    assert store.load_version(doc["result"]["version_id"]).placed == doc["result"]["placed"]


def test_cancel_can_discard_the_result(store, large_school, make_manager):
    jm = make_manager()
    job_id = jm.start(large_school, "Week A", {"time_limit": 120})
    wait_for(jm, job_id, solving)
    jm.cancel(job_id, keep="discard")
    doc = jm.wait(job_id, timeout=60)

    assert doc["status"] == "cancelled", doc
    assert doc["result"]["version_id"] is None
    assert "discarded" in doc["message"]
    assert store.list_versions(large_school) == []
    with pytest.raises(JobError, match="already finished"):
        jm.cancel(job_id)


def test_three_jobs_queue_up_with_their_positions(store, large_school, make_manager):
    jm = make_manager(workers=1)
    ids = [jm.start(large_school, f"Week {x}", {"time_limit": 120}) for x in "ABC"]
    wait_for(jm, ids[0], lambda d: d["status"] == "running")

    docs = {d["id"]: d for d in jm.list()}
    assert [docs[i]["status"] for i in ids] == ["running", "queued", "queued"]
    assert [docs[i]["queue_position"] for i in ids] == [None, 1, 2]
    assert jm.get(ids[2])["queue_position"] == 2
    assert "number 2 in the queue" in jm.get(ids[2])["message"]

    jm.cancel(ids[1])
    assert jm.get(ids[1])["status"] == "cancelled"
    assert jm.get(ids[2])["queue_position"] == 1
    assert [d["id"] for d in jm.list(active_only=True)] == [ids[2], ids[0]]

    jm.cancel(ids[0], keep="discard")
    wait_for(jm, ids[2], lambda d: d["status"] == "running")
    jm.cancel(ids[2], keep="discard")
    assert jm.wait(ids[2])["status"] == "cancelled"


def test_the_limit_per_school_holds_a_job_back(store, large_school, make_manager):
    other = store.import_school(generate_demo(periods=LARGE, seed=3), "Other")
    jm = make_manager(workers=2, max_active_per_school=1)
    first = jm.start(large_school, "Week A", {"time_limit": 120})
    second = jm.start(large_school, "Week B", {"time_limit": 120})
    elsewhere = jm.start(other, "Week A", {"time_limit": 120})
    wait_for(jm, elsewhere, lambda d: d["status"] == "running")
    wait_for(jm, first, lambda d: d["status"] == "running")
    time.sleep(1.5)
    assert jm.get(second)["status"] == "queued" and jm.get(second)["queue_position"] == 1

    jm.cancel(first, keep="discard")
    wait_for(jm, second, lambda d: d["status"] == "running")
    # The solver stops early once the score stalls, so a job may finish before it is cancelled here.
    for job_id in (second, elsewhere):
        with contextlib.suppress(JobError):
            jm.cancel(job_id, keep="discard")
        doc = jm.wait(job_id)
        assert doc["status"] in ("cancelled", "completed"), doc


def test_retry_and_delete(store, small_school, make_manager):
    jm = make_manager()
    job_id = jm.start(small_school, "Week A", {"time_limit": 30, "seed": 4})
    jm.cancel(job_id, keep="discard")
    assert jm.wait(job_id)["status"] == "cancelled"
    with pytest.raises(JobError, match="cancel it first"):
        jm.delete(jm.start(small_school, "Week B", {"time_limit": 30}))

    retry = jm.retry(job_id)
    assert jm.get(job_id)["retried_by"] == retry
    doc = jm.wait(retry, timeout=120)
    assert doc["status"] == "completed" and doc["retry_of"] == job_id
    assert doc["options"] == {"time_limit": 30, "strict_balancing": True, "seed": 4}
    assert doc["version_name"] == "Week A"

    jm.delete(job_id)
    with pytest.raises(JobError, match="No job"):
        jm.get(job_id)
    assert job_id not in [d["id"] for d in jm.list()]


def test_a_job_for_a_missing_school_fails_with_a_readable_error(store, make_manager):
    jm = make_manager()
    doc = jm.wait(jm.start("no-such-school", "Week A", {"time_limit": 30}), timeout=60)
    assert doc["status"] == "failed"
    assert doc["error"].startswith("Could not load school 'no-such-school'")
    assert "Traceback" not in doc["error"]


def test_a_shut_down_process_leaves_its_jobs_to_the_next_one(store, large_school, make_manager):
    first = make_manager(lease_seconds=60)
    job_id = first.start(large_school, "Week A", {"time_limit": 30})
    waiting = first.start(large_school, "Week B", {"time_limit": 30})
    wait_for(first, job_id, solving)
    first.shutdown()

    second = make_manager(requeue_interrupted=True)
    doc = second.get(job_id)
    assert doc["status"] == "interrupted"
    assert doc["worker"] == first.worker_id
    assert "stopped while it was solving" in doc["error"]
    assert "stopped before it started" in second.get(waiting)["error"]
    again = [doc["retried_by"], second.get(waiting)["retried_by"]]
    assert [second.get(x)["worker"] for x in again] == [second.worker_id] * 2
    assert sorted(second.get(x)["version_name"] for x in again) == ["Week A", "Week B"]
    for x in again:
        second.cancel(x, keep="discard")
