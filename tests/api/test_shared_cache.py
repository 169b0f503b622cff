"""The cache level shared by the workers of `serve --workers N`: what one process stores another finds,
bounded in bytes (oldest first, nothing but its own entries removed), and a failing directory, a foreign
file or a half-written entry is only a miss."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from netcds.api.eval_cache import CachedEvaluation, EvaluationCache, MappedPatient, cache_key
from netcds.api.examples import PATIENT_EXAMPLE
from netcds.api.shared_cache import SharedCache, make_dir, remove_dir
from netcds.engine import evaluate
from netcds.knowledge.load import load_knowledge
from netcds.patient import Patient
from netcds.store.canonical import content_hash


def test_values_round_trip_and_old_entries_go_first(tmp_path: Path) -> None:
    shared = SharedCache(tmp_path / "c", max_bytes=64 * 1000)
    for i in range(200):
        shared.put(f"k{i}", bytes([i % 256]) * 1000)
    assert shared.get("k199") == bytes([199]) * 1000
    assert shared.get("k0") is None  # evicted: 200 KB stored under a 64 KB budget
    kept = sum(1 for i in range(200) if shared.get(f"k{i}") is not None)
    assert 0 < kept <= 64 + 64  # within the budget plus at most one check interval
    shared.put("huge", b"x" * 70_000)  # larger than the whole budget: not kept
    assert shared.get("huge") is None


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork")
def test_a_forked_worker_finds_what_another_stored(tmp_path: Path) -> None:
    shared = SharedCache(tmp_path / "c", max_bytes=1 << 20)
    shared.get("warm")  # the parent looked something up before forking, as a server's warm-up might
    pid = os.fork()
    if pid == 0:  # the other worker: its own connection
        shared.put("from-child", b"hello")
        os._exit(0)
    os.waitpid(pid, 0)
    assert shared.get("from-child") == b"hello"


def test_a_foreign_or_unfinished_file_and_a_missing_directory_are_misses(tmp_path: Path) -> None:
    shared = SharedCache(tmp_path / "c", max_bytes=1 << 20)
    shared.put("a", b"1")
    entry = shared._file("b")
    entry.write_bytes(b"another key\nits value")  # the name of "b", the key of another entry
    assert shared.get("b") is None and shared.get("a") == b"1"
    (tmp_path / "c" / f".{shared._file('c').name}.x.tmp").write_bytes(b"c\nhalf")  # a killed writer
    assert shared.get("c") is None
    broken = SharedCache(tmp_path / "missing-dir" / "c", max_bytes=1 << 20)
    assert broken.get("a") is None
    broken.put("a", b"1")  # no exception


def test_eviction_removes_only_its_own_entries(tmp_path: Path) -> None:
    folder = tmp_path / "c"
    folder.mkdir()
    (folder / "bench.db").write_bytes(b"x" * 50_000)  # not an entry: never removed
    (folder / ".0123.tmp").write_bytes(b"y")
    shared = SharedCache(folder, max_bytes=20_000)
    for i in range(50):
        shared.put(f"k{i}", b"z" * 1000)
    assert (folder / "bench.db").read_bytes() == b"x" * 50_000 and (folder / ".0123.tmp").exists()
    assert shared.get("k49") == b"z" * 1000 and shared.get("k0") is None
    shared.put("k49", b"other")  # a key's value is deterministic: an entry is not written twice
    assert shared.get("k49") == b"z" * 1000


def test_the_service_cache_finds_evaluations_mappings_and_cards_of_another_worker() -> None:
    folder = make_dir()
    try:
        kb = load_knowledge("5.2024")
        patient = Patient.model_validate(PATIENT_EXAMPLE)
        ev = evaluate(patient, kb)
        body = ev.model_dump_json().encode()
        first = EvaluationCache(1 << 24, SharedCache(folder / "c", 1 << 24))
        other = EvaluationCache(1 << 24, SharedCache(folder / "c", 1 << 24))
        first.put_evaluation(
            cache_key("in", kb), CachedEvaluation(ev, body, "h", ev.guideline, ev.engine_version)
        )
        first.put(("mapping", "pf", "None"), MappedPatient.of(patient), 1000)
        first.put_json(("cards", "svc", "in"), [{"uuid": "u1", "summary": "s"}])
        got = other.evaluation(cache_key("in", kb))
        assert got is not None and got.evaluation is None
        assert (got.body, got.output_hash, got.guideline, got.engine_version) == (
            body, "h", ev.guideline, ev.engine_version
        )  # fmt: skip
        mapped = other.get(("mapping", "pf", "None"))
        assert mapped == MappedPatient.of(patient)  # the record, its canonical JSON and content hash
        assert mapped.digest == content_hash(patient)
        assert other.get(("cards", "svc", "in")) == [{"uuid": "u1", "summary": "s"}]
        assert other.shared_hits == 3
        assert other.get(("screen", "x")) is None  # screens stay per process
    finally:
        remove_dir(folder)
    assert not folder.exists()
