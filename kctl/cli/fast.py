"""The entry point's fast lane: answers that need no typer, given without importing it.

Importing typer (and the click it carries) and building kctl's eleven commands costs more than
the rest of ``kctl --help`` or of rendering a callback URL from flags: about 60 ms against an
argparse program's 25 (bench/compare.py). So before typer is imported, ``main`` looks for the
few command lines it can answer exactly:

* ``kctl --version``;
* ``kctl [COMMAND...] --help``: the page typer prints, generated from the typer app into
  ``help_pages.py`` (``python -m kctl.cli.fast`` rewrites it; a test checks it is current) and
  used only while the sources it was made from are unchanged and the terminal is as wide
  as the page (80 columns, or no terminal at all);
* ``kctl render-callback-url`` with the URL flags only: the same core call the typer command
  makes, printed the same way;
* ``kctl validate-config PATH...`` with CI's usual options (``VALIDATE_VALUES``,
  ``VALIDATE_LISTS``, ``VALIDATE_FLAGS``): it calls ``kctl.cli.validateconfig.validate_config``
  as the typer command does, only while the help pages are current, that is while kctl/cli is
  as it was when they were generated, so a changed command body is never skipped over (a test
  runs both lanes over every case file), and ends its errors as the typer app does;
* ``kctl send-test`` with the usual options only (``SEND_VALUES``, ``SEND_LISTS``,
  ``SEND_FLAGS``: strings and flags, nothing click converts), under the same condition: it calls
  ``kctl.cli.sendtest.send_test`` as the typer command does, and ends every error as
  ``kctl.cli.app.main`` does (``kctl.cli.exits``), since a send cannot be handed over half done.

Everything else, and a --help page or a callback URL that goes wrong (a usage error, a bad
URL), runs through the typer app in ``kctl.cli.app`` from the start, so usage errors,
completion and tests stay typer's.
"""

from __future__ import annotations

import os
import sys

TYPE_CHECKING = False  # not typing's: importing typing would cost --help a few ms
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

COMPLETE_VAR = "_KCTL_COMPLETE"
PAGE_WIDTH = 80  # click's widest help: shutil columns capped at 80
# set once a lane has begun a command: whatever happens next, typer must not run it again
_lane = {"started": False}


def main(argv: Sequence[str] | None = None) -> NoReturn:
    args = list(sys.argv[1:] if argv is None else argv)
    _lane["started"] = False  # main may run more than once in a process (tests, embedding)
    if COMPLETE_VAR not in os.environ:
        try:
            answered = answer(args)
        except Exception:
            if _lane["started"]:  # a command the lane began never runs twice (a send, stdin)
                raise
            answered = None  # a bug before anything ran: typer's path reports it, as any
        except KeyboardInterrupt:
            sys.stderr.write("kctl: interrupted\n")
            sys.exit(130)
        if answered is not None:
            text, code = answered
            _write(text)
            sys.exit(code)
    from kctl.cli.app import main as typer_main

    typer_main(args)


def answer(args: list[str]) -> tuple[str, int] | None:
    """What to print for ``args`` and the exit code, when that needs no typer; None sends them
    to typer."""
    text: str | None = None
    if args == ["--version"]:
        from kctl import __version__

        text = f"kctl {__version__}\n"
    elif args and args[-1] == "--help":
        text = help_page(tuple(args[:-1]))
    elif args[:1] == ["render-callback-url"]:
        text = render_callback_url(args[1:])
    elif args[:1] == ["validate-config"]:
        validate_config(args[1:])  # exits, unless the typer app is to run it
    elif args[:1] == ["send-test"]:
        send_test(args[1:])  # exits, unless the typer app is to run it
    return None if text is None else (text, 0)


# --- help pages --------------------------------------------------------------------------------


def help_page(command: tuple[str, ...]) -> str | None:
    # kctl's help uses the whole terminal width: a page made at 80 columns is that page only
    # at 80 (and where there is no terminal, which click lays out at 80 too)
    if _terminal_columns() != PAGE_WIDTH or not pages_current():
        return None
    from kctl.cli import help_pages

    return help_pages.PAGES.get(command)


def pages_current() -> bool:
    """Whether help_pages.py was generated from the sources as they are."""
    try:
        from kctl.cli import help_pages
    except ImportError:  # not generated in this checkout
        return False
    return sources_digest() == help_pages.DIGEST


def _terminal_columns() -> int:
    """shutil.get_terminal_size().columns, which click reads, without importing shutil."""
    try:
        columns = int(os.environ["COLUMNS"])
    except (KeyError, ValueError):
        columns = 0
    if columns <= 0:
        try:
            columns = os.get_terminal_size(sys.__stdout__.fileno()).columns  # type: ignore[union-attr]
        except (AttributeError, ValueError, OSError):
            columns = 0
    return columns or PAGE_WIDTH


