"""Service settings: defaults < TOML config file < ``NETCDS_*`` environment < command-line options.

Everything the HTTP service needs is here and nowhere else; docs/configuration.md
lists every key. Unknown keys are an error naming the key (a typo in a security
setting must never pass silently).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import tomllib
from collections.abc import Mapping
from pathlib import Path
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from netcds.io import MAX_RECORD_BYTES
from netcds.knowledge.load import DEFAULT_VERSION
from netcds.settings_smart import SMART_ENV_KEYS, SMART_TOML_KEYS, SmartSettings, flat_field, nest_smart

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 8000
DEFAULT_DB_URL = "sqlite:///netcds.db"
DEFAULT_LINK_LIFETIME_S = 24 * 3600
MIN_LINK_SECRET_CHARS = 32
ALLOWED_JWT_ALGORITHMS: tuple[str, ...] = ("RS256", "RS384", "ES256", "ES384")


class SettingsError(ValueError):
    """A setting is invalid; ``key`` names it as in the config file (``section.key``) or the env variable."""

    def __init__(self, key: str, message: str) -> None:
        self.key = key
        self.message = message
        super().__init__(f"{key}: {message}")


class IssuerConfig(BaseModel):
    """One trusted CDS client (EHR): its ``iss`` and where its public keys (JWKS) are."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    iss: str = Field(min_length=1)
    jwks_file: str | None = None
    jwks: dict[str, Any] | None = None
    jwks_url: str | None = None

    @field_validator("jwks", mode="before")
    @classmethod
    def _jwks_text(cls, value: Any) -> Any:
        if isinstance(value, str):
            try:
                return json.loads(value)
            except json.JSONDecodeError as exc:
                raise ValueError(f"inline jwks is not valid JSON: {exc.msg}") from None
        return value

    @model_validator(mode="after")
    def _one_source(self) -> IssuerConfig:
        given = [k for k in ("jwks_file", "jwks", "jwks_url") if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of jwks_file, jwks, jwks_url")
        if self.jwks_url is not None and not self.jwks_url.startswith("https://"):
            raise ValueError("jwks_url must be https")
        return self


class Settings(BaseModel):
    """The service configuration (immutable once loaded)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str = DEFAULT_HOST
    port: int = Field(default=DEFAULT_PORT, ge=0, le=65535)
    base_url: str | None = None
    db_url: str = Field(default=DEFAULT_DB_URL, repr=False)  # may hold a password: never in a repr or log
    guideline_version: str = DEFAULT_VERSION
    # 2 MiB, the command line's limit for one patient record too
    max_body_bytes: int = Field(default=MAX_RECORD_BYTES, ge=1024, le=256 * 1024 * 1024)
    log_level: Literal["debug", "info", "warning", "error"] = "info"
    # browsers: origins allowed to call the API from a page (CORS); none by default
    cors_origins: tuple[str, ...] = ()
    # per-client token bucket (see docs/configuration.md); 0 = no limit
    rate_limit_per_minute: int = Field(default=600, ge=0, le=1_000_000)
    rate_limit_burst: int = Field(default=120, ge=1, le=1_000_000)
    rate_limit_loopback: bool = False
    rate_limit_key: Literal["ip", "client"] = "ip"
    # the Host header values answered (DNS rebinding); empty: `netcds serve` derives them, an app built
    # otherwise checks nothing
    allowed_hosts: tuple[str, ...] = ()
    # all header fields of one request together (names, values, separators); over it: 431
    max_header_bytes: int = Field(default=64 * 1024, ge=4096, le=16 * 1024 * 1024)
    # in-memory LRU of serialized evaluations keyed by input hash + knowledge digest; 0 = off
    eval_cache_mb: int = Field(default=32, ge=0, le=4096)
    # with several workers: the cache level they share (a file in /dev/shm); 0 = off
    shared_cache_mb: int = Field(default=256, ge=0, le=65536)
    # worker processes sharing the listening socket (POSIX); caches and rate limits are per process
    workers: int = Field(default=1, ge=1, le=64)
    # CDS Hooks
    hooks_open: bool = False
    hooks_issuers: tuple[IssuerConfig, ...] = ()
    hooks_audiences: tuple[str, ...] = ()
    hooks_clock_skew_s: int = Field(default=30, ge=0, le=300)
    hooks_persist_evaluations: bool = True
    hooks_as_of_today: bool = True
    # the time zone whose calendar date is a hook's record date (IANA name); None: the date furthest ahead
    # on Earth (UTC+14), so nothing a site anywhere wrote today lies after the record date
    hooks_time_zone: str | None = None
    fhir_fetch: bool = False
    fhir_fetch_timeout_s: float = Field(default=5.0, gt=0, le=60)
    # all FHIR requests of one hook call together (prefetch keys and their pages); over it: 412
    fhir_fetch_budget_s: float = Field(default=10.0, gt=0, le=300)
    # REST
    api_require_token: bool = False
    # signed card links (netcds.api.signed_links): the HMAC key's secret (None: a random key per start) and
    # how long a link opens its stored evaluation
    link_secret: str | None = Field(default=None, repr=False)  # a secret: never in a repr or log
    link_lifetime_s: int = Field(default=DEFAULT_LINK_LIFETIME_S, ge=60, le=30 * 24 * 3600)
    # SMART on FHIR EHR launch of the web app (netcds.settings_smart, docs/smart.md); off by default
    smart: SmartSettings = Field(default_factory=SmartSettings)

    @field_validator("base_url")
    @classmethod
    def _base(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if not value.startswith(("http://", "https://")):
            raise ValueError("must start with http:// or https://")
        return value.rstrip("/")

    @field_validator("link_secret")
    @classmethod
    def _link_secret(cls, value: str | None) -> str | None:
        if value is None:
            return None
        if len(value.strip()) < MIN_LINK_SECRET_CHARS:
            # the value itself is never echoed
            raise ValueError(
                f"must be at least {MIN_LINK_SECRET_CHARS} characters (e.g. `openssl rand -hex 32`)"
            )
        return value.strip()

    @field_validator("hooks_time_zone")
    @classmethod
    def _zone(cls, value: str | None) -> str | None:
        if value is None or not value.strip():
            return None
        try:
            ZoneInfo(value.strip())
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(
                "not a time zone name this machine knows (an IANA name such as Europe/Berlin)"
            ) from None
        return value.strip()

    @field_validator("cors_origins")
    @classmethod
    def _origins(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for origin in value:
            o = origin.strip().rstrip("/")
            if o == "*":
                raise ValueError("'*' is not allowed: list each origin (scheme://host[:port])")
            if not o.startswith(("http://", "https://")) or "/" in o.split("://", 1)[1]:
                raise ValueError(f"{o!r} is not an origin (scheme://host[:port], no path)")
            out.append(o.lower())
        return tuple(out)

    @field_validator("allowed_hosts")
    @classmethod
    def _hosts(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        out = []
        for entry in value:
            h = entry.strip().lower().rstrip(".")
            if not _HOST_ENTRY.match(h):
                raise ValueError(
                    f"{entry!r} is not a host name (host, host:port, *.domain or [IPv6]; no scheme, no path)"
                )
            out.append(h)
        return tuple(out)

    @property
    def redacted_db_url(self) -> str:
        """The database URL with any password replaced by ``***`` (for messages)."""
        return redact_url(self.db_url)

    @property
    def public_base_url(self) -> str:
        """The URL clients use to reach this service (``base_url``, or built from host and port)."""
        if self.base_url:
            return self.base_url
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"


# an allowed_hosts entry: a name or IPv4 address (``*.`` allowed in front), or a bracketed IPv6 address,
# with an optional port
_HOST_ENTRY = re.compile(r"^(?:(?:\*\.)?[a-z0-9_-]+(?:\.[a-z0-9_-]+)*|\[[0-9a-f:.]+\])(?::[0-9]{1,5})?$")


def redact_url(url: str) -> str:
    """``scheme://user:secret@host/db`` -> ``scheme://user:***@host/db`` (and ``?password=***``); other
    text unchanged. The password runs to the last ``@`` of the address, so one holding ``/``, ``:`` or
    ``@`` unencoded is hidden whole too."""
    scheme, sep, rest = url.partition("://")
    if not sep or rest.startswith("/"):  # no address part (sqlite:///path): nothing secret in it
        return url
    head, q, query = rest.partition("?")
    query = _QUERY_PASSWORD.sub(r"\1***", query)
    userinfo, at, host = head.rpartition("@")
    if at and ":" in userinfo:
        head = f"{userinfo.split(':', 1)[0]}:***@{host}"
    return f"{scheme}://{head}{q}{query}"


_QUERY_PASSWORD = re.compile(r"((?:^|&)password=)[^&]*", re.IGNORECASE)


def _parse_url(url: str) -> Any:
    """SQLAlchemy's reading of a database URL, or None when it reads none."""
    from sqlalchemy.engine import make_url

    try:
        return make_url(url)
    except Exception:  # not a URL SQLAlchemy reads: the URL as given is all there is to hide
        return None


_CONNINFO_PASSWORD = re.compile(r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|\S+)", re.IGNORECASE)


def db_error_reason(exc: Exception, db_url: str) -> str:
    """An exception met opening the database, as one line: its type and first line, with the URL (as
    given or as SQLAlchemy renders it) shown redacted and the password blanked where it is a password (in
    a URL's ``user:password@``, in a ``password=`` connection option). Only those places: the driver's
    words stay readable even when they hold the password's characters (a one-letter password)."""
    from urllib.parse import quote

    from netcds.io import printable

    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    parsed = _parse_url(db_url)
    urls = {db_url}
    passwords = {db_url.partition("://")[2].partition("?")[0].rpartition("@")[0].partition(":")[2]}
    if parsed is not None:
        urls |= {parsed.render_as_string(hide_password=False), str(parsed)}
        passwords |= {parsed.password or "", quote(parsed.password or "", safe="")}
    # make_engine opens postgresql:// URLs as postgresql+psycopg://
    urls |= {"postgresql+psycopg://" + u.removeprefix("postgresql://") for u in urls}
    for url in sorted(urls, key=len, reverse=True):
        text = text.replace(url, redact_url(url))
    for secret in sorted(passwords - {""}, key=len, reverse=True):
        text = text.replace(f":{secret}@", ":***@")
    text = _CONNINFO_PASSWORD.sub(r"\1***", text)
    return printable(f"{type(exc).__name__}: {text}" if text else type(exc).__name__, 300)


# config-file key (section.key) -> Settings field
_TOML_KEYS: dict[str, str] = {
    "server.host": "host",
    "server.port": "port",
    "server.base_url": "base_url",
    "server.max_body_bytes": "max_body_bytes",
    "server.log_level": "log_level",
    "server.require_token": "api_require_token",
    "server.cors_origins": "cors_origins",
    "server.rate_limit_per_minute": "rate_limit_per_minute",
    "server.rate_limit_burst": "rate_limit_burst",
    "server.rate_limit_loopback": "rate_limit_loopback",
    "server.rate_limit_key": "rate_limit_key",
    "server.allowed_hosts": "allowed_hosts",
    "server.max_header_bytes": "max_header_bytes",
    "server.eval_cache_mb": "eval_cache_mb",
    "server.shared_cache_mb": "shared_cache_mb",
    "server.workers": "workers",
    "store.url": "db_url",
    "store.url_file": "db_url_file",
    "knowledge.version": "guideline_version",
    "hooks.open": "hooks_open",
    "hooks.issuers": "hooks_issuers",
    "hooks.audiences": "hooks_audiences",
    "hooks.clock_skew_s": "hooks_clock_skew_s",
    "hooks.persist_evaluations": "hooks_persist_evaluations",
    "hooks.as_of_today": "hooks_as_of_today",
    "hooks.time_zone": "hooks_time_zone",
    "hooks.fhir_fetch": "fhir_fetch",
    "hooks.fhir_fetch_timeout_s": "fhir_fetch_timeout_s",
    "hooks.fhir_fetch_budget_s": "fhir_fetch_budget_s",
    "links.secret": "link_secret",
    "links.secret_file": "link_secret_file",
    "links.lifetime_s": "link_lifetime_s",
    **SMART_TOML_KEYS,
}
# environment variable -> (Settings field, kind)
_ENV_KEYS: dict[str, tuple[str, str]] = {
    "NETCDS_HOST": ("host", "str"),
    "NETCDS_PORT": ("port", "int"),
    "NETCDS_BASE_URL": ("base_url", "str"),
    "NETCDS_DB_URL": ("db_url", "str"),
    "NETCDS_DB_URL_FILE": ("db_url_file", "str"),
    "NETCDS_CORS_ORIGINS": ("cors_origins", "list"),
    "NETCDS_RATE_LIMIT_PER_MINUTE": ("rate_limit_per_minute", "int"),
    "NETCDS_RATE_LIMIT_BURST": ("rate_limit_burst", "int"),
    "NETCDS_RATE_LIMIT_LOOPBACK": ("rate_limit_loopback", "bool"),
    "NETCDS_RATE_LIMIT_KEY": ("rate_limit_key", "str"),
    "NETCDS_ALLOWED_HOSTS": ("allowed_hosts", "list"),
    "NETCDS_MAX_HEADER_BYTES": ("max_header_bytes", "int"),
    "NETCDS_EVAL_CACHE_MB": ("eval_cache_mb", "int"),
    "NETCDS_SHARED_CACHE_MB": ("shared_cache_mb", "int"),
    "NETCDS_WORKERS": ("workers", "int"),
    "NETCDS_GUIDELINE_VERSION": ("guideline_version", "str"),
    "NETCDS_MAX_BODY_BYTES": ("max_body_bytes", "int"),
    "NETCDS_LOG_LEVEL": ("log_level", "str"),
    "NETCDS_API_REQUIRE_TOKEN": ("api_require_token", "bool"),
    "NETCDS_HOOKS_OPEN": ("hooks_open", "bool"),
    "NETCDS_HOOKS_ISSUERS": ("hooks_issuers", "json"),
    "NETCDS_HOOKS_AUDIENCES": ("hooks_audiences", "list"),
    "NETCDS_HOOKS_CLOCK_SKEW_S": ("hooks_clock_skew_s", "int"),
    "NETCDS_HOOKS_PERSIST_EVALUATIONS": ("hooks_persist_evaluations", "bool"),
    "NETCDS_HOOKS_AS_OF_TODAY": ("hooks_as_of_today", "bool"),
    "NETCDS_HOOKS_TIME_ZONE": ("hooks_time_zone", "str"),
    "NETCDS_FHIR_FETCH": ("fhir_fetch", "bool"),
    "NETCDS_FHIR_FETCH_TIMEOUT_S": ("fhir_fetch_timeout_s", "float"),
    "NETCDS_FHIR_FETCH_BUDGET_S": ("fhir_fetch_budget_s", "float"),
    "NETCDS_LINK_SECRET": ("link_secret", "str"),
    "NETCDS_LINK_SECRET_FILE": ("link_secret_file", "str"),
    "NETCDS_LINK_LIFETIME_S": ("link_lifetime_s", "int"),
    **SMART_ENV_KEYS,
}
# NETCDS_* variables that are no Settings field but are read elsewhere; every other NETCDS_* variable is
# refused at settings load (a misspelt token setting must never leave a service open)
OTHER_ENV: dict[str, str] = {
    "NETCDS_CONFIG": "the TOML config file (read here)",
    "NETCDS_KNOWLEDGE_DIR": "another knowledge root (netcds.knowledge.load)",
    "NETCDS_TEST_POSTGRES_URL": "tests only: the PostgreSQL database of the store tests (else a private one)",
    "NETCDS_UPDATE_GOLDEN": "tests only: rewrite golden files",
    "NETCDS_SCREENSHOT_DIR": "tests only: where the browser tests write screenshots (make screenshots)",
}
KNOWN_ENV: frozenset[str] = frozenset(_ENV_KEYS) | frozenset(OTHER_ENV)
_ENV_PREFIX = "NETCDS_"
_FIELD_NAME = {field: key for key, field in _TOML_KEYS.items()}
_FIELD_ENV = {field: env for env, (field, _) in _ENV_KEYS.items()}
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _flatten(data: Mapping[str, Any], source: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for section, body in data.items():
        if not isinstance(body, dict):
            raise SettingsError(f"{source}: {section}", "expected a [section] table")
        for key, value in body.items():
            name = f"{section}.{key}"
            if name not in _TOML_KEYS:
                raise SettingsError(f"{source}: {name}", "unknown setting")
            out[_TOML_KEYS[name]] = value
    return out


def read_config_file(path: str | Path) -> dict[str, Any]:
    """Settings fields from one TOML file (see docs/configuration.md)."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise SettingsError(str(p), "config file not found") from None
    except IsADirectoryError:
        raise SettingsError(str(p), "is a directory, not a config file") from None
    except OSError as exc:
        raise SettingsError(str(p), f"cannot read the config file: {exc.strerror or exc}") from None
    except UnicodeDecodeError as exc:
        raise SettingsError(
            str(p), f"not UTF-8 text (byte {exc.start + 1}): not a TOML config file"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise SettingsError(str(p), f"not valid TOML: {exc}") from None
    return _flatten(data, str(p))


def _env_value(env: str, kind: str, raw: str) -> Any:
    if kind == "int":
        try:
            return int(raw)
        except ValueError:
            raise SettingsError(env, f"must be an integer, got {raw!r}") from None
    if kind == "float":
        try:
            return float(raw)
        except ValueError:
            raise SettingsError(env, f"must be a number, got {raw!r}") from None
    if kind == "bool":
        low = raw.strip().lower()
        if low in _TRUE:
            return True
        if low in _FALSE:
            return False
        raise SettingsError(env, f"must be 1/0, true/false, yes/no or on/off, got {raw!r}")
    if kind == "list":
        return [part.strip() for part in raw.split(",") if part.strip()]
    if kind == "json":
        try:
            return json.loads(raw)
        except json.JSONDecodeError as exc:
            raise SettingsError(env, f"not valid JSON: {exc.msg}") from None
    return raw


def check_environment(environ: Mapping[str, str]) -> None:
    """Refuse a ``NETCDS_*`` variable (any letter case) that netcds does not know (:data:`KNOWN_ENV`),
    naming it and the closest known name: a typo must not pass silently."""
    from netcds.io import printable

    for name in sorted(environ):
        if not name.upper().startswith(_ENV_PREFIX) or name in KNOWN_ENV:
            continue
        # compared without the shared prefix, which would make any two names look alike
        tails = {known.removeprefix(_ENV_PREFIX): known for known in sorted(KNOWN_ENV)}
        close = difflib.get_close_matches(name[len(_ENV_PREFIX) :].upper(), list(tails), n=1, cutoff=0.6)
        hint = f"did you mean {tails[close[0]]}?" if close else "docs/configuration.md lists the known ones"
        raise SettingsError(printable(name, 80), f"unknown environment variable; {hint}")


def read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    """Settings fields from ``NETCDS_*`` variables; an unknown ``NETCDS_*`` variable is an error naming it
    (:func:`check_environment`)."""
    check_environment(environ)
    out: dict[str, Any] = {}
    for env, (field, kind) in _ENV_KEYS.items():
        if env in environ:
            out[field] = _env_value(env, kind, environ[env])
    return out


DB_URL_FILE_KEY = "store.url_file / NETCDS_DB_URL_FILE"
LINK_SECRET_FILE_KEY = "links.secret_file / NETCDS_LINK_SECRET_FILE"  # noqa: S105 (a setting's name)


def _read_secret_file(path: str, key: str = DB_URL_FILE_KEY) -> str:
    """The first line of a secret file (e.g. a container secret); the value itself is never echoed."""
    try:
        text = Path(path).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise SettingsError(key, f"cannot read {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise SettingsError(key, f"{path} is not UTF-8 text") from None
    if not text:
        raise SettingsError(key, f"{path} is empty")
    return text.splitlines()[0].strip()


def load_settings(
    config_path: str | Path | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build the settings: defaults, then the TOML file (``config_path`` or ``$NETCDS_CONFIG``),
    then the environment, then ``overrides`` (command-line options; ``None`` values are skipped)."""
    env = os.environ if environ is None else environ
    check_environment(env)  # before the file: a misspelt NETCDS_CONFIG is named, not silently skipped
    values: dict[str, Any] = {}
    path = config_path or env.get("NETCDS_CONFIG")
    if path:
        values.update(read_config_file(path))
    values.update(read_environment(env))
    values.update({k: v for k, v in (overrides or {}).items() if v is not None})
    # a URL file (store.url_file / NETCDS_DB_URL_FILE) wins over store.url / NETCDS_DB_URL; --db over both
    url_file = values.pop("db_url_file", None)
    if url_file and (overrides or {}).get("db_url") is None:
        values["db_url"] = _read_secret_file(str(url_file))
    # likewise the link secret's file (links.secret_file / NETCDS_LINK_SECRET_FILE) wins over links.secret
    secret_file = values.pop("link_secret_file", None)
    if secret_file:
        values["link_secret"] = _read_secret_file(str(secret_file), LINK_SECRET_FILE_KEY)
    try:
        return Settings.model_validate(nest_smart(values))
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = flat_field([str(p) for p in err["loc"]])
        field = loc[0] if loc else "settings"
        name = _FIELD_ENV.get(field, field)
        where = f"{_FIELD_NAME.get(field, field)} / {name}" if field in _FIELD_NAME else name
        rest = ".".join(loc[1:])
        msg = str(err["msg"]).removeprefix("Value error, ")
        raise SettingsError(where + (f"[{rest}]" if rest else ""), msg) from None
