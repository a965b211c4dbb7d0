"""Rooms: name, capacity, building and, for a combined room, its sets of real rooms.

A combined room (FET's virtual room) lists sets of real rooms, typed as names separated by commas within
a set and semicolons between sets: "Hall 1, Hall 2; Gym" means one of the halls and the gym. A lesson
in it takes one real room of each set, all different."""

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
        Column("real_rooms", "Real rooms (combined room)", "sets", ref=("rooms",), width=280),
    )

    def new_doc(self) -> dict:
        return {
            "id": self.unique("room-"),
            "name": self.unique("New room ", "name"),
            "capacity": None,
            "building": "",
            "real_rooms": [],
        }
