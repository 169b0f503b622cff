"""The handful of exceptions netcds raises; every one names where the problem is."""

from __future__ import annotations


class NetcdsError(Exception):
    """Base class of every error netcds raises on purpose."""


class InputError(NetcdsError):
    """A patient (or cohort row) is invalid; ``field`` is its dotted path, ``others`` the further problems
    found in the same input as (path, message) pairs."""

    def __init__(self, field: str, message: str, others: tuple[tuple[str, str], ...] = ()) -> None:
        self.field = field
        self.message = message
        self.others = others
        super().__init__(f"{field}: {message}" if field else message)


class KnowledgeError(NetcdsError):
    """A knowledge-base file is invalid; ``problems`` lists ``(path, message)`` pairs, each once (the same
    problem found twice at the same place, e.g. by two checks of one footnote letter, is kept once)."""

    def __init__(self, problems: list[tuple[str, str]], where: str | None = None) -> None:
        self.problems = list(dict.fromkeys((path, msg) for path, msg in problems))
        self.where = where  # the knowledge folder, where known (the CLI names it; the API does not)
        lines = [f"{path}: {msg}" for path, msg in self.problems]
        super().__init__(f"{len(self.problems)} knowledge error(s):\n" + "\n".join(lines))


class UnknownVersionError(KnowledgeError):
    """The requested knowledge version does not exist: a wrong input, not broken knowledge."""


class RuleError(NetcdsError):
    """Evaluating a knowledge rule failed; wraps the cause once with the rule id and location."""

    def __init__(self, rule_id: str, location: str, cause: Exception) -> None:
        self.rule_id = rule_id
        self.location = location
        super().__init__(f"rule {rule_id} at {location}: {type(cause).__name__}: {cause}")
