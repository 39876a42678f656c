"""A real PostgreSQL server for the SQL reader's tests: initialised in a temporary directory, started on
loopback on a free port, stopped and removed afterwards. `make test` installs Debian's postgresql when no
server binaries are found (the `postgres` target of the Makefile); nothing is mocked."""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
from contextlib import contextmanager
from pathlib import Path


def server_bin() -> Path:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    if initdb:
        return Path(initdb).resolve().parent
    raise RuntimeError("no PostgreSQL server binaries (initdb): run `make test`, which installs Debian's postgresql")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextmanager
def running_server():
    """Yields a SQLAlchemy URL of a fresh, empty database server."""
    bin_ = server_bin()
    root = Path(tempfile.mkdtemp(prefix="kpi-pg-"))
    as_user: list[str] = []
    if os.geteuid() == 0:  # the server refuses to run as root: run it as the postgres user
        os.chmod(root, 0o777)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, log, port = root / "data", root / "server.log", _free_port()

    def run(*cmd):
        subprocess.run([*as_user, *map(str, cmd)], check=True, capture_output=True, text=True)

    try:
        run(bin_ / "initdb", "-D", data, "-U", "kpi", "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync")
        opts = f"-p {port} -k {root} -c listen_addresses=127.0.0.1 -c fsync=off -c full_page_writes=off"
        run(bin_ / "pg_ctl", "-D", data, "-o", opts, "-l", log, "-w", "-t", "60", "start")
        try:
            yield f"postgresql://kpi@127.0.0.1:{port}/postgres"
        finally:
            run(bin_ / "pg_ctl", "-D", data, "-m", "fast", "-w", "stop")
    except subprocess.CalledProcessError as e:
        tail = log.read_text()[-2000:] if log.exists() else ""
        raise RuntimeError(f"PostgreSQL did not start: {e.stderr}\n{tail}") from None
    finally:
        shutil.rmtree(root, ignore_errors=True)
