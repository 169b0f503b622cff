"""``opt.comorbidity_safety_findings``: recorded comorbidities that raise a label warning for an agent
of the option, read from the safety screen's items on the option.

The engine runs the safety screen before the sequencing layer, so each option carries its items
(``Option.safety``). An item counts when it is a *warning* or *critical* label warning or dose
adjustment whose deciding facts include a recorded comorbidity (``comorbidities.*``, not the free
text). It makes no clinical claim of its own: the consideration names the item and cites the
item's own source. A comorbidity fact that a hand-written comorbidity rule of the option already
states (``comorbidity.diabetes.everolimus``, the uncontrolled-hypertension rules) is not stated a
second time. An unknown comorbidity raises no such item (the safety screen names it as not
assessed), so it never fires the rule.
"""

from __future__ import annotations

from netcds.evaluation import Option, SourceRef
from netcds.facts import Derived, Facts
from netcds.field_labels import agent_name, field_label, in_sentence, situation_name
from netcds.logic.evaluate import settle, show
from netcds.safety.models import SafetyItem, SourceOut
from netcds.sequencing.data import SequencingData, lookups

FACT = "opt.comorbidity_safety_findings"
SEVERITIES = ("critical", "warning")
KINDS = ("warning", "adjustment")  # label warnings and dose rules; not monitoring or not-assessed items
PREFIX = "comorbidities."
FREE_TEXT = "comorbidities.other"


def _fields(item: SafetyItem) -> list[str]:
    return [f for f in item.fields if f.startswith(PREFIX) and not f.startswith(FREE_TEXT)]


def _stated(option: Option, table: str | None, facts: Facts, data: SequencingData) -> set[str]:
    """The comorbidity facts the option's other comorbidity rules already state (they fire)."""
    lk = lookups(data)
    out: set[str] = set()
    for rule in lk.rules_for(option.regimen, table):
        reads = lk.reads[rule.id]
        if rule.factor != "comorbidity" or FACT in reads or option.status not in rule.statuses:
            continue
        if settle(rule.condition, facts)[0] is True:
            out |= {f for f in reads if f.startswith(PREFIX)}
    return out


def comorbidity_items(
    option: Option, table: str | None, facts: Facts, data: SequencingData
) -> list[SafetyItem]:
    """The option's warning or critical safety items raised by a recorded comorbidity, in the screen's
    order, without those whose comorbidity another comorbidity rule of the option states."""
    raised = [it for it in option.safety if it.severity in SEVERITIES and it.kind in KINDS and _fields(it)]
    if not raised:  # most options: no comorbidity rule need be settled
        return []
    stated = _stated(option, table, facts, data)
    return [it for it in raised if not set(_fields(it)) <= stated]


def _words(item: SafetyItem, facts: Facts) -> str:
    recorded = ", ".join(f"{in_sentence(field_label(f))} = {show(facts.get(f))}" for f in _fields(item))
    return (
        f"{situation_name(item.finding)} ({item.severity} item for {agent_name(item.agent)}; "
        f"recorded: {recorded})"
    )


def comorbidity_fact(option: Option, table: str | None, facts: Facts, data: SequencingData) -> Derived:
    """``opt.comorbidity_safety_findings`` with the items named in words."""
    items = comorbidity_items(option, table, facts, data)
    if not items:
        return Derived(False, "no warning or critical safety item raised by a recorded comorbidity")
    return Derived(True, "; ".join(_words(it, facts) for it in items))


def _ref(s: SourceOut) -> SourceRef:
    return SourceRef(document=s.document, section=s.section, url=s.url, date=s.date)


def item_sources(option: Option, table: str | None, facts: Facts, data: SequencingData) -> list[SourceRef]:
    """The sources of the items the fact names (each item's source, then the ones it cites beside it)."""
    out: list[SourceRef] = []
    for it in comorbidity_items(option, table, facts, data):
        for ref in (_ref(it.source), *(_ref(a) for a in it.source.also)):
            if ref not in out:
                out.append(ref)
    return out
