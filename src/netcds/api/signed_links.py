"""Signed links: a card's link to a stored evaluation's web page that opens without a bearer token.

A CDS Hooks card link is loaded with a plain ``GET`` in the clinician's browser, which holds no bearer
token: with ``server.require_token`` on, a link to a stored evaluation would be refused, and with it off the
evaluation id alone would open the stored record. So the link carries its own, short-lived permission:
``{base_url}/ui/evaluations/{id}?exp=<unix seconds>&sig=<HMAC>``, where the HMAC-SHA256 covers the exact
path and the expiry time. A changed path, expiry or signature, or a link past its expiry, is refused.

The key comes from ``links.secret`` (``NETCDS_LINK_SECRET``, or a file: ``links.secret_file`` /
``NETCDS_LINK_SECRET_FILE``); there is no built-in key. Without one, each ``netcds serve`` makes a random
key at start (shared by its workers), so its links stop working when the service restarts. Links carry no
part of a card's uuid (netcds.fhir.card_base.finalize), so signing them keeps the cards deterministic.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from urllib.parse import quote, urlencode

from netcds.settings import Settings

KEY_LABEL = b"netcds signed card links v1"  # the key is derived from the secret for this one use
CLOCK_SLACK_S = 300  # an expiry this much beyond now + the lifetime is still one of ours (a clock step)
EVALUATIONS = "/ui/evaluations"


class LinkCheck(Enum):
    """What a request's ``exp`` and ``sig`` say about its path."""

    VALID = "valid"
    MISSING = "missing"  # neither given: not a signed link
    INVALID = "invalid"  # malformed, tampered, signed for another path or with another key
    EXPIRED = "expired"


def key_from_secret(secret: str) -> bytes:
    """The HMAC key for links, derived from the configured secret (the secret is not used as it is)."""
    return hmac.new(secret.encode("utf-8"), KEY_LABEL, hashlib.sha256).digest()


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class LinkSigner:
    """Signs and checks ``path`` + expiry; ``lifetime_s``: how long a new link stays valid."""

    key: bytes = field(repr=False)
    lifetime_s: int
    random_key: bool = False  # no secret configured: links die with the process (see the module docstring)
    clock: Callable[[], float] = time.time

    @classmethod
    def of(cls, settings: Settings, key: bytes | None = None) -> LinkSigner:
        """From the settings' secret; without one, from ``key`` (made once for all workers of a server) or a
        new random key."""
        if settings.link_secret:
            return cls(key_from_secret(settings.link_secret), settings.link_lifetime_s)
        return cls(key or secrets.token_bytes(32), settings.link_lifetime_s, random_key=True)

    def signature(self, path: str, expires: int) -> str:
        message = f"{path}\n{expires}".encode()
        return _b64(hmac.new(self.key, message, hashlib.sha256).digest())

    def query(self, path: str, expires: int) -> str:
        """``exp=...&sig=...`` for ``path`` with this expiry (a page's links keep the expiry it was opened
        with: never extended)."""
        return urlencode({"exp": str(expires), "sig": self.signature(path, expires)})

    def url(self, base_url: str, path: str, now: float | None = None) -> str:
        """The absolute signed URL of ``path``, valid for the configured lifetime from ``now``."""
        expires = int(self.clock() if now is None else now) + self.lifetime_s
        return f"{base_url}{path}?{self.query(path, expires)}"

    def check(self, path: str, exp: str | None, sig: str | None, now: float | None = None) -> LinkCheck:
        """Whether ``exp`` and ``sig`` (as given in the query) sign ``path`` and have not expired."""
        if exp is None and sig is None:
            return LinkCheck.MISSING
        if not exp or not sig or not exp.isascii() or not exp.isdigit() or len(exp) > 12:
            return LinkCheck.INVALID
        expires = int(exp)
        if not hmac.compare_digest(self.signature(path, expires).encode(), sig.encode("utf-8", "replace")):
            return LinkCheck.INVALID
        now = self.clock() if now is None else now
        if expires > now + self.lifetime_s + CLOCK_SLACK_S:  # signed for longer than links now live
            return LinkCheck.INVALID
        return LinkCheck.EXPIRED if expires <= now else LinkCheck.VALID


def evaluation_path(evaluation_id: str) -> str:
    """The web page of a stored evaluation (``/ui/evaluations/{id}``)."""
    return f"{EVALUATIONS}/{quote(evaluation_id, safe='')}"
