"""Medication name matching: case, spacing, punctuation, strength, brand -> generic, combinations."""

from __future__ import annotations

import pytest

from netcds.safety import AgentKnowledge
from netcds.safety.medications import normalize, strip_strength


@pytest.mark.parametrize(
    ("raw", "norm"),
    [("  St. John's  Wort ", "st johns wort"), ("RIFADIN", "rifadin"), ("Toprol-XL", "toprol xl"),
     ("clarithromycin (for H. pylori)", "clarithromycin"), ("Éry-Tab", "ery tab")],
)  # fmt: skip
def test_normalize(raw: str, norm: str) -> None:
    assert normalize(raw) == norm


def test_strip_strength() -> None:
    assert strip_strength("clarithromycin 500 mg tablets") == "clarithromycin"
    assert strip_strength("verapamil er") == "verapamil"
    assert strip_strength("st johns wort") == "st johns wort"


@pytest.mark.parametrize(
    ("raw", "generic"),
    [("Biaxin", "clarithromycin"), (" RIFADIN ", "rifampin"), ("rifampicin", "rifampin"),
     ("KETOCONAZOLE", "ketoconazole"), ("St John's wort", "st. john's wort"), ("Kaletra", "lopinavir and ritonavir"),
     ("lopinavir/ritonavir", "lopinavir and ritonavir"), ("Paxlovid", "nirmatrelvir and ritonavir"),
     ("Bactrim DS", "sulfamethoxazole and trimethoprim"), ("TMP-SMX", "sulfamethoxazole and trimethoprim"),
     ("Coreg", "carvedilol"), ("verapamil 240 mg ER", "verapamil")],
)  # fmt: skip
def test_registry_matches(raw: str, generic: str, akb: AgentKnowledge) -> None:
    found = akb.registry.match(0, raw)
    assert [m.generic for m in found] == [generic]


def test_carvedilol_classes_merge_across_lists(akb: AgentKnowledge) -> None:
    assert akb.registry.classes["carvedilol"] == {"pgp_inhibitor", "beta_blocker"}


def test_combination_partly_known(akb: AgentKnowledge) -> None:
    found = akb.registry.match(3, "lisinopril/hydrochlorothiazide")
    assert [m.generic for m in found] == ["lisinopril", None]
    assert found[1].raw == "hydrochlorothiazide" and found[1].index == 3


def test_unknown_name_is_unmatched(akb: AgentKnowledge) -> None:
    assert [m.generic for m in akb.registry.match(0, "allopurinol")] == [None]
    assert akb.registry.screen(None) is None
