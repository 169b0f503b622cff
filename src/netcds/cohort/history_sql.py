"""The treatment-history pass of the audit with cheaper line features (same flags, same table idea).

:class:`netcds.logic.sql.HistoryBits` codes every treatment line from a few small features (its
agent, its progression state, its SSA dose and interval states) and indexes a constant list of flags
tabulated in Python. That pass runs a lambda over every line of every decision point, so the cost of
each feature is paid per line. :class:`LeanHistoryBits` computes the same features with less work:

- ``agent``: only the agents whose flags differ from an unrecorded agent's for some line (for the
  5.2024 knowledge 7 of 37: the SSAs, everolimus, sunitinib, Lu-177); every other agent is position 0,
  which the table gives the flags of an unknown agent, exactly as before;
- progression: three plain features combined by arithmetic instead of a CASE (``progressed`` as
  0/1/2 for false/true/unknown, any recorded sign of progression, the line still ongoing), each
  combination tabulated to the engine's (pt, ap) in Python;
- dose and interval: the number of dose ceilings below the dose and "interval shorter than the
  standard", unknown as the last value (no ``1 +`` per line).

Only the SQL of the features differs; which flag a line sets is still computed by ``HistoryBits``
(``terms``, ``_ssa_level``) from the decoded features, so the predicates cannot drift apart.
"""

from __future__ import annotations

import itertools
from typing import Any

from netcds.logic.sql import (
    CEILINGS,
    MIN_INTERVAL,
    TREATMENT_AGENT_VALUES,
    ConditionCompiler,
    Dialect,
    HistoryBits,
    Line,
    _ssa_level,
)

# (pt, ap) of HistoryBits for progressed (0 false, 1 true, 2 unknown) x signs (0/1) x ongoing (0/1):
# progressed false -> (0, signs); true, or unknown with a sign -> (3, 1); unknown without a sign -> 2
# (ongoing: yes if the disease is progressive now) or 1 (ended: unknown)
_PROGRESSION = [
    {"pt": pt, "ap": ap}
    for ongoing in (0, 1)
    for signs in (0, 1)
    for p in (0, 1, 2)
    for pt, ap in [((0, signs) if p == 0 else (3, 1) if p == 1 or signs else ((2, 0) if ongoing else (1, 0)))]
]


class LeanHistoryBits(HistoryBits):
    """HistoryBits with cheaper line features (module docstring); the flags are the same."""

    def _line_bits(self, x: Line) -> int:
        return sum(f(x) << first for first, f in self.terms)

    def _telling_agents(self) -> list[str]:
        """The agents whose flags differ from an unrecorded agent's for some progression and dose state."""
        states = list(
            itertools.product(((0, 0), (0, 1), (1, 0), (2, 0), (3, 1)), range(len(CEILINGS) + 2), range(3))
        )

        def flags(agent: str | None) -> tuple[int, ...]:
            return tuple(
                self._line_bits((agent, pt, ap, _ssa_level(agent, ds, iv))) for (pt, ap), ds, iv in states
            )

        unknown = flags(None)
        return [a for a in TREATMENT_AGENT_VALUES if flags(a) != unknown]

    def _features(self, t: str) -> list[tuple[list[dict[str, Any]], str]]:
        feats: list[tuple[list[dict[str, Any]], str]] = []
        if "agent" in self.reads:
            agents = self._telling_agents()
            values: list[dict[str, Any]] = [{"agent": a} for a in (None, *agents)]
            feats.append((values, self.d.position(agents, f"{t}.agent") if agents else "0"))
        if self.reads & {"pt", "ap"}:
            signs = f"COALESCE({t}.stop_reason = 'progression' OR {t}.progression_date IS NOT NULL, FALSE)"
            sql = (
                f"(COALESCE(CAST({t}.progressed AS INTEGER), 2) + 3 * CAST({signs} AS INTEGER)"
                f" + 6 * CAST({t}.end_date IS NULL AS INTEGER))"
            )
            feats.append((list(_PROGRESSION), sql))
        if "lv" in self.reads:
            n = len(CEILINGS)
            below = " + ".join(f"CAST({t}.dose_mg > {c!r} AS INTEGER)" for c in CEILINGS)
            # HistoryBits' dose state: 0 unknown, else 1 + the number of ceilings below the dose
            feats.append(([*({"ds": v + 1} for v in range(n + 1)), {"ds": 0}], f"COALESCE({below}, {n + 1})"))
            short = f"COALESCE(CAST({t}.interval_days < {MIN_INTERVAL!r} AS INTEGER), 2)"
            feats.append(([{"is": 1}, {"is": 2}, {"is": 0}], short))
        return feats


def compiler(d: Dialect, silent_nulls: dict[str, str] | None = None) -> ConditionCompiler:
    """A ConditionCompiler whose history predicates use :class:`LeanHistoryBits`."""
    cc = ConditionCompiler(d, silent_nulls)
    cc.bits = LeanHistoryBits(d)
    return cc
