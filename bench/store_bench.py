"""Store benchmark on the embedded nx-27017 server (or MONGODB_URI): prints a table of medians.

.venv/bin/python bench/store_bench.py [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.demo import demo_with_timetable
from store import open_store
from store.server import EmbeddedServer


def timed(fn, runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return times


def cold_start(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory() as tmp:
            server = EmbeddedServer(Path(tmp) / "data")
            start = time.perf_counter()
            server.ensure_running()
            times.append(time.perf_counter() - start)
            server.stop()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()

    school, _ = demo_with_timetable(2000, 1)
    big, big_timetable = demo_with_timetable(2600, 1)
    big_timetable.placements = big_timetable.placements[:2000]
    assert len(big_timetable.placements) == 2000

    rows = [("cold start of the embedded server", 3.0, cold_start(args.runs))]
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(data_dir=Path(tmp) / "data", db_name="bench")
        school_id = store.import_school(school)
        rows.append(
            ("load a 2,000-period school", 0.5, timed(lambda: store.load_school(school_id), args.runs))
        )

        big_id = store.import_school(big)
        version_id = store.save_version(big_id, "bench", big_timetable)
        rows.append(
            (
                "save a 2,000-placement version",
                1.0,
                timed(lambda: store.save_version(big_id, "bench", big_timetable), args.runs),
            )
        )
        model = store.load_school(big_id)
        rows.append(
            (
                "  the same, passing the solved school",
                None,
                timed(lambda: store.save_version(big_id, "bench", big_timetable, school=model), args.runs),
            )
        )
        rows.append(
            (
                "load one version's placements",
                0.3,
                timed(lambda: store.load_version(version_id, model), args.runs),
            )
        )
        rows.append(
            (
                "  the same, loading the school too",
                None,
                timed(lambda: store.load_version(version_id), args.runs),
            )
        )
        rows.append(
            ("version_frame (2,000 rows)", None, timed(lambda: store.version_frame(version_id), args.runs))
        )
        rows.append(("import a 2,000-period school", None, timed(lambda: store.import_school(school), 3)))
        counter = iter(range(10**6))
        rows.append(
            (
                "create one teacher",
                None,
                timed(lambda: store.create(school_id, "teachers", {"id": f"B{next(counter)}"}), args.runs),
            )
        )
        rows.append(
            (
                "update one lesson",
                None,
                timed(lambda: store.update(school_id, "lessons", "L1", {"min_days_apart": 1}), args.runs),
            )
        )
        backend = store.address
        store.close()

    print(f"store benchmark: {backend.split(', data')[0]}, median of {args.runs} runs\n")
    print(f"| {'what':<38} | {'target':>7} | {'median':>8} | {'min':>7} | {'max':>7} |")
    print(f"|{'-' * 40}|{'-' * 9}|{'-' * 10}|{'-' * 9}|{'-' * 9}|")
    for what, target, times in rows:
        median = statistics.median(times)
        goal = f"≤ {target:.1f} s" if target else ""
        flag = "" if target is None or median <= target else "  over target"
        print(
            f"| {what:<38} | {goal:>7} | {median:>6.3f} s | {min(times):>5.3f} s | {max(times):>5.3f} s |{flag}"
        )


if __name__ == "__main__":
    main()
