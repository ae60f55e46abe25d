"""The typer app: each command turns options into one call of core code and picks a renderer.

Imports of yaml, httpx, keyring and the rules happen inside the commands that need them, so
``kctl --help`` and ``render-callback-url`` start as fast as a bare typer app.
"""

from __future__ import annotations

import os
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, NoReturn

import typer

from kctl import __version__
from kctl.errors import KctlError, UsageError

app = typer.Typer(
    name="kctl",
    help="Provision and test Kaleyra as a CleverTap Generic (Other) WhatsApp/SMS provider.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
secrets_app = typer.Typer(
    help="Store, show (masked) and delete secrets in the OS keyring (service 'kctl').",
    no_args_is_help=True,
)
app.add_typer(secrets_app, name="secrets")


COMPLETE_VAR = "_KCTL_COMPLETE"


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    junit = "junit"
    sarif = "sarif"


def wants_color(stream: object) -> bool:
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"


def write_output(text: str, output_file: Path | None) -> None:
    """Machine output goes to stdout, or atomically to ``output_file``."""
    if output_file is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from kctl.files import write_atomic

    write_atomic(output_file, text)


def stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"kctl {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Show a Python traceback on errors (debugging).")
    ] = False,
) -> None:
    """Provision and test Kaleyra as a CleverTap Generic (Other) WhatsApp/SMS provider."""


@app.command("validate-config")
def validate_config(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Config files, directories (all *.yaml/*.yml below) or - for stdin.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = Format.text,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    output_file: Annotated[
        Path | None,
        typer.Option("--output-file", "-o", help="Write the report here instead of stdout."),
    ] = None,
) -> None:
    """Check provider configs: every finding with its code at file:line:col."""
    from kctl.render import render_report
    from kctl.validate import validate_paths

    report = validate_paths(paths, strict=strict)
    color = fmt is Format.text and output_file is None and wants_color(sys.stdout)
    write_output(render_report(report, fmt.value, color=color), output_file)
    if fmt is not Format.text or output_file is not None:
        stderr(
            f"kctl: {report.error_count} error(s), {report.warning_count} warning(s)"
            f" in {len(report.files)} file(s)"
        )
    if report.failed:
        raise typer.Exit(1)


@app.command("schema")
def schema(
    output_file: Annotated[
        Path | None, typer.Option("--output-file", "-o", help="Write the schema here.")
    ] = None,
) -> None:
    """Print the JSON Schema of the config format (for editors and other validators)."""
    import json

    from kctl.spec import json_schema

    write_output(json.dumps(json_schema(), indent=2) + "\n", output_file)


def _fail(error: KctlError) -> NoReturn:
    stderr(f"kctl: error: {error.message}")
    if error.hint:
        stderr(f"  hint: {error.hint}")
    sys.exit(error.exit_code)


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: the only place that catches errors, prints one line and picks the exit code."""
    from typer.exceptions import TyperException

    args = sys.argv[1:] if argv is None else argv
    if COMPLETE_VAR in os.environ:  # a shell asking for completions (see completions/)
        from typer._completion_classes import completion_init

        completion_init()
    show_traceback = "--traceback" in args
    command = typer.main.get_command(app)
    try:
        result = command.main(args=args, prog_name="kctl", standalone_mode=False)
    except KctlError as e:
        if show_traceback:
            raise
        _fail(e)
    except typer.Abort:
        stderr("kctl: interrupted")
        sys.exit(130)
    except TyperException as e:  # click's usage errors: bad option, missing argument
        show = getattr(e, "show", None)
        if show is not None:
            show()
        else:
            stderr(f"kctl: error: {e.format_message()}")
        sys.exit(UsageError.exit_code)
    except KeyboardInterrupt:
        stderr("kctl: interrupted")
        sys.exit(130)
    except BrokenPipeError:
        # the reader went away (e.g. `| head`); nothing left to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as e:
        if show_traceback:
            raise
        stderr(f"kctl: internal error: {type(e).__name__}: {e}")
        stderr("  hint: run again with --traceback and report it")
        sys.exit(70)
    sys.exit(result if isinstance(result, int) else 0)
