"""Teachers, and each teacher's availability: a days-by-periods grid where a click toggles a slot.

Unavailable slots are stored the engine's way, as a hard ``unavailable`` rule scoped to the teacher,
so the Rules page, the solver and a FET export all see the same thing.
"""

from __future__ import annotations

import panel as pn
import param

from solver.domain import HARD

from ..state import AppState
from .table import Column, EntityTable


class TeachersTable(EntityTable):
    kind = param.String(default="teachers")
    COLUMNS = (
        Column("id", "Id", "id"),
        Column("name", "Name", width=260),
    )

    def new_doc(self) -> dict:
        return {"id": self.unique("teacher-"), "name": self.unique("New teacher ", "name")}


class AvailabilityGrid(pn.viewable.Viewer):
    """One teacher's week. ``unavailable`` holds (day, period) names; ``toggle`` saves one slot."""

    app = param.ClassSelector(class_=AppState)
    teacher = param.String(default="", doc="Id of the teacher shown.")
    unavailable = param.List(default=[], doc="(day, period) names the teacher cannot teach.")

    def __init__(self, **params):
        super().__init__(**params)
        calendar = self.app.store.get_calendar(self.app.school) if self.app.school else None
        calendar = calendar or {"days": [], "periods": [], "breaks": []}
        self.days = list(calendar.get("days", []))
        self.periods = list(calendar.get("periods", []))
        self.breaks = {tuple(b) for b in calendar.get("breaks", [])}
        self.buttons: dict[tuple[str, str], pn.widgets.Button] = {}
        cells: list = [pn.pane.HTML("", width=70)]
        cells += [pn.pane.HTML(f"<b>{p}</b>", width=54, margin=(5, 2), align="center") for p in self.periods]
        for day in self.days:
            cells.append(pn.pane.HTML(f"<b>{day}</b>", width=70, align="center"))
            for period in self.periods:
                button = pn.widgets.Button(
                    name=str(period),
                    width=54,
                    height=34,
                    margin=2,
                    css_classes=["slot", f"slot-{day}-{period}"],
                )
                if (day, period) in self.breaks:
                    button.param.update(name="break", disabled=True)
                button.on_click(lambda e, d=day, p=period: self.toggle(d, p))
                self.buttons[(day, period)] = button
                cells.append(button)
        self.grid = pn.GridBox(*cells, ncols=len(self.periods) + 1)
        self._load()
        self._paint()

    def _rules(self) -> list[dict]:
        return [
            r
            for r in self.app.store.list(self.app.school, "rules")
            if r.get("type") == "unavailable"
            and r.get("scope") == "teacher"
            and r.get("target") == self.teacher
            and r.get("weight", HARD) >= HARD
        ]

    @param.depends("teacher", watch=True)
    def _load(self) -> None:
        slots: list[tuple[str, str]] = []
        if self.teacher and self.app.school:
            for rule in self._rules():
                for day, period in rule.get("params", {}).get("slots", []):
                    if (day, period) not in slots:
                        slots.append((day, period))
        self.unavailable = slots

    @param.depends("unavailable", "teacher", watch=True)
    def _paint(self) -> None:
        blocked = set(map(tuple, self.unavailable))
        for slot, button in self.buttons.items():
            if slot in self.breaks:
                continue
            button.button_type = "danger" if slot in blocked else "light"
            button.disabled = not self.teacher

    def toggle(self, day: str, period: str) -> bool:
        """Make the slot unavailable (or available again) and save the teacher's rule at once."""
        if not self.teacher or (day, period) in self.breaks:
            return False
        slot = [day, period]
        rules = self._rules()
        was_blocked = any(slot in [list(s) for s in r.get("params", {}).get("slots", [])] for r in rules)

        def save() -> bool:
            store, school = self.app.store, self.app.school
            if was_blocked:
                for rule in rules:
                    slots = [list(s) for s in rule.get("params", {}).get("slots", [])]
                    if slot in slots:
                        slots.remove(slot)
                        params = {**rule.get("params", {}), "slots": slots}
                        store.update(school, "rules", rule["id"], {"params": params})
            elif rules:
                rule = rules[0]
                slots = [list(s) for s in rule.get("params", {}).get("slots", [])] + [slot]
                store.update(
                    school, "rules", rule["id"], {"params": {**rule.get("params", {}), "slots": slots}}
                )
            else:
                used = {r["id"] for r in store.list(school, "rules")}
                rule_id, n = f"unavailable-{self.teacher}", 2
                while rule_id in used:
                    rule_id, n = f"unavailable-{self.teacher}-{n}", n + 1
                store.create(
                    school,
                    "rules",
                    {
                        "id": rule_id,
                        "type": "unavailable",
                        "scope": "teacher",
                        "target": self.teacher,
                        "weight": HARD,
                        "params": {"slots": [slot]},
                    },
                )
            return True

        if not self.app.attempt(save, f"Saving the availability of {self.teacher} on {day} {period}"):
            return False
        self._load()
        return True

    def __panel__(self):
        return self.grid


class TeachersPage(pn.viewable.Viewer):
    """The teachers table, and the availability grid of the teacher picked above it."""

    app = param.ClassSelector(class_=AppState)

    def __init__(self, **params):
        super().__init__(**params)
        self.table = TeachersTable(app=self.app)
        self.picker = pn.widgets.Select(name="Availability of", width=280)
        self._options()
        first = self.app.focus if self.app.focus in self.table.docs else next(iter(self.table.docs), "")
        self.grid = AvailabilityGrid(app=self.app, teacher=first)
        self.picker.value = first
        self.picker.param.watch(lambda e: setattr(self.grid, "teacher", e.new or ""), "value")
        self.table.table.on_click(self._on_click)
        self.table.param.watch(lambda e: self._options(), "status")

    def _options(self) -> None:
        self.picker.options = {d.get("name") or i: i for i, d in self.table.docs.items()}

    def _on_click(self, event) -> None:
        if event.column != "_selection" and 0 <= event.row < len(self.table.table.value):
            self.picker.value = self.table.table.value.index[event.row]

    def __panel__(self):
        legend = pn.pane.Markdown(
            "Click a slot to mark it **unavailable** (red) or available again. Saved at once.",
            margin=(0, 10),
        )
        availability = pn.Column("### Availability", self.picker, legend, self.grid)
        return pn.Row(pn.Column(self.table, width=540), availability, sizing_mode="stretch_width")
