"""Why a record gives no primary site of a neuroendocrine tumor: the message of the FhirMappingError on
``tumor.primary_site`` names the actual problem (QA session 42, M4). A record whose only cancer is another
one (chronic lymphocytic leukemia, ICD-10-CM C91.10) beside a metastasis is told so ("no primary cancer in
the record is a neuroendocrine tumor"), never "primary site not recorded", which would send the user looking
for a body site."""

from __future__ import annotations

from netcds.fhir.context import Ctx
from netcds.fhir.read import Res, code_label
from netcds.fhir.scope import (
    icd_codes,
    in_error,
    is_secondary,
    malignant_icd,
    net_icd,
    other_cancers,
    recorded_as_net,
    refuted,
    topography,
)
from netcds.fhir.wording import brief

NET_ONLY = "netcds covers neuroendocrine tumors only"  # the end of a message about a cancer that is no NET


def _named(refs: list[Res]) -> str:
    """The Conditions as the report names them: "Condition/c1 (icd-10-cm C91.10 Chronic ...)"."""
    return ", ".join(f"{r.ref} ({brief(code_label(r.data.get('code')), 50)})" for r in refs[:3]) + (
        f" and {len(refs) - 3} more" if len(refs) > 3 else ""
    )


def _other_cancer_code(res: Res) -> bool:
    """The Condition's ICD-10-CM code names a cancer that is no NET and gives no site netcds maps."""
    return any(malignant_icd(c) and not net_icd(c) and not topography(c) for c in icd_codes(res))


def _secondaries(ctx: Ctx) -> list[Res]:
    return [r for r in ctx.of_type("Condition") if is_secondary(r) and not (refuted(r) or in_error(r))]


def chosen_primary_why(primary: Res) -> str:
    """Why the primary cancer chosen gives no site: it is another cancer (its code names one), nothing
    records it as neuroendocrine, or it is a neuroendocrine tumor whose site is not recorded."""
    named = _named([primary])
    if _other_cancer_code(primary) and not recorded_as_net(primary):
        return (
            f"the recorded primary cancer {named} is not a neuroendocrine tumor (its code names another "
            f"cancer), and no other primary cancer in the record is one: {NET_ONLY}"
        )
    if not recorded_as_net(primary):
        return (
            f"the recorded primary cancer {named} has no site netcds reads (no bodySite, no ICD-10-CM site "
            "code) and nothing records it as a neuroendocrine tumor"
        )
    return f"the primary site of the neuroendocrine tumor {named} is not recorded (no bodySite, no site code)"


def no_primary_why(ctx: Ctx) -> str | None:
    """Why no primary cancer was chosen when the record holds other cancers or metastases only (None: it
    holds neither, the plain "no primary cancer condition" stands)."""
    others = [r for r in other_cancers(ctx) if r is not ctx.primary]
    metastases = _secondaries(ctx)
    one = len(metastases) == 1
    spread = (
        f"; {_named(metastases)} {'is a metastasis' if one else 'are metastases'}, naming no primary"
        if metastases
        else ""
    )
    if others:
        verb = "is" if len(others) == 1 else "are"
        return (
            f"no primary cancer in the record is a neuroendocrine tumor: {_named(others)} {verb} another "
            f"cancer{spread}: {NET_ONLY}"
        )
    if metastases:
        return f"no primary cancer condition in the input{spread}"
    return None
