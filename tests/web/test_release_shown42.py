"""The evaluation page names the knowledge release and digest that produced it (session 42): 13 releases
give different results, so a page or print must be traceable to one."""

from __future__ import annotations

import json

from fastapi.testclient import TestClient

from tests.conftest import gi, run


def test_the_evaluation_page_names_the_release_and_digest(client: TestClient) -> None:
    g = run(gi()).guideline
    page = client.post("/ui/evaluate", data={"patient_json": json.dumps(gi())})
    assert page.status_code == 200
    assert f'knowledge release <strong data-release="{g.release}">{g.release}</strong>' in page.text
    assert f"<code>{g.digest}</code>" in page.text
