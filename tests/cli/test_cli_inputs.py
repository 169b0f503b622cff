"""Bad paths and environments on the command line: one ``error:`` line naming the file, option or setting,
exit 2 for a wrong input (1 for output the environment cannot take), never a traceback or a silent default."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.knowledge.load import default_knowledge_dir
from netcds.settings import Settings, db_error_reason

ROOT = Path(__file__).resolve().parents[2]
EXAMPLE = ROOT / "examples" / "patients" / "small_bowel_after_ssa.json"
runner = CliRunner()


def one_error_line(res: object, code: int = 2) -> str:
    """The command exited ``code`` with exactly one ``error:`` line on stderr and no traceback."""
    text = getattr(res, "stderr", "") + getattr(res, "stdout", "")
    assert getattr(res, "exit_code", None) == code, text
    assert isinstance(getattr(res, "exception", None), SystemExit), repr(getattr(res, "exception", None))
    assert "Traceback" not in text
    lines = [ln for ln in getattr(res, "stderr", "").splitlines() if ln.strip()]
    errors = [ln for ln in lines if ln.startswith("error: ")]
    assert len(errors) == 1, text
    return errors[0]


# --- 1. every path-taking option: a directory, a missing file, a file that is not text ----------------------
def _bad_paths(tmp_path: Path) -> dict[str, Path]:
    folder = tmp_path / "adir"
    folder.mkdir()
    binary = tmp_path / "binary.toml"
    binary.write_bytes(b"\xff\xfe\x00garbage")
    return {"directory": folder, "missing": tmp_path / "absent.toml", "not UTF-8": binary}


@pytest.mark.parametrize("kind", ["directory", "missing", "not UTF-8"])
@pytest.mark.parametrize("command", ["serve", "replay", "env"])
def test_a_config_path_that_is_no_config_file_is_one_line(tmp_path: Path, kind: str, command: str) -> None:
    bad = _bad_paths(tmp_path)[kind]
    db = f"sqlite:///{tmp_path / 'x.db'}"
    env: dict[str, str] = {}
    if command == "serve":
        args = ["serve", "--port", "0", "--db", db, "--config", str(bad)]
    elif command == "replay":
        args = ["evaluations", "replay", "e1", "--db", db, "--config", str(bad)]
    else:  # $NETCDS_CONFIG names the file
        args, env = ["evaluations", "replay", "e1", "--db", db], {"NETCDS_CONFIG": str(bad)}
    line = one_error_line(runner.invoke(app, args, env=env))
    assert line.startswith(f"error: {bad}: "), line
    assert not (tmp_path / "x.db").exists()


def test_a_db_url_file_or_jwks_file_that_cannot_be_read_is_one_line(tmp_path: Path) -> None:
    bad = _bad_paths(tmp_path)
    for kind in ("directory", "not UTF-8"):
        res = runner.invoke(app, ["serve", "--port", "0"], env={"NETCDS_DB_URL_FILE": str(bad[kind])})
        assert "NETCDS_DB_URL_FILE" in one_error_line(res) and str(bad[kind]) in res.stderr
    for kind in ("directory", "missing", "not UTF-8"):
        config = tmp_path / "c.toml"
        config.write_text(f'[[hooks.issuers]]\niss = "https://ehr"\njwks_file = "{bad[kind]}"\n')
        args = ["serve", "--port", "0", "--db", f"sqlite:///{tmp_path / 'y.db'}", "--config", str(config)]
        line = one_error_line(runner.invoke(app, args))
        assert line.startswith("error: hooks.issuers[0] (https://ehr): JWKS file ") and str(bad[kind]) in line
        assert not (tmp_path / "y.db").exists()  # refused before the database is opened


def test_serve_with_a_knowledge_version_that_is_not_installed_is_one_line(tmp_path: Path) -> None:
    res = runner.invoke(
        app, ["serve", "--port", "0", "--db", "sqlite://"], env={"NETCDS_GUIDELINE_VERSION": "9.9"}
    )
    line = one_error_line(res)
    assert "NETCDS_GUIDELINE_VERSION" in line and "no knowledge for nccn-net 9.9" in line and "5.2024" in line


@pytest.mark.parametrize("command", ["evaluate", "check"])
def test_a_patient_path_that_is_a_directory_is_one_line(tmp_path: Path, command: str) -> None:
    extra = ["--agent", "cabozantinib"] if command == "check" else []
    line = one_error_line(runner.invoke(app, [command, str(tmp_path), *extra]))
    assert str(tmp_path) in line and "Is a directory" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their permissions")
def test_an_unreadable_config_file_is_one_line(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text("[server]\nport = 1\n")
    config.chmod(0)
    line = one_error_line(runner.invoke(app, ["serve", "--config", str(config)]))
    assert line == f"error: {config}: cannot read the config file: Permission denied"


def test_an_unreadable_config_file_is_one_line_even_as_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # root reads any file, so CI (root) sees the refusal the kernel gives others through the same OSError path
    config = tmp_path / "c.toml"
    config.write_text("[server]\nport = 1\n")
    real = Path.read_text

    def refuse(self: Path, *args: object, **kwargs: object) -> str:
        if self == config:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Path, "read_text", refuse)
    line = one_error_line(runner.invoke(app, ["serve", "--config", str(config)]))
    assert line == f"error: {config}: cannot read the config file: Permission denied"


# --- 2. serve never creates the folder of a SQLite database -------------------------------------------------
def test_serve_refuses_a_sqlite_file_in_a_folder_that_does_not_exist(tmp_path: Path) -> None:
    missing = tmp_path / "typo" / "deeper"
    line = one_error_line(runner.invoke(app, ["serve", "--port", "0", "--db", f"sqlite:///{missing}/y.db"]))
    assert f"the folder {missing} does not exist" in line and "nothing created" in line
    assert not (tmp_path / "typo").exists()
    env = {"NETCDS_DB_URL": f"sqlite:///{missing}/y.db"}  # the same whichever setting names it
    assert f"the folder {missing}" in one_error_line(runner.invoke(app, ["serve", "--port", "0"], env=env))
    line = one_error_line(runner.invoke(app, ["serve", "--port", "0", "--db", f"sqlite:///{tmp_path}"]))
    assert f"{tmp_path} is a directory" in line


@pytest.mark.parametrize(
    "url",
    ["sqlite:///{tmp}/new.db", "sqlite:///:memory:", "sqlite://", "sqlite+pysqlite:///:memory:",
     "postgresql://u:p@127.0.0.1:1/db"],
)  # fmt: skip
def test_serve_still_takes_a_new_file_in_an_existing_folder_memory_and_postgres(
    tmp_path: Path, url: str
) -> None:
    from netcds.api.cli import startup_problem

    assert startup_problem(Settings(db_url=url.format(tmp=tmp_path))) is None
    assert not (tmp_path / "new.db").exists()  # checking creates nothing


# --- 3. the password is masked where it is a password, not wherever its letters occur -----------------------
@pytest.mark.parametrize(
    ("password", "message", "kept"),
    [
        ("p", '(psycopg.OperationalError) connection to server at "127.0.0.1", port 1 failed: Connection refused',
         '(psycopg.OperationalError) connection to server at "127.0.0.1", port 1 failed: Connection refused'),
        ("refused", "connection refused by postgresql://u:refused@127.0.0.1:1/db",
         "connection refused by postgresql://u:***@127.0.0.1:1/db"),
        ("a/b@c", "cannot parse postgresql+psycopg://u:a/b@c@h/db; password=a/b@c", None),
    ],
)  # fmt: skip
def test_db_error_reason_masks_only_the_password(password: str, message: str, kept: str | None) -> None:
    url = f"postgresql://u:{password}@127.0.0.1:1/db" if kept else f"postgresql://u:{password}@h/db"
    reason = db_error_reason(RuntimeError(message), url)
    if kept is not None:
        assert reason == f"RuntimeError: {kept}"
    else:
        assert password not in reason and "password=***" in reason and "u:***@h/db" in reason


def test_serve_keeps_the_driver_message_readable(tmp_path: Path) -> None:
    pytest.importorskip("psycopg")
    res = runner.invoke(app, ["serve", "--port", "0", "--db", "postgresql://u:p@127.0.0.1:1/db"])
    line = one_error_line(res, code=1)
    assert line.startswith(
        "error: cannot open the database postgresql://u:***@127.0.0.1:1/db: OperationalError"
    )
    assert "psycopg.OperationalError" in line and "***syco" not in line and ":p@" not in line


# --- 5. kb validate: a path that is no version folder; each problem once -----------------------------------
@pytest.mark.parametrize("kind", ["missing", "file", "no manifest"])
def test_kb_validate_a_path_that_is_no_version_folder_is_one_line(tmp_path: Path, kind: str) -> None:
    path = {"missing": tmp_path / "nope", "file": EXAMPLE, "no manifest": tmp_path}[kind]
    line = one_error_line(runner.invoke(app, ["kb", "validate", str(path)]))
    assert line.startswith(f"error: {path}: ") and "guideline version folder" in line


def test_kb_validate_reports_each_problem_once_and_still_exits_1(tmp_path: Path) -> None:
    folder = tmp_path / "kb"
    shutil.copytree(default_knowledge_dir() / "nccn-net" / "5.2024", folder)
    notes = folder / "footnotes.yaml"
    notes.write_text(notes.read_text().replace("- letter: a\n", "- letter: zz\n", 1))
    res = runner.invoke(app, ["kb", "validate", str(folder)])
    assert res.exit_code == 1 and "Traceback" not in res.output
    lines = [ln.strip() for ln in res.stderr.splitlines() if ln.startswith("  ")]
    assert len(lines) == len(set(lines)), res.stderr
    assert f"{folder}/tables/gi.yaml: title_footnotes: unknown footnote 'a'" in lines
    assert f"{folder}/tables/gi.yaml: ssa_plan_footnote: unknown footnote 'a'" in lines
    assert res.stderr.startswith(f"knowledge error ({len(lines)}):")


# --- 9. output the environment cannot take; input without end ----------------------------------------------
@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize(
    "args", [["schema"], ["version"], ["evaluate", str(EXAMPLE), "-f", "json"], ["evaluate", str(EXAMPLE)]]
)
def test_output_that_cannot_be_written_is_one_line_exit_1(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        proc = subprocess.run(
            [sys.executable, "-m", "netcds", *args],
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=120,
        )
    assert proc.returncode == 1, proc.stderr
    assert proc.stderr == "error: cannot write standard output: No space left on device\n"


def test_a_patient_larger_than_the_limit_is_refused_unread(tmp_path: Path) -> None:
    from netcds.io import MAX_RECORD_BYTES

    assert MAX_RECORD_BYTES == Settings().max_body_bytes == 2 * 1024 * 1024
    record = json.dumps({"tumor": {"primary_site": "ileum"}})
    big = tmp_path / "big.json"
    big.write_text(record + " " * (MAX_RECORD_BYTES + 1 - len(record)))
    just = tmp_path / "just.json"
    just.write_text(record + " " * (MAX_RECORD_BYTES - len(record)))
    for args in (["evaluate", str(big)], ["check", str(big), "--agent", "cabozantinib"]):
        line = one_error_line(runner.invoke(app, args))
        assert line == f"error: <file>: {big}: larger than 2 MiB, the limit for one patient record"
    line = one_error_line(runner.invoke(app, ["evaluate", "-"], input=big.read_bytes()))
    assert line == "error: <file>: standard input: larger than 2 MiB, the limit for one patient record"
    assert runner.invoke(app, ["evaluate", str(just), "-f", "json"]).exit_code == 0


@pytest.mark.skipif(not Path("/dev/zero").exists(), reason="needs /dev/zero")
def test_an_endless_input_is_not_read_whole() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "netcds", "evaluate", "/dev/zero"], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 2 and "larger than 2 MiB" in proc.stderr and "Traceback" not in proc.stderr


def test_replay_of_an_evaluation_pinned_to_a_version_not_installed_is_one_line(tmp_path: Path) -> None:
    from sqlalchemy import text

    from netcds import Patient, evaluate, load_knowledge
    from netcds.store import Store

    url = f"sqlite:///{tmp_path / 'r.db'}"
    store = Store.open(url)
    patient = Patient.model_validate(json.loads(EXAMPLE.read_text()))
    eid = store.save_evaluation(
        patient, evaluate(patient, load_knowledge()), origin="rest", actor="t"
    ).evaluation_id
    with store.engine.begin() as conn:
        conn.execute(text("UPDATE evaluations SET guideline_version = '9.9' WHERE id = :i"), {"i": eid})
    store.close()
    line = one_error_line(runner.invoke(app, ["evaluations", "replay", eid, "--db", url]))
    assert line.startswith(
        "error: the pinned guideline version is not installed: no knowledge for nccn-net 9.9 in "
    )
    assert "(available: 5.2024" in line
