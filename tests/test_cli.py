"""``python -m solver``: the happy path, and clear messages (never a traceback) for bad files."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from solver import save_school, save_timetable
from solver.demo import demo_with_timetable

ROOT = Path(__file__).parents[1]


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, "-m", "solver", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert "Traceback" not in result.stderr, result.stderr
    return result


@pytest.fixture
def school_file(tmp_path) -> Path:
    result = run("demo", "--periods", "60", "--seed", "2", "-o", "school.json", cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert "60 periods" in result.stdout
    return tmp_path / "school.json"


def test_demo_is_deterministic_and_valid(tmp_path, school_file):
    run("demo", "--periods", "60", "--seed", "2", "-o", "again.json", cwd=tmp_path)
    assert (tmp_path / "again.json").read_text() == school_file.read_text()
    result = run("validate", "school.json", cwd=tmp_path)
    assert result.returncode == 0 and "no problems" in result.stdout


def test_validate_lists_every_problem(tmp_path, school_file):
    data = json.loads(school_file.read_text())
    data["lessons"][0]["teachers"] = ["NOBODY"]
    data["lessons"][1]["blocks"] = [0]
    data["rules"][0]["weight"] = 150
    (tmp_path / "bad.json").write_text(json.dumps(data))
    result = run("validate", "bad.json", cwd=tmp_path)
    assert result.returncode == 1
    assert f"lesson {data['lessons'][0]['id']}.teachers: unknown teacher 'NOBODY'" in result.stdout
    assert f"lesson {data['lessons'][1]['id']}.blocks[0]" in result.stdout
    assert f"rule {data['rules'][0]['id']}.weight" in result.stdout
    assert "3 problem(s)" in result.stdout


def test_malformed_json_names_the_place(tmp_path):
    (tmp_path / "broken.json").write_text('{"name": "x",\n "calendar": {]}')
    result = run("validate", "broken.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "broken.json:2:" in result.stderr and "not valid JSON" in result.stderr


def test_unknown_fields_and_wrong_types_name_the_path(tmp_path, school_file):
    data = json.loads(school_file.read_text())
    data["lessons"][3]["colour"] = "red"
    data["teachers"][0]["name"] = 7
    (tmp_path / "odd.json").write_text(json.dumps(data))
    result = run("check", "odd.json", "missing.json", cwd=tmp_path)
    assert result.returncode == 2
    assert "$.lessons[3].colour: unknown field" in result.stderr
    assert "$.teachers[0].name: expected text" in result.stderr


def test_missing_file(tmp_path):
    result = run("solve", "nowhere.json", "-o", "t.json", cwd=tmp_path)
    assert result.returncode == 2 and "nowhere.json: file not found" in result.stderr


def test_solve_refuses_an_invalid_school_with_its_problems(tmp_path, school_file):
    data = json.loads(school_file.read_text())
    data["lessons"][0]["subject"] = "ASTROLOGY"
    (tmp_path / "bad.json").write_text(json.dumps(data))
    result = run("solve", "bad.json", "-o", "t.json", "--time-limit", "5", cwd=tmp_path)
    assert result.returncode == 2
    assert "unknown subject 'ASTROLOGY'" in result.stderr
    assert not (tmp_path / "t.json").exists()


def test_check_passes_a_valid_timetable_and_lists_violations(tmp_path):
    school, hidden = demo_with_timetable(80, seed=4)
    save_school(school, tmp_path / "school.json")
    save_timetable(hidden, school, tmp_path / "good.json")
    result = run("check", "school.json", "good.json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
    assert "every hard rule holds" in result.stdout

    data = json.loads((tmp_path / "good.json").read_text())
    first, second = data["placements"][0], data["placements"][1]
    second.update(day=first["day"], period=first["period"])
    data["placements"].pop()
    (tmp_path / "bad.json").write_text(json.dumps(data))
    result = run("check", "school.json", "bad.json", cwd=tmp_path)
    assert result.returncode == 1
    assert "Hard violations" in result.stdout and "[unplaced]" in result.stdout
    assert "hard violation(s)" in result.stdout


def test_check_refuses_a_timetable_of_another_school(tmp_path, school_file):
    (tmp_path / "t.json").write_text(
        json.dumps({"placements": [{"lesson": "X1", "day": "Monday", "period": "1"}]})
    )
    result = run("check", "school.json", "t.json", cwd=tmp_path)
    assert result.returncode == 2 and "$.placements[0].lesson: unknown lesson 'X1'" in result.stderr


def test_usage_errors(tmp_path):
    assert run("--help", cwd=tmp_path).returncode == 0
    result = run("frobnicate", cwd=tmp_path)
    assert result.returncode == 2 and "invalid choice" in result.stderr
    result = run("demo", "--periods", "0", "-o", "x.json", cwd=tmp_path)
    assert result.returncode == 2 and "--periods" in result.stderr


@pytest.mark.slow
def test_solve_then_check(tmp_path, school_file):
    result = run(
        "solve", "school.json", "-o", "timetable.json", "--time-limit", "20", "--stall", "2", cwd=tmp_path
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "placed 60/60" in result.stdout
    assert "placed" in result.stderr  # progress lines
    data = json.loads((tmp_path / "timetable.json").read_text())
    assert data["placed"] == data["total"] == 60 and data["unplaced"] == []
    assert {"placements", "breakdown", "phase", "solve_time"} <= set(data)
    result = run("check", "school.json", "timetable.json", cwd=tmp_path)
    assert result.returncode == 0, result.stdout
