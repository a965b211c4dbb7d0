"""Faults: the database killed in the middle of a save, unreachable, restarted after a crash; processes
sharing one embedded server. These start their own embedded servers in temporary data directories."""

import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from datetime import timedelta

import pytest

from solver.demo import demo_with_timetable
from solver.domain import Timetable
from store import Store, UnavailableError, open_store
from store.server import EmbeddedServer, acquire, free_port, ping, release

pytestmark = pytest.mark.skipif(
    bool(os.environ.get("MONGODB_URI")),
    reason="kills and restarts the embedded server, not a MONGODB_URI one",
)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@pytest.fixture(scope="module")
def demo():
    """A school and two different complete timetables of it (the second shifted by a day)."""
    school, first = demo_with_timetable(400, 5)
    cal = school.calendar
    second = Timetable(
        placements=[
            type(p)(p.lesson, p.block, ((p.slot[0] + 1) % cal.n_days, p.slot[1]), p.length, p.room)
            for p in first.placements
        ],
        placed=first.placed,
        total=first.total,
        score=first.score + 1,
    )
    return school, first, second


def stored_placements(store) -> int:
    return sum(len(chunk["items"]) for chunk in store.db.placements.find({}))


def placements(timetable: Timetable) -> list[tuple]:
    return sorted((p.lesson, p.block, p.slot, p.room) for p in timetable.placements)


@pytest.fixture
def data_dir(tmp_path):
    path = tmp_path / "data"
    yield path
    EmbeddedServer(path).stop()


def reopen(data_dir, **options) -> Store:
    return open_store(data_dir=data_dir, db_name="faults", **options)


def crash_before(monkeypatch, step: str) -> None:
    """SIGKILL the embedded server just before the save protocol's ``step``."""
    original = getattr(Store, step)

    def crashing(self, *args):
        self.server.kill()
        return original(self, *args)

    monkeypatch.setattr(Store, step, crashing)


def test_server_killed_before_the_switch_keeps_the_previous_timetable(data_dir, demo, monkeypatch):
    school, first, second = demo
    store = reopen(data_dir, retry_for=0)
    school_id = store.import_school(school)
    version_id = store.save_version(school_id, "Week A", first)
    crash_before(monkeypatch, "_switch_revision")
    with pytest.raises(UnavailableError, match="did not answer while saving version 'Week A'"):
        store.save_version(school_id, "Week A", second)
    monkeypatch.undo()
    store.close()

    store = reopen(data_dir)
    assert placements(store.load_version(version_id)) == placements(first)
    assert store.cleanup(older_than=timedelta(0))["revisions"] == 1
    assert stored_placements(store) == len(first.placements)
    store.close()


def test_server_killed_after_the_switch_keeps_the_new_timetable(data_dir, demo, monkeypatch):
    school, first, second = demo
    store = reopen(data_dir, retry_for=0)
    school_id = store.import_school(school)
    version_id = store.save_version(school_id, "Week A", first)
    crash_before(monkeypatch, "_drop_revision")
    with pytest.raises(UnavailableError):
        store.save_version(school_id, "Week A", second)
    monkeypatch.undo()
    store.close()

    store = reopen(data_dir)
    assert placements(store.load_version(version_id)) == placements(second)
    assert store.get_version(version_id)["stats"]["score"] == second.score
    assert store.cleanup(older_than=timedelta(0))["revisions"] == 1
    assert stored_placements(store) == len(second.placements)
    store.close()


@pytest.mark.parametrize("delay", [0.005, 0.02, 0.05])
def test_server_killed_at_any_moment_of_a_save_leaves_one_complete_timetable(data_dir, demo, delay):
    school, first, second = demo
    store = reopen(data_dir, retry_for=0)
    school_id = store.import_school(school)
    version_id = store.save_version(school_id, "Week A", first)
    killer = threading.Timer(delay, store.server.kill)
    killer.start()
    try:
        store.save_version(school_id, "Week A", second)
    except UnavailableError:
        pass
    killer.join()
    store.close()

    store = reopen(data_dir)
    assert placements(store.load_version(version_id)) in (placements(first), placements(second))
    store.cleanup(older_than=timedelta(0))
    assert stored_placements(store) == len(first.placements)
    store.close()


def test_a_save_retries_through_a_crash_of_the_embedded_server(data_dir, demo, monkeypatch):
    school, first, second = demo
    store = reopen(data_dir)
    port = store.server.port
    school_id = store.import_school(school)
    version_id = store.save_version(school_id, "Week A", first)
    calls = []
    original = Store._switch_revision

    def crash_once(self, *args):
        calls.append(1)
        if len(calls) == 1:
            self.server.kill()
        return original(self, *args)

    monkeypatch.setattr(Store, "_switch_revision", crash_once)
    assert store.save_version(school_id, "Week A", second) == version_id
    assert placements(store.load_version(version_id)) == placements(second)
    assert store.server.port == port, "restarted on the same port, so open connections carry on"
    store.close()


