"""Reading versions through the store, with a small cache so switching grids never goes back to MongoDB.

The store is the only code that speaks MongoDB; this module only calls its public functions
(``list_versions``, ``get_version``, ``load_version``, ``load_school``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Any

import pandas as pd

from .model import Schedule

VERSION_COLUMNS = [
    "name",
    "created",
    "placed",
    "total",
    "unplaced",
    "conflicts",
    "score",
    "solve time (s)",
    "options",
    "draft",
    "id",
]


def _stat(version: dict, key: str) -> Any:
    stats = version.get("stats") or {}
    return stats.get(key, version.get(key))


def describe_options(options: Any) -> str:
    """Solve options as short text, e.g. ``time limit 300 s, strict balancing``."""
    if not options:
        return ""
    if not isinstance(options, dict):
        return str(options)
    parts = []
    for key, value in sorted(options.items()):
        if key == "time_limit":
            parts.append(
                f"time limit {value:g} s" if isinstance(value, (int, float)) else f"time limit {value}"
            )
        elif isinstance(value, bool):
            if value:
                parts.append(key.replace("_", " "))
        elif value not in (None, ""):
            parts.append(f"{key.replace('_', ' ')} {value}")
    return ", ".join(parts)


def versions_frame(versions: list[dict]) -> pd.DataFrame:
    """The version list with its statistics, newest first, as the Timetables page shows it."""
    rows = []
    for v in versions:
        solve_time = _stat(v, "solve_time")
        created = v.get("created")
        rows.append(
            {
                "name": v.get("name", ""),
                "created": pd.Timestamp(created).strftime("%Y-%m-%d %H:%M") if created else "",
                "placed": _stat(v, "placed"),
                "total": _stat(v, "total"),
                "unplaced": _stat(v, "unplaced"),
                "conflicts": _stat(v, "conflicts"),
                "score": _stat(v, "score"),
                "solve time (s)": round(float(solve_time), 1) if solve_time is not None else None,
                "options": describe_options(v.get("options")),
                "draft": bool(v.get("draft", False)),
                "id": str(v.get("id", "")),
                "_sort": pd.Timestamp(created) if created else pd.Timestamp.min,
            }
        )
    frame = pd.DataFrame(rows, columns=[*VERSION_COLUMNS, "_sort"])
    frame = frame.sort_values("_sort", ascending=False, kind="stable").drop(columns="_sort")
    return frame.reset_index(drop=True)


class ScheduleCache:
    """Schedules by version id, loaded through the store and kept for the last few versions viewed.

    ``revision`` lets the caller drop stale entries when the school's data changed (lesson names,
    subjects and colours come from the school, not from the version).
    """

    def __init__(self, store: Any, size: int = 4):
        self.store = store
        self.size = size
        self._schedules: OrderedDict[tuple[str, int], Schedule] = OrderedDict()
        self._schools: dict[tuple[str, int], Any] = {}

    def get(self, version_id: str, school_id: str, revision: int = 0) -> Schedule:
        """The schedule of one version of a school; raises the store's error when it does not exist."""
        key = (version_id, revision)
        if key in self._schedules:
            self._schedules.move_to_end(key)
            return self._schedules[key]
        version = dict(self.store.get_version(version_id))
        school_key = (school_id, revision)
        if school_key not in self._schools:
            self._schools = {school_key: self.store.load_school(school_id)}
        school = self._schools[school_key]
        schedule = Schedule(school, self.store.load_version(version_id, school), version)
        self._schedules[key] = schedule
        while len(self._schedules) > self.size:
            self._schedules.popitem(last=False)
        return schedule
