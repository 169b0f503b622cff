"""History contradictions a record can hold; the check lives with the Patient model.

Re-exported here for the sequencing layer's public API: see
:func:`netcds.patient.history_problems`.
"""

from netcds.patient import history_problems

__all__ = ["history_problems"]
