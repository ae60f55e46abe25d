"""The entry point: mounts each group's commands and is the only place that catches errors.

The commands live in one module per group (``check``, ``send``, ``servers``, ``setup``,
``secrets``, ``templates``); each turns options into one call of core code and picks a renderer.
Imports of yaml, httpx, keyring and the rules happen inside the commands that need them, so
``kctl --help`` and ``render-callback-url`` start as fast as a bare typer app. No
``from __future__ import annotations`` here: typer would then eval() every option's annotation
string at start-up (about 16 ms for this app).
"""

import os
import sys
from typing import Annotated, NoReturn

import typer

from kctl import __version__

# each module registers its commands on the app as it is imported
from kctl.cli import check, send, servers, setup  # noqa: F401
from kctl.cli.base import app, command
from kctl.cli.exits import (
    broken_pipe,
    fail,
    internal_error,
    interrupted,
    print_traceback,
    signals_raise_interrupted,
    wants_json,
)
from kctl.cli.fast import COMPLETE_VAR
from kctl.cli.help import SET_UP, TEST
from kctl.cli.lazy import lazy_group
from kctl.cli.preview import preview
from kctl.cli.secrets import secrets_app
from kctl.cli.templates import templates_app
from kctl.errors import Interrupted, KctlError, UsageError
from kctl.render.term import set_color

__all__ = ["COMPLETE_VAR", "app", "main"]

command(
    app,
    "preview",
    panel=TEST,
    example="""
    kctl preview -c configs/whatsapp.yaml -t order_update --param Asha
    kctl preview -c configs/whatsapp.yaml -t festive_offer -f html -o offer.html
    kctl preview -c configs/sms-india.yaml -t otp_login --param 482913
    """,
)(preview)
app.add_typer(secrets_app, name="secrets", rich_help_panel=SET_UP)
app.add_typer(templates_app, name="templates", rich_help_panel=SET_UP)

COLOR_CHOICES = ("auto", "always", "never")


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
    color: Annotated[
        str,
        typer.Option(
            "--color",
            metavar="auto|always|never",
            help="Colour: auto (a terminal, unless NO_COLOR; FORCE_COLOR forces it), always,"
            " never.",
        ),
    ] = "auto",
    traceback: Annotated[
        bool,
        typer.Option(
            "--traceback", help="Show a Python traceback on errors (debugging); same exit code."
        ),
    ] = False,
) -> None:
    """Provision and test Kaleyra as a CleverTap Generic (Other) WhatsApp/SMS provider."""


def _global_options(args: list[str]) -> tuple[list[str], bool, str]:
    """``args`` without --traceback and --color, which kctl takes anywhere on the line (click
    would take them only before the command); what they said. ``--`` ends the options."""
    rest: list[str] = []
    traceback_on, color = False, "auto"
    i = 0
    while i < len(args):
        arg = args[i]
        if arg == "--":
            rest += args[i:]
            break
        if arg == "--traceback":
            traceback_on = True
        elif arg == "--color" or arg.startswith("--color="):
            if arg == "--color":
                if i + 1 >= len(args):
                    raise UsageError("--color needs a value: auto, always or never")
                i += 1
                color = args[i]
            else:
                color = arg.partition("=")[2]
            if color not in COLOR_CHOICES:
                raise UsageError(
                    f"--color {color!r}: choose auto, always or never",
                    "NO_COLOR=1 or FORCE_COLOR=1 in the environment work too",
                )
        else:
            rest.append(arg)
        i += 1
    return rest, traceback_on, color


def _usage_error(e: "typer._click.exceptions.UsageError") -> UsageError:
    """click's usage errors in kctl's words, with the help to read as the hint."""
    from typer._click import exceptions as ce

    ctx = e.ctx
    where = ctx.command_path if ctx is not None else "kctl"
    hint = f"{where} --help"
    message = e.message.rstrip(".")
    match e:
        case ce.NoSuchOption():
            message = f"unknown option {e.option_name}"
            if e.possibilities:
                hint = "did you mean " + " or ".join(sorted(e.possibilities)) + "?"
        case ce.MissingParameter() if e.param is not None:
            param = e.param
            if param.param_type_name == "argument":
                message = f"missing {param.human_readable_name}"
            else:
                message = f"missing option {' / '.join(param.opts)}"
        case ce.BadParameter() if e.param is not None:
            names = " / ".join(e.param.opts) if e.param.param_type_name == "option" else None
            what = names or e.param.human_readable_name
            message = f"invalid value for {what}: {message}"
        case _:
            message = message[:1].lower() + message[1:]
    return UsageError(message, hint)


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: the only place that catches errors, prints one line and picks the exit code."""
    from typer._click import exceptions as click_errors

    raw = sys.argv[1:] if argv is None else list(argv)
    if COMPLETE_VAR in os.environ:  # a shell asking for completions (see completions/)
        from typer._completion_classes import completion_init

        completion_init()
    as_json = wants_json(raw)
    show_traceback = "--traceback" in raw
    try:
        args, show_traceback, color = _global_options(raw)
    except UsageError as e:
        fail(e, as_json=as_json)
    set_color(color)
    command = lazy_group(app)
    try:
        with signals_raise_interrupted():
            result = command.main(args=args, prog_name="kctl", standalone_mode=False)
    except (KctlError, Interrupted) as e:
        if show_traceback:
            print_traceback()
        fail(e, as_json=as_json)
    except (typer.Abort, KeyboardInterrupt):
        interrupted()
    except click_errors.NoArgsIsHelpError as e:
        # a bare `kctl` or `kctl secrets`: the help is the answer, on stderr as a usage error
        sys.stderr.write(e.ctx.get_help() + "\n")
        sys.exit(UsageError.exit_code)
    except click_errors.UsageError as e:  # bad option, missing argument: kctl's words
        if show_traceback:
            print_traceback()
        fail(_usage_error(e), as_json=as_json)
    except click_errors.ClickException as e:
        fail(UsageError(e.format_message()), as_json=as_json)
    except BrokenPipeError:
        broken_pipe()
    except Exception as e:
        internal_error(e, show_traceback=show_traceback)
    sys.exit(result if isinstance(result, int) else 0)
