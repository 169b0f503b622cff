"""Verifying the CDS client's JWT bearer token (CDS Hooks 2.0, "Trusting CDS Clients").

Accepted only when: the algorithm is asymmetric (RS256/RS384/ES256/ES384; never
``none`` or HMAC), the header has ``typ`` JWT and names a ``kid`` found in the JWKS
configured for the token's ``iss`` (an allow-list; the ``jku`` header is never
fetched), the signature verifies, ``aud`` is the URL of the endpoint being called,
``exp``/``iat``/``jti`` are present, the token is not expired nor set to expire
implausibly far ahead, and its ``jti`` has not been seen before (used ids are kept
in the store until they expire).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from jwt import PyJWK, PyJWKClient, PyJWKSet

from netcds.api.problems import ApiProblem
from netcds.io import first_line
from netcds.settings import ALLOWED_JWT_ALGORITHMS, IssuerConfig, Settings
from netcds.store.repo import Store

log = logging.getLogger("netcds.api.auth")


REALM = "netcds"
NO_TOKEN_CHALLENGE = f'Bearer realm="{REALM}"'
BAD_TOKEN_CHALLENGE = 'Bearer error="invalid_token"'  # noqa: S105 (an RFC 6750 error code, not a secret)


class AuthError(ApiProblem):
    """401 for a bearer token that is present but refused (RFC 6750 section 3.1: ``invalid_token``)."""

    challenge = BAD_TOKEN_CHALLENGE

    def __init__(self, detail: str) -> None:
        super().__init__(401, detail, kind="unauthorized", headers={"WWW-Authenticate": self.challenge})


class MissingTokenError(AuthError):
    """401 for a request without any bearer token (no header, another scheme, or an empty token): RFC 6750
    section 3.1 says such a challenge carries no error code."""

    challenge = NO_TOKEN_CHALLENGE


@dataclass(frozen=True)
class Principal:
    """Who called: the token's issuer and subject, or 'local' / 'open' without a token."""

    iss: str | None
    sub: str | None
    jti: str | None = None
    tenant: str | None = None

    @property
    def actor(self) -> str:
        if self.iss is None:
            return self.sub or "local"
        return f"{self.sub or '-'}@{self.iss}"


LOCAL = Principal(iss=None, sub="local")
OPEN = Principal(iss=None, sub="open-hooks")


class _IssuerKeys:
    def __init__(self, cfg: IssuerConfig) -> None:
        self.cfg = cfg
        self._set: PyJWKSet | None = None
        self._client: PyJWKClient | None = None
        self._declared: dict[Any, Any] = {}
        if cfg.jwks_url:
            self._client = PyJWKClient(cfg.jwks_url, cache_keys=True, lifespan=3600, timeout=5)
        else:
            data = cfg.jwks if cfg.jwks is not None else read_jwks_file(cfg.jwks_file or "")
            if "keys" not in data:  # a single JWK
                data = {"keys": [data]}
            self._set = PyJWKSet.from_dict(data)
            self._declared = {k.get("kid"): k.get("alg") for k in data["keys"] if isinstance(k, dict)}

    def declared_alg(self, kid: str) -> str | None:
        """The ``alg`` the JWKS pins for this key, if it pins one."""
        alg = self._declared.get(kid)
        return alg if isinstance(alg, str) else None

    def held_key(self, kid: str) -> PyJWK | None:
        """The signing key ``kid`` when it is held already (configured, or fetched and cached), without any
        network request; None otherwise."""
        if self._client is None:
            return self.key(kid)
        cache = self._client.jwk_set_cache
        held = cache.get() if cache is not None else None
        if held is None:
            return None
        return next((k for k in held.keys if k.key_id == kid and k.public_key_use in ("sig", None)), None)

    def key(self, kid: str) -> PyJWK:
        if self._client is not None:
            try:
                return self._client.get_signing_key(kid)
            except jwt.PyJWKClientError as exc:
                raise AuthError(f"no key '{kid}' for this issuer ({type(exc).__name__})") from None
        assert self._set is not None
        for k in self._set.keys:
            if k.key_id == kid:
                return k
        raise AuthError(f"no key '{kid}' in the JWKS configured for this issuer")


