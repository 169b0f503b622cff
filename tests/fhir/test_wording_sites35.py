"""A negative imaging result limited to one site ("no SSTR-positive disease in the liver", "liver lesions are
SSTR-negative") says nothing of the other sites: it reads as unknown, never as negative (unknown is not
false). Without a site the same words still read negative, and a positive result at a site stays positive."""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest

from netcds.fhir import MappingReport, bundle_to_patient
from netcds.fhir.biomarkers import MMR_INTACT_WORDS, MMR_LOST_WORDS, NEGATIVE_WORDS, POSITIVE_WORDS
from netcds.fhir.wording import polarity_words, site_limit
from netcds.patient import Patient
from tests.fhir.conftest import load

PET = "Observation/ileum-sstr-pet"

SITE_LIMITED = {
    "no SSTR-positive disease in the liver": "in the liver",
    "No somatostatin receptor-avid disease in the bones": "in the bones",
    "liver lesions are SSTR-negative": "liver",
    "Hepatic metastases: SSTR-negative": "Hepatic",
    "No SSTR-positive nodal disease": "nodal",
    "SSTR-negative at the primary": "at the primary",
    "In the liver, no SSTR-positive disease": "In the liver",
    "Bone lesions are non-avid": "Bone",
    "Ga-68 DOTATATE PET/CT: no SSTR-positive disease in segment 7": "in segment 7",
}
WHOLE_NEGATIVE = [
    "No SSTR-positive disease",
    "SSTR-negative",
    "Negative",
    "No somatostatin receptor-positive lesions identified",
    "Krenning 1 (uptake below liver): negative",  # the liver is the reference of the uptake, not a site
    "Negative (uptake < liver)",
    "No SSTR-positive disease, physiological uptake in the liver and spleen",
    "No SSTR-positive disease; liver lesions unchanged on CT",  # the site is in another sentence, no result
]
POSITIVE = [
    "SSTR-positive disease in the liver",
    "SSTR-positive lesions in the bones",
    "DOTATATE-avid hepatic metastases, Krenning 3",
]


@pytest.mark.parametrize(("words", "site"), SITE_LIMITED.items())
def test_a_negative_limited_to_one_site_is_unknown(words: str, site: str) -> None:
    value, why = polarity_words(words, POSITIVE_WORDS, NEGATIVE_WORDS, imaging=True)
    assert value is None, words
    assert "one site only" in why and repr(site) in why, why
    assert site_limit(words, {"pos": POSITIVE_WORDS, "neg": NEGATIVE_WORDS}) == site


@pytest.mark.parametrize("words", WHOLE_NEGATIVE)
def test_a_negative_without_a_site_is_still_negative(words: str) -> None:
    assert polarity_words(words, POSITIVE_WORDS, NEGATIVE_WORDS, imaging=True) == (False, ""), words


@pytest.mark.parametrize("words", POSITIVE)
def test_a_positive_result_at_a_site_is_still_positive(words: str) -> None:
    assert polarity_words(words, POSITIVE_WORDS, NEGATIVE_WORDS, imaging=True) == (True, ""), words


def test_no_result_word_is_no_result_with_or_without_a_site() -> None:
    """ "no uptake in the bone lesions" names no result word (uptake is not one): unknown, as before."""
    assert polarity_words("no uptake in the bone lesions", POSITIVE_WORDS, NEGATIVE_WORDS) == (
        None,
        "no result words recognised",
    )


@pytest.mark.parametrize(
    "words",
    [
        "Loss of MLH1 nuclear expression in the primary tumour",
        "MLH1 lost in the liver metastasis",
        "Mismatch repair deficient in the liver metastasis",  # the test named in words (session 35)
    ],
)
def test_an_mmr_protein_lost_in_a_named_specimen_is_still_lost(words: str) -> None:
    """The site names the specimen stained: a protein lost there is lost (the site rule is for imaging)."""
    assert polarity_words(words, MMR_INTACT_WORDS, MMR_LOST_WORDS) == (False, "")


# ---- through the FHIR mapping of the SSTR PET Observation ------------------------------------------------------
def _pet_says(words: str) -> tuple[Patient, MappingReport]:
    b: dict[str, Any] = copy.deepcopy(load("ileal_net_ssa_progression.json"))
    [pet] = [e["resource"] for e in b["entry"] if e["resource"].get("id") == "ileum-sstr-pet"]
    for key in [k for k in pet if k.startswith("value") or k == "interpretation"]:
        del pet[key]  # the words alone decide
    pet["valueString"] = words
    return bundle_to_patient(b, as_of=date(2025, 6, 1))


def _reasons(report: MappingReport) -> str:
    return " | ".join(u.reason for u in report.unmapped if u.resource == PET)


@pytest.mark.parametrize(
    "words", ["no SSTR-positive disease in the liver", "liver lesions are SSTR-negative"]
)
def test_a_site_limited_pet_result_leaves_sstr_status_unknown_and_says_why(words: str) -> None:
    p, report = _pet_says(words)
    assert p.tumor.sstr_status is None
    assert "tumor.sstr_status" not in report.fields()
    why = _reasons(report)
    assert "SSTR imaging result not readable as positive or negative" in why, why
    assert "one site only" in why and "liver" in why and "other sites may be positive" in why, why


@pytest.mark.parametrize(
    ("words", "status"),
    [("No SSTR-positive disease", "negative"), ("SSTR-negative", "negative"),
     ("SSTR-positive disease in the liver", "positive")],
)  # fmt: skip
def test_pet_results_without_a_site_limit_are_still_read(words: str, status: str) -> None:
    p, report = _pet_says(words)
    assert p.tumor.sstr_status == status
    [m] = [m for m in report.mapped if m.field == "tumor.sstr_status"]
    assert PET in m.from_ and not _reasons(report)


# ---- session 35 review: realistic report phrases, and MMR, which is no imaging result ---------------------------
@pytest.mark.parametrize(
    "words",
    [
        "Liver metastases are negative for somatostatin receptor expression",
        "Femoral lesion is SSTR-negative",
        "Lesion at T10 is SSTR-negative",
    ],
)
def test_more_site_limited_imaging_negatives_are_unknown(words: str) -> None:
    value, why = polarity_words(words, POSITIVE_WORDS, NEGATIVE_WORDS, imaging=True)
    assert value is None and "one site only" in why, words


@pytest.mark.parametrize(
    "words",
    [
        "Negative, with physiologic uptake in the liver, spleen and kidneys",
        "No SSTR-positive primary or metastatic disease",
        "SSTR PET/CT of the neck, chest, abdomen and pelvis: negative",
        "Negative whole body including liver and bones",
    ],
)
def test_coverage_and_physiological_uptake_are_no_site_limit(words: str) -> None:
    assert polarity_words(words, POSITIVE_WORDS, NEGATIVE_WORDS, imaging=True) == (False, ""), words


@pytest.mark.parametrize(
    "words", ["Lost (liver metastasis)", "Absent in liver biopsy", "Deficient, lymph node specimen"]
)
def test_an_mmr_loss_in_any_specimen_is_a_loss(words: str) -> None:
    """Loss at any site makes the tumour dMMR: the site names the specimen, it does not limit the result."""
    assert polarity_words(words, MMR_INTACT_WORDS, MMR_LOST_WORDS) == (False, ""), words
