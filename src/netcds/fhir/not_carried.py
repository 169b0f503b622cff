"""The patient fields netcds never reads from a FHIR record, and what a card asking for one says.

docs/fhir-mapping.md lists them ("What FHIR does not carry" and the ``tumor.duodenal_part`` row): the
clinical and multidisciplinary judgements and the patient's preferences have no mCODE element, and no
code for the duodenum's parts is mapped. A CDS Hooks card that asks for one of them says so and where it
can be entered instead, since recording it in the chart will not change the card.
"""

from __future__ import annotations

#: Judgements and preferences with no mCODE element (``preferences`` stands for all its fields).
JUDGEMENTS = (
    "disease.tumor_burden", "disease.resectable", "disease.tumor_symptoms", "tumor.hormonal_symptoms",
    "disease.biology", "disease.progression_clinically_significant", "context.no_other_options_feasible",
    "context.no_satisfactory_alternative", "preferences",
)  # fmt: skip
#: Every field the FHIR mapping leaves unknown whatever the record holds.
NOT_CARRIED = (*JUDGEMENTS, "tumor.duodenal_part")

_WHY = {
    "tumor.duodenal_part": "no code for the duodenum's parts is mapped",
    "preferences": "the patient's preference",
}
_JUDGEMENT = "a clinical judgement"
#: The card's row mark starts with this; its one closing line says what it means and where to enter them.
MARK = "not read from FHIR"
WHERE = (
    f"Facts marked '{MARK}' have no element in the chart's FHIR data that netcds maps, so recording them "
    "in the chart will not change this card: enter them on netcds' patient form, e.g. through the SMART app."
)


def not_from_fhir(field: str) -> str | None:
    """The row mark for ``field`` (why it is not read from the chart's FHIR data); None when it is read."""
    section = field.split(".", 1)[0]
    key = field if field in NOT_CARRIED else section if section in NOT_CARRIED else None
    if key is None:
        return None
    return f"{MARK}: {_WHY.get(key, _JUDGEMENT)}"
