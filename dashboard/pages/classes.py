"""Classes and their groups (divisions such as halves or language sets)."""

from __future__ import annotations

import panel as pn
import param

from ..state import AppState
from .table import Column, EntityTable


class ClassesTable(EntityTable):
    kind = param.String(default="classes")
    COLUMNS = (
        Column("id", "Id", "id"),
        Column("name", "Name", width=200),
        Column("size", "Students", "int?", width=100),
    )

    def new_doc(self) -> dict:
        return {"id": self.unique("class-"), "name": self.unique("New class ", "name"), "size": None}


class GroupsTable(EntityTable):
    kind = param.String(default="groups")
    COLUMNS = (
        Column("id", "Id", "id"),
        Column("name", "Name", width=200),
        Column("class", "Class", "ref", ref=("classes",), width=160),
        Column("division", "Division", width=160),
    )

    def new_doc(self) -> dict:
        classes = self.names.by_id.get("classes", {})
        return {
            "id": self.unique("group-"),
            "name": self.unique("New group ", "name"),
            "class": next(iter(classes), ""),
            "division": "",
        }


class ClassesPage(pn.viewable.Viewer):
    """Both tables on one page; renaming or deleting a class refreshes the groups' class names."""

    app = param.ClassSelector(class_=AppState)

    def __init__(self, **params):
        super().__init__(**params)
        self.classes = ClassesTable(app=self.app)
        self.groups = GroupsTable(app=self.app)
        self.classes.param.watch(lambda e: self.groups.reload(), "status")

    def __panel__(self):
        return pn.Column("### Classes", self.classes, "### Groups", self.groups, sizing_mode="stretch_width")
