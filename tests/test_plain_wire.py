"""Plain http:// goes out without httpx (kctl.send.plain), and nothing a user sees tells the two
wires apart: the same bytes reach the server, the same Response or the same error comes back.

A proxy variable sends a request through httpx, so each case runs once with ``NO_PROXY`` set to a
name nothing uses (httpx) and once without (the plain wire).
"""

from __future__ import annotations

import gzip
import os
import zlib
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
