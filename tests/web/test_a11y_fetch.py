"""scripts/fetch_axe.py: the pinned axe-core is taken only from a verified tarball, and only axe.min.js.

npm is replaced by a small script on PATH that "packs" a tarball made here, so no network is used.
"""

from __future__ import annotations

import base64
import hashlib
import io
import stat
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from tests.web.conftest import ROOT, load_fetch_axe

loaded = load_fetch_axe("fetch_axe_under_test")

SCRIPT = b"/*! axe v4.14.1 (a stand-in) */ window.axe = {version: '4.14.1'};\n"


@pytest.fixture
def fetch_axe(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.setattr(loaded, "AXE_SHA256", hashlib.sha256(SCRIPT).hexdigest())
    return loaded


def tarball(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with tarfile.open(fileobj=out, mode="w:gz") as tar:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return out.getvalue()


def integrity(data: bytes) -> str:
    return "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()


def fake_npm(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tgz: bytes) -> Path:
    """An ``npm`` on PATH whose ``pack`` writes ``tgz``; it logs each call to calls.log."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    (tmp_path / "served.tgz").write_bytes(tgz)
    npm = bin_dir / "npm"
    npm.write_text(
        f"#!{sys.executable}\n"
        "import shutil, sys\n"
        "args = sys.argv[1:]\n"
        f"open({str(tmp_path / 'calls.log')!r}, 'a').write(' '.join(args) + '\\n')\n"
        "dest = args[args.index('--pack-destination') + 1]\n"
        f"shutil.copy({str(tmp_path / 'served.tgz')!r}, dest + '/axe-core-4.14.1.tgz')\n"
    )
    npm.chmod(npm.stat().st_mode | stat.S_IXUSR)
    monkeypatch.setenv("PATH", str(bin_dir))
    return tmp_path / "calls.log"


def calls(log: Path) -> list[str]:
    return log.read_text().splitlines() if log.exists() else []


def test_extracts_only_axe_min_js_from_a_verified_tarball(
    fetch_axe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tgz = tarball({"package/axe.min.js": SCRIPT, "package/axe.js": b"full", "package/package.json": b"{}"})
    log = fake_npm(tmp_path, monkeypatch, tgz)
    monkeypatch.setattr(fetch_axe, "INTEGRITY", integrity(tgz))
    dest = tmp_path / "axe"
    assert fetch_axe.fetch(dest) == 0
    assert sorted(p.name for p in dest.iterdir()) == ["axe.min.js"]
    assert (dest / "axe.min.js").read_bytes() == SCRIPT
    assert calls(log) == ["pack axe-core@4.14.1 --silent --pack-destination " + calls(log)[0].split()[-1]]
    assert fetch_axe.fetch(dest) == 0  # present and unchanged: npm is not run again
    assert len(calls(log)) == 1


def test_a_changed_file_is_fetched_again(
    fetch_axe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tgz = tarball({"package/axe.min.js": SCRIPT})
    log = fake_npm(tmp_path, monkeypatch, tgz)
    monkeypatch.setattr(fetch_axe, "INTEGRITY", integrity(tgz))
    dest = tmp_path / "axe"
    dest.mkdir()
    (dest / "axe.min.js").write_bytes(SCRIPT + b"// edited\n")
    assert not fetch_axe.present(dest)
    assert fetch_axe.fetch(dest) == 0
    assert (dest / "axe.min.js").read_bytes() == SCRIPT
    assert len(calls(log)) == 1


def test_a_tarball_that_is_not_the_pinned_one_is_refused(
    fetch_axe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake_npm(tmp_path, monkeypatch, tarball({"package/axe.min.js": SCRIPT}))  # integrity stays the pinned one
    dest = tmp_path / "axe"
    assert fetch_axe.fetch(dest) == 1
    assert "integrity mismatch" in capsys.readouterr().err
    assert not dest.exists()


def test_a_verified_tarball_with_another_axe_min_js_is_refused(
    fetch_axe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tgz = tarball({"package/axe.min.js": b"window.axe = 'something else';"})
    fake_npm(tmp_path, monkeypatch, tgz)
    monkeypatch.setattr(fetch_axe, "INTEGRITY", integrity(tgz))
    dest = tmp_path / "axe"
    assert fetch_axe.fetch(dest) == 1
    assert "not the pinned file" in capsys.readouterr().err
    assert not dest.exists()


def test_a_tarball_without_axe_min_js_is_refused(
    fetch_axe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tgz = tarball({"package/../axe.min.js": SCRIPT, "package/axe.js": SCRIPT})
    fake_npm(tmp_path, monkeypatch, tgz)
    monkeypatch.setattr(fetch_axe, "INTEGRITY", integrity(tgz))
    assert fetch_axe.fetch(tmp_path / "axe") == 1
    assert not (tmp_path / "axe").exists()


def test_without_npm_exit_code_2(fetch_axe: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    assert fetch_axe.fetch(tmp_path / "axe") == 2


def test_the_pinned_version_and_digests_are_the_ones_the_tests_load() -> None:
    assert loaded.VERSION == "4.14.1"
    assert loaded.INTEGRITY.startswith("sha512-") and len(base64.b64decode(loaded.INTEGRITY[7:])) == 64
    assert len(loaded.AXE_SHA256) == 64
    real = loaded.DEFAULT_DEST / loaded.FILENAME
    if real.exists():  # fetched (make test fetches it before pytest)
        assert loaded.present(loaded.DEFAULT_DEST)
        assert real.read_bytes().startswith(b"/*! axe v4.14.1")


def test_make_test_fetches_axe_right_after_the_mcode_examples() -> None:
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest: ", 1)[1].split("\n\n", 1)[0].splitlines()
    steps = [line.strip() for line in recipe[1:]]
    i = steps.index("$(BIN)/python scripts/fetch_mcode.py")
    assert steps[i + 1] == "$(BIN)/python scripts/fetch_axe.py"
    assert makefile.count("scripts/fetch_axe.py") == 1
