"""The condition language: parsing errors with paths, Kleene three-valued logic, explanations."""

from __future__ import annotations

import itertools

import pytest

from netcds.facts import build_facts
from netcds.logic import evaluate, parse_condition
from netcds.logic.ast import ConditionSyntaxError
from netcds.patient import Patient
from tests.conftest import gi

SSTR = {"fact": "derived.sstr_status", "eq": "positive", "says": "SSTR-positive"}
FUNC = {"fact": "tumor.functional", "is": False, "says": "non-functional"}


def facts(**over):
    return build_facts(Patient.model_validate(gi(**over)))


VALUES = {True: {"sstr_status": "positive"}, False: {"sstr_status": "negative"}, None: {"sstr_status": None}}
FVALS = {True: {"functional": False}, False: {"functional": True}, None: {"functional": None}}


def kleene_and(a, b):
    return False if False in (a, b) else None if None in (a, b) else True


def kleene_or(a, b):
    return True if True in (a, b) else None if None in (a, b) else False


@pytest.mark.parametrize(("a", "b"), list(itertools.product([True, False, None], repeat=2)))
def test_truth_tables(a, b):
    f = facts(tumor={**VALUES[a], **FVALS[b]})
    assert evaluate(parse_condition({"all": [SSTR, FUNC]}), f).value is kleene_and(a, b)
    assert evaluate(parse_condition({"any": [SSTR, FUNC]}), f).value is kleene_or(a, b)
    assert evaluate(parse_condition({"not": SSTR}), f).value is {True: False, False: True, None: None}[a]


def test_missing_only_reported_when_it_could_change_the_result():
    f = facts(tumor={"sstr_status": "negative", "functional": None})
    out = evaluate(parse_condition({"all": [SSTR, FUNC]}), f)
    assert out.value is False and out.missing == []
    out = evaluate(parse_condition({"any": [SSTR, FUNC]}), f)
    assert out.value is None and out.missing == ["tumor.functional"]


def test_findings_are_pertinent_positives_and_negatives_in_words():
    f = facts(tumor={"sstr_status": "positive", "functional": True})
    out = evaluate(parse_condition({"all": [SSTR, FUNC]}), f)
    assert [x.text for x in out.positives] == ["SSTR-positive: yes (SSTR imaging positive)"]
    assert [x.says for x in out.negatives] == ["non-functional"]


@pytest.mark.parametrize(
    ("cond", "value"),
    [
        ({"fact": "tumor.ki67_percent", "ge": 8}, True),
        ({"fact": "tumor.ki67_percent", "gt": 8}, False),
        ({"fact": "tumor.ki67_percent", "lt": 10}, True),
        ({"fact": "tumor.ki67_percent", "le": 7}, False),
        ({"fact": "tumor.primary_site", "in": ["ileum", "jejunum"]}, True),
        ({"fact": "tumor.primary_site", "not_in": ["ileum"]}, False),
        ({"fact": "tumor.primary_site", "ne": "ileum"}, False),
        ({"fact": "tumor.mitoses_per_2mm2", "ge": 2}, None),
        ({"received": ["ssa"]}, True),
        ({"received": ["everolimus"]}, False),
        ({"progressed_on": ["octreotide_lar"]}, True),
        ({"progressed_on": ["everolimus"]}, False),
    ],
)
def test_operators(cond, value):
    assert evaluate(parse_condition(cond), facts()).value is value


def test_history_predicates_unknown_without_history():
    f = facts(treatments=None)
    assert evaluate(parse_condition({"received": ["everolimus"]}), f).missing == ["treatments"]


@pytest.mark.parametrize(
    ("cond", "path", "needle"),
    [
        ({"fact": "tumor.sstr", "eq": "positive"}, "fact", "unknown fact"),
        ({"fact": "tumor.sstr_status", "eq": "pos"}, "eq", "not one of"),
        ({"fact": "tumor.sstr_status", "gt": 3}, "gt", "needs a number"),
        ({"fact": "tumor.sstr_status"}, "", "exactly one operator"),
        ({"all": []}, "all", "non-empty"),
        ({"all": [{"fact": "x", "eq": 1}]}, "all[0].fact", "unknown fact"),
        ({"any": [SSTR, {"received": ["aspirin"]}]}, "any[1].received[0]", "unknown agent"),
        ({"not": {"foo": 1}}, "not", "unknown condition form"),
        ({"all": [SSTR], "any": [SSTR]}, "", "cannot be mixed"),
        ("positive", "", "must be a mapping"),
        ({"fact": "tumor.functional", "is": "yes"}, "is", "true/false"),
    ],
)
def test_syntax_errors_name_their_path(cond, path, needle):
    with pytest.raises(ConditionSyntaxError) as e:
        parse_condition(cond)
    assert any(p == path and needle in m for p, m in e.value.problems), e.value.problems
