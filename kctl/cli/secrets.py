"""``kctl secrets set|get|delete``: the OS keyring, service 'kctl'.

Like app.py: no ``from __future__ import annotations`` (typer reads the annotations at start-up)
and nothing heavier than typer at import time.
"""

import sys
from typing import Annotated

import typer

from kctl.cli.base import ShowSecrets, stderr
from kctl.errors import UsageError

secrets_app = typer.Typer(
    help="Store, show (masked) and delete secrets in the OS keyring (service 'kctl').",
    no_args_is_help=True,
)


@secrets_app.command("set")
def secrets_set(
    name: Annotated[str, typer.Argument(help="Entry name, as in ${keyring:NAME}.")],
) -> None:
    """Store a secret, typed at a hidden prompt or piped on stdin (never on the command line)."""
    from kctl.secrets import store_secret

    if sys.stdin.isatty():
        value = typer.prompt(f"Value for {name}", hide_input=True, confirmation_prompt=True)
    else:
        raw = sys.stdin.buffer.read(64 * 1024 + 1)
        if len(raw) > 64 * 1024:
            raise UsageError("the value on stdin is longer than 64 KiB; not a secret")
        try:
            value = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise UsageError("the value on stdin is not UTF-8 text") from e
        if not value or any(c in value for c in "\r\n\x00"):
            raise UsageError("a secret is one non-empty line of text")
    store_secret(name, value)
    stderr(f"stored '{name}' in the keyring (service 'kctl'); use it as ${{keyring:{name}}}")


@secrets_app.command("get")
def secrets_get(
    name: Annotated[str, typer.Argument(help="Entry name.")], show_secrets: ShowSecrets = False
) -> None:
    """Print a secret, masked unless --show-secrets."""
    from kctl.secrets import load_secret, mask

    value = load_secret(name)
    sys.stdout.write((value if show_secrets else mask(value)) + "\n")


@secrets_app.command("delete")
def secrets_delete(name: Annotated[str, typer.Argument(help="Entry name.")]) -> None:
    """Delete a secret from the keyring."""
    from kctl.secrets import delete_secret

    delete_secret(name)
    stderr(f"deleted '{name}' from the keyring")
