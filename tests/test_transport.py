"""kctl.send.transport against real loopback servers: what arrives, what comes back, what fails."""

from __future__ import annotations

import base64
import datetime as dt
import shutil
import socket
import ssl
import subprocess
import sys
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path

import pytest

from kctl import __version__
from kctl.errors import NetworkFailure, UsageError
from kctl.send.transport import Clock, parse_retry_after, send
from kctl.send.verify import reach
from kctl.send.wire import Request
from tests.servers import RecordedRequest, Reply, TestServer, serve, write_self_signed

SECRET = "k-3cr3t-api-key-9f1c"
PROXY_VARS = (
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
)


@pytest.fixture(autouse=True)
def clean_network_env(monkeypatch: pytest.MonkeyPatch) -> None:
    # transport honours these (trust_env); a developer's proxy must not capture loopback tests
    for name in PROXY_VARS:
        monkeypatch.delenv(name, raising=False)


def adapter_request(url: str, **changes: object) -> Request:
    fields: dict[str, object] = {
        "method": "POST",
        "url": url,
        "headers": (("api-key", SECRET), ("sid", "HXIN1234567890")),
        "body": b'{"payloadVersion":"0.1","msgId":"m-1","to":"919812345678"}',
        "content_type": "application/json",
    }
    fields.update(changes)
    return Request(**fields)  # type: ignore[arg-type]


def closed_port(host: str = "127.0.0.1") -> int:
    """A port nothing listens on (bound and released; the kernel does not hand it out again at
    once)."""
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


def assert_no_secret(error: BaseException) -> None:
    assert isinstance(error, NetworkFailure | UsageError)
    assert SECRET not in error.message
    assert SECRET not in (error.hint or "")


# --- what arrives -------------------------------------------------------------------------------


def test_request_arrives_byte_for_byte_with_headers_in_order() -> None:
    with serve(None, Reply.json({"status": "success"}, headers=(("X-Request-Id", "r-7"),))) as srv:
        response = send(
            adapter_request(
                srv.url("/whatsapp?tenant=a&x=1"),
                headers=(("api-key", SECRET), ("sid", "HXIN1234567890"), ("X-Trace", "MiXeD")),
                basic_auth=("user", "pä:ss"),
            )
        )
    (arrived,) = srv.requests
    assert arrived.method == "POST"
    assert arrived.target == "/whatsapp?tenant=a&x=1"
    assert arrived.header_names() == [
        "Host",
        "api-key",
        "sid",
        "X-Trace",
        "Content-Type",
        "Authorization",
        "User-Agent",
        "Accept-Encoding",
        "Content-Length",
    ]
    token = base64.b64encode("user:pä:ss".encode()).decode()
    assert arrived.headers == (
        ("Host", f"127.0.0.1:{srv.port}"),
        ("api-key", SECRET),
        ("sid", "HXIN1234567890"),
        ("X-Trace", "MiXeD"),
        ("Content-Type", "application/json"),
        ("Authorization", f"Basic {token}"),
        ("User-Agent", f"kctl/{__version__}"),
        ("Accept-Encoding", "identity"),
        ("Content-Length", str(len(arrived.body))),
    )
    head = "".join(f"{k}: {v}\r\n" for k, v in arrived.headers)
    assert arrived.raw_head == f"POST /whatsapp?tenant=a&x=1 HTTP/1.1\r\n{head}\r\n".encode()
    assert arrived.body == b'{"payloadVersion":"0.1","msgId":"m-1","to":"919812345678"}'

    assert response.status == 200
    assert response.reason == "OK"
    assert response.http_version == "HTTP/1.1"
    assert response.headers[:2] == (("Content-Type", "application/json"), ("X-Request-Id", "r-7"))
    assert response.header("x-request-id") == "r-7"
    assert response.body == b'{"status": "success"}'
    assert (response.truncated, response.attempts, response.notes) == (False, 1, ())
    assert 0 < response.elapsed < 5


def test_form_body_and_request_own_user_agent_and_content_type_are_kept() -> None:
    body = b"to=919812345678&sender=KLRHXA&body=Hi%20there&message_id=m-2"
    with serve(None, Reply.json({"status": "success"})) as srv:
        send(
            adapter_request(
                srv.url("/sms"),
                headers=(("User-Agent", "CleverTap"), ("content-type", "text/plain")),
                body=body,
                content_type="application/x-www-form-urlencoded",
            )
        )
    (arrived,) = srv.requests
    assert arrived.header_names() == [
        "Host",
        "User-Agent",
        "content-type",
        "Accept-Encoding",
        "Content-Length",
    ]
    assert arrived.header("user-agent") == "CleverTap"
    assert arrived.header("content-type") == "text/plain"
    assert arrived.form()[0] == ("to", "919812345678")


def test_basic_auth_replaces_an_authorization_header_from_the_config() -> None:
    with serve(None, Reply.json({"status": "success"})) as srv:
        send(
            adapter_request(
                srv.url("/sms"),
                headers=(("Authorization", "Bearer old"),),
                basic_auth=("u", "p"),
            )
        )
    (arrived,) = srv.requests
    assert [v for k, v in arrived.headers if k.lower() == "authorization"] == ["Basic dTpw"]


# --- bad input: usage errors, before anything is sent --------------------------------------------


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("ftp://files.example.com/x", "unsupported URL scheme ('ftp')"),
        ("ct-adapter.example.com/whatsapp", "unsupported URL scheme"),
        ("https://", "no host"),
        ("https://host:abc/x", "invalid URL"),
        ("https://exa mple.com/x", "invalid characters in the host"),
    ],
)
def test_malformed_or_unsupported_url_is_a_usage_error(url: str, says: str) -> None:
    with pytest.raises(UsageError) as caught:
        send(adapter_request(url))
    assert caught.value.exit_code == 2
    assert says in caught.value.message


@pytest.mark.parametrize(
    ("value", "says"),
    [(SECRET + "\r\nX-Evil: 1", "line break"), (SECRET + "é", "non-ASCII")],
)
def test_header_value_that_http_cannot_carry_is_a_usage_error_without_the_value(
    value: str, says: str
) -> None:
    with serve(None) as srv, pytest.raises(UsageError) as caught:
        send(adapter_request(srv.url("/"), headers=(("api-key", value),)))
    assert says in caught.value.message
    assert "'api-key'" in caught.value.message
    assert_no_secret(caught.value)
    assert srv.connections == 0


def test_missing_ca_bundle_is_a_usage_error(tmp_path: Path) -> None:
    with pytest.raises(UsageError) as caught:
        send(adapter_request("https://127.0.0.1:1/"), verify=str(tmp_path / "nope.pem"))
    assert "cannot use CA bundle" in caught.value.message
    assert "--ca-bundle" in (caught.value.hint or "")


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("SSL_CERT_FILE", "/nonexistent/ca.pem", "cannot load the CA certificates"),
        ("HTTPS_PROXY", "ftp://proxy.invalid:21", "proxy settings in the environment"),
        ("HTTPS_PROXY", "http://proxy.invalid:port", "proxy settings in the environment"),
    ],
)
def test_unusable_environment_settings_are_usage_errors(
    monkeypatch: pytest.MonkeyPatch, name: str, value: str, says: str
) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(UsageError) as caught:
        send(adapter_request("https://127.0.0.1:1/"), retries=0)
    assert says in caught.value.message


# --- connection failures -----------------------------------------------------------------------


def test_connection_refused_is_a_network_failure_naming_host_and_port() -> None:
    port = closed_port()
    with pytest.raises(NetworkFailure) as caught:
        send(adapter_request(f"http://127.0.0.1:{port}/whatsapp"), retries=0)
    error = caught.value
    assert error.exit_code == 4
    assert error.message == f"connection refused by 127.0.0.1:{port}"
    # the OS's own error is kept under it, whichever wire sent the request
    chain: list[BaseException] = []
    link: BaseException | None = error
    while link is not None and len(chain) < 10:
        chain.append(link)
        link = link.__cause__ or link.__context__
    assert any(isinstance(e, ConnectionRefusedError) for e in chain)
    assert_no_secret(error)


