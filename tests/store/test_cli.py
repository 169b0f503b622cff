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
