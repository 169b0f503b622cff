"""The WHO grade, the lung/thymus carcinoid subtype and the differentiation of the primary tumor.

Derived facts ``derived.grade``, ``derived.lung_subtype`` and ``derived.differentiation`` (computed by
:func:`netcds.facts.build_facts`). A digestive or other primary is graded by Ki-67 and the mitotic count
at the WHO digestive cut-points; a lung or thymus primary by the WHO thoracic criteria (mitoses and
necrosis; Ki-67 never grades it). A recorded value decides, and a measure that disagrees with it is
pointed out for checking; an unknown grade names the fields that would settle it.
"""

from __future__ import annotations

from netcds.derived_fact import Derived
from netcds.patient import Patient, Tumor

THORACIC_SITES = frozenset({"lung", "thymus"})  # graded by the WHO thoracic criteria
GRADE_RANK = {"G1": 1, "G2": 2, "G3": 3}


def _mitotic_grade(m: float, thoracic: bool) -> str:
    """The grade a mitotic count per 2 mm² gives: WHO digestive cut-points (< 2, 2-20, > 20), or for a
    lung or thymus primary the WHO thoracic ones (< 2 typical, 2-10 atypical carcinoid; above 10 is beyond
    the carcinoid range, read as high grade)."""
    return "G1" if m < 2 else "G2" if m <= (10 if thoracic else 20) else "G3"


def _subtype_conflict(t: Tumor, subtype: str | None) -> str | None:
    """Why a lung/thymus carcinoid subtype (recorded, or read from the recorded grade) disagrees with the
    recorded mitoses and necrosis by the WHO thoracic criteria (typical: < 2 mitoses/2 mm² and no necrosis;
    atypical: 2-10 or necrosis), else None."""
    m, n = t.mitoses_per_2mm2, t.necrosis
    if subtype == "typical_carcinoid":
        bits = ([f"{m:g} mitoses/2 mm²"] if m is not None and m >= 2 else []) + (["necrosis"] if n else [])
        verb = " point" if len(bits) > 1 else " points"
        return " and ".join(bits) + verb + " to an atypical carcinoid or higher" if bits else None
    if subtype == "atypical_carcinoid":
        if m is not None and m > 10:
            return f"{m:g} mitoses/2 mm² is above the atypical carcinoid range (2-10)"
        if m is not None and m < 2 and n is False:
            return f"{m:g} mitoses/2 mm² without necrosis fits a typical carcinoid"
    return None


CHECK_THE_RECORD = "(check the record:"  # opens every remark on a disagreement inside the record


def _checked(notes: list[str | None]) -> str:
    """The "check the record" remark for the disagreements in ``notes`` (None: no disagreement)."""
    said = [n for n in notes if n]
    return f" {CHECK_THE_RECORD} {'; '.join(said)})" if said else ""


_CARCINOIDS = ("typical_carcinoid", "atypical_carcinoid")


def _carcinoid_of(grade: str | None) -> str | None:
    return {"G1": "typical_carcinoid", "G2": "atypical_carcinoid"}.get(grade or "")


def _morphology_fields(t: Tumor) -> tuple[str, ...]:
    """The recorded morphology a disagreement with a recorded subtype or grade rests on."""
    kept = (("tumor.mitoses_per_2mm2", t.mitoses_per_2mm2), ("tumor.necrosis", t.necrosis))
    return tuple(f for f, v in kept if v is not None)


def thoracic_disagreement(t: Tumor, carcinoid: str | None, field: str) -> Derived | None:
    """A lung/thymus carcinoid subtype recorded (or read from a recorded G1/G2 in ``field``) that the
    recorded mitoses and necrosis contradict by the WHO thoracic criteria (``_subtype_conflict``), as an
    unknown subtype (session 38; it had decided, with a remark). The subtype decides the lung/thymus row
    and a count above 10 leaves the carcinoid range (the table), so neither reading is chosen silently:
    typical against atypical is unknown but a carcinoid either way (``among``); beyond the carcinoid
    range is unknown outright. It names the recorded field and the morphology. None without a conflict."""
    if carcinoid is None or (conflict := _subtype_conflict(t, carcinoid)) is None:
        return None
    beyond = t.mitoses_per_2mm2 is not None and t.mitoses_per_2mm2 > 10
    said = carcinoid.replace("_", " ") + (
        " as recorded" if field == "tumor.lung_subtype" else f" (grade {t.grade} as recorded)"
    )
    return Derived(
        None,
        f"{said}, but {conflict} by the WHO thoracic criteria: the record disagrees with itself"
        + ("" if beyond else ", a carcinoid either way")
        + f" {CHECK_THE_RECORD} which specimen and date each value comes from)",
        (field, *_morphology_fields(t)),
        () if beyond else _CARCINOIDS,
    )