def test_connection_refused_is_retried_then_reported_with_the_attempt_count() -> None:
    # the one retry test on the system clock: send really waits out the backoff by default
    port = closed_port()
    started = time.monotonic()
    with pytest.raises(NetworkFailure) as caught:
        send(adapter_request(f"http://127.0.0.1:{port}/"), retries=1)
    assert caught.value.message == f"connection refused by 127.0.0.1:{port} (after 2 attempts)"
    assert time.monotonic() - started >= 0.5  # the default first backoff


def test_connection_refused_then_a_server_appears_succeeds_on_the_retry() -> None:
    port = closed_port()
    late = TestServer(lambda _: Reply.json({"status": "success"}), port=port)
    slept: list[float] = []

    def sleep(seconds: float) -> None:  # the server comes up during the backoff
        slept.append(seconds)
        late.start()

    try:
        response = send(
            adapter_request(f"http://127.0.0.1:{port}/"), retries=2, clock=Clock(sleep=sleep)
        )
    finally:
        late.stop()
    assert slept == [0.5]
    assert response.status == 200
    assert response.attempts == 2
    assert response.notes == ("retried 1 time after connection refused (waited 0.5 s)",)
    assert len(late.requests) == 1


def test_a_refused_proxy_is_retried_too(monkeypatch: pytest.MonkeyPatch) -> None:
    # httpx's own connect retries (HTTPTransport(retries=...)) never apply through a proxy
    port = closed_port()
    proxy = TestServer(lambda _: Reply.json({"status": "success"}), port=port)
    monkeypatch.setenv("HTTP_PROXY", f"http://127.0.0.1:{port}")
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        proxy.start()

    try:
        response = send(
            adapter_request("http://ct-adapter.invalid/sms"), retries=1, clock=Clock(sleep=sleep)
        )
    finally:
        proxy.stop()
    assert (slept, response.status, response.attempts) == ([0.5], 200, 2)
    assert response.notes == ("retried 1 time after connection refused (waited 0.5 s)",)
    assert proxy.requests[0].target == "http://ct-adapter.invalid/sms"


@pytest.mark.parametrize(
    ("error", "attempts", "says"),
    [
        (socket.EAI_NONAME, 1, "DNS failure: cannot resolve ct-adapter.invalid"),
        (socket.EAI_AGAIN, 3, "DNS failure: cannot resolve ct-adapter.invalid (after 3 attempts)"),
    ],
    ids=["unknown-name", "temporary-failure"],
)
def test_only_a_temporary_dns_failure_is_retried(
    monkeypatch: pytest.MonkeyPatch, error: int, attempts: int, says: str
) -> None:
    # httpx's own connect retries would look an unknown name up again, and again
    looked_up: list[str] = []

    def getaddrinfo(host: str, *args: object, **kwargs: object) -> object:
        looked_up.append(host)  # answered here: no DNS query leaves the machine
        raise socket.gaierror(error, "no such name" if error == socket.EAI_NONAME else "try again")

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    slept: list[float] = []
    with pytest.raises(NetworkFailure) as caught:
        send(
            adapter_request("https://ct-adapter.invalid/wa"),
            retries=2,
            clock=Clock(sleep=slept.append),
        )
    assert caught.value.message == says
    assert looked_up == ["ct-adapter.invalid"] * attempts
    assert slept == [0.5, 1.0][: attempts - 1]


@pytest.mark.skipif(sys.platform != "linux", reason="relies on Linux dropping SYNs to a full queue")
def test_connect_timeout_when_the_listen_queue_is_full() -> None:
    slept: list[float] = []
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port = listener.getsockname()[1]
        fillers = []
        try:
            for _ in range(3):  # never accepted: the queue fills and new SYNs are dropped
                filler = socket.socket()
                filler.setblocking(False)
                fillers.append(filler)
                filler.connect_ex(("127.0.0.1", port))
            time.sleep(0.05)
            with pytest.raises(NetworkFailure) as caught:
                send(
                    adapter_request(f"http://127.0.0.1:{port}/"),
                    timeout=0.3,
                    retries=1,
                    clock=Clock(sleep=slept.append),
                )
        finally:
            for filler in fillers:
                filler.close()
    assert caught.value.message == (
        f"connect timeout: no connection to 127.0.0.1:{port} within 0.3 s (after 2 attempts)"
    )
    assert slept == [0.5]


