"""With ``--online``: DNS, then TCP, then TLS for every host a config names, and for the proxies
in the way. The standard library is used directly (not httpx) so each stage fails on its own,
with its own message, and within the timeout."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from kctl.doctor.check import NO_NETWORK, Check, ms_since, seconds
from kctl.doctor.hosts import Target, targets_of, with_proxies
from kctl.doctor.probes import connect, connect_reason, dns_reason, is_ip, resolve
from kctl.doctor.trust import ca_source, tls_context

if TYPE_CHECKING:
    import socket

    from kctl.config.model import Account

_CERT_EXPIRY_WARNING_DAYS = 14
_ONLINE_HINT = "add --online to check DNS, TCP and TLS for these hosts"
_CA_HINT = (
    "if the host uses a private or self-signed CA, set SSL_CERT_FILE to a PEM file with that CA "
    "(send-test also takes --ca-bundle FILE)"
)


def network_checks(
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
    targets = targets_of(account)
    if not targets:
        return [Check("network", "skip", "the config names no hosts")]
    if not online:
        return [
            Check(f"network {t.address}", "skip", f"not checked: {t.described}", _ONLINE_HINT)
            for t in targets
        ]
    targets = with_proxies(targets)
    try:
        context: ssl.SSLContext | None = tls_context()
    except OSError:
        context = None  # the SSL_CERT_FILE / SSL_CERT_DIR check already says why
    checks: list[Check] = []
    for host, group in _by_host(targets):
        checks += _host_checks(host, group, context, timeout)
    return checks


def _by_host(targets: list[Target]) -> Iterator[tuple[str, list[Target]]]:
    grouped: dict[str, list[Target]] = {}
    for t in targets:
        grouped.setdefault(t.host, []).append(t)
    yield from grouped.items()


def _host_checks(
    host: str, targets: list[Target], context: ssl.SSLContext | None, timeout: float
) -> list[Check]:
    """DNS for ``host``, then TCP (and TLS for https) for each of its ports.

    When the environment sends kctl's requests for a target through a proxy, a failure on the
    direct path is only a warning: the proxy's own checks are the ones that matter.
    """
    roles = ", ".join(dict.fromkeys(r for t in targets for r in t.roles))
    proxied = all(t.proxy is not None for t in targets)
    started = time.monotonic()
    try:
        infos = resolve(host, targets[0].port, timeout)
    except OSError as e:
        dns = Check(
            f"dns {host}",
            "fail",
            f"{dns_reason(e, timeout)} ({roles})",
            "check the host name for typos, and the network's DNS (or VPN)",
            NO_NETWORK,
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
        Check(f"dns {host}", "ok", f"{addresses} in {ms_since(started)} ({roles})")
        if not is_ip(host)
        else Check(f"dns {host}", "ok", f"an IP address, no lookup needed ({roles})")
    ]
    for t in targets:
        own = _port_checks(t, infos, context, timeout)
        checks += [_via_proxy(c, t) if t.proxy is not None else c for c in own]
    return checks


def _via_proxy(check: Check, target: Target) -> Check:
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
    target: Target,
    infos: list[tuple[Any, ...]],
    context: ssl.SSLContext | None,
    timeout: float,
) -> list[Check]:
    where = target.address
    started = time.monotonic()
    try:
        sock, peer = connect(infos, target.port, timeout)
    except OSError as e:
        reason, hint = connect_reason(e, timeout)
        checks = [Check(f"tcp {where}", "fail", f"{reason} ({target.described})", hint, NO_NETWORK)]
        if target.tls:
            checks.append(Check(f"tls {where}", "skip", "not tried: no TCP connection"))
        return checks
    with sock:
        checks = [Check(f"tcp {where}", "ok", f"connected to {peer} in {ms_since(started)}")]
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
    sock: socket.socket, target: Target, context: ssl.SSLContext, timeout: float
) -> Check:
    name = f"tls {target.address}"
    source = ca_source()
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
            NO_NETWORK,
        )
    except ssl.SSLError as e:
        return Check(
            name,
            "fail",
            f"TLS handshake failed: {e.reason or e}",
            "check that the port speaks https (not plain http) and the URL's scheme",
            NO_NETWORK,
        )
    except TimeoutError:
        return Check(
            name,
            "fail",
            f"no TLS handshake within {seconds(timeout)}",
            "check that the port speaks https, and raise --timeout on a slow network",
            NO_NETWORK,
        )
    except OSError as e:
        return Check(name, "fail", f"TLS handshake failed: {e.strerror or e}", None, NO_NETWORK)
    issuer = _name_field(cert.get("issuer"), "commonName") or _name_field(
        cert.get("issuer"), "organizationName"
    )
    detail = f"{version}, certificate verified ({trusting}) in {ms_since(started)}"
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
