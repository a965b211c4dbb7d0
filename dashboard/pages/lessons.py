"""Lessons: a subject taught by teachers to classes or groups, in blocks, in some rooms.

The table edits the lesson's own fields; the card above it shows the lesson last clicked in the table
with its pinned placements (a block fixed at a day and period, and maybe a room) and its tags, and
edits them. Both save through the store at once; a refused change is a toast and leaves the lesson as it was.
"""

from __future__ import annotations

from typing import Any

import panel as pn
import param

from ..state import AppState, describe_error, is_user_error, log
from .table import Column, EntityTable


def pin_text(pin: dict, rooms: dict[str, str]) -> str:
    """A pin as a planner reads it: ``block 1: Monday 3, room Lab 1``."""
    text = f"block {int(pin.get('block', 0)) + 1}: {pin.get('day')} {pin.get('period')}"
    room = pin.get("room")
    return f"{text}, room {rooms.get(room, room)}" if room else text


def parse_tags(value: Any) -> list[str]:
    """Tags typed as ``a, b`` (or given as a list), blanks and repeats dropped, order kept."""
    items = value if isinstance(value, list) else str(value or "").split(",")
    tags: list[str] = []
    for item in items:
        tag = str(item).strip()
        if tag and tag not in tags:
            tags.append(tag)
    return tags


