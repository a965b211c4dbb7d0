"""The Timetables page in a real browser: open a version, switch class/teacher/room, check the grid against
the database, download an XLSX and the print view. Screenshots go to artifacts/."""

from __future__ import annotations

import copy
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import CHROMIUM_ARGS, require_system
from openpyxl import load_workbook

from solver.demo import demo_with_timetable

pytestmark = [pytest.mark.system, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "artifacts"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, proc: subprocess.Popen, log: Path, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"panel serve exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                if response.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    pytest.fail(f"the dashboard did not answer at {url} within {timeout:.0f} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def dashboard(store_server, tmp_path_factory):
    """The real dashboard served on a fresh database holding a demo school with two versions."""
    require_system("chromium", "chromium")
    store = store_server.open()
    school, timetable = demo_with_timetable(240, seed=5)
    school_id = store.import_school(school, "Browser demo")
    first = store.save_version(school_id, "first", timetable, options={"time_limit": 180})
    changed = copy.deepcopy(timetable)
    changed.placements.pop()
    changed.placed -= 1
    second = store.save_version(school_id, "second", changed)
    port = free_port()
    log = tmp_path_factory.mktemp("panel") / "panel.log"
    env = store_server.env(store.db.name)
    with open(log, "w") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "panel", "serve", "dashboard/app.py", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/app", proc, log)
        yield {
            "url": f"http://127.0.0.1:{port}/app",
            "store": store,
            "school": school,
            "school_id": school_id,
            "first": first,
            "second": second,
        }
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
        store.db.client.drop_database(store.db.name)
        store.close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        yield b
        b.close()


def db_lessons(store, version_id: str, school, kind: str, item: str) -> set[tuple[str, str, str]]:
    """(lesson, block, "day,period") of every period the database holds for one class, teacher or room."""
    cal = school.calendar
    out = set()
    for row in store.version_frame(version_id).itertuples():
        lesson = school.lesson_by_id[row.lesson]
        if kind == "class":
            hit = bool(school.subgroups_of[item] & school.lesson_subgroups(lesson))
        elif kind == "teacher":
            hit = item in row.teachers
        else:
            hit = row.room == item
        if hit:
            d, p = cal.days.index(row.day), cal.periods.index(row.period)
            out |= {(row.lesson, str(row.block), f"{d},{p + i}") for i in range(row.length)}
    return out


def shown_lessons(page, kind: str, item: str) -> set[tuple[str, str, str]]:
    grid = page.locator(f'table.tt-grid[data-kind="{kind}"][data-id="{item}"]')
    grid.wait_for(timeout=20000)
    triples = grid.locator(".tt-entry").evaluate_all(
        "els => els.map(e => [e.dataset.lesson, e.dataset.block, e.dataset.slot])"
    )
    return {tuple(t) for t in triples}


def test_timetables_page_grids_downloads_and_print(dashboard, browser, tmp_path):
    ARTIFACTS.mkdir(exist_ok=True)
    store, school, version = dashboard["store"], dashboard["school"], dashboard["first"]
    page = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    page.goto(f"{dashboard['url']}?page=timetables&school={dashboard['school_id']}&version={version}")

    # 1. The version opens: its name heads the page, and the first class's grid shows.
    page.locator(".tt-version-header").get_by_text("first", exact=True).wait_for(timeout=30000)
    first_class = school.classes[0]
    assert shown_lessons(page, "class", first_class.id) == db_lessons(
        store, version, school, "class", first_class.id
    )

    # 2-3. Switch to a teacher and a room, and to another class; each grid holds what the database holds.
    page.get_by_role("button", name="Teacher", exact=True).click()
    teacher = school.teachers[0]
    assert shown_lessons(page, "teacher", teacher.id) == db_lessons(
        store, version, school, "teacher", teacher.id
    )
    page.get_by_role("button", name="Room", exact=True).click()
    room = school.rooms[0]
    assert shown_lessons(page, "room", room.id) == db_lessons(store, version, school, "room", room.id)
    page.get_by_role("button", name="Class", exact=True).click()
    other = school.classes[-1]
    page.locator("select", has=page.locator("option", has_text=other.name)).select_option(label=other.name)
    assert shown_lessons(page, "class", other.id) == db_lessons(store, version, school, "class", other.id)
    assert len(db_lessons(store, version, school, "class", other.id)) > 0
    page.locator("table.tt-grid").screenshot(path=str(ARTIFACTS / "timetables-grid.png"))
    page.screenshot(path=str(ARTIFACTS / "timetables-page.png"), full_page=True)

    # 4. Download the XLSX (one sheet per class) and open it.
    with page.expect_download(timeout=30000) as download:
        page.get_by_role("button", name="XLSX").click()
    assert download.value.suggested_filename == "first-class.xlsx"
    xlsx = tmp_path / "first-class.xlsx"
    download.value.save_as(xlsx)
    wb = load_workbook(xlsx)
    assert wb.sheetnames == [c.name for c in school.classes]
    sheet = wb[first_class.name]
    assert [sheet.cell(3 + d, 1).value for d in range(school.calendar.n_days)] == school.calendar.days
    filled = {
        (c.row, c.column)
        for row in sheet.iter_rows(min_row=3)
        for c in row[1:]
        if c.value not in (None, "break")
    }
    slots = {
        tuple(int(x) for x in slot.split(","))
        for *_, slot in db_lessons(store, version, school, "class", first_class.id)
    }
    assert filled == {(3 + d, 2 + p) for d, p in slots}

    # The print view: one printed page per class.
    with page.expect_download(timeout=30000) as download:
        page.get_by_role("button", name="Print view (HTML)").click()
    printed = tmp_path / "print.html"
    download.value.save_as(printed)
    # An A4 landscape sheet at 96 dpi, with print styles, shows what the first printed page looks like.
    view = browser.new_page(viewport={"width": 1123, "height": 794})
    view.goto(printed.as_uri())
    view.emulate_media(media="print")
    assert view.locator("section.tt-page").count() == len(school.classes)
    view.screenshot(path=str(ARTIFACTS / "timetables-print.png"))
    pdf = view.pdf(format="A4", landscape=True, print_background=True)
    (ARTIFACTS / "timetables-print.pdf").write_bytes(pdf)
    assert len(re.findall(rb"/Type\s*/Page(?!s)", pdf)) == len(school.classes)
    view.close()
    page.close()


def test_compare_tab_lists_the_removed_lesson(dashboard, browser):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(
        f"{dashboard['url']}?page=timetables&school={dashboard['school_id']}&version={dashboard['second']}"
    )
    page.locator(".tt-version-header").get_by_text("second", exact=True).wait_for(timeout=30000)
    page.get_by_text("Compare", exact=True).click()
    page.get_by_text("0 moved, 0 changed room, 0 added, 1 removed").wait_for(timeout=20000)
    page.get_by_text("Analytics", exact=True).click()
    # Bokeh draws on canvases: wait for the four charts, then keep a picture of them.
    page.locator("canvas").nth(3).wait_for(timeout=20000)
    page.wait_for_timeout(1000)
    page.screenshot(path=str(ARTIFACTS / "timetables-analytics.png"), full_page=True)
    page.close()
