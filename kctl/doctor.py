"""``kctl doctor``: what kctl would use on this machine, and whether it works.

Each finding is a ``Check`` value. ``run_doctor`` collects them and never prints; ``render_checks``
turns them into a terminal table or one JSON document. Checks that saw a secret carry it in
``Check.secrets`` (never rendered, never in ``repr``) so that the renderer's ``Masker`` hides it
wherever it might surface: details are written with masked values already, the Masker is the
second line of defence (a keyring or httpx error message quoting a value, say).

What is checked: the Python and package versions; the keyring backend, by a round trip of a
throw-away entry under service ``kctl-doctor`` (real entries under ``kctl`` are only ever read);
proxy and CA settings as httpx, and so kctl, reads them; with a config, where every secret
reference resolves from; and with ``online``, DNS, TCP and TLS for every host the config names.
Network checks use the standard library directly (not httpx) so each stage fails on its own,
with its own message, and within ``timeout``.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import re
import socket
import ssl
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import unquote, urlsplit

from kctl import __version__
from kctl.errors import KctlError, NetworkFailure, SecretUnavailable, UsageError
from kctl.secrets import SERVICE, Masker, Reference, mask, parse_reference, resolve_secret

if TYPE_CHECKING:
    from keyring.backend import KeyringBackend

    from kctl.config.model import Account

Status = Literal["ok", "warn", "fail", "skip"]

DOCTOR_SERVICE = "kctl-doctor"  # the keyring round trip writes only here
JSON_VERSION = 1

# a required package is missing or broken: kctl cannot work, which is no more specific than 1
_BROKEN_INSTALL = 1
_BAD_SETTING = UsageError.exit_code  # what send-test exits with for the same setting
_NO_SECRET = SecretUnavailable.exit_code
_NO_NETWORK = NetworkFailure.exit_code

_DEPENDENCIES = ("typer", "rich", "httpx", "PyYAML", "keyring")
_PROXY_VARIABLES = ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")
_CALLBACK_HEADERS = (
    "inbound-message-callback-url",
    "delivery-report-callback-url",
    "callback_url",
)
_DEFAULT_PORTS = {"http": 80, "https": 443}
_CERT_EXPIRY_WARNING_DAYS = 14

_KEYRING_HINT = (
    "use ${ENV} references (environment variables) instead of ${keyring:NAME}, or choose a "
    "working backend with PYTHON_KEYRING_BACKEND "
    "(e.g. PYTHON_KEYRING_BACKEND=keyrings.alt.file.PlaintextKeyring)"
)
_ONLINE_HINT = "add --online to check DNS, TCP and TLS for these hosts"
_CA_HINT = (
    "if the host uses a private or self-signed CA, set SSL_CERT_FILE to a PEM file with that CA "
    "(send-test also takes --ca-bundle FILE)"
)


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``fail`` carries the exit code SPEC section 3 gives its cause."""

    name: str
    status: Status
    detail: str
    hint: str | None = None
    exit_code: int = 0
    # values this check saw that must never be shown; render_checks masks them everywhere
    secrets: tuple[str, ...] = field(default=(), repr=False, compare=False)


def run_doctor(config: str | None, online: bool, timeout: float = 3.0) -> list[Check]:
    """Every check, in the order a reader wants them: install, environment, config, network.

    ``online`` allows DNS lookups and connections to the hosts the config names (and to the
    proxies that reach them); without it nothing leaves the machine. ``timeout`` bounds each
    lookup, connection and handshake. Raises UsageError only for a bad ``timeout``: every
    other problem is a failed Check.
    """
    if not timeout > 0:
        raise UsageError(f"timeout must be more than 0 seconds, not {timeout:g}")
    account, config_checks = _load_config(config)
    checks = [_python_check(), *_package_checks()]
    checks.append(_keyring_check(None if account is None else _uses_keyring(account)))
    checks += _proxy_checks()
    checks += _ca_checks()
    checks += config_checks
    if account is not None:
        checks += _secret_checks(account)
    checks += _network_checks(account, config, online, timeout)
    return checks


def overall_exit_code(checks: Iterable[Check]) -> int:
    """The highest exit code among ``checks``: 0 when nothing failed."""
    return max((c.exit_code for c in checks), default=0)


