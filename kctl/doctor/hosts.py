"""Which hosts the network checks reach: every host:port a config names, and the proxies the
environment puts in the way of kctl's own requests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from kctl.doctor.proxies import shown_proxy
from kctl.secrets import parse_reference

if TYPE_CHECKING:
    from kctl.config.model import Account

_CALLBACK_HEADERS = (
    "inbound-message-callback-url",
    "delivery-report-callback-url",
    "callback_url",
)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Proxy:
    url: str  # as the environment spells it, credentials included: never shown
    shown: str  # credentials masked
    variable: str  # HTTPS_PROXY, ALL_PROXY, ...
    secrets: tuple[str, ...]


@dataclass(slots=True)
class Target:
    """One host:port the config (or a proxy in the way) makes kctl or CleverTap reach."""

    host: str
    port: int
    tls: bool
    roles: list[str]
    proxy: Proxy | None = None  # when the environment sends kctl's requests through one

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


def targets_of(account: Account) -> list[Target]:
    targets: dict[tuple[str, int], Target] = {}
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
        target = targets.setdefault((host, port), Target(host, port, False, []))
        target.tls = target.tls or parts.scheme == "https"
        target.roles.append(role)
        if target.proxy is None:
            target.proxy = _proxy_for(parts.scheme, host, port)
    return list(targets.values())


def _proxy_for(scheme: str, host: str, port: int) -> Proxy | None:
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
    return Proxy(chosen, shown, f"{key.upper()}_PROXY", secrets)


def _proxy_target(proxy: str) -> Target | None:
    try:
        parts = urlsplit(proxy if "://" in proxy else f"http://{proxy}")
        host, port = parts.hostname, parts.port or _DEFAULT_PORTS.get(parts.scheme)
    except ValueError:
        return None
    if not host or port is None:
        return None
    return Target(host, port, parts.scheme == "https", [])


def with_proxies(targets: list[Target]) -> list[Target]:
    """``targets`` and, once each, the proxies in the way: those are reached for real too."""
    targets = list(targets)
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
    return targets
