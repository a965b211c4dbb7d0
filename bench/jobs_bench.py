"""Background jobs: start latency, progress delay to the job document, and the CPU cost of readers.

    .venv/bin/python bench/jobs_bench.py [--periods 914] [--window 20]

Runs against a fresh embedded nx-27017 database in a temporary directory (or MONGODB_URI). While one
real solve runs (a demo school, one worker, as on a 2-core machine) it measures:

1. ``start`` latency: 30 jobs started one after the other; they queue behind the running one.
2. The delay from each solver progress event to the moment a reader sees it in the job document
   (a poller reads the document every 20 ms; events are matched by the solver's elapsed time).
3. Extra CPU when 10 dashboard-like readers each read the job once a second: the readers' own thread
   CPU plus the database server's extra CPU, against a window without readers. Once with ``get`` (one
   job's card), once with ``list`` (what the floating progress card reads).
"""

from __future__ import annotations

import argparse
import contextlib
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import jobs.manager
from jobs import JobError, JobManager
from solver.demo import generate_demo
from store import open_store


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(q * (len(values) - 1)))]


def database_process() -> psutil.Process | None:
    for child in psutil.Process().children(recursive=True):
        try:
            if "nx_27017" in " ".join(child.cmdline()).replace("-", "_"):
                return child
        except psutil.Error:
            continue
    return None


def cpu_seconds(proc: psutil.Process | None) -> float:
    if proc is None:
        return 0.0
    t = proc.cpu_times()
    return t.user + t.system


class Events:
    """Wraps the engine's progress callback to note when each event happened."""

    def __init__(self) -> None:
        self.seen: list[tuple[float, float]] = []
        self.real = jobs.manager.solve

    def solve(self, school, options, progress=None, cancel=None):
        def noted(p):
            self.seen.append((time.monotonic(), p.elapsed))
            if progress is not None:
                progress(p)

        return self.real(school, options, progress=noted, cancel=cancel)


def running_job(jm: JobManager, school_id: str, current: str | None) -> str:
    """The job being solved; a new one when the previous has finished (a solve stops once it stalls)."""
    if current is not None and jm.get(current)["status"] == "running":
        return current
    job_id = jm.start(school_id, "Bench", {"time_limit": 1200})
    jm.wait(job_id, timeout=300, statuses=("running",))
    while jm.get(job_id)["phase"] in ("loading", "solving"):
        time.sleep(0.2)
    return job_id


def progress_delays(jm: JobManager, job_id: str, events: Events, seconds: float) -> tuple[list[float], float]:
    """Poll the document for ``seconds``; return the delay of every event and the writes per second."""
    polls: list[tuple[float, float]] = []
    updates = set()
    first_event = len(events.seen)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        doc = jm.docs.get(job_id)
        if doc["status"] != "running":
            break
        polls.append((time.monotonic(), float(doc.get("elapsed") or 0.0)))
        updates.add(str(doc.get("updated")))
        time.sleep(0.02)
    delays = []
    for at, elapsed in events.seen[first_event:]:
        seen = next((t for t, e in polls if t >= at and e >= elapsed), None)
        if seen is not None:
            delays.append(seen - at)
    span = polls[-1][0] - polls[0][0] if len(polls) > 1 else 1.0
    return delays, len(updates) / span


