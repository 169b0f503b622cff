"""An order-sign call for a NET agent maps the record once (session 42): the mapping report's account the
order check reads (rows ended without an end date, current medications not identified) is kept when the
hook maps the prefetch, so the check does not map the record a second time to read it; the cards do not
change."""

from __future__ import annotations

from importlib.util import find_spec
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api import optional
from tests.api.conftest import OS, draft_cabozantinib, prefetch
from tests.api.test_order_guideline_card import call
from tests.api.test_unidentified_current42 import BY_REFERENCE, unidentified

pytestmark = [
    pytest.mark.skipif(find_spec("netcds.fhir.mcode") is None, reason="FHIR mapping absent"),
    pytest.mark.skipif(find_spec("netcds.safety") is None, reason="safety layer absent"),
]


def _counted(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    seen = [0]
    real = optional.prefetch_to_patient

    def counting(*a: Any, **kw: Any) -> Any:
        seen[0] += 1
        return real(*a, **kw)

    monkeypatch.setattr(optional, "prefetch_to_patient", counting)
    return seen


def test_an_order_for_a_net_agent_maps_the_record_once(
    open_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _counted(monkeypatch)
    cards = call(open_client, OS, prefetch(), draft_cabozantinib())
    assert cards and seen[0] == 1


def test_the_kept_account_still_names_an_unidentified_current_medication(
    open_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    seen = _counted(monkeypatch)
    cards = call(open_client, OS, prefetch([BY_REFERENCE]), draft_cabozantinib())
    assert seen[0] == 1
    (card,) = unidentified(cards)
    assert "MedicationRequest/m-ref" in card["detail"]