# Ki-67 above this is high for a lung/thymus carcinoid (typical or atypical); it never grades one
THORACIC_KI67_CARCINOID_MAX = 20.0
_KI67_NOT_THORACIC = "the WHO thoracic criteria grade by mitoses and necrosis, not by Ki-67"
# what settles the grade of a lung/thymus primary (Ki-67 cannot, so it is never named)
THORACIC_GRADE_FIELDS = ("tumor.grade", "tumor.mitoses_per_2mm2", "tumor.lung_subtype")
# < 2 mitoses/2 mm², necrosis not recorded: G1 or G2; what settles it (the mitotic count is recorded)
THORACIC_AMONG_FIELDS = ("tumor.grade", "tumor.lung_subtype", "tumor.necrosis")
CARCINOID_GRADES = ("G1", "G2")  # typical, atypical carcinoid


def possible_grades(grade: Derived) -> tuple[str, ...]:
    """The grades a derived grade may be: its value, else those it lies among (empty: any)."""
    return (grade.value,) if grade.value is not None else tuple(grade.among)


def grade_words(grade: Derived) -> str | None:
    """The derived grade as shown: "G1", "G1 or G2" (unknown among them), None when unknown."""
    return " or ".join(possible_grades(grade)) or None


def _thoracic_ki67_conflict(t: Tumor, grade: str) -> str | None:
    """Why the Ki-67 of a lung/thymus primary disagrees with the grade its morphology gives (the recorded
    grade, the carcinoid subtype or the mitotic count), else None. The WHO thoracic criteria grade a
    carcinoid by mitoses and necrosis; Ki-67 only supports them, chiefly in telling a carcinoid (G1/G2)
    from a high-grade tumor, not typical from atypical, so only that disagreement is pointed out."""
    k = t.ki67_percent
    if k is None:
        return None
    if grade in ("G1", "G2") and k > THORACIC_KI67_CARCINOID_MAX:
        return f"Ki-67 {k:g}% is high for a carcinoid, but {_KI67_NOT_THORACIC}"
    if grade == "G3" and k <= THORACIC_KI67_CARCINOID_MAX:
        return f"Ki-67 {k:g}% is low for a tumor beyond the carcinoid range, but {_KI67_NOT_THORACIC}"
    return None


def _thoracic_grade_disagreement(t: Tumor) -> Derived | None:
    """The grade of a lung/thymus primary when the recorded grade (or, without one, the recorded subtype)
    and the recorded morphology disagree across a line the tables draw (session 38): G1 against G2 as
    typical against atypical (unknown, G1 or G2 either way), a carcinoid against more than 10 mitoses
    (beyond the carcinoid range), or G3 recorded beside a count of at most 10 (a carcinoid's). Unknown,
    naming the recorded field and the morphology; None when they agree."""
    m = t.mitoses_per_2mm2
    if t.grade == "G3" and m is not None and m <= 10:
        return Derived(
            None,
            f"grade G3 as recorded, but {m:g} mitoses/2 mm² is in the carcinoid range (at most 10) by the"
            f" WHO thoracic criteria: the record disagrees with itself {CHECK_THE_RECORD} which specimen and"
            " date each value comes from)",
            ("tumor.grade", *_morphology_fields(t)),
        )
    field = "tumor.grade" if t.grade is not None else "tumor.lung_subtype"
    carcinoid = _carcinoid_of(t.grade) if t.grade is not None else t.lung_subtype
    sub = thoracic_disagreement(t, carcinoid, field)
    if sub is None:
        return None
    among = CARCINOID_GRADES if sub.among else ()
    grades = " or ".join(among)
    return Derived(None, sub.why + (f"; grade {grades}" if grades else ""), sub.missing, among)


