"""The HTTP service: REST API (/api/v1) and CDS Hooks 2.0 (/cds-services) over one FastAPI app.

Build it with :func:`netcds.api.app.create_app`; run it with ``netcds serve``.
"""
