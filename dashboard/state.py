"""The state every page of one browser session shares: the store, the jobs, the school, the page.

The page, the school and the items they point at are synced to the URL by ``app.py``, so a reload or a
shared link opens the same view. Toasts go through ``toast`` so view models can be tested without a
browser: they are recorded in ``toasts`` and shown by Panel when a session is live.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Callable
from typing import Any

import panel as pn
import param

log = logging.getLogger("dashboard")

PAGES: dict[str, str] = {
    "overview": "Overview",
    "school": "School",
    "subjects": "Subjects",
    "teachers": "Teachers",
    "classes": "Classes and groups",
    "rooms": "Rooms",
    "lessons": "Lessons",
    "rules": "Rules",
    "generate": "Generate",
    "timetables": "Timetables",
    "jobs": "Jobs",
    "import": "Import",
}
"""Page keys, as they appear in the URL, and their titles, in sidebar order."""

TOAST_MS = {"success": 5000, "info": 4000, "warning": 8000, "error": 10000}


class AppState(param.Parameterized):
    """One browser session's shared state. Pages receive it and read the store and jobs through it."""

    page = param.Selector(default="overview", objects=list(PAGES))
    school = param.String(default="", doc="Id of the school being edited.")
    focus = param.String(default="", doc="Id of a row to show, from a link on the overview.")
    version = param.String(default="", doc="Id of a timetable version to show.")
    schools = param.List(default=[], doc="(id, name) of every school, for the sidebar.")
    data_revision = param.Integer(default=0, doc="Bumped when school data changes outside a page.")
    jobs_revision = param.Integer(default=0, doc="Bumped when a job changes status.")

    def __init__(self, store: Any, jobs: Any, **params):
        super().__init__(**params)
        self.store = store
        self.jobs = jobs
        self.toasts: list[tuple[str, str]] = []
        self.refresh_schools()

    def refresh_schools(self) -> None:
        """Reload the school list; pick the first school when none (or a deleted one) is selected."""
        schools = [(str(s["id"]), s["name"]) for s in self.store.list_schools()]
        self.schools = schools
        if schools and self.school not in {sid for sid, _ in schools}:
            self.school = schools[0][0]
        elif not schools:
            self.school = ""

    def school_name(self, school_id: str | None = None) -> str:
        school_id = self.school if school_id is None else school_id
        return dict(self.schools).get(school_id, "")

    def go(self, page: str, focus: str = "", version: str = "", school: str | None = None) -> None:
        """Open a page, optionally on another school, a row or a version, in one URL update."""
        changes: dict[str, Any] = {"page": page, "focus": focus, "version": version}
        if school is not None:
            changes["school"] = school
        self.param.update(**changes)

    def toast(self, kind: str, message: str) -> None:
        """Show a toast (success, info, warning or error) in the browser, and keep it for tests."""
        self.toasts = [*self.toasts[-49:], (kind, message)]
        notifications = pn.state.notifications
        if notifications is not None:
            getattr(notifications, kind)(message, duration=TOAST_MS[kind])

    def attempt(self, action: Callable[[], Any], what: str) -> Any:
        """Run a user action; turn any failure into an error toast naming ``what`` instead of a traceback.

        Errors meant for people (the store's validation and reference errors, the engine's format errors)
        carry their own message. Anything else is a bug: its traceback goes to the server log only.
        Returns the action's result, or None when it failed.
        """
        try:
            return action()
        except Exception as e:  # noqa: BLE001 - the UI must never show a traceback
            if not is_user_error(e):
                log.error("%s failed:\n%s", what, traceback.format_exc())
            self.toast("error", f"{what} failed: {describe_error(e)}")
            return None


def report_unexpected(error: Exception) -> None:
    """Panel's handler for errors no view model caught: logged with the traceback, shown as a toast."""
    log.error("unexpected error in a callback", exc_info=error)
    notifications = pn.state.notifications
    if notifications is not None:
        notifications.error(f"Something went wrong: {describe_error(error)}", duration=TOAST_MS["error"])


def is_user_error(error: Exception) -> bool:
    """True for errors whose message is written for people (bad input, missing item, conflicts)."""
    names = {cls.__name__ for cls in type(error).__mro__}
    return bool(
        names
        & {
            "ValidationError",
            "ReferencedError",
            "FormatError",
            "NotFoundError",
            "ValueError",
            "KeyError",
            "LookupError",
            "StoreError",
            "JobError",
        }
    )


def describe_error(error: Exception) -> str:
    """A one-paragraph message for a person, without the exception class or a traceback."""
    if isinstance(error, KeyError) and error.args:
        return str(error.args[0])
    text = str(error).strip() or type(error).__name__
    return text
