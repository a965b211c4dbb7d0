"""One store and one job manager per server process, shared by every browser session.

They are created on first use (so importing the dashboard starts nothing) and shut down when the
process exits: the job manager first, so running jobs can record their state, then the store, which
stops the embedded database server if it started one.

``TIMETABLER_DATA_DIR`` chooses the embedded server's data directory; ``MONGODB_URI`` and
``MONGODB_DB`` select a MongoDB server of your own instead (read by the store).
"""

from __future__ import annotations

import atexit
import os
import threading
from typing import Any

_lock = threading.Lock()
_services: dict[str, Any] = {}


def get_store() -> Any:
    """The process's store, opened on first use."""
    with _lock:
        if "store" not in _services:
            from store import open_store

            _services["store"] = open_store(data_dir=os.environ.get("TIMETABLER_DATA_DIR") or None)
            atexit.register(shutdown)
        return _services["store"]


def get_jobs() -> Any:
    """The process's job manager, started on first use."""
    store = get_store()
    with _lock:
        if "jobs" not in _services:
            from jobs import MIN_TIME_LIMIT, JobManager

            from .pages.generate import TEST_LIMIT_ENV, time_limits

            # The browser tests offer a time limit of a few seconds; the job manager must accept it.
            floor = (
                min([MIN_TIME_LIMIT, *time_limits().values()])
                if os.environ.get(TEST_LIMIT_ENV)
                else MIN_TIME_LIMIT
            )
            _services["jobs"] = JobManager(store, min_time_limit=floor)
        return _services["jobs"]


def shutdown() -> None:
    """Stop the job manager, then close the store. Safe to call more than once."""
    with _lock:
        jobs, store = _services.pop("jobs", None), _services.pop("store", None)
    if jobs is not None:
        jobs.shutdown()
    if store is not None:
        store.close()
