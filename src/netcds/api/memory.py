"""How a service process asks the C library for memory.

glibc serves a request for 128 KiB or more with its own ``mmap`` and gives it back to the system when it
is freed, but each time such a block is freed it raises that threshold to the block's size (up to 32
MiB), so later blocks of that size come from the heaps of the threads that ask for them and are kept
there. The service allocates one such block per answer (an Evaluation's ~100-230 KB of JSON, unpacked
from the cache or freshly serialized) in several threads, and with the dynamic threshold those heaps
grew and fragmented: under ``bench/load.py`` a one-worker server's peak resident memory was 404 MiB
with the threshold left to move and 244 MiB with it fixed, at the same throughput. ``mallopt`` with
``M_MMAP_THRESHOLD`` fixes the threshold (and turns the adjustment off); see mallopt(3).
"""

from __future__ import annotations

import ctypes
import platform
import sys

M_MMAP_THRESHOLD = -3  # glibc's <malloc.h>
MMAP_THRESHOLD = 128 * 1024  # glibc's initial value


def fix_mmap_threshold(size: int = MMAP_THRESHOLD) -> bool:
    """Fix glibc's mmap threshold at ``size`` bytes in this process; whether it was set (False off glibc)."""
    if not sys.platform.startswith("linux") or platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)  # the C library this process runs on
        return bool(libc.mallopt(M_MMAP_THRESHOLD, size))
    except (OSError, AttributeError):
        return False
