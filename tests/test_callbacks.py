"""Delivery reports from the sandbox (kctl.servers.callbacks), over real sockets on 127.0.0.1.

Receivers are kctl's own listener, the threaded ``tests.servers`` server (for replies that stall,
fail or come over TLS) and ``EndlessReplies`` below (for replies that never end). Nothing here
resolves or connects to anything beyond loopback.
"""

from __future__ import annotations

import re
import socket
import ssl
import threading
import time
import zlib
from pathlib import Path
from types import TracebackType
from typing import Any

import httpx
import pytest

from kctl.servers.callbacks import (
    RECEIVER_CONCURRENCY,
    REPLY_DRAIN,
    History,
    callback_refusal,
)
from kctl.servers.http import HttpRequest, HttpResponse, HttpServer, ServerThread
from kctl.servers.listener import Listener
from kctl.servers.sandbox import Sandbox
from tests.servers import Reply, serve, write_self_signed
from tests.support import DELAY, Lines, SandboxFactory
from tests.test_sandbox import sms_fields, sms_headers, wa_headers, wa_payload


def send_sms(client: httpx.Client, server: ServerThread, callbacks: str, message_id: str) -> None:
    response = client.post(
        f"{server.url}/sms",
        data=sms_fields(message_id=message_id),
        headers=sms_headers(callbacks),
    )
    assert response.json() == {"status": "success"}


def closed_port() -> int:
    """A loopback port with nobody listening."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


# --- refusal and failures -----------------------------------------------------------------------


class NetworkSpy:
    """Records every name lookup and outgoing connect in this process (then lets it happen)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.lookups: list[str] = []
        self.connects: list[str] = []
        real_getaddrinfo = socket.getaddrinfo
        real_connect = socket.socket.connect
        real_connect_ex = socket.socket.connect_ex

        def getaddrinfo(host: Any, *args: Any, **kwargs: Any) -> Any:
            self.lookups.append(str(host))
            return real_getaddrinfo(host, *args, **kwargs)

        def connect(sock: socket.socket, address: Any) -> None:
            self.connects.append(str(address[0]))
            real_connect(sock, address)

        def connect_ex(sock: socket.socket, address: Any) -> int:
            self.connects.append(str(address[0]))
            return real_connect_ex(sock, address)

        monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
        monkeypatch.setattr(socket.socket, "connect", connect)
        monkeypatch.setattr(socket.socket, "connect_ex", connect_ex)


@pytest.mark.parametrize(
    ("callback", "host"),
    [
        ("https://callbacks.example.invalid/dlr", "callbacks.example.invalid"),
        ("https://192.0.2.1:8080/dlr", "192.0.2.1"),
        ("https://[2001:db8::1]/dlr", "2001:db8::1"),
    ],
)
def test_non_loopback_callbacks_are_refused_before_any_network_use(
    start_sandbox: SandboxFactory,
    client: httpx.Client,
    monkeypatch: pytest.MonkeyPatch,
    callback: str,
    host: str,
) -> None:
    log = Lines()
    sandbox, server = start_sandbox(log=log)
    spy = NetworkSpy(monkeypatch)
    headers = wa_headers("http://127.0.0.1:9", **{"delivery-report-callback-url": callback})

    response = client.post(f"{server.url}/whatsapp", json=wa_payload(), headers=headers)

    assert response.json() == {"status": "success"}  # the message itself is fine
    results = sandbox.wait_for_callbacks(3, 5.0)
    assert [(r.status, r.outcome, r.attempted) for r in results] == [
        ("sent", "refused", False),
        ("delivered", "refused", False),
        ("read", "refused", False),
    ]
    time.sleep(DELAY * 5)  # past the moment a post would have happened
    assert spy.lookups  # the spy works: the test's own request was looked up
    assert not [h for h in spy.lookups if host in h]
    assert not [a for a in spy.connects if host in a]
    assert "not a loopback host" in log.text()
    assert "--allow-external-callbacks" in log.text()


def test_callback_refusal_is_decided_from_the_text() -> None:
    assert callback_refusal("http://127.0.0.1:9/x", False) is None
    assert callback_refusal("http://localhost/x", False) is None
    assert callback_refusal("http://[::1]:80/x", False) is None
    assert callback_refusal("https://example.invalid/x", True) is None
    assert callback_refusal("https://127.0.0.1.nip.io/x", False) is not None
    assert callback_refusal("ftp://127.0.0.1/x", False) is not None
    assert callback_refusal("http://127.0.0.1:99999/x", False) is not None


