"""The ``import-fet`` and ``lock-fet`` commands of ``python -m solver``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ..io import FormatError, load_school, load_timetable, save_school
from .importer import import_fet, import_report
from .lock import IncompleteTimetable, lock_fet, verify_with_fet
from .xmlread import FetError, read_fet


def add_commands(commands: argparse._SubParsersAction) -> None:
    """Register ``import-fet`` and ``lock-fet`` on the ``python -m solver`` parser."""
    p = commands.add_parser("import-fet", help="import a FET (.fet) file as a school JSON file")
    p.add_argument("file", help="the .fet file")
    p.add_argument("-o", "--output", required=True, help="the school JSON file to write")
    p.set_defaults(func=import_command)

    p = commands.add_parser(
        "lock-fet", help="write a FET file with every activity locked at its place in a timetable"
    )
    p.add_argument("original", help="the .fet file the school was imported from")
    p.add_argument("timetable", help="timetable JSON of the imported school")
    p.add_argument("-o", "--output", required=True, help="the locked .fet file to write")
    p.add_argument("--school", help="school JSON (default: import the original again)")
    p.add_argument("--verify", action="store_true", help="run fet-cl on the locked file (at most 30 s)")
    p.set_defaults(func=lock_command)


def import_command(args: argparse.Namespace) -> int:
    """Import, print the import report, write the school."""
    try:
        school = import_fet(args.file)
    except FetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    save_school(school, args.output)
    print(import_report(school).text())
    print(f"\nWrote {args.output}: {len(school.lessons)} lessons, {len(school.rules)} rules.")
    return 0


def lock_command(args: argparse.Namespace) -> int:
    """Lock a timetable into its FET file, and optionally let fet-cl verify it."""
    try:
        _, original = read_fet(args.original)
        school = load_school(args.school) if args.school else import_fet(args.original)
        timetable = load_timetable(args.timetable, school)
        locked = lock_fet(original, school, timetable, args.original)
    except (FetError, FormatError, IncompleteTimetable) as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    Path(args.output).write_bytes(locked)
    print(f"Wrote {args.output}: {sum(1 for x in school.lessons if x.enabled)} activities locked.")
    if not args.verify:
        return 0
    try:
        run = verify_with_fet(args.output)
    except FetError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    if run.solved:
        print(
            f"Verified by FET in {run.seconds:.1f} s; soft conflicts by FET's accounting: {run.soft_conflicts} "
            f"({run.broken_soft} broken soft constraints)."
        )
        return 0
    print(f"FET did not accept the timetable within 30 s: {run.message}", file=sys.stderr)
    return 1