def _thoracic_grade(t: Tumor) -> Derived:
    """The grade of a lung or thymus primary: the recorded grade, else the recorded carcinoid subtype,
    else the mitotic count by the thoracic cut-points. Ki-67 never sets it (nor, through it, the
    differentiation); a Ki-67 that disagrees with the morphology is pointed out for checking."""
    m, k = t.mitoses_per_2mm2, t.ki67_percent
    if (unsettled := _thoracic_grade_disagreement(t)) is not None:
        return unsettled
    if t.grade is not None:
        recorded = t.grade
        by_m = _mitotic_grade(m, True) if m is not None else recorded
        off = (
            f"{m:g} mitoses/2 mm² is {by_m} by the WHO cut-points"
            " (mitoses: thoracic, 2-10 atypical carcinoid)"
            if m is not None and by_m != recorded
            else None
        )
        check = _checked([off, _thoracic_ki67_conflict(t, recorded)])
        return Derived(recorded, f"grade {recorded} as recorded{check}")
    if t.lung_subtype is not None:
        g = "G1" if t.lung_subtype == "typical_carcinoid" else "G2"
        word = "low" if g == "G1" else "intermediate"
        # (a subtype the morphology contradicts is settled above: _thoracic_grade_disagreement)
        check = _checked([_thoracic_ki67_conflict(t, g)])
        return Derived(g, f"{t.lung_subtype.replace('_', ' ')} is {word} grade{check}")
    if m is None and t.necrosis is True:  # as in derive_lung_subtype: necrosis makes a carcinoid atypical
        check = _checked([_thoracic_ki67_conflict(t, "G2")])
        return Derived("G2", f"necrosis present -> atypical carcinoid, intermediate grade{check}")
    if m is None:
        # Only Ki-67 (or nothing): the grade stays unknown. Ki-67 does not grade a lung/thymus
        # carcinoid, and no cut-point of it can stand in for the mitotic count: a low value does not
        # tell typical from atypical, and a high one does not tell a carcinoid with a high
        # proliferation index from a large-cell or small-cell carcinoma. Assuming a grade from it would
        # make the lung/thymus table apply or not on a measure the WHO thoracic criteria do not grade
        # by; unknown names the fields that would settle it instead (never tumor.ki67_percent).
        said = f"; Ki-67 {k:g}% does not grade a lung/thymus carcinoid" if k is not None else ""
        return Derived(
            None,
            f"grade not recorded and no carcinoid subtype or mitotic count{said} ({_KI67_NOT_THORACIC})",
            THORACIC_GRADE_FIELDS,
        )
    if m < 2 and t.necrosis is None:
        return _typical_or_atypical_grade(t, m)
    g = _mitotic_grade(m, True)
    necrosis = g == "G1" and t.necrosis is True  # < 2 mitoses with necrosis: atypical (WHO thoracic)
    g = "G2" if necrosis else g
    conflict = _thoracic_ki67_conflict(t, g)
    rule = (
        f"{_ki67_said(k, conflict)}; mitoses by the WHO thoracic cut-points: 2-10 atypical carcinoid,"
        " above 10 beyond it"
    )
    basis = (
        f"{m:g} mitoses/2 mm² with necrosis -> atypical carcinoid, G2"
        if necrosis
        else f"{m:g} mitoses/2 mm² -> {g}"
    )
    return Derived(g, f"WHO grade {g} derived ({basis}; {rule}){_checked([conflict])}")


def _ki67_said(k: float | None, conflict: str | None) -> str:
    if k is None:
        return "single measure available"
    return "Ki-67 set aside" if conflict else f"Ki-67 {k:g}% does not grade a lung/thymus carcinoid"


def _typical_or_atypical_grade(t: Tumor, m: float) -> Derived:
    """< 2 mitoses/2 mm², necrosis not recorded (no grade or subtype recorded): as derive_lung_subtype
    says, a typical carcinoid (G1) without necrosis, an atypical one (G2) with it: unknown, but G1 or G2.
    Ki-67 tells a carcinoid from a high-grade tumor, not typical from atypical, so it disagrees with G1
    and G2 alike (one above the carcinoid range) or with neither: that is pointed out, for both."""
    conflict = _thoracic_ki67_conflict(t, "G1")  # the same for G2 (THORACIC_KI67_CARCINOID_MAX)
    k = t.ki67_percent
    said = (
        f"Ki-67 {k:g}% is high for a carcinoid, typical or atypical, but {_KI67_NOT_THORACIC}"
        if conflict
        else None
    )
    return Derived(
        None,
        f"{m:g} mitoses/2 mm² with necrosis not recorded: G1 (typical carcinoid) without necrosis, G2"
        f" (atypical carcinoid) with it; low or intermediate grade either way"
        f" ({_ki67_said(k, conflict)}){_checked([said])}",
        THORACIC_AMONG_FIELDS,
        CARCINOID_GRADES,
    )


