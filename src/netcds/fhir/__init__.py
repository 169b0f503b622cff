"""FHIR faces of netcds: mCODE/FHIR R4 input -> Patient (``mcode``); CDS Hooks cards (``cards``)."""

from netcds.fhir.mcode import bundle_to_patient, prefetch_to_patient
from netcds.fhir.report import FhirMappingError, MappingReport

__all__ = ["FhirMappingError", "MappingReport", "bundle_to_patient", "prefetch_to_patient"]
