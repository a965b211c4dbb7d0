"""Jobs: the history of background solves with status, duration, options and result, its log, and
Retry, Cancel and Delete."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import panel as pn
import param

from ..progress import ACTIVE, _time, clock
from ..state import AppState

COLUMNS = ["version", "status", "created", "duration", "options", "result", "message", "id"]


def job_row(job: dict, now: dt.datetime | None = None) -> dict:
    """One line of the history table for a job document."""
    now = now or dt.datetime.now(dt.UTC)
    started, finished, created = (
        _time(job.get("started")),
        _time(job.get("finished")),
        _time(job.get("created")),
    )
    duration = ((finished or now) - started).total_seconds() if started else None
    options = job.get("options") or {}
    parts = []
    if options.get("time_limit"):
        parts.append(f"limit {clock(options['time_limit'])}")
    if "strict_balancing" in options:
        parts.append("strict" if options["strict_balancing"] else "relaxed")
    result = job.get("result") or {}
    summary = ""
    if result:
        summary = f"{result.get('placed', '?')}/{result.get('total', '?')} placed"
        if result.get("score") is not None:
            summary += f", score {result['score']}"
    status = job.get("status", "")
    message = job.get("error") if status in ("failed", "save_failed", "interrupted") else job.get("message")
    return {
        "version": job.get("version_name", ""),
        "status": status.replace("_", " "),
        "created": created.astimezone().strftime("%Y-%m-%d %H:%M:%S") if created else "",
        "duration": clock(duration) if duration is not None else "",
        "options": ", ".join(parts),
        "result": summary,
        "message": message or "",
        "id": str(job.get("id")),
    }


class JobsPage(pn.viewable.Viewer):
    """Jobs of the selected school, newest first; the selected job's details and actions below."""

    app = param.ClassSelector(class_=AppState)
    selected = param.String(default="", doc="Id of the job shown below the table.")

    def __init__(self, **params):
        super().__init__(**params)
        self.jobs: list[dict] = []
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(columns=COLUMNS),
            show_index=False,
            selectable=1,
            disabled=True,
            pagination="local",
            page_size=20,
            sizing_mode="stretch_width",
            hidden_columns=["id"],
            header_filters={c: {"type": "input", "func": "like"} for c in ("version", "status")},
        )
        self.table.param.watch(self._on_select, "selection")
        self.detail = pn.pane.Markdown("", sizing_mode="stretch_width")
        self.log = pn.pane.HTML("", sizing_mode="stretch_width")
        self.retry_button = pn.widgets.Button(name="Retry", button_type="primary")
        self.cancel_button = pn.widgets.MenuButton(
            name="Cancel",
            items=[("Keep best as draft", "draft"), ("Discard", "discard")],
            button_type="warning",
        )
        self.delete_button = pn.widgets.Button(name="Delete", button_type="danger")
        self.retry_button.on_click(lambda e: self.retry())
        self.cancel_button.on_click(lambda e: self.cancel(e.new))
        self.delete_button.on_click(lambda e: self.delete())
        self._watcher = self.app.param.watch(lambda e: self.reload(), "jobs_revision")
        self.reload()

    def dispose(self) -> None:
        """Stop following job changes; the shell calls it when the page is closed."""
        self.app.param.unwatch(self._watcher)

    def reload(self) -> None:
        """Read the school's jobs again, keeping the selection."""
        school = self.app.school
        self.jobs = self.app.attempt(lambda: self.app.jobs.list(school_id=school), "Loading the jobs") or []
        now = dt.datetime.now(dt.UTC)
        self.table.value = pd.DataFrame([job_row(j, now) for j in self.jobs], columns=COLUMNS)
        ids = [str(j.get("id")) for j in self.jobs]
        if self.selected in ids:
            self.table.selection = [ids.index(self.selected)]
        elif ids:
            self.selected = ids[0]
            self.table.selection = [0]
        else:
            self.selected = ""
        self._show()

    def _on_select(self, event) -> None:
        if event.new and event.new[0] < len(self.jobs):
            self.selected = str(self.jobs[event.new[0]].get("id"))
            self._show()

    def job(self) -> dict | None:
        return next((j for j in self.jobs if str(j.get("id")) == self.selected), None)

    def _show(self) -> None:
        job = self.job()
        if job is None:
            self.detail.object = "No job yet: start one on the Generate page."
            self.log.object = ""
            for w in (self.retry_button, self.cancel_button, self.delete_button):
                w.disabled = True
            return
        full = self.app.attempt(lambda: self.app.jobs.get(self.selected), "Loading the job") or job
        row = job_row(full)
        lines = [f"**{row['version']}**: {row['status']}"]
        for key in ("created", "duration", "options", "result", "message"):
            if row[key]:
                lines.append(f"- {key}: {row[key]}")
        version_id = (full.get("result") or {}).get("version_id")
        if version_id:
            lines.append(
                f"- version: [open it](?page=timetables&school={self.app.school}&version={version_id})"
            )
        self.detail.object = "\n".join(lines)
        log = full.get("log") or []
        text = "\n".join(str(line) for line in log[-300:])
        escaped = text.replace("&", "&amp;").replace("<", "&lt;")
        self.log.object = f"<pre style='max-height:320px;overflow:auto;font-size:12px'>{escaped}</pre>"
        status = full.get("status")
        self.retry_button.disabled = status in ACTIVE
        self.cancel_button.disabled = status not in ACTIVE
        self.delete_button.disabled = status in ACTIVE

    def retry(self) -> str | None:
        job = self.job()
        if job is None:
            return None
        if job.get("status") == "save_failed":
            ok = self.app.attempt(
                lambda: self.app.jobs.retry_save(self.selected) or True, "Retrying the save"
            )
            if ok:
                self.app.toast("info", "Saving the timetable again.")
            self.reload()
            return self.selected if ok else None
        new_id = self.app.attempt(lambda: self.app.jobs.retry(self.selected), "Retrying the job")
        if new_id:
            self.app.toast("info", "Started again in the background.")
            self.selected = str(new_id)
            self.app.jobs_revision += 1
        return new_id

    def cancel(self, keep: str) -> None:
        if self.app.attempt(
            lambda: self.app.jobs.cancel(self.selected, keep=keep) or True, "Cancelling the job"
        ):
            self.app.toast("info", "Cancelling the job.")
        self.reload()

    def delete(self) -> None:
        if self.app.attempt(lambda: self.app.jobs.delete(self.selected) or True, "Deleting the job"):
            self.selected = ""
        self.reload()

    def __panel__(self):
        return pn.Column(
            self.table,
            pn.Row(self.retry_button, self.cancel_button, self.delete_button),
            self.detail,
            "#### Log",
            self.log,
            sizing_mode="stretch_width",
        )
