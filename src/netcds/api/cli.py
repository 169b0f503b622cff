"""``netcds serve``: run the HTTP service (REST + CDS Hooks) with uvicorn."""

from __future__ import annotations

import asyncio
import logging
import secrets
import socket
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Literal
from urllib.parse import urlsplit

import typer

from netcds.api.security import is_loopback  # a bind address: not Starlette's in-process client names
from netcds.errors import KnowledgeError
from netcds.io import printable

if TYPE_CHECKING:
    from netcds.settings import Settings

SWITCH_INTERVAL_S = 0.0005


def register(app: typer.Typer) -> None:
    """Add the ``serve`` command to the netcds CLI."""

    @app.command("serve")
    def serve(
        host: Annotated[
            str | None, typer.Option("--host", help="interface to bind (default 127.0.0.1)")
        ] = None,
        port: Annotated[
            int | None, typer.Option("--port", help="TCP port (default 8000; 0 = any free)")
        ] = None,
        db: Annotated[
            str | None, typer.Option("--db", help="database URL (sqlite:///path or postgresql://...)")
        ] = None,
        base_url: Annotated[
            str | None, typer.Option("--base-url", help="public URL (JWT aud, card links)")
        ] = None,
        config: Annotated[Path | None, typer.Option("--config", help="TOML config file")] = None,
        open_hooks: Annotated[
            bool,
            typer.Option(
                "--open-hooks", help="accept CDS Hooks calls WITHOUT a token (local development only)"
            ),
        ] = False,
        workers: Annotated[
            int | None,
            typer.Option("--workers", help="worker processes (default 1; about one per core)", min=1, max=64),
        ] = None,
    ) -> None:
        """Serve the REST API (/api/v1) and the CDS Hooks services (/cds-services)."""
        import uvicorn

        from netcds.api.app import OPEN_MODE_BANNER, create_app
        from netcds.api.shared_cache import make_dir, remove_dir
        from netcds.settings import SettingsError, db_error_reason, load_settings, redact_url
        from netcds.store.repo import Store, is_memory_url

        try:
            settings = load_settings(
                config,
                overrides={
                    "host": host,
                    "port": port,
                    "db_url": db,
                    "base_url": base_url,
                    "hooks_open": True if open_hooks else None,
                    "workers": workers,
                },
            )
        except SettingsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        if (refused := open_hooks_problem(settings, open_hooks, host)) is not None:
            typer.echo(f"error: {refused}", err=True)
            raise typer.Exit(2)
        if settings.hooks_open:
            typer.echo(f"WARNING: {OPEN_MODE_BANNER}", err=True)
        if not is_loopback(settings.host) and not settings.api_require_token:
            typer.echo(
                "WARNING: listening beyond loopback with the REST API open (no token required); "
                "set server.require_token to protect stored cases.",
                err=True,
            )
        if db and redact_url(db) != db:
            typer.echo(
                "WARNING: --db carries a password, and command-line arguments are visible to other local "
                "users; prefer NETCDS_DB_URL or NETCDS_DB_URL_FILE.",
                err=True,
            )
        if settings.workers > 1 and is_memory_url(settings.db_url):
            typer.echo("error: --workers > 1 needs a database file or server, not in-memory SQLite", err=True)
            raise typer.Exit(2)
        try:
            problem = startup_problem(settings)
        except KnowledgeError as exc:  # the installed knowledge is broken: every problem, exit 1
            from netcds.cli import fail_knowledge

            raise fail_knowledge(exc) from None
        if problem:
            typer.echo(f"error: {problem}", err=True)
            raise typer.Exit(2)
        try:  # open (and migrate) the database once, before any worker starts
            Store.open(settings.db_url).close()
        except Exception as exc:  # the database could not be opened: one line, never the password
            reason = db_error_reason(exc, settings.db_url)
            typer.echo(f"error: cannot open the database {settings.redacted_db_url}: {reason}", err=True)
            raise typer.Exit(1) from None
        # With several workers on Linux each worker listens on its own SO_REUSEPORT socket and the kernel
        # spreads new connections evenly over them; on one shared socket the first worker to wake took
        # most of a burst of connections (46 of 64 in bench/load.py) and its clients waited 2-3x longer.
        # The parent's socket then only holds the port (bound, never listening: it receives nothing).
        per_worker = settings.workers > 1 and hasattr(socket, "SO_REUSEPORT")
        try:
            sock = _tcp_socket(settings.host, settings.port, per_worker)
        except OSError as exc:
            typer.echo(f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", err=True)
            raise typer.Exit(1) from None
        bound_port = sock.getsockname()[1]
        if not settings.base_url and settings.port == 0:
            settings = settings.model_copy(update={"port": bound_port})
        url = f"http://{_url_host(settings.host)}:{bound_port}"
        if not per_worker:
            sock.listen(2048)
        hosts, host_warning = derived_hosts(settings)
        if host_warning:
            typer.echo(f"WARNING: {host_warning}", err=True)
        served = settings.model_copy(update={"allowed_hosts": hosts})
        # the workers' shared cache level (one file for this server, removed when it stops)
        shares = settings.workers > 1 and settings.shared_cache_mb > 0 and settings.eval_cache_mb > 0
        cache_dir = make_dir() if shares else None
        # without links.secret: one random key signs the card links of every worker of this server
        link_key = None if settings.link_secret else secrets.token_bytes(32)

        class Server(uvicorn.Server):
            announce = True

            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets)
                if self.started and self.announce:
                    n = f", {served.workers} workers" if served.workers > 1 else ""
                    sys.stdout.write(
                        f"netcds serving on {url} (web {url}/ui, REST {url}/api/v1, "
                        f"CDS Hooks {url}/cds-services{n})\n"
                    )
                    sys.stdout.flush()

        def run_one(index: int) -> None:
            # the group-commit thread gives up the GIL at every SQLite call and waited up to a whole switch
            # interval (5 ms by default) each time to get it back from the busy event loop: batches took
            # 20-50 ms and held whole groups of requests. 0.5 ms keeps the writer moving.
            sys.setswitchinterval(SWITCH_INTERVAL_S)
            server = Server(
                uvicorn.Config(
                    create_app(served, shared_cache_dir=cache_dir, link_key=link_key),
                    log_level=served.log_level,
                    access_log=False,
                    lifespan="on",
                    log_config=None,
                    backlog=2048,
                    # the request head's ceiling while it arrives (the middleware answers 431 for a whole
                    # head over it): our httptools protocol counts it; h11 (without httptools) bounds it
                    http=head_limited_protocol(served.max_header_bytes),
                    h11_max_incomplete_event_size=served.max_header_bytes,
                )
            )
            server.announce = index == 0
            own = sock
            if per_worker:
                own = _tcp_socket(served.host, bound_port, True)
                own.listen(2048)
            server.run(sockets=[own])

        if settings.workers > 1:
            from netcds.api.prefork import serve_workers

            try:
                code = serve_workers(settings.workers, run_one)
            finally:
                if cache_dir is not None:
                    remove_dir(cache_dir)
            raise typer.Exit(code)
        run_one(0)


