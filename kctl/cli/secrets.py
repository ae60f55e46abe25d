"""``kctl secrets set|get|delete|list``: the OS keyring, service 'kctl'.

Like app.py: no ``from __future__ import annotations`` (typer reads the annotations at start-up)
and nothing heavier than typer at import time.
"""

import sys

import typer

from kctl.cli.base import JsonFlag, OptionalConfig, SecretName, ShowSecrets, YesFlag, command, group
from kctl.cli.exits import stderr as say
from kctl.errors import UsageError

secrets_app = group(
    "Keep api keys and passwords in the OS keyring (service 'kctl'), for ${keyring:NAME}.",
    """
    kctl secrets set kaleyra/api-key
    kctl secrets list --config configs/account.yaml
    """,
)


def confirm(question: str, *, yes: bool, refusal: str, hint: str) -> None:
    """Go on when --yes, or when the user says so at a terminal; else refuse (exit 2)."""
    if yes:
        return
    if not sys.stdin.isatty():
        raise UsageError(refusal, hint)
    if not typer.confirm(question, default=False, err=True):
        raise UsageError(refusal, "nothing was changed")


def _plaintext_warning(yes: bool, interactive: bool) -> None:
    from kctl.secrets import ENV_INSTEAD, backend_name, keyring_backend, plaintext_store

    backend = keyring_backend()
    where = plaintext_store(backend)
    if where is None:
        return
    say(
        f"kctl: warning: the keyring backend {backend_name(backend)} keeps secrets in plain"
        f" text (base64 is no encryption): {where}"
    )
    if yes:
        return
    if not interactive:
        raise UsageError(
            "not storing a secret in a plain-text keyring without --yes", f"{ENV_INSTEAD}"
        )
    if not typer.confirm("Store it there anyway?", default=False, err=True):
        raise UsageError("not stored", ENV_INSTEAD)


@command(
    secrets_app,
    "set",
    example="""
    kctl secrets set kaleyra/api-key
    printf %s "$KEY" | kctl secrets set kaleyra/api-key --yes
    """,
)
def secrets_set(name: SecretName, yes: YesFlag = False) -> None:
    """Store a secret, typed at a hidden prompt or piped on stdin (never on the command line).

    Asks before replacing an entry, and before writing to a keyring backend that keeps
    secrets in plain text; --yes answers both for scripts.
    """
    from kctl.secrets import secret_exists, store_secret

    interactive = sys.stdin.isatty()
    _plaintext_warning(yes, interactive)
    if secret_exists(name):
        if not yes and not interactive:
            raise UsageError(
                f"keyring entry {name} exists; not replacing it without --yes",
                f"kctl secrets set {name} --yes replaces it",
            )
        if not yes and not typer.confirm(f"Replace the existing entry {name}?", err=True):
            raise UsageError(f"kept the existing entry {name}", "nothing was changed")
    if interactive:
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
    say(f"stored '{name}' in the keyring (service 'kctl'); use it as ${{keyring:{name}}}")


@command(
    secrets_app,
    "get",
    example="""
    kctl secrets get kaleyra/api-key
    """,
)
def secrets_get(name: SecretName, show_secrets: ShowSecrets = False) -> None:
    """Print a secret, masked unless --show-secrets."""
    from kctl.secrets import load_secret, mask

    value = load_secret(name)
    sys.stdout.write((value if show_secrets else mask(value)) + "\n")


@command(
    secrets_app,
    "delete",
    example="""
    kctl secrets delete kaleyra/old-key --yes
    """,
)
def secrets_delete(name: SecretName, yes: YesFlag = False) -> None:
    """Delete a secret from the keyring, after asking (--yes for scripts)."""
    from kctl.secrets import delete_secret, secret_exists

    if secret_exists(name):
        confirm(
            f"Delete the keyring entry {name}?",
            yes=yes,
            refusal=f"not deleting {name} without --yes",
            hint=f"kctl secrets delete {name} --yes",
        )
    delete_secret(name)  # a missing entry is its error (exit 2)
    say(f"deleted '{name}' from the keyring")


@command(
    secrets_app,
    "list",
    example="""
    kctl secrets list
    kctl secrets list --config configs/account.yaml --json
    """,
)
def secrets_list(config: OptionalConfig = None, as_json: JsonFlag = False) -> None:
    """List the entries kctl stored (names only, never values), and with --config every
    secret reference the config makes and whether it resolves on this machine."""
    import json

    from kctl.doctor.config import secret_listing

    entries = secret_listing(config)
    if as_json:
        doc = {"version": 1, "secrets": [e.to_json() for e in entries], "exit_code": 0}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    if not entries:
        say(
            "kctl: no entries stored by kctl in the keyring"
            + ("" if config else "; --config F shows a config's references")
        )
        return
    width = max(len(e.reference) for e in entries)
    for e in entries:
        sys.stdout.write(
            f"{e.reference:<{width}}  {e.state}" + (f"  ({e.used_by})" if e.used_by else "") + "\n"
        )
