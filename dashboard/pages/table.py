"""An editable table of one kind of school data, saved to the store cell by cell.

Pages for subjects, teachers, classes, groups, rooms, lessons and rules are each an ``EntityTable``
with their own columns. References show names, not ids, and are edited with list editors. Every edit
goes to the store at once; an edit the store (or the parsing here) refuses is put back as it was, with
a toast naming the problem. Deleting an item that others still refer to asks first, and then deletes it
with its references (the store's cascade), so nothing is left pointing at a missing item.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pandas as pd
import panel as pn
import param

from ..state import AppState, describe_error, is_user_error, log

PAGE_SIZE = 50

LABELS = {
    "subjects": "subject",
    "teachers": "teacher",
    "classes": "class",
    "groups": "group",
    "rooms": "room",
    "lessons": "lesson",
    "rules": "rule",
}


class InputError(ValueError):
    """A cell value that cannot be turned into the stored form; the message says what to type."""


@dataclass(frozen=True)
class Column:
    """One column: the document field, its title, how it is shown and edited.

    Kinds: ``id`` (read-only), ``text``, ``int``, ``int?`` (may be empty), ``bool``, ``ref`` (one name
    of the kinds in ``ref``), ``refs`` (several), ``blocks`` (e.g. ``2, 1``), ``sets`` (lists of names,
    e.g. ``Hall 1, Hall 2; Gym``), ``json`` and ``choice``.
    """

    field: str
    title: str
    kind: str = "text"
    ref: tuple[str, ...] = ()
    choices: tuple[str, ...] = ()
    width: int | None = None


class Names:
    """Id and name lookups for the kinds a table refers to."""

    def __init__(self, docs: dict[str, list[dict]]):
        self.by_id = {
            kind: {d["id"]: d.get("name") or d["id"] for d in items} for kind, items in docs.items()
        }

    def name(self, kinds: tuple[str, ...], id: Any) -> str:
        for kind in kinds:
            if id in self.by_id.get(kind, {}):
                return self.by_id[kind][id]
        return str(id)

    def names(self, kinds: tuple[str, ...]) -> list[str]:
        return sorted({n for kind in kinds for n in self.by_id.get(kind, {}).values()}, key=str.lower)

    def id(self, kinds: tuple[str, ...], name: str, field: str) -> str:
        """The id of the item called ``name`` (or with that id), or an InputError naming the field."""
        for kind in kinds:
            for id, item_name in self.by_id.get(kind, {}).items():
                if item_name == name:
                    return id
        for kind in kinds:
            if name in self.by_id.get(kind, {}):
                return name
        what = " or ".join(LABELS.get(k, k) for k in kinds)
        raise InputError(f"{field}: there is no {what} called '{name}'; pick one from the list")


def to_cell(column: Column, value: Any, names: Names) -> Any:
    """The document value as the table shows it."""
    kind = column.kind
    if kind == "ref":
        return "" if value in (None, "") else names.name(column.ref, value)
    if kind == "refs":
        return [names.name(column.ref, v) for v in (value or [])]
    if kind == "blocks":
        return ", ".join(str(b) for b in (value or []))
    if kind == "sets":
        return "; ".join(", ".join(names.name(column.ref, v) for v in part) for part in (value or []))
    if kind == "json":
        return json.dumps(value if value is not None else {}, ensure_ascii=False)
    if kind == "bool":
        return bool(value) if value is not None else True
    if kind in ("int", "int?"):
        return None if value is None else int(value)
    return "" if value is None else value


def from_cell(column: Column, value: Any, names: Names) -> Any:
    """The stored form of a value typed or picked in the table; InputError says what is wrong."""
    title = column.title
    kind = column.kind
    if isinstance(value, float) and pd.isna(value):
        value = None
    if kind in ("text", "choice"):
        text = "" if value is None else str(value).strip()
        if kind == "choice" and text not in column.choices:
            raise InputError(f"{title}: '{text}' is not one of {', '.join(column.choices)}")
        return text
    if kind in ("int", "int?"):
        if value in (None, "") and kind == "int?":
            return None
        try:
            number = float(str(value).strip())
        except ValueError:
            raise InputError(f"{title}: '{value}' is not a number; type a whole number such as 2") from None
        if number != int(number) or number < 0:
            raise InputError(f"{title}: {value} is not a whole number of 0 or more")
        return int(number)
    if kind == "bool":
        return value in (True, "true", "True", 1, "1")
    if kind == "ref":
        return names.id(column.ref, str(value or "").strip(), title)
    if kind == "refs":
        items = value if isinstance(value, list) else [v for v in str(value or "").split(",")]
        return [names.id(column.ref, str(v).strip(), title) for v in items if str(v).strip()]
    if kind == "blocks":
        parts = [p.strip() for p in str(value or "").split(",") if p.strip()]
        if not parts or not all(p.isdigit() and int(p) > 0 for p in parts):
            raise InputError(f"{title}: '{value}' is not a list of block lengths; type e.g. '2, 1, 1'")
        return [int(p) for p in parts]
    if kind == "sets":
        parts = [[x.strip() for x in part.split(",") if x.strip()] for part in str(value or "").split(";")]
        return [[names.id(column.ref, x, title) for x in part] for part in parts if part]
    if kind == "json":
        try:
            return json.loads(value) if isinstance(value, str) else value
        except json.JSONDecodeError as e:
            raise InputError(f'{title}: not valid JSON ({e.msg}); type e.g. {{"max": 2}}') from None
    raise InputError(f"{title} cannot be edited")


class EntityTable(pn.viewable.Viewer):
    """An editable, filterable, paginated table of one kind of entity of the selected school.

    Subclasses set ``kind``, list their ``COLUMNS`` and say how a new row starts in ``new_doc``.
    """

    COLUMNS: tuple[Column, ...] = ()

    app = param.ClassSelector(class_=AppState)
    kind = param.String(doc="subjects, teachers, classes, groups, rooms, lessons or rules")
    pending_delete = param.List(default=[], doc="Ids waiting for the planner to confirm a cascade.")
    pending_message = param.String(default="")
    status = param.String(default="", doc="What the last action did, shown under the table.")

    def __init__(self, **params):
        super().__init__(**params)
        self.columns = {c.field: c for c in self.COLUMNS}
        self.docs: dict[str, dict] = {}
        self.names = Names({})
        self.table = pn.widgets.Tabulator(
            pd.DataFrame(),
            pagination="remote",
            page_size=PAGE_SIZE,
            selectable="checkbox",
            show_index=False,
            layout="fit_data_table",
            sizing_mode="stretch_width",
            name=self.kind,
        )
        self.table.on_edit(self._on_edit)
        self.status_pane = pn.pane.Markdown("", styles={"color": "#555"}, margin=(0, 10))
        self.search = pn.widgets.TextInput(placeholder="Search every column", width=220)
        self.table.add_filter(pn.bind(self._search_filter, text=self.search.param.value_input))
        self.add_button = pn.widgets.Button(name=f"Add {LABELS[self.kind]}", button_type="primary")
        self.add_button.on_click(lambda e: self.add())
        self.delete_button = pn.widgets.Button(name="Delete selected", button_type="danger")
        self.delete_button.on_click(lambda e: self.delete_selected())
        self.cascade_button = pn.widgets.Button(name="Delete with its references", button_type="danger")
        self.cascade_button.on_click(lambda e: self.confirm_delete(True))
        self.cancel_button = pn.widgets.Button(name="Cancel", button_type="light")
        self.cancel_button.on_click(lambda e: self.confirm_delete(False))
        self.reload()

    # Data

    def _referenced_kinds(self) -> set[str]:
        return {k for c in self.columns.values() for k in c.ref}

    def reload(self) -> None:
        """Read this table's rows, and the names it refers to, from the store."""
        store, school = self.app.store, self.app.school
        docs = {self.kind: store.list(school, self.kind) if school else []}
        for kind in self._referenced_kinds() - {self.kind}:
            docs[kind] = store.list(school, kind) if school else []
        self.docs = {d["id"]: d for d in docs[self.kind]}
        self.names = Names(docs)
        self.table.editors = self._editors()
        self.table.formatters = self._formatters()
        self.table.header_filters = self._header_filters()
        self.table.titles = {c.field: c.title for c in self.columns.values()}
        self.table.widths = {c.field: c.width for c in self.columns.values() if c.width}
        self.table.value = self._frame()
        self._apply_focus()

    def _frame(self) -> pd.DataFrame:
        rows = {
            field: pd.Series([self.cell(col, doc) for doc in self.docs.values()], dtype=object)
            for field, col in self.columns.items()
        }
        frame = pd.DataFrame(rows, columns=list(self.columns))
        frame.index = pd.Index(list(self.docs), name="row")
        return frame

    def cell(self, column: Column, doc: dict) -> Any:
        """How a document's field is shown; pages with special columns override it."""
        return to_cell(column, doc.get(column.field), self.names)

    def parse(self, column: Column, value: Any, doc: dict) -> Any:
        """The stored form of an edited cell of ``doc``; pages with special columns override it."""
        return from_cell(column, value, self.names)

    def _editors(self) -> dict:
        editors: dict[str, Any] = {}
        for field, col in self.columns.items():
            if col.kind == "id":
                editors[field] = None
            elif col.kind in ("int", "int?"):
                editors[field] = {"type": "number", "min": 0, "step": 1}
            elif col.kind == "bool":
                editors[field] = {"type": "tickCross"}
            elif col.kind in ("ref", "refs"):
                editors[field] = {
                    "type": "list",
                    "values": self.names.names(col.ref),
                    "multiselect": col.kind == "refs",
                    "listOnEmpty": True,
                    "clearable": col.kind == "refs",
                }
            elif col.kind == "choice":
                editors[field] = {"type": "list", "values": list(col.choices)}
            else:
                editors[field] = {"type": "input"}
        return editors

    def _formatters(self) -> dict:
        return {f: {"type": "tickCross"} for f, c in self.columns.items() if c.kind == "bool"}

    def _header_filters(self) -> dict:
        filters: dict[str, Any] = {}
        for field, col in self.columns.items():
            if col.kind == "bool":
                filters[field] = {"type": "tickCross", "tristate": True, "indeterminateValue": None}
            elif col.kind in ("id", "text", "ref", "choice", "blocks", "sets"):
                filters[field] = {"type": "input", "func": "like", "placeholder": "filter"}
        return filters

    def _search_filter(self, frame: pd.DataFrame, text: str) -> pd.DataFrame:
        text = (text or "").strip().lower()
        if not text or frame.empty:
            return frame
        blob = frame.astype(str).agg(" ".join, axis=1).str.lower()
        blob = blob + " " + frame.index.astype(str).str.lower()
        return frame[blob.str.contains(text, regex=False)]

    def _apply_focus(self) -> None:
        focus = self.app.focus
        if focus and focus in self.docs:
            iloc = list(self.docs).index(focus)
            self.table.page = iloc // PAGE_SIZE + 1
            self.table.selection = [iloc]

    # Editing

    def _on_edit(self, event) -> None:
        row_id = self.table.value.index[event.row]
        self.edit(row_id, event.column, event.value, old=event.old)

    def edit(self, row_id: str, field: str, value: Any, old: Any = None) -> bool:
        """Save one cell. On refusal the cell is put back and a toast names the problem."""
        column = self.columns.get(field)
        doc = self.docs.get(row_id)
        if column is None or doc is None:
            return False
        previous = self.cell(column, doc)
        label = f"{LABELS[self.kind].capitalize()} '{doc.get('name') or row_id}'"
        try:
            stored = self.parse(column, value, doc)
        except InputError as e:
            self._revert(row_id, field, previous)
            self.app.toast("error", f"{label} not changed: {e}")
            return False
        try:
            saved = self._save(row_id, {field: stored})
        except Exception as e:  # noqa: BLE001 - any refusal reverts the cell; the toast says why
            if not is_user_error(e):
                log.exception("saving %s.%s of %s", self.kind, field, row_id)
            self._revert(row_id, field, previous)
            self.app.toast("error", f"{label} not changed: {describe_error(e)}")
            return False
        self.docs[row_id] = saved
        shown = self.cell(column, saved)
        if row_id in self.table.value.index and self.table.value.at[row_id, field] != shown:
            self._revert(row_id, field, shown)
        if field == "name":
            self.names.by_id.setdefault(self.kind, {})[row_id] = stored or row_id
        self.status = f"Saved {column.title.lower()} of {LABELS[self.kind]} '{saved.get('name') or row_id}'."
        return True

    def _save(self, row_id: str, changes: dict) -> dict:
        result = self.app.store.update(self.app.school, self.kind, row_id, changes)
        if isinstance(result, dict):
            return result
        return {**self.docs[row_id], **changes}

    def _revert(self, row_id: str, field: str, value: Any) -> None:
        if row_id in self.table.value.index:
            self.table.patch({field: [(row_id, value)]})

    def add(self) -> str | None:
        """Create a new item with default values; the planner then edits it in the table."""
        if not self.app.school:
            return None
        doc = self.new_doc()
        label = f"Adding a {LABELS[self.kind]}"
        created = self.app.attempt(lambda: self.app.store.create(self.app.school, self.kind, doc), label)
        if created is None:
            return None
        new_id = created["id"] if isinstance(created, dict) else str(created or doc["id"])
        self.app.focus = new_id
        self.reload()
        self.status = (
            f"Added {LABELS[self.kind]} '{doc.get('name') or new_id}': edit its cells to fill it in."
        )
        return new_id

    def new_doc(self) -> dict:
        """The document of a new row, before the planner edits it."""
        raise NotImplementedError

    def unique(self, prefix: str, field: str = "id") -> str:
        """``prefix`` followed by the first number that no row uses in ``field`` yet."""
        used = {str(d.get(field)) for d in self.docs.values()}
        n = len(self.docs) + 1
        while f"{prefix}{n}" in used:
            n += 1
        return f"{prefix}{n}"

    # Deleting

    def selected_ids(self) -> list[str]:
        return [self.table.value.index[i] for i in self.table.selection if i < len(self.table.value)]

    def delete_selected(self) -> None:
        self.delete(self.selected_ids())

    def delete(self, ids: list[str]) -> None:
        """Delete items nobody refers to; for the others, ask whether to delete their references too."""
        referenced: list[str] = []
        messages: list[str] = []
        deleted = 0
        for row_id in ids:
            try:
                self.app.store.delete(self.app.school, self.kind, row_id, cascade=False)
                deleted += 1
            except Exception as e:  # noqa: BLE001 - sorted below: a reference error asks, others toast
                if type(e).__name__ == "ReferencedError":
                    referenced.append(row_id)
                    messages.append(str(e))
                else:
                    self.app.toast("error", f"Deleting '{row_id}' failed: {describe_error(e)}")
        if deleted:
            self.status = f"Deleted {deleted} {LABELS[self.kind]}(s)."
        self.pending_delete = referenced
        self.pending_message = "\n".join(messages)
        if deleted:
            self.reload()

    def confirm_delete(self, cascade: bool) -> None:
        """Answer the question about referenced items: delete them with their references, or keep them."""
        ids, self.pending_delete, self.pending_message = self.pending_delete, [], ""
        if not cascade:
            self.status = "Nothing deleted."
            return
        done = 0
        for row_id in ids:
            ok = self.app.attempt(
                lambda r=row_id: self.app.store.delete(self.app.school, self.kind, r, cascade=True) or True,
                f"Deleting '{row_id}' with its references",
            )
            done += bool(ok)
        self.status = f"Deleted {done} {LABELS[self.kind]}(s) and their references."
        self.app.data_revision += 1
        self.reload()

    # Layout

    @param.depends("pending_delete", "pending_message")
    def _confirm_box(self):
        if not self.pending_delete:
            return pn.Spacer(height=0)
        text = (
            f"**Still in use.** {self.pending_message}\n\n"
            "Delete these items and everything that refers to them, or cancel?"
        )
        return pn.Column(
            pn.pane.Alert(text, alert_type="warning", sizing_mode="stretch_width"),
            pn.Row(self.cascade_button, self.cancel_button),
            sizing_mode="stretch_width",
        )

    @param.depends("status", watch=True)
    def _show_status(self) -> None:
        self.status_pane.object = self.status

    def __panel__(self):
        return pn.Column(
            pn.Row(
                self.add_button, self.delete_button, pn.HSpacer(), self.search, sizing_mode="stretch_width"
            ),
            self._confirm_box,
            self.table,
            self.status_pane,
            sizing_mode="stretch_width",
        )
