import os
import shutil
import uuid

import pytest

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
"""Debian's chromium as root on a machine with no network beyond the package registries."""


def require_system(program: str, package: str) -> str:
    """Path of a system program, or skip (fail under REQUIRE_SYSTEM_TESTS=1) when it is missing."""
    path = shutil.which(program)
    if path:
        return path
    message = (
        f"'{program}' is not installed: install the Debian package '{package}' "
        "(./dev test does it when run as root)"
    )
    if os.environ.get("REQUIRE_SYSTEM_TESTS") == "1":
        pytest.fail(message)
    pytest.skip(message)


class StoreServer:
    """Where the tests' databases live: a MongoDB given by MONGODB_URI, else one embedded nx-27017 server
    shared by the whole session (``data_dir`` set)."""

    def __init__(self, uri: str, data_dir=None):
        self.uri = uri
        self.data_dir = data_dir

    def open(self, db_name: str | None = None, **options):
        """A Store on ``db_name``, by default a fresh database."""
        from store import open_store

        name = db_name or f"test_{uuid.uuid4().hex[:12]}"
        if self.data_dir is not None:
            return open_store(db_name=name, data_dir=self.data_dir, **options)
        return open_store(uri=self.uri, db_name=name, **options)

    def env(self, db_name: str) -> dict[str, str]:
        """Environment for a child process that should use the same database."""
        env = {**os.environ, "MONGODB_DB": db_name}
        if self.data_dir is not None:
            env.pop("MONGODB_URI", None)
            env["TIMETABLER_DATA_DIR"] = str(self.data_dir)
        else:
            env["MONGODB_URI"] = self.uri
        return env


@pytest.fixture(scope="session")
def store_server(tmp_path_factory):
    """One database server for the session: MONGODB_URI when set, else an embedded nx-27017."""
    uri = os.environ.get("MONGODB_URI")
    if uri:
        yield StoreServer(uri)
        return
    from store import server as embedded

    data_dir = tmp_path_factory.mktemp("database")
    server = embedded.acquire(data_dir)
    try:
        yield StoreServer(server.uri, data_dir)
    finally:
        embedded.release(server)


@pytest.fixture
def store(store_server):
    """A Store on a fresh, empty database, dropped after the test."""
    s = store_server.open()
    yield s
    if not s.closed:
        s.db.client.drop_database(s.db.name)
    s.close()
