"""The store: schools, their data and their timetable versions in MongoDB, through pymongo.

Collections (every document carries ``schema``, see ``store.migrations``):

| collection | one document per | key fields |
|---|---|---|
| ``schools`` | school (workspace) | ``_id``, ``name``, ``calendar``, ``meta``, ``seq``, ``state`` |
| ``subjects`` ... ``rules`` | item, in solver.io's JSON form | ``school``, ``id``, ``pos`` (order) |
| ``versions`` | timetable version | ``school``, ``name``, ``revision``, ``count``, ``stats`` |
| ``revisions`` | set of placements written by one save | ``_id``, ``version``, ``count`` |
| ``placements`` | chunk of up to 500 placed blocks ("slots") | ``rev``, ``i`` (chunk number), ``items`` |
| ``meta`` | the schema version | ``_id: "schema"`` |

A save writes a new revision, points the version at it with one single-document update, then drops the
old revision (see ``Store.save_version``). Readers follow the pointer, so they see the old timetable or
the new one, complete, never a mixture.

User text only ever appears as a *value* in a filter (ids are checked to be strings first), so a name
such as ``{"$gt": ""}`` can never act as a query operator.
"""

from __future__ import annotations

import copy
import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Self, TypeVar

import pandas as pd
import pymongo
from bson import ObjectId
from pymongo.errors import ConnectionFailure, DuplicateKeyError, PyMongoError

from solver.checker import check
from solver.domain import Calendar, Lesson, Room, School, StudentClass, Subject, Teacher, Timetable
from solver.io import (
    FormatError,
    Problem,
    school_from_dict,
    school_to_dict,
    timetable_from_dict,
    timetable_to_dict,
)
from solver.validate import validate

from . import server as embedded
from .errors import NotFoundError, ReferencedError, StoreError, UnavailableError, ValidationError
from .migrations import SCHEMA_VERSION, migrate

log = logging.getLogger(__name__)

T = TypeVar("T")

DEFAULT_DB = "timetabler"
DEFAULT_DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]
DEFAULT_PERIODS = [str(p) for p in range(1, 9)]
CHUNK = 500
"""Placements per document."""
ORPHAN_AGE = timedelta(minutes=10)
"""A revision not referenced by its version for this long is left over from a failed save."""


@dataclass(frozen=True)
class Kind:
    name: str
    singular: str
    named: bool


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("subjects", "subject", True),
        Kind("teachers", "teacher", True),
        Kind("classes", "class", True),
        Kind("groups", "group", True),
        Kind("rooms", "room", True),
        Kind("lessons", "lesson", False),
        Kind("rules", "rule", False),
    )
}

SCOPE_TARGETS: dict[str, tuple[str, ...]] = {
    "teacher": ("teachers",),
    "group": ("classes", "groups"),
    "room": ("rooms",),
    "lesson": ("lessons",),
    "lessons": ("lessons",),
    "subject": ("subjects",),
}
"""What a rule's ``target`` names, by scope. The ``all_*`` scopes have no target."""

PARAM_REFS = ("rooms", "lessons", "teachers", "subjects")
"""Rule parameters that list ids of these kinds (parameter kind ``ids`` in solver.rules)."""

INTERNAL = ("_id", "school", "pos", "schema")


def _now() -> datetime:
    return datetime.now(UTC)


def _public(doc: dict) -> dict:
    return {k: v for k, v in doc.items() if k not in INTERNAL}


def outgoing(kind: str, doc: dict) -> list[tuple[str, tuple[str, ...], str]]:
    """References a canonical item makes: ``(field, kinds it may name, id)``."""
    refs: list[tuple[str, tuple[str, ...], str]] = []
    if kind == "groups":
        refs.append(("class", ("classes",), doc["class"]))
    elif kind == "lessons":
        refs.append(("subject", ("subjects",), doc["subject"]))
        refs += [("teachers", ("teachers",), x) for x in doc.get("teachers", [])]
        refs += [("groups", ("classes", "groups"), x) for x in doc.get("groups", [])]
        refs += [("rooms", ("rooms",), x) for x in doc.get("rooms", [])]
        refs += [("real_rooms", ("rooms",), x) for x in doc.get("real_rooms", [])]
        for j, pin in enumerate(doc.get("pinned", [])):
            if pin.get("room"):
                refs.append((f"pinned[{j}].room", ("rooms",), pin["room"]))
    elif kind == "rooms":
        for k, names in enumerate(doc.get("real_rooms") or []):
            refs += [(f"real_rooms[{k}]", ("rooms",), x) for x in names if isinstance(x, str)]
    elif kind == "rules":
        kinds = SCOPE_TARGETS.get(doc["scope"])
        target = doc.get("target")
        if kinds and isinstance(target, str):
            refs.append(("target", kinds, target))
        elif kinds and isinstance(target, list):
            refs += [("target", kinds, x) for x in target if isinstance(x, str)]
        for name, value in (doc.get("params") or {}).items():
            if name in PARAM_REFS and isinstance(value, list):
                refs += [(f"params.{name}", (name,), x) for x in value if isinstance(x, str)]
    return refs


def _where(kind: str, item_id: Any) -> str:
    label = KINDS[kind].singular
    return f"{label} {item_id}" if isinstance(item_id, str) and item_id else f"new {label}"


