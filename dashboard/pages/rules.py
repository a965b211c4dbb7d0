"""Rules: the weighted constraints (weight 100 must hold; lower weights are soft)."""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from solver.domain import HARD, SCOPES
from solver.rules import RULE_TYPES

from .table import Column, EntityTable, InputError

TARGET_KINDS = {
    "teacher": ("teachers",),
    "group": ("classes", "groups"),
    "room": ("rooms",),
    "subject": ("subjects",),
    "lesson": ("lessons",),
}
"""Which names a singular scope's target is picked from; ``lessons`` takes a list of lesson ids."""


class RulesPage(EntityTable):
    kind = param.String(default="rules")
    COLUMNS = (
        Column("id", "Id", "id"),
        Column("type", "Type", "choice", choices=tuple(RULE_TYPES), width=170),
        Column("scope", "Scope", "choice", choices=SCOPES, width=120),
        Column(
            "target",
            "Applies to",
            "target",
            ref=("teachers", "classes", "groups", "rooms", "subjects"),
            width=170,
        ),
        Column("weight", "Weight", "int", width=80),
        Column("params", "Parameters", "json", width=260),
        Column("enabled", "Enabled", "bool", width=80),
        Column("note", "Note", width=200),
    )

    def cell(self, column: Column, doc: dict) -> Any:
        if column.kind != "target":
            return super().cell(column, doc)
        target = doc.get("target")
        if isinstance(target, list):
            return ", ".join(map(str, target))
        kinds = TARGET_KINDS.get(doc.get("scope", ""), ())
        return "" if target in (None, "") else self.names.name(kinds, target)

    def parse(self, column: Column, value: Any, doc: dict) -> Any:
        if column.kind != "target":
            return super().parse(column, value, doc)
        text = str(value or "").strip()
        scope = doc.get("scope", "")
        if scope.startswith("all_"):
            if text:
                raise InputError(f"Applies to: a rule with scope {scope} applies to everyone; leave it empty")
            return None
        if scope == "lessons":
            return [t.strip() for t in text.split(",") if t.strip()]
        if scope == "lesson":
            return text
        return self.names.id(TARGET_KINDS.get(scope, ()), text, column.title)

    def _editors(self) -> dict:
        editors = super()._editors()
        editors["target"] = {
            "type": "list",
            "values": self.names.names(self.columns["target"].ref),
            "autocomplete": True,
            "freetext": True,
            "listOnEmpty": True,
        }
        return editors

    def new_doc(self) -> dict:
        return {
            "id": self.unique("rule-"),
            "type": "max_gaps_per_week",
            "scope": "all_teachers",
            "target": None,
            "weight": HARD // 2,
            "params": {"max": 3},
            "enabled": True,
            "note": "",
        }

    def __panel__(self):
        types = "\n".join(
            f"- **{t.name}** ({t.title}; scopes: {', '.join(t.scopes)}): {t.help}"
            for t in RULE_TYPES.values()
        )
        guide = pn.pane.Markdown(
            "Weight 100 means the rule must hold; a lower weight makes it a wish, penalised in proportion. "
            "*Applies to* names the teacher, class, group, room or subject of a singular scope; "
            '*Parameters* are JSON, e.g. `{"max": 2}`.\n\n' + types,
            sizing_mode="stretch_width",
        )
        return pn.Column(
            super().__panel__(),
            pn.Accordion(("Rule types", guide), sizing_mode="stretch_width"),
            sizing_mode="stretch_width",
        )
