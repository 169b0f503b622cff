"""netcds: decision support for systemic therapy in neuroendocrine tumors (NCCN NET V.5.2024).

Public API::

    from netcds import Patient, evaluate, load_knowledge
    ev = evaluate(Patient.model_validate(record), load_knowledge())
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("netcds")
except PackageNotFoundError:  # running from a source tree without install
    __version__ = "0.0.0+source"

from netcds.engine import evaluate
from netcds.evaluation import Evaluation
from netcds.knowledge import load_knowledge
from netcds.patient import Patient

__all__ = ["Evaluation", "Patient", "__version__", "evaluate", "load_knowledge"]