def test_a_store_follows_a_server_another_process_restarted_on_another_port(data_dir):
    store = reopen(data_dir)
    school_id = store.create_school("Moving")
    old_port = store.server.port
    store.server.kill()
    with socket.socket() as squatter:
        squatter.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        squatter.bind(("127.0.0.1", old_port))
        squatter.listen()
        elsewhere = EmbeddedServer(data_dir)  # as another process of the app would
        elsewhere.ensure_running()
        assert elsewhere.port != old_port
        assert [s["id"] for s in store.list_schools()] == [school_id]
    assert store.server.port == elsewhere.port
    store.close()


def test_an_unreachable_database_gives_a_clear_error_after_retries(caplog):
    uri = f"mongodb://127.0.0.1:{free_port()}/?directConnection=true"
    with caplog.at_level(logging.WARNING, logger="store.api"), pytest.raises(UnavailableError) as e:
        open_store(uri=uri, db_name="nothing", retry_for=4.0, timeout=0.1)
    assert "MongoDB at 127.0.0.1" in str(e.value)
    assert "did not answer while preparing the database, even after retrying" in str(e.value)
    retries = [r for r in caplog.records if "retrying in" in r.getMessage()]
    assert len(retries) >= 3
    delays = [float(r.getMessage().split("retrying in ")[1].split(" ")[0]) for r in retries]
    assert delays[:3] == [0.1, 0.2, 0.4], "backoff doubles"


def test_operations_wait_for_a_database_that_comes_back(data_dir, demo):
    server = acquire(data_dir)
    try:
        store = open_store(uri=server.uri, db_name="faults", retry_for=20, timeout=0.5)
        school_id = store.create_school("Back soon")
        server.kill()
        threading.Timer(1.0, server.ensure_running).start()
        assert [s["id"] for s in store.list_schools()] == [school_id]
        store.close()
    finally:
        release(server)


def test_restart_after_an_unclean_stop_with_stale_files_keeps_the_data(data_dir, demo):
    school, first, _ = demo
    store = reopen(data_dir)
    school_id = store.import_school(school)
    version_id = store.save_version(school_id, "Week A", first)
    old_pid = store.server.pid
    store.server.kill()
    # After a crash the pid file may name a live, unrelated process (pids are reused).
    (data_dir / "nx-27017.pid").write_text(str(os.getpid()))
    store.close()

    store = reopen(data_dir)
    assert store.server.pid != old_pid
    assert [s["id"] for s in store.list_schools()] == [school_id]
    assert placements(store.load_version(version_id)) == placements(first)
    store.close()


def test_a_server_that_lost_its_discovery_file_is_reused_not_doubled(data_dir):
    store = reopen(data_dir)
    pid, port = store.server.pid, store.server.port
    (data_dir / "server.json").unlink()
    other = EmbeddedServer(data_dir)
    other.ensure_running()
    assert (other.pid, other.port) == (pid, port)
    assert (data_dir / "server.json").exists()
    store.close()
    assert not ping("127.0.0.1", port, timeout=0.3)


def child(code: str, data_dir, **popen) -> subprocess.Popen:
    env = {**os.environ, "TIMETABLER_DATA_DIR": str(data_dir), "MONGODB_DB": "faults"}
    env.pop("MONGODB_URI", None)
    env["PYTHONPATH"] = ROOT
    return subprocess.Popen([sys.executable, "-c", code], env=env, cwd=ROOT, text=True, **popen)


def test_processes_share_one_server_and_the_last_one_stops_it(data_dir):
    store = reopen(data_dir)
    pid, port = store.server.pid, store.server.port
    out = child(
        "from store import open_store\ns = open_store()\nprint(s.server.pid, s.server.port)\ns.close()",
        data_dir,
        stdout=subprocess.PIPE,
    ).communicate(timeout=60)[0]
    assert out.split() == [str(pid), str(port)]
    assert ping("127.0.0.1", port), "the other process left; ours still uses the server"
    assert store.server.pid == pid
    store.create_school("Still here")
    store.close()
    assert not ping("127.0.0.1", port, timeout=0.3)
    assert not (data_dir / "server.json").exists()


def test_an_app_process_killed_in_the_middle_of_saves_leaves_a_complete_timetable(data_dir, demo):
    school, first, _second = demo
    store = reopen(data_dir)
    school_id = store.import_school(school)
    version_id = store.save_version(school_id, "Week A", first)
    saver = child(
        "import sys\n"
        "from store import open_store\n"
        "from solver.demo import demo_with_timetable\n"
        "s = open_store()\n"
        "_, timetable = demo_with_timetable(400, 5)\n"
        "timetable.placements = timetable.placements[::-1][:300]\n"
        "print('saving', flush=True)\n"
        f"while True: s.save_version('{school_id}', 'Week A', timetable)\n",
        data_dir,
        stdout=subprocess.PIPE,
    )
    assert saver.stdout.readline().strip() == "saving"
    time.sleep(0.5)
    saver.send_signal(signal.SIGKILL)
    saver.wait()
    counts = {len(first.placements), 300}
    assert len(store.load_version(version_id).placements) in counts
    store.cleanup(older_than=timedelta(0))
    assert stored_placements(store) in counts
    store.close()
