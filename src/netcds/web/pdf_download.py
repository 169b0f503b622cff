"""The tumor-board PDF as a download, with fpdf2 imported on the first PDF asked for.

fpdf2 brings fontTools and Pillow: importing it at start cost every server process ~0.35 s and ~30 MiB
of resident memory for a page few calls ever request. Call :func:`pdf_response` from a worker thread
(the first call imports the library)."""

from __future__ import annotations

from typing import Any

from starlette.responses import Response

from netcds.web.cases import EvaluationSummary


def pdf_response(
    evaluation: dict[str, Any],
    patient: dict[str, Any],
    lines: list[dict[str, Any]],
    stored: EvaluationSummary | None,
) -> Response:
    """The summary PDF of ``evaluation`` for ``patient`` as an attachment response."""
    from netcds.web import pdf

    return pdf.response(pdf.summary_pdf(evaluation, patient, lines, stored), patient.get("id"))
