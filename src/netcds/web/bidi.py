"""Bidirectional-control characters in user-supplied text, made visible on every page.

Embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069) and the direction marks (U+200E,
U+200F, U+061C) are invisible, yet they reorder the text around them: a patient id or a medication
name holding U+202E would read reversed to the clinician. The pages never render them: each is shown
as its escape (``\\u202e``), the way :func:`netcds.io.printable` shows other unprintable characters in
error messages. The Jinja2 environment applies :func:`visible` to every expression it renders
(:mod:`netcds.web.templating`), the PDF to every line it writes.

The patient form shows such a character as its escape too, and so it shows the control characters a
form control cannot hold as they are (a one-line input drops a line break, HTML reads a carriage return
as a line feed and NUL as U+FFFD): :func:`form_text` writes a text for a control, :func:`read_form_text`
reads it back, and ``read_form_text(form_text(t)) == t`` for every text. A backslash written before
something that reads as such an escape is doubled, so a record holding the six characters ``\\u202e``
keeps them too. A record opened in the form and saved again keeps its text exactly, as do the hidden
JSON fields (where ``\\u202e`` is JSON's own escape of the same character). :func:`restore` reads
only the bidirectional escapes, for text copied from a page (the case search).
"""

from __future__ import annotations

import re

BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"
_CONTROL = re.compile(f"[{BIDI_CONTROLS}]")
_BIDI_CODES = r"202[a-e]|206[6-9]|200[ef]|061c"  # the hex codes of BIDI_CONTROLS, as their escapes spell them
_ESCAPE = re.compile(f"\\\\u({_BIDI_CODES})", re.IGNORECASE)


# What a form control shows as its escape: the bidirectional controls, and the C0 and C1 control
# characters but the tab (which an input keeps).
_FORM_CHARS = f"{BIDI_CONTROLS}\x00-\x08\x0a-\x1f\x7f-\x9f"
_FORM_CODES = _BIDI_CODES + r"|000[0-8]|000[a-f]|001[0-9a-f]|007f|00[89][0-9a-f]"
_TO_FORM = re.compile(f"(\\\\+)(u(?:{_FORM_CODES}))|(\\\\*)([{_FORM_CHARS}])", re.IGNORECASE)
_FROM_FORM = re.compile(f"(\\\\+)u({_FORM_CODES})", re.IGNORECASE)


def visible(text: str) -> str:
    """``text`` with each bidirectional control written as its escape (``\\u202e``)."""
    return _CONTROL.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def restore(text: str) -> str:
    """The inverse of :func:`visible` for text typed into the form: ``\\u202e`` (any letter case) back to
    the character; any other backslash sequence stays as typed."""
    return _ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)


def form_text(text: str) -> str:
    """``text`` as a form control shows it: each bidirectional or control character (tab excepted) as its
    escape (``\\u000a``), and a run of backslashes before an escape, or before text that reads as one,
    doubled; :func:`read_form_text` reads it back."""

    def write(m: re.Match[str]) -> str:
        if m.group(2) is not None:  # the text itself reads as an escape: keep it text
            return m.group(1) * 2 + m.group(2)
        return m.group(3) * 2 + f"\\u{ord(m.group(4)):04x}"

    return _TO_FORM.sub(write, text)


def read_form_text(text: str) -> str:
    """The text a form control holds (as typed, or as :func:`form_text` wrote it): an escape of a
    bidirectional or control character after an odd run of backslashes is that character (the run halved
    before it); after an even run, the run halved and the escape as text. Other backslashes stay as typed."""

    def read(m: re.Match[str]) -> str:
        run = len(m.group(1))
        if run % 2:
            return "\\" * (run // 2) + chr(int(m.group(2), 16))
        return "\\" * (run // 2) + m.group(0)[run:]

    return _FROM_FORM.sub(read, text)