# --- install ----------------------------------------------------------------------------------


def _python_check() -> Check:
    return Check(
        "python",
        "ok",
        f"{platform.python_implementation()} {platform.python_version()} on "
        f"{platform.system() or sys.platform} ({sys.executable})",
    )


def _requirements() -> dict[str, str]:
    """kctl's declared requirement per dependency ("httpx" -> ">=0.27"), when installed."""
    from importlib import metadata

    try:
        declared = metadata.requires("kctl") or []
    except metadata.PackageNotFoundError:
        return {}
    found: dict[str, str] = {}
    for line in declared:
        if "extra ==" in line:
            continue
        m = re.match(r"\s*([A-Za-z0-9_.\-]+)\s*(?:\[[^\]]*\])?\s*([^;]*)", line)
        if m:
            found[_normalise(m.group(1))] = m.group(2).strip()
    return found


def _normalise(distribution: str) -> str:
    return re.sub(r"[-_.]+", "-", distribution).lower()


def _package_checks() -> Iterator[Check]:
    from importlib import metadata

    where = Path(__file__).resolve().parent
    try:
        installed = metadata.version("kctl")
    except metadata.PackageNotFoundError:
        yield Check("kctl", "ok", f"{__version__}, not installed: running from {where}")
    else:
        yield Check("kctl", "ok", f"{installed} ({where})")

    wanted = _requirements()
    for distribution in _DEPENDENCIES:
        name = distribution.lower()
        needs = wanted.get(_normalise(distribution))
        try:
            version = metadata.version(distribution)
        except metadata.PackageNotFoundError:
            yield Check(
                name,
                "fail",
                "not installed" + (f" (kctl needs {distribution}{needs})" if needs else ""),
                f"pip install '{distribution}{needs or ''}', or reinstall kctl",
                _BROKEN_INSTALL,
            )
            continue
        detail = version + (f" (kctl needs {needs})" if needs else "")
        if distribution == "PyYAML":
            yield _pyyaml_check(name, detail)
        else:
            yield Check(name, "ok", detail)


def _pyyaml_check(name: str, detail: str) -> Check:
    try:
        import yaml
    except ImportError as e:
        return Check(name, "fail", f"{detail}, cannot be imported: {e}", None, _BROKEN_INSTALL)
    if getattr(yaml, "__with_libyaml__", False) and hasattr(yaml, "CSafeLoader"):
        return Check(name, "ok", f"{detail}, libyaml C parser available")
    return Check(
        name,
        "warn",
        f"{detail}, pure-Python parser only: libyaml is not available, so validate-config is "
        "several times slower",
        "install a PyYAML wheel built with libyaml (pip install --force-reinstall PyYAML)",
    )


# --- keyring ----------------------------------------------------------------------------------


def _uses_keyring(account: Account) -> bool:
    return any(ref.kind == "keyring" for *_, ref in _references(account))


def _keyring_check(config_uses_keyring: bool | None) -> Check:
    """Which backend keyring picked, and whether it can write, read and delete an entry.

    An unusable keyring fails (exit 3) unless a config was given that never asks the keyring
    for anything: then it is a warning, so ``doctor`` stays useful in CI, where there is
    usually no keyring and secrets come from ``${ENV}`` references.
    """
    # keyring_backend is kctl.secrets' own gatekeeper (refuses the fail and null backends),
    # reused so doctor and secret resolution agree on what "usable" means.
    from kctl.secrets import keyring_backend

    chosen_by = os.environ.get("PYTHON_KEYRING_BACKEND")
    suffix = f" (chosen by PYTHON_KEYRING_BACKEND={chosen_by})" if chosen_by else ""
    try:
        backend = keyring_backend()
    except SecretUnavailable as e:
        return _keyring_unusable(e.message + suffix, e.hint, config_uses_keyring)
    name = _backend_name(backend) + suffix
    problem = _round_trip(backend)
    if problem is not None:
        return _keyring_unusable(f"{name}: {problem}", _KEYRING_HINT, config_uses_keyring)
    return Check(
        "keyring backend",
        "ok",
        f"{name}: a test entry (service {DOCTOR_SERVICE}) was written, read back and deleted",
    )