class LessonDetail(pn.viewable.Viewer):
    """The pins and tags of one lesson; ``add_pin``, ``remove_pin`` and ``set_tags`` save at once."""

    app = param.ClassSelector(class_=AppState)
    lesson = param.String(default="", doc="Id of the lesson shown.")
    doc = param.Dict(default={}, doc="The lesson as stored.")
    rooms = param.Dict(
        default=None, allow_None=True, doc="Room names by id; read from the store if not given."
    )
    known_tags = param.List(default=[], doc="Every tag the school's lessons use, shown as a hint.")

    def __init__(self, **params):
        super().__init__(**params)
        calendar = (self.app.store.get_calendar(self.app.school) if self.app.school else None) or {}
        if self.rooms is None:
            self.rooms = {r["id"]: r.get("name") or r["id"] for r in self._list("rooms")}
        self.block = pn.widgets.Select(name="Block", width=120)
        self.day = pn.widgets.Select(name="Day", options=list(calendar.get("days", [])), width=120)
        self.period = pn.widgets.Select(name="Period", options=list(calendar.get("periods", [])), width=90)
        self.room = pn.widgets.Select(name="Room", width=160)
        self.pin_button = pn.widgets.Button(name="Pin", button_type="primary", width=80)
        self.pin_button.on_click(
            lambda e: self.add_pin(self.block.value or 0, self.day.value, self.period.value, self.room.value)
        )
        self.tags = pn.widgets.TextInput(name="Tags (comma separated)", width=300)
        self.tags_button = pn.widgets.Button(name="Save tags", button_type="primary", width=100, align="end")
        self.tags_button.on_click(lambda e: self.set_tags(self.tags.value))
        self.pins = pn.Column(width=330)
        self.hint = pn.pane.Markdown("", styles={"color": "#555"}, width=400)
        # Folded until a row is clicked, so the table keeps the page's width and first paint stays quick.
        self.card = pn.Card(
            pn.FlexBox(
                pn.Column("#### Pinned", self.pins),
                pn.Column(
                    "#### Pin a block",
                    pn.Row(self.block, self.day),
                    pn.Row(self.period, self.room),
                    self.pin_button,
                ),
                pn.Column("#### Tags", pn.Row(self.tags, self.tags_button), self.hint),
            ),
            title="Pins and tags",
            collapsed=True,
            sizing_mode="stretch_width",
        )
        self._load()
        self._show()
        self._show_known()

    def _list(self, kind: str) -> list[dict]:
        return (
            (self.app.attempt(lambda: self.app.store.list(self.app.school, kind), f"Reading {kind}") or [])
            if (self.app.school)
            else []
        )

    @param.depends("known_tags", watch=True)
    def _show_known(self) -> None:
        known = self.known_tags
        self.hint.object = f"Tags used in this school: {', '.join(known)}." if known else "No tags used yet."

    @param.depends("lesson", watch=True)
    def _load(self) -> None:
        doc: dict = {}
        if self.lesson and self.app.school:
            doc = (
                self.app.attempt(
                    lambda: self.app.store.get(self.app.school, "lessons", self.lesson), "Reading the lesson"
                )
                or {}
            )
        self.doc = doc

    @param.depends("doc", watch=True)
    def _show(self) -> None:
        doc = self.doc
        blocks = doc.get("blocks", [])
        self.block.options = {f"{i + 1} ({n} period{'s' if n != 1 else ''})": i for i, n in enumerate(blocks)}
        # The store only accepts a pinned room the lesson may use.
        self.room.options = {"(no room fixed)": "", **{self.rooms.get(r, r): r for r in doc.get("rooms", [])}}
        self.tags.value = ", ".join(doc.get("tags", []))
        for widget in (
            self.block,
            self.day,
            self.period,
            self.room,
            self.pin_button,
            self.tags,
            self.tags_button,
        ):
            widget.disabled = not doc
        self.card.title = f"Lesson {doc['id']}: pins and tags" if doc else "Pins and tags"
        if doc and self.block.value not in self.block.options.values():
            self.block.value = 0
        rows: list[Any] = []
        for i, pin in enumerate(doc.get("pinned", [])):
            remove = pn.widgets.Button(name="Unpin", button_type="light", width=70)
            remove.on_click(lambda e, i=i: self.remove_pin(i))
            rows.append(pn.Row(pn.pane.Markdown(pin_text(pin, self.rooms), width=230), remove))
        if not rows:
            rows = [
                pn.pane.Markdown("Not pinned: the solver places every block." if doc else "Pick a lesson.")
            ]
        self.pins.objects = rows

    def _save(self, changes: dict, what: str) -> bool:
        """Save through the store; a refusal is a toast naming the problem, and the lesson stays as it was."""
        label = f"Lesson '{self.lesson}'"
        try:
            saved = self.app.store.update(self.app.school, "lessons", self.lesson, changes)
        except Exception as e:  # noqa: BLE001 - any refusal leaves the lesson as it was; the toast says why
            if not is_user_error(e):
                log.exception("%s of lesson %s", what, self.lesson)
            self.app.toast("error", f"{label} not changed ({what}): {describe_error(e)}")
            self._load()
            return False
        self.doc = saved
        return True

    def add_pin(self, block: int, day: str, period: str, room: str | None = None) -> bool:
        """Fix block ``block`` (0-based) at ``day`` and ``period``, in ``room`` when one is given.

        A block already pinned moves to the new time."""
        if not self.doc:
            return False
        pin = {"block": int(block), "day": day, "period": period, "room": room or None}
        pins = [p for p in self.doc.get("pinned", []) if p.get("block") != pin["block"]] + [pin]
        pins.sort(key=lambda p: p.get("block", 0))
        return self._save({"pinned": pins}, f"pinning block {pin['block'] + 1} at {day} {period}")

    def remove_pin(self, index: int) -> bool:
        """Unpin the ``index``-th pin shown."""
        pins = list(self.doc.get("pinned", []))
        if not 0 <= index < len(pins):
            return False
        removed = pins.pop(index)
        return self._save({"pinned": pins}, f"unpinning block {int(removed.get('block', 0)) + 1}")

    def set_tags(self, value: Any) -> bool:
        """Replace the lesson's tags (``a, b`` or a list)."""
        if not self.doc:
            return False
        return self._save({"tags": parse_tags(value)}, "saving its tags")

    def __panel__(self):
        return self.card


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
        Column("real_rooms", "Real rooms (in a combined room)", "refs", ref=("rooms",), width=160),
        Column("enabled", "Enabled", "bool", width=80),
        Column("pinned", "Pinned", "id", width=110),
        Column("tags", "Tags", "id", width=110),
    )

    def __init__(self, **params):
        super().__init__(**params)
        first = self.app.focus if self.app.focus in self.docs else next(iter(self.docs), "")
        self.detail = LessonDetail(
            app=self.app, lesson=first, rooms=self.names.by_id.get("rooms", {}), known_tags=self.tags_used()
        )
        self.detail.param.watch(self._detail_saved, "doc")
        self.table.on_click(self._on_click)

    def cell(self, column: Column, doc: dict) -> Any:
        # Pins and tags are edited in the panel beside the table; the table shows them, for filtering.
        if column.field == "pinned":
            return ", ".join(f"{p.get('day')} {p.get('period')}" for p in doc.get("pinned", []))
        if column.field == "tags":
            return ", ".join(doc.get("tags", []))
        return super().cell(column, doc)

    def tags_used(self) -> list[str]:
        """Every tag of the school's lessons, for the hint under the tags box."""
        return sorted({t for doc in self.docs.values() for t in doc.get("tags", [])}, key=str.lower)

    def _on_click(self, event) -> None:
        if event.column != "_selection" and 0 <= event.row < len(self.table.value):
            self.detail.lesson = self.table.value.index[event.row]
            self.detail.card.collapsed = False

    def _detail_saved(self, event) -> None:
        saved = event.new
        if not saved or saved.get("id") not in self.docs:
            return
        self.docs[saved["id"]] = saved
        for field in ("pinned", "tags"):
            self._revert(saved["id"], field, self.cell(self.columns[field], saved))
        self.detail.known_tags = self.tags_used()

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

    def __panel__(self):
        table = super().__panel__()
        table.insert(1, self.detail)
        return table
