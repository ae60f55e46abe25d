"""Proxy settings: the *_PROXY variables as httpx, and so kctl, reads them, shown masked."""

from __future__ import annotations

import os
from urllib.parse import unquote

from kctl.doctor.check import BAD_SETTING, Check
from kctl.secrets import mask

_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")


def _proxy_variables() -> list[tuple[str, str]]:
    """The *_PROXY variables that are set, in _PROXY_VARIABLES order, upper case first.

    Read from os.environ's own keys, so Windows (where names are case-insensitive) lists each
    once.
    """
    order = {name: i for i, name in enumerate(_PROXY_VARIABLES)}
    found = [(k, v) for k, v in os.environ.items() if k.upper() in order]
    return sorted(found, key=lambda kv: (order[kv[0].upper()], kv[0] != kv[0].upper(), kv[0]))


def shown_proxy(value: str) -> tuple[str, tuple[str, ...]]:
    """A proxy URL fit to print, and the credentials it hid.

    ``user:password@`` keeps the user and masks the password; a user alone (often a token)
    is masked whole. Done on the text, not by a URL parser, so a malformed value is still
    shown, and still masked.
    """
    scheme, sep, rest = value.partition("://")
    if not sep:
        scheme, rest = "", value
    end = min((i for i in (rest.find(c) for c in "/?#") if i >= 0), default=len(rest))
    authority, tail = rest[:end], rest[end:]
    userinfo, at, hostport = authority.rpartition("@")
    if not at or not userinfo:
        return value, ()
    user, colon, password = userinfo.partition(":")
    hidden = password if colon else user
    if not hidden:
        return value, ()
    forms = tuple(dict.fromkeys(f for f in (hidden, unquote(hidden)) if f))
    shown_userinfo = f"{user}:{mask(unquote(hidden))}" if colon else mask(unquote(hidden))
    return f"{scheme}{sep}{shown_userinfo}@{hostport}{tail}", forms


def proxy_checks() -> list[Check]:
    variables = _proxy_variables()
    if not variables:
        return [Check("proxy", "ok", "no *_PROXY variables set: kctl connects directly")]
    checks: list[Check] = []
    hidden: list[str] = []
    present = dict(variables)
    for name, value in variables:
        shown, secrets = (value, ()) if name.upper() == "NO_PROXY" else shown_proxy(value)
        hidden += secrets
        lower = name.lower()
        if not value:
            checks.append(Check(f"proxy {name}", "ok", "set but empty: ignored", None))
        elif name != lower and present.get(lower) and present[lower] != value:
            # urllib, which httpx asks, reads the lower-case name last and lets it win
            checks.append(
                Check(
                    f"proxy {name}",
                    "warn",
                    f"{shown} (not used: {lower} is also set, differently, and wins)",
                    f"unset one of {name} and {lower}",
                    secrets=secrets,
                )
            )
        else:
            checks.append(Check(f"proxy {name}", "ok", shown, secrets=secrets))
    checks.append(_proxy_usable_check(tuple(hidden)))
    return checks


def _proxy_usable_check(secrets: tuple[str, ...]) -> Check:
    """Whether httpx accepts the proxy variables, as send-test will ask it to."""
    try:
        import httpx

        # verify=False: only the proxies are under test here; the CA checks cover the rest
        with httpx.Client(trust_env=True, verify=False):
            pass
    except (ValueError, ImportError, httpx.InvalidURL) as e:
        return Check(
            "proxy settings",
            "fail",
            f"httpx cannot use the proxy variables: {e}",
            "fix or unset HTTPS_PROXY / HTTP_PROXY / ALL_PROXY",
            BAD_SETTING,
            secrets,
        )
    return Check("proxy settings", "ok", "httpx accepts the proxy variables", secrets=secrets)
