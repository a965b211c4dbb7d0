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
