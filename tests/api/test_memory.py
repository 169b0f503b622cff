"""The service keeps large blocks out of its threads' heaps (glibc's mmap threshold fixed at 128 KiB)."""

from __future__ import annotations

import platform
import subprocess
import sys
import textwrap

import pytest
from fastapi.testclient import TestClient

from netcds.api import app as app_module

# after one freed 16 MiB block, is a new 8 MiB block served by its own mmap (glibc's mallinfo2: bytes in
# mmapped blocks) or from the heap? (glibc maps a block only when no free heap chunk fits it: a block this
# large finds none, where a service's ~170 KB blocks sometimes do)
PROBE = textwrap.dedent(
    """
    import ctypes, os, sys
    from netcds.api.memory import fix_mmap_threshold

    FIELDS = ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks",
              "fordblks", "keepcost")

    class MallInfo2(ctypes.Structure):
        _fields_ = [(name, ctypes.c_size_t) for name in FIELDS]

    libc = ctypes.CDLL(None)
    libc.mallinfo2.restype = MallInfo2
    fixed = fix_mmap_threshold() if sys.argv[1] == "fix" else False
    block = os.urandom(16 << 20)
    del block  # left to move, glibc's threshold is now 16 MiB
    before = libc.mallinfo2().hblkhd
    kept = os.urandom(8 << 20)
    print(fixed, libc.mallinfo2().hblkhd - before >= 8 << 20)
    """
)
GLIBC = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"


def _own_mmap(mode: str) -> tuple[bool, bool]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE, mode], capture_output=True, text=True, check=True, timeout=60
    ).stdout.split()
    return out[0] == "True", out[1] == "True"


@pytest.mark.skipif(not GLIBC, reason="glibc's allocator only")
def test_with_the_threshold_fixed_a_large_block_keeps_its_own_mapping() -> None:
    assert _own_mmap("fix") == (True, True)  # given back to the system when freed
    assert _own_mmap("leave") == (False, False)  # the control: from the heap, where it stays


def test_the_service_fixes_it_when_it_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[int] = []
    monkeypatch.setattr(app_module, "fix_mmap_threshold", lambda: calls.append(1) or True)
    with TestClient(app_module.create_app()):
        pass
    assert calls == [1]
