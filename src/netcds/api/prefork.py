"""``netcds serve --workers N``: N worker processes serving one port (POSIX fork).

On Linux each worker listens on its own ``SO_REUSEPORT`` socket, so the kernel spreads new connections
evenly over the workers (a worker that dies loses the connections still waiting in its own accept
queue; its replacement listens again); elsewhere the workers accept on one shared socket.

One Python process uses one core for the view code; N processes use N. The parent forks the workers
after the port is bound and the database migrated (it holds no threads and no open connections
when it forks), forwards SIGTERM / SIGINT to them, and restarts a worker that dies (at most
``MAX_RESTARTS`` in a minute, then it stops them all and exits 1). A worker exits when the parent
dies (Linux ``PR_SET_PDEATHSIG``). Each worker has its own store connections (the database
arbitrates between them: SQLite's file lock with busy_timeout, or PostgreSQL), caches and rate-limit
buckets.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections import deque
from collections.abc import Callable
from types import FrameType

log = logging.getLogger("netcds.api")
MAX_RESTARTS = 5
PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
    except (OSError, AttributeError):  # not Linux: the parent's SIGTERM forwarding still applies
        pass


def serve_workers(count: int, run_one: Callable[[int], None]) -> int:
    """Fork ``count`` workers running ``run_one(index)``; wait for them; the exit code for the CLI."""
    if not hasattr(os, "fork"):
        print("error: --workers > 1 needs a POSIX system (fork)", file=sys.stderr)
        return 2
    children: dict[int, int] = {}
    stopping = False
    failed = False
    restarts: deque[float] = deque()

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:  # the worker
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            _die_with_parent()
            code = 0
            try:
                run_one(index)
            except BaseException as exc:
                print(f"worker {index} stopped: {type(exc).__name__}", file=sys.stderr)
                code = 1
            finally:
                sys.stdout.flush()
                sys.stderr.flush()
            os._exit(code)
        children[pid] = index

    def stop(_signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for i in range(count):
        spawn(i)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        index = children.pop(pid, None)
        if index is None or stopping:
            continue
        now = time.monotonic()
        restarts.append(now)
        while restarts and now - restarts[0] > 60:
            restarts.popleft()
        if len(restarts) > MAX_RESTARTS:
            log.error("workers keep dying (%d restarts in a minute): stopping", len(restarts) - 1)
            failed = True
            stop(signal.SIGTERM, None)
            continue
        log.warning("worker %d exited (status %d): restarting it", index, os.waitstatus_to_exitcode(status))
        spawn(index)
    return 1 if failed else 0
