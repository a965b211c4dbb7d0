"""Schema versions of the stored documents, and the migrations between them.

Every document the store writes carries ``schema: SCHEMA_VERSION``; the database records the version it
was last migrated to in ``meta`` (``{_id: "schema", version: n}``). To change a document layout, bump
``SCHEMA_VERSION`` and add ``MIGRATIONS[old] = function(db)`` that rewrites version ``old`` documents to
``old + 1`` (idempotently: a crash may run it twice). ``migrate`` runs them in order when a store opens.
"""

from __future__ import annotations

from collections.abc import Callable

from pymongo.database import Database

from .errors import StoreError

SCHEMA_VERSION = 1

MIGRATIONS: dict[int, Callable[[Database], None]] = {}


def migrate(db: Database) -> int:
    """Bring the database up to ``SCHEMA_VERSION``; returns the version it was at."""
    found = db.meta.find_one({"_id": "schema"})
    if found is None:
        db.meta.update_one({"_id": "schema"}, {"$set": {"version": SCHEMA_VERSION}}, upsert=True)
        return SCHEMA_VERSION
    start = int(found.get("version", 1))
    if start > SCHEMA_VERSION:
        raise StoreError(
            f"database '{db.name}' has schema version {start}, newer than this program's "
            f"{SCHEMA_VERSION}: upgrade the program"
        )
    for version in range(start, SCHEMA_VERSION):
        if version not in MIGRATIONS:
            raise StoreError(f"no migration from schema version {version} to {version + 1}")
        MIGRATIONS[version](db)
        db.meta.update_one({"_id": "schema"}, {"$set": {"version": version + 1}})
    return start
