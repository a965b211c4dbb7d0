"""The progress indicator: a floating card on every page with one line per active or unseen job.

Its state comes from the jobs collection only (``JobManager.list``), read by a periodic callback in each
browser session, so it survives navigation and reloads and shows in every tab. Worker threads never
touch it. ``line_state`` turns a job document into what a line shows; it is a plain function so the
indicator can be tested from job documents alone.

Dismissing a line is remembered per job in the browser's localStorage (``BrowserMemory``), so a
reload or a second tab in the same browser does not bring it back.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import panel as pn
import param
from panel.custom import JSComponent

from .state import AppState

ACTIVE = ("queued", "running", "saving")
FINISHED = ("completed", "save_failed", "failed", "cancelled", "interrupted")
RECENT = dt.timedelta(hours=12)
"""Finished jobs stay on the card (until dismissed) for this long."""
RECENT_JOBS = 10
"""How many of the newest jobs each tick reads besides the unfinished ones."""
ANNOUNCE_UNSEEN = dt.timedelta(seconds=20)
"""A job first seen already finished is still announced when it finished this recently."""

ICONS = {
    "queued": ("…", "#666"),
    "running": ("⟳", "#1f6fb2"),
    "saving": ("⤓", "#1f6fb2"),
    "completed": ("✔", "#1d8a3a"),
    "save_failed": ("⚠", "#c77700"),
    "failed": ("✘", "#c0262d"),
    "cancelled": ("■", "#666"),
    "interrupted": ("⚡", "#c0262d"),
}
"""Status icons (characters every system font has) and their colours."""


def _time(value: Any) -> dt.datetime | None:
    if isinstance(value, dt.datetime):
        return value if value.tzinfo else value.replace(tzinfo=dt.UTC)
    if isinstance(value, (int, float)):
        return dt.datetime.fromtimestamp(value, dt.UTC)
    if isinstance(value, str) and value:
        try:
            parsed = dt.datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)
    return None


def clock(seconds: float | None) -> str:
    """``1:05`` for 65 seconds, ``1:02:03`` past an hour."""
    if seconds is None:
        return ""
    seconds = max(0, round(seconds))
    h, rest = divmod(seconds, 3600)
    m, s = divmod(rest, 60)
    return f"{h}:{m:02d}:{s:02d}" if h else f"{m}:{s:02d}"


@dataclass
class LineState:
    """What one line of the indicator shows for a job."""

    job_id: str
    status: str
    icon: str
    title: str
    percent: int
    placed: int | None
    total: int | None
    phase: str
    elapsed: float | None
    remaining: float | None
    message: str
    version_id: str | None
    school_id: str
    actions: list[str] = field(default_factory=list)

    @property
    def detail(self) -> str:
        """One line of text: percentage, periods, phase, elapsed and remaining time."""
        parts = [f"{self.percent}%"]
        if self.total:
            parts.append(f"{self.placed or 0}/{self.total} periods")
        if self.phase and self.status in ACTIVE:
            parts.append(self.phase)
        if self.elapsed is not None:
            parts.append(f"{clock(self.elapsed)} elapsed")
        if self.remaining is not None and self.status in ACTIVE:
            parts.append(f"~{clock(self.remaining)} left")
        return " · ".join(parts)


def line_state(job: dict, now: dt.datetime | None = None, school_name: str = "") -> LineState:
    """The indicator line for a job document: icon, numbers, message and the buttons it offers."""
    now = now or dt.datetime.now(dt.UTC)
    status = job.get("status", "queued")
    result = job.get("result") or {}
    options = job.get("options") or {}
    started, finished = _time(job.get("started")), _time(job.get("finished"))
    elapsed = None
    if started:
        elapsed = ((finished or now) - started).total_seconds()
    remaining = None
    limit = options.get("time_limit")
    if status == "running" and elapsed is not None and limit:
        remaining = max(0.0, float(limit) - elapsed)
    percent = int(job.get("progress") or 0)
    placed = job.get("placed", result.get("placed"))
    total = job.get("total", result.get("total"))
    message = job.get("message") or ""
    if status == "queued" and job.get("queue_position"):
        message = message or f"waiting, number {job['queue_position']} in the queue"
    if status in ("failed", "interrupted"):
        message = job.get("error") or message or "the job stopped"
    if status == "save_failed":
        reason = job.get("error") or message or "the database did not answer"
        message = f"The timetable could not be saved yet; it is kept. {reason}"
    actions = ["dismiss"]
    if status in ACTIVE:
        actions.append("cancel")
    if status == "completed" and result.get("version_id"):
        actions.append("view")
    if status == "cancelled" and result.get("version_id"):
        actions.append("view")
    if status in ("failed", "interrupted"):
        actions.append("retry")
    if status == "save_failed":
        actions.append("retry_save")
    name = job.get("version_name") or "timetable"
    title = f"{name}" + (f" ({school_name})" if school_name else "")
    return LineState(
        job_id=str(job.get("id")),
        status=status,
        icon=ICONS.get(status, ("•", "#666"))[0],
        title=title,
        percent=max(0, min(100, percent)),
        placed=placed,
        total=total,
        phase=str(job.get("phase") or ""),
        elapsed=elapsed,
        remaining=remaining,
        message=message,
        version_id=result.get("version_id"),
        school_id=str(job.get("school_id") or ""),
        actions=actions,
    )


def shown_jobs(jobs: list[dict], dismissed: list[str], now: dt.datetime | None = None) -> list[dict]:
    """Jobs the card shows: active ones, and recently finished ones, minus those dismissed."""
    now = now or dt.datetime.now(dt.UTC)
    out = []
    for job in jobs:
        if str(job.get("id")) in dismissed:
            continue
        if job.get("status") in ACTIVE:
            out.append(job)
            continue
        finished = _time(job.get("finished")) or _time(job.get("created"))
        if finished and now - finished <= RECENT:
            out.append(job)
    return out


def announcement(old: str | None, job: dict, now: dt.datetime | None = None) -> tuple[str, str] | None:
    """The toast for a status change seen by this session: completion, failure or a failed save.

    A job this session has not seen before is announced only when it finished in the last few seconds,
    so a job that ends while the page reloads still gets its toast, but old history does not.
    """
    new = job.get("status")
    if old is None:
        finished = _time(job.get("finished"))
        now = now or dt.datetime.now(dt.UTC)
        if new not in FINISHED or finished is None or now - finished > ANNOUNCE_UNSEEN:
            return None
    elif old == new or old not in (*ACTIVE, "save_failed"):
        return None
    name = job.get("version_name") or "the timetable"
    result = job.get("result") or {}
    if new == "completed":
        placed = result.get("placed", job.get("placed"))
        total = result.get("total", job.get("total"))
        counts = f": {placed}/{total} periods placed" if total else ""
        return "success", f"Timetable '{name}' is ready and saved{counts}."
    if new == "save_failed":
        return (
            "warning",
            f"Timetable '{name}' was made but not saved yet: {job.get('error') or ''} Retry the save.",
        )
    if new in ("failed", "interrupted"):
        return "error", f"Generating '{name}' failed: {job.get('error') or job.get('message') or new}"
    if new == "cancelled":
        return "info", f"Generating '{name}' was cancelled."
    return None


class BrowserMemory(JSComponent):
    """A list of strings kept in the browser's localStorage under ``key``, synced both ways."""

    key = param.String(default="timetabler.dismissed")
    value = param.List(default=[])

    _esm = """
    export function render({ model }) {
      let saved = []
      try { saved = JSON.parse(window.localStorage.getItem(model.key) || "[]") } catch (e) { saved = [] }
      if (!Array.isArray(saved)) { saved = [] }
      const merged = Array.from(new Set([...saved, ...model.value])).slice(-200)
      model.value = merged
      model.on("value", () => {
        window.localStorage.setItem(model.key, JSON.stringify(model.value.slice(-200)))
      })
      return document.createElement("span")
    }
    """


