"""A JSON array saved as ``.json`` (``[{...}, {...}]``) is refused before any row is read, one line naming
the format, exit 2, on DuckDB and Spark alike (the check runs before either backend reads): read line by line
every one of its lines would be a reject, and read as one array a malformed element would make the rest of
the file unreadable (no longer one row's reject). NDJSON is untouched, a line holding an array in it
included (one reject)."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from netcds.cli import app
from netcds.cohort.parts import detect_format
from netcds.cohort.read import iter_rows
from netcds.cohort.synth import synth_records

from .test_cli_inputs import one_error_line

runner = CliRunner()


def _array(path: Path, prefix: bytes = b"", indent: int | None = 2) -> Path:
    text = json.dumps(list(synth_records(3, seed=4)), indent=indent).encode()
    data = prefix + text + b"\n"
    path.write_bytes(gzip.compress(data) if path.name.endswith(".gz") else data)
    return path


@pytest.mark.parametrize(
    ("name", "prefix", "indent"),
    [
        ("c.json", b"", 2),
        ("c.json", b"\xef\xbb\xbf \r\n\n\t", 2),  # a byte-order mark and JSON whitespace first
        ("c.json", b"", None),  # the whole array on one line
        ("c.json.gz", b"", 2),
        ("c.ndjson", b"", 2),
    ],
    ids=["json", "bom-and-space", "one-line", "gzip", "ndjson-name"],
)
def test_a_json_array_is_refused_naming_the_format(
    tmp_path: Path, name: str, prefix: bytes, indent: int
) -> None:
    path = _array(tmp_path / name, prefix, indent)
    with pytest.raises(ValueError, match=r"a JSON array \(the file starts with '\['\), not NDJSON"):
        detect_format(path)
    with pytest.raises(ValueError, match="not NDJSON"):
        list(iter_rows(path))
    line = one_error_line(runner.invoke(app, ["cohort", "audit", str(path), "--out", str(tmp_path / "o")]))
    assert name in line and "a JSON array" in line and "one JSON object per line" in line, line
    assert not (tmp_path / "o").exists()


def test_a_json_array_part_file_and_a_diff_are_refused_too(tmp_path: Path) -> None:
    d = tmp_path / "parts"
    d.mkdir()
    (d / "a.ndjson").write_text(json.dumps(next(iter(synth_records(1, seed=1)))) + "\n", encoding="utf-8")
    _array(d / "b.json")
    line = one_error_line(runner.invoke(app, ["cohort", "audit", str(d), "--out", str(tmp_path / "o")]))
    assert "b.json: a JSON array" in line, line
    line = one_error_line(
        runner.invoke(app, ["cohort", "diff", str(d), "--from", "5.2024", "--to", "5.2024"])
    )
    assert "b.json: a JSON array" in line, line


def test_ndjson_with_an_array_line_later_is_still_read_row_by_row(tmp_path: Path) -> None:
    path = tmp_path / "c.json"
    lines = [json.dumps(r) for r in synth_records(2, seed=6)]
    path.write_text("\n" + lines[0] + "\n[1, 2]\n" + lines[1] + "\n", encoding="utf-8")
    rows = list(iter_rows(path))
    rejects = [r for _, r in rows if r is not None]
    assert len(rows) == 3 and [(r["row"], r["message"]) for r in rejects] == [
        (3, "a row must be a JSON object")  # the physical line (line 1 is blank)
    ]


def test_an_empty_or_blank_json_file_is_no_array(tmp_path: Path) -> None:
    for text in ("", " \n\n"):
        path = tmp_path / "e.json"
        path.write_text(text, encoding="utf-8")
        assert detect_format(path) == "ndjson" and list(iter_rows(path)) == []
