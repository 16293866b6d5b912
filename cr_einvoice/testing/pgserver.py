"""A throwaway PostgreSQL server on loopback for tests and benchmarks: :func:`start_postgres`.

Finds ``initdb``/``pg_ctl`` (``$CR_EINVOICE_PG_BIN``, then Debian's ``/usr/lib/postgresql/<version>/bin``,
then ``PATH``); when they are missing and this process is root with ``apt-get``, installs Debian's
``postgresql`` package (``apt-get update`` first); otherwise fails with a message saying what to install.
The cluster lives in a new temporary directory, listens on 127.0.0.1 only, on a free port, trusts local
connections (it holds nothing but test data) -- except :data:`CHECKED_ROLE`, whose password it checks -- and
runs without fsync unless started ``durable`` (speed; a crash of the *server* is not what the tests
exercise). PostgreSQL refuses to run as root: as root, the cluster's directory is given to the ``postgres``
account and the server runs as that account (``runuser``).

``CR_EINVOICE_TEST_PG_DSN`` names an existing server to use instead (its user must be able to create
databases); :meth:`PgServer.stop` then stops nothing.

Use::

    server = start_postgres()
    try:
        dsn = server.create_database()      # a new, empty database on it
        ...
    finally:
        server.stop()
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import re
import shutil
import socket
import subprocess
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

__all__ = ["CHECKED_ROLE", "PgServer", "PgServerError", "find_pg_bin", "start_postgres"]

log = logging.getLogger("cr_einvoice.testing")

#: The account a root process runs the server as (Debian's package creates it).
SERVER_ACCOUNT = "postgres"


class PgServerError(RuntimeError):
    """The throwaway PostgreSQL server could not be found, installed or started (the message says why)."""


def _version_key(path: Path) -> tuple[int, ...]:
    return tuple(int(p) for p in re.findall(r"\d+", path.parent.name) or ["0"])


def find_pg_bin() -> Path | None:
    """The directory holding ``initdb`` and ``pg_ctl``, or None."""
    env = os.environ.get("CR_EINVOICE_PG_BIN")
    if env:
        return Path(env) if (Path(env) / "initdb").exists() else None
    debian = sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=_version_key, reverse=True)
    for candidate in debian:
        if (candidate / "initdb").exists() and (candidate / "pg_ctl").exists():
            return candidate
    found = shutil.which("initdb")
    if found and shutil.which("pg_ctl"):
        return Path(found).resolve().parent
    return None


def _install() -> Path:
    """Install Debian's ``postgresql`` when allowed (root with apt-get), or explain what to do."""
    how = (
        "install PostgreSQL's server programs (Debian/Ubuntu: 'apt-get install postgresql'), or set "
        "CR_EINVOICE_PG_BIN to the directory holding initdb and pg_ctl, or CR_EINVOICE_TEST_PG_DSN to an "
        "existing server the tests may create databases on"
    )
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise PgServerError(f"PostgreSQL's initdb/pg_ctl were not found and cannot be installed here: {how}")
    log.warning("PostgreSQL server programs not found: installing Debian's 'postgresql' package")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (
        ["apt-get", "update"],
        ["apt-get", "install", "-y", "--no-install-recommends", "postgresql"],
    ):
        done = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            raise PgServerError(
                f"'{' '.join(command)}' failed (exit {done.returncode}): {done.stderr.strip()[-600:]}; {how}"
            )
    found = find_pg_bin()
    if found is None:
        raise PgServerError(
            f"the 'postgresql' package was installed but initdb/pg_ctl are still missing; {how}"
        )
    return found


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class PgServer:
    """A running PostgreSQL server: the DSN of its ``postgres`` database and how to stop it."""

    #: ``postgresql://USER@127.0.0.1:PORT/postgres`` (no password: the test cluster trusts loopback).
    dsn: str
    host: str
    port: int
    user: str
    datadir: Path | None = None
    _bin: Path | None = None
    _as_account: bool = False
    _stopped: bool = field(default=False, repr=False)
    _names: itertools.count[int] = field(default_factory=lambda: itertools.count(1), repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def url(self, database: str) -> str:
        """The URL of ``database`` on this server."""
        return f"postgresql://{self.user}@{self.host}:{self.port}/{database}"

    def create_database(self, name: str | None = None) -> str:
        """Create a new empty database (a fresh name unless ``name`` is given); returns its URL."""
        import psycopg
        from psycopg import sql

        with self._lock:
            chosen = name or f"t{os.getpid()}_{next(self._names)}_{int(time.time() * 1000) % 100000}"
        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(chosen)))
        return self.url(chosen)

    def create_checked_role(self, password: str, database: str) -> str:
        """Create (or reset) :data:`CHECKED_ROLE` with ``password``, owner of ``database``'s public schema;
        returns the URL of ``database`` as that role, without the password (the server checks it)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (CHECKED_ROLE,)).fetchone()
            verb = "ALTER" if exists else "CREATE"
            conn.execute(
                sql.SQL(verb + " ROLE {} LOGIN PASSWORD {}").format(
                    sql.Identifier(CHECKED_ROLE), sql.Literal(password)
                )
            )
        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql.SQL("GRANT ALL ON SCHEMA public TO {}").format(sql.Identifier(CHECKED_ROLE)))
        return f"postgresql://{CHECKED_ROLE}@{self.host}:{self.port}/{database}"

    def drop_database(self, name: str) -> None:
        """Drop ``name`` (its connections are ended first)."""
        import psycopg
        from psycopg import sql

        with psycopg.connect(self.dsn, autocommit=True) as conn:
            conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))

    def restart(self) -> None:
        """Restart the server (fast shutdown: every connection is cut), same port and settings."""
        if self._stopped or self.datadir is None or self._bin is None:
            raise PgServerError("only a server started by start_postgres() can be restarted")
        data, log_file = str(self.datadir / "data"), str(self.datadir / "server.log")
        command = [str(self._bin / "pg_ctl"), "-D", data, "-l", log_file, "-m", "fast", "-w", "restart"]
        _run(_as(command, self._as_account), "pg_ctl restart")

    def stop(self) -> None:
        """Stop the server and delete its files (nothing when it was an existing server)."""
        if self._stopped or self.datadir is None or self._bin is None:
            self._stopped = True
            return
        self._stopped = True
        command = [
            str(self._bin / "pg_ctl"),
            "-D",
            str(self.datadir / "data"),
            "-m",
            "immediate",
            "-w",
            "stop",
        ]
        subprocess.run(_as(command, self._as_account), capture_output=True, check=False, timeout=60)
        shutil.rmtree(self.datadir, ignore_errors=True)


#: The one role the throwaway server checks a password of (scram-sha-256), for tests of password handling;
#: every other role is trusted on loopback. Create it with :meth:`PgServer.create_checked_role`.
CHECKED_ROLE = "cr_password_user"


def _require_password(hba: Path) -> None:
    """Put the password rule for :data:`CHECKED_ROLE` before initdb's trust rules (first match wins)."""
    text = hba.read_text()
    with hba.open("w") as f:  # rewritten in place: the owner (the server's account) stays
        f.write(f"host all {CHECKED_ROLE} 127.0.0.1/32 scram-sha-256\n{text}")


