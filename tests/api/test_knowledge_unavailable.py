"""A knowledge release that is installed but cannot be loaded is the service's problem, said plainly
(503 naming the first problem), never a 500; an unknown release stays a 404."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from netcds.api.app import create_app
from netcds.knowledge.load import default_knowledge_dir
from tests.api.conftest import Keys, make_settings, patient_record

EVALUATE = "/api/v1/evaluate"


def test_a_broken_release_is_503_naming_the_problem(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
):
    root = tmp_path / "knowledge"
    shutil.copytree(default_knowledge_dir(), root)
    broken = root / "nccn-net" / "9.9-broken"
    shutil.copytree(root / "nccn-net" / "5.2024-r5", broken)
    (broken / "footnotes.yaml").write_text("- letter: A\n  available: maybe\n", encoding="utf-8")
    monkeypatch.setenv("NETCDS_KNOWLEDGE_DIR", str(root))
    with TestClient(create_app(make_settings(tmp_path, keys)), raise_server_exceptions=False) as c:
        r = c.post(EVALUATE, params={"guideline_version": "9.9-broken"}, json=patient_record())
        assert r.status_code == 503, r.text
        body = r.json()
        assert body["type"] == "urn:netcds:problem:knowledge-unavailable"
        assert "9.9-broken cannot be loaded" in body["detail"] and "footnotes" in body["detail"]
        assert c.post(EVALUATE, params={"guideline_version": "8.8"}, json=patient_record()).status_code == 404
        assert c.post(EVALUATE, json=patient_record()).status_code == 200  # the others still answer
        # the release as data: the same 503, not a 500
        doc = c.get("/api/v1/guidelines/nccn-net/9.9-broken")
        assert doc.status_code == 503, doc.text
        assert doc.json()["type"] == "urn:netcds:problem:knowledge-unavailable"
        assert c.get("/api/v1/guidelines/nccn-net/5.2024-r5").status_code == 200


def test_a_release_installed_under_another_name_than_its_manifest_is_503(
    tmp_path: Path, keys: Keys, monkeypatch: pytest.MonkeyPatch
):
    # a copied folder still saying "5.2024-r5" would make card links and stored records name other data
    root = tmp_path / "knowledge"
    shutil.copytree(default_knowledge_dir(), root)
    shutil.copytree(root / "nccn-net" / "5.2024-r5", root / "nccn-net" / "9.9-copied")
    monkeypatch.setenv("NETCDS_KNOWLEDGE_DIR", str(root))
    with TestClient(create_app(make_settings(tmp_path, keys)), raise_server_exceptions=False) as c:
        r = c.post(EVALUATE, params={"guideline_version": "9.9-copied"}, json=patient_record())
        assert r.status_code == 503, r.text
        assert "release" in r.json()["detail"] and "5.2024-r5" in r.json()["detail"]
        r5 = c.post(EVALUATE, params={"guideline_version": "5.2024-r5"}, json=patient_record())
        assert r5.status_code == 200 and r5.json()["guideline"]["release"] == "5.2024-r5"
