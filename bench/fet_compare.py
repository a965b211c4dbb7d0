"""Measure ourselves against FET on FET's own example files, with fet-cl as the judge.

For each file, one after another (the machine has 2 cores): fet-cl with the time limit, then our import and
solve with the same limit, then the verification: the original file with every activity locked at our
placement must be accepted by fet-cl within 30 s. Soft conflicts are counted by FET on both timetables.

    .venv/bin/python bench/fet_compare.py                      # the development set, 300 s each
    .venv/bin/python bench/fet_compare.py --time-limit 60 --fet-limit 30
    .venv/bin/python bench/fet_compare.py --import-only        # every file of FET-5-official: imports?
    .venv/bin/python bench/fet_compare.py --all --no-fet --time-limit 20 --stall 2 --csv sweep.csv
                                          # every file, ours and the verification only

Setup: installs the Debian package ``fet`` when fet-cl is missing and we are root.
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from solver.checker import check
from solver.fet import FetError, import_fet, import_report
from solver.fet.lock import lock_fet, run_fet
from solver.solve import InvalidSchool, SolveOptions, solve

EXAMPLES = Path("/usr/share/doc/fet-data/examples/FET-5-official")
DEV_SET = ROOT.parent / "shared" / "bench" / "fet-dev-set.txt"
VERIFY_SECONDS = 30
RESULTS = ROOT / "bench" / "results" / "fet_compare.csv"


def ensure_fet() -> None:
    """Install fet (fet-cl and the examples) when missing, as the developers' guide does for system packages."""
    if shutil.which("fet-cl") and EXAMPLES.exists():
        return
    if os.geteuid() != 0:
        sys.exit("fet-cl or the FET examples are missing: run as root, or `apt-get install fet fet-data`")
    subprocess.run(["apt-get", "update", "-qq"], check=True)
    subprocess.run(["apt-get", "install", "-y", "-qq", "fet", "fet-data"], check=True)


def read_list(path: Path) -> list[Path]:
    """The .fet files a list names, one a line (absolute, or relative to FET's examples); ``#`` starts a
    comment. A missing list or file ends the run before anything is measured, naming it."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        sys.exit(
            f"cannot read the list of FET files {path}: {e}. Pass a list (one .fet file a line) as the argument"
        )
    files = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            files.append(Path(line) if Path(line).is_absolute() else EXAMPLES / line)
    missing = [str(f) for f in files if not f.is_file()]
    if missing:
        sys.exit(f"{path} names FET files that do not exist: {', '.join(missing)}. Fix or remove those lines")
    return files


@dataclass
class Row:
    file: str
    activities: int = 0
    fet_solved: bool = False
    fet_seconds: float = 0.0
    fet_soft: float | None = None
    ours_complete: bool = False
    ours_seconds: float | None = None
    verified: bool = False
    ours_soft: float | None = None
    hard_violations: int | None = None
    ours_total: float | None = None
    """Seconds of the import and the whole solve, to set beside the time limit."""
    note: str = ""

    @property
    def ratio(self) -> float | None:
        if self.ours_seconds is None or not self.ours_complete or self.fet_seconds <= 0:
            return None
        return self.ours_seconds / max(self.fet_seconds, 0.01)


def new_row(path: Path) -> Row:
    """An empty row for a file, named relative to FET's examples when it is one of them."""
    return Row(file=str(path.relative_to(EXAMPLES)) if path.is_relative_to(EXAMPLES) else str(path))


