"""With ``--online``: DNS, then TCP, then TLS for every host a config names, and for the proxies
in the way. The standard library is used directly (not httpx) so each stage fails on its own,
with its own message, and within the timeout."""

from __future__ import annotations

import ssl
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from kctl.doctor.check import NO_NETWORK, Check, ms_since, seconds
from kctl.doctor.hosts import Target, targets_of, with_proxies
from kctl.doctor.probes import connect, connect_reason, dns_reason, resolve
from kctl.send import netenv

if TYPE_CHECKING:
    import socket

    from kctl.config.model import Account

_CERT_EXPIRY_WARNING_DAYS = 14
_ONLINE_HINT = "add --online to check DNS, TCP and TLS for these hosts"
_CA_HINT = (
    "if the host uses a private or self-signed CA, set SSL_CERT_FILE to a PEM file with that CA "
    "(send-test also takes --ca-bundle FILE)"
)
_PROXY_CA_HINT = (
    "if the proxy uses a private CA (as TLS-inspecting proxies do), set SSL_CERT_FILE to a PEM "
    "file with that CA; --ca-bundle does not apply to a proxy"
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
        return [_not_checked(t) for t in targets]
    targets = with_proxies(targets)
    trust = _Trust.load(targets)
    checks: list[Check] = []
    for host, group in _by_host(targets):
        checks += _host_checks(host, group, trust, timeout)
    return checks


def _not_checked(target: Target) -> Check:
    route, secrets = target.route()
    return Check(
        f"network {target.address}",
        "skip",
        f"not checked: {target.described}; {route}",
        _ONLINE_HINT,
        secrets=secrets,
    )


@dataclass(frozen=True, slots=True)
class _Trust:
    """What TLS trusts, in the transport's terms: (context, in words) for the endpoints, None
    when their CA settings cannot be loaded (the CA checks say why), and for the proxies."""

    endpoint: tuple[ssl.SSLContext, str] | None
    proxy: tuple[ssl.SSLContext, str] | None

    @classmethod
    def load(cls, targets: list[Target]) -> _Trust:
        source = netenv.ca_source()
        try:
            endpoint = (netenv.load_ca(source), source.origin if source else "the system CAs")
        except OSError:
            endpoint = None
        if not any(t.is_proxy and t.tls for t in targets):
            return cls(endpoint, None)
        return cls(endpoint, (netenv.load_proxy_trust(), f"{netenv.PROXY_TRUST}, as for a proxy"))

    def of(self, target: Target) -> tuple[ssl.SSLContext, str] | None:
        return self.proxy if target.is_proxy else self.endpoint


def _by_host(targets: list[Target]) -> Iterator[tuple[str, list[Target]]]:
    grouped: dict[str, list[Target]] = {}
    for t in targets:
        grouped.setdefault(t.host, []).append(t)
    yield from grouped.items()


def _host_checks(host: str, targets: list[Target], trust: _Trust, timeout: float) -> list[Check]:
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
        if not netenv.is_ip(host)
        else Check(f"dns {host}", "ok", f"an IP address, no lookup needed ({roles})")
    ]
    for t in targets:
        own = _port_checks(t, infos, trust, timeout)
        checks += [_via_proxy(c, t) if t.proxy is not None else c for c in own]
    return checks


def _via_proxy(check: Check, target: Target) -> Check:
    if check.status != "fail" or target.proxy is None:
        return check
    route, secrets = target.route()
    return replace(
        check,
        status="warn",
        exit_code=0,
        hint=f"{route}, so the direct path is not needed; see the proxy's own checks",
        secrets=(*check.secrets, *secrets),
    )


def _port_checks(
    target: Target,
    infos: list[tuple[Any, ...]],
    trust: _Trust,
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
        chosen = trust.of(target)
        if chosen is None:
            checks.append(
                Check(
                    f"tls {where}",
                    "skip",
                    "not tried: the CA certificates from SSL_CERT_FILE / SSL_CERT_DIR cannot be "
                    "loaded (see above)",
                )
            )
            return checks
        checks.append(_tls_check(sock, target, *chosen, timeout))
    return checks


def _tls_check(
    sock: socket.socket, target: Target, context: ssl.SSLContext, trusted: str, timeout: float
) -> Check:
    name = f"tls {target.address}"
    trusting = f"trusting {trusted}"
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
            _PROXY_CA_HINT if target.is_proxy else _CA_HINT,
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
