"""Background solves whose state lives in the store, so reloads, restarts and other processes see it.

One ``JobManager`` per server process. ``start`` only writes a queued job document and returns. The
manager's worker threads take its queued jobs in order, solve them with ``solver.solve`` and save the
result through the store's safe save. A keeper thread writes live progress (at most about once a
second per job), renews the leases of the jobs this process holds, answers cancel and save requests
made by other processes, and marks jobs of dead processes interrupted. A saver thread retries failed
saves with backoff; the result of a solve is written to a spool file on disk before the first save and
into the job document when a save fails, so neither a database outage nor a restart loses it.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import logging
import os
import socket
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from solver.checker import check
from solver.domain import School, Timetable
from solver.io import school_from_dict, school_to_dict, timetable_from_dict, timetable_to_dict
from solver.solve import InvalidSchool, Progress, SolveOptions, solve
from store.jobs import (
    CANCELLED,
    COMPLETED,
    FAILED,
    INTERRUPTED,
    QUEUED,
    RUNNING,
    SAVE_FAILED,
    SAVING,
    JobDocs,
    is_unavailable,
    new_job_id,
    now,
)

logger = logging.getLogger(__name__)

DEFAULT_TIME_LIMIT = 300
MIN_TIME_LIMIT = 180
MAX_TIME_LIMIT = 1200
OPTION_NAMES = ("time_limit", "strict_balancing", "seed")
FINISHED = (COMPLETED, FAILED, CANCELLED, INTERRUPTED)
"""Statuses nothing more happens to (a save_failed job is still being retried)."""

LIVE_INTERVAL = 0.9
"""Seconds between two writes of one job's live fields."""
SAVE_BACKOFF = (1, 2, 4, 8, 15, 30, 60)
"""Seconds before each automatic save retry; the last one repeats while the database is unreachable."""
SAVE_ATTEMPTS_OTHER_ERRORS = 5
"""Automatic attempts when the save fails for a reason other than an unreachable database."""
MAX_LOG_PROBLEMS = 10


class JobError(Exception):
    """A request about a job that cannot be done; the message says why and what to do instead."""


