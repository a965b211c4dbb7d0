"""``python -m store``: demo and FET imports, listings and JSON export, run as a separate process."""

import json
import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from solver.io import timetable_from_dict

ROOT = Path(__file__).resolve().parent.parent
FET_EXAMPLE = Path("/usr/share/doc/fet-data/examples/FET-5-terms/1/simple.fet")


@pytest.fixture
def cli(store_server):
    db_name = f"test_cli_{uuid.uuid4().hex[:8]}"
    env = {**store_server.env(db_name), "PYTHONPATH": str(ROOT)}

    def run(*args: str, ok: bool = True) -> subprocess.CompletedProcess:
        done = subprocess.run(
            [sys.executable, "-m", "store", *args],
            check=False,
            env=env,
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert (done.returncode == 0) == ok, done.stderr
        return done

    run.store = store_server.open(db_name)
    yield run
    run.store.db.client.drop_database(db_name)
    run.store.close()


def test_demo_list_and_export_a_version(cli, tmp_path):
    out = cli(
        "demo", "--periods", "120", "--seed", "2", "--name", "CLI demo", "--timetable", "Demo week"
    ).stdout
    assert "'CLI demo'" in out and "120/120 periods placed" in out
    [school] = cli.store.list_schools()
    assert school["name"] == "CLI demo"
    assert "CLI demo" in cli("schools").stdout
    [version] = cli.store.list_versions(school["id"])
    assert version["id"] in cli("versions", school["id"]).stdout

    target = tmp_path / "timetable.json"
    cli("export", version["id"], "-o", str(target))
    exported = json.loads(target.read_text())
    assert exported["version"]["name"] == "Demo week"
    timetable = timetable_from_dict(
        {k: v for k, v in exported.items() if k != "version"}, cli.store.load_school(school["id"])
    )
    assert timetable.placed == timetable.total == 120 and timetable.complete

    school_file = tmp_path / "school.json"
    cli("export-school", school["id"], "-o", str(school_file))
    cli("import-json", str(school_file), "--name", "Copy")
    assert [s["name"] for s in cli.store.list_schools()] == ["CLI demo", "Copy"]


def test_import_a_fet_file(cli):
    if not FET_EXAMPLE.exists():
        from conftest import require_system

        require_system("fet-cl", "fet-data")
        pytest.skip(f"{FET_EXAMPLE} is missing: install the Debian package 'fet-data'")
    out = cli("import-fet", str(FET_EXAMPLE)).stdout
    [school] = cli.store.list_schools()
    assert school["id"] in out and school["counts"]["lessons"] > 0


def test_bad_input_gets_a_message_not_a_traceback(cli, tmp_path):
    missing = cli("import-json", str(tmp_path / "nope.json"), ok=False)
    assert "error:" in missing.stderr and "file not found" in missing.stderr
    assert "Traceback" not in missing.stderr
    unknown = cli("export", "no-such-version", ok=False)
    assert "version 'no-such-version' does not exist" in unknown.stderr


def test_status_reports_the_embedded_server(store_server, tmp_path):
    if store_server.data_dir is None:
        pytest.skip("no embedded server with MONGODB_URI")
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-m", "store", "--data-dir", str(store_server.data_dir), "status"],
        check=False,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.stdout.startswith("running: pid")
