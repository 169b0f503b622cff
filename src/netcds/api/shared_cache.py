"""The second level of the service cache, shared by the workers of ``netcds serve --workers N``.

Each worker keeps its own in-memory LRU (:mod:`netcds.api.eval_cache`); a record seen by one worker is
unknown to the others, and with two workers that nearly doubled the engine runs of a mixed load. This
level is one private directory that every worker of one server reads and writes: one file per entry,
named by the sha256 of its key and holding the key itself (checked on read) before the value. It lives
in ``/dev/shm`` when there is one (memory), else the temp dir, and is deleted when the server stops.

A value is written to a temporary file and renamed into place, so a reader sees a whole entry or none,
and a worker killed mid-write leaves no partial entry. Writing a ~100 KB evaluation this way costs about
a third of an SQLite insert (which also paid WAL checkpoints of several milliseconds inside requests).
An entry that is already there is not written again: values are deterministic for their key.

Only deterministic results are kept (evaluation outputs, prefetch mappings, patient-view and order
cards), under the same keys as the first level, which include the guideline version, knowledge digest
and engine version. Bounded in bytes (``server.shared_cache_mb``): after every eighth of the budget a
worker has written, it lists the directory and removes the oldest entries beyond the budget. Any
file-system error makes a lookup a miss and a store a no-op: the cache can slow nothing down by failing.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

from netcds.ids import new_id

log = logging.getLogger("netcds.api")
CHECK_SHARE = 8  # the size check runs after each 1/CHECK_SHARE of the budget written by this process
STALE_TMP_S = 60.0  # a temporary file older than this was left by a killed writer
NAME_CHARS = 40  # an entry's file name: this many hex digits of the sha256 of its key
HEX = frozenset("0123456789abcdef")


def make_dir() -> Path:
    """A private directory for one server's shared cache (memory-backed where available)."""
    # mkdtemp below makes a new directory only this user can enter (0700)
    shm = "/dev/shm"  # noqa: S108  # nosec B108
    base = shm if os.path.isdir(shm) and os.access(shm, os.W_OK) else None
    return Path(tempfile.mkdtemp(prefix="netcds-cache-", dir=base))


def remove_dir(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def _is_entry(name: str) -> bool:
    return len(name) == NAME_CHARS and all(c in HEX for c in name)


def _is_tmp(name: str) -> bool:
    return name.startswith(".") and name.endswith(".tmp") and _is_entry(name[1 : 1 + NAME_CHARS])


class SharedCache:
    """Key (text) -> value (bytes) as files in the directory ``path`` (made if its parent exists), bounded
    in bytes, safe across threads and forked processes. Only files named like entries are ever removed."""

    def __init__(self, path: Path, max_bytes: int) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self._lock = threading.Lock()
        self._written = 0  # bytes this process wrote since its last size check
        self._warned = False
        try:
            path.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:  # e.g. its parent is gone: every lookup is a miss
            self._failed(exc)

    def _file(self, key: str) -> Path:
        return self.path / hashlib.sha256(key.encode()).hexdigest()[:NAME_CHARS]

    def _failed(self, exc: OSError) -> None:
        if not self._warned:
            self._warned = True
            log.warning("shared cache unavailable, working without it: %s", type(exc).__name__)

    def get(self, key: str) -> bytes | None:
        try:
            with open(self._file(key), "rb") as f:
                raw = f.read()
        except FileNotFoundError:
            return None
        except OSError as exc:
            self._failed(exc)
            return None
        head = key.encode() + b"\n"
        return raw[len(head) :] if raw.startswith(head) else None  # another key with the same name: a miss

    def put(self, key: str, value: bytes) -> None:
        if len(value) > self.max_bytes:
            return
        final = self._file(key)
        if final.exists():  # the same key always has the same value
            return
        tmp = self.path / f".{final.name}.{new_id()}.tmp"
        try:
            with open(tmp, "xb") as f:
                f.write(key.encode() + b"\n")
                f.write(value)
            now = time.time_ns()
            os.utime(tmp, ns=(now, now))  # the age eviction goes by, to the nanosecond
            os.replace(tmp, final)
        except OSError as exc:
            self._failed(exc)
            tmp.unlink(missing_ok=True)
            return
        with self._lock:
            self._written += len(value)
            check = self._written * CHECK_SHARE >= self.max_bytes
            if check:
                self._written = 0
        if check:
            self._evict()

    def _evict(self) -> None:
        """Remove the oldest entries until the total is under 3/4 of the budget (so the next check is not
        at once), and temporary files a killed writer left."""
        entries: list[tuple[int, int, str]] = []
        now = time.time_ns()
        try:
            with os.scandir(self.path) as it:
                for e in it:
                    if _is_tmp(e.name):
                        if now - e.stat().st_mtime_ns > STALE_TMP_S * 1e9:
                            os.unlink(e.path)
                    elif _is_entry(e.name):  # nothing else in the directory is ever touched
                        st = e.stat()
                        entries.append((st.st_mtime_ns, st.st_size, e.path))
        except OSError as exc:
            self._failed(exc)
            return
        total = sum(size for _, size, _ in entries)
        if total <= self.max_bytes:
            return
        for _, size, path in sorted(entries):
            if total <= self.max_bytes * 3 // 4:
                break
            try:
                os.unlink(path)
            except FileNotFoundError:  # another worker removed it first
                pass
            except OSError as exc:
                self._failed(exc)
                return
            total -= size