def default_workers() -> int:
    """Solves run CP-SAT with 8 threads each: one job at a time up to 7 cores, two from 8."""
    return max(1, min(2, (os.cpu_count() or 1) // 4))


def default_worker_id() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def fingerprint(school: School) -> str:
    """A short hash of the school data a job solved: equal fingerprints mean equal inputs."""
    text = json.dumps(school_to_dict(school), sort_keys=True, default=str)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _line(text: str) -> str:
    return f"{now():%Y-%m-%d %H:%M:%S} {text}"


def _reason(error: BaseException) -> str:
    text = str(error).strip() or type(error).__name__
    return text.splitlines()[0][:300] if len(text) > 300 else text


@dataclass
class _Run:
    """A job this process is solving: the live state the keeper writes out."""

    job_id: str
    school_id: str
    version_name: str
    options: dict
    slot: str | None
    previous_fingerprint: str | None = None
    cancel: threading.Event = field(default_factory=threading.Event)
    keep: str = "draft"
    asked: bool = False
    """A person asked to cancel (rather than a shutdown stopping the solve)."""
    lock: threading.Lock = field(default_factory=threading.Lock)
    solving: bool = True
    lost: bool = False
    dirty: bool = False
    last_flush: float = 0.0
    live: dict = field(default_factory=dict)
    progress: int = 2
    pending_log: list[str] = field(default_factory=list)
    last_message: str = ""


@dataclass
class _Save:
    """A finished solve waiting to be saved (first attempt or retry)."""

    job_id: str
    school_id: str
    version_name: str
    options: dict
    draft: bool
    school: School
    timetable: Timetable
    fingerprint: str
    attempts: int = 0
    due: float = 0.0
    kept_in_document: bool = False
    recorded: bool = True
    message: str = ""
    next_save_at: datetime | None = None
    unrecorded: list[str] = field(default_factory=list)
    """Log lines written while the database was unreachable, sent with the next write that works."""

    def data(self) -> dict:
        """Everything needed to save again in another process, as JSON-ready data."""
        return {
            "job_id": self.job_id,
            "school_id": self.school_id,
            "version_name": self.version_name,
            "options": self.options,
            "draft": self.draft,
            "fingerprint": self.fingerprint,
            "school": school_to_dict(self.school),
            "timetable": timetable_to_dict(self.timetable, self.school),
        }

    @classmethod
    def from_data(cls, data: dict) -> _Save:
        school = school_from_dict(data["school"])
        return cls(
            job_id=data["job_id"],
            school_id=data["school_id"],
            version_name=data["version_name"],
            options=data["options"],
            draft=data["draft"],
            school=school,
            timetable=timetable_from_dict(data["timetable"], school),
            fingerprint=data.get("fingerprint", ""),
        )


class JobManager:
    """Runs solve jobs in background threads, with their state in the store's jobs collection.

    ``workers`` is the number of solves this process runs at once (default: ``default_workers()``);
    ``max_active_per_school`` caps running jobs per school over every process sharing the database;
    ``requeue_interrupted`` makes the start-up sweep queue a linked retry of every job a dead process
    left behind; ``worker_id`` names this process in job documents (``host:pid:random``).
    ``min_time_limit`` lowers the 180 s floor of the time limit, for tests and benchmarks only.
    ``lease_seconds`` and ``heartbeat_seconds`` set how long a silent holder is trusted and how often it
    renews; ``save_backoff`` lists the seconds between automatic save retries (the last repeats).
    ``spool_dir`` is where finished results wait until they are saved (default ``job-spool`` in the
    store's data directory, ``TIMETABLER_DATA_DIR`` or ``./data``).
    """

    def __init__(
        self,
        store: Any,
        workers: int | None = None,
        max_active_per_school: int | None = None,
        requeue_interrupted: bool = False,
        worker_id: str | None = None,
        *,
        min_time_limit: float = MIN_TIME_LIMIT,
        spool_dir: str | Path | None = None,
        lease_seconds: float = 20.0,
        heartbeat_seconds: float = 2.0,
        save_backoff: tuple[float, ...] = SAVE_BACKOFF,
    ):
        self.store = store
        self.docs = JobDocs(store.db)
        self.workers = workers if workers is not None else default_workers()
        if self.workers < 1:
            raise JobError(f"workers must be at least 1, not {self.workers}")
        self.max_active_per_school = max_active_per_school or 2
        self.requeue_interrupted = requeue_interrupted
        self.worker_id = worker_id or default_worker_id()
        self.min_time_limit = min_time_limit
        data_dir = os.environ.get("TIMETABLER_DATA_DIR") or "data"
        self.spool_dir = Path(spool_dir) if spool_dir is not None else Path(data_dir) / "job-spool"
        self.lease_seconds = lease_seconds
        self.heartbeat_seconds = heartbeat_seconds
        self.save_backoff = tuple(save_backoff)
        self._host = socket.gethostname()
        self._runs: dict[str, _Run] = {}
        self._saves: dict[str, _Save] = {}
        self._unwritten: list[tuple[str, dict]] = []
        """Final states that could not be written (database down), retried by the keeper."""
        self._lock = threading.Lock()
        self._claim_lock = threading.Lock()
        self._has_queued = False
        self._stop = threading.Event()
        self._wake = threading.Event()
        self._kick = threading.Event()
        self._save_wake = threading.Event()
        self.docs.ensure_indexes()
        self._recover_safely()
        self._threads = [
            threading.Thread(target=self._work, name=f"job-worker-{i}", daemon=True)
            for i in range(self.workers)
        ]
        self._threads.append(threading.Thread(target=self._keep, name="job-keeper", daemon=True))
        self._threads.append(threading.Thread(target=self._saver, name="job-saver", daemon=True))
        for t in self._threads:
            t.start()
        atexit.register(self.shutdown)

    # ================================================================== public API

    def start(self, school_id: str, version_name: str, options: dict | None = None) -> str:
        """Queue a solve of the school, saved as ``version_name``; returns the job id at once.

        ``options``: ``time_limit`` (seconds, 180 to 1200, default 300), ``strict_balancing`` (default
        true), ``seed`` (whole number). Raises ``JobError`` naming the bad field.
        """
        if self._stop.is_set():
            raise JobError("The job manager has been shut down; restart the server to start jobs.")
        if not isinstance(school_id, str) or not school_id.strip():
            raise JobError("school_id: choose a school to solve.")
        name = version_name.strip() if isinstance(version_name, str) else ""
        if not name:
            raise JobError("version_name: give the timetable version a name, e.g. 'Draft 1'.")
        if len(name) > 100:
            raise JobError("version_name: use at most 100 characters.")
        return self._enqueue(school_id, name, self.check_options(options or {}))

    def check_options(self, options: dict) -> dict:
        """The options with defaults filled in, or ``JobError`` naming the field and the fix."""
        if not isinstance(options, dict):
            raise JobError("options: expected a mapping such as {'time_limit': 300}.")
        unknown = sorted(set(options) - set(OPTION_NAMES))
        if unknown:
            raise JobError(
                f"options.{unknown[0]}: unknown option; known options are {', '.join(OPTION_NAMES)}."
            )
        limit = options.get("time_limit", DEFAULT_TIME_LIMIT)
        if isinstance(limit, bool) or not isinstance(limit, (int, float)):
            raise JobError(f"options.time_limit: expected a number of seconds, found {limit!r}.")
        if not self.min_time_limit <= limit <= MAX_TIME_LIMIT:
            raise JobError(
                f"options.time_limit: {limit:g} s is out of range; "
                f"choose from {self.min_time_limit:g} to {MAX_TIME_LIMIT} seconds."
            )
        strict = options.get("strict_balancing", True)
        if not isinstance(strict, bool):
            raise JobError(f"options.strict_balancing: expected true or false, found {strict!r}.")
        out = {"time_limit": limit, "strict_balancing": strict}
        if "seed" in options:
            seed = options["seed"]
            if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
                raise JobError(f"options.seed: expected a whole number of 0 or more, found {seed!r}.")
            out["seed"] = seed
        return out

    def cancel(self, job_id: str, keep: str = "draft") -> dict:
        """Stop a job. ``keep="draft"`` saves the best timetable so far as a draft version;
        ``keep="discard"`` drops it. A queued job is simply cancelled; a save_failed job can only be
        discarded. Returns the job document."""
        if keep not in ("draft", "discard"):
            raise JobError(f"keep: choose 'draft' or 'discard', not {keep!r}.")
        doc = self.get(job_id)
        status = doc["status"]
        if status == QUEUED:
            done = self._db(
                self.docs.update,
                job_id,
                None,
                {"status": CANCELLED, "finished": now(), "message": "Cancelled before it started."},
                statuses=(QUEUED,),
                log=[_line("Cancelled before it started.")],
            )
            if done is not None:
                return self.get(job_id)
            status = self.get(job_id)["status"]
        if status == RUNNING:
            with self._lock:
                run = self._runs.get(job_id)
            word = (
                "keeping the best timetable so far as a draft" if keep == "draft" else "discarding the result"
            )
            self._db(
                self.docs.update,
                job_id,
                None,
                {"cancel_requested": keep, "message": f"Cancelling, {word}."},
                statuses=(RUNNING,),
                log=[_line(f"Cancel requested ({keep}).")],
            )
            if run is not None:
                run.keep, run.asked = keep, True
                run.cancel.set()
            return self.get(job_id)
        if status == SAVE_FAILED:
            if keep != "discard":
                raise JobError(
                    f"Job {job_id} has finished solving and its timetable is waiting to be saved; "
                    "retry the save, or cancel with keep='discard' to drop it."
                )
            self._discard_save(job_id, "Cancelled: the unsaved timetable was discarded.")
            return self.get(job_id)
        if status == SAVING:
            raise JobError(f"Job {job_id} is saving its timetable and can no longer be cancelled.")
        raise JobError(f"Job {job_id} has already finished ({status}); there is nothing to cancel.")

    def retry(self, job_id: str) -> str:
        """Queue a new job with the same school, version name and options, linked to this one."""
        doc = self.get(job_id)
        if doc["status"] not in FINISHED:
            raise JobError(f"Job {job_id} is {doc['status']}; only a finished job can be retried.")
        return self._enqueue(doc["school_id"], doc["version_name"], doc["options"], retry_of=doc)

    def retry_save(self, job_id: str) -> dict:
        """Try again now to save the timetable of a save_failed job. Returns the job document."""
        doc = self.get(job_id)
        if doc["status"] != SAVE_FAILED:
            raise JobError(
                f"Job {job_id} is {doc['status']}; only a job whose save failed can retry its save."
            )
        with self._lock:
            pending = self._saves.get(job_id)
        if pending is not None:
            pending.due = 0.0
            self._save_wake.set()
        elif doc.get("worker") == self.worker_id or self._holder_dead(doc):
            self._adopt_save(doc)
        else:
            self._db(self.docs.update, job_id, None, {"save_requested": True}, statuses=(SAVE_FAILED,))
        return self.get(job_id)

    def delete(self, job_id: str, force: bool = False) -> None:
        """Delete a finished job from the history. A save_failed job's unsaved timetable is only
        dropped with ``force=True``."""
        doc = self.get(job_id)
        status = doc["status"]
        if status in (QUEUED, RUNNING, SAVING):
            raise JobError(f"Job {job_id} is {status}; cancel it first, then delete it.")
        if status == SAVE_FAILED:
            if not force:
                raise JobError(
                    f"Job {job_id} holds a timetable that is not saved yet; retry the save, "
                    "or delete with force=True to drop it."
                )
            self._discard_save(job_id, "Deleted with its unsaved timetable.")
        if not self._db(self.docs.delete, job_id, (*FINISHED, SAVE_FAILED)):
            raise JobError(f"Job {job_id} changed while deleting it; look at it again.")
        self._spool_remove(job_id)

    def get(self, job_id: str) -> dict:
        """The job document (without the kept result data). Raises ``JobError`` for an unknown id."""
        doc = self._db(self.docs.get, str(job_id))
        if doc is None:
            raise JobError(f"No job with id {job_id!r}; it may have been deleted.")
        return doc

    def list(self, school_id: str | None = None, active_only: bool = False, limit: int = 100) -> list[dict]:
        """Jobs, newest first. ``active_only`` keeps queued, running, saving and save_failed ones."""
        return self._db(self.docs.list, school_id, active_only, limit)

    def wait(self, job_id: str, timeout: float = 60.0, statuses: tuple[str, ...] = FINISHED) -> dict:
        """Poll until the job reaches one of ``statuses``; for notebooks, tests and benchmarks."""
        deadline = time.monotonic() + timeout
        while True:
            doc = self.get(job_id)
            if doc["status"] in statuses or time.monotonic() > deadline:
                return doc
            time.sleep(0.1)

    def shutdown(self, timeout: float = 10.0) -> None:
        """Stop the threads. Running solves are stopped; their jobs' leases end now, so the next
        process to start (or any live one) marks them interrupted at once. Unsaved results stay in
        the spool and in their job documents."""
        if self._stop.is_set():
            return
        self._stop.set()
        atexit.unregister(self.shutdown)
        with self._lock:
            runs = list(self._runs.values())
        for run in runs:
            run.cancel.set()
        self._wake.set()
        self._kick.set()
        self._save_wake.set()
        deadline = time.monotonic() + timeout
        for t in self._threads:
            t.join(max(0.0, deadline - time.monotonic()))
        try:
            self.docs.expire_leases(self.worker_id, time.time())
        except Exception as e:  # noqa: BLE001 - the database may be gone at exit; leases run out anyway
            logger.warning("could not end the leases of %s: %s", self.worker_id, e)

    # ================================================================== queueing

    def _enqueue(self, school_id: str, version_name: str, options: dict, retry_of: dict | None = None) -> str:
        job_id = new_job_id()
        t = now()
        lines = [_line(f"Queued: solve '{school_id}' into version '{version_name}' with {options}.")]
        if retry_of is not None:
            lines.append(_line(f"Retry of job {retry_of['id']} ({retry_of['status']})."))
        doc = {
            "_id": job_id,
            "school_id": school_id,
            "version_name": version_name,
            "options": options,
            "status": QUEUED,
            "phase": "queued",
            "progress": 0,
            "placed": 0,
            "total": None,
            "best_score": None,
            "elapsed": 0.0,
            "message": "Waiting for a free worker.",
            "created": t,
            "seq": time.time(),
            "started": None,
            "finished": None,
            "updated": t,
            "worker": self.worker_id,
            "heartbeat": t,
            "lease_until": time.time() + self.lease_seconds,
            "error": None,
            "log": lines,
            "fingerprint": None,
            "result": None,
            "retry_of": retry_of["id"] if retry_of else None,
            "previous_fingerprint": retry_of.get("fingerprint") if retry_of else None,
            "retried_by": None,
            "cancel_requested": None,
            "save_attempts": 0,
        }
        self._db(self.docs.insert, doc)
        if retry_of is not None:
            try:
                self.docs.update(
                    retry_of["id"], None, {"retried_by": job_id}, log=[_line(f"Retried as job {job_id}.")]
                )
            except Exception as e:  # noqa: BLE001 - the link is a convenience; the job is queued anyway
                logger.warning("could not link job %s to its retry %s: %s", retry_of["id"], job_id, e)
        self._has_queued = True
        self._wake.set()
        return job_id

    def _claim_next(self) -> tuple[dict, str] | None:
        with self._claim_lock:
            queued = self.docs.queued_for(self.worker_id)
            self._has_queued = bool(queued)
            for cand in queued:
                slot = self.docs.acquire_slot(
                    cand["school_id"], cand["_id"], self.max_active_per_school, time.time()
                )
                if slot is None:
                    continue
                t = now()
                fields = {
                    "started": t,
                    "updated": t,
                    "phase": "loading",
                    "message": "Loading the school data.",
                    "heartbeat": t,
                    "lease_until": time.time() + self.lease_seconds,
                }
                doc = self.docs.claim(cand["_id"], self.worker_id, fields)
                if doc is None:
                    self.docs.release_slot(cand["_id"], slot)
                    continue
                return doc, slot
        return None

    def _work(self) -> None:
        while not self._stop.is_set():
            claimed = None
            try:
                claimed = self._claim_next()
            except Exception as e:  # noqa: BLE001 - the worker thread must outlive a database outage
                logger.warning("could not look for queued jobs: %s", e)
            if claimed is None:
                # Without queued jobs only start() can bring work; with some, a slot may free up elsewhere.
                self._wake.wait(1.0 if self._has_queued else 30.0)
                self._wake.clear()
                continue
            doc, slot = claimed
            run = _Run(
                doc["id"],
                doc["school_id"],
                doc["version_name"],
                doc["options"],
                slot,
                doc.get("previous_fingerprint"),
            )
            with self._lock:
                self._runs[run.job_id] = run
            try:
                self._run(run)
            except Exception as e:  # a bug here must not kill the worker thread
                logger.exception("job %s", run.job_id)
                self._fail(run, f"The job stopped unexpectedly ({type(e).__name__}: {_reason(e)}).", e)
            finally:
                with self._lock:
                    self._runs.pop(run.job_id, None)
                try:
                    self.docs.release_slot(run.job_id, run.slot)
                except Exception as e:  # noqa: BLE001 - the stale-slot sweep frees it later
                    logger.warning("could not free the slot of job %s: %s", run.job_id, e)

    # ================================================================== solving

    def _run(self, run: _Run) -> None:
        try:
            school = self.store.load_school(run.school_id)
        except Exception as e:  # noqa: BLE001 - any reason becomes the job's readable error
            self._fail(run, f"Could not load school '{run.school_id}': {_reason(e)}", e)
            return
        inputs = fingerprint(school)
        total = school.total_periods()
        lines = [_line(f"Solving {total} periods (school data {inputs}).")]
        if run.previous_fingerprint and run.previous_fingerprint != inputs:
            lines.append(
                _line(f"The school data changed since the job retried ({run.previous_fingerprint}).")
            )
        self._write(
            run,
            {"fingerprint": inputs, "total": total, "phase": "solving", "message": "Solving."},
            progress=5,
            log=lines,
        )
        options = SolveOptions(
            time_limit=float(run.options["time_limit"]),
            strict_balancing=bool(run.options.get("strict_balancing", True)),
            seed=int(run.options.get("seed", 0)),
        )
        try:
            timetable = solve(
                school, options, progress=lambda p: self._on_progress(run, p), cancel=run.cancel
            )
        except InvalidSchool as e:
            lines = [f"{p}" for p in e.problems[:MAX_LOG_PROBLEMS]]
            more = len(e.problems) - len(lines)
            text = "; ".join(lines) + (f"; and {more} more" if more > 0 else "")
            self._fail(run, f"The school data has {len(e.problems)} problem(s) to fix before solving: {text}")
            return
        except Exception as e:  # noqa: BLE001 - an engine bug fails the job, with the traceback in its log
            self._fail(run, f"The solver stopped unexpectedly ({type(e).__name__}: {_reason(e)}).", e)
            return
        with run.lock:
            run.solving = False
        if run.lost or (self._stop.is_set() and not run.asked):
            logger.warning(
                "job %s stopped without saving: %s", run.job_id, "lease lost" if run.lost else "shutdown"
            )
            return
        cancelled = run.cancel.is_set()
        summary = _summary(school, timetable)
        if cancelled and run.keep == "discard":
            self._write(
                run,
                {
                    "status": CANCELLED,
                    "finished": now(),
                    "phase": timetable.phase,
                    "message": f"Cancelled; the timetable found ({summary['placed']} of {summary['total']} "
                    "periods) was discarded.",
                    "result": summary,
                },
                statuses=(RUNNING,),
                log=[_line("Cancelled; result discarded.")],
                final=True,
            )
            return
        # A draft never replaces the timetable of the version the job was asked to make.
        name = f"{run.version_name} (draft)" if cancelled else run.version_name
        pending = _Save(run.job_id, run.school_id, name, run.options, cancelled, school, timetable, inputs)
        self._spool_write(pending)
        what = "draft" if cancelled else "version"
        self._write(
            run,
            {
                "status": SAVING,
                "phase": "saving",
                "message": f"Saving {what} '{name}'.",
                "placed": timetable.placed,
                "best_score": timetable.score,
            },
            statuses=(RUNNING,),
            progress=97,
            log=[
                _line(
                    f"Solve ended ({timetable.status}): {timetable.placed}/{timetable.total} placed, "
                    f"score {timetable.score}, {timetable.solve_time:.1f} s. Saving {what}."
                )
            ],
        )
        self._save(pending)

    def _on_progress(self, run: _Run, p: Progress) -> None:
        limit = float(run.options["time_limit"]) or 1.0
        pct = 5 + 90 * min(1.0, p.elapsed / limit)
        if p.total and p.placed >= p.total and p.phase.startswith("optimise"):
            pct = max(pct, 50)
        if p.message:
            message = f"{p.message[:1].upper()}{p.message[1:]} ({p.placed} of {p.total} periods placed)."
        else:
            message = f"{p.phase.capitalize()}: {p.placed} of {p.total} periods placed."
        with run.lock:
            run.live = {
                "phase": p.phase,
                "placed": p.placed,
                "total": p.total,
                "best_score": p.objective,
                "bound": p.bound,
                "elapsed": p.elapsed,
                "message": message,
            }
            run.progress = max(run.progress, min(95, int(pct)))
            key = p.message or p.phase
            if key != run.last_message:
                run.last_message = key
                run.pending_log.append(_line(message))
            run.dirty = True
        self._kick.set()

    def _write(
        self,
        run: _Run,
        fields: dict,
        *,
        statuses: tuple[str, ...] | None = None,
        progress: int | None = None,
        log: list[str] | None = None,
        final: bool = False,
    ) -> None:
        """A status write by the holder. A database outage is logged, not raised, so the solve goes on;
        a ``final`` state is kept and written by the keeper once the database answers."""
        change = {
            "fields": {**fields, "updated": now()},
            "statuses": statuses,
            "progress": progress,
            "log": log,
        }
        try:
            if self.docs.update(run.job_id, self.worker_id, **change) is None:
                self._check_lost(run)
        except Exception as e:
            if not is_unavailable(e):
                raise
            logger.warning("job %s: could not record %s: %s", run.job_id, fields.get("status"), e)
            if final:
                with self._lock:
                    self._unwritten.append((run.job_id, change))

    def _fail(self, run: _Run, message: str, error: BaseException | None = None) -> None:
        lines = [_line(f"Failed: {message}")]
        if error is not None and not isinstance(error, InvalidSchool):
            lines += [_line(x) for x in "".join(traceback.format_exception(error)).splitlines()[-20:]]
        self._write(
            run,
            {"status": FAILED, "finished": now(), "error": message, "message": message, "phase": "failed"},
            statuses=(RUNNING, SAVING),
            log=lines,
            final=True,
        )

    def _check_lost(self, run: _Run) -> None:
        doc = self.docs.get(run.job_id)
        if doc is None or doc.get("worker") != self.worker_id:
            run.lost = True
            run.cancel.set()
            logger.warning("job %s is no longer held by %s; stopping it", run.job_id, self.worker_id)

    # ================================================================== saving

    def _save(self, pending: _Save) -> bool:
        """One save attempt. On failure the job becomes save_failed and a retry is scheduled."""
        try:
            version_id = self.store.save_version(
                pending.school_id,
                pending.version_name,
                pending.timetable,
                options=pending.options,
                job_id=pending.job_id,
                draft=pending.draft,
            )
        except Exception as e:  # noqa: BLE001 - whatever the cause, the result is kept and retried
            self._save_failed(pending, e)
            return False
        summary = _summary(pending.school, pending.timetable)
        summary.update(version_id=version_id, draft=pending.draft)
        what = "draft" if pending.draft else "version"
        message = (
            f"Saved {what} '{pending.version_name}': "
            f"{summary['placed']} of {summary['total']} periods placed, "
            f"score {summary['score']}."
        )
        fields = {
            "status": CANCELLED if pending.draft else COMPLETED,
            "phase": "cancelled" if pending.draft else "done",
            "finished": now(),
            "updated": now(),
            "message": message,
            "error": None,
            "result": summary,
            "placed": pending.timetable.placed,
            "total": pending.timetable.total,
            "best_score": pending.timetable.score,
            "save_attempts": pending.attempts + 1,
        }
        try:
            done = self.docs.update(
                pending.job_id,
                self.worker_id,
                fields,
                statuses=(RUNNING, SAVING, SAVE_FAILED),
                progress=None if pending.draft else 100,
                log=[*pending.unrecorded, _line(message)],
                unset=("result_data", "result_kept", "next_save_at", "save_requested"),
            )
        except Exception as e:  # noqa: BLE001 - saved but not recorded: save again later (repeatable)
            self._schedule(pending, _reason(e), unavailable=True)
            pending.unrecorded.append(
                _line(f"Saved, but the job could not be recorded ({_reason(e)}); saving again.")
            )
            return False
        if done is None:
            logger.warning("job %s was taken over while saving; its new holder records it", pending.job_id)
        with self._lock:
            self._saves.pop(pending.job_id, None)
        self._spool_remove(pending.job_id)
        return True

    def _save_failed(self, pending: _Save, error: BaseException) -> None:
        reason = _reason(error)
        delay = self._schedule(pending, reason, is_unavailable(error))
        what = "draft" if pending.draft else "version"
        when = f"retrying in {delay:g} s" if delay is not None else "retry the save once the cause is fixed"
        pending.message = (
            f"Saving {what} '{pending.version_name}' failed (attempt {pending.attempts}): {reason}. "
            f"The timetable is kept; {when}."
        )
        pending.next_save_at = now() + timedelta(seconds=delay) if delay is not None else None
        pending.unrecorded.append(_line(pending.message))
        pending.recorded = False
        self._record(pending)

    def _record(self, pending: _Save) -> None:
        """Write a failed save's state, with the full result, into the job document. While the database
        is down this fails; the keeper calls it again on every heartbeat until it works."""
        fields: dict[str, Any] = {
            "status": SAVE_FAILED,
            "error": pending.message,
            "message": pending.message,
            "save_attempts": pending.attempts,
            "updated": now(),
            "next_save_at": pending.next_save_at,
        }
        if not pending.kept_in_document:
            fields.update(result_data=pending.data(), result_kept=True)
        lines = list(pending.unrecorded)
        try:
            done = self.docs.update(
                pending.job_id,
                self.worker_id,
                fields,
                statuses=(RUNNING, SAVING, SAVE_FAILED),
                progress=97,
                log=lines,
                unset=("save_requested",),
            )
        except Exception as e:  # noqa: BLE001 - the spool file still holds the result
            logger.warning("job %s: could not record the failed save: %s", pending.job_id, e)
            return
        if done is not None:
            pending.kept_in_document = True
            pending.recorded = True
            del pending.unrecorded[: len(lines)]

    def _schedule(self, pending: _Save, reason: str, unavailable: bool) -> float | None:
        pending.attempts += 1
        if not unavailable and pending.attempts >= SAVE_ATTEMPTS_OTHER_ERRORS:
            pending.due = float("inf")
            delay = None
        else:
            delay = self.save_backoff[min(pending.attempts - 1, len(self.save_backoff) - 1)]
            pending.due = time.monotonic() + delay
        with self._lock:
            self._saves[pending.job_id] = pending
        self._save_wake.set()
        return delay

    def _saver(self) -> None:
        while not self._stop.is_set():
            with self._lock:
                pending = list(self._saves.values())
            due = [p for p in pending if p.due <= time.monotonic()]
            for p in due:
                if self._stop.is_set():
                    return
                if self._still_wanted(p):
                    self._save(p)
            waits = [p.due - time.monotonic() for p in pending if p.due != float("inf")]
            self._save_wake.wait(min([5.0, *waits]) if waits else 5.0)
            self._save_wake.clear()

    def _still_wanted(self, pending: _Save) -> bool:
        """False when the job was deleted, cancelled or taken over since the last attempt: its pending
        save is dropped. When the database cannot say, the attempt goes ahead (and fails or saves)."""
        try:
            doc = self.docs.get(pending.job_id)
        except Exception as e:  # noqa: BLE001 - unknown: try the save, which reports its own failure
            logger.debug("job %s: could not read it before saving again: %s", pending.job_id, e)
            return True
        if (
            doc is not None
            and doc["status"] in (RUNNING, SAVING, SAVE_FAILED)
            and doc["worker"] == self.worker_id
        ):
            return True
        with self._lock:
            self._saves.pop(pending.job_id, None)
        if doc is None or doc["status"] in FINISHED:
            self._spool_remove(pending.job_id)
        return False

    def _discard_save(self, job_id: str, message: str) -> None:
        with self._lock:
            self._saves.pop(job_id, None)
        self._db(
            self.docs.update,
            job_id,
            None,
            {"status": CANCELLED, "finished": now(), "message": message, "error": None},
            statuses=(SAVE_FAILED,),
            log=[_line(message)],
            unset=("result_data", "result_kept", "next_save_at", "save_requested"),
        )
        self._spool_remove(job_id)

    def _adopt_save(self, doc: dict) -> bool:
        """Take over saving the kept result of a job whose holder died (from the spool or the document)."""
        data = self._spool_read(doc["id"])
        if data is None and doc.get("result_kept"):
            full = self.docs.get(doc["id"], with_result=True)
            data = (full or {}).get("result_data")
        if data is None:
            return False
        try:
            pending = _Save.from_data(data)
        except Exception as e:  # noqa: BLE001 - a damaged kept result is reported, not fatal
            logger.warning("job %s: the kept result cannot be read back: %s", doc["id"], e)
            return False
        pending.kept_in_document = bool(doc.get("result_kept"))
        taken = self.docs.take_over(
            doc,
            self.worker_id,
            {
                "worker": self.worker_id,
                "status": SAVE_FAILED,
                "heartbeat": now(),
                "lease_until": time.time() + self.lease_seconds,
                "message": "Saving the kept timetable again.",
                "save_requested": None,
            },
            [
                _line(
                    f"Process {self.worker_id} takes over saving the kept timetable "
                    f"(was {doc.get('worker')})."
                )
            ],
        )
        if not taken:
            return False
        self._spool_write(pending)
        with self._lock:
            self._saves[pending.job_id] = pending
        self._save_wake.set()
        return True

    # ================================================================== spool

    def _spool_path(self, job_id: str) -> Path:
        return self.spool_dir / f"{job_id}.json"

    def _spool_write(self, pending: _Save) -> None:
        path = self._spool_path(pending.job_id)
        try:
            self.spool_dir.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(".tmp")
            with open(tmp, "w", encoding="utf-8") as f:
                json.dump({**pending.data(), "worker": self.worker_id}, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:  # the job document keeps the result when the first save fails
            logger.warning("job %s: could not write the spool file %s: %s", pending.job_id, path, e)

    def _spool_read(self, job_id: str) -> dict | None:
        try:
            return json.loads(self._spool_path(job_id).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None

    def _spool_remove(self, job_id: str) -> None:
        self._spool_path(job_id).unlink(missing_ok=True)

    # ================================================================== live fields, leases, recovery

    def _keep(self) -> None:
        last_beat = 0.0
        last_sweep = time.monotonic()
        sweep_every = max(1.0, self.lease_seconds / 2)
        while not self._stop.is_set():
            # Progress events kick this awake; a short tick only matters while something is solving.
            self._kick.wait(0.1 if self._runs else 0.5)
            self._kick.clear()
            if self._stop.is_set():
                return
            with self._lock:
                runs = list(self._runs.values())
            for run in runs:
                if run.dirty and time.monotonic() - run.last_flush >= LIVE_INTERVAL:
                    self._guard(self._flush, run)
            if time.monotonic() - last_beat >= self.heartbeat_seconds:
                last_beat = time.monotonic()
                self._guard(self._beat)
            if time.monotonic() - last_sweep >= sweep_every:
                last_sweep = time.monotonic()
                self._recover_safely()

    def _guard(self, fn, *args) -> None:
        try:
            fn(*args)
        except Exception as e:  # noqa: BLE001 - the keeper thread must outlive any single failure
            logger.warning("%s failed: %s", fn.__name__, e)

    def _flush(self, run: _Run) -> None:
        with run.lock:
            if not run.solving:
                return
            fields = {**run.live, "updated": now()}
            progress = run.progress
            lines, run.pending_log = run.pending_log, []
            run.dirty = False
            run.last_flush = time.monotonic()
        result = self.docs.update(
            run.job_id, self.worker_id, fields, statuses=(RUNNING,), progress=progress, log=lines
        )
        if result is None:
            if run.solving:
                self._check_lost(run)
        elif result.get("cancel_requested") in ("draft", "discard") and not run.cancel.is_set():
            run.keep, run.asked = result["cancel_requested"], True
            run.cancel.set()

    def _beat(self) -> None:
        t = now()
        with self._lock:
            working_on = [*self._runs, *self._saves, *(job_id for job_id, _ in self._unwritten)]
            unwritten = list(self._unwritten)
            unrecorded = [p for p in self._saves.values() if not p.recorded]
        self.docs.heartbeat(self.worker_id, t, time.time() + self.lease_seconds, working_on)
        for item in unwritten:
            job_id, change = item
            self.docs.update(job_id, self.worker_id, **change)
            with self._lock:
                self._unwritten.remove(item)
        for pending in unrecorded:
            self._record(pending)
        for req in self.docs.requests(self.worker_id):
            if req["status"] == RUNNING:
                with self._lock:
                    run = self._runs.get(req["_id"])
                if run is not None and not run.cancel.is_set():
                    run.keep, run.asked = req["cancel_requested"], True
                    run.cancel.set()
            else:
                with self._lock:
                    pending = self._saves.get(req["_id"])
                self.docs.update(req["_id"], self.worker_id, unset=("save_requested",))
                if pending is not None:
                    pending.due = 0.0
                    self._save_wake.set()

    def _holder_dead(self, doc: dict) -> bool:
        """A holder is dead when its lease ran out, or at once when it was a process on this host that
        no longer exists."""
        lease = doc.get("lease_until")
        if not isinstance(lease, (int, float)) or lease < time.time():
            return True
        parts = str(doc.get("worker") or "").rsplit(":", 2)
        if len(parts) == 3 and parts[0] == self._host and parts[1].isdigit():
            return not psutil.pid_exists(int(parts[1]))
        return False

    def _recover_safely(self) -> None:
        try:
            self._recover()
        except Exception as e:  # noqa: BLE001 - retried by the keeper thread
            logger.warning("could not check for jobs left by stopped processes: %s", e)

    def _recover(self) -> None:
        """Take over the kept results of dead holders and mark their other jobs interrupted."""
        t = now()
        for doc in self.docs.held_by_others(self.worker_id):
            if not self._holder_dead(doc):
                continue
            kept = self._spool_path(doc["id"]).exists() or doc.get("result_kept")
            if kept and self._adopt_save(doc):
                continue
            if doc["status"] == SAVE_FAILED:
                continue
            was = {
                QUEUED: "before it started",
                RUNNING: "while it was solving",
                SAVING: "while it was saving",
            }
            beat = doc.get("heartbeat")
            seen = f", last seen {beat:%Y-%m-%d %H:%M:%S} UTC" if isinstance(beat, datetime) else ""
            reason = (
                f"Interrupted: the server process running it ({doc.get('worker')}) stopped "
                f"{was[doc['status']]}{seen}. Retry the job to solve again."
            )
            fields = {"status": INTERRUPTED, "finished": t, "updated": t, "error": reason, "message": reason}
            if self.docs.take_over(doc, self.worker_id, fields, [_line(reason)]):
                self.docs.release_slot(doc["id"])
                if self.requeue_interrupted:
                    full = self.docs.get(doc["id"])
                    if full is not None:
                        self._enqueue(full["school_id"], full["version_name"], full["options"], retry_of=full)
        self.docs.release_stale_slots(time.time() - 30)

    def _db(self, fn, *args, **kwargs):
        """Call the store, turning a database outage into a ``JobError`` a person can read."""
        try:
            return fn(*args, **kwargs)
        except Exception as e:
            if is_unavailable(e):
                raise JobError(
                    f"The database is not reachable right now ({_reason(e)}). Running jobs go on and "
                    "record their state when it is back; try again in a moment."
                ) from e
            raise


def _summary(school: School, timetable: Timetable) -> dict:
    """The result summary of a job; also records the checker's hard-rule count in the timetable's meta,
    from where the store copies it into the version's statistics."""
    if "conflicts" not in timetable.meta:
        # Unplaced blocks are counted apart; conflicts are the other broken hard rules.
        hard = check(school, timetable).hard
        timetable.meta["conflicts"] = sum(1 for v in hard if v.rule != "unplaced")
    return {
        "placed": timetable.placed,
        "total": timetable.total,
        "unplaced": timetable.total - timetable.placed,
        "unplaced_blocks": len(timetable.unplaced),
        "conflicts": timetable.meta["conflicts"],
        "score": timetable.score,
        "solve_time": round(timetable.solve_time, 2),
        "solver_status": timetable.status,
        "version_id": None,
        "draft": False,
    }
