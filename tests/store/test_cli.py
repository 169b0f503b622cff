"""`netcds evaluations replay ID`: exit 0 identical, 1 changed, 2 unknown."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from sqlalchemy import text
from typer.testing import CliRunner

from netcds import Patient, evaluate, load_knowledge
from netcds.store import Store
from netcds.store.cli import register
from tests.store.test_store import RECORD, TAMPER


def _app() -> typer.Typer:
    app = typer.Typer()

    @app.callback()
    def _root() -> None:
        """netcds (test root)."""

    register(app)
    return app


def test_replay_command(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    store = Store.open(url)
    p = Patient.model_validate(RECORD)
    eid = store.save_evaluation(p, evaluate(p, load_knowledge()), origin="rest", actor="t").evaluation_id
    runner = CliRunner()
    ok = runner.invoke(_app(), ["evaluations", "replay", eid, "--db", url])
    assert ok.exit_code == 0, ok.output
    assert "identical" in ok.output
    as_json = runner.invoke(_app(), ["evaluations", "replay", eid, "--db", url, "--json"])
    assert json.loads(as_json.output)["identical"] is True

    out = json.loads(store.get_evaluation(eid).model_dump_json())["output"]
    out["needs_data"] = ["tumor.made_up"]
    with store.engine.begin() as conn:
        conn.execute(text(TAMPER), {"o": json.dumps(out), "i": eid})
    store.close()
    changed = runner.invoke(_app(), ["evaluations", "replay", eid, "--db", url])
    assert changed.exit_code == 1
    assert "needs_data" in changed.output and "DIFFERS" in changed.output

    missing = runner.invoke(
        _app(), ["evaluations", "replay", "00000000-0000-4000-8000-000000000000", "--db", url]
    )
    assert missing.exit_code == 2


def test_replay_on_a_file_that_is_not_a_database_is_one_clear_line(tmp_path: Path) -> None:
    bad = tmp_path / "notes.db"
    bad.write_text("not a database, just text\n" * 50)
    result = CliRunner().invoke(_app(), ["evaluations", "replay", "e1", "--db", f"sqlite:///{bad}"])
    assert result.exit_code == 2
    assert "error: cannot open the database" in result.output
    assert "not a database" in result.output
    assert "Traceback" not in result.output
    assert bad.read_text().startswith("not a database")  # left as it was


def test_replay_without_a_database_creates_none(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """A reading command: the default ``sqlite:///netcds.db`` in the working directory is not created."""
    for name in ("NETCDS_DB_URL", "NETCDS_DB_URL_FILE", "NETCDS_CONFIG"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(_app(), ["evaluations", "replay", "00000000-0000-4000-8000-000000000000"])
    assert result.exit_code == 2
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "netcds.db" in lines[0], result.output
    assert "Traceback" not in result.output
    nested = runner.invoke(_app(), ["evaluations", "replay", "e1", "--db", f"sqlite:///{tmp_path}/sub/x.db"])
    assert nested.exit_code == 2 and nested.output.startswith("error: ")
    (tmp_path / "empty.db").touch()
    empty = runner.invoke(_app(), ["evaluations", "replay", "e1", "--db", f"sqlite:///{tmp_path}/empty.db"])
    assert empty.exit_code == 2 and len(empty.output.strip().splitlines()) == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["empty.db"]  # nothing created, nothing written
    assert (tmp_path / "empty.db").stat().st_size == 0


def test_replay_of_an_unknown_id_leaves_no_new_file(tmp_path: Path) -> None:
    db = tmp_path / "db" / "store.db"
    Store.open(f"sqlite:///{db}").close()
    (db.parent / "store.db.writer-lock").unlink()
    before = sorted(p.name for p in db.parent.iterdir())
    unknown = "00000000-0000-4000-8000-000000000000"  # a well-formed id no evaluation has
    result = CliRunner().invoke(_app(), ["evaluations", "replay", unknown, "--db", f"sqlite:///{db}"])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [f"error: no evaluation {unknown}"]
    assert sorted(p.name for p in db.parent.iterdir()) == before
