"""RFC 9457 problem details: every error the service returns is ``application/problem+json``.

Problem types are URNs (``urn:netcds:problem:<name>``) documented in docs/api.md.
Validation problems carry ``errors: [{field, message}]`` with the contract's field
paths (``tumor.ki67_percent``, ``treatments[0].end``).
"""

from __future__ import annotations

import json
import logging
import re
from http import HTTPStatus
from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

from netcds.errors import InputError
from netcds.io import MAX_DEPTH, all_errors, field_path, first_problem, object_expected, printable

log = logging.getLogger("netcds.api")
PROBLEM_JSON = "application/problem+json"
JSON_TYPES = ("application/json",)
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)*$")


class FieldError(BaseModel):
    model_config = ConfigDict(extra="forbid")

    field: str = Field(description="dotted path of the offending field, e.g. treatments[0].end")
    message: str


class Problem(BaseModel):
    """RFC 9457 problem details (with the netcds extensions ``errors`` and ``request_id``)."""

    model_config = ConfigDict(extra="allow")

    type: str = Field(default="about:blank", description="URI reference identifying the problem type")
    title: str
    status: int
    detail: str | None = None
    instance: str | None = None
    errors: list[FieldError] | None = None
    request_id: str | None = None
    mapping: dict[str, Any] | None = Field(
        default=None,
        description=(
            "when a FHIR record could not be mapped to a Patient (POST /api/v1/evaluate/fhir): the mapping "
            "report as far as it got (`mapped`, `unmapped` with the reasons, ...), as a 200 answer carries it"
        ),
    )


class ApiProblem(Exception):  # noqa: N818 - an RFC 9457 "problem"
    """Raise anywhere in a view to answer with a problem document."""

    def __init__(
        self,
        status: int,
        detail: str | None = None,
        *,
        kind: str | None = None,
        title: str | None = None,
        errors: list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        **extensions: Any,
    ) -> None:
        self.status = status
        self.detail = detail
        self.kind = kind
        self.title = title or HTTPStatus(status).phrase
        self.errors = errors
        self.headers = headers or {}
        self.extensions = extensions
        super().__init__(detail or self.title)


class PayloadTooLarge(Exception):  # noqa: N818
    def __init__(self, limit: int) -> None:
        self.limit = limit
        super().__init__(f"request body larger than {limit} bytes")


def problem_response(
    request: Request | None,
    status: int,
    detail: str | None = None,
    *,
    kind: str | None = None,
    title: str | None = None,
    errors: list[tuple[str, str]] | None = None,
    headers: dict[str, str] | None = None,
    **extensions: Any,
) -> JSONResponse:
    body: dict[str, Any] = {
        "type": f"urn:netcds:problem:{kind}" if kind else "about:blank",
        "title": title or HTTPStatus(status).phrase,
        "status": status,
    }
    if detail:
        body["detail"] = printable(detail, 500)  # control characters escaped, one bounded line
    if request is not None:
        body["instance"] = request.url.path
        rid = getattr(request.state, "request_id", None)
        if rid:
            body["request_id"] = rid
    if errors is not None:
        body["errors"] = [{"field": printable(f, 200), "message": printable(m, 300)} for f, m in errors]
    body.update(extensions)
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def from_problem(request: Request, exc: ApiProblem) -> JSONResponse:
    return problem_response(
        request,
        exc.status,
        exc.detail,
        kind=exc.kind,
        title=exc.title,
        errors=exc.errors,
        headers=exc.headers,
        **exc.extensions,
    )


def invalid(errors: list[tuple[str, str]], what: str = "input") -> ApiProblem:
    return ApiProblem(422, first_problem(errors), kind="validation", title=f"Invalid {what}", errors=errors)


def input_problem(exc: InputError, prefix: str = "") -> ApiProblem:
    field = f"{prefix}{exc.field}" if prefix and not exc.field.startswith("<") else exc.field
    return invalid([(field, exc.message)])


def model_errors(exc: ValidationError) -> list[tuple[str, str]]:
    """(field, message) for a non-patient request model (hook request, feedback): spec field names kept."""
    out: list[tuple[str, str]] = []
    for err in exc.errors():
        path = field_path(tuple(err["loc"]))
        msg = str(err["msg"])
        if msg.startswith("Value error, "):
            msg = msg.removeprefix("Value error, ")
            head, sep, rest = msg.partition(": ")
            if sep and _NAME.match(head):
                path, msg = (f"{path}.{head}" if path else head), rest
        if err.get("type") == "missing":
            msg = "required field is missing"
        elif err.get("type") == "extra_forbidden":
            msg = "unknown member (not in the CDS Hooks 2.0 object)"
        elif err.get("type") == "model_type":  # no Python class names ("instance of HookRequest")
            msg = object_expected(err.get("input"))
        out.append((path or "<json>", msg.replace("Input should be", "must be")))
    return out


