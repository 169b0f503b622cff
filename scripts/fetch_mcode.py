#!/usr/bin/env python3
"""Fetch the official mCODE 4.0.0 IG examples once into tests/fixtures/mcode/ (gitignored).

Runs ``npm pack hl7.fhir.us.mcode@4.0.0`` (the HL7 FHIR package on the public npm
registry), checks the tarball's SHA-1 against the published one, and extracts only
``package/example/*.json`` and ``package/package.json``. Idempotent: does nothing
when the target already holds this version. Exit code 0 on success, 2 when npm is
missing, 1 on any other failure.

    python scripts/fetch_mcode.py [--dest tests/fixtures/mcode] [--force]
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

PACKAGE = "hl7.fhir.us.mcode"
VERSION = "4.0.0"
SHA1 = "b1d877a4ef642106699c6431b1f6d9fb5c52ea97"  # npm registry 'shasum' of hl7.fhir.us.mcode-4.0.0.tgz
ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DEST = ROOT / "tests" / "fixtures" / "mcode"
MARKER = ".complete"


def _wanted(name: str) -> bool:
    parts = Path(name).parts
    if ".." in parts or name.startswith("/"):
        return False
    return name == "package/package.json" or (
        len(parts) == 3 and parts[:2] == ("package", "example") and name.endswith(".json")
    )


def fetch(dest: Path, force: bool = False) -> int:
    marker = dest / MARKER
    if not force and marker.exists() and marker.read_text().strip() == f"{PACKAGE}@{VERSION}":
        print(f"{dest}: {PACKAGE}@{VERSION} already present")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: install Node.js/npm to fetch the mCODE examples", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(
            [npm, "pack", f"{PACKAGE}@{VERSION}", "--silent", "--pack-destination", tmp],
            capture_output=True, text=True, timeout=300, check=False,
        )  # fmt: skip
        tgz = Path(tmp) / f"{PACKAGE}-{VERSION}.tgz"
        if proc.returncode != 0 or not tgz.exists():
            print(f"npm pack failed ({proc.returncode}): {proc.stderr.strip()}", file=sys.stderr)
            return 1
        digest = hashlib.sha1(tgz.read_bytes()).hexdigest()  # noqa: S324 - npm's published checksum is SHA-1
        if digest != SHA1:
            print(f"checksum mismatch for {tgz.name}: {digest} != {SHA1}", file=sys.stderr)
            return 1
        staging = Path(tmp) / "out"
        with tarfile.open(tgz, "r:gz") as tar:
            members = [m for m in tar.getmembers() if m.isfile() and _wanted(m.name)]
            tar.extractall(staging, members=members, filter="data")
        if dest.exists():
            shutil.rmtree(dest)
        dest.mkdir(parents=True)
        for f in sorted((staging / "package" / "example").glob("*.json")):
            json.loads(f.read_text(encoding="utf-8"))  # must be valid JSON
            shutil.copy2(f, dest / f.name)
        shutil.copy2(staging / "package" / "package.json", dest / "package.json")
    marker.write_text(f"{PACKAGE}@{VERSION}\n")
    count = len(list(dest.glob("*.json"))) - 1
    print(f"{dest}: {count} example resources from {PACKAGE}@{VERSION}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dest", type=Path, default=DEFAULT_DEST)
    ap.add_argument("--force", action="store_true", help="download again even if present")
    args = ap.parse_args(argv)
    return fetch(args.dest, args.force)


if __name__ == "__main__":
    sys.exit(main())
