"""The frame around the pages: the school picker, the page navigation and the page shown.

Pages are built when opened, so each shows fresh data after edits elsewhere; the Timetables and School
pages are kept for the session because they follow the school (and the jobs) by themselves.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import panel as pn
import param

from .state import PAGES, AppState, describe_error, log

KEPT = {"timetables", "school"}
"""Pages built once per session instead of on every visit."""


class Shell(pn.viewable.Viewer):
    """Sidebar widgets and the content area; navigation changes ``app.page``, which the URL follows."""

    app = param.ClassSelector(class_=AppState)

    def __init__(self, factories: dict[str, Callable[[AppState], Any]], **params):
        super().__init__(**params)
        self.factories = factories
        self.views: dict[str, Any] = {}
        self.school_select = pn.widgets.Select(name="School", sizing_mode="stretch_width")
        self.nav = pn.widgets.RadioButtonGroup(
            options={title: key for key, title in PAGES.items()},
            value=self.app.page,
            orientation="vertical",
            button_type="light",
            button_style="outline",
            sizing_mode="stretch_width",
        )
        self.content = pn.Column(sizing_mode="stretch_width", min_height=400)
        self.new_school = pn.widgets.Button(
            name="New school…", button_type="light", sizing_mode="stretch_width"
        )
        self.new_school.on_click(lambda e: self.app.go("school"))
        self._schools()
        self.school_select.param.watch(self._pick_school, "value")
        self.nav.param.watch(self._pick_page, "value")
        self.app.param.watch(lambda e: self._schools(), "schools")
        self.app.param.watch(lambda *events: self.show(), ["page", "school", "data_revision"])
        self.show()

    def _pick_page(self, event) -> None:
        # show() also moves the buttons, to a page opened by a link or "View timetable"; only a click on
        # another page clears the row or version that page was opened with.
        if event.new != self.app.page:
            self.app.param.update(page=event.new, focus="", version="")

    def _schools(self) -> None:
        options = {name: sid for sid, name in self.app.schools}
        self.school_select.options = options
        if self.app.school in options.values():
            self.school_select.value = self.app.school

    def _pick_school(self, event) -> None:
        if event.new and event.new != self.app.school:
            self.app.param.update(school=event.new, focus="", version="")

    def view(self, page: str) -> Any:
        """The view model of ``page`` for the current school (built now unless kept)."""
        if page in KEPT and page in self.views:
            return self.views[page]
        old = self.views.pop(page, None)
        if old is not None and hasattr(old, "dispose"):
            old.dispose()
        for other in [k for k in self.views if k not in KEPT]:
            stale = self.views.pop(other)
            if hasattr(stale, "dispose"):
                stale.dispose()
        self.views[page] = self.factories[page](self.app)
        return self.views[page]

    def show(self) -> None:
        """Put the current page in the content area; a page that fails to build shows why instead."""
        app = self.app
        if app.schools and app.school not in {sid for sid, _ in app.schools}:
            app.toast("warning", "That school no longer exists; showing another one.")
            app.refresh_schools()
            return
        if self.nav.value != app.page:
            self.nav.value = app.page
        if self.school_select.value != app.school and app.school:
            self.school_select.value = app.school
        try:
            page = self.view(app.page)
        except Exception as e:  # noqa: BLE001 - a page that cannot be built must not show a traceback
            log.exception("building page %s", app.page)
            page = pn.pane.Alert(f"This page could not be opened: {describe_error(e)}", alert_type="danger")
        # A new heading with the page, in one change, so the heading never shows over the old page.
        self.content.objects = [pn.pane.Markdown(f"## {PAGES[app.page]}", margin=(0, 10)), page]

    def sidebar(self) -> list:
        return [self.school_select, self.new_school, self.nav]

    def __panel__(self):
        return self.content
