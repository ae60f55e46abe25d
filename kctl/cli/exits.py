"""How a command ends when it goes wrong: one line (and a hint) on stderr, an exit code.

Shared by the typer app's entry point (``kctl.cli.app.main``) and the fast lane's send-test
(``kctl.cli.fast``), so both end an error, a signal or a closed pipe in the same words. Imports
nothing heavier than the standard library: the fast lane must not pay for typer.
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys

from kctl.errors import Interrupted, KctlError

TYPE_CHECKING = False  # not typing's: the fast lane would pay for importing it
if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path
    from typing import Any, NoReturn


def stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def write_output(text: str, output_file: Path | None) -> None:
    """Machine output goes to stdout, or atomically to ``output_file``."""
    if output_file is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from kctl.files import write_atomic

    write_atomic(output_file, text)


_FORMAT_FLAGS = ("--format", "-f")


def wants_json(args: list[str]) -> bool:
    """Whether the command line asks for a JSON document (--json, or --format/-f json), so an
    error is one too."""
    for i, arg in enumerate(args):
        if arg == "--":
            break
        # click takes a choice in any case (--format=JSON), and so does this
        if arg == "--json" or arg.lower() in ("--format=json", "-fjson"):
            return True
        if arg in _FORMAT_FLAGS and i + 1 < len(args) and args[i + 1].lower() == "json":
            return True
    return False


def fail(error: KctlError | Interrupted, *, as_json: bool = False) -> NoReturn:
    """Report ``error`` (its findings first, if it has a report) and exit with its code."""
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
        from kctl.render.term import wants_color

        sys.stderr.write(render_report(report, "text", color=wants_color(sys.stderr)))
    interrupted = isinstance(error, Interrupted)  # not an error: what the user asked for
    stderr(f"kctl: {error.message}" if interrupted else f"kctl: error: {error.message}")
    if error.hint:
        stderr(f"  hint: {error.hint}")
    sys.exit(error.exit_code)


def interrupted() -> NoReturn:
    """Ctrl-C that reached the entry point as KeyboardInterrupt (or click's Abort)."""
    stderr("kctl: interrupted")
    sys.exit(130)


def broken_pipe() -> NoReturn:
    """The reader went away (e.g. ``| head``): nothing left to say to it."""
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(1)


def internal_error(e: Exception, *, show_traceback: bool = False) -> NoReturn:
    """A bug: its name and a hint, exit 70 (EX_SOFTWARE)."""
    if show_traceback:
        print_traceback()
    stderr(f"kctl: internal error: {type(e).__name__}: {e}")
    stderr("  hint: run again with --traceback and report it")
    sys.exit(70)


def print_traceback() -> None:
    # --traceback shows where it went wrong, then exits as it would have without it
    import traceback

    traceback.print_exc(file=sys.stderr)


@contextlib.contextmanager
def signals_raise_interrupted() -> Iterator[None]:
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
