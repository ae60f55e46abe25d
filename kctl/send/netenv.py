"""What the environment makes of kctl's connections: which proxy a request goes through, and
which CA certificates its TLS trusts. ``kctl doctor`` reports these answers and the transport
acts on them (names the proxy in an error, builds its TLS trust), so the two cannot disagree.

Proxies are httpx's to route (the transport keeps ``trust_env``); ``proxy_for`` writes out the
rules httpx 0.28 applies, so that doctor can report the route without importing httpx:

* The variables are read as ``urllib.request.getproxies()`` reads them, which is what httpx asks:
  a lower-case name wins over its upper-case twin, even when it is empty (then neither is used);
  ``HTTP_PROXY`` in upper case is ignored when ``REQUEST_METHOD`` is set (a CGI environment, where
  it could come from a request header); with no variables at all, macOS and Windows fall back to
  the system's proxy settings.
* ``HTTPS_PROXY`` serves https:// URLs, ``HTTP_PROXY`` http:// ones, ``ALL_PROXY`` both when the
  scheme's own is unset. A value without ``scheme://`` means ``http://``.
* ``NO_PROXY`` is a comma-separated list. ``*`` anywhere turns every proxy off. An IP address
  matches that address (a CIDR range only its first address), ``localhost`` only itself,
  ``.example.com`` only names under example.com, ``example.com`` that name and the names under
  it. ``name:port`` matches only a URL that spells out that port, and a URL's default port (443
  for https) is never spelled out, so ``example.com:443`` matches nothing. ``*.example.com`` is
  read as a literal name and matches nothing. An entry with ``scheme://`` applies to that scheme
  only.

TLS to the endpoint trusts ``--ca-bundle`` when given, else ``SSL_CERT_FILE``, else
``SSL_CERT_DIR``, else certifi's bundle (httpx's order). TLS to an https:// proxy is httpcore's:
OpenSSL's default CAs (which ``SSL_CERT_FILE`` and ``SSL_CERT_DIR`` replace, both at once) plus
certifi's, and never ``--ca-bundle``.

Nothing heavy at import time: ``urllib.request``, ``ssl`` and ``certifi`` are imported where used.
"""

from __future__ import annotations

import ipaddress
import os
import re
from urllib.parse import urlsplit

from kctl.lean import Record

TYPE_CHECKING = False  # not typing's: every send imports this module
if TYPE_CHECKING:
    import ssl
    from typing import Final

DEFAULT_PORTS = {"http": 80, "https": 443}
SYSTEM_SETTINGS = "the system proxy settings"


# --- proxies ----------------------------------------------------------------------------------


class Proxy(Record):
    """A proxy the environment names."""

    __slots__ = ("value", "variable")
    value: Final[str]  # as the environment spells it, credentials included: never shown
    # the variable it came from ("HTTPS_PROXY", "all_proxy"), or SYSTEM_SETTINGS
    variable: Final[str]

    def __init__(self, value: str, variable: str) -> None:
        self.value = value
        self.variable = variable

    @property
    def url(self) -> str:
        return self.value if "://" in self.value else f"http://{self.value}"

    @property
    def scheme(self) -> str:
        return self.url.partition("://")[0].lower()

    @property
    def address(self) -> tuple[str, int] | None:
        """(host, port) to connect to, or None when the value is not a usable URL."""
        try:
            parts = urlsplit(self.url)
            port = parts.port or DEFAULT_PORTS.get(parts.scheme.lower())
        except ValueError:
            return None
        if not parts.hostname or port is None:
            return None
        return parts.hostname, port


def environment_proxies() -> dict[str, str]:
    """Scheme ("http", "https", "all", "no", ...) -> value, as httpx reads them."""
    import urllib.request

    return urllib.request.getproxies()


def proxy_variable(key: str, value: str) -> str:
    """The variable ``environment_proxies()[key] == value`` came from, as the environment
    spells it. urllib's last word is a name ending in lower-case ``_proxy``, so such a name
    is preferred when two hold the same value."""
    names = [
        name
        for name, held in os.environ.items()
        if name.lower() == f"{key}_proxy" and held == value
    ]
    if not names:
        return SYSTEM_SETTINGS
    return max(names, key=lambda name: name.endswith("_proxy"))


def proxy_for(scheme: str, host: str, port: int | None = None) -> Proxy | None:
    """The proxy httpx sends a request for ``scheme://host:port`` through; None: direct."""
    scheme = scheme.lower()
    host = host.lower().strip("[]")
    if port == DEFAULT_PORTS.get(scheme):
        port = None  # httpx.URL drops a default port, so a NO_PROXY port never sees it
    for pattern, proxy in _routes(environment_proxies()):
        if pattern.matches(scheme, host, port):
            return proxy
    return None


def no_proxy_caveat(entry: str) -> str | None:
    """Why a NO_PROXY entry does not do what it seems to, as httpx reads it; None when it does."""
    entry = entry.strip()
    if "://" in entry or not entry or entry == "*":
        return None
    if entry.startswith("*."):
        return f"matches no host: write {entry[1:]} for the names under {entry[2:]}"
    address, slash, _ = entry.partition("/")
    if slash and is_ip(address):
        return f"a range is not understood: only the address {address} itself bypasses the proxy"
    host, colon, port = entry.rpartition(":")
    if colon and port in ("80", "443") and not is_ip(entry):
        scheme = "http" if port == "80" else "https"
        return (
            f"never matches {scheme}://{host}/: httpx leaves the default port out of the URL "
            f"it compares; write {host}"
        )
    return None