LOOPBACK_HOSTS = ("localhost", "127.0.0.1", "[::1]")


def derived_hosts(settings: Settings) -> tuple[tuple[str, ...], str | None]:
    """The Host allow-list ``serve`` applies, and a warning when it applies none. ``server.allowed_hosts``
    when given; else, bound to loopback: localhost, 127.0.0.1, [::1] (any port), the bound address and the
    host of ``base_url``; bound elsewhere: the host of ``base_url``, and without one no check at all."""
    if settings.allowed_hosts:
        return settings.allowed_hosts, None
    named: tuple[str, ...] = ()
    if settings.base_url and (name := urlsplit(settings.base_url).hostname):
        named = (f"[{name}]" if ":" in name else name,)
    if is_loopback(settings.host):
        bound = f"[{settings.host}]" if ":" in settings.host else settings.host.lower()
        hosts = (*LOOPBACK_HOSTS, bound, *named)
        return tuple(dict.fromkeys(hosts)), None
    if named:
        return named, None
    return (), (
        f"listening on {printable(settings.host, 80)} without server.base_url or server.allowed_hosts: the "
        "Host header is not checked (set either so that a page on another domain cannot reach the service "
        "through DNS rebinding)"
    )


def head_limited_protocol(limit: int) -> type[asyncio.Protocol] | Literal["auto"]:
    """uvicorn's httptools protocol (its default) that answers 431 and closes the connection once a request
    head still incomplete has taken ``limit`` bytes past its first read: httptools itself buffers a head of
    any size (a 30 MB header was taken whole). "auto" when httptools is not installed (uvicorn then uses
    h11, bounded by ``h11_max_incomplete_event_size``)."""
    try:
        from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol
    except ImportError:  # pragma: no cover (httptools is a dependency)
        return "auto"

    from netcds.api.problems import PROBLEM_JSON, problem_bytes
    from netcds.api.security import add_security_headers

    class HeadLimited(HttpToolsProtocol):
        head_open = False  # a request's head has begun and is not complete
        head_bytes = 0  # bytes read while it stayed incomplete (the read that began it not counted)

        def on_message_begin(self) -> None:
            super().on_message_begin()
            self.head_open, self.head_bytes = True, 0

        def on_headers_complete(self) -> None:
            self.head_open = False
            super().on_headers_complete()

        def data_received(self, data: bytes) -> None:
            counted = self.head_open
            super().data_received(data)
            if not (counted and self.head_open) or self.transport.is_closing():
                return
            self.head_bytes += len(data)
            if self.head_bytes > limit:
                self.refuse()

        def refuse(self) -> None:
            body = problem_bytes(
                431,
                f"the request head is larger than {limit} bytes (server.max_header_bytes)",
                kind="header-fields-too-large",
            )
            lines = add_security_headers(
                [
                    (b"content-type", PROBLEM_JSON.encode()),
                    (b"content-length", str(len(body)).encode()),
                    (b"connection", b"close"),
                ],
                "",
            )
            head = b"".join(k + b": " + v + b"\r\n" for k, v in lines)
            self.transport.write(b"HTTP/1.1 431 Request Header Fields Too Large\r\n" + head + b"\r\n" + body)
            self.transport.close()

    return HeadLimited


