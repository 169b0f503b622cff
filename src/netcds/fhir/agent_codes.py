"""The cancer agents the mapping recognises: RxNorm ingredient CUI (when corroborated) and names.

Part of the code tables of :mod:`netcds.fhir.codes` (which re-exports these names and
prints them in the documented code table); the sources are listed there (``rxnav``).
"""

from __future__ import annotations

from dataclasses import dataclass


# ---- agents (RxNorm ingredient CUIs + names) ----------------------------------------------------
@dataclass(frozen=True)
class Agent:
    agent: str
    rxcui: str | None
    names: tuple[str, ...]


AGENTS: tuple[Agent, ...] = (
    Agent("octreotide", "7617", ("octreotide", "sandostatin", "mycapssa")),
    Agent("lanreotide", None, ("lanreotide", "somatuline")),
    Agent("everolimus", "141704", ("everolimus", "afinitor")),
    Agent("sunitinib", "357977", ("sunitinib", "sutent")),
    Agent("cabozantinib", None, ("cabozantinib", "cabometyx", "cometriq")),
    Agent(
        "lu177_dotatate",
        None,
        (
            "lutetium lu 177 dotatate",
            "lutetium lu-177 dotatate",
            "lutathera",
            "177lu-dotatate",
            "lu-177 dotatate",
            "lu177 dotatate",
            "lu-177-dotatate",
            "lutetium-177 dotatate",
            "lutetium 177 dotatate",
            "177lu dotatate",
            "lutetium (177lu) oxodotreotide",
            "lutetium lu 177 oxodotreotide",
            "lutetium dotatate",
        ),
    ),
    Agent("temozolomide", "37776", ("temozolomide", "temodar")),
    Agent("capecitabine", "194000", ("capecitabine", "xeloda")),
    Agent("fluorouracil", "4492", ("fluorouracil", "5-fluorouracil", "5-fu")),
    Agent("oxaliplatin", "32592", ("oxaliplatin", "eloxatin")),
    Agent("irinotecan", "51499", ("irinotecan", "camptosar", "onivyde")),
    Agent("leucovorin", "6313", ("leucovorin", "folinic acid", "levoleucovorin")),
    Agent("cisplatin", "2555", ("cisplatin",)),
    Agent("carboplatin", "40048", ("carboplatin",)),
    Agent("etoposide", "4179", ("etoposide",)),
    Agent("dacarbazine", "3098", ("dacarbazine",)),
    Agent("pembrolizumab", "1547545", ("pembrolizumab", "keytruda")),
    Agent("nivolumab", "1597876", ("nivolumab", "opdivo")),
    Agent("ipilimumab", "1094833", ("ipilimumab", "yervoy")),
    Agent("belzutifan", None, ("belzutifan", "welireg")),
)
# long-acting octreotide: words in the drug name, or a dose of at least this many mg
OCTREOTIDE_LAR_WORDS = ("lar", "depot", "long-acting", "long acting", "extended", "suspension")
OCTREOTIDE_LAR_MIN_MG = 5.0
