"""`cohort diff --rejects` writes its rejects once and never reads the file back (QA session 41, HIGH: it
reopened the path for the first 20, so a pipe hung forever and /dev/zero filled the memory)."""

from __future__ import annotations

import json
import os
import threading
from pathlib import Path

import pytest

from netcds.cohort.diff import diff_versions
from netcds.cohort.synth import synth_records, write_cohort
from netcds.knowledge.load import load_knowledge


def cohort(tmp_path: Path, bad: int) -> Path:
    path = tmp_path / "cohort.ndjson"
    write_cohort(iter(list(synth_records(30, seed=3))), path)
    with path.open("a", encoding="utf-8") as fh:
        for i in range(bad):
            fh.write(json.dumps({"id": f"bad-{i}", "tumor": {"primary_site": "nowhere"}}) + "\n")
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes here")
@pytest.mark.parametrize("bad", [0, 25])
def test_rejects_down_a_pipe_are_all_written_and_the_first_kept(tmp_path: Path, bad: int) -> None:
    fifo = tmp_path / "rejects.fifo"
    os.mkfifo(fifo)
    got: list[bytes] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_bytes()), daemon=True)
    reader.start()
    done: list[object] = []
    kb = load_knowledge("5.2024-r12")
    worker = threading.Thread(
        target=lambda: done.append(diff_versions(cohort(tmp_path, bad), kb, kb, rejects_file=fifo)),
        daemon=True,
    )
    worker.start()
    worker.join(120)
    assert not worker.is_alive(), "cohort diff hung on a pipe"
    reader.join(10)
    (result,) = done
    assert result.rejects == bad and result.compared == 30  # type: ignore[attr-defined]
    assert len(got[0].splitlines()) == bad
    assert [r["row"] for r in result.first_rejects] == list(range(31, 31 + min(bad, 20)))  # type: ignore[attr-defined]
