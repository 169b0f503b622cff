"""A live hook's record date: today in the configured time zone, else the latest date anywhere (UTC+14),
so records a site east of UTC wrote this morning are read, not set aside as written after the record date."""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient

from netcds.api import hook_call
from netcds.api.hook_call import hook_day
from netcds.settings import SettingsError, load_settings
from tests.api.conftest import CLARITHROMYCIN, draft_daily, hook_request, prefetch

# 20:00 UTC on 1 June: already 2 June from UTC+4 eastwards (Sydney 06:00, Kiritimati 10:00)
EVENING_UTC = datetime(2025, 6, 1, 20, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "now", "day"),
    [
        (None, EVENING_UTC, date(2025, 6, 2)),  # the latest date anywhere
        (None, datetime(2025, 6, 1, 9, 59, tzinfo=UTC), date(2025, 6, 1)),  # 23:59 at UTC+14
        (None, datetime(2025, 6, 1, 10, 0, tzinfo=UTC), date(2025, 6, 2)),  # midnight at UTC+14
        ("Australia/Sydney", EVENING_UTC, date(2025, 6, 2)),
        ("UTC", EVENING_UTC, date(2025, 6, 1)),
        ("America/New_York", datetime(2025, 6, 2, 2, 0, tzinfo=UTC), date(2025, 6, 1)),  # 22:00 EDT
    ],
)
def test_the_record_date_of_a_hook_call(zone: str | None, now: datetime, day: date) -> None:
    assert hook_day(zone, now) == day


def test_an_unknown_time_zone_is_refused_naming_the_key(tmp_path: Path) -> None:
    cfg = tmp_path / "c.toml"
    cfg.write_text('[hooks]\ntime_zone = "Mars/Olympus_Mons"\n')
    with pytest.raises(SettingsError, match=r"hooks\.time_zone"):
        load_settings(cfg, environ={})
    with pytest.raises(SettingsError, match="NETCDS_HOOKS_TIME_ZONE"):
        load_settings(None, environ={"NETCDS_HOOKS_TIME_ZONE": "Nowhere/Else"})
    assert load_settings(None, environ={"NETCDS_HOOKS_TIME_ZONE": "Europe/Berlin"}).hooks_time_zone == (
        "Europe/Berlin"
    )


def _clarithromycin_written_this_morning_in_sydney() -> dict[str, Any]:
    # 06:30 on 2 June in Sydney is 20:30 UTC on 1 June: written "today" there, "tomorrow" by UTC's date
    return {**CLARITHROMYCIN, "id": "m-clari-today", "authoredOn": "2025-06-02T06:30:00+10:00"}


def test_an_order_written_this_morning_east_of_utc_is_checked(
    open_client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(hook_call, "clock", lambda: EVENING_UTC.replace(minute=45))
    body = hook_request(
        "order-sign",
        prefetch_data=prefetch([_clarithromycin_written_this_morning_in_sydney()]),
        drafts=[draft_daily("draft-evero", "everolimus 10 MG Oral Tablet", 10)],
    )
    r = open_client.post("/cds-services/netcds-order-sign", json=body)
    assert r.status_code == 200, r.text
    said = " ".join(c["summary"] + c.get("detail", "") for c in r.json()["cards"])
    # with UTC's date (1 June) the order lay after the record date and was set aside: no interaction
    assert "clarithromycin" in said and "CYP3A4" in said, said
