"""The parts every netcds CDS Hooks card is built from: the screen views, citations, uuids, clean text.

A card's ``uuid`` is a UUIDv5 of its content and the input hash, so the same input
gives the same cards (no clock, no randomness); links are left out of the hash
because they carry stored ids and, to a stored evaluation, a signature with an expiry
(netcds.api.signed_links). Links go to the web pages (``/ui``), which a clinician reads.
Text from the patient record or the EHR (medication
names, free-text conditions, order texts) reaches card summaries and details: where
it is put into a card's Markdown it is escaped (:func:`md_text`), and every card is
cleaned of control and bidirectional-formatting characters when it is finalized
(:func:`clean_text`).
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel, ConfigDict, Field

from netcds.evaluation import GuidelineRef
from netcds.field_labels import agent_name as agent_name
from netcds.field_labels import field_label as _shared_label
from netcds.field_labels import rule_id

NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "urn:netcds:cds-hooks")
TOPIC_SYSTEM = "urn:netcds:cds-topic"
OVERRIDE_SYSTEM = "urn:netcds:override-reason"
UCUM = "http://unitsofmeasure.org"
MAX_SUMMARY = 139
OVERRIDE_REASONS: tuple[dict[str, str], ...] = tuple(
    {"system": OVERRIDE_SYSTEM, "code": code, "display": display}
    for code, display in (
        ("benefit-outweighs-risk", "Benefit judged to outweigh the risk; will monitor"),
        ("interacting-drug-stopped", "Interacting medicine is being stopped or replaced"),
        ("dose-already-adjusted", "Dose already adjusted by the prescriber"),
        ("data-incorrect", "Finding rests on outdated or incorrect record data"),
        ("patient-preference", "Patient's informed preference"),
    )
)
INDICATORS = ("info", "warning", "critical")  # safety severities map 1:1; anything else shows as a warning


class SafetyFinding(BaseModel):
    """One safety item of an agent screen (shape of netcds.safety's SafetyItem)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    severity: str
    agent: str
    finding: str
    action: str | None = None
    source: Any = None
    fields: list[str] = Field(default_factory=list)
    id: str | None = None
    kind: str | None = None


class DoseAdvice(BaseModel):
    """The dose part of an agent screen (shape of netcds.safety's dose)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    agent: str
    standard: Any = None
    adjusted: Any = None
    adjusted_mg: float | None = None
    rules_applied: list[Any] = Field(default_factory=list)
    source: Any = None
    pending: list[str] = Field(default_factory=list)
    unit: str | None = None
    # from the agent's monograph, not the screen (see with_label_dose): the flat standard dose in mg, the
    # highest labelled amount in mg, and the labelled schedule in words
    standard_mg: float | None = None
    maximum_mg: float | None = None
    schedule: str | None = None
    # each dose rule's situation in words, by rule id (the screen's), so a card names a rule as a
    # clinician would
    rule_names: dict[str, str] = Field(default_factory=dict)

    def rule_ids(self) -> set[str]:
        """Ids of the safety items that caused the adjustment ("strong_cyp3a4_inhibitor: ..." -> the id;
        "renal_toxicity [UNVERIFIED]: ..." -> "renal_toxicity")."""
        out = set()
        for r in self.rules_applied:
            if isinstance(r, str) and ":" in r:
                out.add(rule_id(r))
            elif isinstance(r, Mapping) and r.get("id"):
                out.add(str(r["id"]))
        return out

    def rule_name(self, rule: str) -> str:
        """A dose rule's situation in words (its id when the screen gave none)."""
        return self.rule_names.get(rule) or rule


class AgentScreenView(BaseModel):
    """A safety screen of one agent for one patient, independent of the safety module's classes."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    agent: str
    safety: list[SafetyFinding] = Field(default_factory=list)
    dose: DoseAdvice | None = None

    @classmethod
    def from_screen(cls, agent: str, screen: Any) -> AgentScreenView:
        """Accept the safety module's AgentScreen (pydantic model, dataclass or dict)."""
        if isinstance(screen, BaseModel):
            # read the model's attributes: dumping the screen to JSON and validating every item again
            # cost ~3x as much (~0.3 ms of a first order-sign call); sources stay models, read by cite()
            items = [
                SafetyFinding.model_validate(s, from_attributes=True) for s in getattr(screen, "safety", [])
            ]
            raw_dose = getattr(screen, "dose", None)
            dose_view = (
                DoseAdvice.model_validate(raw_dose, from_attributes=True) if raw_dose is not None else None
            )
            return cls(
                agent=str(getattr(screen, "agent", None) or agent),
                safety=[f if f.agent else f.model_copy(update={"agent": agent}) for f in items],
                dose=dose_view
                if dose_view is None or dose_view.agent
                else dose_view.model_copy(update={"agent": agent}),
            )
        data = plain(screen)
        if not isinstance(data, dict):
            data = {}
        safety = [plain(s) for s in data.get("safety") or []]
        dose = plain(data.get("dose"))
        if isinstance(dose, dict):
            dose = {**dose, "agent": dose.get("agent") or agent}
        return cls(
            agent=str(data.get("agent") or agent),
            safety=[
                SafetyFinding.model_validate({**s, "agent": s.get("agent") or agent})
                for s in safety
                if isinstance(s, dict)
            ],
            dose=DoseAdvice.model_validate(dose) if isinstance(dose, dict) else None,
        )

    def with_label_dose(
        self, *, standard_mg: float | None, maximum_mg: float | None, schedule: str | None
    ) -> AgentScreenView:
        """This view with the monograph's labelled dose facts on its dose (the screen does not carry them)."""
        if self.dose is None:
            return self
        label = {"standard_mg": standard_mg, "maximum_mg": maximum_mg, "schedule": schedule}
        return self.model_copy(update={"dose": self.dose.model_copy(update=label)})


def plain(value: Any) -> Any:
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if hasattr(value, "__dataclass_fields__"):
        import dataclasses

        return json.loads(json.dumps(dataclasses.asdict(value), default=str))
    return value


def indicator_for(severity: str) -> str:
    low = severity.strip().lower()
    return low if low in INDICATORS else "warning"


def summary_text(text: str) -> str:
    """One line, under 140 characters (a cut does not end in a lone escaping backslash: :func:`md_text`)."""
    one = " ".join(text.split())
    return one if len(one) <= MAX_SUMMARY else one[: MAX_SUMMARY - 1].rstrip().rstrip("\\") + "…"


# C0 controls but tab and newline, DEL, C1 controls, and the bidirectional formatting characters (marks,
# embeddings, overrides, isolates): record text carrying them could reorder or hide what a card says
_UNSAFE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def clean_text(text: str) -> str:
    """``text`` without control or bidirectional-formatting characters (tab and newline are kept)."""
    return _UNSAFE.sub("", text)


# what Markdown (GFM) or the HTML it may carry reads as markup: raw HTML and autolinks (< >), character
# references (&), link and image syntax ([ ]: no link or image without them), emphasis, strikethrough and
# code (* _ ~ `), and the backslash that escapes the others
_MARKUP = re.compile(r"([\\`*_~<>&\[\]])")
_ACTIVE = re.compile(r"([\\<>&\[\]])")  # what can make a link, an image or HTML (not mere emphasis)


def md_text(text: str, *, emphasis: bool = True) -> str:
    """Text from the patient record or the EHR (a medication name, a free-text condition, an order's words,
    a reference) as literal text in a card's Markdown: each character Markdown or HTML would read as markup
    is backslash-escaped (CommonMark), so ``<a href=...>``, ``<img onerror=...>`` or ``[x](url)`` show as
    typed instead of becoming a link, an image or HTML. netcds's own markup around it (bold labels, its
    links) is not passed through here. ``emphasis`` False (a card's one-line summary, plain text in CDS
    Hooks): only what could make a link, an image or HTML is escaped, so "UGT1A1*28" keeps its look where
    a client shows the summary as it is."""
    pattern = _MARKUP if emphasis else _ACTIVE
    return pattern.sub(r"\\\1", text) if pattern.search(text) else text


def _cleaned(card: dict[str, Any]) -> dict[str, Any]:
    """The card with its human-readable text cleaned (the FHIR resources of its actions are left as sent)."""
    out = dict(card)
    if isinstance(out.get("summary"), str):
        out["summary"] = summary_text(clean_text(out["summary"]))
    if isinstance(out.get("detail"), str):
        out["detail"] = clean_text(out["detail"])
    if isinstance(out.get("source"), Mapping) and isinstance(out["source"].get("label"), str):
        out["source"] = {**out["source"], "label": clean_text(out["source"]["label"])}
    if "suggestions" in out:
        out["suggestions"] = [_cleaned_suggestion(s) for s in out["suggestions"]]
    return out


def _cleaned_suggestion(suggestion: Mapping[str, Any]) -> dict[str, Any]:
    out = {**suggestion, "label": clean_text(suggestion["label"])}
    if "actions" in out:
        out["actions"] = [
            {**a, "description": clean_text(a["description"])} if "description" in a else a
            for a in out["actions"]
        ]
    return out


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def finalize(card: dict[str, Any], seed: str) -> dict[str, Any]:
    """Give a card (and its suggestions) deterministic uuids from content + seed (the input hash); its
    text is cleaned first (:func:`clean_text`)."""
    card = _cleaned(card)
    hashed = {k: v for k, v in card.items() if k not in ("uuid", "links")}
    if "suggestions" in hashed:
        hashed["suggestions"] = [{k: v for k, v in s.items() if k != "uuid"} for s in hashed["suggestions"]]
    card_id = str(uuid.uuid5(NAMESPACE, seed + "|" + canonical(hashed)))
    for s in card.get("suggestions", []):
        s["uuid"] = str(uuid.uuid5(NAMESPACE, card_id + "|" + s["label"]))
    return {"uuid": card_id, **{k: v for k, v in card.items() if k != "uuid"}}


def cite(source: Any) -> tuple[str, str | None]:
    """A readable citation and its URL from a source given as a dict, a model or a string."""
    # a model's field values are read as they are (its __dict__), not dumped to JSON first
    src = source.__dict__ if isinstance(source, BaseModel) else plain(source)
    if isinstance(src, str):
        return src, None
    if not isinstance(src, Mapping):
        return "source not stated", None
    parts = [str(src[k]) for k in ("document", "label", "name") if src.get(k)][:1]
    parts += [str(src[k]) for k in ("version", "section", "page", "table", "date") if src.get(k)]
    url = src.get("url")
    if not url:  # a seed citation corroborated by a public document: link that one
        also = [a.__dict__ if isinstance(a, BaseModel) else a for a in src.get("also") or []]
        url = next((a.get("url") for a in also if isinstance(a, Mapping) and a.get("url")), None)
    return (", ".join(parts) or "source not stated"), (str(url) if url else None)


def card_source(label: str, url: str | None, topic: str, topic_display: str) -> dict[str, Any]:
    out: dict[str, Any] = {"label": label}
    if url:
        out["url"] = url
    out["topic"] = {"system": TOPIC_SYSTEM, "code": topic, "display": topic_display}
    return out


def card_links(url: str | None, label: str) -> list[dict[str, str]]:
    """A card's ``links``: ``absolute`` (loaded as it is in the clinician's browser), to a web page under
    ``/ui``, never to a JSON endpoint. The one ``smart`` link (the SMART launch, when enabled) is
    ``cards.smart_link``."""
    return [{"label": label, "url": url, "type": "absolute"}] if url else []


def agent_page(base_url: str, agent: str) -> str:
    """An agent's monograph as a web page (doses, adjustments, warnings, sources)."""
    return f"{base_url}/ui/agents/{quote(agent, safe='')}"


def guideline_page(base_url: str, table: str | None = None, release: GuidelineRef | None = None) -> str:
    """A table of the encoded guideline as a web page, or the list of its tables when ``table`` is None: as
    the knowledge ``release`` a card was computed with encodes it (``/ui/guideline/{id}/{release}[/{table}]``,
    which keeps showing that release when the service moves on), else as the service's current release
    (``/ui/guideline[/{table}]``)."""
    page = f"{base_url}/ui/guideline"
    if release is not None:
        page += f"/{quote(release.id, safe='')}/{quote(release.release_id, safe='')}"
    return f"{page}/{quote(table, safe='')}" if table else page


# what one row of a record list is called on a card ("treatments[0].dose_mg" -> "... of recorded treatment 1")
_ROW_NOUNS = {
    "treatments": "treatment",
    "assessments": "assessment",
    "medications": "medication",
    "comorbidities.other": "other comorbidity",
}
_ROW = re.compile(r"(?P<row>[a-z_.]+)\[(?P<n>\d+)\](?:\.(?P<rest>.+))?")
# where the shared label is the web form's (an entry hint such as "one per line", a column heading read
# beside its row): the words a card uses instead
_CARD_LABELS = {
    "medications": "Concomitant medications",
    "comorbidities.other": "Other comorbidities (free text)",
    "treatments[].start": "Start date",
    "treatments[].end": "End date",
    "treatments[].interval_days": "Dosing interval (days)",
}


def field_label(path: str) -> str:
    """A contract path as a clinician reads it on a card: ``tumor.sstr_status`` -> "SSTR status (SSTR-PET /
    scintigraphy)" (the labels the web pages use, netcds.field_labels), a row path with its row number:
    ``treatments[0].dose_mg`` -> "Dose (mg) of recorded treatment 1", ``medications[2]`` -> "Recorded
    medication 3". Cards never show the raw path."""
    m = _ROW.fullmatch(path)
    if m is None:
        return _CARD_LABELS.get(path) or _shared_label(path)
    row, rest = m["row"], m["rest"]
    noun = f"recorded {_ROW_NOUNS.get(row, _shared_label(row).lower())} {int(m['n']) + 1}"
    if not rest:
        return noun[:1].upper() + noun[1:]
    generic = f"{row}[].{rest}"
    return f"{_CARD_LABELS.get(generic) or _shared_label(generic)} of {noun}"


def field_labels(paths: Sequence[str], limit: int | None = None) -> str:
    """Clinician-readable labels of ``paths`` joined for a card's text (the first ``limit``, then " …")."""
    shown = [field_label(p) for p in dict.fromkeys(paths)]
    if limit is not None and len(shown) > limit:
        return "; ".join(shown[:limit]) + " …"
    return "; ".join(shown)


def summary_with_fields(lead: str, paths: Sequence[str]) -> str:
    """``lead`` and as many whole field labels as fit in a card summary ("…" when some are left out)."""
    unique = list(dict.fromkeys(paths))
    for n in range(len(unique), 0, -1):
        text = f"{lead}{field_labels(unique, n)}"
        if len(text) <= MAX_SUMMARY:
            return text
    return summary_text(f"{lead}{field_labels(unique, 1)}")


def agent_label(agent: str) -> str:
    """An agent's name at the start of a line or summary ("Octreotide LAR")."""
    name = agent_name(agent)
    return name[:1].upper() + name[1:]
