"""The store's lookup and uniqueness errors, raised by the store's operations (``repo.py``,
``cases.py``) and caught by the API, the web pages and the commands."""

from __future__ import annotations


class NotFoundError(LookupError):
    """No row with that id."""


class DuplicateError(ValueError):
    """A row with that id already exists (an idempotent request met its earlier run)."""
