"""Command line for the store: load demo schools and FET files, list schools and versions, export.

```
python -m store demo --periods 914 --seed 1 [--name NAME] [--timetable "Demo timetable"]
python -m store import-fet FILE [--name NAME]
python -m store import-json school.json [--name NAME]
python -m store schools
python -m store versions SCHOOL_ID
python -m store export VERSION_ID [-o timetable.json]
python -m store export-school SCHOOL_ID [-o school.json]
python -m store delete-school SCHOOL_ID
python -m store status | stop          # the embedded server of the data directory
```

``--uri``/``--db``/``--data-dir`` (before the command) override ``MONGODB_URI``, ``MONGODB_DB`` and
``TIMETABLER_DATA_DIR``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from solver.io import load_school, school_to_dict

from . import server as embedded
from .api import Store, open_store
from .errors import StoreError


def _write(data: Any, output: str | None) -> None:
    text = json.dumps(data, indent=1, default=str)
    if output:
        Path(output).write_text(text + "\n", encoding="utf-8")
        print(f"written to {output}", file=sys.stderr)
    else:
        print(text)


def _report(store: Store, school_id: str) -> None:
    school = next(s for s in store.list_schools() if s["id"] == school_id)
    counts = ", ".join(f"{n} {k}" for k, n in school["counts"].items())
    print(f"school {school_id} '{school['name']}': {counts}")


def cmd_demo(store: Store, args: argparse.Namespace) -> None:
    from solver.demo import demo_with_timetable

    school, timetable = demo_with_timetable(args.periods, args.seed)
    school_id = store.import_school(school, args.name)
    _report(store, school_id)
    if args.timetable:
        version_id = store.save_version(
            school_id, args.timetable, timetable, options={"source": "demo generator"}
        )
        print(f"version {version_id} '{args.timetable}': {timetable.placed}/{timetable.total} periods placed")


def cmd_import_fet(store: Store, args: argparse.Namespace) -> None:
    from solver.fet import import_fet

    _report(store, store.import_school(import_fet(args.file), args.name))


def cmd_import_json(store: Store, args: argparse.Namespace) -> None:
    _report(store, store.import_school(load_school(args.file), args.name))


def cmd_schools(store: Store, args: argparse.Namespace) -> None:
    schools = store.list_schools()
    if not schools:
        print("no schools yet: load one with 'python -m store demo' or 'python -m store import-fet FILE'")
    for s in schools:
        c = s["counts"]
        print(
            f"{s['id']}  {s['name']!r}  created {s['created']:%Y-%m-%d %H:%M}  "
            f"{c['lessons']} lessons, {c['teachers']} teachers, {c['classes']} classes, {c['versions']} versions"
        )


def cmd_versions(store: Store, args: argparse.Namespace) -> None:
    versions = store.list_versions(args.school)
    if not versions:
        print(f"school {args.school} has no versions yet")
    for v in versions:
        st = v["stats"]
        draft = " (draft)" if v["draft"] else ""
        print(
            f"{v['id']}  {v['name']!r}{draft}  {v['created']:%Y-%m-%d %H:%M}  placed {st.get('placed')}/"
            f"{st.get('total')}  score {st.get('score')}  solve time {st.get('solve_time')} s"
        )


def cmd_export(store: Store, args: argparse.Namespace) -> None:
    _write(store.export_version(args.version), args.output)


def cmd_export_school(store: Store, args: argparse.Namespace) -> None:
    _write(school_to_dict(store.load_school(args.school)), args.output)


def cmd_delete_school(store: Store, args: argparse.Namespace) -> None:
    store.delete_school(args.school)
    print(f"school {args.school} deleted")


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m store", description=__doc__.split("\n")[0])
    p.add_argument("--uri", help="MongoDB address (default: MONGODB_URI, else the embedded server)")
    p.add_argument("--db", help="database name (default: MONGODB_DB, else 'timetabler')")
    p.add_argument(
        "--data-dir", help="embedded server's data directory (default: TIMETABLER_DATA_DIR or ./data)"
    )
    sub = p.add_subparsers(dest="command", required=True)

    demo = sub.add_parser("demo", help="generate a demo school and store it")
    demo.add_argument("--periods", type=int, default=914)
    demo.add_argument("--seed", type=int, default=1)
    demo.add_argument("--name", help="school name (default: the generator's)")
    demo.add_argument(
        "--timetable", metavar="VERSION", help="also save the demo's complete timetable as VERSION"
    )
    demo.set_defaults(run=cmd_demo)

    fet = sub.add_parser("import-fet", help="import a FET (.fet) file as a new school")
    fet.add_argument("file")
    fet.add_argument("--name")
    fet.set_defaults(run=cmd_import_fet)

    js = sub.add_parser("import-json", help="import a school JSON file (python -m solver's format)")
    js.add_argument("file")
    js.add_argument("--name")
    js.set_defaults(run=cmd_import_json)

    sub.add_parser("schools", help="list schools").set_defaults(run=cmd_schools)

    versions = sub.add_parser("versions", help="list a school's timetable versions")
    versions.add_argument("school")
    versions.set_defaults(run=cmd_versions)

    export = sub.add_parser("export", help="export a version as JSON")
    export.add_argument("version")
    export.add_argument("-o", "--output")
    export.set_defaults(run=cmd_export)

    export_school = sub.add_parser(
        "export-school", help="export a school as JSON (python -m solver's format)"
    )
    export_school.add_argument("school")
    export_school.add_argument("-o", "--output")
    export_school.set_defaults(run=cmd_export_school)

    delete = sub.add_parser("delete-school", help="delete a school with its versions")
    delete.add_argument("school")
    delete.set_defaults(run=cmd_delete_school)

    sub.add_parser("status", help="is the embedded server of the data directory running?")
    sub.add_parser("stop", help="stop the embedded server of the data directory")
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        if args.command in ("status", "stop"):
            server = embedded.EmbeddedServer(args.data_dir or embedded.default_data_dir())
            if args.command == "stop":
                print("stopped" if server.stop() else f"no server running for {server.data_dir}")
            elif server.running():
                info = json.loads(server.info_file.read_text())
                print(f"running: pid {info['pid']}, port {info['port']}, data in {server.data_dir}")
            else:
                print(f"not running (data in {server.data_dir})")
            return 0
        with open_store(args.uri, args.db, args.data_dir) as store:
            args.run(store, args)
        return 0
    except (StoreError, ValueError, OSError) as e:  # FormatError and FetError are ValueErrors
        print(f"error: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
