"""The repository's own promises: one dependency list in two formats."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _normalise(spec: str) -> str:
    return re.sub(r"\s+", "", spec).lower()


def test_environment_yml_lists_the_same_dependencies_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = {_normalise(s) for s in project["dependencies"]}
    for extra in project["optional-dependencies"].values():
        wanted |= {_normalise(s) for s in extra}
    listed = set()
    in_pip = False
    for line in (ROOT / "environment.yml").read_text().splitlines():
        stripped = line.strip()
        if stripped.startswith("- pip:"):
            in_pip = True
            continue
        if in_pip and stripped.startswith("- "):
            listed.add(_normalise(stripped[2:]))
    assert listed == wanted


def test_the_engine_imports_neither_panel_nor_pymongo():
    pattern = re.compile(r"^\s*(import|from)\s+(panel|pymongo|bokeh)\b", re.MULTILINE)
    offenders = [p.name for p in (ROOT / "solver").rglob("*.py") if pattern.search(p.read_text())]
    assert offenders == []


def test_readme_opens_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    commands = re.findall(r"^\./dev (\w+)", text, re.MULTILINE)
    assert commands[:2] == ["serve", "test"]


def test_notebooks_are_stored_without_outputs():
    import json

    for path in sorted((ROOT / "notebooks").glob("*.ipynb")):
        cells = json.loads(path.read_text())["cells"]
        dirty = [
            i
            for i, c in enumerate(cells)
            if c["cell_type"] == "code" and (c.get("outputs") or c.get("execution_count"))
        ]
        assert dirty == [], f"{path.name}: clear the outputs of cells {dirty}"
