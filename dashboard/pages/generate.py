"""Generate: pick a version name, strict balancing and a time limit, check the school, start a job.

The job runs in the background: the page gives a toast at once and the planner may leave; the progress
indicator on every page follows the job from then on.
"""

from __future__ import annotations

import datetime as dt
import os

import panel as pn
import param

from ..state import AppState
from .overview import KIND_PAGES, link, problem_link

TIME_LIMITS = {f"{m} minutes": m * 60 for m in (3, 5, 7, 10, 15, 20)}
DEFAULT_LIMIT = 300
TEST_LIMIT_ENV = "TIMETABLER_TEST_TIME_LIMIT"
"""Seconds of an extra, short time limit offered only when this variable is set (browser tests)."""


def time_limits() -> dict[str, int]:
    """The time limit choices, plus the short test-only one when ``TIMETABLER_TEST_TIME_LIMIT`` is set."""
    limits = dict(TIME_LIMITS)
    extra = os.environ.get(TEST_LIMIT_ENV, "").strip()
    if extra.isdigit() and int(extra) > 0:
        limits = {f"{int(extra)} seconds (test)": int(extra), **limits}
    return limits


def default_version_name(existing: list[str], today: dt.date | None = None) -> str:
    """``Timetable 2026-11-28``, then ``Timetable 2026-11-28 (2)`` and so on, unused so far."""
    base = f"Timetable {(today or dt.date.today()).isoformat()}"
    name, n = base, 2
    while name in existing:
        name, n = f"{base} ({n})", n + 1
    return name


class GeneratePage(pn.viewable.Viewer):
    """The start form. ``start`` validates the school first; nothing starts while problems remain."""

    app = param.ClassSelector(class_=AppState)
    version_name = param.String(default="", doc="Name of the timetable version the job will save.")
    strict_balancing = param.Boolean(default=True, doc="Never the same subject twice a day for a class.")
    time_limit = param.Integer(default=DEFAULT_LIMIT, doc="Seconds the solver may search at most.")
    problems = param.List(default=[], doc="What validation found at the last start attempt.")
    problem_links = param.Dict(default={}, doc="Link to the row at fault, by problem text.")
    job_id = param.String(default="", doc="The job started last from this page.")

    def __init__(self, **params):
        super().__init__(**params)
        if not self.version_name:
            names = []
            if self.app.school:
                names = [v.get("name", "") for v in self.app.store.list_versions(self.app.school)]
            self.version_name = default_version_name(names)
        self.name_input = pn.widgets.TextInput.from_param(
            self.param.version_name, name="Version name", placeholder="Version name", width=320
        )
        self.strict_input = pn.widgets.Checkbox.from_param(
            self.param.strict_balancing, name="Strict balancing (a subject at most once a day per class)"
        )
        self.limit_input = pn.widgets.Select(
            name="Time limit", options=time_limits(), value=self.time_limit, width=200
        )
        self.limit_input.link(self, value="time_limit")
        self.start_button = pn.widgets.Button(name="Generate timetable", button_type="primary", width=220)
        self.start_button.on_click(lambda e: self.start())

    def start(self) -> str | None:
        """Check the school and start a background job; returns the job id, or None when nothing started."""
        school = self.app.school
        if not school:
            self.app.toast("warning", "Pick or import a school first.")
            return None
        name = self.version_name.strip()
        if not name:
            self.app.toast("error", "Version name: type a name for the new timetable.")
            return None
        if not self.app.attempt(self._check, "Checking the school"):
            return None
        if self.problems:
            self.app.toast("error", f"Nothing started: {len(self.problems)} problem(s) to fix first.")
            return None
        options = {"time_limit": self.time_limit, "strict_balancing": self.strict_balancing}
        job_id = self.app.attempt(lambda: self.app.jobs.start(school, name, options), "Starting the job")
        if not job_id:
            return None
        self.job_id = str(job_id)
        self.app.toast("info", f"Generation of '{name}' started in the background. You can leave this page.")
        self.app.jobs_revision += 1
        return self.job_id

    def _check(self) -> bool:
        from solver.validate import validate

        loaded = self.app.store.load_school(self.app.school)
        found = validate(loaded)
        school = self.app.school
        ids = (
            {kind: [d["id"] for d in self.app.store.list(school, kind)] for kind in KIND_PAGES}
            if found
            else {}
        )
        links = {}
        for problem in found:
            target = problem_link(problem.where, ids)
            if target:
                links[str(problem)] = link(self.app.school, *target)
        self.param.update(problem_links=links, problems=[str(p) for p in found])
        return True

    @param.depends("problems")
    def _problems(self):
        if not self.problems:
            return pn.Spacer(height=0)
        shown = "\n".join(
            f"- [{p}]({self.problem_links[p]})" if p in self.problem_links else f"- {p}"
            for p in self.problems[:100]
        )
        more = f"\n\n…and {len(self.problems) - 100} more." if len(self.problems) > 100 else ""
        return pn.Column(
            pn.pane.Alert(
                f"**Nothing started.** Fix these {len(self.problems)} problem(s) first "
                "(each link opens the row at fault):",
                alert_type="danger",
            ),
            pn.pane.Markdown(shown + more, sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        intro = pn.pane.Markdown(
            "The timetable is generated in the background and saved automatically when it is done. "
            "Follow it in the progress card at the bottom right, from any page."
        )
        return pn.Column(
            intro,
            self.name_input,
            self.strict_input,
            self.limit_input,
            self.start_button,
            self._problems,
            sizing_mode="stretch_width",
        )