def validation_problem(exc: ValidationError, what: str = "input", prefix: str = "") -> ApiProblem:
    """422 listing every error; a Patient's errors are named exactly as the CLI names them."""
    errors = all_errors(exc) if what == "patient" else model_errors(exc)
    return invalid([(f"{prefix}{f}" if prefix else f, m) for f, m in errors], what)


# body reading ---------------------------------------------------------------------------------------------
def _is_json(content_type: str) -> bool:
    media = content_type.split(";", 1)[0].strip().lower()
    return media in JSON_TYPES or (media.startswith("application/") and media.endswith("+json"))


def _charset(content_type: str) -> str | None:
    """The ``charset`` parameter of a content type, lower case, if it has one."""
    for param in content_type.split(";")[1:]:
        name, _, value = param.partition("=")
        if name.strip().lower() == "charset":
            return value.strip().strip('"').lower()
    return None


async def read_body(request: Request, limit: int) -> bytes:
    """The raw body, refusing a non-JSON content type or one declaring a charset other than UTF-8 (415)
    and a body over ``limit`` bytes (413)."""
    ctype = request.headers.get("content-type", "")
    if not _is_json(ctype):
        raise ApiProblem(
            415,
            f"send JSON (Content-Type: application/json), not {ctype or 'no content type'}",
            kind="unsupported-media-type",
        )
    charset = _charset(ctype)
    if charset is not None and charset not in ("utf-8", "utf8"):
        raise ApiProblem(
            415, f"send JSON as UTF-8 (RFC 8259), not charset={charset}", kind="unsupported-media-type"
        )
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(limit)
        chunks.append(chunk)
    return b"".join(chunks)


def parse_json_body(raw: bytes) -> Any:
    """JSON text -> value, or a 422 naming where the JSON is broken."""
    from netcds.io import parse_json

    try:
        return parse_json(raw)  # an integer over Python's conversion ceiling is an InputError there too
    except InputError as exc:
        raise input_problem(exc) from None


async def read_json(request: Request, limit: int) -> Any:
    return parse_json_body(await read_body(request, limit))


# exception handlers -----------------------------------------------------------------------------------------
async def _api_problem(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiProblem)
    return from_problem(request, exc)


async def _input_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, InputError)
    problem = input_problem(exc)
    # a FHIR mapping that failed (netcds.fhir.report.FhirMappingError) carries its report so far: what was
    # read, what was left out and why, so the client sees why no neuroendocrine primary was found
    report = getattr(exc, "report", None)
    if isinstance(report, BaseModel):
        problem.extensions["mapping"] = report.model_dump(mode="json", exclude_none=True, by_alias=True)
    return from_problem(request, problem)


async def _too_large(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PayloadTooLarge)
    return problem_response(
        request, 413, f"the request body is larger than {exc.limit} bytes", kind="payload-too-large"
    )


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    detail = (
        exc.detail
        if isinstance(exc.detail, str) and exc.detail != HTTPStatus(exc.status_code).phrase
        else None
    )
    if exc.status_code == 404 and detail is None:
        detail = f"no resource at {request.url.path}"
    return problem_response(request, exc.status_code, detail, headers=dict(exc.headers or {}))


async def _request_validation(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors: list[tuple[str, str]] = []
    for err in exc.errors():
        loc = list(err.get("loc", ()))
        where = str(loc[0]) if loc else "request"
        rest = field_path(tuple(loc[1:])) if len(loc) > 1 else ""
        name = {"query": "query", "path": "path", "header": "header", "body": "body"}.get(where, where)
        msg = str(err.get("msg", "invalid")).replace("Input should be", "must be")
        errors.append((f"{name}.{rest}" if rest else name, msg))
    return from_problem(request, invalid(errors or [("request", "invalid request")], "request"))


def install_handlers(app: Any) -> None:
    app.add_exception_handler(ApiProblem, _api_problem)
    app.add_exception_handler(InputError, _input_error)
    app.add_exception_handler(PayloadTooLarge, _too_large)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(RequestValidationError, _request_validation)


def problem_bytes(
    status: int,
    detail: str,
    *,
    kind: str | None = None,
    instance: str | None = None,
    request_id: str | None = None,
) -> bytes:
    """A problem document as bytes, for the ASGI middleware (outside FastAPI's handlers)."""
    body: dict[str, Any] = {
        "type": f"urn:netcds:problem:{kind}" if kind else "about:blank",
        "title": HTTPStatus(status).phrase,
        "status": status,
        "detail": printable(detail, 500),
    }
    if instance:
        body["instance"] = instance
    if request_id:
        body["request_id"] = request_id
    return json.dumps(body).encode()


__all__ = ["MAX_DEPTH", "ApiProblem", "FieldError", "PayloadTooLarge", "Problem", "install_handlers"]
