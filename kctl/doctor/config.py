"""The config: whether it loads, and where each of its secret references resolves from."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kctl.doctor.check import Check
from kctl.errors import KctlError, SecretUnavailable
from kctl.secrets import SERVICE, Reference, mask, parse_reference, resolve_secret

if TYPE_CHECKING:
    from kctl.config.model import Account


def uses_keyring(account: Account) -> bool:
    return any(ref.kind == "keyring" for *_, ref in _references(account))


def load_config(config: str | None) -> tuple[Account | None, list[Check]]:
    if config is None:
        return None, []
    from kctl.config.model import load_account

    try:
        account = load_account(config)
    except KctlError as e:
        return None, [Check("config", "fail", e.message, e.hint, e.exit_code)]
    described = ", ".join(f"{p.nickname} ({p.channel})" for p in account.providers)
    count = len(account.providers)
    return account, [
        Check("config", "ok", f"{account.file}: {count} provider(s): {described or 'none'}")
    ]


def _secret_fields(account: Account) -> Iterator[tuple[str, str, str, bool]]:
    """(provider, field, value, is a secret when literal) for every value that may be one."""
    from kctl.config.model import SmsProvider
    from kctl.contract.channels import SECRET_HEADERS

    for p in account.providers:
        for key, value in p.headers:
            yield p.nickname, f"headers.{key}", value, key.lower() in SECRET_HEADERS
        if isinstance(p, SmsProvider) and p.username is not None:
            yield p.nickname, "auth.username", p.username, False
        if isinstance(p, SmsProvider) and p.password is not None:
            yield p.nickname, "auth.password", p.password, True


def _references(account: Account) -> Iterator[tuple[str, str, str, Reference]]:
    for nickname, where, value, _ in _secret_fields(account):
        ref = parse_reference(value)
        if ref is not None:
            yield nickname, where, value, ref


def secret_checks(account: Account) -> Iterator[Check]:
    for nickname, where, value, is_secret in _secret_fields(account):
        name = f"secret {nickname} {where}"
        ref = parse_reference(value)
        if ref is None:
            if is_secret and value:
                yield Check(
                    name,
                    "warn",
                    f"written in the config as a literal ({mask(value)})",
                    "store it with kctl secrets set NAME and write ${keyring:NAME}, "
                    "or use an ${ENV} reference",
                    secrets=(value,),
                )
            continue
        try:
            resolved = resolve_secret(value)
        except SecretUnavailable as e:
            yield Check(name, "fail", f"{ref}: {e.message}", e.hint, e.exit_code)
            continue
        if ref.kind == "env":
            source = f"environment variable {ref.name} is set"
        else:
            source = f"keyring entry {ref.name} (service {SERVICE}) is present"
        yield Check(name, "ok", f"{ref}: {source}, value {mask(resolved)}", secrets=(resolved,))


@dataclass(frozen=True, slots=True)
class SecretEntry:
    """One row of ``kctl secrets list``: a reference, its state here, who uses it. No value."""

    reference: str
    state: str  # "stored", "set", "missing: ...", "unavailable: ..."
    used_by: str = ""

    def to_json(self) -> dict[str, str]:
        return {"reference": self.reference, "state": self.state, "used_by": self.used_by}


def secret_listing(config: str | None) -> list[SecretEntry]:
    """Entries kctl stored, then the references of ``config`` not among them, each with
    whether it resolves. A config that does not load is the command's error (exit 1 or 2)."""
    from kctl.secrets import stored_names

    users: dict[str, list[str]] = {}
    refs: dict[str, Reference] = {}
    if config is not None:
        from kctl.config.model import load_account

        for nickname, where, _, ref in _references(load_account(config)):
            users.setdefault(str(ref), []).append(f"{nickname} {where}")
            refs[str(ref)] = ref
    try:
        names = stored_names()
        stored_error = None
    except SecretUnavailable as e:
        if config is None:
            raise
        names, stored_error = [], e.message
    rows = [
        SecretEntry(f"${{keyring:{n}}}", "stored", ", ".join(users.pop(f"${{keyring:{n}}}", [])))
        for n in names
    ]
    for shown, used in users.items():
        rows.append(SecretEntry(shown, _state(refs[shown], stored_error), ", ".join(used)))
    return rows


def _state(ref: Reference, keyring_problem: str | None) -> str:
    if ref.kind == "keyring" and keyring_problem is not None:
        return f"unavailable: {keyring_problem}"
    try:
        resolve_secret(str(ref))
    except SecretUnavailable as e:
        return f"missing: {e.message}"
    return "set" if ref.kind == "env" else "stored"