def _crossing(recorded: str, by: list[tuple[str, str, str]]) -> Derived | None:
    """A recorded grade of a digestive (or other non-thoracic) primary whose measures ``by`` (grade, words,
    field) put the tumor on the other side of the G1/2 | G3 line by the WHO rule (the higher of Ki-67 and
    the mitotic count decides): G1 or G2 recorded with a measure at G3, or G3 recorded with both measures
    recorded and neither at G3. The two readings select different tables (G1/2 or WD G3), so the grade is
    unknown, naming the recorded grade and the measures that disagree, and both settings are shown:
    neither is chosen silently. A G3 recorded beside one measure below G3 is not crossing (the unrecorded
    measure may be the one at G3), nor is G1 against G2 (the same table): those keep the recorded grade
    with a "check the record" remark. None when not crossing."""
    high = [(g, txt, field) for g, txt, field in by if g == "G3"]
    if recorded in ("G1", "G2") and high:
        off = high
    elif recorded == "G3" and len(by) == 2 and not high:
        off = by
    else:
        return None
    said = " and ".join(f"{txt} is {g}" for g, txt, _ in off)
    return Derived(
        None,
        f"grade {recorded} as recorded, but {said} by the WHO cut-points (the higher of Ki-67 and the"
        " mitotic count decides): the record disagrees with itself across the G1/2 and G3 tables, so the"
        f" grade is unknown {CHECK_THE_RECORD} which specimen and date each value comes from)",
        ("tumor.grade", *(field for _, _, field in off)),
    )


def derive_grade(p: Patient) -> Derived:
    t = p.tumor
    if t.primary_site in THORACIC_SITES:
        return _thoracic_grade(t)
    # digestive and other primaries: Ki-67 and mitoses by the WHO digestive cut-points
    by: list[tuple[str, str, str]] = []  # (grade, words, field) per recorded measure
    if t.ki67_percent is not None:
        k = t.ki67_percent
        by.append(("G1" if k < 3 else "G2" if k <= 20 else "G3", f"Ki-67 {k:g}%", "tumor.ki67_percent"))
    if t.mitoses_per_2mm2 is not None:
        m = t.mitoses_per_2mm2
        by.append((_mitotic_grade(m, False), f"{m:g} mitoses/2 mm²", "tumor.mitoses_per_2mm2"))
    if t.grade is not None:
        if (crossing := _crossing(t.grade, by)) is not None:
            return crossing
        off = [f"{txt} is {g}" for g, txt, _ in by if g != t.grade]
        if off:  # the recorded grade decides; the disagreement is shown wherever the grade is cited
            return Derived(
                t.grade,
                f"grade {t.grade} as recorded" + _checked([" and ".join(off) + " by the WHO cut-points"]),
            )
        return Derived(t.grade, f"grade {t.grade} as recorded")
    if not by:
        return Derived(
            None,
            "grade not recorded and no Ki-67 or mitotic count",
            ("tumor.grade", "tumor.ki67_percent", "tumor.mitoses_per_2mm2"),
        )
    grade, _, _ = max(by, key=lambda b: GRADE_RANK[b[0]])
    basis = " and ".join(f"{txt} -> {g}" for g, txt, _ in by)
    rule = "the higher of the two decides" if len(by) == 2 else "single measure available"
    return Derived(grade, f"WHO grade {grade} derived ({basis}; {rule})")