class JobLine(pn.viewable.Viewer):
    """The widgets of one line; updated in place each tick so the browser gets small changes."""

    def __init__(self, indicator: ProgressIndicator, job_id: str):
        super().__init__()
        self.indicator = indicator
        self.job_id = job_id
        self.icon = pn.pane.HTML("", width=26, margin=(4, 2))
        self.title = pn.pane.HTML("", margin=(2, 4), sizing_mode="stretch_width")
        self.bar = pn.indicators.Progress(
            value=0, max=100, height=10, sizing_mode="stretch_width", margin=(2, 4)
        )
        self.detail = pn.pane.HTML("", margin=(0, 4), styles={"font-size": "12px", "color": "#444"})
        self.message = pn.pane.HTML("", margin=(0, 4), styles={"font-size": "12px"}, visible=False)
        small = {"height": 30, "margin": (2, 3)}
        self.view = pn.widgets.Button(name="View timetable", button_type="success", visible=False, **small)
        self.retry = pn.widgets.Button(name="Retry", button_type="warning", visible=False, **small)
        self.retry_save = pn.widgets.Button(name="Retry save", button_type="warning", visible=False, **small)
        self.cancel = pn.widgets.MenuButton(
            name="Cancel",
            items=[("Keep best as draft", "draft"), ("Discard", "discard")],
            button_type="light",
            visible=False,
            **small,
        )
        self.dismiss = pn.widgets.Button(name="✕", button_type="light", width=34, **small)
        self.view.on_click(lambda e: indicator.view(self.job_id))
        self.retry.on_click(lambda e: indicator.retry(self.job_id))
        self.retry_save.on_click(lambda e: indicator.retry_save(self.job_id))
        self.cancel.on_click(lambda e: indicator.cancel(self.job_id, e.new))
        self.dismiss.on_click(lambda e: indicator.dismiss(self.job_id))
        self.layout = pn.Column(
            pn.Row(self.icon, self.title, self.dismiss, sizing_mode="stretch_width"),
            self.bar,
            self.detail,
            self.message,
            pn.Row(self.view, self.retry, self.retry_save, self.cancel),
            sizing_mode="stretch_width",
            css_classes=["job-line"],
            margin=(2, 0, 6, 0),
        )

    def update(self, state: LineState) -> None:
        colour = ICONS.get(state.status, ("", "#666"))[1]
        self.icon.object = f"<span style='font-size:18px;color:{colour}'>{state.icon}</span>"
        self.title.object = (
            f"<b>{state.title}</b> <span style='color:#666'>{state.status.replace('_', ' ')}</span>"
        )
        self.bar.value = state.percent
        self.bar.bar_color = {"completed": "success", "failed": "danger", "save_failed": "warning"}.get(
            state.status, "primary"
        )
        self.detail.object = state.detail
        self.message.object = state.message
        self.message.visible = bool(state.message) and state.status not in ("completed",)
        self.view.visible = "view" in state.actions
        self.retry.visible = "retry" in state.actions
        self.retry_save.visible = "retry_save" in state.actions
        self.cancel.visible = "cancel" in state.actions

    def __panel__(self):
        return self.layout


