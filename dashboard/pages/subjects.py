"""Subjects: name and colour."""

from __future__ import annotations

import param

from .table import Column, EntityTable


class SubjectsPage(EntityTable):
    kind = param.String(default="subjects")
    COLUMNS = (
        Column("id", "Id", "id"),
        Column("name", "Name", width=260),
        Column("color", "Colour", width=120),
    )

    def new_doc(self) -> dict:
        return {"id": self.unique("subject-"), "name": self.unique("New subject ", "name"), "color": ""}
