"""Random identifiers (UUID version 4) from the operating system's CSPRNG, read in blocks.

``uuid.uuid4()`` reads 16 bytes with one ``getrandom`` call, and CPython releases the GIL around that
call: on the service's event loop every id then lets a busy worker thread keep the GIL for up to the
switch interval (5 ms) before the loop gets it back. Reading 4 KiB at a time makes that one call per
256 ids. The bytes are the same kind (``os.urandom``); a forked process starts with an empty block, so
parent and child never hand out the same id.
"""

from __future__ import annotations

import os
import threading
import uuid

BLOCK_BYTES = 4096
_lock = threading.Lock()
_block = b""
_used = 0


def _forget() -> None:
    global _block, _used
    _block, _used = b"", 0


os.register_at_fork(after_in_child=_forget)


def uuid4() -> uuid.UUID:
    """A random (version 4) UUID, as ``uuid.uuid4()``."""
    global _block, _used
    with _lock:
        if _used + 16 > len(_block):
            _block, _used = os.urandom(BLOCK_BYTES), 0
        raw = _block[_used : _used + 16]
        _used += 16
    return uuid.UUID(bytes=raw, version=4)


def new_id() -> str:
    """A random UUID as text (``8-4-4-4-12`` hex)."""
    return str(uuid4())