def _routes(found: dict[str, str]) -> list[tuple[_Pattern, Proxy | None]]:
    """httpx's mount table: URL patterns, most specific first, each with its proxy or None."""
    mounts: dict[str, Proxy | None] = {}
    for key in ("http", "https", "all"):
        value = found.get(key)
        if value:
            mounts[f"{key}://"] = Proxy(value, proxy_variable(key, value))
    for entry in (e.strip() for e in found.get("no", "").split(",")):
        if entry == "*":
            return []
        if entry:
            mounts[_no_proxy_key(entry)] = None
    routes = []
    for key, proxy in mounts.items():
        pattern = _Pattern.parse(key)
        # an entry httpx cannot parse stops the transport before any request; see doctor
        if pattern is not None:
            routes.append((pattern, proxy))
    return sorted(routes, key=lambda route: route[0].priority)


def _no_proxy_key(entry: str) -> str:
    if "://" in entry:
        return entry
    if is_ip(entry.partition("/")[0]):
        address = entry.partition("/")[0]
        return f"all://[{entry}]" if ":" in address else f"all://{entry}"
    if entry.lower() == "localhost":
        return f"all://{entry}"
    return f"all://*{entry}"


def is_ip(text: str) -> bool:
    """Whether ``text`` is an IPv4 or IPv6 address (no brackets), not a name."""
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


class _Pattern(Record):
    """One of httpx's ``URLPattern`` keys: "all://", "https://", "all://*example.com:8080"."""

    __slots__ = ("host", "host_rule", "port", "scheme")
    scheme: Final[str]  # "" for any
    host: Final[str]  # "" for any
    port: Final[int | None]
    host_rule: Final[re.Pattern[str] | None]

    def __init__(
        self, scheme: str, host: str, port: int | None, host_rule: re.Pattern[str] | None
    ) -> None:
        self.scheme = scheme
        self.host = host
        self.port = port
        self.host_rule = host_rule

    @classmethod
    def parse(cls, key: str) -> _Pattern | None:
        try:
            parts = urlsplit(key)
            port = parts.port
        except ValueError:
            return None
        scheme = "" if parts.scheme.lower() == "all" else parts.scheme.lower()
        host = (parts.hostname or "").lower()
        if host == "*":
            host = ""
        if not host:
            rule = None
        elif host.startswith("*."):
            rule = re.compile(rf"^.+\.{re.escape(host[2:])}$")
        elif host.startswith("*"):
            rule = re.compile(rf"^(.+\.)?{re.escape(host[1:])}$")
        else:
            rule = re.compile(rf"^{re.escape(host)}$")
        return cls(scheme, host, port, rule)

    @property
    def priority(self) -> tuple[int, int, int]:
        # httpx's order: a pattern with a port first, then the longer host, then the longer scheme
        return (0 if self.port is not None else 1, -len(self.host), -len(self.scheme))

    def matches(self, scheme: str, host: str, port: int | None) -> bool:
        if self.scheme and self.scheme != scheme:
            return False
        if self.host_rule is not None and not self.host_rule.match(host):
            return False
        return self.port is None or self.port == port


# --- certificate authorities -------------------------------------------------------------------


class CaSource(Record):
    """Where TLS to the endpoint takes the CA certificates it trusts."""

    __slots__ = ("is_dir", "origin", "path")
    origin: Final[str]  # what chose it: "--ca-bundle", "SSL_CERT_FILE", "SSL_CERT_DIR", "certifi"
    path: Final[str]
    is_dir: Final[bool]

    def __init__(self, origin: str, path: str, is_dir: bool) -> None:
        self.origin = origin
        self.path = path
        self.is_dir = is_dir


PROXY_TRUST = "OpenSSL's default CAs and certifi's bundle"


def ca_source(ca_bundle: str | None = None) -> CaSource | None:
    """The trust store for TLS to the endpoint; None when it would be certifi's and certifi is
    not installed (then httpx cannot run either)."""
    if ca_bundle is not None:
        return CaSource("--ca-bundle", ca_bundle, os.path.isdir(ca_bundle))
    cert_file = os.environ.get("SSL_CERT_FILE")
    if cert_file:
        return CaSource("SSL_CERT_FILE", cert_file, False)
    cert_dir = os.environ.get("SSL_CERT_DIR")
    if cert_dir:
        return CaSource("SSL_CERT_DIR", cert_dir, True)
    try:
        import certifi
    except ImportError:
        return None
    return CaSource("certifi", certifi.where(), False)


def load_ca(source: CaSource | None) -> ssl.SSLContext:
    """A client context trusting ``source`` (OpenSSL's defaults when None).

    Raises OSError (ssl.SSLError included) when the file holds no certificate or cannot be
    read, and for a directory that does not exist: httpx would go on trusting nothing and
    fail every handshake with a verify error that points nowhere near the setting.
    """
    import ssl

    if source is None:
        return ssl.create_default_context()
    if source.is_dir:
        if not os.path.isdir(source.path):
            raise NotADirectoryError(0, "not a directory", source.path)
        return ssl.create_default_context(capath=source.path)
    return ssl.create_default_context(cafile=source.path)


def load_proxy_trust() -> ssl.SSLContext:
    """The context httpcore gives TLS to an https:// proxy (httpx passes it none of its own)."""
    import ssl

    import certifi

    context = ssl.create_default_context()
    context.load_verify_locations(certifi.where())
    return context
