"""Plain http:// goes out without httpx (kctl.send.plain), and nothing a user sees tells the two
wires apart: the same bytes reach the server, the same Response or the same error comes back.

A proxy variable sends a request through httpx, so each case runs once with ``NO_PROXY`` set to a
name nothing uses (httpx) and once without (the plain wire).
"""

from __future__ import annotations

import contextlib
import gzip
import os
import re
import socket
import threading
import zlib
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from kctl.errors import KctlError
from kctl.send.plain import simple_url
from kctl.send.transport import Clock, send
from kctl.send.wire import Request, Response
from tests.servers import RecordedRequest, Reply, serve

PAYLOAD = b'{"payloadVersion":"0.1","msgId":"m-1","to":"919812345678"}'
ZIPPED = gzip.compress(b'{"status": "success"}')
DEFLATED = zlib.compress(b'{"status": "success"}')
RAW_DEFLATED = zlib.compress(b'{"status": "success"}')[2:-4]


@dataclass
class Outcome:
    response: tuple[object, ...] | None
    error: tuple[str, str, str | None] | None
    requests: list[tuple[str, str, tuple[tuple[str, str], ...], bytes]]


def scrub(value: object, port: int) -> object:
    """``value`` with this run's server port written as PORT, so two runs compare."""
    if isinstance(value, str):
        return value.replace(f":{port}", ":PORT")
    if isinstance(value, tuple | list):
        return type(value)(scrub(v, port) for v in value)
    return value


def normalised(
    seen: list[RecordedRequest], port: int
) -> list[tuple[str, str, tuple[tuple[str, str], ...], bytes]]:
    return [(r.method, r.target, scrub(r.headers, port), r.body) for r in seen]  # type: ignore[misc]


def outcome(replies: tuple[Reply, ...], path: str, **options: float) -> Outcome:
    with serve(None, *replies) as srv:
        request = Request(
            method="POST",
            url=srv.url(path),
            headers=(("api-key", "k-123"), ("sid", "HX1")),
            body=PAYLOAD,
            content_type="application/json",
        )
        response: Response | None = None
        error: KctlError | None = None
        try:
            response = send(request, clock=Clock(sleep=lambda _s: None), **options)  # type: ignore[arg-type]
        except KctlError as e:
            error = e
        port = srv.port
        seen = normalised(srv.requests, port)
    shown = None
    if response is not None:
        shown = (
            response.status,
            response.reason,
            response.http_version,
            response.headers,
            response.body,
            response.truncated,
            response.attempts,
            response.notes,
        )
    failed = None if error is None else (type(error).__name__, error.message, error.hint)
    return Outcome(scrub(shown, port), scrub(failed, port), seen)  # type: ignore[arg-type]