# --- timeouts and broken replies: reported, never retried --------------------------------------


def test_no_answer_within_the_timeout_is_a_read_timeout_and_not_retried() -> None:
    with serve(None, Reply(delay=3), Reply()) as srv:
        started = time.monotonic()
        with pytest.raises(NetworkFailure) as caught:
            send(adapter_request(srv.url("/")), timeout=0.3, retries=2)
        took = time.monotonic() - started
    assert caught.value.message == f"read timeout: no answer from 127.0.0.1:{srv.port} within 0.3 s"
    assert "--timeout" in (caught.value.hint or "")
    assert len(srv.requests) == 1  # the message may have gone out: a retry could double-send
    assert took < 2


def test_a_slow_body_within_the_per_read_timeout_arrives_whole() -> None:
    pieces = (b'{"status":', b' "success"', b"}")
    with serve(None, Reply(chunks=pieces, chunk_delay=0.15)) as srv:
        response = send(adapter_request(srv.url("/")), timeout=1.0)
    assert response.body == b'{"status": "success"}'
    assert response.elapsed >= 0.3


def test_a_body_that_stalls_is_a_read_timeout_mid_body() -> None:
    stalling = Reply(chunks=(b'{"sta', b'tus": "success"}'), chunk_delay=5)
    # a second, not less: the head must be in before the deadline, also on a busy machine
    with serve(None, stalling) as srv, pytest.raises(NetworkFailure) as caught:
        send(adapter_request(srv.url("/")), timeout=1.0)
    assert caught.value.message == (
        f"read timeout: the reply from 127.0.0.1:{srv.port} was not complete within 1 s"
    )


# Each byte comes well within the per-read timeout, so only a deadline for the whole attempt
# ends these: before there was one, they took as long as the server liked (issue 16, item 3).


def test_a_reply_that_trickles_in_byte_by_byte_meets_the_deadline() -> None:
    answer = Reply.json({"status": "success"})
    trickling = Reply(headers=answer.headers, body=answer.body, trickle=0.2)
    with serve(None, trickling) as srv:
        started = time.monotonic()
        with pytest.raises(NetworkFailure) as caught:
            send(adapter_request(srv.url("/")), timeout=1.0, retries=2)
        took = time.monotonic() - started
    # the head alone is ~70 bytes: 14 s at this pace
    assert caught.value.message == f"read timeout: no answer from 127.0.0.1:{srv.port} within 1 s"
    assert len(srv.requests) == 1  # not retried: the message may have gone out
    assert took < 7


def test_a_body_that_trickles_in_meets_the_deadline() -> None:
    pieces = tuple(bytes([c]) for c in b'{"status": "success", "padding": "..............."}')
    with serve(None, Reply(chunks=pieces, chunk_delay=0.25)) as srv:
        started = time.monotonic()
        with pytest.raises(NetworkFailure) as caught:
            send(adapter_request(srv.url("/")), timeout=1.0)
        took = time.monotonic() - started
    assert caught.value.message == (
        f"read timeout: the reply from 127.0.0.1:{srv.port} was not complete within 1 s"
    )
    assert took < 7  # the whole body takes 13 s


@pytest.mark.parametrize(
    ("reply", "says"),
    [
        (Reply(body=b"x" * 1000, cut_after=10, cut="reset"), "connection reset by {} mid-response"),
        (
            Reply(body=b"x" * 1000, cut_after=10, cut="close"),
            "connection closed by {} mid-response",
        ),
        (Reply(cut_before_head=True, cut="reset"), "connection reset by {} before any reply"),
        (Reply(cut_before_head=True, cut="close"), "connection closed by {} before any reply"),
    ],
    ids=["reset-mid-body", "close-mid-body", "reset-before-head", "close-before-head"],
)
def test_a_dropped_connection_is_reported_and_not_retried(reply: Reply, says: str) -> None:
    with serve(None, reply, Reply()) as srv, pytest.raises(NetworkFailure) as caught:
        send(adapter_request(srv.url("/")), retries=2)
    assert caught.value.message == says.format(f"127.0.0.1:{srv.port}")
    assert_no_secret(caught.value)
    assert len(srv.requests) == 1