def _keyring_unusable(detail: str, hint: str | None, config_uses_keyring: bool | None) -> Check:
    if config_uses_keyring is False:
        return Check(
            "keyring backend",
            "warn",
            f"{detail}; the config uses no ${{keyring:...}} references, so it does not matter here",
            hint or _KEYRING_HINT,
        )
    return Check("keyring backend", "fail", detail, hint or _KEYRING_HINT, _NO_SECRET)


def _backend_name(backend: KeyringBackend) -> str:
    kind = type(backend)
    name = f"{kind.__module__}.{kind.__name__}"
    chained = getattr(backend, "backends", None)
    if isinstance(chained, list) and chained:
        name += " of " + ", ".join(f"{type(b).__module__}.{type(b).__name__}" for b in chained)
    path = getattr(backend, "file_path", None)
    if isinstance(path, str):
        name += f" (file {path})"
    return name


def _round_trip(backend: KeyringBackend) -> str | None:
    """Why ``backend`` cannot store an entry, or None when it can. Touches only a fresh entry
    under DOCTOR_SERVICE, never an entry kctl (or anything else) wrote."""
    entry = f"round-trip-{uuid.uuid4().hex}"
    value = uuid.uuid4().hex
    written = False
    stage = "writing"
    try:
        backend.set_password(DOCTOR_SERVICE, entry, value)
        written = True
        stage = "reading back"
        if backend.get_password(DOCTOR_SERVICE, entry) != value:
            return "a test entry read back differently from what was written"
        stage = "deleting"
        backend.delete_password(DOCTOR_SERVICE, entry)
        written = False
        stage = "reading after deleting"
        if backend.get_password(DOCTOR_SERVICE, entry) is not None:
            return "a test entry was still there after deleting it"
    # Backends are plugins (D-Bus, Keychain, files, ...) that fail in their own ways.
    except Exception as e:
        return f"{stage} a test entry failed: {type(e).__name__}: {e}"
    finally:
        if written:
            # already reporting the first failure; a second one adds nothing
            with contextlib.suppress(Exception):
                backend.delete_password(DOCTOR_SERVICE, entry)
    return None


# --- proxies and CAs --------------------------------------------------------------------------


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


def _proxy_checks() -> list[Check]:
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
            _BAD_SETTING,
            secrets,
        )
    return Check("proxy settings", "ok", "httpx accepts the proxy variables", secrets=secrets)


def _ca_source() -> tuple[str, str, str] | None:
    """(kind, path, label) of the trust store httpx uses: SSL_CERT_FILE, else SSL_CERT_DIR,
    else certifi's bundle. None when certifi is missing too (then httpx cannot run)."""
    cert_file = os.environ.get("SSL_CERT_FILE")
    if cert_file:
        return "file", cert_file, "SSL_CERT_FILE"
    cert_dir = os.environ.get("SSL_CERT_DIR")
    if cert_dir:
        return "dir", cert_dir, "SSL_CERT_DIR"
    try:
        import certifi
    except ImportError:
        return None
    return "file", certifi.where(), "certifi"


def _tls_context() -> ssl.SSLContext:
    """The context httpx would build for ``verify=True``; raises OSError when unusable."""
    source = _ca_source()
    if source is None:
        return ssl.create_default_context()
    kind, path, _ = source
    if kind == "dir":
        return ssl.create_default_context(capath=path)
    return ssl.create_default_context(cafile=path)


def _ca_checks() -> list[Check]:
    checks: list[Check] = []
    cert_file = os.environ.get("SSL_CERT_FILE")
    cert_dir = os.environ.get("SSL_CERT_DIR")
    if cert_file is not None:
        checks.append(_cert_file_check(cert_file))
    if cert_dir is not None:
        if not cert_dir:
            checks.append(Check("SSL_CERT_DIR", "ok", "set but empty: ignored"))
        elif cert_file:
            checks.append(Check("SSL_CERT_DIR", "ok", f"{cert_dir} (not used: SSL_CERT_FILE wins)"))
        elif not Path(cert_dir).is_dir():
            checks.append(
                Check(
                    "SSL_CERT_DIR",
                    "fail",
                    f"{cert_dir} is not a directory",
                    "point SSL_CERT_DIR at a directory of hashed CA certificates, or unset it",
                    _BAD_SETTING,
                )
            )
        else:
            checks.append(Check("SSL_CERT_DIR", "ok", f"{cert_dir} (used for TLS)"))
    bundle = os.environ.get("REQUESTS_CA_BUNDLE")
    if bundle:
        checks.append(
            Check(
                "REQUESTS_CA_BUNDLE",
                "warn",
                f"{bundle} (not used: kctl, through httpx, does not read REQUESTS_CA_BUNDLE)",
                f"set SSL_CERT_FILE={bundle} for kctl, or pass --ca-bundle to send-test",
            )
        )
    checks.append(_trust_store_check())
    return checks


