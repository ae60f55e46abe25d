"""Which hosts the network checks reach: every host:port a config names, and the proxies the
environment puts in the way of kctl's own requests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kctl.contract.channels import URL_HEADERS
from kctl.doctor.proxies import shown_proxy
from kctl.secrets import parse_reference
from kctl.send import netenv

if TYPE_CHECKING:
    from kctl.config.model import Account


@dataclass(slots=True)
class Target:
    """One host:port the config (or a proxy in the way) makes kctl or CleverTap reach."""

    host: str
    port: int
    tls: bool
    roles: list[str]
    proxy: netenv.Proxy | None = None  # when the environment sends kctl's requests through one
    is_proxy: bool = False  # then TLS to it trusts what httpx gives a proxy

    @property
    def address(self) -> str:
        return f"[{self.host}]:{self.port}" if ":" in self.host else f"{self.host}:{self.port}"

    @property
    def described(self) -> str:
        return ", ".join(dict.fromkeys(self.roles))

    def route(self) -> tuple[str, tuple[str, ...]]:
        """How kctl's requests reach this target, and the proxy credentials that text hides."""
        if self.proxy is None:
            return "kctl connects directly", ()
        shown, secrets = shown_proxy(self.proxy.value)
        return f"kctl connects through the proxy {shown} ({self.proxy.variable})", secrets


def _config_urls(account: Account) -> Iterator[tuple[str, str]]:
    """(url, role) for the endpoint, kaleyra-host and callback URLs of every provider."""
    for p in account.providers:
        yield p.endpoint, f"endpoint of {p.nickname}"
        for key, value in p.headers:
            if key in URL_HEADERS:
                yield value, f"{key} of {p.nickname}"


def targets_of(account: Account) -> list[Target]:
    targets: dict[tuple[str, int], Target] = {}
    for url, role in _config_urls(account):
        if parse_reference(url) is not None:
            continue
        try:
            parts = urlsplit(url)
            host, port = parts.hostname, parts.port or netenv.DEFAULT_PORTS.get(parts.scheme)
        except ValueError:
            continue
        if not host or port is None:
            continue
        target = targets.setdefault((host, port), Target(host, port, False, []))
        target.tls = target.tls or parts.scheme == "https"
        target.roles.append(role)
        if target.proxy is None:
            target.proxy = netenv.proxy_for(parts.scheme, host, port)
    return list(targets.values())


def with_proxies(targets: list[Target]) -> list[Target]:
    """``targets`` and, once each, the proxies in the way: those are reached for real too."""
    targets = list(targets)
    index = {(t.host, t.port): t for t in targets}
    for t in list(targets):
        via = t.proxy
        if via is None or (address := via.address) is None:
            continue
        found = Target(*address, via.scheme == "https", [])
        proxy = index.setdefault(address, found)
        if proxy is found:
            targets.append(found)
        # a proxy is reached directly, even one the config also names
        proxy.proxy = None
        proxy.is_proxy = True
        proxy.roles.append(f"proxy ({via.variable}) for {t.address}")
    return targets
