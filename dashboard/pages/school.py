"""School: its name, its week (days, periods and breaks), a new empty school, and deleting a school.

Every change goes through the store (``rename_school``, ``update_calendar``, ``create_school``,
``delete_school``, and ``update`` for the pins and rules a renamed day or period carries along). The
store refuses a calendar that pins, breaks or rules could no longer refer to, and repeated or empty
names; the refusal is shown as a toast naming what still uses the day or period and how to fix it, and
the data stays as it was.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import panel as pn
import param

from solver.rules import RULE_TYPES

from ..state import AppState, describe_error, is_user_error, log

LABELS = {"days": "day", "periods": "period"}
SHOWN_REFERRERS = 4
"""Items named in a refusal toast before "and N more"."""

GONE = (
    ("lessons", "lesson"),
    ("rules", "rule"),
    ("versions", "timetable version"),
    ("teachers", "teacher"),
    ("classes", "class"),
    ("groups", "group"),
    ("rooms", "room"),
    ("subjects", "subject"),
)
"""What deleting a school takes with it, in the order the confirmation names it."""


def renamed_slots(slots: list, position: int, old: str, new: str) -> list | None:
    """``slots`` ([day, period] pairs) with ``old`` renamed at ``position`` (0 day, 1 period); None if unused."""
    if not any(isinstance(s, list) and len(s) == 2 and s[position] == old for s in slots):
        return None
    return [
        [new if i == position and v == old else v for i, v in enumerate(s)] if isinstance(s, list) else s
        for s in slots
    ]


def renamed_references(lessons: list[dict], rules: list[dict], position: int, old: str, new: str) -> list:
    """``(kind, id, changes)`` that make pins and rule times naming ``old`` name ``new`` instead."""
    key = "day" if position == 0 else "period"
    changes: list[tuple[str, str, dict]] = []
    for lesson in lessons:
        pins = lesson.get("pinned") or []
        if any(p.get(key) == old for p in pins):
            changes.append(
                (
                    "lessons",
                    lesson["id"],
                    {"pinned": [{**p, key: new} if p.get(key) == old else p for p in pins]},
                )
            )
    for rule in rules:
        kind = RULE_TYPES.get(rule.get("type"))
        params = dict(rule.get("params") or {})
        touched = False
        for name, param_kind in kind.params.items() if kind else []:
            if param_kind == "slots" and isinstance(params.get(name), list):
                slots = renamed_slots(params[name], position, old, new)
                if slots is not None:
                    params[name], touched = slots, True
        if touched:
            changes.append(("rules", rule["id"], {"params": params}))
    return changes


def plural(n: int, word: str) -> str:
    if n == 1:
        return f"1 {word}"
    return f"{n} {word}es" if word.endswith("ss") else f"{n} {word}s"


def refusal(what: str, error: Exception) -> str:
    """The toast for a refused calendar change: the items that still use a day or period, and the fix."""
    problems = list(getattr(error, "problems", []) or [])
    users: list[str] = []
    for p in problems:
        item = p.where.split(".", 1)[0]
        if item.startswith(("lesson ", "rule ")) and item not in users:
            users.append(item)
    if users:
        shown = ", ".join(users[:SHOWN_REFERRERS])
        more = f" and {len(users) - SHOWN_REFERRERS} more" if len(users) > SHOWN_REFERRERS else ""
        fixes = []
        if any(u.startswith("lesson ") for u in users):
            fixes.append("move or unpin those lessons' pins on the Lessons page")
        if any(u.startswith("rule ") for u in users):
            fixes.append("change those rules' times on the Rules page")
        return (
            f"{what} refused: {plural(len(users), 'item')} still use it ({shown}{more}). "
            f"First {' and '.join(fixes)}. Nothing was changed."
        )
    if problems:
        detail = "; ".join(str(p) for p in problems[:3])
        more = f" (and {len(problems) - 3} more)" if len(problems) > 3 else ""
        return f"{what} refused: {detail}{more}. Nothing was changed."
    return f"{what} refused: {describe_error(error)}. Nothing was changed."


class SchoolPage(pn.viewable.Viewer):
    """The selected school's name and calendar, creating a school, and deleting this one.

    Kept for the session by the shell; it follows ``app.school`` and ``app.data_revision`` itself.
    """

    app = param.ClassSelector(class_=AppState)
    school_name = param.String(default="", doc="The selected school's name as stored.")
    days = param.List(default=[])
    periods = param.List(default=[])
    breaks = param.List(default=[], doc="(day, period) names of the break slots.")
    confirming_delete = param.Boolean(default=False, doc="The delete confirmation is shown.")
    status = param.String(default="", doc="What the last action did.")

    def __init__(self, **params):
        super().__init__(**params)
        self.name_input = pn.widgets.TextInput(name="Name", width=320)
        self.rename_button = pn.widgets.Button(name="Rename", button_type="primary", align="end")
        self.rename_button.on_click(lambda e: self.rename_school(self.name_input.value))
        self.new_input = pn.widgets.TextInput(
            name="New school", placeholder="Name of the new school", width=320
        )
        self.create_button = pn.widgets.Button(name="Create empty school", button_type="primary", align="end")
        self.create_button.on_click(lambda e: self.create_school(self.new_input.value))
        self.delete_button = pn.widgets.Button(name="Delete this school…", button_type="danger")
        self.delete_button.on_click(lambda e: self.ask_delete())
        self.confirm_button = pn.widgets.Button(name="Delete for good", button_type="danger")
        self.confirm_button.on_click(lambda e: self.delete_school())
        self.cancel_button = pn.widgets.Button(name="Cancel", button_type="light")
        self.cancel_button.on_click(lambda e: self.cancel_delete())
        self.lists = {field: self._list_editor(field) for field in LABELS}
        self.grid = pn.Column()
        self.status_pane = pn.pane.Markdown("", styles={"color": "#555"}, margin=(0, 10))
        self._shape: tuple = ()
        self.buttons: dict[tuple[str, str], pn.widgets.Button] = {}
        self.reload()
        self.app.param.watch(lambda *events: self.reload(), ["school", "data_revision"])

    # Data

    def reload(self) -> None:
        """Read the selected school's name and calendar from the store."""
        school = self.app.school
        calendar = (
            self.app.attempt(lambda: self.app.store.get_calendar(school), "Reading the calendar")
            if school
            else None
        ) or {"days": [], "periods": [], "breaks": []}
        self.param.update(
            school_name=self.app.school_name(),
            days=list(calendar["days"]),
            periods=list(calendar["periods"]),
            breaks=[tuple(b) for b in calendar.get("breaks", [])],
            confirming_delete=False,
        )
        self.name_input.value = self.school_name
        for field, (table, after, _) in self.lists.items():
            names = list(getattr(self, field))
            table.value = pd.DataFrame({"name": names}, dtype=object)
            after.options = {"(at the end)": "", **{f"after {n}": n for n in names}}
            after.value = ""
        self._build_grid()

    def calendar(self) -> dict:
        return {
            "days": list(self.days),
            "periods": list(self.periods),
            "breaks": [list(b) for b in self.breaks],
        }

    def _save(self, calendar: dict, what: str) -> bool:
        """Store the calendar; a refusal is a toast naming the problem, and nothing changes."""
        try:
            self.app.store.update_calendar(self.app.school, calendar)
        except Exception as e:  # noqa: BLE001 - any refusal leaves the calendar as it was; the toast says why
            if not is_user_error(e):
                log.exception("%s", what)
            self.app.toast("error", refusal(what, e))
            self.reload()
            return False
        self.status = f"{what}: saved."
        # Other pages (the Timetables page, the availability grids) draw the week from the calendar.
        self.app.data_revision += 1
        return True

    # Days and periods

    def add(self, field: str, name: str, after: str = "") -> bool:
        """Add a day or period called ``name``, after ``after`` (or at the end)."""
        name = (name or "").strip()
        names = list(getattr(self, field))
        position = names.index(after) + 1 if after in names else len(names)
        names.insert(position, name)
        return self._save({**self.calendar(), field: names}, f"Adding {LABELS[field]} '{name}'")

    def remove(self, field: str, name: str) -> bool:
        """Remove a day or period, with the breaks on it; refused while a pin or rule names it."""
        slot = 0 if field == "days" else 1
        calendar = self.calendar()
        calendar[field] = [n for n in calendar[field] if n != name]
        calendar["breaks"] = [b for b in calendar["breaks"] if b[slot] != name]
        return self._save(calendar, f"Removing {LABELS[field]} '{name}'")

    def rename(self, field: str, old: str, new: str) -> bool:
        """Rename a day or period; its breaks, the pins and the rule times naming it follow.

        With pins or rules to carry along, it takes three steps, each leaving the school valid: add the
        new name beside the old one, point the pins and rules at it, then drop the old name."""
        new = (new or "").strip()
        if new == old:
            return True
        position = 0 if field == "days" else 1
        what = f"Renaming {LABELS[field]} '{old}' to '{new}'"

        calendar = self.calendar()
        breaks = calendar["breaks"]
        renamed = [[new if i == position and v == old else v for i, v in enumerate(b)] for b in breaks]
        # A new name already in use stays a repeat here, so the store refuses it instead of merging two days.
        direct = {
            **calendar,
            field: [new if n == old else n for n in calendar[field]],
            "breaks": renamed,
        }
        beside = {
            **calendar,
            field: [m for n in calendar[field] for m in ([old, new] if n == old else [n])],
            "breaks": breaks
            + [r for b, r in zip(breaks, renamed, strict=True) if b != r and r not in breaks],
        }
        school = self.app.school

        def references() -> list:
            store = self.app.store
            return renamed_references(
                store.list(school, "lessons"), store.list(school, "rules"), position, old, new
            )

        changes = self.app.attempt(references, what)
        if changes is None:
            return False
        if not changes:
            return self._save(direct, what)
        if not self._save(beside, what):
            return False
        for kind, item, fields in changes:
            try:
                self.app.store.update(school, kind, item, fields)
            except Exception as e:  # noqa: BLE001 - stop half-way with both names present, and say so
                if not is_user_error(e):
                    log.exception("%s: %s %s", what, kind, item)
                self.app.toast(
                    "error",
                    f"{what} stopped: {kind[:-1]} {item} could not follow ({describe_error(e)}). Both "
                    f"'{old}' and '{new}' exist now; fix that {kind[:-1]}, then remove '{old}'.",
                )
                self.reload()
                return False
        if not self.remove(field, old):
            return False
        self.status = f"{what}: saved; {plural(len(changes), 'pinned lesson or rule')} now name '{new}'."
        return True

    def toggle_break(self, day: str, period: str) -> bool:
        """Make a slot a break, or a teaching slot again."""
        slot = (day, period)
        breaks = [b for b in self.breaks if b != slot]
        became_break = len(breaks) == len(self.breaks)
        if became_break:
            breaks.append(slot)
        what = f"{'Making' if became_break else 'Unmaking'} {day} {period} a break"
        return self._save({**self.calendar(), "breaks": [list(b) for b in breaks]}, what)

    # The school itself

    def rename_school(self, name: str) -> bool:
        """Give the selected school another name."""
        name = (name or "").strip()
        school = self.app.school
        if not school or name == self.school_name:
            return False
        if self.app.attempt(
            lambda: self.app.store.rename_school(school, name) or True, "Renaming the school"
        ):
            self.app.refresh_schools()
            self.school_name = name
            self.status = f"Renamed the school to '{name}'."
            return True
        self.name_input.value = self.school_name
        return False

    def create_school(self, name: str) -> str | None:
        """Create an empty school (Mon-Fri, periods 1-8) and open it on this page."""
        created = self.app.attempt(
            lambda: self.app.store.create_school((name or "").strip()), "Creating a school"
        )
        if created is None:
            return None
        self.new_input.value = ""
        self.app.refresh_schools()
        self.app.go("school", school=str(created))
        self.app.toast("success", f"Created the school '{self.app.school_name(str(created))}'.")
        return str(created)

    def delete_summary(self) -> str:
        """What deleting the selected school takes with it, for the confirmation."""
        counts: dict[str, int] = {}
        for school in self.app.attempt(self.app.store.list_schools, "Counting the school's data") or []:
            if str(school["id"]) == self.app.school:
                counts = school.get("counts", {})
        parts = [plural(counts.get(key, 0), word) for key, word in GONE]
        return (
            f"Delete the school **{self.school_name}**? This deletes, for good, its "
            f"{', '.join(parts[:-1])} and {parts[-1]}. It cannot be undone."
        )

    def ask_delete(self) -> None:
        if self.app.school:
            self.confirm_button.name = f"Delete '{self.school_name}' for good"
            self.confirming_delete = True

    def cancel_delete(self) -> None:
        self.confirming_delete = False
        self.status = "Nothing deleted."

    def delete_school(self) -> bool:
        """Delete the selected school (after ``ask_delete``) with its data and versions."""
        school, name = self.app.school, self.school_name
        if not school or not self.confirming_delete:
            return False
        self.confirming_delete = False
        if not self.app.attempt(lambda: self.app.store.delete_school(school) or True, f"Deleting '{name}'"):
            return False
        self.app.toast("success", f"Deleted the school '{name}' with its lessons, rules and versions.")
        # Picks another school, if there is one; this page follows it.
        self.app.refresh_schools()
        return True

    # Layout

    def _list_editor(self, field: str) -> tuple[pn.widgets.Tabulator, pn.widgets.Select, pn.Column]:
        label = LABELS[field]
        table = pn.widgets.Tabulator(
            pd.DataFrame({"name": []}, dtype=object),
            show_index=False,
            selectable=False,
            sortable=False,
            titles={"name": f"{label.capitalize()} (edit to rename)"},
            widths={"name": 190},
            editors={"name": {"type": "input"}},
            buttons={"remove": f'<span title="Remove this {label}">✕</span>'},
            name=field,
        )

        def on_edit(event) -> None:
            names = getattr(self, field)
            if 0 <= event.row < len(names):
                self.rename(field, names[event.row], event.value)

        def on_click(event) -> None:
            names = getattr(self, field)
            if event.column == "remove" and 0 <= event.row < len(names):
                self.remove(field, names[event.row])

        table.on_edit(on_edit)
        table.on_click(on_click)
        new = pn.widgets.TextInput(placeholder=f"New {label}", width=120)
        after = pn.widgets.Select(width=120)
        add = pn.widgets.Button(name=f"Add {label}", button_type="primary", width=100)
        add.on_click(lambda e: self.add(field, new.value, after.value) and setattr(new, "value", ""))
        editor = pn.Column(f"#### {field.capitalize()}", table, pn.Row(new, after), add, width=290)
        return table, after, editor

    def _build_grid(self) -> None:
        """The days × periods grid: rebuilt when days or periods change, repainted otherwise."""
        shape = (tuple(self.days), tuple(self.periods))
        if shape != self._shape:
            self._shape = shape
            self.buttons = {}
            cells: list[Any] = [pn.pane.HTML("", width=90)]
            cells += [pn.pane.HTML(f"<b>{p}</b>", width=58, margin=(5, 2)) for p in self.periods]
            for day in self.days:
                cells.append(pn.pane.HTML(f"<b>{day}</b>", width=90))
                for period in self.periods:
                    button = pn.widgets.Button(
                        width=58, height=34, margin=2, css_classes=["break-slot", f"break-{day}-{period}"]
                    )
                    button.on_click(lambda e, d=day, p=period: self.toggle_break(d, p))
                    self.buttons[(day, period)] = button
                    cells.append(button)
            self.grid.objects = [pn.GridBox(*cells, ncols=len(self.periods) + 1)] if self.days else []
        breaks = set(self.breaks)
        for slot, button in self.buttons.items():
            is_break = slot in breaks
            button.param.update(
                name="break" if is_break else slot[1], button_type="warning" if is_break else "light"
            )

    @param.depends("status", watch=True)
    def _show_status(self) -> None:
        self.status_pane.object = self.status

    @param.depends("confirming_delete", "school_name")
    def _delete_box(self):
        if not self.confirming_delete:
            return pn.Row(self.delete_button)
        return pn.Column(
            pn.pane.Alert(self.delete_summary(), alert_type="danger", sizing_mode="stretch_width"),
            pn.Row(self.confirm_button, self.cancel_button),
            sizing_mode="stretch_width",
        )

    @param.depends("school_name")
    def _body(self):
        create = pn.Row(self.new_input, self.create_button)
        if not self.app.school:
            return pn.Column(pn.pane.Markdown("No school yet: create an empty one, or import one."), create)
        return pn.Column(
            pn.Row(self.name_input, self.rename_button),
            pn.pane.Markdown(
                "### The week\nRename a day or period by editing its name: its breaks, pins and rule "
                "times follow. ✕ removes it, unless a pin or a rule still names it. Click a slot below to "
                "make it a **break** (yellow) or a teaching slot again. Every change is saved at once.",
                margin=(0, 10),
            ),
            pn.Row(self.lists["days"][2], self.lists["periods"][2]),
            pn.pane.Markdown("#### Breaks", margin=(0, 10)),
            self.grid,
            self.status_pane,
            pn.pane.Markdown("### Another school", margin=(0, 10)),
            create,
            pn.pane.Markdown("### Delete", margin=(0, 10)),
            self._delete_box,
            sizing_mode="stretch_width",
        )

    def __panel__(self):
        return pn.panel(self._body)