def read_jwks_file(path: str) -> dict[str, Any]:
    """A JWK Set from a file, or ValueError with one line naming the file."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as exc:
        raise ValueError(f"JWKS file {path}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise ValueError(f"JWKS file {path}: not UTF-8 text") from None
    except json.JSONDecodeError as exc:
        raise ValueError(f"JWKS file {path}: not valid JSON ({exc.msg}, line {exc.lineno})") from None
    if not isinstance(data, dict):
        raise ValueError(f"JWKS file {path}: not a JSON object")
    return data


def issuer_problem(cfg: IssuerConfig) -> str | None:
    """Why this issuer's keys cannot be loaded (a JWKS file that cannot be read, no usable key), as one
    line, or None; checked by ``netcds serve`` before it starts. A ``jwks_url`` is fetched only later."""
    try:
        _IssuerKeys(cfg)
    except (ValueError, jwt.PyJWTError) as exc:
        return first_line(exc)
    return None


class TokenVerifier:
    def __init__(self, settings: Settings, store: Store) -> None:
        self.settings = settings
        self.store = store
        self._issuers: dict[str, _IssuerKeys] = {}
        self._checked: OrderedDict[bytes, tuple[str, dict[str, Any]]] = OrderedDict()
        self._lock = threading.Lock()  # the rate limiter (event loop) and the views (workers) share it
        for cfg in settings.hooks_issuers:
            self._issuers[cfg.iss] = _IssuerKeys(cfg)

    @property
    def issuers(self) -> list[str]:
        return sorted(self._issuers)

    def verify_header(self, authorization: str | None, audiences: list[str]) -> Principal:
        """Check an ``Authorization`` header value; raise AuthError (401) on any failure."""
        if not authorization:
            raise MissingTokenError("missing Authorization: Bearer <JWT> header")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise MissingTokenError("the Authorization header must be 'Bearer <JWT>'")
        return self.verify(token.strip(), audiences)

    def verify(self, token: str, audiences: list[str]) -> Principal:
        iss, claims = self._signed(token, fetch=True)
        check_audience(claims, audiences)
        jti = claims["jti"]
        if not isinstance(jti, str) or not jti or len(jti) > 200:
            raise AuthError("token jti must be a non-empty string")
        if not self.store.use_token_id(iss, jti, int(claims["exp"]) + self.settings.hooks_clock_skew_s):
            log.warning("replayed token refused iss=%s", iss)
            raise AuthError("token already used (jti replay)")
        return _principal(iss, claims)

    def client_of(self, authorization: str) -> Principal | None:
        """Who sent a request, for the rate limiter: the principal of a bearer token that is signed by a
        trusted issuer's key held already (never fetched here: this runs on the event loop), is not expired
        and is addressed to this service (an ``aud`` under ``base_url`` or in ``hooks.audiences``); None for
        anything else. Never raises. Its ``jti`` is not used up: the view's own check does that."""
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            return None
        try:
            iss, claims = self._signed(token.strip(), fetch=False)
        except AuthError:
            return None
        aud = claims.get("aud")
        base = self.settings.public_base_url + "/"
        mine = [
            a
            for a in ([aud] if isinstance(aud, str) else aud if isinstance(aud, list) else [])
            if isinstance(a, str)
        ]
        if not any(a.startswith(base) or a in self.settings.hooks_audiences for a in mine):
            return None
        jti = claims.get("jti")
        return _principal(iss, claims) if isinstance(jti, str) and jti else None

    def _signed(self, token: str, *, fetch: bool) -> tuple[str, dict[str, Any]]:
        """(issuer, claims) of a token whose header, issuer, key, signature, ``exp``, ``iat`` and required
        claims check out; the audience and the ``jti`` are the caller's to check. AuthError otherwise.
        ``fetch``: the issuer's keys may be fetched (a worker thread); without it only keys held already
        count. A token that passed is remembered (by its hash) so that its signature is checked once, not
        again by the view after the rate limiter read it."""
        digest = hashlib.sha256(token.encode("utf-8", "surrogatepass")).digest()
        with self._lock:
            known = self._checked.get(digest)
        if known is not None:
            if int(known[1]["exp"]) <= time.time() - self.settings.hooks_clock_skew_s:
                raise AuthError("token has expired")
            return known
        try:
            header = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError as exc:
            raise AuthError(f"malformed token ({type(exc).__name__})") from None
        alg = header.get("alg")
        if alg not in ALLOWED_JWT_ALGORITHMS:
            raise AuthError(
                f"algorithm {alg!r} is not accepted (use one of {', '.join(ALLOWED_JWT_ALGORITHMS)})"
            )
        # CDS Hooks 2.0, Trusting CDS Clients (JWT header table): typ is REQUIRED, fixed value "JWT"
        # (explicit typing, RFC 8725 section 3.11); the comparison ignores case (RFC 7515 section 4.1.9)
        typ = header.get("typ")
        if typ is None:
            raise AuthError("token header lacks typ (it must be JWT)")
        if str(typ).upper() != "JWT":
            raise AuthError("token header typ must be JWT")
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise AuthError("token header has no kid")
        iss = unverified.get("iss")
        if not isinstance(iss, str) or iss not in self._issuers:
            raise AuthError("token issuer is not trusted")
        exp_problem = implausible_exp(unverified.get("exp"), self.settings.hooks_clock_skew_s)
        if exp_problem:
            raise AuthError(exp_problem)
        keys = self._issuers[iss]
        jwk = keys.key(kid) if fetch else keys.held_key(kid)
        if jwk is None:
            raise AuthError("the issuer's keys are not loaded yet")
        pinned = keys.declared_alg(kid)
        if pinned is not None and pinned != alg:
            raise AuthError("token algorithm does not match the key")
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                jwk.key,
                algorithms=[alg],
                issuer=iss,
                leeway=self.settings.hooks_clock_skew_s,
                options={
                    "require": ["iss", "aud", "exp", "iat", "jti"],
                    "verify_iat": True,
                    "verify_aud": False,  # per endpoint: check_audience
                },
            )
        except jwt.ExpiredSignatureError:
            raise AuthError("token has expired") from None
        except jwt.MissingRequiredClaimError as exc:
            raise AuthError(f"token lacks the required claim '{exc.claim}'") from None
        except jwt.InvalidSignatureError:
            raise AuthError("token signature does not verify") from None
        except jwt.PyJWTError as exc:
            raise AuthError(f"token refused ({type(exc).__name__})") from None
        with self._lock:
            self._checked[digest] = (iss, claims)
            while len(self._checked) > CHECKED_TOKENS:
                self._checked.popitem(last=False)
        return iss, claims


