"""The entry point: mounts each group's commands and is the only place that catches errors.

The commands live in one module per group (``check``, ``send``, ``servers``, ``setup``,
``secrets``, ``templates``); each turns options into one call of core code and picks a renderer.
Imports of yaml, httpx, keyring and the rules happen inside the commands that need them, so
``kctl --help`` and ``render-callback-url`` start as fast as a bare typer app. No
``from __future__ import annotations`` here: typer would then eval() every option's annotation
string at start-up (about 16 ms for this app).
"""

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from typing import Annotated, Any, NoReturn

import typer

from kctl import __version__

# each module registers its commands on the app as it is imported
from kctl.cli import check, send, servers, setup  # noqa: F401
from kctl.cli.base import app, command, stderr, write_output
from kctl.cli.fast import COMPLETE_VAR
from kctl.cli.help import SET_UP, TEST
from kctl.cli.lazy import lazy_group
from kctl.cli.preview import preview
from kctl.cli.secrets import secrets_app
from kctl.cli.templates import templates_app
from kctl.errors import Interrupted, KctlError, UsageError
from kctl.render.term import set_color, wants_color

__all__ = ["COMPLETE_VAR", "app", "main", "stderr", "wants_color", "write_output"]

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


def _fail(error: KctlError | Interrupted, *, as_json: bool = False) -> NoReturn:
    report = getattr(error, "report", None)
    if as_json:  # --json promises one document on stdout, failures included
        import json

        doc: dict[str, object] = {
            "version": 1,
            "error": {"kind": type(error).__name__, "message": error.message, "hint": error.hint},
            "exit_code": error.exit_code,
        }
        if report is not None:
            from kctl.render.findings import findings_data

            doc["findings"] = findings_data(report)
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    if report is not None:  # a config with errors: show its findings first
        from kctl.render.findings import render_report

        sys.stderr.write(render_report(report, "text", color=wants_color(sys.stderr)))
    interrupted = isinstance(error, Interrupted)  # not an error: what the user asked for
    stderr(f"kctl: {error.message}" if interrupted else f"kctl: error: {error.message}")
    if error.hint:
        stderr(f"  hint: {error.hint}")
    sys.exit(error.exit_code)


@contextlib.contextmanager
def _signals_raise_interrupted() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted in the main thread while a command runs.

    SIGTERM would otherwise kill the process on the spot (no JUnit file, servers not shut
    down, temp files left), and SIGINT's KeyboardInterrupt is turned by typer into a silent
    exit 130. The servers put their own handlers in place while they serve, and ours back.
    A signal the process was started with ignored stays ignored (``nohup``, or ``&`` in a
    shell script), as Python itself leaves SIGINT then.
    """
    previous: dict[signal.Signals, Any] = {}

    def interrupt(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                previous[signum] = signal.signal(signum, interrupt)
    except ValueError:  # not the main thread (an embedding program): leave signals alone
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


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


_FORMAT_FLAGS = ("--format", "-f")


def _wants_json(args: list[str]) -> bool:
    """Whether the command line asks for a JSON document (--json, or --format/-f json), so an
    error is one too."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        if arg == "--json" or arg in ("--format=json", "-fjson"):
            return True
        if arg in _FORMAT_FLAGS and i + 1 < len(args) and args[i + 1].lower() == "json":
            return True
    return False


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
    as_json = _wants_json(raw)
    show_traceback = "--traceback" in raw
    try:
        args, show_traceback, color = _global_options(raw)
    except UsageError as e:
        _fail(e, as_json=as_json)
    set_color(color)
    command = lazy_group(app)
    try:
        with _signals_raise_interrupted():
            result = command.main(args=args, prog_name="kctl", standalone_mode=False)
    except (KctlError, Interrupted) as e:
        if show_traceback:
            _print_traceback()
        _fail(e, as_json=as_json)
    except typer.Abort:
        stderr("kctl: interrupted")
        sys.exit(130)
    except click_errors.NoArgsIsHelpError as e:
        # a bare `kctl` or `kctl secrets`: the help is the answer, on stderr as a usage error
        sys.stderr.write(e.ctx.get_help() + "\n")
        sys.exit(UsageError.exit_code)
    except click_errors.UsageError as e:  # bad option, missing argument: kctl's words
        if show_traceback:
            _print_traceback()
        _fail(_usage_error(e), as_json=as_json)
    except click_errors.ClickException as e:
        _fail(UsageError(e.format_message()), as_json=as_json)
    except KeyboardInterrupt:
        stderr("kctl: interrupted")
        sys.exit(130)
    except BrokenPipeError:
        # the reader went away (e.g. `| head`); nothing left to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as e:
        if show_traceback:
            _print_traceback()
        stderr(f"kctl: internal error: {type(e).__name__}: {e}")
        stderr("  hint: run again with --traceback and report it")
        sys.exit(70)
    sys.exit(result if isinstance(result, int) else 0)


def _print_traceback() -> None:
    # --traceback shows where it went wrong, then exits as it would have without it
    import traceback

    traceback.print_exc(file=sys.stderr)
