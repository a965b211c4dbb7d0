"""Overview: how big the school is, what is wrong with its data (with links to the rows at fault), and
its latest timetable versions."""

from __future__ import annotations

import re
from urllib.parse import urlencode

import panel as pn
import param

from ..state import AppState

KIND_PAGES = {
    "subjects": "subjects",
    "teachers": "teachers",
    "classes": "classes",
    "groups": "classes",
    "rooms": "rooms",
    "lessons": "lessons",
    "rules": "rules",
}
"""The page that edits each kind of item."""

PLURAL = {
    "subject": "subjects",
    "teacher": "teachers",
    "class": "classes",
    "group": "groups",
    "room": "rooms",
    "lesson": "lessons",
    "rule": "rules",
}
_WHERE = re.compile(r"^(?P<kind>subject|teacher|class|group|room|lesson|rule) (?P<rest>.+)$")
_NAMED = re.compile(r"\((?P<id>[^()]+)\)(\.\w+)?$")
MAX_PROBLEMS = 200


def problem_link(where: str, docs: dict[str, list[str]]) -> tuple[str, str] | None:
    """(page, row id) a problem's ``where`` points at: ``lesson L12.teachers``, ``teacher Ms Novak (T03)``.

    ``docs`` gives the ids of each kind, so only rows that exist are linked; other problems link to the
    page of their kind.
    """
    match = _WHERE.match(where.strip())
    if not match:
        return None
    kind = PLURAL[match["kind"]]
    rest = match["rest"]
    named = _NAMED.search(rest)
    if named:
        row = named["id"]
    else:
        row = rest if rest in docs.get(kind, []) else rest.rsplit(".", 1)[0]
    return KIND_PAGES[kind], row if row in docs.get(kind, []) else ""


def link(school_id: str, page: str, focus: str = "") -> str:
    query = {"page": page, "school": school_id}
    if focus:
        query["focus"] = focus
    return "?" + urlencode(query)


class OverviewPage(pn.viewable.Viewer):
    """Counts, validation problems and the latest versions of the selected school."""

    app = param.ClassSelector(class_=AppState)
    counts = param.Dict(default={})
    problems = param.List(default=[], doc="(where, message, fix, link or '') of every problem found.")
    versions = param.List(default=[])

    def __init__(self, **params):
        super().__init__(**params)
        self.app.attempt(self.load, "Checking the school")

    def load(self) -> None:
        """Count the items, validate the school and list its latest versions."""
        from solver.validate import validate

        store, school = self.app.store, self.app.school
        if not school:
            return
        ids = {kind: [d["id"] for d in store.list(school, kind)] for kind in KIND_PAGES}
        self.counts = {kind: len(v) for kind, v in ids.items()}
        loaded = store.load_school(school)
        self.counts["periods"] = loaded.total_periods()
        rows = []
        for problem in validate(loaded)[:MAX_PROBLEMS]:
            target = problem_link(problem.where, ids)
            href = link(school, *target) if target else ""
            rows.append((problem.where, problem.message, problem.fix, href))
        self.problems = rows
        self.versions = list(store.list_versions(school))[:5]

    def _summary(self) -> pn.viewable.Viewable:
        labels = [
            ("periods", "periods a week"),
            ("lessons", "lessons"),
            ("teachers", "teachers"),
            ("classes", "classes"),
            ("groups", "groups"),
            ("rooms", "rooms"),
            ("subjects", "subjects"),
            ("rules", "rules"),
        ]
        cards = [
            pn.indicators.Number(
                name=label, value=self.counts.get(key, 0), font_size="28pt", title_size="11pt", margin=(0, 18)
            )
            for key, label in labels
        ]
        return pn.FlexBox(*cards)

    def _problems(self) -> pn.viewable.Viewable:
        if not self.app.school:
            return pn.pane.Alert(
                "No school yet: import one or create a demo school on the Import page.", alert_type="info"
            )
        if not self.problems:
            return pn.pane.Alert("No problems found: the school is ready to generate.", alert_type="success")
        lines = []
        for where, message, fix, href in self.problems:
            place = f"[{where}]({href})" if href else f"`{where}`"
            lines.append(f"- {place}: {message}" + (f" — *{fix}*" if fix else ""))
        return pn.Column(
            pn.pane.Alert(
                f"**{len(self.problems)} problem(s)** must be fixed before generating.", alert_type="warning"
            ),
            pn.pane.Markdown("\n".join(lines), sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )

    def _versions(self) -> pn.viewable.Viewable:
        if not self.versions:
            return pn.pane.Markdown("No timetable yet: generate one on the Generate page.")
        lines = []
        for v in self.versions:
            stats = v.get("stats") or {}
            placed, total = stats.get("placed", v.get("placed")), stats.get("total", v.get("total"))
            created = v.get("created")
            when = created.strftime("%Y-%m-%d %H:%M") if hasattr(created, "strftime") else str(created or "")
            draft = " (draft)" if v.get("draft") else ""
            href = "?" + urlencode(
                {"page": "timetables", "school": self.app.school, "version": str(v.get("id"))}
            )
            lines.append(f"- [{v.get('name', '')}]({href}){draft}: {placed}/{total} periods placed, {when}")
        return pn.pane.Markdown("\n".join(lines))

    def __panel__(self):
        return pn.Column(
            self._summary(),
            "### Problems",
            self._problems(),
            "### Latest timetables",
            self._versions(),
            sizing_mode="stretch_width",
        )