CASES: dict[str, tuple[tuple[Reply, ...], str, dict[str, float]]] = {
    "json": ((Reply.json({"status": "success"}, headers=(("X-Id", "r-1"),)),), "/wa?x=1", {}),
    "chunked": (
        (Reply(headers=(("Transfer-Encoding", "chunked"),), chunks=(b"ab", b"cd")),),
        "/",
        {},
    ),
    "gzip": ((Reply(headers=(("Content-Encoding", "gzip"),), body=ZIPPED),), "/", {}),
    "deflate": ((Reply(headers=(("Content-Encoding", "deflate"),), body=DEFLATED),), "/", {}),
    "raw deflate": (
        (Reply(headers=(("Content-Encoding", "deflate"),), body=RAW_DEFLATED),),
        "/",
        {},
    ),
    "bad gzip": ((Reply(headers=(("Content-Encoding", "gzip"),), body=b"nope"),), "/", {}),
    "truncated": ((Reply(body=b"x" * 5000),), "/", {"max_body": 1000}),
    "empty 204": ((Reply(status=204),), "/", {}),
    "http/1.0 close": ((Reply(body=b"hi", keep_alive=False),), "/", {}),
    "non-ascii header": ((Reply(headers=(("X-Name", "jos\u00e9"),), body=b"."),), "/", {}),
    "429 then 200": ((Reply(status=429), Reply.json({"ok": 1})), "/", {}),
    "429 retry-after": ((Reply(status=429, headers=(("Retry-After", "3"),)), Reply()), "/", {}),
    "429 too long": ((Reply(status=429, headers=(("Retry-After", "99"),)),), "/", {}),
    "503 twice": ((Reply(status=503), Reply(status=503), Reply(status=503)), "/", {}),
    "307 same host": (
        (Reply(status=307, headers=(("Location", "/new?v=2"),)), Reply.json({"ok": 1})),
        "/",
        {},
    ),
    "302 post": ((Reply(status=302, headers=(("Location", "/b"),)),), "/", {}),
    "308 other host": (
        (Reply(status=308, headers=(("Location", "http://elsewhere.example/x"),)),),
        "/",
        {},
    ),
    "308 other port": (
        (Reply(status=308, headers=(("Location", "http://127.0.0.1:1/x"),)),),
        "/",
        {},
    ),
    "308 https": (
        (Reply(status=308, headers=(("Location", "https://127.0.0.1/x"),)),),
        "/",
        {},
    ),
    "redirect without location": ((Reply(status=301),), "/", {}),
    "reset mid-body": ((Reply(body=b"x" * 1000, cut_after=10, cut="reset"),), "/", {}),
    "close mid-body": ((Reply(body=b"x" * 1000, cut_after=10, cut="close"),), "/", {}),
    "reset before head": ((Reply(cut_before_head=True, cut="reset"),), "/", {}),
    "close before head": ((Reply(cut_before_head=True, cut="close"),), "/", {}),
    "no answer": ((Reply(delay=3),), "/", {"timeout": 0.5}),
    "stalled body": ((Reply(chunks=(b"a", b"b"), chunk_delay=3),), "/", {"timeout": 0.5}),
}


