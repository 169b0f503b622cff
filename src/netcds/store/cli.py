"""``netcds evaluations ...``: work with stored evaluations (``replay ID``)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from netcds.errors import KnowledgeError, UnknownVersionError
from netcds.settings import SettingsError, db_error_reason, load_settings


def register(app: typer.Typer) -> None:
    """Add the ``evaluations`` command group to the netcds CLI."""
    group = typer.Typer(
        help="Stored evaluations: replay them against their pinned guideline version.", no_args_is_help=True
    )

    @group.command("replay")
    def replay_cmd(
        evaluation_id: Annotated[str, typer.Argument(metavar="ID", help="evaluation id")],
        db: Annotated[str | None, typer.Option("--db", help="database URL (default: settings)")] = None,
        config: Annotated[Path | None, typer.Option("--config", help="TOML config file")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the full result as JSON")] = False,
    ) -> None:
        """Re-run a stored evaluation; exit 0 when identical, 1 when it differs, 2 when not found."""
        from netcds.io import printable
        from netcds.store.errors import NotFoundError
        from netcds.store.existing import MissingDatabaseError, open_existing
        from netcds.store.replay import replay

        shown_id = printable(evaluation_id, 80)
        try:
            settings = load_settings(config, overrides={"db_url": db})
        except SettingsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        try:  # a reading command: a missing database is reported, never created
            store = open_existing(settings.db_url)
        except MissingDatabaseError as exc:
            where = settings.redacted_db_url
            typer.echo(f"error: no evaluation {shown_id}: {exc} ({where}); nothing created", err=True)
            raise typer.Exit(2) from None
        except Exception as exc:  # damaged or unreachable: one line, never the password
            reason = db_error_reason(exc, settings.db_url)
            typer.echo(f"error: cannot open the database {settings.redacted_db_url}: {reason}", err=True)
            raise typer.Exit(2) from None
        try:
            result = replay(store, evaluation_id)
        except NotFoundError:
            typer.echo(f"error: no evaluation {shown_id}", err=True)
            raise typer.Exit(2) from None
        except UnknownVersionError as exc:
            from netcds.cli import unknown_version

            typer.echo(
                f"error: the pinned guideline version is not installed: {unknown_version(exc)}", err=True
            )
            raise typer.Exit(2) from None
        except KnowledgeError as exc:  # one line: the first problem
            where, message = exc.problems[0]
            more = f" (+{len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
            typer.echo(
                f"error: the pinned guideline version cannot be loaded: {where}: {message}{more}", err=True
            )
            raise typer.Exit(2) from None
        finally:
            store.close()
        if as_json:
            typer.echo(result.model_dump_json(indent=2))
        else:
            verdict = "identical" if result.identical else f"DIFFERS in {len(result.differences)} place(s)"
            typer.echo(
                f"evaluation {result.evaluation_id}: {result.guideline_id} {result.guideline_version}, "
                f"engine {result.stored_engine_version} -> {result.replay_engine_version}: {verdict}"
            )
            for d in result.differences:
                typer.echo(f"  {d.change:8} {d.path}: {d.stored!r} -> {d.replayed!r}")
        raise typer.Exit(0 if result.identical else 1)

    app.add_typer(group, name="evaluations")
