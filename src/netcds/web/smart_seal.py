"""A SMART launch waiting for its callback, kept in the browser: a sealed cookie.

Between ``/ui/smart/launch`` and ``/ui/smart/callback`` netcds must remember the launch's ``state``, its
PKCE verifier, the issuer and the EHR's token endpoint. With ``netcds serve --workers 2`` the callback may
reach another process than the launch, so nothing is kept in memory: the pending launch travels in a
cookie named for its ``state`` (so launches begun in several tabs each find their own), encrypted and
authenticated with Fernet (AES-128-CBC + HMAC-SHA256, ``cryptography``), whose token carries its creation
time. It opens for ``LIFETIME_S`` seconds only. The key is derived from the key that signs card links
(``links.secret``, or the random key ``netcds serve`` shares among its workers), so every worker of one
service opens what another sealed, and a cookie made by anyone else fails to open.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import Enum

from cryptography.fernet import Fernet, InvalidToken

COOKIE = "netcds_smart_launch"  # the prefix of each launch's cookie name (cookie_name)
MAX_PENDING = 4  # launches one browser may have waiting at once; a new launch drops the oldest beyond
COOKIE_PATH = "/ui/smart"
LIFETIME_S = 600  # ten minutes from the launch to its callback
KEY_LABEL = b"netcds SMART launch cookie v1"  # the cookie key is derived from the link key for this one use
MAX_COOKIE_CHARS = 4000  # browsers keep about 4 KB per cookie: anything longer is not one of ours


def clock() -> int:
    """Now, in Unix seconds (one place, so tests can move time)."""
    return int(time.time())


@dataclass(frozen=True)
class PendingLaunch:
    """What the callback needs: the ``state`` sent, the PKCE verifier, the issuer, and its token endpoint."""

    state: str = field(repr=False)
    verifier: str = field(repr=False)
    iss: str
    token_endpoint: str
    sealed_at: int = field(default=0, compare=False)  # Unix seconds, when opened from a cookie


class Unsealed(Enum):
    """Why a launch cookie gives no pending launch."""

    MISSING = "missing"
    INVALID = "invalid"  # tampered, truncated, or sealed with another key
    EXPIRED = "expired"


def cookie_key(link_key: bytes) -> Fernet:
    """The Fernet key of launch cookies, derived from the link-signing key (never that key itself)."""
    derived = hmac.new(link_key, KEY_LABEL, hashlib.sha256).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


_LAUNCH_COOKIE = re.compile(rf"{COOKIE}_[0-9a-f]{{20}}")


def cookie_name(state: str) -> str:
    """The cookie of the launch that sent ``state`` (a digest: the name says nothing of the state)."""
    return f"{COOKIE}_{hashlib.sha256(state.encode('utf-8')).hexdigest()[:20]}"


def stale_cookies(key: Fernet, cookies: Mapping[str, str], now: int | None = None) -> list[str]:
    """The launch cookies to delete when a new launch begins: those that no longer open (expired, changed,
    sealed by another key) and the oldest beyond ``MAX_PENDING - 1`` others, so a browser never carries more
    than ``MAX_PENDING``."""
    at = clock() if now is None else now
    stale: list[str] = []
    waiting: list[tuple[int, str]] = []
    for name, value in cookies.items():
        if not _LAUNCH_COOKIE.fullmatch(name):  # only names cookie_name makes (others may be no cookie key)
            continue
        opened = unseal(key, value, at)
        if isinstance(opened, Unsealed) or name != cookie_name(opened.state):
            stale.append(name)
        else:
            waiting.append((opened.sealed_at, name))
    waiting.sort(reverse=True)  # newest first
    return sorted(stale + [name for _, name in waiting[MAX_PENDING - 1 :]])


def seal(key: Fernet, launch: PendingLaunch, now: int | None = None) -> str:
    body = json.dumps(
        {"s": launch.state, "v": launch.verifier, "i": launch.iss, "t": launch.token_endpoint},
        separators=(",", ":"),
    )
    return key.encrypt_at_time(body.encode(), clock() if now is None else now).decode("ascii")


def unseal(key: Fernet, value: str | None, now: int | None = None) -> PendingLaunch | Unsealed:
    """The pending launch a cookie holds, or why there is none (expired only when it is authentic)."""
    if not value:
        return Unsealed.MISSING
    if len(value) > MAX_COOKIE_CHARS or not value.isascii():
        return Unsealed.INVALID
    token = value.encode("ascii")
    at = clock() if now is None else now
    try:
        made = key.extract_timestamp(token)  # checks the HMAC first
        if made + LIFETIME_S < at:
            return Unsealed.EXPIRED
        raw = key.decrypt_at_time(token, LIFETIME_S, at)
        data = json.loads(raw)
    except (InvalidToken, ValueError):
        return Unsealed.INVALID
    parts = [data.get(k) for k in ("s", "v", "i", "t")] if isinstance(data, dict) else []
    texts = [p for p in parts if isinstance(p, str) and p]
    if len(texts) != 4:
        return Unsealed.INVALID
    return PendingLaunch(
        state=texts[0], verifier=texts[1], iss=texts[2], token_endpoint=texts[3], sealed_at=made
    )
