"""Proxy settings: the *_PROXY variables as httpx, and so kctl, reads them, shown masked."""

from __future__ import annotations

import os
from urllib.parse import unquote

from kctl.doctor.check import BAD_SETTING, Check
from kctl.secrets import mask
from kctl.send import netenv

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
    """Each *_PROXY variable that is set, and whether httpx uses it; then whether httpx accepts
    the lot. What is "used" comes from ``netenv``, the reading the transport acts on."""
    variables = _proxy_variables()
    in_effect = netenv.environment_proxies()
    if variables:
        checks = [_variable_check(name, value, in_effect) for name, value in variables]
    else:
        # macOS and Windows: with no variables, httpx takes the system's proxy settings
        checks = [
            _system_check(key, in_effect[key]) for key in ("https", "http") if in_effect.get(key)
        ]
        if not checks:
            return [Check("proxy", "ok", "no *_PROXY variables set: kctl connects directly")]
    hidden = tuple(s for c in checks for s in c.secrets)
    checks.append(_proxy_usable_check(hidden))
    return checks


def _system_check(key: str, value: str) -> Check:
    shown, secrets = shown_proxy(value)
    detail = f"{shown} (from {netenv.SYSTEM_SETTINGS}: no *_PROXY variable is set)"
    return Check(f"proxy {key}", "ok", detail, secrets=secrets)


def _variable_check(name: str, value: str, in_effect: dict[str, str]) -> Check:
    key = _key(name)
    shown, secrets = (value, ()) if key == "no" else shown_proxy(value)
    used = in_effect.get(key)
    if value and value == used:
        if key == "no":
            return _no_proxy_check(name, value)
        if netenv.Proxy(value, name).scheme == "https":
            shown += f" (TLS to it trusts {netenv.PROXY_TRUST}, not --ca-bundle)"
        return Check(f"proxy {name}", "ok", shown, secrets=secrets)
    if not value:
        twins = [n for n in _twins(name) if os.environ[n]]
        if name.endswith("_proxy") and twins:
            return Check(f"proxy {name}", "ok", f"set but empty: turns {twins[0]} off")
        return Check(f"proxy {name}", "ok", "set but empty: ignored")
    if used:
        winner = netenv.proxy_variable(key, used)
        why, hint = (
            f"{winner} is also set, differently, and wins",
            f"unset one of {name} and {winner}",
        )
    elif blank := [n for n in _twins(name) if not os.environ[n]]:
        why = f"{blank[0]} is set but empty, and wins"
        hint = f"unset {blank[0]} to use {name}, or unset both for no proxy"
    else:  # urllib drops HTTP_PROXY when REQUEST_METHOD says this is a CGI request
        why = "REQUEST_METHOD is set, and in a CGI environment HTTP_PROXY may come from a request"
        hint = "set http_proxy (lower case) instead"
    return Check(f"proxy {name}", "warn", f"{shown} (not used: {why})", hint, secrets=secrets)


def _no_proxy_check(name: str, value: str) -> Check:
    caveats = [
        f"{entry.strip()} {caveat}"
        for entry in value.split(",")
        if (caveat := netenv.no_proxy_caveat(entry)) is not None
    ]
    if not caveats:
        return Check(f"proxy {name}", "ok", value)
    return Check(
        f"proxy {name}",
        "warn",
        f"{value} ({'; '.join(caveats)})",
        "httpx, and so kctl, matches these entries as noted; rewrite them to bypass the proxy "
        "where meant",
    )


def _key(name: str) -> str:
    """The key urllib files a variable under: "https" for HTTPS_PROXY and https_proxy."""
    return name.lower().removesuffix("_proxy")


def _twins(name: str) -> list[str]:
    """The other spellings of ``name`` that are set (https_proxy for HTTPS_PROXY)."""
    return [n for n in os.environ if n != name and n.lower() == name.lower()]


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
            "fix or unset HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY",
            BAD_SETTING,
            secrets,
        )
    return Check("proxy settings", "ok", "httpx accepts the proxy variables", secrets=secrets)