@pytest.mark.parametrize("name", list(CASES))
def test_both_wires_give_the_same(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    replies, path, options = CASES[name]
    for variable in [k for k in os.environ if k.lower().endswith("_proxy")]:
        monkeypatch.delenv(variable)
    plain = outcome(replies, path, **options)
    monkeypatch.setenv("NO_PROXY", "nothing.invalid")
    via_httpx = outcome(replies, path, **options)
    assert plain.requests == via_httpx.requests
    if name == "stalled body":
        # the attempt's total deadline and the read timeout are both 0.5 s here: either may
        # end the attempt first, on either wire, and each names it its own way
        for error in (plain.error, via_httpx.error):
            assert error is not None
            assert error[0] == "NetworkFailure"
            assert error[1].startswith("read timeout: the reply from 127.0.0.1:PORT ")
            assert "within 0.5 s" in error[1]
        return
    assert plain.error == via_httpx.error
    if plain.response is None or via_httpx.response is None:
        assert plain.response == via_httpx.response
    else:
        # elapsed differs; everything else must not
        assert plain.response == via_httpx.response


@pytest.mark.parametrize(
    ("url", "plain"),
    [
        ("http://127.0.0.1:8080/whatsapp?tenant=a&x=1", True),
        ("http://localhost/sms", True),
        ("http://[::1]:9000/", True),
        ("http://host.example:80/%41", True),
        ("https://127.0.0.1/", False),
        ("http://LOCALHOST/", False),
        ("http://user:pw@127.0.0.1/", False),
        ("http://127.0.0.1/a b", False),
        ("http://127.0.0.1/caf\u00e9", False),
        ("http://127.0.0.1/%zz", False),
        ("http://127.0.0.1:99999/", False),
        ("http://127.0.0.1:/", False),
        ("http://127.0.0.1/#frag", False),
        ("http://-bad-.example/", False),
    ],
)
def test_only_simple_plain_http_urls_skip_httpx(url: str, plain: bool) -> None:
    assert (simple_url(url) is not None) is plain


# --- replies the test server cannot write: raw bytes, then the close --------------------------


@contextlib.contextmanager
def raw_server(reply: bytes) -> Iterator[int]:
    """A loopback port that answers one request with ``reply``, byte for byte, then closes."""
    listener = socket.create_server(("127.0.0.1", 0))

    def answer() -> None:
        conn, _ = listener.accept()
        with conn:
            conn.settimeout(5)
            data = b""
            while b"\r\n\r\n" not in data and (got := conn.recv(65536)):
                data += got
            head, _, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?im)^content-length: *(\d+)", head)
            while len(body) < (int(length[1]) if length else 0) and (got := conn.recv(65536)):
                body += got
            # the client may stop reading part-way (a head over its bound): a reset, then
            with contextlib.suppress(OSError):
                conn.sendall(reply)
                conn.shutdown(socket.SHUT_WR)
                while conn.recv(65536):  # until the client closes: no reset on what is unread
                    pass

    thread = threading.Thread(target=answer, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        thread.join(5)
        listener.close()


def raw_outcome(reply: bytes, *, method: str = "POST", proxied: bool = False) -> object:
    """What ``send`` brings back for ``reply``: the Response's parts, or the error message.
    ``proxied``: through httpx (a proxy variable is set), else on the plain wire."""
    with raw_server(reply) as port:
        request = Request(method, f"http://127.0.0.1:{port}/x", (), b"{}", "application/json")
        with pytest.MonkeyPatch.context() as env:
            for variable in [k for k in os.environ if k.lower().endswith("_proxy")]:
                env.delenv(variable)
            if proxied:
                env.setenv("NO_PROXY", "nothing.invalid")
            try:
                r = send(request, timeout=5, retries=0, clock=Clock(sleep=lambda _s: None))
            except KctlError as e:
                return e.message.replace(f":{port}", ":PORT")
    return (r.status, r.reason, r.http_version, r.headers, r.body)


OK_HI = (200, "OK", "HTTP/1.1", (("Content-Length", "2"),), b"hi")

# where llhttp and h11 read the same reply the same way
SAME_ON_BOTH: dict[str, tuple[bytes, object]] = {
    "interim replies skipped": (
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\n"
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        OK_HI,
    ),
    "an interim reply and nothing after": (
        b"HTTP/1.1 103 Early Hints\r\n\r\n",
        "connection closed by 127.0.0.1:PORT before any reply",
    ),
    "bare LF line ends": (b"HTTP/1.1 200 OK\nContent-Length: 2\n\nhi", OK_HI),
    "bytes after the reply": (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 500", OK_HI),
    "body to the close": (
        b"HTTP/1.0 200 OK\r\nX-A: 1\r\n\r\nhello",
        (200, "OK", "HTTP/1.0", (("X-A", "1"),), b"hello"),
    ),
    "chunked with extensions and trailers": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2;x=1\r\nhi\r\n0\r\nX-T: t\r\n\r\n",
        (200, "OK", "HTTP/1.1", (("Transfer-Encoding", "chunked"),), b"hi"),
    ),
    "spaces around header values": (
        b"HTTP/1.1 200 OK\r\nX-A:  spaced \t\r\nX-B:\r\nContent-Length: 2\r\n\r\nhi",
        (200, "OK", "HTTP/1.1", (("X-A", "spaced"), ("X-B", ""), ("Content-Length", "2")), b"hi"),
    ),
    "a header line folded onto the next": (
        b"HTTP/1.1 200 OK\r\nX-A: one\r\n two\r\nContent-Length: 2\r\n\r\nhi",
        (200, "OK", "HTTP/1.1", (("X-A", "one two"), ("Content-Length", "2")), b"hi"),
    ),
    "control characters in a header value": (
        b"HTTP/1.1 200 OK\r\nX-A: a\x01b\x1bc\x7f\r\nContent-Length: 2\r\n\r\nhi",
        (200, "OK", "HTTP/1.1", (("X-A", "a\x01b\x1bc\x7f"), ("Content-Length", "2")), b"hi"),
    ),
    "spaces after a chunk size": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2 \r\nhi\r\n0\r\n\r\n",
        (200, "OK", "HTTP/1.1", (("Transfer-Encoding", "chunked"),), b"hi"),
    ),
    "a final reply after an interim one that closes": (
        b"HTTP/1.0 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi",
        OK_HI,
    ),
    "reason as sent, ASCII only": (
        b"HTTP/1.1 200  Fine caf\xc3\xa9 \r\nContent-Length: 2\r\n\r\nhi",
        (200, " Fine caf ", "HTTP/1.1", (("Content-Length", "2"),), b"hi"),
    ),
    "204 with a body anyway": (
        b"HTTP/1.1 204 No Content\r\nContent-Length: 2\r\n\r\nhi",
        (204, "No Content", "HTTP/1.1", (("Content-Length", "2"),), b""),
    ),
    "the status line alone": (
        b"HTTP/1.1 200 OK\r\n",
        "connection closed by 127.0.0.1:PORT before any reply",
    ),
    "the body cut short": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhi",
        "connection closed by 127.0.0.1:PORT mid-response",
    ),
    "a chunked body cut short": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhi",
        "connection closed by 127.0.0.1:PORT mid-response",
    ),
}


