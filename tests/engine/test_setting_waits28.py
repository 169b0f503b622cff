"""The setting waits only for data that can change it (session-28 clinical review).

1. Disease recorded as not resectable is advanced (locoregional advanced when localized or
   locoregional, distant metastatic otherwise) whatever its unrecorded extent: the GI table applies;
   what depends on the extent (RT for locally advanced disease) still waits for disease.extent.
2. A well-differentiated lung carcinoid with < 2 mitoses/2 mm² and necrosis not recorded is typical or
   atypical either way: "typical or atypical carcinoid" holds, while what tells the two apart waits for
   tumor.necrosis (or the subtype); a recorded field is never named as missing.
"""

from __future__ import annotations

from typing import Any

import pytest

from netcds.facts import build_facts
from netcds.logic.ast import parse_condition
from netcds.logic.evaluate import evaluate as evaluate_condition
from netcds.logic.evaluate import settle
from netcds.patient import Patient
from tests.conftest import lung, opt, run

# the clinical review's ileal patient: not resectable, extent not recorded
EXT: dict[str, Any] = {
    "tumor": {
        "primary_site": "ileum",
        "differentiation": "well",
        "grade": "G2",
        "functional": False,
        "sstr_status": "positive",
    },
    "disease": {"resectable": False, "status": "progressive", "progression_clinically_significant": True},
    "treatments": [],
}
# the review's lung patient: 1 mitosis/2 mm², necrosis not recorded
LUNG: dict[str, Any] = {
    "tumor": {
        "primary_site": "lung",
        "differentiation": "well",
        "mitoses_per_2mm2": 1,
        "functional": False,
        "sstr_status": "positive",
    },
    "disease": {
        "extent": "distant_metastatic",
        "tumor_burden": "clinically_significant",
        "status": "progressive",
        "progression_clinically_significant": True,
    },
    "treatments": [],
}


def _with(base: dict[str, Any], section: str, **values: Any) -> dict[str, Any]:
    out = {**base, section: {**base[section], **values}}
    out[section] = {k: v for k, v in out[section].items() if v is not None}
    return out


def test_not_resectable_with_extent_unrecorded_is_advanced() -> None:
    f = build_facts(Patient.model_validate(EXT))
    assert f.get("derived.advanced") is True
    assert "not resectable (extent not recorded)" in (f.why("derived.advanced") or "")
    # locoregional advanced (not distant) still needs the extent
    assert f.get("derived.locoregional_advanced") is None
    assert f.missing_for("derived.locoregional_advanced") == ("disease.extent",)
    ev = run(EXT)
    assert (ev.setting.table, ev.setting.status, ev.setting.missing) == ("gi_wd_g12", "applies", [])
    rt = opt(ev, "gi.rt_fluoropyrimidine")
    assert rt.status == "needs_data" and "disease.extent" in rt.missing


@pytest.mark.parametrize(
    ("resectable", "advanced", "missing"),
    [
        (False, True, ()),
        (True, None, ("disease.extent",)),  # resectable localized disease, or distant metastases
        (None, None, ("disease.extent",)),
    ],
)
def test_advanced_with_extent_unrecorded(
    resectable: bool | None, advanced: bool | None, missing: tuple
) -> None:
    rec = _with(EXT, "disease", resectable=resectable)
    f = build_facts(Patient.model_validate(rec))
    assert f.get("derived.advanced") is advanced
    assert (f.missing_for("derived.advanced") if advanced is None else ()) == missing
    ev = run(rec)
    assert ev.setting.status == ("applies" if advanced else "needs_data")
    assert ev.setting.missing == list(missing)


@pytest.mark.parametrize("extent", ["localized", "locoregional", "distant_metastatic"])
def test_not_resectable_with_extent_recorded_unchanged(extent: str) -> None:
    f = build_facts(Patient.model_validate(_with(EXT, "disease", extent=extent)))
    assert f.get("derived.advanced") is True
    assert f.get("derived.locoregional_advanced") is (extent != "distant_metastatic")


def test_lung_necrosis_unrecorded_setting_applies() -> None:
    ev = run(LUNG)
    assert (ev.setting.table, ev.setting.status, ev.setting.missing) == ("lung_thymus", "applies", [])
    # footnote i's entries genuinely depend on atypical vs typical: they wait for the necrosis
    for entry in ("lung.carboplatin_etoposide", "lung.cisplatin_etoposide"):
        o = opt(ev, entry)
        assert o.status == "needs_data"
        assert "tumor.necrosis" in o.missing
        assert not {"tumor.mitoses_per_2mm2", "tumor.grade"} & set(o.missing)