def _cert_file_check(path: str) -> Check:
    if not path:
        return Check("SSL_CERT_FILE", "ok", "set but empty: ignored")
    try:
        context = ssl.create_default_context(cafile=path)
    except OSError as e:  # includes ssl.SSLError for a file that holds no certificate
        reason = e.strerror or getattr(e, "reason", None) or str(e)
        return Check(
            "SSL_CERT_FILE",
            "fail",
            f"{path}: cannot load CA certificates: {reason}",
            "point SSL_CERT_FILE at a PEM file of CA certificates, or unset it",
            _BAD_SETTING,
        )
    count = context.cert_store_stats().get("x509_ca", 0)
    return Check("SSL_CERT_FILE", "ok", f"{path}: {count} CA certificate(s), used for TLS")


def _trust_store_check() -> Check:
    source = _ca_source()
    if source is None:
        return Check(
            "CA bundle",
            "fail",
            "certifi is not installed, so httpx has no CA bundle",
            "pip install certifi, or reinstall kctl",
            _BROKEN_INSTALL,
        )
    _, path, label = source
    if label != "certifi":
        return Check("CA bundle", "ok", f"TLS trusts the CAs from {label} ({path})")
    from importlib import metadata

    try:
        version = f" {metadata.version('certifi')}"
    except metadata.PackageNotFoundError:
        version = ""
    return Check(
        "CA bundle",
        "ok",
        f"TLS trusts certifi{version}'s bundle ({path}); set SSL_CERT_FILE to use another",
    )


# --- config and secrets -----------------------------------------------------------------------


def _load_config(config: str | None) -> tuple[Account | None, list[Check]]:
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


def _secret_checks(account: Account) -> Iterator[Check]:
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


# --- network ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Proxy:
    url: str  # as the environment spells it, credentials included: never shown
    shown: str  # credentials masked
    variable: str  # HTTPS_PROXY, ALL_PROXY, ...
    secrets: tuple[str, ...]


@dataclass(slots=True)
class _Target:
    """One host:port the config (or a proxy in the way) makes kctl or CleverTap reach."""

    host: str
    port: int
    tls: bool
    roles: list[str]
    proxy: _Proxy | None = None  # when the environment sends kctl's requests through one

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def described(self) -> str:
        return ", ".join(dict.fromkeys(self.roles))


def _config_urls(account: Account) -> Iterator[tuple[str, str]]:
    """(url, role) for the endpoint, kaleyra-host and callback URLs of every provider."""
    for p in account.providers:
        yield p.endpoint, f"endpoint of {p.nickname}"
        for key, value in p.headers:
            if key == "kaleyra-host" or key in _CALLBACK_HEADERS:
                yield value, f"{key} of {p.nickname}"


def _targets(account: Account) -> list[_Target]:
    targets: dict[tuple[str, int], _Target] = {}
    for url, role in _config_urls(account):
        if parse_reference(url) is not None:
            continue
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            continue
        if not host or port is None:
            continue
        target = targets.setdefault((host, port), _Target(host, port, False, []))
        target.tls = target.tls or parts.scheme == "https"
        target.roles.append(role)
        if target.proxy is None:
            target.proxy = _proxy_for(parts.scheme, host, port)
    return list(targets.values())


