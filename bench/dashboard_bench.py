"""Dashboard benchmark, in Debian's chromium through Playwright. Prints a table of medians.

    .venv/bin/python bench/dashboard_bench.py [--runs 5]

It serves the dashboard with `panel serve` on a free port and a fresh database (the embedded server in a
temporary data directory, or MONGODB_URI when set), stores the 914-period demo school, and measures:

- first paint of the Lessons page: from opening its URL (a new page load: scripts, session, table) until
  the first rows of the table are visible, and from a click on "Lessons" in the sidebar (the usual way
  in) until the rows are visible;
- a cell edit reaching MongoDB: from pressing Enter in a "Min days apart" cell until the store returns
  the new value;
- a progress change in a job document appearing in the indicator: from the store's write of a new
  percentage until the progress card shows it. The job is held by this script (as another server
  process would hold it), so the dashboard's own job manager leaves it alone.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from conftest import CHROMIUM_ARGS  # the browser tests' flags for Debian's chromium
from playwright.sync_api import sync_playwright

from solver.demo import generate_demo
from store import open_store
from store.jobs import RUNNING, JobDocs, new_job_id

TARGETS = {
    "first paint, Lessons page (914 periods)": 2.0,
    "first paint, sidebar click to Lessons": 2.0,
    "cell edit to MongoDB": 0.2,
    "job progress to indicator": 1.5,
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def serve(env: dict, cwd: Path) -> tuple[subprocess.Popen, str]:
    port = free_port()
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "panel",
            "serve",
            str(ROOT / "dashboard" / "app.py"),
            "--port",
            str(port),
            "--address",
            "127.0.0.1",
            "--allow-websocket-origin",
            f"127.0.0.1:{port}",
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/app"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=10).read()
            return proc, url
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the dashboard did not start") from None
            time.sleep(0.3)


def wait_until(check, timeout: float = 10.0, step: float = 0.01) -> float:
    """Seconds until ``check()`` is true (polling), or raise after ``timeout``."""
    start = time.perf_counter()
    while not check():
        if time.perf_counter() - start > timeout:
            raise TimeoutError("the change did not arrive")
        time.sleep(step)
    return time.perf_counter() - start


def first_paint(page, url: str, school: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        page.goto(f"{url}?page=lessons&school={school}")
        page.locator(".tabulator-row").first.wait_for(timeout=30_000)
        times.append(time.perf_counter() - start)
    return times


def navigation(page, url: str, school: str, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        page.goto(f"{url}?page=import&school={school}")
        page.get_by_role("button", name="Create demo school").wait_for(timeout=30_000)
        start = time.perf_counter()
        page.get_by_role("button", name="Lessons", exact=True).click()
        page.locator(".tabulator-row").first.wait_for(timeout=30_000)
        times.append(time.perf_counter() - start)
    return times


def cell_edit(page, store, school: str, runs: int) -> list[float]:
    times = []
    lesson = store.list(school, "lessons")[0]["id"]
    for i in range(runs):
        value = 2 if store.get(school, "lessons", lesson)["min_days_apart"] != 2 else 1
        cell = page.locator(".tabulator-row").first.locator('[tabulator-field="min_days_apart"]')
        cell.click()
        editor = cell.locator("input")
        editor.wait_for()
        editor.fill(str(value))
        start = time.perf_counter()
        editor.press("Enter")
        wait_until(lambda v=value: store.get(school, "lessons", lesson)["min_days_apart"] == v)
        times.append(time.perf_counter() - start)
        page.wait_for_timeout(200)
    return times


def progress(page, store, school: str, runs: int) -> list[float]:
    docs = JobDocs(store.db)
    worker = f"bench:{os.getpid()}"
    job_id = new_job_id()
    now = dt.datetime.now(dt.UTC)
    docs.insert(
        {
            "_id": job_id,
            "school_id": school,
            "version_name": "Benchmark job",
            "options": {"time_limit": 300, "strict_balancing": True},
            "status": RUNNING,
            "phase": "solving",
            "progress": 1,
            "placed": 0,
            "total": 914,
            "message": "Solving.",
            "created": now,
            "seq": time.time(),
            "started": now,
            "finished": None,
            "updated": now,
            "worker": worker,
            "heartbeat": now,
            "lease_until": time.time() + 3600,
            "error": None,
            "log": [],
            "result": None,
        }
    )
    times = []
    try:
        line = page.locator(".job-line", has_text="Benchmark job")
        line.wait_for(timeout=10_000)
        for i in range(runs):
            percent = 10 + 10 * i
            page.wait_for_timeout(700)
            start = time.perf_counter()
            docs.update(job_id, worker, {"placed": percent * 9}, progress=percent)
            line.get_by_text(f"{percent}% · ").wait_for(timeout=10_000)
            times.append(time.perf_counter() - start)
    finally:
        docs.update(job_id, worker, {"status": "cancelled", "finished": dt.datetime.now(dt.UTC)})
        docs.delete(job_id, ("cancelled",))
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db_name = f"bench_{uuid.uuid4().hex[:8]}"
        env = {**os.environ, "MONGODB_DB": db_name, "PYTHONPATH": str(ROOT)}
        if not os.environ.get("MONGODB_URI"):
            env["TIMETABLER_DATA_DIR"] = str(Path(tmp) / "data")
        store = open_store(db_name=db_name, data_dir=env.get("TIMETABLER_DATA_DIR"))
        proc = None
        try:
            school = store.import_school(generate_demo(914, 1), "Benchmark school")
            proc, url = serve(env, Path(tmp))
            with sync_playwright() as p:
                browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
                page = browser.new_page(viewport={"width": 1400, "height": 900})
                page.goto(f"{url}?page=overview&school={school}")  # warm the server's imports once
                page.get_by_text("periods a week").wait_for(timeout=60_000)
                results = {
                    "first paint, Lessons page (914 periods)": first_paint(page, url, school, args.runs),
                    "first paint, sidebar click to Lessons": navigation(page, url, school, args.runs),
                    "cell edit to MongoDB": cell_edit(page, store, school, args.runs),
                    "job progress to indicator": progress(page, store, school, args.runs),
                }
                browser.close()
        finally:
            if proc is not None:
                proc.terminate()
                proc.wait(timeout=30)
            store.db.client.drop_database(db_name)
            store.close()
    print(f"{'what':<42} {'median':>8} {'max':>8} {'target':>8}  ok")
    for what, times in results.items():
        median, worst, target = statistics.median(times), max(times), TARGETS[what]
        ok = "yes" if median <= target else "NO"
        print(f"{what:<42} {median:>7.3f}s {worst:>7.3f}s {target:>7.1f}s  {ok}")
    print(f"({args.runs} runs each)")


if __name__ == "__main__":
    main()