def test_a_callback_that_cannot_be_delivered_is_logged_and_not_fatal(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    log = Lines()
    sandbox, server = start_sandbox(log=log)
    headers = sms_headers(f"http://127.0.0.1:{closed_port()}")

    first = client.post(f"{server.url}/sms", data=sms_fields(), headers=headers)

    assert first.json() == {"status": "success"}
    [result] = sandbox.wait_for_callbacks(1, 5.0)
    assert (result.outcome, result.attempted) == ("error", True)
    assert "not delivered" in log.text()
    again = client.post(f"{server.url}/sms", data=sms_fields(message_id="m2"), headers=headers)
    assert again.json() == {"status": "success"}


def test_shutdown_cancels_pending_callbacks_without_waiting(
    listener: tuple[Listener, ServerThread], client: httpx.Client
) -> None:
    reports, callbacks = listener
    log = Lines()
    sandbox = Sandbox(dlr_delay=30.0, log=log)
    server = HttpServer(sandbox).start_in_thread()
    try:
        response = client.post(
            f"{server.url}/whatsapp", json=wa_payload(), headers=wa_headers(callbacks.url)
        )
        assert response.json() == {"status": "success"}
    finally:
        started = time.monotonic()
        server.stop()
        took = time.monotonic() - started
    assert took < 3.0
    assert [(r.status, r.outcome) for r in sandbox.callbacks] == [
        ("sent", "cancelled"),
        ("delivered", "cancelled"),
        ("read", "cancelled"),
    ]
    assert "cancelled 1 pending delivery report(s)" in log.text()
    assert reports.reports == []


# --- one slow receiver ----------------------------------------------------------------------------


def test_a_hanging_receiver_holds_up_only_its_own_reports(
    start_sandbox: SandboxFactory, listener: tuple[Listener, ServerThread], client: httpx.Client
) -> None:
    reports, callbacks = listener
    # reads every report and never answers; the long timeout keeps its posts hanging throughout
    with serve(lambda _: Reply(delay=60.0)) as hanging:
        _, server = start_sandbox(callback_timeout=30.0)
        for n in range(40):
            send_sms(client, server, hanging.origin, f"stuck-{n}")
        hanging.wait_for_requests(RECEIVER_CONCURRENCY, 5.0)

        started = time.monotonic()
        send_sms(client, server, callbacks.url, "prompt")
        report = reports.await_report("prompt", 10.0)
        took = time.monotonic() - started

        assert report is not None, "the other receiver's report is stuck behind the hung posts"
        # before: 8 posting slots shared by all, so this waited 25 s behind the hung posts
        assert took < 3.0
        assert len(hanging.requests) == RECEIVER_CONCURRENCY  # its own few, and no more


def test_each_attempt_has_a_deadline(start_sandbox: SandboxFactory, client: httpx.Client) -> None:
    log = Lines()
    with serve(lambda _: Reply(delay=60.0)) as hanging:
        sandbox, server = start_sandbox(callback_timeout=0.3, log=log)
        send_sms(client, server, hanging.origin, "slow")
        [result] = sandbox.wait_for_callbacks(1, 10.0)
    assert (result.outcome, result.attempted, result.http_status) == ("error", True, None)
    assert result.detail == "no answer within 0.3 s"
    assert "not delivered: no answer within 0.3 s" in log.text()


# --- bounds -------------------------------------------------------------------------------------


def test_reports_over_the_queue_bound_are_dropped_counted_and_logged_once(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    log = Lines()
    # a long delay: nothing is posted while the test runs, so the queue only fills
    sandbox, server = start_sandbox(dlr_delay=30.0, max_pending_reports=3, log=log)
    for n in range(5):
        send_sms(client, server, f"http://127.0.0.1:{closed_port()}", f"m{n}")

    assert (sandbox.pending_reports, sandbox.dropped_reports) == (3, 2)
    dropped = [(r.message_id, r.outcome, r.attempted) for r in sandbox.callbacks]
    assert dropped == [("m3", "dropped", False), ("m4", "dropped", False)]
    assert log.text().count("dropped") == 1
    assert "m3" in log.text()
    assert len(sandbox.messages) == 5  # the messages themselves were accepted


def test_one_receiver_cannot_fill_the_queue_for_the_others(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    sandbox, server = start_sandbox(
        dlr_delay=30.0, max_pending_reports=10, max_pending_per_receiver=2
    )
    busy, other = closed_port(), closed_port()
    for n in range(4):
        send_sms(client, server, f"http://127.0.0.1:{busy}", f"busy-{n}")
    send_sms(client, server, f"http://127.0.0.1:{other}", "other")

    assert (sandbox.pending_reports, sandbox.dropped_reports) == (3, 2)
    assert {r.message_id for r in sandbox.callbacks if r.outcome == "dropped"} == {
        "busy-2",
        "busy-3",
    }


def test_shutdown_with_a_full_queue_is_prompt_and_records_every_cancellation(
    client: httpx.Client,
) -> None:
    log = Lines()
    sandbox = Sandbox(dlr_delay=30.0, max_pending_reports=1000, history=100, log=log)
    server = HttpServer(sandbox).start_in_thread()
    try:
        callback = f"http://127.0.0.1:{closed_port()}/dlr"
        for batch in range(30):
            # numbers ending 1000..1099: none of them a magic recipient the sandbox refuses
            to = ",".join(f"9198{batch:03d}1{n:03d}" for n in range(100))
            response = client.post(
                f"{server.url}/v1/HX/messages",
                data={"to": to, "sender": "KLRHXA", "body": "hi", "callback_url": callback},
                headers={"api-key": "k"},
            )
            assert response.status_code == 202
        assert (sandbox.pending_reports, sandbox.dropped_reports) == (1000, 2000)
    finally:
        started = time.monotonic()
        server.stop()
        took = time.monotonic() - started
    assert took < 3.0
    assert sandbox.callbacks_total == 3000  # 2,000 dropped, then 1,000 cancelled
    assert len(sandbox.callbacks) == 100
    assert {r.outcome for r in sandbox.callbacks} == {"cancelled"}
    assert "cancelled 1000 pending delivery report(s)" in log.text()
    assert "2000 message(s) were dropped" in log.text()
    assert log.text().count("dropped:") == 1


def test_history_keeps_the_latest_results_and_counts_them_all(
    start_sandbox: SandboxFactory, listener: tuple[Listener, ServerThread], client: httpx.Client
) -> None:
    reports, callbacks = listener
    sandbox, server = start_sandbox(history=3)
    for n in range(5):
        send_sms(client, server, callbacks.url, f"m{n}")
    assert len(reports.wait_for(5, 5.0)) == 5
    kept = sandbox.wait_for_callbacks(5, 5.0)

    assert sandbox.callbacks_total == 5
    assert len(kept) == 3
    assert {r.outcome for r in kept} == {"posted"}
    assert sandbox.messages_total == 5
    assert [m.message_id for m in sandbox.messages] == ["m2", "m3", "m4"]


def test_history_waits_on_the_total_not_on_what_is_kept() -> None:
    history: History[int] = History(2)
    history.add(range(5))
    assert (history.items(), history.total) == ([3, 4], 5)
    assert history.wait_total(5, 0.0) == [3, 4]
    with pytest.raises(ValueError, match="at least 1"):
        History[int](0)


# --- replies --------------------------------------------------------------------------------------


class EndlessReplies:
    """A loopback receiver that answers every request with ``head`` and then a body that never
    ends: ``first``, then ``piece`` after ``piece`` every ``interval`` seconds for as long as the
    client takes them. ``hangups`` holds, per connection the client cut, the body bytes sent."""

    def __init__(self, head: bytes, piece: bytes, first: bytes = b"", interval: float = 0.005):
        self.head, self.piece, self.first, self.interval = head, piece, first, interval
        self.hangups: list[int] = []
        self._changed = threading.Condition()
        self._stop = threading.Event()
        self._server = socket.create_server(("127.0.0.1", 0))
        self._server.settimeout(0.05)
        self.port = int(self._server.getsockname()[1])
        self._threads = [threading.Thread(target=self._accept, daemon=True)]

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> EndlessReplies:
        self._threads[0].start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        for thread in list(self._threads):
            thread.join(5.0)
        self._server.close()

    def wait_hangups(self, count: int, timeout: float) -> list[int]:
        with self._changed:
            self._changed.wait_for(lambda: len(self.hangups) >= count, timeout)
            return list(self.hangups)

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._server.accept()
            except TimeoutError:
                continue
            thread = threading.Thread(target=self._answer, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _answer(self, sock: socket.socket) -> None:
        with sock:
            sock.settimeout(5.0)
            data = b""
            while b"\r\n\r\n" not in data:
                data += sock.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            length = re.search(rb"(?i)\r\ncontent-length: *(\d+)", head)
            assert length is not None
            while len(body) < int(length.group(1)):
                body += sock.recv(65536)
            sent = 0
            try:
                sock.sendall(self.head + self.first)
                sent += len(self.first)
                while not self._stop.wait(self.interval):
                    sock.sendall(self.piece)
                    sent += len(self.piece)
            except OSError:
                with self._changed:
                    self.hangups.append(sent)
                    self._changed.notify_all()


def _gzip_pieces() -> tuple[bytes, bytes]:
    """The start of a gzip stream, and a piece that can follow it any number of times; each
    piece is ~260 bytes that inflate to 256 KiB."""
    zeros = bytes(256 * 1024)
    packer = zlib.compressobj(9, zlib.DEFLATED, 31)
    first = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    piece = packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    assert piece == packer.compress(zeros) + packer.flush(zlib.Z_FULL_FLUSH)
    return first, piece


def _endless(kind: str) -> EndlessReplies:
    if kind == "chunked":
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n"
        return EndlessReplies(head, b"1000\r\n" + b"x" * 4096 + b"\r\n")
    first, piece = _gzip_pieces()
    head = (
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\n"
        b"Content-Length: 1000000000000\r\n\r\n"
    )
    return EndlessReplies(head, piece, first, interval=0.02)


@pytest.mark.parametrize("kind", ["chunked", "gzip"])
def test_a_reply_that_never_ends_is_read_only_so_far(
    start_sandbox: SandboxFactory, client: httpx.Client, kind: str
) -> None:
    with _endless(kind) as receiver:
        sandbox, server = start_sandbox(callback_timeout=30.0)
        send_sms(client, server, receiver.origin, "endless")

        results = sandbox.wait_for_callbacks(1, 10.0)
        assert [(r.outcome, r.http_status) for r in results] == [("posted", 200)]
        # the sandbox hangs up once it has read its bounded share, long before the deadline
        [sent] = receiver.wait_hangups(1, 10.0)
    assert sent < REPLY_DRAIN + 256 * 1024


def test_an_error_reply_is_recorded_with_its_first_line(start_sandbox: SandboxFactory) -> None:
    async def refuse(request: HttpRequest) -> HttpResponse:
        return HttpResponse.text(503, "busy: try later\nsecond line")

    with HttpServer(refuse).start_in_thread() as busy, httpx.Client(trust_env=False) as client:
        sandbox, server = start_sandbox()
        send_sms(client, server, busy.url, "kctl-sms-1")
        [result] = sandbox.wait_for_callbacks(1, 5.0)
    assert (result.outcome, result.http_status) == ("error", 503)
    assert result.detail == "busy: try later"


def test_a_compressed_error_reply_is_not_decoded(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    packed = zlib.compress(b"x" * 100_000)
    reply = Reply(status=400, headers=(("Content-Encoding", "deflate"),), body=packed)
    with serve(lambda _: reply) as receiver:
        sandbox, server = start_sandbox()
        send_sms(client, server, receiver.origin, "packed")
        [result] = sandbox.wait_for_callbacks(1, 5.0)
    assert (result.outcome, result.http_status) == ("error", 400)
    assert result.detail == "(deflate-encoded reply, not decoded)"
    assert receiver.requests[0].header("accept-encoding") == "identity"


# --- connections ----------------------------------------------------------------------------------


def test_reports_to_one_receiver_share_a_kept_alive_connection(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    with serve(lambda _: Reply.json({"status": "success"})) as receiver:
        sandbox, server = start_sandbox()
        response = client.post(
            f"{server.url}/whatsapp",
            json=wa_payload(),
            headers=wa_headers(receiver.origin),
        )
        assert response.json() == {"status": "success"}
        results = sandbox.wait_for_callbacks(3, 5.0)
        requests = receiver.wait_for_requests(3, 5.0)
    assert [(r.status, r.outcome) for r in results] == [
        ("sent", "posted"),
        ("delivered", "posted"),
        ("read", "posted"),
    ]
    assert receiver.connections == 1
    assert [r.json()["statuses"][0]["status"] for r in requests] == ["sent", "delivered", "read"]
    first = requests[0]
    assert (first.method, first.path, first.http_version) == ("POST", "/wa/dlr", "HTTP/1.1")
    assert first.header("content-type") == "application/json"
    assert first.header("content-length") == str(len(first.body))
    assert first.header("host") == f"127.0.0.1:{receiver.port}"


def test_a_kept_connection_the_receiver_dropped_is_replaced(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    ok = Reply.json({"status": "success"})
    # the second report arrives on the kept connection and the receiver closes it unanswered,
    # as a server does that times out an idle connection just as a request comes in
    with serve(lambda _: ok) as receiver:
        receiver.enqueue(ok, Reply(cut_before_head=True, cut="close"))
        sandbox, server = start_sandbox()
        client.post(
            f"{server.url}/whatsapp", json=wa_payload(), headers=wa_headers(receiver.origin)
        )
        results = sandbox.wait_for_callbacks(3, 5.0)
        requests = receiver.wait_for_requests(4, 5.0)
    assert [(r.status, r.outcome) for r in results] == [
        ("sent", "posted"),
        ("delivered", "posted"),
        ("read", "posted"),
    ]
    assert receiver.connections == 2
    assert [r.json()["statuses"][0]["status"] for r in requests] == [
        "sent",
        "delivered",
        "delivered",
        "read",
    ]


def test_the_callback_url_path_is_sent_escaped_on_one_line(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    with serve(lambda _: Reply.json({"status": "success"})) as receiver:
        _, server = start_sandbox()
        # the direct route's callback_url is a form field: it may hold what no header would
        response = client.post(
            f"{server.url}/v1/HX/messages",
            data={
                "to": "919812340000",
                "sender": "KLRHXA",
                "body": "hi",
                "callback_url": f"{receiver.origin}/a b/\u00e9?x=1 2&y=%41\nHost: evil",
            },
            headers={"api-key": "k"},
        )
        assert response.status_code == 202
        [request] = receiver.wait_for_requests(1, 5.0)
    # Kaleyra's own report: a GET with id and status after the URL's own query
    message_id = response.json()["id"]
    assert request.method == "GET"
    assert request.target == (
        "/a%20b/%C3%A9?x=1%202&y=%41Host:%20evil"
        f"&id={message_id.replace(':', '%3A')}&status=Delivered"
    )
    assert request.header_names().count("Host") == 1


# --- TLS ------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def self_signed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    write_self_signed(cert, key)
    return cert, key


def test_https_callbacks_are_posted_over_tls(
    start_sandbox: SandboxFactory, client: httpx.Client, self_signed: tuple[Path, Path]
) -> None:
    cert, key = self_signed
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    with serve(lambda _: Reply.json({"status": "success"}), tls=tls) as receiver:
        assert receiver.origin.startswith("https://127.0.0.1:")
        sandbox, server = start_sandbox(callback_tls=ssl.create_default_context(cafile=cert))
        send_sms(client, server, receiver.origin, "over-tls")
        send_sms(client, server, receiver.origin, "over-tls-2")
        results = sandbox.wait_for_callbacks(2, 5.0)
        requests = receiver.wait_for_requests(2, 5.0)
    assert [(r.outcome, r.http_status) for r in results] == [("posted", 200)] * 2
    assert {r.json()[0]["data"][0]["meta"] for r in requests} == {"over-tls", "over-tls-2"}


def test_an_untrusted_certificate_is_an_error_not_a_post(
    start_sandbox: SandboxFactory, client: httpx.Client, self_signed: tuple[Path, Path]
) -> None:
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(*self_signed)
    with serve(lambda _: Reply.json({"status": "success"}), tls=tls) as receiver:
        sandbox, server = start_sandbox()  # the default CA bundle does not know this one
        send_sms(client, server, receiver.origin, "untrusted")
        [result] = sandbox.wait_for_callbacks(1, 5.0)
        assert receiver.requests == []
    assert (result.outcome, result.attempted) == ("error", True)
    assert "certificate verify failed" in result.detail
