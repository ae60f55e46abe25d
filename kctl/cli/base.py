"""What every command module shares: the typer app, output helpers and common options.

The commands live in one module per group (check, send, servers, setup, secrets, templates);
app.py mounts them and holds the entry point. No ``from __future__ import annotations``: typer
would then eval() every option's annotation string at start-up.
"""

import os
import sys
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(
    name="kctl",
    help="Provision and test Kaleyra as a CleverTap Generic (Other) WhatsApp/SMS provider.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)

COMPLETE_VAR = "_KCTL_COMPLETE"


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


ConfigOption = Annotated[
    str, typer.Option("--config", "-c", help="Provider config file (YAML).", show_default=False)
]
ProviderOption = Annotated[
    str | None,
    typer.Option("--provider", "-p", help="Provider nickname (default: the only/default one)."),
]
ShowSecrets = Annotated[
    bool, typer.Option("--show-secrets", help="Print secret values instead of ****last4.")
]


PortOption = Annotated[
    int, typer.Option("--port", help="Loopback port (0: any free port).", min=0, max=65535)
]


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns
