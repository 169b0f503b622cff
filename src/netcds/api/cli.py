"""``netcds serve``: run the HTTP service (REST + CDS Hooks) with uvicorn."""

from __future__ import annotations

import ipaddress
import logging
import socket
import sys
from pathlib import Path
from typing import Annotated

import typer


def _loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


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
    ) -> None:
        """Serve the REST API (/api/v1) and the CDS Hooks services (/cds-services)."""
        import uvicorn

        from netcds.api.app import OPEN_MODE_BANNER, create_app
        from netcds.settings import SettingsError, load_settings

        try:
            settings = load_settings(
                config,
                overrides={
                    "host": host,
                    "port": port,
                    "db_url": db,
                    "base_url": base_url,
                    "hooks_open": True if open_hooks else None,
                },
            )
        except SettingsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        logging.basicConfig(
            level=settings.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s %(message)s"
        )
        if settings.hooks_open:
            typer.echo(f"WARNING: {OPEN_MODE_BANNER}", err=True)
        if not _loopback(settings.host) and not settings.api_require_token:
            typer.echo(
                "WARNING: listening beyond loopback with the REST API open (no token required); "
                "set server.require_token to protect stored cases.",
                err=True,
            )
        application = create_app(settings)
        sock = socket.socket(socket.AF_INET6 if ":" in settings.host else socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((settings.host, settings.port))
        except OSError as exc:
            typer.echo(f"error: cannot listen on {settings.host}:{settings.port}: {exc.strerror}", err=True)
            raise typer.Exit(1) from None
        bound_port = sock.getsockname()[1]
        if not settings.base_url and settings.port == 0:
            settings = settings.model_copy(update={"port": bound_port})
            application.state.netcds.settings = settings
        url = f"http://{_url_host(settings.host)}:{bound_port}"

        class Server(uvicorn.Server):
            async def startup(self, sockets: list[socket.socket] | None = None) -> None:
                await super().startup(sockets)
                if self.started:
                    sys.stdout.write(
                        f"netcds serving on {url} (REST {url}/api/v1, CDS Hooks {url}/cds-services)\n"
                    )
                    sys.stdout.flush()

        server = Server(
            uvicorn.Config(
                application, log_level=settings.log_level, access_log=False, lifespan="on", log_config=None
            )
        )
        server.run(sockets=[sock])


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host