@pytest.mark.parametrize(
    ("mitoses", "necrosis", "subtype"),
    [
        (1, None, None),  # typical or atypical: necrosis decides
        (3, None, "atypical_carcinoid"),  # 2-10 mitoses: atypical whatever the necrosis
        (1, True, "atypical_carcinoid"),
        (1, False, "typical_carcinoid"),
    ],
)
def test_lung_subtype_neighbours(mitoses: float, necrosis: bool | None, subtype: str | None) -> None:
    rec = _with(LUNG, "tumor", mitoses_per_2mm2=mitoses, necrosis=necrosis)
    f = build_facts(Patient.model_validate(rec))
    assert f.get("derived.lung_subtype") == subtype
    carcinoid = parse_condition(
        {"fact": "derived.lung_subtype", "in": ["typical_carcinoid", "atypical_carcinoid"]}
    )
    typical = parse_condition({"fact": "derived.lung_subtype", "eq": "typical_carcinoid"})
    assert settle(carcinoid, f) == (True, [])
    assert evaluate_condition(carcinoid, f).value is True
    if subtype is None:
        assert settle(typical, f) == (None, ["tumor.lung_subtype", "tumor.necrosis"])
        assert f.among("derived.lung_subtype") == ("typical_carcinoid", "atypical_carcinoid")
    else:
        assert settle(typical, f) == (subtype == "typical_carcinoid", [])
    ev = run(rec)
    assert (ev.setting.table, ev.setting.status) == ("lung_thymus", "applies")


@pytest.mark.parametrize(
    ("tumor", "missing"),
    [
        # a recorded field is never named: with a count, only the subtype (and the necrosis where it decides)
        ({"mitoses_per_2mm2": 1}, ("tumor.lung_subtype", "tumor.necrosis")),
        ({"mitoses_per_2mm2": 12, "differentiation": "well"}, ("tumor.lung_subtype",)),
        ({"necrosis": False}, ("tumor.lung_subtype", "tumor.grade", "tumor.mitoses_per_2mm2")),
        ({}, ("tumor.lung_subtype", "tumor.grade", "tumor.mitoses_per_2mm2", "tumor.necrosis")),
        ({"grade": "G3"}, ("tumor.lung_subtype", "tumor.mitoses_per_2mm2", "tumor.necrosis")),
    ],
)
def test_lung_subtype_names_only_unrecorded_fields(tumor: dict[str, Any], missing: tuple[str, ...]) -> None:
    t = {"primary_site": "lung", **tumor}
    f = build_facts(Patient.model_validate({"tumor": t, "disease": {}}))
    assert f.get("derived.lung_subtype") is None
    assert f.missing_for("derived.lung_subtype") == missing
    assert not {k for k in missing if t.get(k.split(".")[1]) is not None}


def test_recorded_g3_with_few_mitoses_is_not_read_as_a_carcinoid() -> None:
    """A recorded grade 3 is not a carcinoid grade: the subtype is not assumed to be one of the two."""
    t = {"primary_site": "lung", "grade": "G3", "mitoses_per_2mm2": 1, "differentiation": "well"}
    f = build_facts(Patient.model_validate({"tumor": t, "disease": {}}))
    assert f.among("derived.lung_subtype") == ()
    carcinoid = parse_condition(
        {"fact": "derived.lung_subtype", "in": ["typical_carcinoid", "atypical_carcinoid"]}
    )
    assert settle(carcinoid, f)[0] is None


def test_lung_builder_still_applies() -> None:
    assert run(lung()).setting.status == "applies"


def test_poor_differentiation_with_a_low_derived_grade_is_pointed_out() -> None:
    """Recorded poorly differentiated with Ki-67 1% (grade G1 derived): the tables do not apply (as
    recorded), and the differentiation's reason points out the conflict for checking."""
    rec = {
        "tumor": {"primary_site": "pancreas", "differentiation": "poor", "ki67_percent": 1},
        "disease": {"extent": "distant_metastatic", "status": "progressive"},
        "treatments": [],
    }
    f = build_facts(Patient.model_validate(rec))
    why = f.why("derived.differentiation") or ""
    assert why.startswith("poorly differentiated as recorded (check the record")
    assert "derived from the record is G1" in why
    assert run(rec).setting.status == "not_applicable"
    rec["tumor"]["ki67_percent"] = 40  # a high grade fits: nothing to check
    assert f"{build_facts(Patient.model_validate(rec)).why('derived.differentiation')}" == (
        "poorly differentiated as recorded"
    )


def test_a_doubt_the_record_raises_is_said_in_the_setting_it_excludes() -> None:
    """Poorly differentiated with a Ki-67 of 1 % (G1 by the digestive cut-points): outside the tables, and
    the setting's reasons say the record disagrees with itself, not only in the derived facts."""
    ev = run(
        {"tumor": {"primary_site": "pancreas", "differentiation": "poor", "ki67_percent": 1},
         "disease": {"extent": "distant_metastatic", "status": "progressive"}, "treatments": []}
    )  # fmt: skip
    assert ev.setting.status == "not_applicable" and ev.options == []
    doubt = [r for r in ev.setting.reasons if "check the record" in r]
    assert len(doubt) == 1 and "G1" in doubt[0] and doubt[0].endswith("[derived.differentiation]")
    agreeing = run(
        {"tumor": {"primary_site": "pancreas", "differentiation": "poor", "ki67_percent": 60},
         "disease": {"extent": "distant_metastatic", "status": "progressive"}, "treatments": []}
    )  # fmt: skip
    assert not [r for r in agreeing.setting.reasons if "check the record" in r]
