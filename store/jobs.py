"""Job documents: the only code that speaks MongoDB for background solves (``jobs/`` uses it).

The ``jobs`` collection is the single source of truth for every server process. A job is held by one
process (``worker``) from the moment it is queued; the holder renews ``heartbeat`` and ``lease_until``
every few seconds, and every write by a holder is conditional on still being the holder, so a process
whose lease was taken over learns it from a write that matches nothing. ``job_slots`` bounds the
number of running jobs per school across processes: one document per slot, taken atomically.

Gaps of nx-27017 0.8.1 worked around here (booleans set with ``$set`` come back as 1/0, so only their
truth is used). A missing field does not equal ``None`` (unlike
MongoDB), so queries match explicit values with ``$in`` rather than ``{"$ne": None}``. A top-level
datetime written by ``$set`` comes back as text, and dates compare only to the second, so the times that
are compared or sorted (``lease_until``, a slot's ``at``, the queue order ``seq``) are Unix seconds,
and the times shown to people (``started``, ``heartbeat``...) are turned back into datetimes when read.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from bson import ObjectId
from pymongo import ASCENDING, DESCENDING, ReturnDocument
from pymongo.database import Database
from pymongo.errors import AutoReconnect, ConnectionFailure, DuplicateKeyError

from .errors import UnavailableError

SCHEMA_VERSION = 1

QUEUED, RUNNING, SAVING = "queued", "running", "saving"
COMPLETED, SAVE_FAILED, FAILED = "completed", "save_failed", "failed"
CANCELLED, INTERRUPTED = "cancelled", "interrupted"
STATUSES = (QUEUED, RUNNING, SAVING, COMPLETED, SAVE_FAILED, FAILED, CANCELLED, INTERRUPTED)
ACTIVE = (QUEUED, RUNNING, SAVING)
"""Statuses a holder process is working on: a dead holder leaves them interrupted."""
HELD = (*ACTIVE, SAVE_FAILED)
"""Statuses whose holder renews the lease (a save_failed job is being retried by its holder)."""
UNFINISHED = HELD
"""What ``active_only`` lists: everything that still needs a process or a person."""

LOG_LINES = 300
"""The job log keeps its last lines only."""

# Large fields left out of job listings; ``result_data`` is the full timetable kept while a save fails.
_HIDDEN = {"result_data": 0}


def now() -> datetime:
    """The current time, in UTC, at MongoDB's millisecond precision."""
    t = datetime.now(UTC)
    return t.replace(microsecond=t.microsecond // 1000 * 1000)


def new_job_id() -> str:
    """A job id that sorts by creation time (within a process)."""
    return str(ObjectId())


def is_unavailable(error: BaseException) -> bool:
    """True when ``error`` means the database could not be reached (worth retrying later)."""
    return isinstance(error, (ConnectionFailure, AutoReconnect, UnavailableError))


TIME_FIELDS = ("created", "started", "finished", "updated", "heartbeat", "next_save_at")


def _time(value: Any) -> Any:
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            return value
    # A client without tz_aware returns naive datetimes; they are UTC.
    if isinstance(value, datetime) and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value


def _out(doc: dict | None, position: int | None = None) -> dict | None:
    if doc is None:
        return None
    doc = {k: _time(v) if k in TIME_FIELDS else v for k, v in doc.items()}
    doc["id"] = doc["_id"]
    doc["queue_position"] = position if doc.get("status") == QUEUED else None
    if doc["queue_position"] is not None:
        doc["message"] = f"Waiting for a free worker: number {position} in the queue."
    return doc


class JobDocs:
    """The jobs collection and its per-school slots."""

    def __init__(self, db: Database):
        self.db = db
        self.jobs = db["jobs"]
        self.slots = db["job_slots"]

    def ensure_indexes(self, retry_for: float = 15.0) -> None:
        """Create the indexes. Creating one twice is harmless, so this retries while the database
        (re)starts: a process started right after a server restart finds its pooled connections dead."""
        deadline = time.monotonic() + retry_for
        delay = 0.1
        while True:
            try:
                self.jobs.create_index([("worker", ASCENDING), ("status", ASCENDING), ("seq", ASCENDING)])
                self.jobs.create_index([("school_id", ASCENDING), ("seq", DESCENDING)])
                self.jobs.create_index([("status", ASCENDING), ("lease_until", ASCENDING)])
                self.jobs.create_index([("seq", DESCENDING)])
                return
            except ConnectionFailure:
                if time.monotonic() + delay > deadline:
                    raise
                time.sleep(delay)
                delay = min(delay * 2, 2.0)

    # ------------------------------------------------------------------ reading

    def get(self, job_id: str, with_result: bool = False) -> dict | None:
        doc = self.jobs.find_one({"_id": job_id}, None if with_result else _HIDDEN)
        if doc is not None and doc.get("status") == QUEUED:
            return _out(doc, self.queue_position(doc))
        return _out(doc)

    def list(self, school_id: str | None = None, active_only: bool = False, limit: int = 100) -> list[dict]:
        """Jobs newest first, without their logs (``get`` has the log)."""
        query: dict[str, Any] = {}
        if school_id is not None:
            query["school_id"] = str(school_id)
        if active_only:
            query["status"] = {"$in": list(UNFINISHED)}
        order = [("seq", DESCENDING), ("_id", DESCENDING)]
        docs = list(self.jobs.find(query, {**_HIDDEN, "log": 0}).sort(order).limit(limit))
        positions = self._positions() if any(d.get("status") == QUEUED for d in docs) else {}
        return [_out(d, positions.get(d["_id"])) for d in docs]

    def queue_position(self, doc: dict) -> int:
        """1 for the next job its holder will start, 2 for the one after, and so on."""
        ahead = self.jobs.count_documents(
            {
                "worker": doc.get("worker"),
                "status": QUEUED,
                "$or": [
                    {"seq": {"$lt": doc["seq"]}},
                    {"seq": doc["seq"], "_id": {"$lt": doc["_id"]}},
                ],
            }
        )
        return ahead + 1

    def _positions(self) -> dict[str, int]:
        queued = self.jobs.find({"status": QUEUED}, {"worker": 1, "seq": 1}).sort(
            [("seq", ASCENDING), ("_id", ASCENDING)]
        )
        counters: dict[Any, int] = {}
        positions = {}
        for d in queued:
            counters[d.get("worker")] = counters.get(d.get("worker"), 0) + 1
            positions[d["_id"]] = counters[d.get("worker")]
        return positions

    def queued_for(self, worker: str) -> list[dict]:
        """The worker's queued jobs, oldest first."""
        return list(
            self.jobs.find({"worker": worker, "status": QUEUED}, {"school_id": 1, "seq": 1}).sort(
                [("seq", ASCENDING), ("_id", ASCENDING)]
            )
        )

    def held_by_others(self, worker: str) -> list[dict]:
        """Jobs in a held status whose holder is another process, with what is needed to judge it dead."""
        fields = {
            "worker": 1,
            "status": 1,
            "lease_until": 1,
            "heartbeat": 1,
            "school_id": 1,
            "result_kept": 1,
        }
        return [
            _out(d)
            for d in self.jobs.find({"status": {"$in": list(HELD)}, "worker": {"$nin": [worker]}}, fields)
        ]

    def requests(self, worker: str) -> list[dict]:
        """The worker's jobs that another process asked to cancel or to save again."""
        return list(
            self.jobs.find(
                {
                    "worker": worker,
                    "$or": [
                        {"status": RUNNING, "cancel_requested": {"$in": ["draft", "discard"]}},
                        {"status": SAVE_FAILED, "save_requested": True},
                    ],
                },
                {"cancel_requested": 1, "status": 1},
            )
        )

    # ------------------------------------------------------------------ writing

    def insert(self, doc: dict) -> None:
        self.jobs.insert_one({"schema": SCHEMA_VERSION, **doc})

    def claim(self, job_id: str, worker: str, fields: dict) -> dict | None:
        """Move the worker's queued job to running; None when it is no longer queued (cancelled)."""
        doc = self.jobs.find_one_and_update(
            {"_id": job_id, "worker": worker, "status": QUEUED},
            {"$set": {"status": RUNNING, **fields}},
            projection=_HIDDEN,
            return_document=ReturnDocument.AFTER,
        )
        return _out(doc)

    def update(
        self,
        job_id: str,
        worker: str | None,
        fields: dict | None = None,
        *,
        statuses: tuple[str, ...] | None = None,
        progress: int | None = None,
        log: list[str] | None = None,
        unset: tuple[str, ...] = (),
        inc: dict | None = None,
    ) -> dict | None:
        """Update a job if ``worker`` still holds it (and its status is one of ``statuses``).

        Returns the job's ``cancel_requested`` and ``status`` after the write, or None when nothing
        matched: the caller no longer holds the job. Progress only rises (``$max``).
        """
        query: dict[str, Any] = {"_id": job_id}
        if worker is not None:
            query["worker"] = worker
        if statuses is not None:
            query["status"] = {"$in": list(statuses)}
        change: dict[str, Any] = {}
        if fields:
            change["$set"] = dict(fields)
        if progress is not None:
            change["$max"] = {"progress": int(progress)}
        if log:
            change["$push"] = {"log": {"$each": list(log), "$slice": -LOG_LINES}}
        if unset:
            change["$unset"] = {k: "" for k in unset}
        if inc:
            change["$inc"] = dict(inc)
        if not change:
            change["$set"] = {}
        return self.jobs.find_one_and_update(
            query,
            change,
            projection={"cancel_requested": 1, "status": 1},
            return_document=ReturnDocument.AFTER,
        )

    def heartbeat(self, worker: str, beat: datetime, lease_until: float, working_on: list[str]) -> int:
        """Renew the lease of the worker's queued jobs and of the jobs it is ``working_on``; a job it
        holds but no longer works on (a bug, a lost write) is left to expire. Returns how many."""
        result = self.jobs.update_many(
            {
                "worker": worker,
                "status": {"$in": list(HELD)},
                "$or": [{"status": QUEUED}, {"_id": {"$in": list(working_on)}}],
            },
            {"$set": {"heartbeat": beat, "lease_until": lease_until}},
        )
        return result.matched_count

    def expire_leases(self, worker: str, at: float) -> None:
        """End the worker's leases at once (a clean shutdown), so the next sweep need not wait."""
        self.jobs.update_many(
            {"worker": worker, "status": {"$in": list(HELD)}}, {"$set": {"lease_until": at}}
        )

    def take_over(self, seen: dict, worker: str, fields: dict, log: list[str]) -> bool:
        """Take a job from a dead holder, only if its holder and lease are still what ``seen`` shows."""
        query = {
            "_id": seen["_id"] if "_id" in seen else seen["id"],
            "worker": seen.get("worker"),
            "status": seen.get("status"),
            "lease_until": seen.get("lease_until"),
        }
        change = {"$set": fields, "$push": {"log": {"$each": log, "$slice": -LOG_LINES}}}
        return self.jobs.update_one(query, change).modified_count == 1

    def delete(self, job_id: str, statuses: tuple[str, ...]) -> bool:
        return self.jobs.delete_one({"_id": job_id, "status": {"$in": list(statuses)}}).deleted_count == 1

    # ------------------------------------------------------------------ per-school slots

    def acquire_slot(self, school_id: str, job_id: str, limit: int, at: float) -> str | None:
        """Take one of the school's ``limit`` running slots for the job; None when all are taken."""
        for i in range(limit):
            slot = f"{school_id}#{i}"
            try:
                self.slots.update_one(
                    {"_id": slot, "job": None},
                    {"$set": {"job": job_id, "school_id": school_id, "at": at}},
                    upsert=True,
                )
                return slot
            except DuplicateKeyError:
                continue
        return None

    def release_slot(self, job_id: str, slot: str | None = None) -> None:
        """Free the job's slot (one named slot, or every slot the job holds)."""
        query: dict[str, Any] = {"job": job_id}
        if slot is not None:
            query["_id"] = slot
        self.slots.update_many(query, {"$set": {"job": None}})

    def release_stale_slots(self, older_than: float) -> int:
        """Free slots whose job is no longer running or saving (its holder died between two steps)."""
        taken = list(self.slots.find({"job": {"$type": "string"}, "at": {"$lt": older_than}}, {"job": 1}))
        if not taken:
            return 0
        ids = [s["job"] for s in taken]
        alive = {
            d["_id"]
            for d in self.jobs.find({"_id": {"$in": ids}, "status": {"$in": [RUNNING, SAVING]}}, {"_id": 1})
        }
        freed = 0
        for s in taken:
            if s["job"] not in alive:
                freed += self.slots.update_one(
                    {"_id": s["_id"], "job": s["job"]}, {"$set": {"job": None}}
                ).modified_count
        return freed
