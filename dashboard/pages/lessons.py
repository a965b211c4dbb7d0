"""Lessons: a subject taught by teachers to classes or groups, in blocks, in some rooms."""

from __future__ import annotations

import param

from .table import Column, EntityTable


class LessonsPage(EntityTable):
    kind = param.String(default="lessons")
    COLUMNS = (
        Column("id", "Id", "id"),
        Column("subject", "Subject", "ref", ref=("subjects",), width=150),
        Column("teachers", "Teachers", "refs", ref=("teachers",), width=200),
        Column("groups", "Classes and groups", "refs", ref=("classes", "groups"), width=200),
        Column("blocks", "Blocks", "blocks", width=90),
        Column("min_days_apart", "Min days apart", "int", width=90),
        Column("rooms", "Rooms", "refs", ref=("rooms",), width=160),
        Column("enabled", "Enabled", "bool", width=80),
    )

    def new_doc(self) -> dict:
        subjects = self.names.by_id.get("subjects", {})
        classes = self.names.by_id.get("classes", {})
        return {
            "id": self.unique("lesson-"),
            "subject": next(iter(subjects), ""),
            "teachers": [],
            "groups": list(classes)[:1],
            "blocks": [1],
            "min_days_apart": 1,
            "rooms": [],
            "enabled": True,
        }