def reader_cpu(
    jm: JobManager, job_id: str, readers: int, seconds: float, read: str
) -> tuple[float, float, int]:
    """Extra CPU (readers' threads, database server) over ``seconds``, in % of one core, and the reads."""
    server = database_process()
    stop = threading.Event()
    thread_cpu = [0.0] * readers
    reads = [0] * readers

    def reader(i: int) -> None:
        start = time.thread_time()
        next_at = time.monotonic() + i / readers
        while not stop.is_set():
            delay = next_at - time.monotonic()
            if delay > 0 and stop.wait(delay):
                break
            jm.get(job_id) if read == "get" else jm.list()
            reads[i] += 1
            next_at += 1.0
        thread_cpu[i] = time.thread_time() - start

    base_server = cpu_seconds(server)
    time.sleep(seconds)
    idle_server = cpu_seconds(server) - base_server

    threads = [threading.Thread(target=reader, args=(i,), daemon=True) for i in range(readers)]
    base_server = cpu_seconds(server)
    for t in threads:
        t.start()
    time.sleep(seconds)
    stop.set()
    for t in threads:
        t.join()
    busy_server = cpu_seconds(server) - base_server
    extra_server = max(0.0, busy_server - idle_server)
    return 100 * sum(thread_cpu) / seconds, 100 * extra_server / seconds, sum(reads)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--periods", type=int, default=914, help="size of the demo school being solved")
    parser.add_argument("--window", type=float, default=20.0, help="seconds per measuring window")
    parser.add_argument("--starts", type=int, default=30)
    args = parser.parse_args()

    events = Events()
    jobs.manager.solve = events.solve
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(data_dir=Path(tmp) / "db", db_name="jobs_bench")
        jm = JobManager(store, workers=1, spool_dir=Path(tmp) / "spool")
        try:
            school_id = store.import_school(generate_demo(periods=args.periods, seed=1), "Bench")
            active = running_job(jm, school_id, None)

            latencies = []
            started = []
            for i in range(args.starts):
                t = time.perf_counter()
                started.append(jm.start(school_id, f"Queued {i}", {"time_limit": 300}))
                latencies.append((time.perf_counter() - t) * 1000)
                time.sleep(0.05)
            positions = [jm.get(j)["queue_position"] for j in started[:3]]
            for job_id in reversed(started):
                jm.cancel(job_id, keep="discard")

            active = running_job(jm, school_id, active)
            delays, writes = progress_delays(jm, active, events, args.window)
            active = running_job(jm, school_id, active)
            get_threads, get_server, get_reads = reader_cpu(jm, active, 10, args.window, "get")
            active = running_job(jm, school_id, active)
            list_threads, list_server, list_reads = reader_cpu(jm, active, 10, args.window, "list")
            status = jm.get(active)["status"]
            server_note = "" if database_process() else " (server CPU not measured: external MongoDB)"
            for job in jm.list(active_only=True):
                with contextlib.suppress(JobError):  # it may have finished meanwhile
                    jm.cancel(job["id"], keep="discard")
                jm.wait(job["id"], timeout=60)
        finally:
            jm.shutdown()
            store.close()

    delays_ms = [d * 1000 for d in delays]
    rows = [
        ("start latency p50", f"{statistics.median(latencies):.1f} ms", "", ""),
        ("start latency p95", f"{pct(latencies, 0.95):.1f} ms", "<= 100 ms", ok(pct(latencies, 0.95) <= 100)),
        ("progress event -> document, median", f"{statistics.median(delays_ms):.0f} ms", "", ""),
        (
            "progress event -> document, p95",
            f"{pct(delays_ms, 0.95):.0f} ms",
            "<= 1000 ms",
            ok(pct(delays_ms, 0.95) <= 1000),
        ),
        ("progress event -> document, max", f"{max(delays_ms):.0f} ms", "", ""),
        ("live writes per job", f"{writes:.2f} /s", "about 1 /s", ok(writes <= 1.2)),
        (
            "10 readers x get() 1/s: extra CPU",
            f"{get_threads + get_server:.2f} % of a core",
            "<= 5 %",
            ok(get_threads + get_server <= 5),
        ),
        ("  of which reader threads / database", f"{get_threads:.2f} % / {get_server:.2f} %", "", ""),
        (
            "10 readers x list() 1/s: extra CPU",
            f"{list_threads + list_server:.2f} % of a core",
            "<= 5 %",
            ok(list_threads + list_server <= 5),
        ),
        ("  of which reader threads / database", f"{list_threads:.2f} % / {list_server:.2f} %", "", ""),
    ]
    print(
        f"\nJobs benchmark: {args.periods}-period demo school solving in the background "
        f"(1 worker){server_note}"
    )
    print(
        f"{len(latencies)} starts, {len(delays)} progress events, {get_reads} + {list_reads} reads; "
        f"first queue positions {positions}; measured job {status} at the end\n"
    )
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    head = ("what", "measured", "target", "")
    print(" | ".join(h.ljust(w) for h, w in zip(head, widths, strict=True)))
    print("-|-".join("-" * w for w in widths))
    for r in rows:
        print(" | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))


def ok(passed: bool) -> str:
    return "ok" if passed else "MISSED"


if __name__ == "__main__":
    main()
