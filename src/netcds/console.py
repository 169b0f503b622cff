"""The CLI's Rich consoles, wide enough off a terminal that no value is cut or split.

Rich lays out for 80 columns when its stream is not a terminal (a pipe, a file) and ``COLUMNS`` is unset, so
``netcds version | cat`` split the knowledge digest over two lines and the text report's timeline table cut
cells short ("radiographi…"). Off a terminal the width is ``PIPE_WIDTH`` unless ``COLUMNS`` says otherwise.
"""

from __future__ import annotations

import os
import sys

from rich.console import Console

PIPE_WIDTH = 200


def console(stderr: bool = False, soft_wrap: bool = False) -> Console:
    stream = sys.stderr if stderr else sys.stdout
    try:
        terminal = stream.isatty()
    except (AttributeError, ValueError):  # a replaced or closed stream
        terminal = False
    width = None if terminal or os.environ.get("COLUMNS") else PIPE_WIDTH
    return Console(stderr=stderr, soft_wrap=soft_wrap, width=width)
