"""Group commit: many small appends, one transaction and one fsync.

Every request the service answers appends to the store (an audit entry, often an evaluation), and
with ``synchronous=FULL`` each commit waits for the disk. Committing them one by one caps a server
near one request per fsync. Here one writer thread takes whatever appends are queued, runs them in
ONE transaction and commits once; each caller waits for that commit, so a caller that returns has a
durable write, exactly as before. When a batch fails (say one append breaks a unique constraint),
its appends are retried one per transaction, so only the faulty one fails, with its own error.

An append is a function that adds rows to the given session; it may run twice (batch, then alone),
so it must build fresh rows each time it is called. Plain appends of rows nothing in the batch reads
back (audit entries, evaluation records) go through :func:`queue_insert`: one multi-row INSERT per
table at the end of the batch instead of the ORM's unit of work per object. While batches keep
holding more than one append (requests writing concurrently), the writer waits ``WINDOW_S`` before
each commit so that more appends share it; a lone request's commit is never delayed.

A request on an event loop awaits its appends with :func:`committed`. The writer then wakes each
event loop once per batch (one ``call_soon_threadsafe`` for all of that loop's waiters) instead of once
per append: with ``asyncio.wrap_future`` every resolved future cost its own cross-thread wake-up.
"""

from __future__ import annotations

import asyncio
import os
import queue
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from contextlib import AbstractContextManager, suppress
from functools import partial
from pathlib import Path
from types import TracebackType
from typing import Any, Generic, TypeVar

from sqlalchemy import Table, insert
from sqlalchemy.orm import Session, sessionmaker

T = TypeVar("T")
Append = Callable[[Session], T]
MAX_BATCH = 512
# under concurrent writes the writer waits this long before a commit, so that one fsync serves more
# appends (each commit costs ~0.1 ms of CPU and a disk flush); a lone writer never waits
WINDOW_S = 0.002
# the writer's wait, by this module's own name: a test replaces it here, never ``time.sleep`` for the whole
# process (other threads, e.g. py4j's finalizer, poll with time.sleep and would spin)
_pause = time.sleep
_INSERTS = "netcds.inserts"
_RESOLVING = threading.local()  # in the writer thread while it resolves a batch: {loop: [waiters]}


def queue_insert(s: Session, table: Table, values: dict[str, Any]) -> None:
    """Insert ``values`` into ``table`` when the batch commits (rows of one table in one statement)."""
    s.info.setdefault(_INSERTS, {}).setdefault(table, []).append(values)


def _run(session: Session, items: list[_Item[Any]]) -> list[Any]:
    results = [i.append(session) for i in items]
    for table, rows in session.info.pop(_INSERTS, {}).items():
        session.execute(insert(table), rows)
    return results


async def committed(futures: Sequence[Future[T]]) -> list[T]:
    """Await futures of :meth:`GroupCommit.submit` from an event loop (their results, in order; raises
    what an append raised). Waiters of one batch are woken together, one wake-up per loop."""
    loop = asyncio.get_running_loop()
    for future in futures:
        if not future.done():
            waiter: asyncio.Future[None] = loop.create_future()
            future.add_done_callback(partial(_wake, loop, waiter))
            await waiter
    return [f.result() for f in futures]


def _wake(loop: asyncio.AbstractEventLoop, waiter: asyncio.Future[None], _done: Future[Any]) -> None:
    pending: dict[asyncio.AbstractEventLoop, list[asyncio.Future[None]]] | None = getattr(
        _RESOLVING, "pending", None
    )
    if pending is not None:  # the writer resolving a batch: wake this loop once, after the batch
        pending.setdefault(loop, []).append(waiter)
    else:  # resolved elsewhere (a cancel, or already done when awaited)
        _notify(loop, [waiter])


def _notify(loop: asyncio.AbstractEventLoop, waiters: list[asyncio.Future[None]]) -> None:
    with suppress(RuntimeError):  # a closed loop: nobody is waiting any more
        loop.call_soon_threadsafe(_release, waiters)


def _release(waiters: list[asyncio.Future[None]]) -> None:
    for w in waiters:
        if not w.done():
            w.set_result(None)