def _as(command: list[str], as_account: bool) -> list[str]:
    return ["runuser", "-u", SERVER_ACCOUNT, "--", *command] if as_account else command


def _run(command: list[str], what: str) -> None:
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=120)
    if done.returncode != 0:
        detail = (done.stderr or done.stdout).strip()[-800:]
        raise PgServerError(f"{what} failed (exit {done.returncode}): {detail}")


def start_postgres(*, install: bool = True, durable: bool = False) -> PgServer:
    """Start a throwaway PostgreSQL server on 127.0.0.1 (see the module's text); stop it with ``stop()``.

    ``install``: whether a missing PostgreSQL may be installed with apt-get (root only). ``durable``: keep
    PostgreSQL's default fsync'd commits (benchmarks comparing with SQLite's fsync'd commits).
    Raises :class:`PgServerError` with what to do when no server can be started.
    """
    existing = os.environ.get("CR_EINVOICE_TEST_PG_DSN")
    if existing:
        from psycopg.conninfo import conninfo_to_dict

        info = conninfo_to_dict(existing)
        return PgServer(
            dsn=existing,
            host=str(info.get("host") or "127.0.0.1"),
            port=int(info.get("port") or 5432),
            user=str(info.get("user") or "postgres"),
        )
    pg_bin = find_pg_bin()
    if pg_bin is None:
        if not install:
            raise PgServerError(
                "PostgreSQL's initdb/pg_ctl were not found (install the 'postgresql' package)"
            )
        pg_bin = _install()
    as_account = os.geteuid() == 0
    if as_account and shutil.which("runuser") is None:
        raise PgServerError("running as root, PostgreSQL needs another account, but 'runuser' is missing")
    user = SERVER_ACCOUNT if as_account else (os.environ.get("USER") or "postgres")
    root = Path(tempfile.mkdtemp(prefix="cr-einvoice-pg-"))
    if as_account:
        try:
            shutil.chown(root, SERVER_ACCOUNT, SERVER_ACCOUNT)
        except (LookupError, PermissionError) as exc:
            shutil.rmtree(root, ignore_errors=True)
            raise PgServerError(
                f"running as root, the server must run as the '{SERVER_ACCOUNT}' account, which is not "
                f"usable ({exc}); install Debian's 'postgresql' package (it creates the account) or run as "
                "another user"
            ) from None
    data = root / "data"
    try:
        _run(
            _as(
                [
                    str(pg_bin / "initdb"),
                    "-D",
                    str(data),
                    "-U",
                    user,
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--no-sync",
                ],
                as_account,
            ),
            "initdb",
        )
        _require_password(data / "pg_hba.conf")
        port = 0
        for _attempt in range(5):
            port = _free_port()
            options = (
                f"-c listen_addresses=127.0.0.1 -p {port} -c unix_socket_directories={root} "
                "-c max_connections=200"
            )
            if not durable:
                options += " -c fsync=off -c synchronous_commit=off -c full_page_writes=off"
            command = [str(pg_bin / "pg_ctl"), "-D", str(data), "-l", str(root / "server.log"), "-o", options]
            done = subprocess.run(
                _as([*command, "-w", "-t", "60", "start"], as_account),
                capture_output=True,
                text=True,
                check=False,
                timeout=90,
            )
            if done.returncode == 0:
                break
            log_text = (
                (root / "server.log").read_text(errors="replace") if (root / "server.log").exists() else ""
            )
            if "could not bind" not in log_text and "already in use" not in log_text:
                raise PgServerError(f"pg_ctl start failed: {(done.stderr or log_text).strip()[-800:]}")
        else:
            raise PgServerError("pg_ctl start failed: no free port could be bound")
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise
    server = PgServer(
        dsn=f"postgresql://{user}@127.0.0.1:{port}/postgres",
        host="127.0.0.1",
        port=port,
        user=user,
        datadir=root,
        _bin=pg_bin,
        _as_account=as_account,
    )
    atexit.register(server.stop)
    log.info("throwaway PostgreSQL %s on 127.0.0.1:%d (%s)", pg_bin, port, root)
    return server
