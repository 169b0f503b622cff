"""A private PostgreSQL server for the tests that need one (the store and the service on PostgreSQL).

``postgres`` (session scope, started on first use): the URL in ``NETCDS_TEST_POSTGRES_URL`` when set (an
existing server; its database is emptied by the tests), else a throw-away cluster made here with the
installed ``initdb``/``pg_ctl`` (on PATH or Debian's /usr/lib/postgresql/<major>/bin; scripts/install_postgres.sh
installs them): in a temporary directory, on a free loopback port picked at random, trust authentication,
run as the ``postgres`` user when the tests run as root (initdb refuses root), stopped and removed at the
end of the session whatever the results. When there is none, ``postgres.reason`` says why: the tests that
need it are skipped with that reason, and under ``CI=true`` the one test ``test_postgresql_is_available``
(tests/store/test_postgres_service.py) fails with it, so CI never passes without PostgreSQL.
"""

from __future__ import annotations

import atexit
import os
import pwd
import random
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

ENV_URL = "NETCDS_TEST_POSTGRES_URL"
DATABASE = "netcds_test"
CI = os.environ.get("CI") == "true"


@dataclass(frozen=True)
class Postgres:
    url: str | None  # None: no PostgreSQL for this run
    reason: str = ""  # why there is none


class UnavailableError(Exception):
    """PostgreSQL cannot be started here (the message says what is missing)."""


def _bin_dir() -> Path | None:
    """Where ``initdb`` and ``pg_ctl`` are: PATH first, else the newest Debian /usr/lib/postgresql/N/bin."""
    on_path = shutil.which("initdb")
    if on_path and shutil.which("pg_ctl"):
        return Path(on_path).resolve().parent
    found = [d for d in Path("/usr/lib/postgresql").glob("*/bin") if (d / "initdb").exists()]
    found.sort(key=lambda d: int(d.parent.name) if d.parent.name.isdigit() else 0)
    return found[-1] if found else None


def _free_port() -> int:
    for _ in range(50):
        port = random.randint(20_000, 60_999)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise UnavailableError("no free loopback port found")


class Cluster:
    """A throw-away cluster in ``root`` (data, log and Unix socket), reachable at 127.0.0.1:``port``."""

    def __init__(self) -> None:
        bindir = _bin_dir()
        if bindir is None:
            raise UnavailableError(
                "PostgreSQL's initdb/pg_ctl not found on PATH or in /usr/lib/postgresql/*/bin "
                "(run scripts/install_postgres.sh, or set NETCDS_TEST_POSTGRES_URL)"
            )
        self.bindir = bindir
        self.owner: pwd.struct_passwd | None = None
        if os.geteuid() == 0:  # initdb and postgres refuse to run as root
            try:
                self.owner = pwd.getpwnam("postgres")
            except KeyError:
                raise UnavailableError(
                    "running as root and there is no 'postgres' user to run initdb as"
                ) from None
        self.root = Path(tempfile.mkdtemp(prefix="netcds-pg-", dir="/tmp" if Path("/tmp").is_dir() else None))
        self.data = self.root / "data"
        self.port = 0
        if self.owner is not None:
            os.chown(self.root, self.owner.pw_uid, self.owner.pw_gid)

    def _run(self, *args: str) -> subprocess.CompletedProcess[str]:
        cmd = [str(self.bindir / args[0]), *args[1:]]
        if self.owner is not None:
            runuser = shutil.which("runuser") or "/usr/sbin/runuser"
            cmd = [runuser, "-u", self.owner.pw_name, "--", *cmd]
        return subprocess.run(cmd, cwd=self.root, capture_output=True, text=True, timeout=120, check=False)

    def _log_tail(self) -> str:
        log = self.root / "log"
        return log.read_text(errors="replace")[-1500:] if log.exists() else ""

    def start(self) -> str:
        """initdb, start on a free port (another try on a port taken meanwhile), create the database."""
        done = self._run(
            "initdb", "-D", str(self.data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync"
        )
        if done.returncode:
            raise UnavailableError(f"initdb failed: {(done.stderr or done.stdout).strip()[-1500:]}")
        settings = "-c fsync=off -c synchronous_commit=off -c full_page_writes=off"  # a throw-away cluster
        for _ in range(5):
            self.port = _free_port()
            opts = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 {settings}"
            log = self.root / "log"
            log.unlink(missing_ok=True)  # only this attempt's messages
            done = self._run(
                "pg_ctl", "-D", str(self.data), "-l", str(log), "-w", "-t", "60", "-o", opts, "start"
            )
            if done.returncode == 0:
                break
            if "could not bind" not in self._log_tail() and "in use" not in self._log_tail():
                raise UnavailableError(f"pg_ctl start failed: {done.stderr.strip()} {self._log_tail()}")
        else:
            raise UnavailableError(f"PostgreSQL did not start on any of 5 ports: {self._log_tail()}")
        try:
            import psycopg
        except ImportError:
            raise UnavailableError("the psycopg package is missing (pip install -e '.[dev]')") from None
        with psycopg.connect(host="127.0.0.1", port=self.port, user="postgres", autocommit=True) as conn:
            conn.execute(f"CREATE DATABASE {DATABASE}")
        return f"postgresql://postgres@127.0.0.1:{self.port}/{DATABASE}"

    def stop(self) -> None:
        """Stop the server (fast, else immediate) and remove its directory; safe to call twice."""
        running = (self.data / "postmaster.pid").exists()  # also one whose start timed out
        if running and self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop").returncode:
            self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="session")
def postgres() -> Iterator[Postgres]:
    """The PostgreSQL of this test session (see the module docstring); never raises."""
    if url := os.environ.get(ENV_URL):
        yield Postgres(url)
        return
    cluster: Cluster | None = None
    try:
        cluster = Cluster()
        atexit.register(cluster.stop)  # also when the session is cut short
        found = Postgres(cluster.start())
    except (UnavailableError, OSError, subprocess.SubprocessError) as exc:
        found = Postgres(None, str(exc) or type(exc).__name__)
    except Exception as exc:  # e.g. psycopg cannot connect: report it, do not break every test
        found = Postgres(None, f"{type(exc).__name__}: {exc}")
    try:
        yield found
    finally:
        if cluster is not None:
            cluster.stop()


@pytest.fixture
def postgres_url(postgres: Postgres) -> str:
    """The session's PostgreSQL URL; the test is skipped (with the reason) when there is none."""
    if postgres.url is None:
        where = " (CI: test_postgresql_is_available fails)" if CI else ""
        pytest.skip(f"no PostgreSQL: {postgres.reason}{where}")
    return postgres.url
