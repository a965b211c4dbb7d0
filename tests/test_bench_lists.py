"""The FET comparison's list of files: read before anything is measured, with a clear message when
the list or a file it names is missing."""

import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def fet_compare(monkeypatch, tmp_path):
    spec = importlib.util.spec_from_file_location("fet_compare", ROOT / "bench" / "fet_compare.py")
    module = importlib.util.module_from_spec(spec)
    # Its dataclasses look their module up by name.
    monkeypatch.setitem(sys.modules, "fet_compare", module)
    spec.loader.exec_module(module)
    monkeypatch.setattr(module, "EXAMPLES", tmp_path / "examples")
    return module


def test_a_list_names_files_relative_to_the_examples_or_absolute(fet_compare, tmp_path):
    examples = tmp_path / "examples"
    (examples / "Brazil").mkdir(parents=True)
    (examples / "Brazil" / "Brazil.fet").write_text("<fet/>")
    elsewhere = tmp_path / "mine.fet"
    elsewhere.write_text("<fet/>")
    listed = tmp_path / "list.txt"
    listed.write_text(f"# the development set\n\nBrazil/Brazil.fet\n  {elsewhere}  \n")
    assert fet_compare.read_list(listed) == [examples / "Brazil" / "Brazil.fet", elsewhere]


def test_a_missing_list_ends_the_run_naming_it(fet_compare, tmp_path):
    with pytest.raises(SystemExit) as stop:
        fet_compare.read_list(tmp_path / "nowhere.txt")
    assert "nowhere.txt" in str(stop.value) and "one .fet file a line" in str(stop.value)


def test_a_list_naming_a_missing_file_ends_the_run_naming_the_file(fet_compare, tmp_path):
    listed = tmp_path / "list.txt"
    listed.write_text("Nowhere/x.fet\n")
    with pytest.raises(SystemExit) as stop:
        fet_compare.read_list(listed)
    assert "Nowhere/x.fet" in str(stop.value) and "Fix or remove" in str(stop.value)


@pytest.fixture
def gap_repair_bench():
    spec = importlib.util.spec_from_file_location("gap_repair_bench", ROOT / "bench" / "gap_repair_bench.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_gap_repair_bench_names_a_missing_file_and_where_it_looked(gap_repair_bench, tmp_path):
    with pytest.raises(SystemExit) as stop:
        gap_repair_bench.main([str(tmp_path / "nowhere.fet")])
    assert "nowhere.fet" in str(stop.value) and "relative to" in str(stop.value)


def test_the_gap_repair_bench_says_when_a_school_has_no_gap_rule(gap_repair_bench):
    with pytest.raises(SystemExit) as stop:
        gap_repair_bench.main([str(ROOT / "tests" / "data" / "fet" / "tiny.fet")])
    assert "tiny.fet has no hard gap rule" in str(stop.value)


def test_the_gap_repair_bench_times_the_repair_from_each_placement(gap_repair_bench, tmp_path, capsys):
    tiny = (ROOT / "tests" / "data" / "fet" / "tiny.fet").read_text(encoding="utf-8")
    rule = (
        "<ConstraintTeachersMaxGapsPerWeek><Weight_Percentage>100</Weight_Percentage>"
        "<Max_Gaps>0</Max_Gaps><Active>true</Active><Comments></Comments></ConstraintTeachersMaxGapsPerWeek>"
    )
    school = tmp_path / "gaps.fet"
    school.write_text(
        tiny.replace("<Time_Constraints_List>", "<Time_Constraints_List>\n" + rule, 1), encoding="utf-8"
    )
    gap_repair_bench.main([str(school), "--placements", "2", "--runs", "2", "--limit", "10"])
    out = capsys.readouterr().out
    assert "gaps.fet: 1 hard gap rule(s)" in out
    rows = [line for line in out.splitlines() if line.startswith(("| 0 ", "| 1 "))]
    assert len(rows) == 2
    assert "4 of 4 within 10 s" in out