def _page_sources() -> list[str]:
    """The files a help page is made from: kctl's commands and the contract their choices come
    from, and typer's own ``__init__`` (its version) as typer lays the page out."""
    here = os.path.dirname(os.path.abspath(__file__))
    package = os.path.dirname(here)
    names = [os.path.join(here, n) for n in sorted(os.listdir(here)) if n.endswith(".py")]
    contract = os.path.join(package, "contract")
    names += [os.path.join(contract, n) for n in sorted(os.listdir(contract)) if n.endswith(".py")]
    names.append(os.path.join(package, "__init__.py"))
    # where `import typer` would find it (importlib.util.find_spec costs --help 5 ms); a typer
    # found nowhere leaves the digest without it, so the pages are not used
    for entry in sys.path:
        typer = os.path.join(entry or ".", "typer", "__init__.py")
        if os.path.isfile(typer):
            names.append(typer)
            break
    return [n for n in names if os.path.basename(n) != "help_pages.py"]


def sources_digest() -> int:
    """A checksum of the page sources: a page made from other sources is never shown."""
    from binascii import (
        crc32,
    )  # zlib's crc32, from the module base64 imports: a send needs it anyway

    digest = 0
    for name in _page_sources():
        with open(name, "rb") as fh:
            digest = crc32(fh.read(), crc32(os.path.basename(name).encode(), digest))
    return digest


def generate_pages() -> dict[tuple[str, ...], str]:
    """Every command's --help as the typer app prints it on an 80-column terminal."""
    import contextlib
    import io

    import typer

    from kctl.cli.app import app

    root = typer.main.get_command(app)
    pages: dict[tuple[str, ...], str] = {}

    def visit(path: tuple[str, ...], command: object) -> None:
        out = io.StringIO()
        saved = os.environ.get("COLUMNS")
        os.environ["COLUMNS"] = str(PAGE_WIDTH)
        try:
            with contextlib.redirect_stdout(out), contextlib.suppress(SystemExit):
                root.main(args=[*path, "--help"], prog_name="kctl", standalone_mode=False)
        finally:
            if saved is None:
                del os.environ["COLUMNS"]
            else:
                os.environ["COLUMNS"] = saved
        pages[path] = out.getvalue()
        for name, sub in sorted(getattr(command, "commands", {}).items()):
            if not getattr(sub, "hidden", False):
                visit((*path, name), sub)

    visit((), root)
    return pages


def write_pages(path: str | None = None) -> str:
    target = path or os.path.join(os.path.dirname(os.path.abspath(__file__)), "help_pages.py")
    lines = [
        '"""Generated by ``python -m kctl.cli.fast``: every --help page, for kctl.cli.fast."""',
        "",
        f"DIGEST = {sources_digest()}",
        "PAGES: dict[tuple[str, ...], str] = {",
    ]
    lines += [f"    {key!r}: {page!r}," for key, page in generate_pages().items()]
    lines += ["}", ""]
    with open(target, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines))
    return target


# --- render-callback-url from flags ------------------------------------------------------------

_RENDER_VALUES = {
    "--incoming-url": "incoming_url",
    "--inbound-callback-url": "inbound_callback_url",
    "--payload-version": "payload_version",
}


def render_callback_url(args: list[str]) -> str | None:
    """The typer command's output for flag-only arguments (no --config), else None."""
    given: dict[str, str] = {}
    as_json = False
    rest = iter(args)
    for arg in rest:
        flag, equals, value = arg.partition("=")
        if arg == "--json" and not as_json:
            as_json = True
            continue
        name = _RENDER_VALUES.get(flag)
        if name is None or name in given:
            return None
        if not equals:
            value = next(rest, "-")
            if value.startswith("-"):  # missing, or an option: typer says what it makes of it
                return None
        given[name] = value
    # kctl.config.incoming.callback_url_for's branch for flags, its success only (anything it
    # refuses goes to typer, which reports it): that module's imports (the config model's
    # contract, secrets) would double this command's time
    from kctl.contract.numbers import DEFAULT_PAYLOAD_VERSION, is_payload_version
    from kctl.errors import KctlError
    from kctl.urls import render_incoming_url

    base, inbound = given.get("incoming_url"), given.get("inbound_callback_url")
    version = given.get("payload_version")
    if not base or not inbound or (version is not None and not is_payload_version(version)):
        return None
    try:
        rendered = render_incoming_url(base, inbound, version or DEFAULT_PAYLOAD_VERSION)
    except KctlError:
        return None
    result = {
        "provider": None,
        "channel": "whatsapp",  # Channel.WHATSAPP; tests/test_fast_cli.py compares the JSON
        "url": rendered.url,
        "base": rendered.base,
        "inbound_message_callback_url": rendered.inbound_callback_url,
        "payload_version": rendered.payload_version,
    }
    if as_json:
        import json

        return json.dumps(result, indent=2) + "\n"
    return str(result["url"]) + "\n"


# --- the command lanes: validate-config and send-test, their usual calls -----------------------

