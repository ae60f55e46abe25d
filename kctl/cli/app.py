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
from kctl.cli.base import COMPLETE_VAR, app, stderr, wants_color, write_output
from kctl.cli.preview import preview
from kctl.cli.secrets import secrets_app
from kctl.cli.templates import templates_app
from kctl.errors import Interrupted, KctlError, UsageError

__all__ = ["COMPLETE_VAR", "app", "main", "stderr", "wants_color", "write_output"]

app.command("preview")(preview)
app.add_typer(secrets_app, name="secrets")
app.add_typer(templates_app, name="templates")


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
        with _signals_raise_interrupted():
            result = command.main(args=args, prog_name="kctl", standalone_mode=False)
    except (KctlError, Interrupted) as e:
        if show_traceback:
            raise
        _fail(e, as_json="--json" in args)
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
