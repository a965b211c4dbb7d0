"""Rooms: name, capacity and building."""

from __future__ import annotations

import param

from .table import Column, EntityTable


class RoomsPage(EntityTable):
    kind = param.String(default="rooms")
    COLUMNS = (
        Column("id", "Id", "id"),
        Column("name", "Name", width=220),
        Column("capacity", "Capacity", "int?", width=110),
        Column("building", "Building", width=180),
    )

    def new_doc(self) -> dict:
        return {
            "id": self.unique("room-"),
            "name": self.unique("New room ", "name"),
            "capacity": None,
            "building": "",
        }