class ProgressIndicator(pn.viewable.Viewer):
    """The floating card. ``refresh`` reads the jobs and is called by a periodic callback in a session."""

    app = param.ClassSelector(class_=AppState)
    dismissed = param.List(default=[], doc="Job ids the planner dismissed (kept in localStorage).")
    states = param.List(default=[], doc="LineState of every job on the card, newest first.")
    period_ms = param.Integer(default=700, doc="How often a live session re-reads the jobs.")

    def __init__(self, **params):
        super().__init__(**params)
        self._seen: dict[str, str] = {}
        self._lines: dict[str, JobLine] = {}
        self._order: list[str] = []
        self.memory = BrowserMemory(value=list(self.dismissed), visible=True, width=0, height=0, margin=0)
        self.memory.param.watch(self._remembered, "value")
        self.body = pn.Column(sizing_mode="stretch_width", margin=0)
        self.card = pn.Column(
            pn.pane.HTML("<b>Timetable generation</b>", margin=(0, 4)),
            self.body,
            css_classes=["progress-card"],
            width=380,
            visible=False,
            styles={
                "position": "fixed",
                "right": "18px",
                "bottom": "18px",
                "z-index": "1000",
                "background": "white",
                "border": "1px solid #ccc",
                "border-radius": "8px",
                "box-shadow": "0 4px 16px rgba(0,0,0,0.18)",
                "padding": "8px",
                "max-height": "70vh",
                "color": "#222",
                "overflow-y": "auto",
            },
        )
        self._callback = None

    def start(self) -> None:
        """Begin polling in the current browser session."""
        self.refresh()
        if pn.state.curdoc is not None and self._callback is None:
            self._callback = pn.state.add_periodic_callback(self.refresh, period=self.period_ms)

    def _remembered(self, event) -> None:
        if list(event.new) != list(self.dismissed):
            self.dismissed = list(event.new)
            self.refresh()

    def refresh(self) -> None:
        """Read the jobs, announce status changes, and update the lines."""
        try:
            # Every unfinished job, and the last few others for recent completions: a small read each tick.
            active = self.app.jobs.list(active_only=True)
            recent = self.app.jobs.list(limit=RECENT_JOBS)
        except Exception:  # noqa: BLE001 - a database hiccup must not stop the polling; next tick retries
            return
        seen_ids = {str(j.get("id")) for j in active}
        jobs = [*active, *(j for j in recent if str(j.get("id")) not in seen_ids)]
        jobs.sort(
            key=lambda j: _time(j.get("created")) or dt.datetime.min.replace(tzinfo=dt.UTC), reverse=True
        )
        changed = False
        for job in jobs:
            job_id, status = str(job.get("id")), job.get("status")
            old = self._seen.get(job_id)
            if old != status:
                changed = True
                toast = announcement(old, job)
                if toast:
                    self.app.toast(*toast)
                self._seen[job_id] = status
        if changed:
            self.app.jobs_revision += 1
        now = dt.datetime.now(dt.UTC)
        schools = dict(self.app.schools)
        self.states = [
            line_state(job, now, schools.get(str(job.get("school_id")), ""))
            for job in shown_jobs(jobs, self.dismissed, now)
        ]
        self._render()

    def _render(self) -> None:
        ids = [s.job_id for s in self.states]
        for state in self.states:
            line = self._lines.get(state.job_id)
            if line is None:
                line = self._lines[state.job_id] = JobLine(self, state.job_id)
            line.update(state)
        if ids != self._order:
            self._order = ids
            self.body.objects = [self._lines[i] for i in ids]
        for gone in set(self._lines) - set(ids):
            del self._lines[gone]
        self.card.visible = bool(ids)

    # Controls

    def state_of(self, job_id: str) -> LineState | None:
        return next((s for s in self.states if s.job_id == job_id), None)

    def dismiss(self, job_id: str) -> None:
        """Hide the job's line for good in this browser (the Jobs page still lists it)."""
        if job_id not in self.dismissed:
            self.dismissed = [*self.dismissed, job_id]
            self.memory.value = list(self.dismissed)
        self.refresh()

    def cancel(self, job_id: str, keep: str) -> None:
        """Stop a job, keeping its best timetable as a draft version or discarding it."""
        if self.app.attempt(lambda: self.app.jobs.cancel(job_id, keep=keep) or True, "Cancelling the job"):
            what = "its best timetable is kept as a draft" if keep == "draft" else "nothing is kept"
            self.app.toast("info", f"Cancelling the job: {what}.")
        self.refresh()

    def retry(self, job_id: str) -> None:
        """Start the failed job again with the same inputs and options."""
        if self.app.attempt(lambda: self.app.jobs.retry(job_id), "Retrying the job"):
            self.app.toast("info", "Started again in the background.")
            self.dismiss(job_id)

    def retry_save(self, job_id: str) -> None:
        """Save the kept result of a job whose save failed."""
        if self.app.attempt(lambda: self.app.jobs.retry_save(job_id) or True, "Retrying the save"):
            self.app.toast("info", "Saving the timetable again.")
        self.refresh()

    def view(self, job_id: str) -> None:
        """Open the job's timetable version on the Timetables page."""
        state = self.state_of(job_id)
        if state and state.version_id:
            self.app.go("timetables", version=state.version_id, school=state.school_id or None)

    def __panel__(self):
        return pn.Column(self.card, self.memory, width=0, height=0, margin=0)