# CDS Hooks 2.0 (Trusting CDS Clients, JWT payload table) defines exp as a required number, the token's
# expiry in seconds since the Epoch, and names no longest lifetime; the token authenticates one call (its
# jti is a nonce against replay), so a lifetime of days is no real client's. An exp further ahead than this
# is refused: it would also keep the token's used-jti row (store.use_token_id) that long, and a value past
# SQLite's 64-bit INTEGER (2**63, 1e300) could not be stored at all.
MAX_TOKEN_LIFETIME_S = 24 * 3600
CHECKED_TOKENS = 4096  # tokens whose signature checked out, remembered for the view's own check


def implausible_exp(exp: Any, skew_s: int) -> str | None:
    """Why a token's ``exp`` claim is refused before its signature is checked, or None (a missing or
    non-numeric exp is left to the decoder, which names it)."""
    if not isinstance(exp, (int, float)) or isinstance(exp, bool):
        return None
    if not math.isfinite(exp) or exp > time.time() + MAX_TOKEN_LIFETIME_S + skew_s:
        return (
            f"token claim exp is implausibly far in the future (more than {MAX_TOKEN_LIFETIME_S // 3600} h "
            "ahead; a CDS Hooks token authenticates one call)"
        )
    return None


def check_audience(claims: dict[str, Any], audiences: list[str]) -> None:
    """``aud`` (a string or a list of strings) names one of ``audiences``: AuthError otherwise."""
    aud = claims.get("aud")
    if not aud:
        raise AuthError("token lacks the required claim 'aud'")
    given = [aud] if isinstance(aud, str) else aud
    if not isinstance(given, list) or not any(isinstance(a, str) and a in audiences for a in given):
        raise AuthError(f"token audience must be {audiences[0]}")


def _principal(iss: str, claims: dict[str, Any]) -> Principal:
    sub = claims.get("sub")
    tenant = claims.get("tenant")
    return Principal(
        iss=iss,
        sub=str(sub) if sub is not None else None,
        jti=str(claims.get("jti")),
        tenant=str(tenant) if tenant is not None else None,
    )
