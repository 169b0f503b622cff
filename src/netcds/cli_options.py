"""One rule for every netcds command: a single-valued option given twice is refused (exit 2, naming it).

Click keeps the last of ``--agent a --agent b`` without a word, so one of the two values would be silently
dropped; which one was meant is not known (as with a ``--what-if`` path given twice, or a REST query
parameter given twice). :func:`refuse_repeated_options` applies the rule to a whole Typer app, its
commands and its sub-apps (``kb``, ``evaluations``, ``safety``, ``cohort`` ...), in one place; options
meant to repeat (``multiple=True``, such as ``--what-if``) and counting options are left as they are.
"""

from __future__ import annotations

from typing import Any

import typer
from typer._click.core import Command, Context  # typer's own copy of click: what its commands are built of
from typer._click.exceptions import BadOptionUsage, UsageError
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.models import DefaultPlaceholder


def repeated_option(command: Command, ctx: Context, args: list[str]) -> TyperOption | None:
    """The first single-valued option that ``args`` give more than once (in any spelling: ``--opt a
    --opt b``, ``--opt=a --opt b``, ``-o a --opt b``), or None. The arguments are parsed by the command's
    own parser, so what counts as an option is exactly what the command will read."""
    if not args or ctx.resilient_parsing:
        return None
    try:
        _, _, order = command.make_parser(ctx).parse_args(args=list(args))
    except UsageError:  # the command's own parsing reports it, as before
        return None
    seen: set[int] = set()
    for param in order:
        if not isinstance(param, TyperOption) or param.multiple or param.count or not param.expose_value:
            continue  # arguments, repeatable and counting options, --help
        if id(param) in seen:
            return param
        seen.add(id(param))
    return None


def refuse_repeats(command: Command, ctx: Context, args: list[str]) -> None:
    """A usage error (exit 2) naming the single-valued option given more than once."""
    param = repeated_option(command, ctx, args)
    if param is not None:
        names = " / ".join(f"'{o}'" for o in [*param.opts, *param.secondary_opts])
        why = "" if param.is_flag else " (it takes one value: which of those given is meant is not known)"
        raise BadOptionUsage(
            param.name or names, f"Option {names} given more than once: give it once{why}", ctx
        )


class SingleValueCommand(TyperCommand):
    """A Typer command that refuses a single-valued option given twice."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        refuse_repeats(self, ctx, args)
        return super().parse_args(ctx, args)


class SingleValueGroup(TyperGroup):
    """A Typer group that refuses its own single-valued options given twice (its commands check theirs)."""

    def parse_args(self, ctx: Context, args: list[str]) -> list[str]:
        refuse_repeats(self, ctx, args)
        return super().parse_args(ctx, args)


def _command_class(cls: type[TyperCommand] | None) -> type[TyperCommand]:
    if cls is None or cls is TyperCommand:
        return SingleValueCommand
    if issubclass(cls, SingleValueCommand):
        return cls
    return type(f"SingleValue{cls.__name__}", (SingleValueCommand, cls), {})  # a command's own class, kept


def _group_class(cls: Any) -> type[TyperGroup]:
    if isinstance(cls, DefaultPlaceholder):
        cls = cls.value
    if cls is None or cls is TyperGroup:
        return SingleValueGroup
    if issubclass(cls, SingleValueGroup):
        return cls  # type: ignore[no-any-return]
    return type(f"SingleValue{cls.__name__}", (SingleValueGroup, cls), {})


def refuse_repeated_options(app: typer.Typer) -> typer.Typer:
    """Make every command of ``app`` (and of its sub-apps, at any depth) refuse a single-valued option
    given twice. Call it once the app is complete (every ``register`` done); calling it again is harmless.
    The Typer app builds its click commands when run, from the classes set here."""
    app.info.cls = _group_class(app.info.cls)
    if app.registered_callback is not None and not isinstance(
        app.registered_callback.cls, DefaultPlaceholder
    ):
        app.registered_callback.cls = _group_class(app.registered_callback.cls)
    for command in app.registered_commands:
        command.cls = _command_class(command.cls)
    for sub in app.registered_groups:
        if not isinstance(sub.cls, DefaultPlaceholder):
            sub.cls = _group_class(sub.cls)
        if sub.typer_instance is not None:
            refuse_repeated_options(sub.typer_instance)
    return app