# The options each lane takes, by their names in the typer-free function it calls (strings as
# given, lists of them, flags); tests/test_fast_cli.py and test_fast_send.py check each against
# the typer command's own declaration.
VALIDATE_VALUES = {
    "--format": "fmt",
    "-f": "fmt",
    "--output-file": "output_file",
    "-o": "output_file",
    "--dlt-registry": "dlt_registry",
}
VALIDATE_LISTS = {"--select": "select", "--ignore": "ignore"}
VALIDATE_FLAGS = {"--strict": "strict"}

SEND_VALUES = {
    "--config": "config",
    "-c": "config",
    "--to": "to",
    "--provider": "provider",
    "-p": "provider",
    "--template": "template",
    "-t": "template",
    "--lang": "lang",
    "--body": "body",
    "--sender": "sender",
    "--type": "message_type",
}
SEND_LISTS = {"--param": "param", "--var": "var"}
SEND_FLAGS = {
    "--json": "as_json",
    "--dry-run": "dry_run",
    "--curl": "curl",
    "--force": "force",
    "--verbose": "verbose",
    "-v": "verbose",
}


def _read_options(
    args: list[str],
    values: dict[str, str],
    lists: dict[str, str],
    flags: dict[str, str],
    paths: list[str] | None = None,
) -> dict[str, Any] | None:
    """``args`` as keyword arguments, when made only of these options, each given once (lists
    repeat), and of paths when ``paths`` collects them; None for anything else, typer's to
    read: another option, "--", an attached short value (-cFILE), a value that looks like an
    option (click would take it as one and say what is missing)."""
    given: dict[str, Any] = {}
    rest = iter(args)
    for arg in rest:
        if paths is not None and (arg == "-" or not arg.startswith("-")):
            paths.append(arg)
            continue
        flag, equals, value = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if flag in flags and not equals:
            if flags[flag] in given:
                return None
            given[flags[flag]] = True
            continue
        name = values.get(flag) or lists.get(flag)
        if name is None:
            return None
        if not equals:
            value = next(rest, "-")
            if value.startswith("-"):
                return None
        if flag in lists:
            given.setdefault(name, []).append(value)
        elif name in given:
            return None
        else:
            given[name] = value
    return given


def validate_config_options(args: list[str]) -> dict[str, Any] | None:
    """The arguments of ``kctl.cli.validateconfig.validate_config`` for paths and the lane's
    options, else None."""
    paths: list[str] = []
    given = _read_options(args, VALIDATE_VALUES, VALIDATE_LISTS, VALIDATE_FLAGS, paths)
    if given is None or not paths:
        return None  # typer reports a missing path
    if "fmt" in given:
        from kctl.render.findings import FORMATS

        given["fmt"] = given["fmt"].lower()  # click compares choices without case, as typer
        if given["fmt"] not in FORMATS:
            return None  # typer lists the choices
    if "output_file" in given:
        from pathlib import Path  # only here: pathlib costs the usual call 7 ms

        given["output_file"] = Path(given["output_file"])
    return {"paths": paths, **given}


def send_test_options(args: list[str]) -> dict[str, Any] | None:
    """The arguments of ``kctl.cli.sendtest.send_test`` for the lane's options, else None."""
    given = _read_options(args, SEND_VALUES, SEND_LISTS, SEND_FLAGS)
    if given is None or "config" not in given or "to" not in given:
        return None  # typer reports the missing option
    return given


def validate_config(args: list[str]) -> None:
    """Run validate-config as the typer command does, and exit; return (having read and
    printed nothing) when the command line is not one the lane takes, or kctl/cli changed."""
    options = validate_config_options(args)
    if options is not None and pages_current():
        from kctl.cli.validateconfig import validate_config as run

        # stdin, once read, could not be read again by typer's path
        _run_to_the_end(run, options, args)


def send_test(args: list[str]) -> None:
    """Run send-test as the typer command does, and exit; return (having printed and sent
    nothing) when the command line is not one the lane takes, or kctl/cli has changed."""
    options = send_test_options(args)
    if options is not None and pages_current():
        from kctl.cli.sendtest import send_test as run

        # handing a failure to typer could send the message twice
        _run_to_the_end(run, options, args)


def _run_to_the_end(run: Callable[..., int], options: dict[str, Any], args: list[str]) -> NoReturn:
    """Call ``run`` and exit with its code, ending every failure as kctl.cli.app.main does:
    once a lane has started a command, it never hands it to typer."""
    from kctl.cli import exits
    from kctl.errors import Interrupted, KctlError

    _lane["started"] = True
    try:
        with exits.signals_raise_interrupted():
            code = run(**options)
    except (KctlError, Interrupted) as e:
        exits.fail(e, as_json=exits.wants_json(args))  # as the typer app decides it
    except KeyboardInterrupt:
        exits.interrupted()
    except BrokenPipeError:
        exits.broken_pipe()
    except Exception as e:
        exits.internal_error(e)
    sys.exit(code)


def _write(text: str) -> None:
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        from kctl.cli.exits import broken_pipe  # only then: --help need not import it

        broken_pipe()


if __name__ == "__main__":
    print(f"wrote {write_pages()}")
