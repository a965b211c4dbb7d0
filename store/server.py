"""The embedded MongoDB-wire server (nx-27017) that the store starts when ``MONGODB_URI`` is unset.

One server serves one data directory, shared by every process of the app that opens that directory
(two dashboard servers, a test and the server process it spawns, the command line):

```
data/
  server.json      discovery: pid, host and port of the running server
  server.lock      held (flock) while a process starts or stops the server, so only one ever starts
  clients/<pid>    one file per app process using the server; the last one to leave stops it
  nx-27017.pid     the server's own pid file
  nx-27017.log     its log, rotated at each start
  <db>.db          one SQLite file per database (nx-27017 --data-dir)
```

A process reuses the server named in ``server.json`` when that pid is alive, is nx-27017 for this
directory, and answers ``ping``. Otherwise it removes the stale discovery and pid files and starts a
new server, on the previous port when it is free. Locks are ``flock`` locks, which the kernel releases
when their holder dies, so a crash never leaves a lock behind. A process killed outright leaves the
server running; the next process reuses it and the last one to exit cleanly stops it.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import itertools
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import psutil
import pymongo
from pymongo.errors import PyMongoError

from .errors import StoreError, UnavailableError

log = logging.getLogger(__name__)

HOST = "127.0.0.1"
START_TIMEOUT = 30.0
STOP_TIMEOUT = 5.0
LOG_KEEP_BYTES = 5_000_000


def default_data_dir() -> Path:
    """``TIMETABLER_DATA_DIR`` when set, else ``./data``."""
    return Path(os.environ.get("TIMETABLER_DATA_DIR") or "data")


def free_port(host: str = HOST) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def port_is_free(port: int, host: str = HOST) -> bool:
    with socket.socket() as s:
        # As the server will bind: connections of a crashed server in TIME_WAIT do not block the port.
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind((host, port))
        except OSError:
            return False
        return True


def ping(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a MongoDB-wire server at host:port answers ``ping`` within ``timeout`` seconds."""
    ms = int(timeout * 1000)
    client = pymongo.MongoClient(
        host, port, directConnection=True, serverSelectionTimeoutMS=ms, connectTimeoutMS=ms
    )
    try:
        client.admin.command("ping")
        return True
    except PyMongoError:
        return False
    finally:
        client.close()


def _alive(pid: int) -> bool:
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


