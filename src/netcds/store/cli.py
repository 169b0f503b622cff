"""``netcds evaluations ...``: work with stored evaluations (``replay ID``)."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from pydantic import TypeAdapter, ValidationError

from netcds.errors import KnowledgeError, UnknownVersionError
from netcds.io import first_problem, printable
from netcds.settings import Settings, SettingsError, db_error_reason, load_settings

if TYPE_CHECKING:
    from netcds.store.replay import ReplayResult
    from netcds.store.repo import Store

# the API reads ``/evaluations/{id}`` with pydantic's UUID type: the command takes exactly the same forms
# (upper case, no hyphens, ``{...}``, ``urn:uuid:...``) and refuses what the API refuses
_UUID = TypeAdapter(uuid.UUID)


def evaluation_id_of(text: str) -> str | None:
    """The stored (canonical, lower-case hyphenated) form of an evaluation id, or None if ``text`` is not
    a UUID in any form the API takes."""
    try:
        return str(_UUID.validate_python(text))
    except ValidationError:
        return None


def _fail(line: str) -> typer.Exit:
    """One line on stderr (control characters escaped, never a traceback), exit 2."""
    typer.echo(f"error: {printable(line, 1000)}", err=True)
    return typer.Exit(2)


def _open_store(settings: Settings, shown_id: str) -> Store:
    """The store, read only as it is: a missing database is reported, never created."""
    from netcds.store.existing import MissingDatabaseError, open_existing

    try:
        return open_existing(settings.db_url)
    except MissingDatabaseError as exc:
        where = settings.redacted_db_url
        raise _fail(f"no evaluation {shown_id}: {exc} ({where}); nothing created") from None
    except Exception as exc:  # damaged or unreachable: one line, never the password
        reason = db_error_reason(exc, settings.db_url)
        raise _fail(f"cannot open the database {settings.redacted_db_url}: {reason}") from None


def _replay(store: Store, evaluation_id: str, shown_id: str) -> ReplayResult:
    """The replay, or one line naming why it cannot be run (exit 2)."""
    from netcds.store.errors import NotFoundError
    from netcds.store.replay import StoredInputError, replay

    try:
        return replay(store, evaluation_id)
    except NotFoundError:
        raise _fail(f"no evaluation {shown_id}") from None
    except StoredInputError as exc:  # the contract was tightened since it was stored; the row is unchanged
        raise _fail(
            f"evaluation {evaluation_id}: {exc.summary}: the stored input no longer "
            "passes today's Patient contract, so it cannot be re-run (the stored evaluation is unchanged)"
        ) from None
    except UnknownVersionError as exc:
        from netcds.cli import unknown_version

        raise _fail(f"the pinned guideline version is not installed: {unknown_version(exc)}") from None
    except KnowledgeError as exc:  # one line: the first problem
        raise _fail(f"the pinned guideline version cannot be loaded: {first_problem(exc.problems)}") from None


def _show(result: ReplayResult) -> None:
    verdict = "identical" if result.identical else f"DIFFERS in {len(result.differences)} place(s)"
    typer.echo(
        f"evaluation {result.evaluation_id}: {result.guideline_id} {result.guideline_version}, "
        f"engine {result.stored_engine_version} -> {result.replay_engine_version}: {verdict}"
    )
    for d in result.differences:
        typer.echo(f"  {d.change:8} {d.path}: {d.stored!r} -> {d.replayed!r}")


def register(app: typer.Typer) -> None:
    """Add the ``evaluations`` command group to the netcds CLI."""
    group = typer.Typer(
        help="Stored evaluations: replay them against their pinned guideline version.", no_args_is_help=True
    )

    @group.command("replay")
    def replay_cmd(
        evaluation_id: Annotated[
            str, typer.Argument(metavar="ID", help="evaluation id (a UUID, in any form the API takes)")
        ],
        db: Annotated[str | None, typer.Option("--db", help="database URL (default: settings)")] = None,
        config: Annotated[Path | None, typer.Option("--config", help="TOML config file")] = None,
        as_json: Annotated[bool, typer.Option("--json", help="print the full result as JSON")] = False,
    ) -> None:
        """Re-run a stored evaluation; exit 0 when identical, 1 when it differs, 2 when it cannot be
        replayed (not found, malformed id, stored input refused by today's contract, version missing)."""
        shown_id = printable(evaluation_id, 80)  # a lone surrogate or control character, escaped
        try:
            settings = load_settings(config, overrides={"db_url": db})
        except SettingsError as exc:
            typer.echo(f"error: {exc}", err=True)
            raise typer.Exit(2) from None
        store = _open_store(settings, shown_id)
        try:
            canonical_id = evaluation_id_of(evaluation_id)
            if canonical_id is None:  # never sent to the database: it cannot name a stored evaluation
                raise _fail(
                    f"ID: '{shown_id}' is not an evaluation id "
                    "(a UUID such as 46eedc6c-74c3-4ac9-8546-83c679a2bda5)"
                )
            result = _replay(store, canonical_id, shown_id)
        finally:
            store.close()
        if as_json:
            typer.echo(result.model_dump_json(indent=2))
        else:
            _show(result)
        raise typer.Exit(0 if result.identical else 1)

    app.add_typer(group, name="evaluations")
