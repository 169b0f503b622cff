"""The condition language: parse (ast), evaluate three-valued with explanations (evaluate)."""

from netcds.logic.ast import Condition, parse_condition
from netcds.logic.evaluate import Finding, Outcome, evaluate

__all__ = ["Condition", "Finding", "Outcome", "evaluate", "parse_condition"]
