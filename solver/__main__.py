"""The command line: ``python -m solver COMMAND``.

    python -m solver demo --periods 914 --seed 1 -o school.json
    python -m solver validate school.json
    python -m solver solve school.json -o timetable.json --time-limit 60
    python -m solver check school.json timetable.json

Each command is registered by one function in ``COMMANDS`` that adds its sub-parser and sets ``func``,
a function of the parsed arguments returning the exit code. Exit codes: 0 success, 1 the input is
readable but something is wrong with it (problems, hard violations, an incomplete timetable), 2 the
input could not be used (unreadable file, invalid school), 130 interrupted.
"""

from __future__ import annotations

import argparse
import sys
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait

from .checker import CheckReport, check
from .demo import generate_demo
from .domain import School
from .io import FormatError, load_school, load_timetable, save_school, save_timetable
from .validate import validate


class CommandError(Exception):
    """A problem to tell the user in one message, ending the command with exit code 2."""


def _err(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _load_valid_school(path: str) -> School:
    """Load a school file and refuse it, listing every problem, when it does not validate."""
    school = load_school(path)
    problems = validate(school)
    if problems:
        lines = "\n".join(f"  - {p}" for p in problems)
        raise CommandError(f"{path}: the school has {len(problems)} problem(s):\n{lines}")
    return school


# ---------------------------------------------------------------------- demo


def add_demo(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("demo", help="write a realistic demo school (feasible by construction)")
    p.add_argument("--periods", type=int, default=914, help="lesson periods a week (default 914)")
    p.add_argument("--seed", type=int, default=1, help="the same seed gives the same school (default 1)")
    p.add_argument("-o", "--output", required=True, help="the school JSON file to write")
    p.set_defaults(func=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    if args.periods < 1:
        raise CommandError("--periods must be 1 or more")
    school = generate_demo(args.periods, args.seed)
    save_school(school, args.output)
    print(
        f"Wrote {args.output}: {len(school.classes)} classes, {len(school.teachers)} teachers, "
        f"{len(school.rooms)} rooms, {len(school.lessons)} lessons, {school.total_periods()} periods, "
        f"{len(school.rules)} rules."
    )
    return 0


# ---------------------------------------------------------------------- validate


def add_validate(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("validate", help="list every problem in a school file")
    p.add_argument("school", help="school JSON file")
    p.set_defaults(func=validate_command)


def validate_command(args: argparse.Namespace) -> int:
    school = load_school(args.school)
    problems = validate(school)
    for problem in problems:
        print(f"- {problem}")
    if problems:
        print(f"{args.school}: {len(problems)} problem(s).")
        return 1
    print(f"{args.school}: no problems ({len(school.lessons)} lessons, {school.total_periods()} periods).")
    return 0


# ---------------------------------------------------------------------- solve


def add_solve(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser("solve", help="solve a school and write the timetable JSON")
    p.add_argument("school", help="school JSON file")
    p.add_argument("-o", "--output", required=True, help="the timetable JSON file to write")
    p.add_argument("--time-limit", type=float, default=60.0, help="upper bound in seconds (default 60)")
    p.add_argument(
        "--no-strict-balancing",
        action="store_true",
        help="keep subject-spread rules at their own weight instead of making them hard first",
    )
    p.add_argument(
        "--stall", type=float, help="stop when the soft score has not improved for this many seconds"
    )
    p.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    p.add_argument(
        "--deterministic", action="store_true", help="one worker: the same input gives the same result"
    )
    p.add_argument("--quiet", action="store_true", help="no progress lines")
    p.set_defaults(func=solve_command)


def _print_progress(progress) -> None:
    """One line per report: elapsed time, phase, periods placed, soft score once there is one."""
    score = "" if progress.objective is None else f", score {progress.objective:g}"
    message = f" - {progress.message}" if progress.message else ""
    _err(
        f"[{progress.elapsed:7.2f}s] {progress.phase}: placed {progress.placed}/{progress.total}{score}{message}"
    )


def solve_command(args: argparse.Namespace) -> int:
    # Imported here so that the other commands start without loading OR-Tools.
    from .solve import SolveOptions, solve

    if args.time_limit <= 0:
        raise CommandError("--time-limit must be more than 0 seconds")
    school = _load_valid_school(args.school)
    options = SolveOptions(
        time_limit=args.time_limit,
        strict_balancing=not args.no_strict_balancing,
        seed=args.seed,
        deterministic=args.deterministic,
    )
    if args.stall is not None:
        options.stall_seconds = args.stall
    cancel = threading.Event()
    progress = None if args.quiet else _print_progress
    # The solve runs in a thread so that Ctrl-C can cancel it and still write the best timetable found.
    with ThreadPoolExecutor(max_workers=1) as pool:
        future = pool.submit(solve, school, options, progress, cancel)
        interrupted = False
        while not future.done():
            try:
                wait([future], timeout=0.2)
            except KeyboardInterrupt:
                if interrupted:
                    raise
                interrupted = True
                _err("Cancelling: keeping the best timetable found so far (Ctrl-C again to quit at once).")
                cancel.set()
        timetable = future.result()
    save_timetable(timetable, school, args.output)
    report = check(school, timetable)
    print(
        f"Wrote {args.output}: placed {timetable.placed}/{timetable.total} periods, phase {timetable.phase}, "
        f"score {timetable.score}, {timetable.solve_time:.1f} s; checker: {report.summary()}."
    )
    for u in timetable.unplaced:
        print(f"  not placed: lesson {u.lesson} block {u.block} ({u.periods} period(s)): {u.reason}")
    if interrupted:
        return 130
    return 0 if timetable.complete and report.ok else 1


# ---------------------------------------------------------------------- check


def add_check(commands: argparse._SubParsersAction) -> None:
    p = commands.add_parser(
        "check", help="recheck a timetable against every rule; exit 0 only when all hard rules hold"
    )
    p.add_argument("school", help="school JSON file")
    p.add_argument("timetable", help="timetable JSON file")
    p.set_defaults(func=check_command)


def print_report(report: CheckReport) -> None:
    """Every violation, hard ones first, then the soft score by rule."""
    if report.hard:
        print(f"Hard violations ({len(report.hard)}):")
        for v in report.hard:
            print(f"  - [{v.rule}] {v.message}" + (f" (amount {v.amount})" if v.amount != 1 else ""))
    if report.soft:
        print(f"Soft violations ({len(report.soft)}):")
        for v in report.soft:
            print(f"  - [{v.rule}] {v.message} (weight {v.weight} x {v.amount})")
    if report.breakdown:
        print("Soft score by rule:")
        width = max(len(k) for k in report.breakdown)
        for rule_id, cost in sorted(report.breakdown.items(), key=lambda kv: -kv[1]):
            print(f"  {rule_id:<{width}}  {cost}")
    print(f"Result: {report.summary()}.")


def check_command(args: argparse.Namespace) -> int:
    school = _load_valid_school(args.school)
    timetable = load_timetable(args.timetable, school)
    report = check(school, timetable)
    print_report(report)
    return 0 if report.ok else 1


# ---------------------------------------------------------------------- FET files


def add_fet(commands: argparse._SubParsersAction) -> None:
    """``import-fet`` and ``lock-fet``: FET files in and out (see ``solver.fet``)."""
    from .fet.cli import add_commands

    add_commands(commands)


# ---------------------------------------------------------------------- entry point

COMMANDS: list[Callable[[argparse._SubParsersAction], None]] = [
    add_demo,
    add_validate,
    add_solve,
    add_check,
    add_fet,
]
"""Functions that each register one or more sub-commands; add one to add a command."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m solver", description="School timetabling engine.")
    parser.add_argument("--debug", action="store_true", help="show the full traceback of unexpected errors")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for register in COMMANDS:
        register(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command; bad input ends with a message and a non-zero exit code, never a traceback."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except FormatError as e:
        _err(f"error: {e}")
        return 2
    except CommandError as e:
        _err(f"error: {e}")
        return 2
    except KeyboardInterrupt:
        _err("interrupted")
        return 130
    except OSError as e:
        _err(f"error: {e.strerror or e}: {e.filename or ''}".rstrip(": "))
        return 2
    except Exception as e:
        if args.debug:
            raise
        _err(f"internal error: {type(e).__name__}: {e} (run with --debug for the traceback, and report it)")
        return 3


if __name__ == "__main__":
    sys.exit(main())
