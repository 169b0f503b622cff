"""The second level of the service cache, shared by the workers of ``netcds serve --workers N``.

Each worker keeps its own in-memory LRU (:mod:`netcds.api.eval_cache`); a record seen by one worker is
unknown to the others, and with two workers that nearly doubled the engine runs of a mixed load. This
level is one SQLite file that every worker of one server reads and writes (WAL, so reads never wait for
a writer; ``synchronous=OFF``: it is a cache, nothing in it is a record of what was said, and it is
deleted when the server stops). It lives in ``/dev/shm`` when there is one (memory), else the temp dir.

Only deterministic results are kept (evaluation outputs, prefetch mappings, patient-view and order
cards), under the same keys as the first level, which include the guideline version, knowledge digest
and engine version. Bounded in bytes (``server.shared_cache_mb``; the oldest entries go first). Any
SQLite error makes a lookup a miss and a store a no-op: the cache can slow nothing down by failing.
"""

from __future__ import annotations

import logging
import os
import shutil
import sqlite3
import tempfile
import threading
from pathlib import Path

log = logging.getLogger("netcds.api")
EVICT_EVERY = 64  # stores between size checks


def make_dir() -> Path:
    """A private directory for one server's shared cache (memory-backed where available)."""
    # mkdtemp below makes a new directory only this user can enter (0700)
    shm = "/dev/shm"  # noqa: S108  # nosec B108
    base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="netcds-cache-", dir=base))


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


class SharedCache:
    """Key (text) -> value (bytes), bounded in bytes, safe across threads and forked processes."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._conn: sqlite3.Connection | None = None
        self._pid = 0
        self._stores = 0
        self._warned = False
        self.busy = 0  # lookups and stores skipped because another worker held the write lock

    def _connection(self) -> sqlite3.Connection:
        """This process's connection (opened after fork: a connection must not cross a fork)."""
        if self._conn is None or self._pid != os.getpid():
            # timeout 0: a store that finds the other worker writing is skipped, never waited for (SQLite's
            # busy handler sleeps 1-100 ms at a time: that put 100 ms on the latency tail)
            conn = sqlite3.connect(self.path, timeout=0, check_same_thread=False, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=OFF")
            conn.execute("CREATE TABLE IF NOT EXISTS cache (key TEXT PRIMARY KEY, value BLOB NOT NULL)")
            self._conn, self._pid = conn, os.getpid()
        return self._conn

    def _failed(self, exc: sqlite3.Error) -> None:
        if "locked" in str(exc) or "busy" in str(exc):  # another worker is writing: a miss, not a fault
            self.busy += 1
            return
        if not self._warned:
            self._warned = True
            log.warning("shared cache unavailable, working without it: %s", type(exc).__name__)

    def get(self, key: str) -> bytes | None:
        with self._lock:
            try:
                row = self._connection().execute("SELECT value FROM cache WHERE key = ?", (key,)).fetchone()
            except sqlite3.Error as exc:
                self._failed(exc)
                return None
        return bytes(row[0]) if row is not None else None

    def put(self, key: str, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        with self._lock:
            try:
                conn = self._connection()
                conn.execute("INSERT OR REPLACE INTO cache (key, value) VALUES (?, ?)", (key, value))
                self._stores += 1
                if self._stores % EVICT_EVERY == 0:
                    self._evict(conn)
            except sqlite3.Error as exc:
                self._failed(exc)

    def _evict(self, conn: sqlite3.Connection) -> None:
        """Drop the oldest entries (lowest rowid) until the total is under the budget."""
        total = conn.execute("SELECT coalesce(sum(length(value)), 0) FROM cache").fetchone()[0]
        if total <= self.max_bytes:
            return
        excess = total - self.max_bytes * 3 // 4  # leave room, so eviction does not run at every check
        rows = conn.execute("SELECT rowid, length(value) FROM cache ORDER BY rowid").fetchall()
        cut, freed = 0, 0
        for rowid, size in rows:
            if freed >= excess:
                break
            cut, freed = rowid, freed + size
        conn.execute("DELETE FROM cache WHERE rowid <= ?", (cut,))

    def close(self) -> None:
        with self._lock:
            if self._conn is not None and self._pid == os.getpid():
                self._conn.close()
            self._conn = None
