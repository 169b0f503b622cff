"""The engine: ``evaluate(patient, kb) -> Evaluation``. Pure: no I/O, deterministic."""

from netcds.engine.core import evaluate

__all__ = ["evaluate"]
