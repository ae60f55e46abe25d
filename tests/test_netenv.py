"""Proxies and CAs: netenv's answer, doctor's report and where a real send goes all agree.

Each case sets the environment, then asks three observers where a request for one URL goes:
``netenv.proxy_for`` (what both doctor and the transport read), ``kctl doctor`` without --online
(the route it reports for the config's endpoint), and ``send`` itself, whose routing is httpx's
own (``trust_env``): two loopback proxies record whatever reaches them, and a resolver that knows
no name but localhost records every lookup a direct connection makes. Nothing reaches beyond
loopback: an unknown name fails the lookup without any DNS query, and a connection to anything
but a loopback address fails the test.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

from kctl.doctor import Check, run_doctor
from kctl.errors import NetworkFailure, UsageError
from kctl.send import netenv
from kctl.send.transport import send
from kctl.send.wire import Request
from tests.servers import Reply, TestServer, serve, write_self_signed

# doctor's keyring round trip runs on keyring's fail backend, never the developer's keyring
pytestmark = pytest.mark.usefixtures("no_keyring")

ENVIRONMENT = (
    *("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY"),
    *("http_proxy", "https_proxy", "all_proxy", "no_proxy"),
    *("REQUEST_METHOD", "SSL_CERT_FILE", "SSL_CERT_DIR", "REQUESTS_CA_BUNDLE"),
    *("PYTHON_KEYRING_BACKEND", "KALEYRA_API_KEY"),
)


@pytest.fixture(autouse=True)
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ENVIRONMENT:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KALEYRA_API_KEY", "k-netenv-test-0000")


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.partition("%")[0]).is_loopback
    except ValueError:
        return False


@pytest.fixture(autouse=True)
def lookups(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names looked up during the test. Only loopback names and addresses resolve, for
    real; any other name fails as unknown without a DNS query, and a connection beyond
    loopback fails the test."""
    real_getaddrinfo = socket.getaddrinfo
    real_connect = socket.socket.connect
    seen: list[str] = []

    def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
        name = host.decode() if isinstance(host, bytes) else str(host)
        if _is_loopback(name):
            return real_getaddrinfo(host, *args, **kwargs)
        seen.append(name)
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    def connect(self: socket.socket, address: Any) -> None:
        if isinstance(address, tuple):
            assert _is_loopback(str(address[0])), f"a test connected to {address!r}"
        real_connect(self, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return seen


def post(url: str) -> Request:
    return Request("POST", url, (("api-key", "k-0000"),), b"{}", "application/json")


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- routes: one table, three observers ------------------------------------------------------


@dataclass(frozen=True)
class Route:
    env: dict[str, str]  # "{a}" and "{b}" stand for the two proxies' URLs
    url: str  # "{port}" stands for a closed loopback port
    via: str | None  # the variable whose proxy carries the request; None: direct


A, B = "{a}", "{b}"
API = "https://api.example.com/wa"

ROUTES = {
    # which variable serves which scheme
    "https-proxy": Route({"HTTPS_PROXY": A}, API, "HTTPS_PROXY"),
    "https-proxy-not-for-http": Route({"HTTPS_PROXY": A}, "http://localhost:{port}/", None),
    "http-proxy": Route({"HTTP_PROXY": A}, "http://localhost:{port}/", "HTTP_PROXY"),
    "all-proxy": Route({"ALL_PROXY": A}, API, "ALL_PROXY"),
    "scheme-own-beats-all": Route({"ALL_PROXY": A, "HTTPS_PROXY": B}, API, "HTTPS_PROXY"),
    "all-when-scheme-own-unset": Route(
        {"ALL_PROXY": A, "HTTPS_PROXY": B}, "http://127.0.0.1:{port}/", "ALL_PROXY"
    ),
    "no-scheme-in-value": Route({"HTTPS_PROXY": "{a_bare}"}, API, "HTTPS_PROXY"),
    # lower case against upper case
    "lower-wins": Route({"HTTPS_PROXY": A, "https_proxy": B}, API, "https_proxy"),
    "lower-empty-turns-upper-off": Route({"HTTPS_PROXY": A, "https_proxy": ""}, API, None),
    "upper-empty-leaves-lower": Route({"HTTPS_PROXY": "", "https_proxy": B}, API, "https_proxy"),
    "lower-all-proxy": Route({"all_proxy": A}, API, "all_proxy"),
    "cgi-drops-upper-http-proxy": Route(
        {"HTTP_PROXY": A, "REQUEST_METHOD": "POST"}, "http://localhost:{port}/", None
    ),
    "cgi-keeps-lower-http-proxy": Route(
        {"http_proxy": A, "REQUEST_METHOD": "POST"}, "http://localhost:{port}/", "http_proxy"
    ),
    "lower-no-proxy-wins": Route(
        {"HTTPS_PROXY": A, "NO_PROXY": "api.example.com", "no_proxy": "other.example"},
        API,
        "HTTPS_PROXY",
    ),
    # NO_PROXY entries
    "no-proxy-name": Route({"HTTPS_PROXY": A, "NO_PROXY": "api.example.com"}, API, None),
    "no-proxy-parent": Route({"HTTPS_PROXY": A, "NO_PROXY": "example.com"}, API, None),
    "no-proxy-dot-domain": Route({"HTTPS_PROXY": A, "NO_PROXY": ".example.com"}, API, None),
    "no-proxy-dot-domain-not-itself": Route(
        {"HTTPS_PROXY": A, "NO_PROXY": ".example.com"}, "https://example.com/", "HTTPS_PROXY"
    ),
    "no-proxy-suffix-not-on-a-dot": Route(
        {"HTTPS_PROXY": A, "NO_PROXY": "xample.com"}, API, "HTTPS_PROXY"
    ),
    "no-proxy-star": Route({"HTTPS_PROXY": A, "NO_PROXY": "other.example,*"}, API, None),
    "no-proxy-star-dot-is-literal": Route(
        {"HTTPS_PROXY": A, "NO_PROXY": "*.example.com"}, API, "HTTPS_PROXY"
    ),
    "no-proxy-spaces-and-case": Route(
        {"HTTPS_PROXY": A, "NO_PROXY": "other.example , API.Example.COM "}, API, None
    ),
    "no-proxy-port": Route(
        {"HTTPS_PROXY": A, "NO_PROXY": "api.example.com:8443"},
        "https://api.example.com:8443/wa",
        None,
    ),
    "no-proxy-port-other-port": Route(
        {"HTTPS_PROXY": A, "NO_PROXY": "api.example.com:8443"}, API, "HTTPS_PROXY"
    ),
    "no-proxy-default-port-never-matches": Route(
        {"HTTPS_PROXY": A, "NO_PROXY": "api.example.com:443"},
        "https://api.example.com:443/wa",
        "HTTPS_PROXY",
    ),
    "no-proxy-with-scheme": Route(
        {"HTTPS_PROXY": A, "NO_PROXY": "https://api.example.com"}, API, None
    ),
    "no-proxy-with-other-scheme": Route(
        {"HTTPS_PROXY": A, "NO_PROXY": "http://api.example.com"}, API, "HTTPS_PROXY"
    ),
    "no-proxy-ipv4": Route(
        {"HTTP_PROXY": A, "NO_PROXY": "127.0.0.5"}, "http://127.0.0.5:{port}/", None
    ),
    "no-proxy-cidr-is-one-address": Route(
        {"HTTP_PROXY": A, "NO_PROXY": "127.0.0.0/8"}, "http://127.0.0.9:{port}/", "HTTP_PROXY"
    ),
    "no-proxy-ipv6": Route({"HTTP_PROXY": A, "NO_PROXY": "::1"}, "http://[::1]:{port}/", None),
    "no-proxy-localhost": Route(
        {"HTTP_PROXY": A, "NO_PROXY": "localhost"}, "http://localhost:{port}/", None
    ),
    "no-proxy-name-is-not-its-address": Route(
        {"HTTP_PROXY": A, "NO_PROXY": "localhost"}, "http://127.0.0.1:{port}/", "HTTP_PROXY"
    ),
}


@pytest.fixture
def proxies() -> Iterator[dict[str, TestServer]]:
    """Two proxies that record what reaches them and refuse it (502, for CONNECT too)."""
    with serve(lambda _: Reply(status=502)) as a, serve(lambda _: Reply(status=502)) as b:
        yield {A: a, B: b}


# which proxy each placeholder stands for; "{a_bare}" is the first one without "http://"
PLACEHOLDERS = {A: A, B: B, "{a_bare}": A}


def apply(route: Route, proxies: dict[str, TestServer], monkeypatch: pytest.MonkeyPatch) -> str:
    """Set the route's environment; the URL to send to."""
    for name, written in route.env.items():
        value = written
        if written in PLACEHOLDERS:
            value = proxies[PLACEHOLDERS[written]].origin
            if written == "{a_bare}":
                value = value.removeprefix("http://")
        monkeypatch.setenv(name, value)
    return route.url.replace("{port}", str(closed_port()))


def netenv_route(url: str) -> str | None:
    parts = urlsplit(url)
    proxy = netenv.proxy_for(parts.scheme, parts.hostname or "", parts.port)
    return None if proxy is None else proxy.variable


def write_config(
    tmp_path: Path, endpoint: str, kaleyra_host: str = "https://api.kaleyra.io/"
) -> str:
    config = tmp_path / "kctl.yaml"
    config.write_text(
        f"""\
version: 1
providers:
  - nickname: wa
    channel: whatsapp
    endpoint: {endpoint}
    business_number: "+919876543210"
    headers:
      api-key: ${{KALEYRA_API_KEY}}
      sid: HXIN1234567890
      kaleyra-host: {kaleyra_host}
      inbound-message-callback-url: {kaleyra_host}
      delivery-report-callback-url: {kaleyra_host}
""",
        encoding="utf-8",
    )
    return str(config)


def doctor_route(url: str, tmp_path: Path) -> Check:
    """The check in which doctor (offline) reports how kctl reaches the config's endpoint."""
    parts = urlsplit(url)
    host = f"[{parts.hostname}]" if ":" in (parts.hostname or "") else parts.hostname
    port = parts.port or netenv.DEFAULT_PORTS[parts.scheme]
    checks = {c.name: c for c in run_doctor(write_config(tmp_path, url), online=False)}
    assert checks["config"].status == "ok", checks["config"]
    return checks[f"network {host}:{port}"]


def sent_route(url: str, proxies: dict[str, TestServer], lookups: list[str]) -> str | None:
    """Which proxy the transport's request reached ("{a}" or "{b}"), or None when it went
    direct: then it looked the name up (or connected to the address) itself."""
    request = post(url)
    # a refused CONNECT, an unknown name, a closed port: the route is what counts
    with contextlib.suppress(NetworkFailure):
        send(request, retries=0, timeout=2)
    reached = [key for key, server in proxies.items() if server.requests]
    assert len(reached) <= 1, reached
    host = urlsplit(url).hostname or ""
    if reached:
        assert host not in lookups  # a proxy resolves the name, never kctl
        return reached[0]
    assert host in lookups or _is_loopback(host)
    return None


@pytest.mark.parametrize("route", ROUTES.values(), ids=ROUTES.keys())
def test_netenv_doctor_and_the_transport_agree_on_the_route(
    route: Route,
    proxies: dict[str, TestServer],
    lookups: list[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    url = apply(route, proxies, monkeypatch)
    assert netenv_route(url) == route.via

    reported = doctor_route(url, tmp_path).detail
    if route.via is None:
        assert reported.endswith("; kctl connects directly"), reported
    else:
        value = os.environ[route.via]
        assert reported.endswith(f"; kctl connects through the proxy {value} ({route.via})")

    went = sent_route(url, proxies, lookups)
    assert went == (None if route.via is None else PLACEHOLDERS[route.env[route.via]])


def test_a_failure_through_a_proxy_names_the_proxy_that_was_used(
    proxies: dict[str, TestServer], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:pw@{proxies[A].origin[7:]}")
    monkeypatch.setenv("https_proxy", proxies[B].origin)
    with pytest.raises(NetworkFailure) as caught:
        send(post(API), retries=0)
    assert caught.value.message.startswith(
        f"proxy failure on the way to api.example.com:443 via proxy 127.0.0.1:{proxies[B].port}:"
    )
    assert "pw" not in caught.value.message
    assert proxies[A].requests == []
    (connect,) = proxies[B].requests
    assert (connect.method, connect.target) == ("CONNECT", "api.example.com:443")


@pytest.mark.parametrize(
    ("entries", "via"),
    [
        ("10.0.0.0/8", "HTTPS_PROXY"),  # only 10.0.0.0 itself
        ("10.1.2.3", None),
        ("10.1.2.3:8443", "HTTPS_PROXY"),  # the URL has no port 8443
        ("[::1]:8443", "HTTPS_PROXY"),  # httpx cannot parse it: the transport refuses to start
        ("example.com", None),
        ("sub.api.example.com", "HTTPS_PROXY"),
    ],
)
def test_netenv_routes_as_httpx_matches(
    monkeypatch: pytest.MonkeyPatch, entries: str, via: str | None
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://127.0.0.1:3128")
    monkeypatch.setenv("NO_PROXY", entries)
    host = "10.1.2.3" if entries.startswith("10.") else "api.example.com"
    proxy = netenv.proxy_for("https", host, 443)
    assert (None if proxy is None else proxy.variable) == via


@pytest.mark.parametrize(
    ("entry", "caveat"),
    [
        ("api.example.com", None),
        (".example.com", None),
        ("*", None),
        ("10.1.2.3", None),
        ("api.example.com:8443", None),
        ("https://api.example.com", None),
        ("*.example.com", "matches no host: write .example.com for the names under example.com"),
        ("10.0.0.0/8", "a range is not understood: only the address 10.0.0.0 itself bypasses"),
        ("api.example.com:443", "never matches https://api.example.com/"),
        ("api.example.com:80", "never matches http://api.example.com/"),
    ],
)
def test_no_proxy_caveats(entry: str, caveat: str | None) -> None:
    found = netenv.no_proxy_caveat(entry)
    if caveat is None:
        assert found is None
    else:
        assert found is not None
        assert found.startswith(caveat)


# --- trust: which CAs the endpoint's TLS is checked against ------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    write_self_signed(cert, key, 30)
    return cert, key


def serve_tls(
    cert: tuple[Path, Path], reply: Reply
) -> contextlib.AbstractContextManager[TestServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*cert)
    return serve(lambda _: reply, tls=context)


@pytest.fixture
def tls_server(self_signed: tuple[Path, Path]) -> Iterator[TestServer]:
    with serve_tls(self_signed, Reply(status=204)) as server:
        yield server


@pytest.mark.parametrize(
    ("env", "origin", "trusted"),
    [
        ({}, "certifi", False),
        ({"SSL_CERT_FILE": "{cert}"}, "SSL_CERT_FILE", True),
        ({"SSL_CERT_FILE": "{cert}", "SSL_CERT_DIR": "{empty}"}, "SSL_CERT_FILE", True),
        ({"SSL_CERT_FILE": "", "SSL_CERT_DIR": "{empty}"}, "SSL_CERT_DIR", False),
        ({"SSL_CERT_DIR": "{empty}"}, "SSL_CERT_DIR", False),
        ({"REQUESTS_CA_BUNDLE": "{cert}"}, "certifi", False),
    ],
    ids=["certifi", "file", "file-beats-dir", "empty-file-ignored", "dir", "requests-ignored"],
)
def test_doctor_names_the_trust_the_transport_uses(
    env: dict[str, str],
    origin: str,
    trusted: bool,
    self_signed: tuple[Path, Path],
    tls_server: TestServer,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    (tmp_path / "empty").mkdir()
    paths = {"{cert}": str(self_signed[0]), "{empty}": str(tmp_path / "empty")}
    for name, value in env.items():
        monkeypatch.setenv(name, paths.get(value, value))
    source = netenv.ca_source()
    assert source is not None
    assert source.origin == origin

    bundle = {c.name: c for c in run_doctor(None, online=False)}["CA bundle"]
    assert bundle.status == "ok"
    assert origin in bundle.detail
    assert source.path in bundle.detail

    request = post(tls_server.url("/"))
    if trusted:
        assert send(request, retries=0).status == 204
    else:
        with pytest.raises(NetworkFailure, match="certificate verify failed"):
            send(request, retries=0)


def test_a_missing_ssl_cert_dir_stops_doctor_and_the_transport_alike(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", str(tmp_path / "nowhere"))
    check = {c.name: c for c in run_doctor(None, online=False)}["SSL_CERT_DIR"]
    assert (check.status, check.exit_code) == ("fail", 2)
    with pytest.raises(UsageError) as caught:
        send(post("https://127.0.0.1:1/"), retries=0)
    assert caught.value.exit_code == check.exit_code
    assert caught.value.message.startswith(
        f"cannot load the CA certificates named by SSL_CERT_DIR ({tmp_path / 'nowhere'})"
    )


# --- trust: TLS to an https:// proxy is httpcore's, not the endpoint's ----------------------------


@pytest.fixture
def tls_proxy(self_signed: tuple[Path, Path]) -> Iterator[TestServer]:
    """An https:// forward proxy on 127.0.0.1 with the self-signed certificate."""
    with serve_tls(self_signed, Reply.json({"status": "success"})) as server:
        yield server


def doctor_tls_to(proxy: TestServer, endpoint: str, tmp_path: Path) -> Check:
    """Doctor's online TLS check of ``proxy``, the proxy in the way of ``endpoint``."""
    config = write_config(tmp_path, endpoint, kaleyra_host=endpoint)
    checks = {c.name: c for c in run_doctor(config, online=True, timeout=2)}
    return checks[f"tls 127.0.0.1:{proxy.port}"]


def test_ssl_cert_file_is_trusted_for_an_https_proxy_by_doctor_and_the_transport(
    tls_proxy: TestServer,
    self_signed: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", tls_proxy.origin)
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed[0]))
    check = doctor_tls_to(tls_proxy, f"http://localhost:{closed_port()}/wa", tmp_path)
    assert check.status == "ok", check
    assert f"trusting {netenv.PROXY_TRUST}, as for a proxy" in check.detail

    response = send(post("http://ct-adapter.invalid/sms"), retries=0)
    assert response.status == 200
    assert tls_proxy.requests[-1].target == "http://ct-adapter.invalid/sms"


def test_ca_bundle_does_not_apply_to_an_https_proxy_for_doctor_or_the_transport(
    tls_proxy: TestServer,
    self_signed: tuple[Path, Path],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", tls_proxy.origin)
    check = doctor_tls_to(tls_proxy, "https://ct-adapter.example.com/wa", tmp_path)
    assert (check.status, check.exit_code) == ("fail", 4)
    assert "--ca-bundle does not apply to a proxy" in (check.hint or "")

    with pytest.raises(NetworkFailure) as caught:
        send(
            post("https://ct-adapter.invalid/wa"),
            retries=0,
            verify=str(self_signed[0]),
        )
    assert caught.value.message.startswith("TLS failure: certificate verify failed for ")
    assert "--ca-bundle does not" in (caught.value.hint or "")
    assert tls_proxy.requests == []


def test_a_plain_http_send_loads_no_ca_even_through_a_proxy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the endpoint's CA settings cannot matter to http://, so a broken one does not stop it
    monkeypatch.setenv("SSL_CERT_FILE", "/nonexistent/ca.pem")
    with serve(lambda _: Reply.json({"status": "success"})) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.origin)
        response = send(post("http://ct-adapter.invalid/sms"))
    assert response.status == 200
    with pytest.raises(UsageError, match="cannot load the CA certificates named by SSL_CERT_FILE"):
        send(post("https://ct-adapter.invalid/wa"))
