"""Shell completion of values only the user's files know: provider nicknames and template
names (from the --config given earlier on the line) and keyring entry names.

A completion runs on every Tab: anything that goes wrong (no config yet, a broken one, no
keyring) completes nothing rather than printing an error into the shell's prompt. Like the
other cli modules: no ``from __future__ import annotations`` (typer reads the annotations to
find the context parameter).
"""

from typing import Any

import typer


def _config_providers(ctx: typer.Context) -> list[Any]:
    config = ctx.params.get("config")
    if not isinstance(config, str):
        return []
    from kctl.config.model import load_account
    from kctl.errors import KctlError

    try:
        return list(load_account(config).providers)
    except (KctlError, OSError):
        return []


def complete_provider(ctx: typer.Context, incomplete: str) -> list[str]:
    return [p.nickname for p in _config_providers(ctx) if p.nickname.startswith(incomplete)]


def complete_template(ctx: typer.Context, incomplete: str) -> list[str]:
    chosen = ctx.params.get("provider")
    names: list[str] = []
    for p in _config_providers(ctx):
        if chosen in (None, p.nickname):
            names += [t.name for t in p.templates if t.name not in names]
    return [n for n in names if n.startswith(incomplete)]


def complete_secret(incomplete: str) -> list[str]:
    from kctl.errors import KctlError
    from kctl.secrets import stored_names

    try:
        return [n for n in stored_names() if n.startswith(incomplete)]
    except KctlError:
        return []
