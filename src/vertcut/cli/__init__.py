"""vertcut's command line: parse, call the library, map errors to exit codes.

Commands live one per module in :mod:`vertcut.cli.commands`; each module
exposes ``command`` (a :class:`click.Command`) and is imported only when that
command runs, so ``vertcut --help`` stays fast.

Errors: a :class:`~vertcut.errors.VertcutError` becomes one line on stderr,
``vertcut: error: <file>: <what>``, and its ``exit_code``; any other
exception becomes ``vertcut: internal error: ...`` with exit code 1. With
``--debug`` (or ``VERTCUT_DEBUG=1``) the traceback is shown instead, and the
exit code stays the same. :func:`main` is the console script: use it (not
``cli.main(standalone_mode=False)``, which returns a command's exit code
instead of exiting with it).
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import sys
import traceback
from typing import Any

import click

from .. import __version__
from ..errors import EXIT_INTERRUPTED, EXIT_WARNINGS, VertcutError
from .state import CliState

__all__ = ["cli", "main"]


class VertcutCliError(click.ClickException):
    """A library error shown as one line, with the library's exit code."""

    def __init__(self, message: str, exit_code: int) -> None:
        super().__init__(message)
        self.exit_code = exit_code

    def show(self, file: Any = None) -> None:
        click.echo(f"vertcut: error: {self.format_message()}", err=True)


class VertcutGroup(click.Group):
    """Loads command modules lazily and maps exceptions to messages."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        from . import commands

        names = [
            m.name.replace("_", "-") for m in pkgutil.iter_modules(commands.__path__) if not m.name.startswith("_")
        ]
        return sorted(names)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in self.list_commands(ctx):
            return None
        module = importlib.import_module(f"{__name__}.commands.{cmd_name.replace('-', '_')}")
        cmd: click.Command = module.command
        return cmd

    def invoke(self, ctx: click.Context) -> Any:
        try:
            rv = super().invoke(ctx)
        except (click.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except VertcutError as exc:
            if _debug(ctx):
                raise
            raise VertcutCliError(str(exc), exc.exit_code) from exc
        except KeyboardInterrupt:
            raise VertcutCliError("interrupted", EXIT_INTERRUPTED) from None
        except Exception as exc:
            if _debug(ctx):
                raise
            raise VertcutCliError(
                f"internal error: {type(exc).__name__}: {exc} (run with --debug for the traceback)", 1
            ) from exc
        state = ctx.find_object(CliState)
        if state is not None and state.fail_on == "warning" and state.sink.warnings:
            raise VertcutCliError(f"{state.sink.warnings} warning(s) reported (--fail-on warning)", EXIT_WARNINGS)
        return rv


def _debug(ctx: click.Context) -> bool:
    state = ctx.find_object(CliState)
    return bool(state and state.debug) or os.environ.get("VERTCUT_DEBUG") == "1"


@click.group(cls=VertcutGroup, context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100})
@click.version_option(__version__, prog_name="vertcut")
@click.option("--debug", is_flag=True, help="Show tracebacks and ffmpeg's full log.")
@click.option("-q", "--quiet", is_flag=True, help="No progress, only warnings and errors.")
@click.option(
    "--progress",
    "progress_mode",
    type=click.Choice(["auto", "bar", "lines", "json", "none"]),
    default="auto",
    show_default=True,
    help="How progress is drawn on stderr (json: one event per line, for automation).",
)
@click.option("--dry-run", is_flag=True, help="Print the ffmpeg commands instead of running them.")
@click.option(
    "--fail-on",
    type=click.Choice(["error", "warning"]),
    default="error",
    show_default=True,
    help="warning: exit 8 when the work finished but any warning was reported (CI gates); error: only errors fail.",
)
@click.pass_context
def cli(ctx: click.Context, debug: bool, quiet: bool, progress_mode: str, dry_run: bool, fail_on: str) -> None:
    """vertcut: vertical micro-drama episodes from an edited master.

    probe/ingest -> analyse -> 9:16 reframe -> subtitle burn-in -> split into
    episodes -> ABR ladder, HLS/DASH and platform masters -> checks.
    """
    if debug or os.environ.get("VERTCUT_DEBUG") == "1":
        import logging

        logging.basicConfig(level=logging.DEBUG, stream=sys.stderr, format="%(name)s: %(message)s")
    ctx.obj = CliState(debug=debug, quiet=quiet, progress_mode="none" if quiet else progress_mode, dry_run=dry_run,
                       fail_on=fail_on)  # fmt: skip
    ctx.call_on_close(ctx.obj.close)


def main(argv: list[str] | None = None) -> int:
    """Console-script entry point: the exit code of the README's table, with ``--debug`` too."""
    try:
        # outside standalone mode click does not raise a command's ``click.exceptions.Exit(code)``: it
        # returns the code (and the command's return value otherwise, None for every vertcut command)
        rv = cli.main(args=argv, prog_name="vertcut", standalone_mode=False)
    except click.exceptions.Exit as exc:
        return int(exc.exit_code)
    except click.ClickException as exc:
        exc.show()
        return exc.exit_code
    except click.Abort:
        click.echo("vertcut: interrupted", err=True)
        return EXIT_INTERRUPTED
    except Exception as exc:  # only with --debug: the traceback, then the same exit code as without it
        traceback.print_exc()
        return exc.exit_code if isinstance(exc, VertcutError) else 1
    return rv if isinstance(rv, int) and not isinstance(rv, bool) else 0