def _proxy_for(scheme: str, host: str, port: int) -> _Proxy | None:
    """The proxy the environment routes ``scheme://host:port`` through, as urllib reads it
    (which httpx asks too); None for a direct connection."""
    import urllib.request

    proxies = urllib.request.getproxies_environment()
    key = scheme if proxies.get(scheme) else "all"
    chosen = proxies.get(key)
    # proxy_bypass reads NO_PROXY whenever *_PROXY variables are set (on every platform)
    if not chosen or urllib.request.proxy_bypass(f"{host}:{port}"):
        return None
    shown, secrets = shown_proxy(chosen)
    return _Proxy(chosen, shown, f"{key.upper()}_PROXY", secrets)


def _proxy_target(proxy: str) -> _Target | None:
    try:
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if not host or port is None:
        return None
    return _Target(host, port, parts.scheme == "https", [])


def _network_checks(
    account: Account | None, config: str | None, online: bool, timeout: float
) -> list[Check]:
    if account is None:
        why = "no --config given" if config is None else "the config could not be loaded"
        return [
            Check(
                "network",
                "skip",
                f"{why}: no hosts to check",
                "kctl doctor --config FILE --online checks DNS, TCP and TLS for its hosts",
            )
        ]
    targets = _targets(account)
    if not targets:
        return [Check("network", "skip", "the config names no hosts")]
    if not online:
        return [
            Check(f"network {t.address}", "skip", f"not checked: {t.described}", _ONLINE_HINT)
            for t in targets
        ]
    # The proxies in the way are reached for real, so they are checked too (once each).
    index = {(t.host, t.port): t for t in targets}
    for t in list(targets):
        if t.proxy is None or (found := _proxy_target(t.proxy.url)) is None:
            continue
        role = f"proxy ({t.proxy.variable}) for {t.address}"
        proxy = index.setdefault((found.host, found.port), found)
        if proxy is found:
            targets.append(found)
        # a proxy is reached directly, even one the config also names
        proxy.proxy = None
        proxy.roles.append(role)
    try:
        context: ssl.SSLContext | None = _tls_context()
    except OSError:
        context = None  # the SSL_CERT_FILE / SSL_CERT_DIR check already says why
    checks: list[Check] = []
    for host, group in _by_host(targets):
        checks += _host_checks(host, group, context, timeout)
    return checks


def _by_host(targets: list[_Target]) -> Iterator[tuple[str, list[_Target]]]:
    grouped: dict[str, list[_Target]] = {}
    for t in targets:
        grouped.setdefault(t.host, []).append(t)
    yield from grouped.items()


def _host_checks(
    host: str, targets: list[_Target], context: ssl.SSLContext | None, timeout: float
) -> list[Check]:
    """DNS for ``host``, then TCP (and TLS for https) for each of its ports.

    When the environment sends kctl's requests for a target through a proxy, a failure on the
    direct path is only a warning: the proxy's own checks are the ones that matter.
    """
    roles = ", ".join(dict.fromkeys(r for t in targets for r in t.roles))
    proxied = all(t.proxy is not None for t in targets)
    started = time.monotonic()
    try:
        infos = _resolve(host, targets[0].port, timeout)
    except OSError as e:
        dns = Check(
            f"dns {host}",
            "fail",
            f"{_dns_reason(e, timeout)} ({roles})",
            "check the host name for typos, and the network's DNS (or VPN)",
            _NO_NETWORK,
        )
        checks = [_via_proxy(dns, targets[0]) if proxied else dns]
        checks += [
            Check(f"{kind} {t.address}", "skip", "not tried: the host name did not resolve")
            for t in targets
            for kind in (("tcp", "tls") if t.tls else ("tcp",))
        ]
        return checks
    addresses = ", ".join(dict.fromkeys(str(info[4][0]) for info in infos))
    checks = [
        Check(f"dns {host}", "ok", f"{addresses} in {_ms(started)} ({roles})")
        if not _is_ip(host)
        else Check(f"dns {host}", "ok", f"an IP address, no lookup needed ({roles})")
    ]
    for t in targets:
        own = _port_checks(t, infos, context, timeout)
        checks += [_via_proxy(c, t) if t.proxy is not None else c for c in own]
    return checks


def _via_proxy(check: Check, target: _Target) -> Check:
    if check.status != "fail" or target.proxy is None:
        return check
    proxy = target.proxy
    return replace(
        check,
        status="warn",
        exit_code=0,
        hint=f"kctl reaches this host through the proxy {proxy.shown} ({proxy.variable}), so "
        "the direct path is not needed; see the proxy's own checks",
        secrets=(*check.secrets, *proxy.secrets),
    )