class EmbeddedServer:
    """The nx-27017 server of one data directory: find it, start it, restart it, stop it."""

    def __init__(self, data_dir: str | Path):
        self.data_dir = Path(data_dir).resolve()
        self.host = HOST
        self.port: int | None = None
        self.pid: int | None = None
        self._process: subprocess.Popen | None = None

    @property
    def uri(self) -> str:
        if self.port is None:
            raise StoreError("the embedded database server is not running")
        return f"mongodb://{self.host}:{self.port}/?directConnection=true"

    @property
    def info_file(self) -> Path:
        return self.data_dir / "server.json"

    @property
    def pid_file(self) -> Path:
        return self.data_dir / "nx-27017.pid"

    @property
    def log_file(self) -> Path:
        return self.data_dir / "nx-27017.log"

    @contextlib.contextmanager
    def _locked(self):
        self.data_dir.mkdir(parents=True, exist_ok=True)
        with open(self.data_dir / "server.lock", "a") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _read_info(self) -> dict | None:
        try:
            info = json.loads(self.info_file.read_text())
            return {**info, "pid": int(info["pid"]), "port": int(info["port"])}
        except (OSError, ValueError, TypeError, KeyError):
            return None

    def _write_info(self) -> None:
        tmp = self.info_file.with_suffix(".tmp")
        info = {"pid": self.pid, "host": self.host, "port": self.port, "started": time.time()}
        tmp.write_text(json.dumps(info))
        os.replace(tmp, self.info_file)

    def _is_ours(self, pid: int) -> bool:
        """The process is a live nx-27017 serving this data directory (pids get reused after a crash)."""
        try:
            proc = psutil.Process(pid)
            if proc.status() == psutil.STATUS_ZOMBIE:
                return False
            args = proc.cmdline()
        except psutil.Error:
            return False
        serves_here = any(a == "--data-dir" and b == str(self.data_dir) for a, b in itertools.pairwise(args))
        return serves_here and any("nx_27017" in a.replace("-", "_") for a in args)

    def running(self) -> bool:
        """The server recorded in the discovery file is alive (it may still be busy). When it is, this
        object follows it: another process may have restarted it, on another port."""
        info = self._read_info()
        if info is None or not self._is_ours(int(info["pid"])):
            return False
        self.pid, self.host, self.port = int(info["pid"]), info.get("host", HOST), int(info["port"])
        return True

    def ensure_running(self) -> None:
        """Reuse the running server of this data directory, or start one (again, after a crash)."""
        if self._process is not None:
            # Reap our own child when it died, so that it does not linger as a zombie.
            self._process.poll()
        with self._locked():
            info = self._read_info() or self._info_from_pid_file()
            if info is not None and self._is_ours(int(info["pid"])):
                self.pid, self.host, self.port = int(info["pid"]), info.get("host", HOST), int(info["port"])
                if not self._wait_for_ping(START_TIMEOUT, None):
                    raise UnavailableError(
                        f"the embedded database server (pid {self.pid}, port {self.port}, data in "
                        f"{self.data_dir}) is running but does not answer; stop it with "
                        f"'python -m store --data-dir {self.data_dir} stop' and try again"
                    )
                if not self.info_file.exists():
                    self._write_info()
                return
            previous = int(info["port"]) if info else None
            self._clear_stale_files()
            self._start(previous)

    def _info_from_pid_file(self) -> dict | None:
        """A server of this directory that lost its ``server.json``: its port is on its command line."""
        try:
            pid = int(self.pid_file.read_text().strip())
            if not self._is_ours(pid):
                return None
            args = psutil.Process(pid).cmdline()
            return {
                "pid": pid,
                "host": args[args.index("--host") + 1],
                "port": int(args[args.index("-p") + 1]),
            }
        except (OSError, ValueError, IndexError, psutil.Error):
            return None

    def _clear_stale_files(self) -> None:
        # nx-27017 refuses to start while its pid file names a live process, and after a crash that pid
        # may belong to an unrelated process. Under our lock no other server of this directory is live.
        for path in (self.info_file, self.pid_file):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()

    def _rotate_log(self) -> None:
        with contextlib.suppress(OSError):
            if self.log_file.stat().st_size > LOG_KEEP_BYTES:
                os.replace(self.log_file, self.log_file.with_suffix(".log.1"))

    def _start(self, preferred_port: int | None) -> None:
        self._rotate_log()
        last_error = ""
        for attempt in range(3):
            # The previous port keeps existing clients working after a restart; another port otherwise.
            if attempt == 0 and preferred_port and port_is_free(preferred_port):
                port = preferred_port
            else:
                port = free_port()
            cmd = [
                sys.executable,
                "-m",
                "nx_27017.nx_27017",
                "--data-dir",
                str(self.data_dir),
                "--host",
                self.host,
                "-p",
                str(port),
                "--pid-file",
                str(self.pid_file),
                # Its log goes to stderr, which we send to our log file; its own copy would double it.
                "--log-file",
                os.devnull,
                "-j",
                "WAL",
            ]
            with open(self.log_file, "ab") as out:
                out.write(f"--- starting on port {port} at {time.ctime()}\n".encode())
                out.flush()
                self._process = subprocess.Popen(
                    cmd,
                    stdin=subprocess.DEVNULL,
                    stdout=out,
                    stderr=subprocess.STDOUT,
                    # Its own session: a Ctrl-C meant for the app does not kill it under other users.
                    start_new_session=True,
                    close_fds=True,
                )
            self.pid, self.port = self._process.pid, port
            if self._wait_for_ping(START_TIMEOUT, self._process):
                self._write_info()
                log.info(
                    "embedded database server started: pid %s, port %s, in %s", self.pid, port, self.data_dir
                )
                return
            last_error = self._log_tail()
            self._kill(self._process.pid)
        self.pid = self.port = None
        raise UnavailableError(
            f"could not start the embedded database server (nx-27017) with data in {self.data_dir}. "
            f"Its log ({self.log_file}) ends with:\n{last_error}"
        )

    def _wait_for_ping(self, timeout: float, process: subprocess.Popen | None) -> bool:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if process is not None and process.poll() is not None:
                return False
            if process is None and (self.pid is None or not _alive(self.pid)):
                return False
            if ping(self.host, self.port, timeout=1.0):
                return True
            time.sleep(0.05)
        return False

    def _log_tail(self, lines: int = 15) -> str:
        try:
            return "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def _kill(self, pid: int) -> None:
        """SIGTERM, wait, then SIGKILL; reaps the process when it is our child."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_TIMEOUT
        while time.monotonic() < deadline:
            if self._process is not None and self._process.pid == pid:
                if self._process.poll() is not None:
                    return
            elif not _alive(pid):
                return
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        if self._process is not None and self._process.pid == pid:
            self._process.wait()

    def stop(self) -> bool:
        """Stop the server of this data directory, whoever started it. True when one was running."""
        with self._locked():
            return self._stop_locked()

    def _stop_locked(self) -> bool:
        info = self._read_info() or self._info_from_pid_file()
        stopped = False
        if info is not None and self._is_ours(int(info["pid"])):
            self._kill(int(info["pid"]))
            stopped = True
        self._clear_stale_files()
        self.pid = self.port = None
        return stopped

    def kill(self) -> None:
        """SIGKILL the server, as a crash would (for fault tests)."""
        info = self._read_info()
        if info is not None and self._is_ours(int(info["pid"])):
            os.kill(int(info["pid"]), signal.SIGKILL)
            if self._process is not None and self._process.pid == int(info["pid"]):
                self._process.wait()
            else:
                while _alive(int(info["pid"])):
                    time.sleep(0.02)

    # Sharing between processes: one file per process using the server.

    @property
    def _clients_dir(self) -> Path:
        return self.data_dir / "clients"

    def register(self) -> None:
        self._clients_dir.mkdir(parents=True, exist_ok=True)
        me = psutil.Process()
        (self._clients_dir / str(me.pid)).write_text(str(me.create_time()))

    def unregister(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self._clients_dir / str(os.getpid())).unlink()

    def unregister_and_stop_if_unused(self) -> None:
        """Leave; stop the server when no live process of the app is using it any more."""
        self.unregister()
        # Checked and stopped under one lock: a process registers before it looks for the server, so
        # it is either counted here or finds the server gone and starts another.
        with self._locked():
            if not self._live_clients():
                self._stop_locked()

    def _live_clients(self) -> list[int]:
        live = []
        for path in self._clients_dir.glob("*"):
            try:
                pid, created = int(path.name), float(path.read_text() or 0)
                proc = psutil.Process(pid)
                if proc.status() != psutil.STATUS_ZOMBIE and abs(proc.create_time() - created) < 1:
                    live.append(pid)
                    continue
            except (ValueError, OSError, psutil.Error):
                pass
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        return live


# Within one process, every Store on a data directory shares one EmbeddedServer.
_lock = threading.Lock()
_servers: dict[Path, EmbeddedServer] = {}
_users: dict[Path, int] = {}
_atexit_registered = False


def acquire(data_dir: str | Path | None = None) -> EmbeddedServer:
    """The running server of ``data_dir`` (started when needed), counted as used by this process."""
    global _atexit_registered
    path = Path(data_dir or default_data_dir()).resolve()
    with _lock:
        server = _servers.get(path)
        if server is None:
            server = _servers[path] = EmbeddedServer(path)
        first = not _users.get(path)
        if first:
            server.register()
        try:
            server.ensure_running()
        except BaseException:
            if first:
                server.unregister()
            raise
        if not _atexit_registered:
            atexit.register(_release_all)
            _atexit_registered = True
        _users[path] = _users.get(path, 0) + 1
        return server


def release(server: EmbeddedServer) -> None:
    """One use fewer; the last use in the last process stops the server."""
    with _lock:
        left = _users.get(server.data_dir, 0) - 1
        _users[server.data_dir] = max(left, 0)
        if left <= 0:
            _servers.pop(server.data_dir, None)
            server.unregister_and_stop_if_unused()


def _release_all() -> None:
    with _lock:
        servers = [s for p, s in _servers.items() if _users.get(p)]
        _servers.clear()
        _users.clear()
    for server in servers:
        try:
            server.unregister_and_stop_if_unused()
        except Exception as e:  # noqa: BLE001 - at exit, report and go on with the other servers
            log.warning("could not stop the embedded database server in %s: %s", server.data_dir, e)
