"""Time the gap repair (step 2 of relax and repair) on its own, from fixed placements of step 1.

Step 1's placement and CP-SAT's many workers on two cores make a whole solve's time a lottery: German-100_and_0's
gap repair took 2 s to over 40 s from the same placement. Comparing two versions of the repair by whole solves
needs more runs than anyone waits for. This bench places the school with step 1 once per seed, then runs the
gap repair several times from each placement (repair seeds 0, 1, ...), and prints the seconds to no excess gap.

    .venv/bin/python bench/gap_repair_bench.py Germany/secondary-school-1/constraints-min-days-100-few-0/German-100_and_0.fet
    .venv/bin/python bench/gap_repair_bench.py Italy/2009/liceo-scientifico.fet --placements 2 --runs 5 --limit 60

FILE is a .fet file, absolute or relative to FET's examples (FET-5-official). Runs that leave excess gaps
at the limit count as slower than any other in the median.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from solver.fet import FetError, import_fet
from solver.model import HARD
from solver.relax import STRUCTURAL, GapRepair, gap_excess, gap_repair_model, place_everything

EXAMPLES = Path("/usr/share/doc/fet-data/examples/FET-5-official")


def resolve(name: str) -> Path:
    path = Path(name)
    return path if path.is_absolute() or path.exists() else EXAMPLES / name


def placements(school, hard: list, count: int, limit: float, workers: int):
    """(seed, seconds, model holding the gap rules as soft rules, placement) for each step-1 seed that
    placed every block, as relax and repair hands them to the gap repair."""
    second = None
    for seed in range(count):
        started = time.monotonic()
        found = place_everything(school, hard, limit, workers, None, [], None, seed)
        seconds = time.monotonic() - started
        if found is None:
            print(f"step 1, seed {seed}: no placement of every block in {limit:.0f} s")
            continue
        second, chosen = gap_repair_model(school, hard, *found, second)
        yield seed, seconds, second, chosen


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("file", help="a .fet file, absolute or relative to FET's examples")
    parser.add_argument("--placements", type=int, default=4, help="step-1 seeds (4)")
    parser.add_argument("--runs", type=int, default=5, help="gap repairs from each placement (5)")
    parser.add_argument("--limit", type=float, default=40.0, help="seconds for each gap repair (40)")
    parser.add_argument("--workers", type=int, default=8, help="CP-SAT workers (8)")
    args = parser.parse_args(argv)
    path = resolve(args.file)
    try:
        school = import_fet(path)
    except (OSError, FetError) as e:
        sys.exit(f"{e} (give a .fet file, absolute or relative to {EXAMPLES})")
    hard = [r for r in school.rules if r.enabled and r.weight >= HARD]
    rules = [r for r in hard if r.type in STRUCTURAL]
    if not rules:
        sys.exit(f"{path.name} has no hard gap rule: the gap repair has nothing to do there")
    print(f"{path.name}: {len(rules)} hard gap rule(s); gap repair {args.runs} times from each placement")
    print(f"| step-1 seed | step 1 s | excess gaps | seconds to none (limit {args.limit:.0f} s) | median |")
    print("|---|---|---|---|---|")
    everything: list[float] = []
    for seed, seconds, tm, chosen in placements(school, hard, args.placements, 2 * args.limit, args.workers):
        excess = sum(gap_excess(tm, rules, chosen)[0].values())
        times = []
        for run in range(args.runs):
            started = time.monotonic()
            repair = GapRepair(tm, rules, args.workers, seed=run)
            _, left, _ = repair.run(dict(chosen), started + args.limit)
            times.append(time.monotonic() - started if not left else float("inf"))
        everything += times
        shown = ", ".join("-" if t == float("inf") else f"{t:.1f}" for t in sorted(times))
        print(f"| {seed} | {seconds:.1f} | {excess} | {shown} | {median(times)} |")
    if not everything:
        sys.exit("no placement of every block: nothing to repair")
    within = sum(t != float("inf") for t in everything)
    print(f"all runs: median {median(everything)}, {within} of {len(everything)} within {args.limit:.0f} s")


def median(times: list[float]) -> str:
    m = statistics.median(times)
    return "-" if m == float("inf") else f"{m:.1f} s"


if __name__ == "__main__":
    main()