def derive_lung_subtype(p: Patient) -> Derived:
    t = p.tumor
    if t.primary_site not in THORACIC_SITES:
        return Derived(None, "not a lung/thymus primary")
    if t.lung_subtype is not None:
        # a subtype the morphology contradicts is unknown; one it does not contradict decides, unremarked
        if (unsettled := thoracic_disagreement(t, t.lung_subtype, "tumor.lung_subtype")) is not None:
            return unsettled
        return Derived(t.lung_subtype, f"{t.lung_subtype.replace('_', ' ')} as recorded")
    if (sub := _carcinoid_of(t.grade)) is not None:
        if (unsettled := thoracic_disagreement(t, sub, "tumor.grade")) is not None:
            return unsettled
        level = "low" if t.grade == "G1" else "intermediate"
        return Derived(sub, f"grade {t.grade} read as {sub.replace('_', ' ')} ({level} grade)")
    m, n = t.mitoses_per_2mm2, t.necrosis
    if m is not None and m >= 2 and m <= 10:
        return Derived("atypical_carcinoid", f"{m:g} mitoses/2 mm² (2-10) -> atypical carcinoid")
    if n is True and (m is None or m <= 10):
        return Derived("atypical_carcinoid", "necrosis present -> atypical carcinoid")
    if m is not None and m < 2 and n is False:
        return Derived("typical_carcinoid", f"{m:g} mitoses/2 mm² and no necrosis -> typical carcinoid")
    if m is not None and m < 2:  # necrosis not recorded: it alone tells typical from atypical
        among = _CARCINOIDS if t.grade is None else ()
        either = "; typical or atypical carcinoid either way" if among else ""
        return Derived(
            None,
            f"{m:g} mitoses/2 mm² with necrosis not recorded: typical carcinoid without necrosis, atypical"
            f" with it{either}",
            ("tumor.lung_subtype", "tumor.necrosis"),
            among,
        )
    if m is not None:  # above 10: beyond the carcinoid range, whatever the necrosis
        return Derived(
            None,
            f"carcinoid subtype not recorded ({m:g} mitoses/2 mm² is beyond the carcinoid range by the WHO"
            " thoracic criteria)",
            ("tumor.lung_subtype",),
        )
    # no mitotic count: the fields not recorded that would settle it (a recorded one is never named)
    unrecorded = (("tumor.grade", t.grade), ("tumor.mitoses_per_2mm2", m), ("tumor.necrosis", n))
    return Derived(
        None,
        "carcinoid subtype not recorded and not derivable (no mitotic count)",
        ("tumor.lung_subtype", *(f for f, v in unrecorded if v is None)),
    )


def derive_differentiation(p: Patient, grade: Derived) -> Derived:
    t = p.tumor
    if t.differentiation is not None:
        m = t.mitoses_per_2mm2
        beyond = t.differentiation == "well" and t.primary_site in THORACIC_SITES and m is not None and m > 10
        note = (
            f"{m:g} mitoses/2 mm² is beyond the carcinoid range by the WHO thoracic criteria"
            if beyond
            else None
        )
        grades = possible_grades(grade)
        if t.differentiation == "poor" and grades and set(grades) <= {"G1", "G2"}:  # G1/G2 is refused
            note = (
                f"the grade derived from the record is {grade_words(grade)}, but a poorly differentiated"
                " carcinoma is high grade by definition"
            )
        check = _checked([note])
        words = "poorly differentiated" if t.differentiation == "poor" else "well-differentiated"
        return Derived(t.differentiation, f"{words} as recorded{check}")
    m = t.mitoses_per_2mm2
    beyond = t.primary_site in THORACIC_SITES and m is not None and m > 10
    if t.lung_subtype is not None and not beyond:  # a recorded carcinoid beyond its range: not read as well
        return Derived("well", "carcinoid tumors are well-differentiated")
    if grade.value in ("G1", "G2"):
        return Derived("well", f"grade {grade.value} implies a well-differentiated tumor")
    if grade.among and set(grade.among) <= {"G1", "G2"}:  # unknown, but G1 or G2: well either way
        return Derived(
            "well",
            f"grade {grade_words(grade)} (not known which) implies a well-differentiated tumor either way",
        )
    if t.primary_site in THORACIC_SITES and m is not None and m > 10:
        return Derived(
            None,
            f"differentiation not recorded ({m:g} mitoses/2 mm² is beyond the carcinoid range by the WHO"
            " thoracic criteria: a large-cell or small-cell carcinoma must be excluded)",
            ("tumor.differentiation",),
        )
    if t.primary_site in THORACIC_SITES and grade.value is None:  # Ki-67 does not stand in for the grade
        return Derived(
            None,
            f"differentiation not recorded and the grade unknown ({_KI67_NOT_THORACIC})",
            ("tumor.differentiation",),
        )
    return Derived(
        None,
        "differentiation not recorded (G3 may be a WD NET or a poorly differentiated NEC)",
        ("tumor.differentiation",),
    )
