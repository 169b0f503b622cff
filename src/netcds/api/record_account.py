"""What an order check reads of the FHIR mapping's report beside the record (:class:`RecordAccount`).

The hook call that maps a prefetch keeps this account with the other per-record entries at the same time
(netcds.api.hook_call.mapped_patient), so an order check reads it without mapping the record again; only a
worker that took the record's mapping from the shared cache level maps it once more for its account.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from netcds.store.canonical import sha256_hex

# the mapping report's rows read as ongoing only because their ended records state no end date
# (netcds.fhir.report.MappingReport, written by netcds.fhir.treatment_lines.build_treatments)
ENDED_UNDATED_FIELD = "treatments_ended_without_end_date"
# its current medications whose drug could not be identified (netcds.fhir.treatments): not screened
UNIDENTIFIED_FIELD = "medications_not_identified"


@dataclass(frozen=True)
class RecordAccount:
    """The treatment rows read as ongoing only because their records ended without stating an end date
    (``treatments_ended_without_end_date``) and the current medications whose drug could not be identified
    (``medications_not_identified``)."""

    ended: frozenset[int] = frozenset()
    unidentified: tuple[str, ...] = ()

    @classmethod
    def of(cls, report: dict[str, Any]) -> RecordAccount:
        return cls(
            frozenset(int(i) for i in report.get(ENDED_UNDATED_FIELD) or []),
            tuple(str(m) for m in report.get(UNIDENTIFIED_FIELD) or []),
        )

    def size(self) -> int:
        return 256 + 32 * len(self.ended) + sum(64 + len(m) for m in self.unidentified)


def account_key(text: str, as_of: date | None) -> tuple[str, str, str]:
    """The cache key of a prefetch's account (its canonical JSON and as-of date)."""
    return ("ended", sha256_hex(text), str(as_of))
