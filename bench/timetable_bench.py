"""Timetable views on the 914-period demo school: switching grids and exporting, with a solved version saved
in the store (the embedded MongoDB in a temporary directory, or MONGODB_URI).

    .venv/bin/python bench/timetable_bench.py               # solve with CP-SAT (time limit 60 s), then measure
    .venv/bin/python bench/timetable_bench.py --no-solve    # use the demo's own complete timetable

A grid switch is what the Timetables page does when the planner picks another class, teacher or room:
the view model's parameter changes, the grid HTML and the unplaced list are rebuilt, and the Bokeh
document receives the new content. It is measured twice: in-process, and in chromium against the real
dashboard (``panel serve dashboard/app.py``), from the click until the new grid is on screen.
Targets: switching grids <= 500 ms, XLSX of all classes <= 3 s.
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from bokeh.document import Document

from dashboard.state import AppState
from dashboard.timetable import Schedule, compare, to_csv, to_print_html, to_xlsx
from dashboard.timetable.analytics import analytics_figures
from dashboard.timetable.source import ScheduleCache
from dashboard.timetable.view import TimetableView
from solver.demo import demo_with_timetable
from solver.solve import SolveOptions, solve
from store import open_store

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
from conftest import CHROMIUM_ARGS  # the browser tests' flags for Debian's chromium


def timed(fn, repeat: int) -> list[float]:
    out = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        out.append(time.perf_counter() - start)
    return out


def row(what: str, times: list[float], target: str = "") -> str:
    ms = sorted(t * 1000 for t in times)
    p95 = ms[min(len(ms) - 1, round(0.95 * (len(ms) - 1)))]
    return f"| {what} | {len(ms)} | {statistics.median(ms):.1f} | {p95:.1f} | {ms[-1]:.1f} | {target} |"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, default=914)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--time-limit", type=float, default=60.0, help="CP-SAT time limit in seconds")
    parser.add_argument("--no-solve", action="store_true", help="use the demo's own complete timetable")
    parser.add_argument("--repeat", type=int, default=5, help="runs of each export")
    parser.add_argument("--no-browser", action="store_true", help="skip the measurement in chromium")
    args = parser.parse_args()

    school, known = demo_with_timetable(args.periods, args.seed)
    if args.no_solve:
        timetable, how = known, "the demo's own complete timetable"
    else:
        start = time.perf_counter()
        timetable = solve(school, SolveOptions(time_limit=args.time_limit))
        how = f"solved by CP-SAT in {time.perf_counter() - start:.1f} s ({timetable.placed}/{timetable.total} placed)"

    with tempfile.TemporaryDirectory() as data:
        store = open_store(data_dir=data, db_name="timetable_bench")
        try:
            school_id = store.import_school(school, f"Demo {args.periods}")
            version = store.save_version(
                school_id, "solved", timetable, options={"time_limit": args.time_limit}
            )
            other = store.save_version(school_id, "demo", known)
            rows = measure(store, school_id, version, other, args.repeat)
            if not args.no_browser:
                rows += measure_browser(data, school_id, version, school)
        finally:
            store.close()

    n_classes, n_teachers, n_rooms = len(school.classes), len(school.teachers), len(school.rooms)
    print(f"# Timetable views: {args.periods}-period demo school (seed {args.seed}), {how}")
    print(
        f"{n_classes} classes, {n_teachers} teachers, {n_rooms} rooms, {len(timetable.placements)} placed blocks\n"
    )
    print("| what | runs | median ms | p95 ms | max ms | target |")
    print("|---|---|---|---|---|---|")
    for r in rows:
        print(r)


def measure(store, school_id: str, version: str, other: str, repeat: int) -> list[str]:
    rows = []
    load = timed(lambda: ScheduleCache(store).get(version, school_id), repeat)
    rows.append(row("open a version from the store (school + placements, uncached)", load))

    state = AppState(store, None, school=school_id)
    view = TimetableView(state)
    view.version = version
    # Attach the page to a Bokeh document, as a browser session does, so switches also update models.
    view.__panel__().get_root(Document())
    schedule = view.schedule
    switches: dict[str, list[float]] = {}
    for kind in ("class", "teacher", "room"):
        items = list(schedule.items(kind))
        start = time.perf_counter()
        view.kind = kind
        switches.setdefault(kind, []).append(time.perf_counter() - start)
        for item in items[1:]:
            start = time.perf_counter()
            view.item = item
            switches[kind].append(time.perf_counter() - start)
    every = [t for ts in switches.values() for t in ts]
    rows.append(row("switch grid, all kinds (view model + page update)", every, "≤ 500 ms"))
    for kind, ts in switches.items():
        rows.append(row(f"switch grid: {kind}", ts))

    rows.append(row("XLSX export, all classes", timed(lambda: to_xlsx(schedule, "class"), repeat), "≤ 3 s"))
    rows.append(row("XLSX export, all teachers", timed(lambda: to_xlsx(schedule, "teacher"), repeat)))
    rows.append(row("print HTML, all classes", timed(lambda: to_print_html(schedule, "class"), repeat)))
    rows.append(row("CSV export", timed(lambda: to_csv(schedule), repeat)))
    fresh = timed(lambda: Schedule(schedule.school, schedule.timetable).breakdown_frame(), repeat)
    rows.append(row("soft-rule breakdown (checker)", fresh))
    old = ScheduleCache(store).get(other, school_id)
    rows.append(row("compare two versions", timed(lambda: compare(old, schedule), repeat)))
    rows.append(row("analytics figures", timed(lambda: analytics_figures(schedule), repeat)))
    return rows


def measure_browser(data: str, school_id: str, version: str, school) -> list[str]:
    """Grid switches in chromium against the real dashboard, from the click to the new grid on screen."""
    if not shutil.which("chromium"):
        return [
            "| switch grid in chromium | - | - | - | - | chromium is not installed (apt-get install chromium) |"
        ]
    from playwright.sync_api import sync_playwright

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {**os.environ, "TIMETABLER_DATA_DIR": data, "MONGODB_DB": "timetable_bench"}
    with open(Path(data) / "panel.log", "w") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", "dashboard/app.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    url = f"http://127.0.0.1:{port}/app"
    try:
        for _ in range(180):
            try:
                urllib.request.urlopen(url, timeout=5).close()
                break
            except OSError:
                time.sleep(0.5)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            start = time.perf_counter()
            page.goto(f"{url}?page=timetables&school={school_id}&version={version}")
            page.locator(f'table.tt-grid[data-kind="class"][data-id="{school.classes[0].id}"]').wait_for(
                timeout=60000
            )
            first_paint = time.perf_counter() - start
            times: dict[str, list[float]] = {}
            items = {
                "class": [(c.id, c.name) for c in school.classes],
                "teacher": [(t.id, t.name) for t in school.teachers],
                "room": [(r.id, r.name) for r in school.rooms],
            }
            for kind, label in (("teacher", "Teacher"), ("room", "Room"), ("class", "Class")):
                start = time.perf_counter()
                page.get_by_role("button", name=label, exact=True).click()
                page.locator(f'table.tt-grid[data-kind="{kind}"]').wait_for(timeout=10000)
                times.setdefault(kind, []).append(time.perf_counter() - start)
                select = page.locator("select", has=page.locator("option", has_text=items[kind][1][1]))
                for id, name in items[kind][1:21]:
                    start = time.perf_counter()
                    select.select_option(label=name)
                    page.locator(f'table.tt-grid[data-kind="{kind}"][data-id="{id}"]').wait_for(timeout=10000)
                    times[kind].append(time.perf_counter() - start)
            browser.close()
    finally:
        server.terminate()
        server.wait(timeout=30)
    every = [t for ts in times.values() for t in ts]
    return [
        row("open the Timetables page on a version in chromium (first grid)", [first_paint]),
        row("switch grid in chromium, click to new grid shown", every, "≤ 500 ms"),
        *(row(f"switch grid in chromium: {kind}", ts) for kind, ts in times.items()),
    ]


if __name__ == "__main__":
    main()