@pytest.mark.parametrize("name", list(SAME_ON_BOTH))
def test_raw_replies_read_alike_on_both_wires(name: str) -> None:
    reply, expected = SAME_ON_BOTH[name]
    assert raw_outcome(reply) == expected
    assert raw_outcome(reply, proxied=True) == expected


def test_a_head_reply_ends_with_its_head() -> None:
    reply = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\n"
    expected = (200, "OK", "HTTP/1.1", (("Content-Length", "5"),), b"")
    assert raw_outcome(reply, method="HEAD") == expected
    assert raw_outcome(reply, method="HEAD", proxied=True) == expected


INVALID = "invalid HTTP reply from 127.0.0.1:PORT: "

# where the plain wire refuses, with llhttp's reason (or kctl's): httpx refuses too, in h11's
# words (first group), or reads what llhttp refuses as framing a body two ways (second group)
PLAIN_REFUSES: dict[str, tuple[bytes, str]] = {
    "not HTTP at all": (
        b"SSH-2.0-OpenSSH_9.6\r\n",
        "it does not start with an HTTP status line: 'SSH-2.0-OpenSSH_9.6'",
    ),
    "a status code of two digits": (b"HTTP/1.1 99 Odd\r\n\r\n", "invalid status code"),
    "a status code under 100": (b"HTTP/1.1 099 Odd\r\n\r\n", "invalid status code 099"),
    "a switch of protocols": (
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: h2c\r\nConnection: Upgrade\r\n\r\n",
        "101 Switching Protocols, to a request that offered none",
    ),
    "a transfer coding other than chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
        "Transfer-Encoding 'gzip, chunked': kctl reads chunked only",
    ),
    "a space in a header name": (b"HTTP/1.1 200 OK\r\nX A: 1\r\n\r\n", "invalid header token"),
    "a NUL in a header value": (
        b"HTTP/1.1 200 OK\r\nX: a\0b\r\n\r\n",
        "a NUL character in a header value",
    ),
    "a CR in a header value": (
        b"HTTP/1.1 200 OK\r\nX: a\rb\r\n\r\n",
        "missing expected LF after header value",
    ),
    "Content-Length of letters": (
        b"HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        "invalid character in Content-Length",
    ),
    "a head without end": (
        b"HTTP/1.1 200 OK\r\nX: " + b"a" * 200_000 + b"\r\n\r\n",
        "status line and headers over 100 KiB",
    ),
    "a bad chunk size": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhi\r\n0\r\n\r\n",
        "invalid character in chunk size",
    ),
    # httpx reads these
    "Content-Length twice": (
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Length: 2\r\n\r\nhi",
        "duplicate Content-Length",
    ),
    "Content-Length beside chunked": (
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 2\r\n\r\n"
        b"2\r\nhi\r\n0\r\n\r\n",
        "Content-Length can't be present with Transfer-Encoding",
    ),
    "HTTP/1.2": (b"HTTP/1.2 200 OK\r\nContent-Length: 0\r\n\r\n", "invalid HTTP version"),
}


@pytest.mark.parametrize("name", list(PLAIN_REFUSES))
def test_the_plain_wire_refuses_a_malformed_reply_saying_why(name: str) -> None:
    reply, reason = PLAIN_REFUSES[name]
    assert raw_outcome(reply) == INVALID + reason
