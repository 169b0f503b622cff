"""Bidirectional-control characters in user-supplied text, made visible on every page.

Embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the direction marks (U+200E,
U+200F, U+061C) are invisible, yet they reorder the text around them: a patient id or a medication
name holding U+202E would read reversed to the clinician. The pages never render them: each is shown
as its escape (``\\u202e``), the way :func:`netcds.io.printable` shows other unprintable characters in
error messages. The Jinja2 environment applies :func:`visible` to every expression it renders
(:mod:`netcds.web.templating`), the PDF to every line it writes.

The patient form shows such a character as its escape too, so the form reads the escape of these
characters (and only these) back as the character (:func:`restore`): a record opened in the form and
saved again keeps its text exactly, as do the hidden JSON fields (where ``\\u202e`` is JSON's own
escape of the same character).
"""

from __future__ import annotations

import re

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_CONTROL = re.compile(f"[{BIDI_CONTROLS}]")
_ESCAPE = re.compile(r"\\u(202[a-e]|206[6-9]|200[ef]|061c)", re.IGNORECASE)


def visible(text: str) -> str:
    """``text`` with each bidirectional control written as its escape (``\\u202e``)."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def restore(text: str) -> str:
    """The inverse of :func:`visible` for text typed into the form: ``\\u202e`` (any letter case) back to
    the character; any other backslash sequence stays as typed."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
