#!/usr/bin/env python3
"""Fetch axe-core's axe.min.js once into tests/fixtures/axe/ (gitignored) for the accessibility tests.

Runs ``npm pack axe-core@4.14.1`` (the public npm registry), checks the tarball against the
registry's published sha512 ``integrity`` string pinned below, and extracts only
``package/axe.min.js`` (whose SHA-256, taken from that verified tarball, is pinned too). Idempotent:
does nothing when the file is present and its SHA-256 matches. Exit code 0 on success, 2 when npm
is missing, 1 on any other failure.

    python scripts/fetch_axe.py [--dest tests/fixtures/axe] [--force]
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "axe-core"
VERSION = "4.14.1"
# npm registry 'dist.integrity' of axe-core-4.14.1.tgz (npm view axe-core@4.14.1 dist.integrity)
INTEGRITY = "sha512-FHfa+lmNjQZfJz1q8wKqIDwC6DExcHt/pkjNQb09a3NPjCKg2rhu5qb2S4r76ASyFNNtuFooJpZe37OgudVGtQ=="
# SHA-256 of package/axe.min.js inside that tarball: what tests/web/test_a11y.py loads
AXE_SHA256 = "29348999450cdf2849a8e70b7912fc2da85a849da39c0d0d5394f51d4a9ed95c"
MEMBER = "package/axe.min.js"
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEST = ROOT / "tests" / "fixtures" / "axe"
FILENAME = "axe.min.js"


def _integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode("ascii")


def present(dest: Path) -> bool:
    """True when ``dest`` holds this version's axe.min.js, byte for byte."""
    script = dest / FILENAME
    return script.is_file() and hashlib.sha256(script.read_bytes()).hexdigest() == AXE_SHA256


def _pack(npm: str, tmp: str) -> Path | None:
    proc = subprocess.run(
        [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", tmp],
        capture_output=True, text=True, timeout=300, check=False,
    )  # fmt: skip
    tgz = Path(tmp) / f"{PACKAGE}-{VERSION}.tgz"
    if proc.returncode != 0 or not tgz.exists():
        print(f"npm pack failed ({proc.returncode}): {proc.stderr.strip()}", file=sys.stderr)
        return None
    return tgz


def _extract(tgz: Path) -> bytes | None:
    with tarfile.open(tgz, "r:gz") as tar:
        member = next((m for m in tar.getmembers() if m.isfile() and m.name == MEMBER), None)
        handle = tar.extractfile(member) if member is not None else None
        if handle is None:
            print(f"{tgz.name} has no {MEMBER}", file=sys.stderr)
            return None
        return handle.read()


def fetch(dest: Path, force: bool = False) -> int:
    if not force and present(dest):
        print(f"{dest / FILENAME}: {PACKAGE}@{VERSION} already present")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: install Node.js/npm to fetch axe-core", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        tgz = _pack(npm, tmp)
        if tgz is None:
            return 1
        got = _integrity(tgz.read_bytes())
        if got != INTEGRITY:
            print(f"integrity mismatch for {tgz.name}: {got} != {INTEGRITY}", file=sys.stderr)
            return 1
        script = _extract(tgz)
    if script is None:
        return 1
    if hashlib.sha256(script).hexdigest() != AXE_SHA256:
        print(f"{MEMBER} in the verified tarball is not the pinned file (SHA-256)", file=sys.stderr)
        return 1
    dest.mkdir(parents=True, exist_ok=True)
    (dest / FILENAME).write_bytes(script)
    print(f"{dest / FILENAME}: {PACKAGE}@{VERSION} ({len(script)} bytes)")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    ap.add_argument("--force", action="store_true", help="download again even if present")
    args = ap.parse_args(argv)
    return fetch(args.dest, args.force)


if __name__ == "__main__":
    sys.exit(main())