class _Resolving:
    """The writer resolves a batch's futures inside this block; it then wakes each loop once."""

    def __enter__(self) -> None:
        _RESOLVING.pending = {}

    def __exit__(self, *_exc: object) -> None:
        pending = _RESOLVING.pending
        _RESOLVING.pending = None
        for loop, waiters in pending.items():
            _notify(loop, waiters)


class _Item(Generic[T]):
    __slots__ = ("append", "future")

    def __init__(self, append: Append[T]) -> None:
        self.append = append
        self.future: Future[T] = Future()


class GroupCommit:
    """One writer thread (started on first use) committing queued appends together."""

    def __init__(self, factory: sessionmaker[Session], lock: AbstractContextManager[Any]) -> None:
        self._factory = factory
        self._lock = lock
        self._queue: queue.SimpleQueue[_Item[Any] | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()
        self.batches = 0
        self.appends = 0

    def submit(self, append: Append[T]) -> Future[T]:
        """Queue ``append``; the future resolves with its result once its transaction has committed."""
        item = _Item(append)
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(target=self._run, name="netcds-group-commit", daemon=True)
                    self._thread.start()
        self._queue.put(item)
        return item.future

    def run(self, append: Append[T]) -> T:
        """Queue ``append`` and wait for its commit (raises what the append raised)."""
        return self.submit(append).result()

    def close(self) -> None:
        """Commit what is queued, then stop the thread."""
        if self._thread is not None:
            self._queue.put(None)
            self._thread.join()
            self._thread = None

    def _run(self) -> None:
        busy = False  # the last batch had company: other requests are writing too
        while True:
            first = self._queue.get()
            if first is None:
                return
            if busy:  # let the appends of requests already under way join this commit
                _pause(WINDOW_S)
            batch: list[_Item[Any]] = [first]
            stop = False
            while len(batch) < MAX_BATCH:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    stop = True
                    break
                batch.append(nxt)
            busy = len(batch) > 1
            with _Resolving():
                self._commit(batch)
            if stop:
                return

    def _commit(self, batch: list[_Item[Any]]) -> None:
        batch = [i for i in batch if i.future.set_running_or_notify_cancel()]
        try:
            with self._lock, self._factory.begin() as session:
                results = _run(session, batch)
        except Exception as exc:
            if len(batch) == 1:
                batch[0].future.set_exception(exc)
                return
            for item in batch:  # isolate the faulty append: each alone, in order
                self._alone(item)
            return
        self.batches += 1
        self.appends += len(batch)
        for item, result in zip(batch, results, strict=True):
            item.future.set_result(result)

    def _alone(self, item: _Item[Any]) -> None:
        try:
            with self._lock, self._factory.begin() as session:
                result = _run(session, [item])[0]
        except BaseException as exc:
            item.future.set_exception(exc)
        else:
            self.batches += 1
            self.appends += 1
            item.future.set_result(result)


class WriterLock:
    """SQLite has one writer at a time. This process's writers queue on a thread lock, and the other
    processes' (``serve --workers N``) on an ``flock`` of ``<database>.writer-lock``: both wait in the
    kernel, where SQLite's own busy handler would sleep and retry with a growing back-off (which made
    the latency tail of a 2-process server explode). ``path`` None: the thread lock only."""

    def __init__(self, path: Path | None) -> None:
        self._lock = threading.Lock()
        self._fd: int | None = None
        if path is not None and _flock is not None:
            self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)

    def __enter__(self) -> None:
        self._lock.acquire()
        if self._fd is not None and _flock is not None:
            try:
                _flock.flock(self._fd, _flock.LOCK_EX)
            except BaseException:
                self._lock.release()
                raise

    def __exit__(
        self, _t: type[BaseException] | None, _e: BaseException | None, _tb: TracebackType | None
    ) -> None:
        try:
            if self._fd is not None and _flock is not None:
                _flock.flock(self._fd, _flock.LOCK_UN)
        finally:
            self._lock.release()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


try:
    import fcntl as _flock
except ImportError:  # not POSIX: one process per database file
    _flock = None  # type: ignore[assignment]