# --- retries on "not now" answers ----------------------------------------------------------------


NOW = dt.datetime(2015, 10, 21, 7, 28, 0, tzinfo=dt.UTC)


@pytest.fixture
def slept() -> list[float]:
    """The waits send asked its clock for, which took no time."""
    return []


@pytest.fixture
def clock(slept: list[float]) -> Clock:
    return Clock(sleep=slept.append, now=lambda: NOW)


def test_429_with_retry_after_seconds_is_retried_after_that_wait(
    clock: Clock, slept: list[float]
) -> None:
    busy = Reply.json({"status": "failure"}, status=429, headers=(("Retry-After", "1"),))
    with serve(None, busy, Reply.json({"status": "success"})) as srv:
        response = send(adapter_request(srv.url("/")), retries=2, clock=clock)
    assert response.status == 200
    assert response.attempts == 2
    assert response.notes == ("retried 1 time after 429 (Retry-After 1 s)",)
    assert slept == [1.0]
    first, second = srv.requests
    assert (first.headers, first.body) == (second.headers, second.body)


def test_429_without_retry_after_backs_off_then_the_last_429_is_returned(
    clock: Clock, slept: list[float]
) -> None:
    with serve(None, Reply(status=429), Reply(status=429), Reply(status=429)) as srv:
        response = send(adapter_request(srv.url("/")), retries=2, clock=clock)
    assert response.status == 429
    assert response.attempts == 3
    assert response.notes == ("retried 2 times after 429 (waited 0.5 s, 1 s)",)
    assert slept == [0.5, 1.0]
    assert len(srv.requests) == 3


@pytest.mark.parametrize(
    ("date", "wait"),
    [("Wed, 21 Oct 2015 07:28:03 GMT", 3.0), ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0)],
    ids=["ahead", "already-passed"],
)
def test_503_is_retried_and_retry_after_as_an_http_date_is_honoured(
    clock: Clock, slept: list[float], date: str, wait: float
) -> None:
    unavailable = Reply(status=503, headers=(("Retry-After", date),))
    with serve(None, unavailable, Reply.json({"status": "success"})) as srv:
        response = send(adapter_request(srv.url("/")), retries=1, clock=clock)
    assert (response.status, response.attempts) == (200, 2)
    assert response.notes == (f"retried 1 time after 503 (Retry-After {wait:g} s)",)
    assert slept == [wait]


def test_retry_after_over_the_cap_is_reported_not_waited_out(
    clock: Clock, slept: list[float]
) -> None:
    busy = Reply(status=429, headers=(("Retry-After", "120"),))
    with serve(None, busy, Reply.json({"status": "success"})) as srv:
        response = send(adapter_request(srv.url("/")), retries=2, clock=clock)
    assert slept == []
    assert (response.status, response.attempts) == (429, 1)
    assert response.notes == (
        "HTTP 429 asked to retry after 120 s, over the 10 s limit: not retried",
    )


def test_no_retries_means_one_attempt() -> None:
    with serve(None, Reply(status=503), Reply()) as srv:
        response = send(adapter_request(srv.url("/")), retries=0)
    assert (response.status, response.attempts, response.notes) == (503, 1, ())


@pytest.mark.parametrize("status", [500, 502, 504, 400, 408])
def test_other_statuses_are_never_retried(status: int) -> None:
    with serve(None, Reply(status=status), Reply()) as srv:
        response = send(adapter_request(srv.url("/")), retries=2)
    assert (response.status, response.attempts, response.notes) == (status, 1, ())
    assert len(srv.requests) == 1


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("3", 3.0),
        (" 0 ", 0.0),
        ("Wed, 21 Oct 2015 07:28:05 GMT", 5.0),
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0.0),  # in the past
        ("soon", None),
        ("-1", None),
        ("", None),
        (None, None),
    ],
)
def test_parse_retry_after(value: str | None, seconds: float | None) -> None:
    now = dt.datetime(2015, 10, 21, 7, 28, 0, tzinfo=dt.UTC)
    assert parse_retry_after(value, now=now) == seconds