def run_file(path: Path, limit: float, fet_limit: float, stall: float | None = None) -> Row:
    """One file: FET (unless ``fet_limit`` is 0), ours, then the verification of ours by FET."""
    row = new_row(path)
    if fet_limit > 0:
        fet = run_fet(path, fet_limit)
        row.fet_solved, row.fet_seconds, row.fet_soft = fet.solved, fet.seconds, fet.soft_conflicts

    started = time.perf_counter()
    try:
        school = import_fet(path)
    except FetError as e:
        row.note = f"import failed: {e}"
        return row
    imported = time.perf_counter() - started
    row.activities = len(school.active_lessons())
    options = SolveOptions(time_limit=limit, workers=8)
    if stall is not None:
        options.stall_seconds = stall
    try:
        timetable = solve(school, options)
    except InvalidSchool as e:
        # Validation refused the school before any search: its first problem says why.
        row.note = f"refused: {e.problems[0] if e.problems else e}"
        return row
    row.ours_total = time.perf_counter() - started
    row.ours_complete = timetable.complete
    if timetable.first_complete_time is not None:
        # The whole path counts: import, model build and the first complete timetable.
        row.ours_seconds = imported + timetable.first_complete_time
    row.hard_violations = len(check(school, timetable).hard)
    if import_report(school).unsupported_hard:
        row.note = "unsupported hard constraints"
    if not timetable.complete:
        # How far relax and repair got, when it ran: its last step.
        steps = timetable.meta.get("warm_start")
        if steps:
            row.note = "; ".join(filter(None, [row.note, steps[-1]]))
        return row
    with tempfile.TemporaryDirectory(prefix="fet-lock-") as tmp:
        locked = Path(tmp) / path.name
        locked.write_bytes(lock_fet(path.read_bytes(), school, timetable, str(path)))
        verdict = run_fet(locked, VERIFY_SECONDS)
    row.verified = verdict.solved and verdict.seconds <= VERIFY_SECONDS + 5
    row.ours_soft = verdict.soft_conflicts
    if not row.verified:
        # fet-cl's last word: a timeout, or its refusal of the file itself.
        row.note = "; ".join(filter(None, [row.note, f"fet-cl: {verdict.message}"]))
    return row


def write_csv(rows: list[Row], path: Path, quiet: bool = False) -> None:
    """The table for notebooks/03-against-fet.ipynb: one row per file, the ratio included."""
    path.parent.mkdir(parents=True, exist_ok=True)
    names = [f.name for f in fields(Row)] + ["ratio"]
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=names)
        writer.writeheader()
        for row in rows:
            writer.writerow({**asdict(row), "ratio": row.ratio})
    if not quiet:
        print(f"\nwritten to {path}")


def fmt(x, digits: int = 1) -> str:
    if x is None:
        return "-"
    if isinstance(x, bool):
        return "yes" if x else "no"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def print_table(rows: list[Row], limit: float, fet_limit: float) -> None:
    print(
        f"\nFET {f'{fet_limit:.0f} s limit' if fet_limit > 0 else 'not run'}, ours {limit:.0f} s limit; "
        f"verification by fet-cl within {VERIFY_SECONDS} s\n"
    )
    head = (
        "| file | activities | FET solved | FET s | ours complete | ours s (first complete) | ours s (whole) "
        "| verified by FET | soft conflicts ours | soft conflicts FET | ours/FET |"
    )
    print(head)
    print("|" + "---|" * head.count(" | ") + "---|")
    for r in rows:
        print(
            f"| {r.file} | {r.activities} | {fmt(r.fet_solved)} | {fmt(r.fet_seconds)} | {fmt(r.ours_complete)} "
            f"| {fmt(r.ours_seconds)} | {fmt(r.ours_total)} | {fmt(r.verified)} | {fmt(r.ours_soft, 2)} "
            f"| {fmt(r.fet_soft, 2)} "
            f"| {fmt(r.ratio, 2)} |" + (f" {r.note}" if r.note else "")
        )
    ratios = [r.ratio for r in rows if r.ratio is not None]
    geo = math.exp(sum(math.log(max(x, 1e-6)) for x in ratios) / len(ratios)) if ratios else None
    verified = sum(r.verified for r in rows)
    softer = sum(
        1
        for r in rows
        if r.verified and r.ours_soft is not None and (r.fet_soft is None or r.ours_soft <= r.fet_soft)
    )
    slow = [
        r.file for r in rows if r.ours_seconds is not None and r.ours_seconds > max(5 * r.fet_seconds, 5.0)
    ]
    over = [
        f"{r.file} ({r.ours_total:.1f} s)"
        for r in rows
        if r.ours_total is not None and r.ours_total > limit + 1
    ]
    print(f"\nverified by FET: {verified}/{len(rows)}")
    print(f"over the time limit by more than 1 s (import and whole solve): {', '.join(over) or 'none'}")
    if fet_limit <= 0:
        complete = sum(r.ours_complete for r in rows)
        crashed = [r.file for r in rows if r.note.startswith("crashed")]
        print(f"complete: {complete}/{len(rows)}; crashed: {', '.join(crashed) or 'none'}")
        return
    print(f"geometric mean of ours/FET over {len(ratios)} file(s): {fmt(geo, 3)}")
    print(f"soft conflicts no higher than FET's: {softer}/{len(rows)}")
    print(f"slower than max(5 x FET, 5 s): {', '.join(slow) or 'none'}")