def open_hooks_problem(settings: Settings, flag: bool = False, host_option: str | None = None) -> str | None:
    """Open mode (hook calls without a token) is for one local machine: with a host that is not loopback
    the service would take unauthenticated calls from the network, so it does not start. One line naming
    where each was set (the options, or the settings and their environment variables), or None."""
    if not settings.hooks_open or is_loopback(settings.host):
        return None
    asked = "--open-hooks" if flag else "hooks.open / NETCDS_HOOKS_OPEN"
    where = "--host" if host_option is not None else "server.host / NETCDS_HOST"
    return (
        f"{asked} needs a loopback {where} (127.0.0.1, ::1 or localhost), "
        f"not '{printable(settings.host, 80)}'"
    )


def startup_problem(settings: Settings) -> str | None:
    """What in the settings would stop the service after it started, as one line naming the setting, or
    None: a SQLite file in a folder that does not exist (a typo must not start an empty store; a new file
    in an existing folder is created, as ``make demo`` does), an issuer's JWKS file that cannot be read,
    a knowledge version that is not installed. Installed knowledge that does not load raises its
    KnowledgeError."""
    from netcds.api.auth import issuer_problem
    from netcds.cli import unknown_version
    from netcds.errors import UnknownVersionError
    from netcds.knowledge.load import load_knowledge
    from netcds.store.database import sqlite_file

    try:
        path = sqlite_file(settings.db_url)
    except Exception:  # not a URL SQLAlchemy reads: opening it reports that, with the password hidden
        path = None
    if path is not None:
        where = f"the database {settings.redacted_db_url}"
        if path.is_dir():
            return f"{where}: {path} is a directory, not a database file"
        if not path.parent.is_dir():
            return f"{where}: the folder {path.parent} does not exist (create it first; nothing created)"
    for i, issuer in enumerate(settings.hooks_issuers):
        if (why := issuer_problem(issuer)) is not None:
            return f"hooks.issuers[{i}] ({issuer.iss}): {why}"
    try:
        load_knowledge(settings.guideline_version)
    except UnknownVersionError as exc:
        return f"knowledge.version / NETCDS_GUIDELINE_VERSION: {unknown_version(exc)}"
    return None


def _tcp_socket(host: str, port: int, reuse_port: bool) -> socket.socket:
    """A bound TCP socket (not yet listening). proto=IPPROTO_TCP: asyncio sets TCP_NODELAY only on
    sockets that say they are TCP; without it Nagle's algorithm holds a small response's body behind its
    headers for the client's delayed ACK (about 40 ms per small answer)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    if reuse_port:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    try:
        sock.bind((host, port))
    except OSError:
        sock.close()
        raise
    return sock


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
