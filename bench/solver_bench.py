"""Benchmark of the CP-SAT solver on demo schools: prints a table.

    .venv/bin/python bench/solver_bench.py                      # 914 and 2,000 periods, once each
    .venv/bin/python bench/solver_bench.py --sizes 914 --repeat 3 --time-limits 30

Each run happens in a fresh process so that peak memory (RSS) belongs to that school alone. Columns:
model build (the phase-1 model, then the full model with soft rules), time to the first complete
timetable, time to the final result, periods placed, hard violations found by the independent checker,
the soft score, the phase and status, and peak RSS. With ``--repeat`` the medians are shown.
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from solver.checker import check
from solver.demo import generate_demo
from solver.model import BuildOptions, TimetableModel
from solver.solve import SolveOptions, solve


def one_run(periods: int, seed: int, time_limit: float, stall: float) -> dict:
    """Solve one demo school in this process and measure it."""
    school = generate_demo(periods, seed)
    t = time.perf_counter()
    tt = solve(school, SolveOptions(time_limit=time_limit, stall_seconds=stall, seed=seed))
    wall = time.perf_counter() - t
    # Peak memory of the solve alone, as a job or the command line runs it (the builds below come after).
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    report = check(school, tt)
    t = time.perf_counter()
    hard = TimetableModel(school, BuildOptions(balancing="strict", soft=False))
    build_hard = time.perf_counter() - t
    del hard
    t = time.perf_counter()
    full = TimetableModel(school, BuildOptions(balancing="strict"))
    build_full = time.perf_counter() - t
    size = full.size()
    return {
        "periods": periods,
        "seed": seed,
        "lessons": len(school.lessons),
        "build_hard": build_hard,
        "build_full": build_full,
        "variables": size[0],
        "first_complete": tt.first_complete_time,
        "final": wall,
        "placed": tt.placed,
        "total": tt.total,
        "hard_violations": len(report.hard),
        "score": tt.score,
        "checker_score": report.score,
        "phase": tt.phase,
        "status": tt.status,
        "peak_rss_mb": peak_rss_mb,
    }


def _median(rows: list[dict], key: str):
    values = [r[key] for r in rows if r[key] is not None]
    return statistics.median(values) if values else None


def _fmt(value, digits: int = 1) -> str:
    if value is None:
        return "-"
    return f"{value:.{digits}f}" if isinstance(value, float) else str(value)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", default="914,2000", help="demo school sizes in periods, comma-separated")
    parser.add_argument("--time-limits", default="30,120", help="time limit per size in seconds")
    parser.add_argument("--stall", type=float, default=20.0, help="stall window in seconds")
    parser.add_argument(
        "--repeat", type=int, default=1, help="runs per size (different seeds); medians shown"
    )
    parser.add_argument("--one", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        periods, seed, limit = args.one.split(":")
        print(json.dumps(one_run(int(periods), int(seed), float(limit), args.stall)))
        return
    sizes = [int(x) for x in args.sizes.split(",")]
    limits = [float(x) for x in args.time_limits.split(",")]
    limits += [limits[-1]] * (len(sizes) - len(limits))
    header = (
        f"{'periods':>7} {'lessons':>7} {'build p1 s':>10} {'build full s':>12} {'vars':>7} "
        f"{'first complete s':>16} {'final s':>8} {'placed':>11} {'hard viol.':>10} {'soft score':>10} "
        f"{'phase / status':>28} {'peak RSS MB':>11}"
    )
    print(header)
    print("-" * len(header))
    for periods, limit in zip(sizes, limits):
        rows = []
        for seed in range(1, args.repeat + 1):
            out = subprocess.run(
                [sys.executable, __file__, "--one", f"{periods}:{seed}:{limit}", "--stall", str(args.stall)],
                capture_output=True,
                text=True,
                check=True,
            )
            rows.append(json.loads(out.stdout.strip().splitlines()[-1]))
        last = rows[-1]
        placed = f"{_median(rows, 'placed'):.0f}/{last['total']}"
        state = f"{last['phase']} / {last['status']}"
        print(
            f"{periods:>7} {last['lessons']:>7} {_fmt(_median(rows, 'build_hard'), 2):>10} "
            f"{_fmt(_median(rows, 'build_full'), 2):>12} {last['variables']:>7} "
            f"{_fmt(_median(rows, 'first_complete')):>16} {_fmt(_median(rows, 'final')):>8} {placed:>11} "
            f"{_fmt(_median(rows, 'hard_violations')):>10} {_fmt(_median(rows, 'score')):>10} {state:>28} "
            f"{_fmt(_median(rows, 'peak_rss_mb'), 0):>11}",
            flush=True,
        )
    print(
        f"\ntime limits {', '.join(f'{x:g} s' for x in limits)}, stall window {args.stall:g} s, "
        f"{args.repeat} run(s) per size (seeds 1..{args.repeat}); medians"
    )


if __name__ == "__main__":
    main()
