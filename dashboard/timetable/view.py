"""The Timetables page's view model: pick a version, look at any class, teacher or room, compare, export.

The state lives in parameters (version, kind, item, the version to compare with), so tests drive it
without a browser; ``__panel__`` only lays the pieces out. Everything is read through the store, and a
version is loaded once and then kept, so switching grids is only a lookup and an HTML render.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pandas as pd
import panel as pn
import param

from .analytics import analytics_figures
from .compare import change_marks, changes_frame, compare, summary
from .exports import GRID_CSS, grid_html, to_csv, to_print_html, to_xlsx
from .model import KINDS, Schedule
from .source import ScheduleCache, versions_frame

KIND_LABELS = {"class": "Class", "teacher": "Teacher", "room": "Room"}


def _filename(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-") or "timetable"


class TimetableView(pn.viewable.Viewer):
    """Versions of the selected school, and one version shown as grids, tables, comparisons and charts."""

    version = param.Selector(default=None, objects=[], allow_None=True, doc="Id of the version shown.")
    kind = param.Selector(default="class", objects=list(KINDS), doc="Grid of a class, a teacher or a room.")
    item = param.Selector(default=None, objects=[], allow_None=True, doc="Id of the class, teacher or room.")
    unplaced_all = param.Boolean(default=False, doc="List every unplaced lesson, not only the item's.")
    mark_changes = param.Boolean(default=False, doc="Outline blocks that differ from the compared version.")
    compare_to = param.Selector(default=None, objects=[], allow_None=True, doc="Id of an older version.")
    export_kind = param.Selector(
        default="class", objects=list(KINDS), doc="Exports have a sheet or page per class, teacher or room."
    )
    versions = param.DataFrame(default=pd.DataFrame(), doc="The version list with statistics.")
    message = param.String(default="", doc="Why there is nothing to show, for the page.")

    def __init__(self, state: Any, **params):
        super().__init__(**params)
        self.state = state
        self.cache = ScheduleCache(state.store)
        self._item_by_kind: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        self._layout: pn.Column | None = None
        self._failed: set[tuple] = set()
        self.refresh()
        # One refresh however many of these change together: a watcher gets one event per parameter.
        state.param.watch(lambda *events: self.refresh(), ["school", "data_revision", "jobs_revision"])
        state.param.watch(self._follow_state, ["version", "page"])

    # --- state -------------------------------------------------------------------------------------

    def refresh(self) -> None:
        """Reload the version list of the selected school, keeping the version shown when it still exists."""
        school = self.state.school
        raw = (
            self.state.attempt(lambda: list(self.state.store.list_versions(school)), "Loading versions")
            if school
            else []
        )
        frame = versions_frame(raw or [])
        ids = list(frame["id"])
        # A failed load is tried again on refresh: the database may be back, or the data mended.
        self._failed.clear()
        wanted = self.state.version
        current = next((v for v in (self.version, wanted) if v in ids), ids[0] if ids else None)
        self.param.update(versions=frame)
        self.param.version.objects = ids
        self._labels = {r.id: f"{r.name} ({r.created})" for r in frame.itertuples()}
        if not school:
            self.message = "No school yet: import one or create a demo school on the Import page."
        else:
            self.message = "" if ids else "No timetable yet: generate one on the Generate page."
        if self.version != current:
            self.version = current
        else:
            self._load()

    def _follow_state(self, *_: param.parameterized.Event) -> None:
        wanted = self.state.version
        if not wanted and self.version and self.state.page == "timetables":
            # Navigation cleared the version; put the one on screen back so the URL can reopen it.
            self.state.version = self.version
            return
        if wanted and wanted != self.version:
            if wanted not in self.param.version.objects:
                self.refresh()
            if wanted in self.param.version.objects:
                self.version = wanted

    @property
    def schedule(self) -> Schedule | None:
        """The version shown, loaded through the store (once), or None."""
        return self._open(self.version, "Opening the version")

    def _open(self, version_id: str | None, what: str) -> Schedule | None:
        if not version_id:
            return None
        key = (version_id, self.state.school, self.state.data_revision)
        # A version that failed to load is reported once, not by every pane that asks for it.
        if key in self._failed:
            return None
        schedule = self.state.attempt(lambda: self.cache.get(key[0], key[1], key[2]), what)
        if schedule is None:
            self._failed.add(key)
            # attempt() has toasted the reason; the page keeps it in view where the grid would be.
            self.message = self.state.toasts[-1][1] if self.state.toasts else f"{what} failed."
        return schedule

    def name_of(self, version_id: str | None) -> str:
        rows = self.versions[self.versions["id"] == version_id] if len(self.versions) else []
        return str(rows.iloc[0]["name"]) if len(rows) else str(version_id or "")

    @param.depends("version", watch=True)
    def _load(self) -> None:
        if self.version and self.state.version != self.version and self.state.page == "timetables":
            self.state.version = self.version
        # Versions are listed newest first, so the default comparison is with the one before this one.
        ids = list(self.param.version.objects)
        others = [v for v in ids if v != self.version]
        older = ids[ids.index(self.version) + 1 :] if self.version in ids else []
        self.param.compare_to.objects = {"(none)": None} | {self._labels.get(v, v): v for v in others}
        if self.compare_to not in others:
            self.compare_to = older[0] if older else (others[0] if others else None)
        self._items()

    @param.depends("kind", watch=True)
    def _items(self) -> None:
        schedule = self.schedule
        items = schedule.items(self.kind) if schedule else {}
        names = list(items.values())
        # Two teachers may share a name; the selector needs distinct labels.
        self.param.item.objects = {
            (name if names.count(name) == 1 else f"{name} ({id})"): id for id, name in items.items()
        }
        wanted = self._item_by_kind.get(self.kind)
        self.item = wanted if wanted in items else next(iter(items), None)

    @param.depends("item", watch=True)
    def _remember_item(self) -> None:
        if self.item:
            self._item_by_kind[self.kind] = self.item

    # --- what the page shows (each one callable from tests) --------------------------------------

    def grid_html(self) -> str:
        """The grid of the selected class, teacher or room, as HTML."""
        schedule = self.schedule
        if schedule is None or not self.item:
            return f"<p>{self.message or 'Pick a version.'}</p>"
        marks = {}
        if self.mark_changes and self.compare_to:
            old = self._open(self.compare_to, "Opening the version to compare")
            if old is not None:
                marks = change_marks(old, schedule, compare(old, schedule))
        return f"<style>{GRID_CSS}</style>{grid_html(schedule.grid(self.kind, self.item), marks)}"

    def unplaced(self) -> pd.DataFrame:
        schedule = self.schedule
        if schedule is None:
            return pd.DataFrame()
        if self.unplaced_all or not self.item:
            return schedule.unplaced_frame()
        return schedule.unplaced_frame(self.kind, self.item)

    def changes(self) -> tuple[pd.DataFrame, dict[str, int]]:
        """What changed from the compared version to the one shown, and how many changes of each kind."""
        new = self.schedule
        if new is None or not self.compare_to:
            return pd.DataFrame(), summary([])
        old = self._open(self.compare_to, "Opening the version to compare")
        if old is None:
            return pd.DataFrame(), summary([])
        found = compare(old, new)
        return changes_frame(old, new, found), summary(found)

    def csv_file(self) -> io.BytesIO:
        # With a byte-order mark, Excel reads the names' accents right when the file is double-clicked.
        return io.BytesIO(to_csv(self.schedule).encode("utf-8-sig"))

    def xlsx_file(self) -> io.BytesIO:
        return io.BytesIO(to_xlsx(self.schedule, self.export_kind))

    def print_file(self) -> io.BytesIO:
        return io.BytesIO(to_print_html(self.schedule, self.export_kind).encode("utf-8"))

    def export_name(self, ext: str) -> str:
        base = _filename(self.name_of(self.version))
        return f"{base}.{ext}" if ext == "csv" else f"{base}-{self.export_kind}.{ext}"

    # --- layout ------------------------------------------------------------------------------------
    # The panes are built once and their contents replaced on every change. Replacing contents (rather
    # than re-creating panes) keeps switching fast and reaches the browser even when the change comes
    # from the URL while the page is being set up.

    def _version_table(self) -> pn.widgets.Tabulator:
        table = pn.widgets.Tabulator(
            self.versions,
            show_index=False,
            disabled=True,
            selectable=1,
            hidden_columns=["id"],
            layout="fit_data_table",
            pagination="local",
            page_size=10,
            sizing_mode="stretch_width",
        )

        def pick(event):
            if event.new and len(table.value) > event.new[0]:
                self.version = table.value.iloc[event.new[0]]["id"]

        def sync(*_):
            table.value = self.versions
            ids = list(self.versions["id"]) if len(self.versions) else []
            table.selection = [ids.index(self.version)] if self.version in ids else []

        table.param.watch(pick, "selection")
        self.param.watch(sync, ["versions", "version"])
        sync()
        return table

    def header_text(self) -> str:
        """The version's name and statistics, as Markdown."""
        rows = self.versions[self.versions["id"] == self.version] if len(self.versions) else []
        if not len(rows):
            return f"**{self.message or 'Pick a version.'}**"
        r = rows.iloc[0]
        draft = " (draft)" if r["draft"] else ""
        return (
            f"### {r['name']}{draft}\n{r['placed']} of {r['total']} periods placed · {r['unplaced']} unplaced · "
            f"{r['conflicts']} conflicts · score {r['score']} · {r['solve time (s)']} s · {r['options']}"
        )

    def _table(self, frame: pd.DataFrame, **kwargs) -> pn.widgets.Tabulator:
        return pn.widgets.Tabulator(
            frame, show_index=False, disabled=True, sizing_mode="stretch_width", **kwargs
        )

    def _unplaced_view(self) -> list:
        frame = self.unplaced()
        if not len(frame):
            return [pn.pane.Markdown("Every lesson here is placed.")]
        return [self._table(frame, height=min(260, 40 + 30 * len(frame)))]

    def _breakdown_view(self) -> list:
        schedule = self.schedule
        if schedule is None:
            return [pn.pane.Markdown(self.message or "Pick a version.")]
        frame = schedule.breakdown_frame()
        summary_line = pn.pane.Markdown(f"Checked against today's rules: {schedule.report.summary()}.")
        if not len(frame) and schedule.report.ok:
            return [summary_line]
        details = self._table(schedule.violations_frame(), pagination="local", page_size=15)
        return [
            summary_line,
            self._table(frame),
            pn.Card(details, title="Every broken rule", collapsed=True, sizing_mode="stretch_width"),
        ]

    def _compare_view(self) -> list:
        if not self.compare_to:
            return [pn.pane.Markdown("Only one version: nothing to compare with.")]
        frame, counts = self.changes()
        head = (
            f"From **{self.name_of(self.compare_to)}** to **{self.name_of(self.version)}**: "
            f"{counts['moved']} moved, {counts['room']} changed room, "
            f"{counts['added']} added, {counts['removed']} removed."
        )
        if not len(frame):
            return [pn.pane.Markdown(head + " The two versions are the same.")]
        return [pn.pane.Markdown(head), self._table(frame, pagination="local", page_size=25)]

    def _analytics_view(self) -> list:
        schedule = self.schedule
        if schedule is None:
            return [pn.pane.Markdown("Pick a version.")]
        return [pn.FlexBox(*(pn.pane.Bokeh(f) for f in analytics_figures(schedule).values()))]

    def _downloads(self) -> pn.Row:
        def button(label: str, ext: str, make) -> pn.widgets.FileDownload:
            widget = pn.widgets.FileDownload(
                callback=make,
                filename=self.export_name(ext),
                label=label,
                button_type="primary",
                embed=False,
            )

            def rename(*_):
                widget.param.update(filename=self.export_name(ext), disabled=self.version is None)

            rename()

            self.param.watch(rename, ["version", "export_kind", "versions"])
            return widget

        return pn.Row(
            pn.pane.Markdown("Export:", margin=(16, 0, 0, 10)),
            pn.widgets.RadioButtonGroup.from_param(
                self.param.export_kind,
                options={"by class": "class", "by teacher": "teacher", "by room": "room"},
                name="",
                button_type="light",
            ),
            button("CSV", "csv", self.csv_file),
            button("XLSX", "xlsx", self.xlsx_file),
            button("Print view (HTML)", "html", self.print_file),
        )

    def _build(self) -> pn.Column:
        header = pn.pane.Markdown(self.header_text(), css_classes=["tt-version-header"])
        grid = pn.pane.HTML(self.grid_html(), sizing_mode="stretch_width", css_classes=["tt-grid-pane"])
        unplaced = pn.Column(*self._unplaced_view(), sizing_mode="stretch_width")
        breakdown = pn.Column(*self._breakdown_view(), sizing_mode="stretch_width")
        compared = pn.Column(sizing_mode="stretch_width")
        charts = pn.Column(sizing_mode="stretch_width")
        grid_tab = pn.Column(
            pn.Row(
                pn.widgets.RadioButtonGroup.from_param(
                    self.param.kind,
                    options={v: k for k, v in KIND_LABELS.items()},
                    button_type="primary",
                    name="Show",
                ),
                pn.widgets.Select.from_param(self.param.item, name="", width=240),
                pn.widgets.Checkbox.from_param(
                    self.param.mark_changes, name="Mark changes since the compared version", margin=(14, 10)
                ),
            ),
            grid,
            pn.pane.Markdown("#### Unplaced lessons"),
            pn.widgets.Checkbox.from_param(self.param.unplaced_all, name="Show every unplaced lesson"),
            unplaced,
            pn.pane.Markdown("#### Soft rules"),
            breakdown,
            sizing_mode="stretch_width",
            name="Grid",
        )
        compare_tab = pn.Column(
            pn.widgets.Select.from_param(self.param.compare_to, name="Compare with", width=320),
            compared,
            sizing_mode="stretch_width",
            name="Compare",
        )
        tabs = pn.Tabs(grid_tab, compare_tab, pn.Column(charts, name="Analytics"), dynamic=True)
        # Comparison and charts cost more than a grid: they are made only while their tab is open.
        stale = {"compare": True, "charts": True}

        def fill_tabs(*_):
            if tabs.active == 1 and stale["compare"]:
                compared.objects, stale["compare"] = self._compare_view(), False
            if tabs.active == 2 and stale["charts"]:
                charts.objects, stale["charts"] = self._analytics_view(), False

        def on_version(*_):
            header.object = self.header_text()
            breakdown.objects = self._breakdown_view()
            stale.update(compare=True, charts=True)
            fill_tabs()

        def on_compare(*_):
            stale["compare"] = True
            fill_tabs()

        def on_grid(*_):
            grid.object = self.grid_html()
            unplaced.objects = self._unplaced_view()

        self.param.watch(on_version, ["version", "versions"])
        self.param.watch(on_compare, ["compare_to"])
        self.param.watch(on_grid, ["version", "kind", "item", "unplaced_all", "mark_changes", "compare_to"])
        tabs.param.watch(fill_tabs, "active")
        return pn.Column(self._version_table(), header, self._downloads(), tabs, sizing_mode="stretch_width")

    def __panel__(self) -> pn.viewable.Viewable:
        if self._layout is None:
            self._layout = self._build()
        return self._layout
