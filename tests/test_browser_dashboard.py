"""The dashboard in a real browser: `panel serve` in a child process, Debian's chromium via Playwright.

One server serves both tests. It runs with a test-only time limit of a few seconds, and its store's
``save_version`` fails while a flag file exists, so the second test can show a failed save and retry
it. Screenshots of every page go to ``artifacts/dashboard/``.
"""

from __future__ import annotations

import re
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from pathlib import Path

import pytest
from conftest import CHROMIUM_ARGS, require_system
from playwright.sync_api import expect, sync_playwright

pytestmark = [pytest.mark.system, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts" / "dashboard"
TEST_LIMIT = 12
PAGES = [
    "Overview",
    "School",
    "Subjects",
    "Teachers",
    "Classes and groups",
    "Rooms",
    "Lessons",
    "Rules",
    "Generate",
    "Timetables",
    "Jobs",
    "Import",
]

# Runs `panel serve` with the store's save failing while FAIL_SAVES exists, and the job manager giving up
# automatic retries after the first failure, so the planner's Retry is what saves.
LAUNCHER = """
import os, sys
from pathlib import Path
import jobs.manager
import store.api
from store.errors import StoreError

flag = Path(os.environ["FAIL_SAVES"])
save_version = store.api.Store.save_version

def failing_save_version(self, *args, **kwargs):
    if flag.exists():
        raise StoreError("the disk is full (a test fault)")
    return save_version(self, *args, **kwargs)

store.api.Store.save_version = failing_save_version
jobs.manager.SAVE_ATTEMPTS_OTHER_ERRORS = 1
from panel.command import main
sys.argv = ["panel", "serve", *sys.argv[1:]]
main()
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(store_server, tmp_path_factory):
    """The dashboard served on a free port, on its own database; yields (url, db name, fail-saves flag)."""
    require_system("chromium", "chromium")
    tmp = tmp_path_factory.mktemp("dashboard")
    db_name = f"dash_{uuid.uuid4().hex[:10]}"
    flag = tmp / "fail-saves"
    port = free_port()
    env = {
        **store_server.env(db_name),
        "TIMETABLER_TEST_TIME_LIMIT": str(TEST_LIMIT),
        "FAIL_SAVES": str(flag),
        "PYTHONPATH": str(ROOT),
    }
    log = open(tmp / "server.log", "w")  # noqa: SIM115 - the server writes to it until the fixture ends
    args = [
        str(ROOT / "dashboard" / "app.py"),
        "--port",
        str(port),
        "--address",
        "127.0.0.1",
        "--allow-websocket-origin",
        f"127.0.0.1:{port}",
    ]
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCHER, *args], cwd=tmp, env=env, stdout=log, stderr=subprocess.STDOUT
    )
    url = f"http://127.0.0.1:{port}/app"
    deadline = time.monotonic() + 60
    while True:
        try:
            urllib.request.urlopen(url, timeout=10).read()
            break
        except OSError:
            if proc.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail(f"the dashboard did not start:\n{(tmp / 'server.log').read_text()[-3000:]}")
            time.sleep(0.3)
    yield url, db_name, flag
    proc.terminate()
    try:
        proc.wait(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()
    text = (tmp / "server.log").read_text()
    assert "Traceback" not in text or "WebSocketClosedError" in text, text[-3000:]


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def shot(pg, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    pg.wait_for_timeout(300)
    pg.screenshot(path=str(ARTIFACTS / f"{name}.png"))


def toast(pg, pattern: str, timeout: float = 30_000):
    pg.locator(".notyf__toast", has_text=re.compile(pattern)).first.wait_for(timeout=timeout)


def create_demo(pg, url: str, name: str) -> str:
    pg.goto(f"{url}?page=import")
    pg.locator("select:has(option:text-is('small (120 periods)'))").select_option(label="small (120 periods)")
    pg.get_by_placeholder("Demo school name").fill(name)
    pg.get_by_role("button", name="Create demo school").click()
    toast(pg, "imported")
    pg.wait_for_url(re.compile(r"school=\w+"))
    return re.search(r"school=(\w+)", pg.url).group(1)


def generate(pg, version: str) -> None:
    pg.get_by_role("button", name="Generate", exact=True).click()
    label = f"{TEST_LIMIT} seconds (test)"
    pg.locator(f"select:has(option:text-is('{label}'))").select_option(label=label)
    pg.get_by_placeholder("Version name").fill(version)
    pg.get_by_role("button", name="Generate timetable").click()
    toast(pg, "started in the background", timeout=5_000)


def job_line(pg, version: str):
    return pg.locator(".job-line", has_text=version)


def open_store(store_server, db_name: str):
    return store_server.open(db_name, cleanup=False)


def test_full_flow(server, page, store_server):
    url, db_name, _ = server
    pg = page
    school = create_demo(pg, url, "Browser flow school")
    shot(pg, "overview")

    pg.get_by_role("button", name="Teachers", exact=True).click()
    slot = pg.locator(".slot-Monday-1 button")
    slot.click()
    expect(slot).to_have_class(re.compile("danger"), timeout=10_000)
    shot(pg, "teachers")
    store = open_store(store_server, db_name)
    try:
        rules = [r for r in store.list(school, "rules") if r["type"] == "unavailable"]
        assert any(["Monday", "1"] in r["params"]["slots"] for r in rules)
    finally:
        store.close()

    generate(pg, "Flow run")
    shot(pg, "generate")

    pg.get_by_role("button", name="Lessons", exact=True).click()
    line = job_line(pg, "Flow run")
    detail = line.get_by_text(re.compile(r"\d+% · "))
    before = detail.inner_text()
    expect(detail).not_to_have_text(before, timeout=10_000)
    shot(pg, "lessons-with-progress")

    pg.reload()
    job_line(pg, "Flow run").wait_for()
    pg.get_by_role("heading", name="Lessons", exact=True).wait_for()
    assert "page=lessons" in pg.url

    second = pg.context.new_page()
    second.goto(f"{url}?page=overview&school={school}")
    job_line(second, "Flow run").wait_for()
    second.close()

    toast(pg, "Flow run' is ready and saved", timeout=120_000)
    shot(pg, "completed")
    job_line(pg, "Flow run").get_by_role("button", name="View timetable").click()
    pg.wait_for_url(re.compile(r"page=timetables.*version=\w+"))
    version = re.search(r"version=(\w+)", pg.url).group(1)
    store = open_store(store_server, db_name)
    try:
        assert store.get_version(version)["name"] == "Flow run"
    finally:
        store.close()
    pg.get_by_text("Flow run").first.wait_for()
    shot(pg, "timetables")

    for title in PAGES:
        pg.get_by_role("button", name=title, exact=True).click()
        pg.get_by_role("heading", name=title, exact=True).wait_for()
        shot(pg, "page-" + title.lower().replace(" ", "-"))

    # A click on the School page's grid makes a break; the Lessons page shows a lesson's pins and tags.
    pg.get_by_role("button", name="School", exact=True).click()
    slot = pg.locator(".break-Monday-1 button")
    slot.click()
    expect(slot).to_have_class(re.compile("warning"), timeout=10_000)
    shot(pg, "school-break")
    store = open_store(store_server, db_name)
    try:
        assert ["Monday", "1"] in store.get_calendar(school)["breaks"]
    finally:
        store.close()
    days = pg.locator(".tabulator", has_text="Day (edit to rename)")
    days.locator(".tabulator-row").last.get_by_text("✕").click()
    toast(pg, "Removing day 'Friday' refused: .* still use it", timeout=10_000)
    cell = days.locator(".tabulator-row").last.locator('[tabulator-field="name"]')
    # The refusal reloads the stored calendar, which redraws the table: click again until the editor opens.
    editor = cell.locator("input")
    for _ in range(10):
        cell.click()
        if editor.count():
            break
        time.sleep(0.5)
    editor.fill("Fri")
    cell.locator("input").press("Enter")
    pg.get_by_text(re.compile("Renaming day 'Friday' to 'Fri': saved")).wait_for()
    store = open_store(store_server, db_name)
    try:
        assert store.get_calendar(school)["days"][-1] == "Fri"
    finally:
        store.close()
    pg.get_by_role("button", name="Lessons", exact=True).click()
    pg.get_by_text(re.compile("^Lesson L1: pins and tags")).wait_for()
    pg.locator(".tabulator-row").first.locator("[tabulator-field='id']").click()
    pg.get_by_text("Not pinned: the solver places every block.").wait_for()
    shot(pg, "lessons-detail")

    # Dismissed lines stay dismissed after a reload.
    job_line(pg, "Flow run").get_by_role("button", name="✕").click()
    job_line(pg, "Flow run").wait_for(state="detached")
    pg.reload()
    pg.get_by_role("heading", name="Lessons", exact=True).wait_for()
    pg.wait_for_timeout(2000)
    assert job_line(pg, "Flow run").count() == 0


def test_a_failed_save_is_shown_and_retried(server, page):
    url, _, flag = server
    pg = page
    create_demo(pg, url, "Browser save school")
    flag.write_text("fail")
    try:
        generate(pg, "Save test")
        toast(pg, "Save test' was made but not saved", timeout=120_000)
        line = job_line(pg, "Save test")
        line.get_by_text(re.compile("could not be saved.*disk is full")).wait_for()
        shot(pg, "save-failed")
    finally:
        flag.unlink()
    line.get_by_role("button", name="Retry save").click()
    toast(pg, "Save test' is ready and saved", timeout=60_000)
    line.get_by_role("button", name="View timetable").wait_for()
    shot(pg, "save-retried")