# --- redirects ----------------------------------------------------------------------------------


def moved(location: str, status: int = 307) -> Reply:
    return Reply(status=status, headers=(("Location", location),))


def test_same_host_307_is_followed_with_method_body_and_headers() -> None:
    def handler(request: RecordedRequest) -> Reply:
        if request.path == "/old":
            return moved("/new?v=2", 307)
        if request.path == "/new":
            return moved("/final", 308)
        return Reply.json({"status": "success"})

    with serve(handler) as srv:
        response = send(adapter_request(srv.url("/old")))
    old, new, final = srv.requests
    assert [r.target for r in srv.requests] == ["/old", "/new?v=2", "/final"]
    assert old.method == new.method == final.method == "POST"
    assert old.body == new.body == final.body
    assert final.header("api-key") == SECRET
    assert response.status == 200
    assert response.attempts == 1
    assert response.notes == (
        f"followed HTTP 307 redirect to {srv.url('/new?v=2')} (same host)",
        f"followed HTTP 308 redirect to {srv.url('/final')} (same host)",
    )


@pytest.mark.parametrize("status", [301, 302, 303])
def test_a_redirect_that_would_turn_the_post_into_a_get_is_not_followed(status: int) -> None:
    with serve(None, moved("/elsewhere", status), Reply()) as srv:
        response = send(adapter_request(srv.url("/old")))
    assert response.status == status
    assert len(srv.requests) == 1
    assert response.notes == (
        f"HTTP {status} redirect to {srv.url('/elsewhere')} not followed: following a {status} "
        "turns the POST into a GET and drops the payload; point the endpoint at the final URL",
    )


def test_a_redirect_to_another_host_is_not_followed_and_gets_no_credentials() -> None:
    with serve(None, host="127.0.0.2") as other, serve(None) as srv:
        srv.enqueue(moved(other.url("/collect"), 307))
        response = send(adapter_request(srv.url("/whatsapp"), basic_auth=("u", "p")))
    assert response.status == 307
    assert response.notes == (
        f"redirect to {other.url('/collect')} not followed: "
        "credentials are not sent to another host",
    )
    assert other.connections == 0
    assert other.requests == []


def test_a_redirect_to_another_port_on_the_same_host_is_not_followed() -> None:
    with serve(None) as other, serve(None) as srv:
        srv.enqueue(moved(other.url("/collect"), 308))
        response = send(adapter_request(srv.url("/whatsapp")))
    assert response.status == 308
    assert response.notes[0].startswith(f"redirect to {other.url('/collect')} not followed:")
    assert "another port" in response.notes[0]
    assert other.connections == 0


def test_redirects_stop_after_five_hops() -> None:
    with serve(lambda _: moved("/loop")) as srv:
        response = send(adapter_request(srv.url("/loop")))
    assert response.status == 307
    assert len(srv.requests) == 6
    assert response.notes[-1] == (
        f"redirect to {srv.url('/loop')} not followed: stopped after 5 redirects"
    )


# --- the body cap ------------------------------------------------------------------------------


def test_a_30_mb_reply_is_cut_at_the_cap_with_bounded_memory() -> None:
    with serve(None, Reply(stream_size=30_000_000)) as srv:
        tracemalloc.start()
        try:
            response = send(adapter_request(srv.url("/")), max_body=1_000_000)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert len(response.body) == 1_000_000
    assert response.truncated is True
    assert response.header("content-length") == "30000000"
    assert response.notes == ("body truncated at 1000000 bytes",)
    assert peak < 8_000_000


def test_a_body_exactly_at_the_cap_is_not_truncated() -> None:
    with serve(None, Reply(body=b"y" * 4096)) as srv:
        response = send(adapter_request(srv.url("/")), max_body=4096)
    assert (len(response.body), response.truncated, response.notes) == (4096, False, ())