def import_only() -> None:
    """Import every file of FET-5-official; count crashes and files with unsupported hard constraints."""
    files = sorted(EXAMPLES.rglob("*.fet"))
    failed, clean = [], 0
    for path in files:
        try:
            report = import_report(import_fet(path))
        except Exception as e:  # noqa: BLE001 - the point is to count every kind of failure
            failed.append((path, e))
            continue
        if not report.unsupported_hard:
            clean += 1
    print(f"FET-5-official: {len(files)} files, {len(files) - len(failed)} imported without a crash")
    print(f"files with no unsupported hard constraint: {clean} of {len(files)}")
    for path, e in failed:
        print(f"  failed: {path.relative_to(EXAMPLES)}: {e}")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("list", nargs="?", default=str(DEV_SET), help="file listing .fet files (one a line)")
    parser.add_argument("--time-limit", type=float, default=300.0, help="seconds for FET and for us (300)")
    parser.add_argument("--fet-limit", type=float, help="seconds for FET (default: --time-limit)")
    parser.add_argument("--only", help="run only files whose path contains this text")
    parser.add_argument("--import-only", action="store_true", help="only import every FET-5-official file")
    parser.add_argument("--all", action="store_true", help="every file of FET-5-official instead of a list")
    parser.add_argument("--no-fet", action="store_true", help="skip FET's own run: ours and the verification")
    parser.add_argument(
        "--stall", type=float, help="stop our soft-rule search after this many seconds without progress (20)"
    )
    parser.add_argument(
        "--csv",
        type=Path,
        default=RESULTS,
        help=f"where to write the table as CSV ({RESULTS.relative_to(ROOT)})",
    )
    args = parser.parse_args()
    ensure_fet()
    if args.import_only:
        import_only()
        return
    fet_limit = 0.0 if args.no_fet else args.fet_limit or args.time_limit
    rows = []
    files = sorted(EXAMPLES.rglob("*.fet")) if args.all else read_list(Path(args.list))
    for path in files:
        if args.only and args.only not in str(path):
            continue
        try:
            row = run_file(path, args.time_limit, fet_limit, args.stall)
        except Exception as e:  # noqa: BLE001 - a sweep records every failure and goes on
            row = new_row(path)
            row.note = f"crashed: {type(e).__name__}: {e}"
        rows.append(row)
        # Written after every file: a sweep of every example takes an hour or more.
        write_csv(rows, args.csv, quiet=True)
        print(
            f"{row.file}: FET {fmt(row.fet_solved)} {row.fet_seconds:.1f} s, ours {fmt(row.ours_complete)} "
            f"{fmt(row.ours_seconds)} s, verified {fmt(row.verified)}, soft {fmt(row.ours_soft, 2)} vs "
            f"{fmt(row.fet_soft, 2)}",
            flush=True,
        )
    print_table(rows, args.time_limit, fet_limit)
    write_csv(rows, args.csv)


if __name__ == "__main__":
    main()