def _port_checks(
    target: _Target,
    infos: list[tuple[Any, ...]],
    context: ssl.SSLContext | None,
    timeout: float,
) -> list[Check]:
    where = target.address
    started = time.monotonic()
    try:
        sock, peer = _connect(infos, target.port, timeout)
    except OSError as e:
        reason, hint = _connect_reason(e, timeout)
        checks = [
            Check(f"tcp {where}", "fail", f"{reason} ({target.described})", hint, _NO_NETWORK)
        ]
        if target.tls:
            checks.append(Check(f"tls {where}", "skip", "not tried: no TCP connection"))
        return checks
    with sock:
        checks = [Check(f"tcp {where}", "ok", f"connected to {peer} in {_ms(started)}")]
        if not target.tls:
            return checks
        if context is None:
            checks.append(
                Check(
                    f"tls {where}",
                    "skip",
                    "not tried: the CA certificates from SSL_CERT_FILE / SSL_CERT_DIR cannot be "
                    "loaded (see above)",
                )
            )
            return checks
        checks.append(_tls_check(sock, target, context, timeout))
    return checks


def _tls_check(
    sock: socket.socket, target: _Target, context: ssl.SSLContext, timeout: float
) -> Check:
    name = f"tls {target.address}"
    source = _ca_source()
    trusting = f"trusting {source[2]}" if source else "trusting the system CAs"
    started = time.monotonic()
    sock.settimeout(timeout)
    try:
        with context.wrap_socket(sock, server_hostname=target.host) as tls:
            version = tls.version() or "TLS"
            cert = tls.getpeercert() or {}
    except ssl.SSLCertVerificationError as e:
        reason = e.verify_message or e.reason or str(e)
        return Check(
            name,
            "fail",
            f"certificate verify failed: {reason} ({trusting})",
            _CA_HINT,
            _NO_NETWORK,
        )
    except ssl.SSLError as e:
        return Check(
            name,
            "fail",
            f"TLS handshake failed: {e.reason or e}",
            "check that the port speaks https (not plain http) and the URL's scheme",
            _NO_NETWORK,
        )
    except TimeoutError:
        return Check(
            name,
            "fail",
            f"no TLS handshake within {_seconds(timeout)}",
            "check that the port speaks https, and raise --timeout on a slow network",
            _NO_NETWORK,
        )
    except OSError as e:
        return Check(name, "fail", f"TLS handshake failed: {e.strerror or e}", None, _NO_NETWORK)
    issuer = _name_field(cert.get("issuer"), "commonName") or _name_field(
        cert.get("issuer"), "organizationName"
    )
    detail = f"{version}, certificate verified ({trusting}) in {_ms(started)}"
    if issuer:
        detail += f", issued by {issuer}"
    not_after = cert.get("notAfter")
    if isinstance(not_after, str):
        expires = ssl.cert_time_to_seconds(not_after)
        days = int((expires - time.time()) // 86400)
        detail += f", expires {time.strftime('%Y-%m-%d', time.gmtime(expires))}"
        if days < _CERT_EXPIRY_WARNING_DAYS:
            return Check(
                name,
                "warn",
                f"{detail} (in {max(days, 0)} day(s))",
                "renew the certificate before it expires, or TLS to this host will fail",
            )
    return Check(name, "ok", detail)


def _name_field(name: object, key: str) -> str | None:
    """``key`` from getpeercert()'s nested ((("commonName", "x"),), ...) form."""
    if not isinstance(name, tuple):
        return None
    for rdn in name:
        for pair in rdn:
            if isinstance(pair, tuple) and len(pair) == 2 and pair[0] == key:
                return str(pair[1])
    return None


def _resolve(host: str, port: int, timeout: float) -> list[tuple[Any, ...]]:
    """getaddrinfo within ``timeout``: the call itself has none, so it runs on a daemon thread
    that is abandoned (not waited for) when it takes too long."""
    result: list[tuple[Any, ...]] = []
    errors: list[BaseException] = []

    def lookup() -> None:
        try:
            result.extend(socket.getaddrinfo(host, port, type=socket.SOCK_STREAM))
        except BaseException as e:  # handed to the caller, not lost in the thread
            errors.append(e)

    worker = threading.Thread(target=lookup, name=f"kctl-doctor-dns:{host}", daemon=True)
    worker.start()
    worker.join(timeout)
    if worker.is_alive():
        raise TimeoutError(f"no answer within {_seconds(timeout)}")
    if errors:
        raise errors[0]
    if not result:
        raise socket.gaierror(socket.EAI_NONAME, "no addresses")
    return result


def _connect(infos: list[tuple[Any, ...]], port: int, timeout: float) -> tuple[socket.socket, str]:
    """A connected socket to the first address that answers, and that address."""
    last: OSError | None = None
    for family, kind, proto, _, resolved in infos:
        # the lookup was made for one of the host's ports; this target may use another
        sockaddr = (resolved[0], port, *resolved[2:])
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(sockaddr)
        except OSError as e:
            sock.close()
            last = e
            continue
        host = str(sockaddr[0])
        return sock, (f"[{host}]:{port}" if ":" in host else f"{host}:{port}")
    raise last if last is not None else OSError("no addresses to connect to")


def _dns_reason(e: OSError, timeout: float) -> str:
    if isinstance(e, TimeoutError):
        return f"no DNS answer within {_seconds(timeout)}"
    if isinstance(e, socket.gaierror):
        return f"does not resolve: {e.strerror or e}"
    return f"lookup failed: {e.strerror or e}"


def _connect_reason(e: OSError, timeout: float) -> tuple[str, str | None]:
    if isinstance(e, ConnectionRefusedError):
        return "connection refused", "nothing listens on that port: check the port in the URL"
    if isinstance(e, TimeoutError):
        return (
            f"no connection within {_seconds(timeout)}",
            "a firewall may be dropping the connection; check the host and port, and whether "
            "this network needs a proxy (HTTPS_PROXY)",
        )
    return f"cannot connect: {e.strerror or e}", None


def _is_ip(host: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _ms(started: float) -> str:
    return f"{(time.monotonic() - started) * 1000:.0f} ms"


def _seconds(value: float) -> str:
    return f"{value:g} s"


# --- rendering --------------------------------------------------------------------------------

_MARKS: dict[Status, str] = {"ok": "ok", "warn": "warn", "fail": "FAIL", "skip": "skip"}
_NAME_COLUMN_MAX = 40
# C0 and C1 controls and DEL: a value from the environment must not drive the terminal
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def render_checks(checks: Iterable[Check], as_json: bool) -> str:
    """A terminal table (status, name, detail, then the hint on its own line), or one JSON
    document ``{"version": 1, "checks": [...], "exit_code": N}``.

    Every string goes through one Masker that knows every secret any check saw.
    """
    checks = list(checks)
    masker = Masker(s for c in checks for s in c.secrets)
    code = overall_exit_code(checks)
    if as_json:
        document = {
            "version": JSON_VERSION,
            "checks": [
                {
                    "name": masker.mask_text(c.name),
                    "status": c.status,
                    "detail": masker.mask_text(c.detail),
                    "hint": masker.mask_text(c.hint) if c.hint is not None else None,
                    "exit_code": c.exit_code,
                }
                for c in checks
            ],
            "exit_code": code,
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    def clean(text: str) -> str:
        return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", masker.mask_text(text))

    names = [clean(c.name) for c in checks]
    width = min(max((len(n) for n in names), default=0), _NAME_COLUMN_MAX)
    mark_width = max(len(m) for m in _MARKS.values())
    indent = " " * (mark_width + 2 + width + 2)
    lines: list[str] = []
    for check, name in zip(checks, names, strict=True):
        lines.append(
            f"{_MARKS[check.status]:<{mark_width}}  {name:<{width}}  {clean(check.detail)}"
        )
        if check.hint:
            lines.append(f"{indent}hint: {clean(check.hint)}")
    counts = {s: sum(c.status == s for c in checks) for s in _MARKS}
    lines.append("")
    lines.append(
        f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failed, "
        f"{counts['skip']} skipped; exit code {code}"
    )
    return "\n".join(lines) + "\n"
