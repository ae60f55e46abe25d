"""What kctl's servers do to stay cheap under load, held to what a client or a reader sees:
log lines batched per loop pass, report output batched per burst, pipelined requests beyond
what a connection holds unanswered, a client that never reads, callback URLs decided once.
"""

from __future__ import annotations

import asyncio
import socket
import time
from urllib.parse import urlsplit

import pytest

from kctl.servers.callbacks import Courier, _request_head
from kctl.servers.http import (
    _EVENTS_HELD,
    HttpRequest,
    HttpResponse,
    HttpServer,
    Limits,
    LoopLog,
)
from kctl.servers.listener import StreamEmitter
from kctl.servers.sandbox import Sandbox
from tests.support import Lines
from tests.test_http_framing import responses, wait_until


def _exchange_all(port: int, data: bytes, status: bytes, count: int) -> bytes:
    """Send ``data`` on one connection; read until ``count`` answers with ``status`` came."""
    reply = b""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(data)
        while reply.count(status) < count:
            chunk = sock.recv(65536)
            assert chunk, "closed early"
            reply += chunk
    return reply


def test_lines_logged_in_one_loop_pass_go_out_in_one_write_in_order() -> None:
    writes: list[str] = []
    log = LoopLog(writes.append)

    async def scenario() -> list[str]:
        for n in range(3):
            log(f"line {n}")
        held = list(writes)  # nothing written while the pass is still running
        await asyncio.sleep(0)
        log("line 3")
        await asyncio.sleep(0)
        return held

    assert asyncio.run(scenario()) == []
    assert writes == ["line 0\nline 1\nline 2", "line 3"]


def test_a_line_logged_where_no_loop_runs_is_written_at_once() -> None:
    writes: list[str] = []
    log = LoopLog(writes.append)
    log("starting")
    assert writes == ["starting"]
    log.flush()  # nothing held: nothing more written
    assert writes == ["starting"]


def test_kctl_sandbox_logs_every_request_line_under_load() -> None:
    """Batched, the log still has one line per request and per report, each on its own line."""
    lines: list[str] = []
    log = LoopLog(lambda text: lines.extend(text.split("\n")))
    with HttpServer(Sandbox(dlr_delay=0.01, log=log), log=log).start_in_thread() as running:
        request = b"POST /nowhere HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n"
        reply = _exchange_all(running.port, request * 50, b"HTTP/1.1 404", 50)
    assert reply.count(b"HTTP/1.1 404") == 50
    assert len([line for line in lines if "POST /nowhere 404" in line]) == 50


def test_a_burst_of_reports_is_printed_whole_in_order_in_few_writes() -> None:
    class Collected:
        encoding = "utf-8"

        def __init__(self) -> None:
            self.writes: list[str] = []

        def write(self, text: str) -> int:
            self.writes.append(text)
            return len(text)

        def flush(self) -> None:
            return None

        def fileno(self) -> int:
            raise OSError("no descriptor")

    stream = Collected()
    emitter = StreamEmitter(stream, log=Lines())  # type: ignore[arg-type]
    for n in range(300):
        emitter(f"report {n}")
    emitter.close(timeout=10)
    assert "".join(stream.writes) == "".join(f"report {n}\n" for n in range(300))
    assert len(stream.writes) < 30  # woken per burst, not per report


async def _echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse.text(200, request.path)


def test_pipelined_requests_beyond_what_a_connection_holds_are_all_answered_in_order() -> None:
    count = 4 * _EVENTS_HELD
    pipelined = b"".join(b"GET /%d HTTP/1.1\r\nHost: x\r\n\r\n" % n for n in range(count))
    with HttpServer(_echo).start_in_thread() as running:
        reply = _exchange_all(running.port, pipelined, b"HTTP/1.1 200", count)
    assert [body for _, body in responses(reply)] == [b"/%d" % n for n in range(count)]


def test_a_client_that_never_reads_is_cut_after_the_write_timeout() -> None:
    big = HttpResponse(200, (), b"x" * (1024 * 1024))

    async def large(request: HttpRequest) -> HttpResponse:
        return big

    server = HttpServer(large, limits=Limits(write_timeout=0.5))
    with server.start_in_thread() as running:
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" * 20)  # and never read
            started = time.monotonic()
            assert wait_until(lambda: server.stats.open_connections == 0, timeout=10)
            assert time.monotonic() - started < 5
        # the server still answers others
        with socket.create_connection(("127.0.0.1", running.port), timeout=10) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            assert sock.recv(12) == b"HTTP/1.1 200"


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1:9/wa/dlr",
        "http://user:p%40ss@localhost:8080/a%20b/dlr?x=1&y=%2F",
        "http://[::1]/dlr",
    ],
)
def test_a_remembered_request_head_is_the_one_made_afresh(url: str) -> None:
    courier = Courier()
    body = b'{"a":1}'
    for _ in range(2):  # made, then remembered
        parts, request = courier._request("POST", url, body)
        assert request == _request_head(urlsplit(url), "POST", len(body)) + body
        assert parts == urlsplit(url)


def test_a_callback_url_is_decided_again_when_external_callbacks_are_allowed() -> None:
    courier = Courier()
    url = "https://example.invalid/dlr"
    assert courier._route(url)[0] is not None  # refused: not loopback
    courier.allow_external = True
    refusal, receiver = courier._route(url)
    assert refusal is None
    assert receiver == ("https", "example.invalid", 443)
