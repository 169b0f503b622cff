"""Checks of the request line and headers shared by the REST and CDS Hooks routes.

A CDS must not answer a different question than the one asked: a misspelt query parameter
(``?knowlege_version=``) would otherwise be ignored and the default answered, and of a parameter given
twice FastAPI keeps one. :func:`known_query` (a router dependency) refuses both, reading the names each
route declares from FastAPI's route (its own and its dependencies' query parameters); a parameter
declared as a list may repeat. :func:`single_header` refuses a header given on more than one line.
"""

from __future__ import annotations

import collections.abc
import types
import typing
from typing import Any

from fastapi import Request

from netcds.api.problems import ApiProblem
from netcds.io import first_problem

_SEQUENCES = (list, tuple, set, frozenset, collections.abc.Sequence, collections.abc.Set)
MAX_LISTED = 20  # a query string of thousands of unknown names is named by its first ones
_DECLARED: dict[int, tuple[Any, dict[str, bool]]] = {}  # id(route) -> (route, name -> may repeat)


def _is_sequence(annotation: Any) -> bool:
    """Whether a query parameter's type takes several values (``list[str]``, ``list[str] | None``)."""
    origin = typing.get_origin(annotation)
    if origin is typing.Annotated:
        return _is_sequence(typing.get_args(annotation)[0])
    if origin in (typing.Union, types.UnionType):
        return any(_is_sequence(a) for a in typing.get_args(annotation) if a is not type(None))
    target = origin or annotation
    return isinstance(target, type) and issubclass(target, _SEQUENCES) and target not in (str, bytes)


def declared_query(route: Any) -> dict[str, bool]:
    """The query parameter names a FastAPI route takes, each with whether it may repeat."""
    found = _DECLARED.get(id(route))
    if found is not None and found[0] is route:
        return found[1]
    names: dict[str, bool] = {}
    stack = [getattr(route, "dependant", None)]
    while stack:
        dependant = stack.pop()
        if dependant is None:
            continue
        for field in dependant.query_params:
            names[field.alias] = _is_sequence(field.field_info.annotation)
        stack.extend(dependant.dependencies)
    _DECLARED[id(route)] = (route, names)
    return names


async def known_query(request: Request) -> None:
    """Refuse (422) a query parameter the route does not declare and a single-valued one given twice."""
    if not request.scope.get("query_string"):
        return
    declared = declared_query(request.scope.get("route"))
    counts: dict[str, int] = {}
    for name, _ in request.query_params.multi_items():
        counts[name] = counts.get(name, 0) + 1
    takes = ", ".join(sorted(declared)) or "none"
    errors: list[tuple[str, str]] = []
    for name, n in counts.items():
        if name not in declared:
            errors.append((f"query.{name}", f"not a parameter of this endpoint (it takes: {takes})"))
        elif n > 1 and not declared[name]:
            errors.append((f"query.{name}", f"given {n} times; it takes one value"))
    if errors:
        raise ApiProblem(
            422,
            first_problem(errors),
            kind="validation",
            title="Invalid request",
            errors=errors[:MAX_LISTED],
        )


def single_header(request: Request, name: str) -> str | None:
    """The value of a header that takes one value; a 422 naming it when it came on several lines."""
    values = request.headers.getlist(name)
    if len(values) > 1:
        message = f"given {len(values)} times; send it once"
        raise ApiProblem(
            422,
            f"header.{name}: {message}",
            kind="validation",
            title="Invalid request",
            errors=[(f"header.{name}", message)],
        )
    return values[0] if values else None
