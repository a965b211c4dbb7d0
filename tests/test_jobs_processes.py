"""Jobs across processes and outages: a serving process killed mid-solve, two processes on one database,
and a database that is down when a solve ends. Real child processes, real nx-27017 servers."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from jobs import JobError, JobManager
from solver.checker import check
from solver.demo import demo_with_timetable, generate_demo
from store import open_store
from store.jobs import JobDocs
from store.server import EmbeddedServer

ROOT = Path(__file__).resolve().parent.parent

SERVING_PROCESS = """
import sys
from jobs import JobManager
from store import open_store

school_id, spool, time_limit, *names = sys.argv[1:]
store = open_store()
jm = JobManager(store, workers=1, min_time_limit=1, spool_dir=spool, heartbeat_seconds=0.5)
print(jm.worker_id, flush=True)
for name in names:
    print(jm.start(school_id, name, {"time_limit": float(time_limit)}), flush=True)
sys.stdin.read()  # serve until the test closes our stdin
jm.shutdown()
store.close()
"""


class Serving:
    """A child process serving jobs with its own JobManager on the test's database."""

    def __init__(self, store_server, store, school_id, spool, time_limit, names):
        env = store_server.env(store.db.name)
        env["PYTHONPATH"] = str(ROOT)
        self.process = subprocess.Popen(
            [sys.executable, "-c", SERVING_PROCESS, school_id, str(spool), str(time_limit), *names],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.worker_id = self._line()
        self.job_ids = [self._line() for _ in names]

    def _line(self) -> str:
        line = self.process.stdout.readline().strip()
        if not line:
            raise AssertionError(f"the serving process failed:\n{self.process.stderr.read()}")
        return line

    def stop(self) -> int:
        self.process.stdin.close()
        return self.process.wait(timeout=60)

    def kill(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)


@pytest.fixture
def serving(store_server, store):
    started = []

    def serve(school_id, spool, time_limit, *names):
        child = Serving(store_server, store, school_id, spool, time_limit, names)
        started.append(child)
        return child

    yield serve
    for child in started:
        child.kill()


def wait_doc(read, job_id, predicate, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        doc = read(job_id)
        if doc is not None and predicate(doc):
            return doc
        time.sleep(0.1)
    raise AssertionError(f"job {job_id} never got there: {read(job_id)}")


def solving(doc):
    return doc["status"] == "running" and doc["phase"] not in ("loading", "solving")


def placements(timetable):
    return sorted((p.lesson, p.block, tuple(p.slot), p.room) for p in timetable.placements)


def test_a_process_killed_mid_solve_leaves_an_interrupted_job_and_the_previous_version(
    store, serving, tmp_path
):
    school, timetable = demo_with_timetable(periods=150, seed=2)
    school_id = store.import_school(school, "Large")
    previous = store.save_version(school_id, "Week A", timetable)
    before = placements(store.load_version(previous))

    child = serving(school_id, tmp_path / "child-spool", 15, "Week A")
    job_id = child.job_ids[0]
    docs = JobDocs(store.db)
    wait_doc(docs.get, job_id, solving)
    child.kill()
    assert docs.get(job_id)["status"] == "running"

    jm = JobManager(store, workers=1, min_time_limit=1, spool_dir=tmp_path / "spool", heartbeat_seconds=0.5)
    try:
        doc = jm.get(job_id)
        assert doc["status"] == "interrupted"
        assert f"({child.worker_id}) stopped while it was solving" in doc["error"]
        assert doc["error"].endswith("Retry the job to solve again.")
        assert [v["id"] for v in store.list_versions(school_id)] == [previous]
        assert placements(store.load_version(previous)) == before

        retry = jm.retry(job_id)
        done = jm.wait(retry, timeout=120)
        assert done["status"] == "completed", done
        assert done["retry_of"] == job_id and done["options"] == doc["options"]
        assert done["result"]["version_id"] == previous
        saved = store.load_version(previous)
        assert saved.placed == done["result"]["placed"]
        assert len(check(store.load_school(school_id), saved).hard) == done["result"]["unplaced_blocks"]
    finally:
        jm.shutdown()


def test_two_processes_share_one_database_without_taking_each_others_jobs(store, serving, tmp_path):
    busy = store.import_school(generate_demo(periods=150, seed=2), "Large")
    small = store.import_school(generate_demo(periods=20, seed=1), "Small")
    child = serving(busy, tmp_path / "child-spool", 60, "B1", "B2")
    b1, b2 = child.job_ids
    docs = JobDocs(store.db)
    wait_doc(docs.get, b1, solving)

    jm = JobManager(store, workers=1, min_time_limit=1, spool_dir=tmp_path / "spool", heartbeat_seconds=0.5)
    try:
        time.sleep(1.5)  # long enough for this process's idle worker to look for queued jobs
        assert (jm.get(b1)["status"], jm.get(b1)["worker"]) == ("running", child.worker_id)
        assert (jm.get(b2)["status"], jm.get(b2)["worker"]) == ("queued", child.worker_id)

        jm.cancel(b1, keep="discard")  # a request the holding process carries out
        cancelled = wait_doc(jm.get, b1, lambda d: d["status"] == "cancelled", timeout=30)
        assert cancelled["worker"] == child.worker_id
        wait_doc(jm.get, b2, lambda d: d["status"] == "running")
        assert jm.get(b2)["worker"] == child.worker_id

        mine = jm.start(small, "A1", {"time_limit": 30})
        done = jm.wait(mine, timeout=120)
        assert (done["status"], done["worker"]) == ("completed", jm.worker_id)
        assert jm.get(b2)["worker"] == child.worker_id
        assert jm.get(b2)["status"] in ("running", "saving", "completed")

        if jm.get(b2)["status"] == "running":
            jm.cancel(b2, keep="discard")
        wait_doc(jm.get, b2, lambda d: d["status"] in ("cancelled", "completed"), timeout=30)
        assert child.stop() == 0
        assert all(d["status"] != "interrupted" for d in jm.list())
    finally:
        jm.shutdown()


def test_a_save_while_the_database_is_down_is_kept_and_saved_when_it_returns(tmp_path):
    server = EmbeddedServer(tmp_path / "database")
    server.ensure_running()
    store = open_store(uri=server.uri, db_name="outage", retry_for=1)
    jm = JobManager(
        store,
        workers=1,
        min_time_limit=1,
        spool_dir=tmp_path / "spool",
        heartbeat_seconds=0.5,
        save_backoff=(1, 600),
    )
    try:
        school_id = store.import_school(generate_demo(periods=60, seed=1), "School")
        job_id = jm.start(school_id, "Week A", {"time_limit": 6})
        wait_doc(jm.get, job_id, solving)
        server.kill()

        spool = tmp_path / "spool" / f"{job_id}.json"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (job_id in jm._saves and jm._saves[job_id].attempts >= 2):
            time.sleep(0.2)
        kept = json.loads(spool.read_text())
        assert kept["job_id"] == job_id and kept["timetable"]["placed"] > 0
        assert len(kept["timetable"]["placements"]) > 0
        with pytest.raises(JobError, match="The database is not reachable right now"):
            jm.get(job_id)

        server.ensure_running()
        doc = wait_doc(jm.get, job_id, lambda d: d["status"] == "save_failed", timeout=30)
        assert "Saving version 'Week A' failed (attempt 2)" in doc["error"]
        assert "The timetable is kept" in doc["error"]
        assert any("failed (attempt 1)" in line for line in doc["log"])
        in_document = JobDocs(store.db).get(job_id, with_result=True)["result_data"]
        assert in_document["timetable"] == kept["timetable"]
        assert store.list_versions(school_id) == []

        jm.retry_save(job_id)
        doc = jm.wait(job_id, timeout=60)
        assert doc["status"] == "completed" and doc["progress"] == 100, doc
        assert doc["save_attempts"] == 3
        saved = store.load_version(doc["result"]["version_id"])
        assert saved.placed == kept["timetable"]["placed"]
        assert len(saved.placements) == len(kept["timetable"]["placements"])
        assert not spool.exists()
        assert "result_data" not in JobDocs(store.db).get(job_id, with_result=True)
    finally:
        jm.shutdown()
        store.close()
        server.stop()


def test_a_result_spooled_by_a_killed_process_is_saved_by_the_next_one(tmp_path):
    server = EmbeddedServer(tmp_path / "database")
    server.ensure_running()
    store = open_store(uri=server.uri, db_name="spooled", retry_for=1)
    spool = tmp_path / "spool"
    child = None
    jm = None
    try:
        school_id = store.import_school(generate_demo(periods=60, seed=1), "School")
        env = {**os.environ, "MONGODB_URI": server.uri, "MONGODB_DB": "spooled", "PYTHONPATH": str(ROOT)}
        child = subprocess.Popen(
            [sys.executable, "-c", SERVING_PROCESS, school_id, str(spool), "6", "Week A"],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        child.stdout.readline()
        job_id = child.stdout.readline().strip()
        docs = JobDocs(store.db)
        wait_doc(docs.get, job_id, solving)
        server.kill()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not (spool / f"{job_id}.json").exists():
            time.sleep(0.1)
        kept = json.loads((spool / f"{job_id}.json").read_text())
        os.kill(child.pid, signal.SIGKILL)
        child.wait(timeout=30)

        server.ensure_running()
        jm = JobManager(store, workers=1, min_time_limit=1, spool_dir=spool, heartbeat_seconds=0.5)
        doc = jm.wait(job_id, timeout=60)
        assert doc["status"] == "completed", doc
        assert doc["worker"] == jm.worker_id
        assert any("takes over saving the kept timetable" in line for line in doc["log"])
        saved = store.load_version(doc["result"]["version_id"])
        assert saved.placed == kept["timetable"]["placed"] > 0
        assert not (spool / f"{job_id}.json").exists()
    finally:
        if child is not None and child.poll() is None:
            child.kill()
        if jm is not None:
            jm.shutdown()
        store.close()
        server.stop()