def _key_problems(value: Any, where: str) -> list[Problem]:
    """Field names MongoDB cannot store, or would read as operators or paths."""
    problems = []
    if isinstance(value, dict):
        for key, item in value.items():
            if not isinstance(key, str) or key.startswith("$") or "." in key or "\0" in key:
                problems.append(
                    Problem(
                        f"{where}",
                        f"field name {key!r} is not allowed",
                        "field names may not start with '$' or contain '.'",
                    )
                )
            else:
                problems += _key_problems(item, f"{where}.{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            problems += _key_problems(item, f"{where}[{i}]")
    return problems


STUBS: dict[str, Callable[[str], object]] = {
    "subjects": Subject,
    "teachers": Teacher,
    "classes": StudentClass,
    "rooms": Room,
    "lessons": lambda id: Lesson(id, subject=""),
}
"""Stand-ins for the items an item refers to, so that the engine checks the item on its own."""


def _engine_problems(kind: str, item: dict, calendar: dict, rooms: list[dict] | None = None) -> list[Problem]:
    """``solver.validate``'s problems with this one item (references are checked by the store). A lesson
    with fixed real rooms is judged with its ``rooms`` as stored, since those depend on their sets."""
    school = school_from_dict({"name": "check", "calendar": calendar, kind: [item], "rooms": rooms or []})
    for _, kinds, ref in outgoing(kind, item):
        items = getattr(school, kinds[0])
        if not any(x.id == ref for x in items):
            items.append(STUBS[kinds[0]](ref))
    school.invalidate()
    prefix = f"{KINDS[kind].singular} {item['id']}"
    return [
        p for p in validate(school) if p.where == prefix or p.where.startswith((prefix + ".", prefix + " "))
    ]


def _format_problems(error: FormatError, labels: dict[str, str]) -> list[Problem]:
    """solver.io's problems with ``$.lessons[0]`` paths rewritten as ``lesson 'L1'``."""
    out = []
    for p in error.problems:
        where = p.where
        for prefix, label in labels.items():
            if where == prefix or where.startswith((prefix + ".", prefix + "[")):
                where = label + where[len(prefix) :]
                break
        out.append(Problem(where, p.message, p.fix))
    return out


def _canonical(kind: str, doc: Any, calendar: dict, rooms: list[dict] | None = None) -> dict:
    """The item in solver.io's canonical JSON form (defaults filled in), or ValidationError."""
    if not isinstance(doc, dict):
        raise ValidationError(
            [Problem(KINDS[kind].singular, f"expected an object, found {type(doc).__name__}")]
        )
    where = _where(kind, doc.get("id"))
    try:
        school = school_from_dict({"name": "check", "calendar": calendar, kind: [doc]})
    except FormatError as e:
        raise ValidationError(_format_problems(e, {f"$.{kind}[0]": where})) from None
    item = school_to_dict(school)[kind][0]
    problems = _key_problems(item, where)
    if not item["id"].strip():
        problems.append(Problem(f"{where}.id", "the id is empty", "give it an id"))
    elif kind in ("groups", "lessons", "rules"):
        problems += _engine_problems(kind, item, calendar, rooms)
    if problems:
        raise ValidationError(problems)
    return item


def school_problems(data: dict) -> list[Problem]:
    """What the store needs of a whole school (JSON form): unique ids and names, known references.

    The engine's other checks (``solver.validate``) are left to the planner: an imported school may
    still need work before it can be solved."""
    problems: list[Problem] = []
    ids: dict[str, set[str]] = {}
    for name, kind in KINDS.items():
        seen_ids: set[str] = set()
        seen_names: set[str] = set()
        for item in data.get(name, []):
            where = _where(name, item["id"])
            if item["id"] in seen_ids:
                problems.append(
                    Problem(f"{where}.id", f"the id '{item['id']}' is used twice", "ids must be unique")
                )
            seen_ids.add(item["id"])
            if kind.named:
                if item["name"] in seen_names:
                    problems.append(
                        Problem(
                            f"{where}.name",
                            f"the name '{item['name']}' is used twice",
                            f"{kind.singular} names must be unique within a school",
                        )
                    )
                seen_names.add(item["name"])
        ids[name] = seen_ids
    for clash in sorted(ids["classes"] & ids["groups"]):
        problems.append(
            Problem(
                f"group '{clash}'.id",
                f"'{clash}' is also a class id",
                "classes and groups share one set of ids, as lessons name either",
            )
        )
    for name in KINDS:
        for item in data.get(name, []):
            for field, kinds, ref in outgoing(name, item):
                if not any(ref in ids[k] for k in kinds):
                    problems.append(_unknown_ref(name, item["id"], field, kinds, ref))
    return problems


def _unknown_ref(kind: str, item_id: str, field: str, kinds: tuple[str, ...], ref: str) -> Problem:
    what = " or ".join(KINDS[k].singular for k in kinds)
    return Problem(
        f"{_where(kind, item_id)}.{field}",
        f"unknown {what} '{ref}'",
        f"create the {what} first, or name an existing one",
    )


def _calendar_name_problems(calendar: Any) -> list[Problem]:
    """Blank or repeated day and period names: pins, breaks and rules name slots by them."""
    problems: list[Problem] = []
    if not isinstance(calendar, dict):
        return problems
    for field, label in (("days", "day"), ("periods", "period")):
        names = calendar.get(field)
        if not isinstance(names, list):
            continue
        seen: set[str] = set()
        for i, name in enumerate(names):
            if not isinstance(name, str):
                continue
            if not name.strip():
                problems.append(
                    Problem(
                        f"calendar.{field}[{i}]", f"the {label} name is empty", f"give the {label} a name"
                    )
                )
            elif name in seen:
                problems.append(
                    Problem(
                        f"calendar.{field}[{i}]",
                        f"the {label} name '{name}' is used twice",
                        f"each {label} needs its own name; rename or remove one",
                    )
                )
            seen.add(name)
    return problems


def _check_id(value: Any, where: str) -> None:
    if not isinstance(value, str) or not value:
        raise NotFoundError(f"{where} {value!r} does not exist")


class Store:
    """Schools, their items and timetable versions in one MongoDB database. See ``open_store``."""

    def __init__(
        self,
        client: pymongo.MongoClient,
        db_name: str,
        server: embedded.EmbeddedServer | None = None,
        retry_for: float = 15.0,
        address: str = "",
        timeout: float = 2.0,
    ):
        self._address = address
        self._timeout = timeout
        self._client = client
        self._db_name = db_name
        self._server = server
        self.retry_for = retry_for
        self._closed = False

    # Connection, retries and errors.

    @property
    def db(self) -> pymongo.database.Database:
        """The pymongo Database (for ``store.jobs`` only; everything else goes through methods)."""
        return self._client[self._db_name]

    @property
    def address(self) -> str:
        """Where the database is, for messages (never with credentials)."""
        if self._server is not None:
            return (
                f"embedded server on {self._server.host}:{self._server.port}, data in {self._server.data_dir}"
            )
        return self._address or "MongoDB"

    @property
    def closed(self) -> bool:
        return self._closed

    @property
    def server(self) -> embedded.EmbeddedServer | None:
        """The embedded server in use, or None with MONGODB_URI."""
        return self._server

    def close(self) -> None:
        """Close the connection; the embedded server stops when no other user is left."""
        if self._closed:
            return
        self._closed = True
        self._client.close()
        if self._server is not None:
            embedded.release(self._server)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _retrying(self, what: str, fn: Callable[[int], T]) -> T:
        """Run ``fn(attempt)``, retrying with backoff while the database is unreachable.

        Only operations that are safe to repeat come here: reads, whole-document writes and the
        save protocol, which writes under fresh ids and treats an insert that already landed as done.
        In embedded mode a server found dead is restarted (on the same port) before the next attempt.
        """
        if self._closed:
            raise StoreError("the store is closed")
        deadline = time.monotonic() + self.retry_for
        delay = 0.1
        attempt = 0
        while True:
            try:
                return fn(attempt)
            except ConnectionFailure as e:
                if time.monotonic() + delay > deadline:
                    raise UnavailableError(
                        f"the database ({self.address}) did not answer while {what}, even after retrying "
                        f"for {self.retry_for:.0f} s: {e.__class__.__name__}. Check that it is running "
                        "(or unset MONGODB_URI to use the embedded one) and try again."
                    ) from None
                log.warning(
                    "database unreachable while %s (attempt %d), retrying in %.1f s", what, attempt + 1, delay
                )
                time.sleep(delay)
                delay = min(delay * 2, 2.0)
                attempt += 1
                if self._server is not None:
                    self._restart_server()
            except PyMongoError as e:
                raise StoreError(f"database error while {what}: {e}") from None

    def _restart_server(self) -> None:
        """Restart the embedded server when it died, or follow it when another process restarted it."""
        port = self._server.port
        if not self._server.running():
            try:
                self._server.ensure_running()
            except StoreError as e:
                log.warning("could not restart the embedded database: %s", e)
                return
        if self._server.port != port:
            # Restarted on another port (its old one was taken meanwhile): connect to the new one.
            old, self._client = self._client, _client(self._server.uri, self._timeout)
            old.close()

    # Schools.

    def _school(self, school_id: Any) -> dict:
        _check_id(school_id, "school")
        doc = self.db.schools.find_one({"_id": school_id, "state": "ready"})
        if doc is None:
            raise NotFoundError(f"school '{school_id}' does not exist")
        return doc

    def list_schools(self) -> list[dict]:
        """Every school: id, name, created, and counts of each kind of item and of versions."""

        def run(attempt: int) -> list[dict]:
            # Sorted here: nx-27017 compares dates less than a second apart wrongly.
            schools = sorted(self.db.schools.find({"state": "ready"}), key=lambda s: s["created"])
            counts: dict[str, dict[str, int]] = {s["_id"]: {} for s in schools}
            for name in [*KINDS, "versions"]:
                for row in self.db[name].aggregate([{"$group": {"_id": "$school", "n": {"$sum": 1}}}]):
                    if row["_id"] in counts:
                        counts[row["_id"]][name] = row["n"]
            return [
                {
                    "id": s["_id"],
                    "name": s["name"],
                    "created": s["created"],
                    "counts": {name: counts[s["_id"]].get(name, 0) for name in [*KINDS, "versions"]},
                }
                for s in schools
            ]

        return self._retrying("listing schools", run)

    def _check_school_name(self, name: Any) -> str:
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(
                [Problem("school.name", "expected a non-empty name", "give the school a name")]
            )
        return name

    def _unique_school_name(self, name: str) -> str:
        taken = {s["name"] for s in self.db.schools.find({}, {"name": 1})}
        candidate, n = name, 2
        while candidate in taken:
            candidate, n = f"{name} ({n})", n + 1
        return candidate

    def create_school(self, name: str) -> str:
        """An empty school with a default calendar (Mon-Fri, periods 1-8); returns its id."""
        name = self._check_school_name(name)
        school_id = str(ObjectId())

        def run(attempt: int) -> str:
            if self.db.schools.find_one({"_id": school_id}):
                return school_id
            if self.db.schools.find_one({"name": name}):
                raise ValidationError(
                    [Problem("school.name", f"a school named '{name}' already exists", "pick another name")]
                )
            calendar = {"days": DEFAULT_DAYS, "periods": DEFAULT_PERIODS, "breaks": []}
            self._insert_school(school_id, name, calendar, {}, "ready", 0)
            return school_id

        return self._retrying(f"creating school '{name}'", run)

    def _insert_school(
        self, school_id: str, name: str, calendar: dict, meta: dict, state: str, seq: int
    ) -> None:
        now = _now()
        try:
            self.db.schools.insert_one(
                {
                    "_id": school_id,
                    "name": name,
                    "created": now,
                    "updated": now,
                    "calendar": calendar,
                    "meta": meta,
                    "seq": seq,
                    "state": state,
                    "schema": SCHEMA_VERSION,
                }
            )
        except DuplicateKeyError as e:
            if "name" in str(e):
                raise ValidationError(
                    [Problem("school.name", f"a school named '{name}' already exists", "pick another name")]
                ) from None
            raise

    def import_school(self, school: School, name: str | None = None) -> str:
        """Store a whole school (a demo or a FET import) as a new school; returns its id.

        The school is written with state ``importing`` and switched to ``ready`` at the end, so a crash
        leaves no half-imported school visible (``cleanup`` removes the remains). A name already taken
        gets a suffix: "Demo (2)".
        """
        data = school_to_dict(school)
        problems = school_problems(data) + _key_problems(data.get("meta", {}), "school.meta")
        if problems:
            raise ValidationError(problems, f"school '{name or school.name}' was not imported")
        wanted = self._check_school_name(name or school.name)

        def run(attempt: int) -> str:
            school_id = str(ObjectId())
            final = self._unique_school_name(wanted)
            seq = sum(len(data[k]) for k in KINDS)
            self._insert_school(school_id, final, data["calendar"], data.get("meta", {}), "importing", seq)
            for kind in KINDS:
                docs = [
                    {**item, "school": school_id, "pos": pos, "schema": SCHEMA_VERSION}
                    for pos, item in enumerate(data[kind])
                ]
                if docs:
                    self.db[kind].insert_many(docs, ordered=False)
            self.db.schools.update_one({"_id": school_id}, {"$set": {"state": "ready"}})
            return school_id

        return self._retrying(f"importing school '{wanted}'", run)

    def load_school(self, school_id: str) -> School:
        """The school as the engine's model."""
        return school_from_dict(self.school_dict(school_id), source=f"school '{school_id}'")

    def school_dict(self, school_id: str) -> dict:
        """The school in solver.io's JSON form (what ``python -m solver`` reads)."""

        def run(attempt: int) -> dict:
            doc = self._school(school_id)
            data: dict[str, Any] = {"name": doc["name"], "calendar": doc["calendar"]}
            hidden = {k: 0 for k in INTERNAL}
            for kind in KINDS:
                data[kind] = list(self.db[kind].find({"school": school_id}, hidden).sort("pos", 1))
            data["meta"] = doc.get("meta", {})
            return data

        return self._retrying(f"loading school '{school_id}'", run)

    def delete_school(self, school_id: str) -> None:
        """Delete a school with all its items and versions."""

        def run(attempt: int) -> None:
            self._school(school_id)
            # Hidden first, so that a crash half-way leaves nothing visible; cleanup finishes the job.
            self.db.schools.update_one({"_id": school_id}, {"$set": {"state": "deleting"}})
            self._purge_school(school_id)

        self._retrying(f"deleting school '{school_id}'", run)

    def _purge_school(self, school_id: str) -> None:
        for kind in [*KINDS, "versions", "revisions"]:
            self.db[kind].delete_many({"school": school_id})
        self.db.placements.delete_many({"school": school_id})
        self.db.schools.delete_one({"_id": school_id})

    def rename_school(self, school_id: str, name: str) -> None:
        """Give the school another name (unique among schools)."""
        name = self._check_school_name(name)

        def run(attempt: int) -> None:
            self._school(school_id)
            other = self.db.schools.find_one({"name": name})
            if other is not None and other["_id"] != school_id:
                raise ValidationError(
                    [Problem("school.name", f"a school named '{name}' already exists", "pick another name")]
                )
            self.db.schools.update_one({"_id": school_id}, {"$set": {"name": name}})

        self._retrying(f"renaming school '{school_id}'", run)

    # Calendar.

    def get_calendar(self, school_id: str) -> dict:
        """``{"days": [...], "periods": [...], "breaks": [[day, period], ...]}``."""
        return self._retrying(
            f"reading the calendar of school '{school_id}'", lambda a: self._school(school_id)["calendar"]
        )

    def update_calendar(self, school_id: str, calendar: dict) -> dict:
        """Replace the calendar; refused when a pin, break or rule would name a day or period it lacks."""

        def run(attempt: int) -> dict:
            data = self.school_dict(school_id)
            data["calendar"] = calendar
            problems = _key_problems(calendar, "calendar") + _calendar_name_problems(calendar)
            if problems:
                raise ValidationError(problems, "calendar not changed")
            try:
                school = school_from_dict(data)
            except FormatError as e:
                raise ValidationError(
                    _format_problems(e, self._labels(data)), "calendar not changed"
                ) from None
            canonical = school_to_dict(school)["calendar"]
            self.db.schools.update_one({"_id": school_id}, {"$set": {"calendar": canonical}})
            return canonical

        return self._retrying(f"changing the calendar of school '{school_id}'", run)

    @staticmethod
    def _labels(data: dict) -> dict[str, str]:
        labels = {"$.calendar": "calendar"}
        for kind in KINDS:
            for i, item in enumerate(data.get(kind, [])):
                labels[f"$.{kind}[{i}]"] = _where(kind, item.get("id") if isinstance(item, dict) else None)
        return labels

    # Items.

    @staticmethod
    def _kind(kind: Any) -> str:
        if kind not in KINDS:
            raise StoreError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
        return kind

    def list(self, school_id: str, kind: str) -> list[dict]:
        """Every item of one kind, in order, in solver.io's JSON form."""
        kind = self._kind(kind)

        def run(attempt: int) -> list[dict]:
            self._school(school_id)
            return list(self.db[kind].find({"school": school_id}, {k: 0 for k in INTERNAL}).sort("pos", 1))

        return self._retrying(f"listing {kind} of school '{school_id}'", run)

    def get(self, school_id: str, kind: str, id: str) -> dict:
        """One item; NotFoundError when there is none with that id."""
        kind = self._kind(kind)
        return self._retrying(
            f"reading {_where(kind, id)}", lambda a: _public(self._item(school_id, kind, id))
        )

    def _item(self, school_id: str, kind: str, item_id: Any) -> dict:
        self._school(school_id)
        _check_id(item_id, KINDS[kind].singular)
        doc = self.db[kind].find_one({"school": school_id, "id": item_id})
        if doc is None:
            raise NotFoundError(f"{_where(kind, item_id)} does not exist in school '{school_id}'")
        return doc

    def _check_unique(self, school_id: str, kind: str, item: dict, own: Any = None) -> list[Problem]:
        problems = []
        where = _where(kind, item["id"])
        fields = ["id", "name"] if KINDS[kind].named else ["id"]
        for field in fields:
            other = self.db[kind].find_one({"school": school_id, field: item[field]}, {"_id": 1})
            if other is not None and other["_id"] != own:
                problems.append(
                    Problem(
                        f"{where}.{field}",
                        f"{KINDS[kind].singular} {field} '{item[field]}' is already used",
                        f"pick another {field}",
                    )
                )
        other_kind = {"classes": "groups", "groups": "classes"}.get(kind)
        if other_kind and self.db[other_kind].find_one({"school": school_id, "id": item["id"]}, {"_id": 1}):
            problems.append(
                Problem(
                    f"{where}.id",
                    f"'{item['id']}' is already a {KINDS[other_kind].singular} id",
                    "classes and groups share one set of ids; pick another",
                )
            )
        return problems

    def _missing_refs(self, school_id: str, kind: str, item: dict) -> list[Problem]:
        refs = outgoing(kind, item)
        wanted: dict[str, set[str]] = {}
        for _, kinds, ref in refs:
            for k in kinds:
                wanted.setdefault(k, set()).add(ref)
        found: dict[str, set[str]] = {}
        for k, ids in wanted.items():
            rows = self.db[k].find({"school": school_id, "id": {"$in": sorted(ids)}}, {"id": 1, "_id": 0})
            found[k] = {r["id"] for r in rows}
        return [
            _unknown_ref(kind, item["id"], field, kinds, ref)
            for field, kinds, ref in refs
            if not any(ref in found.get(k, ()) for k in kinds)
        ]

    def _combined_rooms(self, school_id: str, kind: str, doc: Any) -> list[dict]:
        """For a lesson with fixed real rooms: its rooms as stored, with the real rooms of their sets as
        plain rooms, so that the real rooms are judged against the sets."""
        if kind != "lessons" or not isinstance(doc, dict) or not doc.get("real_rooms"):
            return []
        ids = doc.get("rooms") or []
        ids = [ids] if isinstance(ids, str) else [x for x in ids if isinstance(x, str)]
        rooms = [_public(d) for d in self.db.rooms.find({"school": school_id, "id": {"$in": ids}})]
        real = {r for d in rooms for names in d.get("real_rooms", []) for r in names} - set(ids)
        return rooms + [{"id": r} for r in sorted(real)]

    def create(self, school_id: str, kind: str, doc: dict) -> dict:
        """Add an item; returns it in canonical form. ValidationError names every field at fault."""
        kind = self._kind(kind)
        object_id = ObjectId()

        def run(attempt: int) -> dict:
            school = self._school(school_id)
            item = _canonical(kind, doc, school["calendar"], self._combined_rooms(school_id, kind, doc))
            if attempt and self.db[kind].find_one({"_id": object_id}):
                return item
            problems = self._check_unique(school_id, kind, item) + self._missing_refs(school_id, kind, item)
            if problems:
                raise ValidationError(problems)
            counter = self.db.schools.find_one_and_update(
                {"_id": school_id}, {"$inc": {"seq": 1}}, return_document=pymongo.ReturnDocument.AFTER
            )
            stored = {
                **item,
                "_id": object_id,
                "school": school_id,
                "pos": counter["seq"],
                "schema": SCHEMA_VERSION,
            }
            try:
                self.db[kind].insert_one(stored)
            except DuplicateKeyError:
                # Another writer took the id or name between our check and the insert.
                raise ValidationError(
                    self._check_unique(school_id, kind, item)
                    or [Problem(_where(kind, item["id"]), "id or name already used", "pick another")]
                ) from None
            return item

        return self._retrying(
            f"creating {_where(kind, doc.get('id') if isinstance(doc, dict) else None)}", run
        )

    def update(self, school_id: str, kind: str, id: str, changes: dict) -> dict:
        """Change fields of an item (the id stays); returns the item. Invalid changes raise ValidationError."""
        kind = self._kind(kind)
        if not isinstance(changes, dict):
            raise ValidationError([Problem(_where(kind, id), "changes must be an object of field: value")])

        def run(attempt: int) -> dict:
            current = self._item(school_id, kind, id)
            if "id" in changes and changes["id"] != id:
                raise ValidationError(
                    [
                        Problem(
                            f"{_where(kind, id)}.id",
                            "the id cannot be changed",
                            "create a new item and delete this one",
                        )
                    ]
                )
            merged = {**_public(current), **changes}
            item = _canonical(
                kind,
                merged,
                self._school(school_id)["calendar"],
                self._combined_rooms(school_id, kind, merged),
            )
            problems = self._check_unique(school_id, kind, item, own=current["_id"])
            problems += self._missing_refs(school_id, kind, item)
            if problems:
                raise ValidationError(problems)
            stored = {**item, "school": school_id, "pos": current["pos"], "schema": SCHEMA_VERSION}
            try:
                self.db[kind].replace_one({"_id": current["_id"]}, stored)
            except DuplicateKeyError:
                raise ValidationError(
                    self._check_unique(school_id, kind, item, own=current["_id"])
                    or [Problem(_where(kind, id), "name already used", "pick another")]
                ) from None
            return item

        return self._retrying(f"changing {_where(kind, id)}", run)

    def referrers(self, school_id: str, kind: str, id: str) -> list[tuple[str, str, str]]:
        """Who refers to an item: ``(kind, id, field)`` for every reference."""
        kind = self._kind(kind)
        return self._retrying(
            f"finding references to {_where(kind, id)}",
            lambda a: self._referrers(self._dependents(school_id), kind, id),
        )

    def _dependents(self, school_id: str) -> dict[str, dict[str, dict]]:
        """The items that can refer to others (groups, lessons, rules, combined rooms), by kind and id."""
        return {
            k: {
                d["id"]: d
                for d in self.db[k].find({"school": school_id}, {"_id": 0, "school": 0, "schema": 0})
            }
            for k in ("groups", "lessons", "rules", "rooms")
        }

    @staticmethod
    def _referrers(items: dict[str, dict[str, dict]], kind: str, item_id: str) -> list[tuple[str, str, str]]:
        return [
            (k, doc["id"], field)
            for k, docs in items.items()
            for doc in docs.values()
            for field, kinds, ref in outgoing(k, doc)
            if ref == item_id and kind in kinds
        ]

    def delete(self, school_id: str, kind: str, id: str, cascade: bool = False) -> None:
        """Delete an item. Still referenced: ReferencedError listing who, unless ``cascade``.

        A cascade removes the id from lists that name it (a lesson's teachers, groups and rooms, and its
        fixed real rooms with any of them; a pin's room, a rule's lessons, a combined room's sets of real
        rooms) and deletes what cannot stand without it: lessons of a deleted subject, groups of a deleted
        class, lessons left with no class or group, rules targeting it.
        """
        kind = self._kind(kind)

        def run(attempt: int) -> None:
            self._item(school_id, kind, id)
            items = self._dependents(school_id)
            refs = self._referrers(items, kind, id)
            if refs and not cascade:
                listed = ", ".join(f"{KINDS[k].singular} '{i}' ({f})" for k, i, f in refs[:20])
                more = f" and {len(refs) - 20} more" if len(refs) > 20 else ""
                raise ReferencedError(
                    f"{_where(kind, id)} is still used by {listed}{more}. Change or delete those first, "
                    "or delete with cascade.",
                    refs,
                )
            deleted, edited = self._cascade(items, kind, id)
            for (k, item_id), doc in edited.items():
                if (k, item_id) not in deleted:
                    fields = {
                        f: doc[f]
                        for f in ("teachers", "groups", "rooms", "pinned", "target", "params", "real_rooms")
                        if f in doc
                    }
                    self.db[k].update_one({"school": school_id, "id": item_id}, {"$set": fields})
            for k, item_id in deleted:
                self.db[k].delete_one({"school": school_id, "id": item_id})

        self._retrying(f"deleting {_where(kind, id)}", run)

    def _cascade(
        self, items: dict[str, dict[str, dict]], kind: str, item_id: str
    ) -> tuple[list[tuple[str, str]], dict[tuple[str, str], dict]]:
        """What a cascading delete does: items to delete (referrers first) and items to edit."""
        items = copy.deepcopy(items)
        deleted: list[tuple[str, str]] = []
        edited: dict[tuple[str, str], dict] = {}
        todo = [(kind, item_id)]
        while todo:
            k, i = todo.pop()
            if (k, i) in deleted:
                continue
            for rk, rid, field in self._referrers(items, k, i):
                if (rk, rid) in deleted or (rk, rid) in todo:
                    continue
                doc = items[rk][rid]
                if rk == "lessons" and field in ("teachers", "groups", "rooms"):
                    doc[field] = [x for x in doc[field] if x != i]
                    if field == "groups" and not doc["groups"]:
                        todo.append((rk, rid))
                    if field == "rooms" and doc.get("real_rooms"):
                        doc["real_rooms"] = []  # fixed for the room it no longer has
                elif rk == "lessons" and field == "real_rooms":
                    doc["real_rooms"] = []
                elif rk == "lessons" and field.startswith("pinned"):
                    for pin in doc.get("pinned", []):
                        if pin.get("room") == i:
                            pin["room"] = None
                elif rk == "rooms":
                    # A combined room loses the room from its sets, and a set left empty.
                    sets = [[x for x in names if x != i] for names in doc["real_rooms"]]
                    doc["real_rooms"] = [names for names in sets if names]
                elif rk == "rules" and field.startswith("params."):
                    name = field.split(".", 1)[1]
                    doc["params"][name] = [x for x in doc["params"][name] if x != i]
                    if not doc["params"][name]:
                        todo.append((rk, rid))
                elif rk == "rules" and doc["scope"] == "lessons":
                    doc["target"] = [x for x in doc["target"] if x != i]
                    if not doc["target"]:
                        todo.append((rk, rid))
                else:
                    todo.append((rk, rid))
                edited[(rk, rid)] = doc
            deleted.insert(0, (k, i))
            items.get(k, {}).pop(i, None)
        return deleted, edited

    def frame(self, school_id: str, kind: str) -> pd.DataFrame:
        """One kind of item as a DataFrame, one row per item, for notebooks."""
        rows = self.list(school_id, kind)
        return pd.DataFrame(rows).reset_index(drop=True) if rows else pd.DataFrame(columns=["id"])

    def schools_frame(self) -> pd.DataFrame:
        """Every school with its counts as columns, for notebooks."""
        rows = [
            {"id": s["id"], "name": s["name"], "created": s["created"], **s["counts"]}
            for s in self.list_schools()
        ]
        return pd.DataFrame(rows, columns=["id", "name", "created", *KINDS, "versions"])

    def versions_frame(self, school_id: str) -> pd.DataFrame:
        """The school's versions, newest first, with their stats as columns, for notebooks."""
        columns = [
            "id",
            "name",
            "created",
            "draft",
            "placed",
            "total",
            "unplaced",
            "conflicts",
            "score",
            "solve_time",
            "job_id",
            "options",
        ]
        rows = [{**v, **v["stats"]} for v in self.list_versions(school_id)]
        return pd.DataFrame(rows, columns=columns)

    # Versions.

    def save_version(
        self,
        school_id: str,
        name: str,
        timetable: Timetable,
        *,
        options: dict | None = None,
        job_id: str | None = None,
        draft: bool = False,
        school: School | None = None,
    ) -> str:
        """Save a timetable as the version ``name`` of the school (replacing its timetable if it exists).

        ``stats.conflicts`` counts the hard rules the independent checker (``solver.checker``) finds
        broken, unplaced lessons aside; pass ``school`` (the model solved) to spare loading it.

        1. write the placements under a new revision;
        2. point the version at the new revision (one single-document write: atomic);
        3. drop the old revision.
        A crash before 2 leaves the old timetable in place and an orphaned revision, which ``cleanup``
        removes; a crash after 2 leaves the new timetable and an orphaned old revision. Returns the
        version id.
        """
        if not isinstance(name, str) or not name.strip():
            raise ValidationError([Problem("version.name", "expected a non-empty name", "name the version")])
        problems = _key_problems(options or {}, "version.options")
        if problems:
            raise ValidationError(problems)

        conflicts: list[int] = []

        def run(attempt: int) -> str:
            school_doc = self._school(school_id)
            calendar = school_doc["calendar"]
            shell = School(name="", calendar=Calendar(calendar["days"], calendar["periods"]))
            data = timetable_to_dict(timetable, shell)
            if not conflicts:
                report = check(school or self.load_school(school_id), timetable)
                conflicts.append(sum(1 for v in report.hard if v.rule != "unplaced"))
            existing = self.db.versions.find_one({"school": school_id, "name": name}, {"_id": 1})
            version_id = existing["_id"] if existing else str(ObjectId())
            revision = self._write_revision(school_id, version_id, data["placements"])
            fields = {
                "revision": revision,
                "count": len(data["placements"]),
                "updated": _now(),
                "draft": bool(draft),
                "options": options or {},
                "job_id": job_id,
                "stats": {**_stats(timetable, data), "conflicts": conflicts[0]},
                "status": data["status"],
                "phase": data["phase"],
                "breakdown": data["breakdown"],
                "unplaced": data["unplaced"],
                "first_complete_time": data["first_complete_time"],
                "meta": _storable(data["meta"]),
            }
            version_id, old = self._switch_revision(school_id, version_id, name, fields)
            if old and old != revision:
                self._drop_revision(old)
            return version_id

        return self._retrying(f"saving version '{name}'", run)

    def _write_revision(self, school_id: str, version_id: str, placements: list[dict]) -> str:
        revision = str(ObjectId())
        self.db.revisions.insert_one(
            {
                "_id": revision,
                "school": school_id,
                "version": version_id,
                "created": _now(),
                "count": len(placements),
                "schema": SCHEMA_VERSION,
            }
        )
        if placements:
            # Chunks, not one document per placement: a 2,000-placement save writes 4 documents, which
            # is 7 times faster on nx-27017 and reads back 10 times faster.
            chunks = [placements[i : i + CHUNK] for i in range(0, len(placements), CHUNK)]
            self.db.placements.insert_many(
                [
                    {"rev": revision, "i": i, "school": school_id, "items": items, "schema": SCHEMA_VERSION}
                    for i, items in enumerate(chunks)
                ],
                ordered=False,
            )
        return revision

    def _switch_revision(
        self, school_id: str, version_id: str, name: str, fields: dict
    ) -> tuple[str, str | None]:
        """Point the version at its new revision: one single-document replace, made only if nobody else
        switched it meanwhile. Returns the version id and the revision it pointed at before."""
        while True:
            before = self.db.versions.find_one({"_id": version_id})
            if before is not None:
                # A whole-document replace, not $set: nx-27017 stores a $set boolean or date as 0/1 or text.
                done = self.db.versions.replace_one(
                    {"_id": version_id, "revision": before.get("revision")}, {**before, **fields}
                )
                if done.matched_count:
                    return version_id, before.get("revision")
                continue
            try:
                self.db.versions.insert_one(
                    {
                        "_id": version_id,
                        "school": school_id,
                        "name": name,
                        "created": fields["updated"],
                        "schema": SCHEMA_VERSION,
                        **fields,
                    }
                )
                return version_id, None
            except DuplicateKeyError:
                # Another save created this version name meanwhile: replace its timetable instead.
                other = self.db.versions.find_one({"school": school_id, "name": name}, {"_id": 1})
                if other is not None:
                    self.db.revisions.update_one(
                        {"_id": fields["revision"]}, {"$set": {"version": other["_id"]}}
                    )
                    version_id = other["_id"]

    def _drop_revision(self, revision: str) -> None:
        self.db.placements.delete_many({"rev": revision})
        self.db.revisions.delete_one({"_id": revision})

    def cleanup(self, older_than: timedelta = ORPHAN_AGE) -> dict[str, int]:
        """Remove what crashed operations left behind: revisions no version points at, schools
        half-imported or half-deleted. Only remains older than ``older_than``, so that a save or an
        import running in another process right now is left alone."""

        def run(attempt: int) -> dict[str, int]:
            # Ages are compared here, not in the filter: nx-27017 compares dates to the second only.
            # There is one revision per version plus the saves in flight, so reading them all is cheap.
            cutoff = _now() - older_than
            current = {v["_id"]: v.get("revision") for v in self.db.versions.find({}, {"revision": 1})}
            revisions = 0
            for rev in self.db.revisions.find({}, {"_id": 1, "version": 1, "created": 1}):
                if rev["created"] < cutoff and current.get(rev["version"]) != rev["_id"]:
                    self._drop_revision(rev["_id"])
                    revisions += 1
            schools = 0
            for school in self.db.schools.find({"state": {"$in": ["importing", "deleting"]}}, {"updated": 1}):
                if school["updated"] < cutoff:
                    self._purge_school(school["_id"])
                    schools += 1
            return {"revisions": revisions, "schools": schools}

        return self._retrying("cleaning up", run)

    def _version(self, version_id: Any) -> dict:
        _check_id(version_id, "version")
        doc = self.db.versions.find_one({"_id": version_id})
        if doc is None:
            raise NotFoundError(f"version '{version_id}' does not exist")
        return doc

    @staticmethod
    def _version_public(doc: dict, full: bool) -> dict:
        out = {
            "id": doc["_id"],
            "school": doc["school"],
            "name": doc["name"],
            "created": doc["created"],
            "updated": doc.get("updated", doc["created"]),
            "draft": doc.get("draft", False),
            "stats": doc.get("stats", {}),
            "options": doc.get("options", {}),
            "job_id": doc.get("job_id"),
            "status": doc.get("status", ""),
            "phase": doc.get("phase", ""),
            "placements": doc.get("count", 0),
        }
        if full:
            out.update(
                breakdown=doc.get("breakdown", {}),
                unplaced=doc.get("unplaced", []),
                first_complete_time=doc.get("first_complete_time"),
                meta=doc.get("meta", {}),
            )
        return out

    def list_versions(self, school_id: str) -> list[dict]:
        """The school's versions, newest first: id, name, created, draft, stats, options, job_id."""

        def run(attempt: int) -> list[dict]:
            self._school(school_id)
            docs = self.db.versions.find({"school": school_id}, {"unplaced": 0, "breakdown": 0, "meta": 0})
            return [
                self._version_public(d, False) for d in sorted(docs, key=lambda d: d["created"], reverse=True)
            ]

        return self._retrying(f"listing versions of school '{school_id}'", run)

    def get_version(self, version_id: str) -> dict:
        """One version's record, with its stats, unplaced lessons and score breakdown."""
        return self._retrying(
            f"reading version '{version_id}'", lambda a: self._version_public(self._version(version_id), True)
        )

    def _placements(self, version_id: str) -> tuple[dict, list[dict]]:
        """The version and its placements, read consistently even while another process saves it."""
        for _ in range(10):
            version = self._version(version_id)
            chunks = sorted(self.db.placements.find({"rev": version["revision"]}), key=lambda c: c["i"])
            rows = [p for c in chunks for p in c["items"]]
            if len(rows) == version.get("count", 0):
                return version, rows
            # A save switched the version to a newer revision and dropped this one while we read it.
        raise StoreError(f"version '{version_id}' keeps changing while being read; try again")

    def load_version(self, version_id: str, school: School | None = None) -> Timetable:
        """The version's timetable. Placements of lessons deleted (or days and periods renamed) since it
        was saved are left out; ``meta["left_out"]`` counts them."""

        def run(attempt: int) -> Timetable:
            version, rows = self._placements(version_id)
            model = school or self.load_school(version["school"])
            lessons = model.lesson_by_id
            days, periods = set(model.calendar.days), set(model.calendar.periods)
            kept = [
                r
                for r in rows
                if r["lesson"] in lessons
                and 0 <= r["block"] < len(lessons[r["lesson"]].blocks)
                and r["day"] in days
                and r["period"] in periods
            ]
            unplaced = [u for u in version.get("unplaced", []) if u["lesson"] in lessons]
            stats = version.get("stats", {})
            data = {
                "placements": kept,
                "unplaced": unplaced,
                "placed": stats.get("placed", 0),
                "total": stats.get("total", 0),
                "score": stats.get("score", 0),
                "solve_time": stats.get("solve_time", 0.0),
                "status": version.get("status", ""),
                "phase": version.get("phase", ""),
                "breakdown": version.get("breakdown", {}),
                "first_complete_time": version.get("first_complete_time"),
                "meta": {
                    **version.get("meta", {}),
                    "version_id": version_id,
                    "left_out": len(rows) - len(kept),
                },
            }
            return timetable_from_dict(data, model, source=f"version '{version_id}'")

        return self._retrying(f"loading version '{version_id}'", run)

    def version_frame(self, version_id: str) -> pd.DataFrame:
        """The version's placements, one row per placed block, with the lesson's subject, teachers,
        groups, for notebooks."""

        def run(attempt: int) -> pd.DataFrame:
            version, rows = self._placements(version_id)
            lessons = {
                d["id"]: d
                for d in self.db.lessons.find(
                    {"school": version["school"]},
                    {"id": 1, "subject": 1, "teachers": 1, "groups": 1, "_id": 0},
                )
            }
            columns = ["lesson", "block", "day", "period", "length", "room", "subject", "teachers", "groups"]
            for r in rows:
                lesson = lessons.get(r["lesson"], {})
                r.update(
                    subject=lesson.get("subject"),
                    teachers=lesson.get("teachers", []),
                    groups=lesson.get("groups", []),
                )
            return pd.DataFrame(rows, columns=columns)

        return self._retrying(f"reading version '{version_id}'", run)

    def delete_version(self, version_id: str) -> None:
        """Delete a version and its placements."""

        def run(attempt: int) -> None:
            self._version(version_id)
            self.db.versions.delete_one({"_id": version_id})
            for rev in self.db.revisions.find({"version": version_id}, {"_id": 1}):
                self._drop_revision(rev["_id"])

        self._retrying(f"deleting version '{version_id}'", run)

    def export_version(self, version_id: str) -> dict:
        """The version as JSON: its record plus its timetable in solver.io's form."""
        school_id = self.get_version(version_id)["school"]
        school = self.load_school(school_id)
        record = self.get_version(version_id)
        data = timetable_to_dict(self.load_version(version_id, school), school)
        data["meta"].update(version_id=version_id, version=record["name"], school=school_id)
        return {**data, "version": {k: _jsonable(v) for k, v in record.items()}}

    # Indexes and housekeeping.

    def setup(self) -> None:
        """Migrate the schema and create every index the store's queries use (idempotent)."""

        def run(attempt: int) -> None:
            migrate(self.db)
            db = self.db
            db.schools.create_index("name", unique=True)
            db.schools.create_index("state")
            for name, kind in KINDS.items():
                db[name].create_index([("school", 1), ("id", 1)], unique=True)
                db[name].create_index([("school", 1), ("pos", 1)])
                if kind.named:
                    db[name].create_index([("school", 1), ("name", 1)], unique=True)
            db.versions.create_index([("school", 1), ("name", 1)], unique=True)
            db.versions.create_index([("school", 1), ("created", -1)])
            db.revisions.create_index("version")
            db.placements.create_index([("rev", 1), ("i", 1)])
            db.placements.create_index("school")

        self._retrying("preparing the database", run)


def _stats(timetable: Timetable, data: dict) -> dict:
    return {
        "placed": timetable.placed,
        "total": timetable.total,
        "unplaced": max(timetable.total - timetable.placed, 0),
        "unplaced_lessons": len({u.lesson for u in timetable.unplaced}),
        "score": timetable.score,
        "solve_time": data["solve_time"],
    }


def _storable(value: Any) -> Any:
    """A JSON-like value with field names MongoDB accepts (others are dropped from free-form meta)."""
    if isinstance(value, dict):
        return {
            str(k): _storable(v) for k, v in value.items() if not str(k).startswith("$") and "." not in str(k)
        }
    if isinstance(value, (list, tuple)):
        return [_storable(v) for v in value]
    if value is None or isinstance(value, (str, int, float, bool, datetime)):
        return value
    return str(value)


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _client(uri: str, timeout: float) -> pymongo.MongoClient:
    ms = int(timeout * 1000)
    return pymongo.MongoClient(
        uri, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms, tz_aware=True, appname="timetabler"
    )


def open_store(
    uri: str | None = None,
    db_name: str | None = None,
    data_dir: str | os.PathLike | None = None,
    *,
    retry_for: float = 15.0,
    timeout: float = 2.0,
    cleanup: bool = True,
) -> Store:
    """Open the store.

    ``uri`` (else ``MONGODB_URI``) names a MongoDB server; without one, the embedded nx-27017 server of
    ``data_dir`` (else ``TIMETABLER_DATA_DIR``, else ``./data``) is started or reused. ``db_name`` (else
    ``MONGODB_DB``, else ``timetabler``) names the database. Unreachable databases are retried with
    backoff for ``retry_for`` seconds before UnavailableError; each attempt waits up to ``timeout``
    seconds for the server.
    """
    uri = uri or os.environ.get("MONGODB_URI") or None
    db_name = db_name or os.environ.get("MONGODB_DB") or DEFAULT_DB
    server = None
    if uri is None:
        server = embedded.acquire(data_dir)
        uri = server.uri
    try:
        client = _client(uri, timeout)
    except (PyMongoError, ValueError) as e:
        if server is not None:
            embedded.release(server)
        raise StoreError(f"cannot use the MongoDB address {uri!r}: {e}") from None
    if server is None:
        hosts = ", ".join(f"{h}:{p}" for h, p in pymongo.uri_parser.parse_uri(uri)["nodelist"])
        address = f"MongoDB at {hosts}"
    else:
        address = ""
    store = Store(client, db_name, server, retry_for=retry_for, address=address, timeout=timeout)
    try:
        store.setup()
        if cleanup:
            store.cleanup()
    except BaseException:
        store.close()
        raise
    return store
