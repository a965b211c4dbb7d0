"""Import: a FET file, or a demo school of a chosen size, as a new school in the database."""

from __future__ import annotations

import tempfile
from pathlib import Path

import panel as pn
import param

from ..state import AppState

DEMO_SIZES = {
    "small (120 periods)": 120,
    "medium (400 periods)": 400,
    "large (914 periods)": 914,
    "very large (2,000 periods)": 2000,
}


class ImportPage(pn.viewable.Viewer):
    """Two ways to add a school. Either way the new school is selected once it is stored."""

    app = param.ClassSelector(class_=AppState)
    demo_periods = param.Integer(default=914)
    demo_seed = param.Integer(default=1, bounds=(0, None))
    demo_name = param.String(default="")
    fet_name = param.String(default="")
    report = param.String(default="", doc="What the last import did, shown under the forms.")

    def __init__(self, **params):
        super().__init__(**params)
        self.file_input = pn.widgets.FileInput(accept=".fet,.xml", multiple=False)
        self.fet_button = pn.widgets.Button(name="Import FET file", button_type="primary")
        self.fet_button.on_click(lambda e: self.import_fet(self.file_input.value, self.file_input.filename))
        self.demo_button = pn.widgets.Button(name="Create demo school", button_type="primary")
        self.demo_button.on_click(lambda e: self.create_demo())
        self.size_input = pn.widgets.Select(
            name="Size", options=DEMO_SIZES, value=self.demo_periods, width=220
        )
        self.size_input.link(self, value="demo_periods")

    def _stored(self, school, name: str, what: str) -> str | None:
        school.name = name or school.name
        school_id = self.app.attempt(
            lambda: self.app.store.import_school(school, school.name), f"Storing {what}"
        )
        if not school_id:
            return None
        school_id = str(school_id)
        self.app.refresh_schools()
        self.app.go("overview", school=school_id)
        self.app.data_revision += 1
        self.app.toast(
            "success", f"{what.capitalize()} '{school.name}' imported: {school.total_periods()} periods."
        )
        return school_id

    def create_demo(self) -> str | None:
        """Generate a demo school of ``demo_periods`` periods and store it; returns its id."""
        from solver.demo import generate_demo

        school = self.app.attempt(
            lambda: generate_demo(self.demo_periods, self.demo_seed), "Making the demo school"
        )
        if school is None:
            return None
        name = self.demo_name.strip() or f"Demo {self.demo_periods} periods (seed {self.demo_seed})"
        return self._stored(school, name, "the demo school")

    def import_fet(self, data: bytes | None, filename: str | None) -> str | None:
        """Read an uploaded .fet file and store it as a new school; returns its id."""
        if not data:
            self.app.toast("warning", "Choose a .fet file first.")
            return None
        from solver.fet.importer import import_fet, import_report

        filename = Path(filename or "school.fet").name

        def read():
            with tempfile.TemporaryDirectory() as tmp:
                path = Path(tmp) / filename
                path.write_bytes(data)
                return import_fet(path)

        school = self.app.attempt(read, f"Reading {filename}")
        if school is None:
            return None
        report = self.app.attempt(lambda: import_report(school), "Reading the import report")
        self.report = f"```\n{report.text()}\n```" if report is not None else ""
        return self._stored(school, self.fet_name.strip() or Path(filename).stem, "the FET file")

    @param.depends("report")
    def _report(self):
        return (
            pn.pane.Markdown(self.report, sizing_mode="stretch_width") if self.report else pn.Spacer(height=0)
        )

    def __panel__(self):
        fet = pn.Column(
            "### A FET file",
            self.file_input,
            pn.widgets.TextInput.from_param(
                self.param.fet_name, name="School name (optional)", placeholder="FET school name", width=320
            ),
            self.fet_button,
            self._report,
        )
        demo = pn.Column(
            "### A demo school",
            self.size_input,
            pn.widgets.IntInput.from_param(self.param.demo_seed, name="Seed", width=120),
            pn.widgets.TextInput.from_param(
                self.param.demo_name, name="School name (optional)", placeholder="Demo school name", width=320
            ),
            self.demo_button,
        )
        return pn.Row(fet, pn.Spacer(width=40), demo)