# --- TLS -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and its key (PEM files)."""
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    write_self_signed(cert, key)
    return cert, key


@pytest.fixture
def tls_server(self_signed: tuple[Path, Path]) -> Iterator[TestServer]:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*self_signed)
    with serve(lambda _: Reply.json({"status": "success"}), tls=context) as srv:
        yield srv


def test_an_untrusted_certificate_is_a_tls_failure_pointing_at_ca_bundle(
    tls_server: TestServer,
) -> None:
    with pytest.raises(NetworkFailure) as caught:
        send(adapter_request(tls_server.url("/whatsapp")), retries=2)
    error = caught.value
    assert error.message.startswith(
        f"TLS failure: certificate verify failed for 127.0.0.1:{tls_server.port} ("
    )
    assert "--ca-bundle" in (error.hint or "")
    assert "SSL_CERT_FILE" in (error.hint or "")
    assert_no_secret(error)
    assert tls_server.connections == 1  # a bad certificate stays bad: not retried
    assert tls_server.requests == []


def test_the_ca_bundle_makes_the_certificate_trusted(
    tls_server: TestServer, self_signed: tuple[Path, Path]
) -> None:
    response = send(adapter_request(tls_server.url("/whatsapp")), verify=str(self_signed[0]))
    assert response.status == 200
    assert tls_server.requests[0].header("api-key") == SECRET


def test_ssl_cert_file_is_honoured(
    tls_server: TestServer, self_signed: tuple[Path, Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SSL_CERT_FILE", str(self_signed[0]))
    assert send(adapter_request(tls_server.url("/"))).status == 200


def test_verify_reachability_trusts_what_a_send_trusts_a_ca_directory_too(
    tls_server: TestServer, self_signed: tuple[Path, Path], tmp_path: Path
) -> None:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl to name the certificate by its subject hash")
    cert = str(self_signed[0])
    digest = subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", cert],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    folder = tmp_path / "cas"
    folder.mkdir()
    shutil.copy(cert, folder / f"{digest}.0")
    assert send(adapter_request(tls_server.url("/")), verify=str(folder)).status == 200
    assert 0 <= reach(tls_server.url("/"), 2.0, str(folder)) < 2.0


def test_https_to_a_plain_http_port_is_a_tls_handshake_failure() -> None:
    with serve(None, Reply()) as srv, pytest.raises(NetworkFailure) as caught:
        send(adapter_request(f"https://127.0.0.1:{srv.port}/"))
    assert caught.value.message.startswith(f"TLS failure: handshake with 127.0.0.1:{srv.port}")


# --- proxies from the environment --------------------------------------------------------------


def test_http_proxy_from_the_environment_is_used(monkeypatch: pytest.MonkeyPatch) -> None:
    with serve(None, Reply.json({"status": "success"})) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.origin)
        # a name that cannot resolve: only the proxy ever sees it
        response = send(adapter_request("http://ct-adapter.invalid/sms"))
    assert response.status == 200
    (arrived,) = proxy.requests
    assert arrived.target == "http://ct-adapter.invalid/sms"
    assert arrived.header("api-key") == SECRET


def test_no_proxy_bypasses_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port("127.0.0.2")
    with serve(None, Reply()) as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.origin)
        monkeypatch.setenv("NO_PROXY", "127.0.0.2")
        with pytest.raises(NetworkFailure) as caught:
            send(adapter_request(f"http://127.0.0.2:{port}/"), retries=0)
    assert caught.value.message == f"connection refused by 127.0.0.2:{port}"
    assert proxy.requests == []


def test_a_failure_through_a_proxy_names_the_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    port = closed_port()
    monkeypatch.setenv("HTTPS_PROXY", f"http://user:pw@127.0.0.1:{port}")
    with pytest.raises(NetworkFailure) as caught:
        send(adapter_request("https://ct-adapter.invalid/whatsapp"), retries=0)
    assert caught.value.message == (
        f"connection refused by ct-adapter.invalid:443 via proxy 127.0.0.1:{port}"
    )
