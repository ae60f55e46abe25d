"""The HTTP server under kctl sandbox and kctl listen, as a hostile client sees it.

Raw bytes over real sockets on 127.0.0.1: request framing a strict parser refuses, a cap on
open connections, output that must never block the server, and network text that must never
reach a terminal raw.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import textwrap
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest

from kctl.render.escape import escape_untrusted, escape_untrusted_json
from kctl.servers.http import (
    HttpRequest,
    HttpResponse,
    HttpServer,
    Limits,
    ServerThread,
    default_max_connections,
)
from kctl.servers.listener import Listener, StreamEmitter
from kctl.servers.sandbox import Sandbox
from tests.support import Lines

REPO = Path(__file__).resolve().parent.parent
# what a terminal may act on: C0 controls, DEL, C1 controls
RAW_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def exchange(port: int, data: bytes) -> bytes:
    """Send ``data``, half-close, and read everything the server sends until it closes."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        with contextlib.suppress(OSError):  # the server may have closed already
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        with contextlib.suppress(ConnectionResetError):
            while chunk := sock.recv(65536):
                chunks.append(chunk)
    return b"".join(chunks)


def responses(reply: bytes) -> list[tuple[int, bytes]]:
    """Status and body of each response in ``reply``, framed by their Content-Length."""
    found = []
    while reply:
        head, _, rest = reply.partition(b"\r\n\r\n")
        status = int(head.split(b" ", 2)[1])
        length = re.search(rb"\r\nContent-Length: (\d+)", head)
        size = int(length[1]) if length else 0
        found.append((status, rest[:size]))
        reply = rest[size:]
    return found


def statuses(reply: bytes) -> list[int]:
    return [status for status, _ in responses(reply)]


async def echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse.json(
        200,
        {"method": request.method, "target": request.target, "body": request.body.decode()},
    )


@pytest.fixture(params=["sandbox", "listener"])
def app_server(request: pytest.FixtureRequest) -> Iterator[ServerThread]:
    """Each of kctl's two servers, in turn, with no credentials configured."""
    app = Sandbox(dlr_delay=0.01) if request.param == "sandbox" else Listener()
    with HttpServer(app).start_in_thread() as running:
        yield running


# --- framing a strict parser refuses --------------------------------------------------------------

# Each would reach the app if the framing were accepted, and the app would not answer 400: the
# sandbox answers 401 (no credentials), the listener 200.
CHUNKED = b"POST /whatsapp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
HOSTILE = {
    "chunk size 0x7": CHUNKED + b'0x7\r\n{"a":1}\r\n0\r\n\r\n',
    "chunk size +7": CHUNKED + b'+7\r\n{"a":1}\r\n0\r\n\r\n',
    "chunk size 7_0": CHUNKED + b"7_0\r\n" + b"x" * 112 + b"\r\n0\r\n\r\n",
    "chunk size with a space inside": CHUNKED + b"7 0\r\n" + b"x" * 112 + b"\r\n0\r\n\r\n",
    "Content-Length after a no-break space": (
        b'POST /whatsapp HTTP/1.1\r\nHost: x\r\nContent-Length: \xa07\r\n\r\n{"a":1}'
    ),
    "Content-Length before a no-break space": (
        b'POST /whatsapp HTTP/1.1\r\nHost: x\r\nContent-Length: 7\xa0\r\n\r\n{"a":1}'
    ),
    "Content-Length 7 superscript 2, UTF-8": (
        'POST /whatsapp HTTP/1.1\r\nHost: x\r\nContent-Length: 7²\r\n\r\n{"a":1}'.encode()
    ),
    "Content-Length 7 superscript 2, Latin-1": (
        'POST /whatsapp HTTP/1.1\r\nHost: x\r\nContent-Length: 7²\r\n\r\n{"a":1}'.encode("latin-1")
    ),
    "Content-Length as a list": (
        b'POST /whatsapp HTTP/1.1\r\nHost: x\r\nContent-Length: 7, 7\r\n\r\n{"a":1}'
    ),
    "Transfer-Encoding after a vertical tab": (
        b"POST /whatsapp HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: \x0bchunked\r\n\r\n"
        b'7\r\n{"a":1}\r\n0\r\n\r\n'
    ),
    "HTTP/1.1 without Host": b'POST /whatsapp HTTP/1.1\r\nContent-Length: 7\r\n\r\n{"a":1}',
    "two Host headers": (
        b'POST /whatsapp HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: 7\r\n\r\n{"a":1}'
    ),
    "a NUL in a header value": (
        b'POST /whatsapp HTTP/1.1\r\nHost: x\r\nX-A: a\x00b\r\nContent-Length: 7\r\n\r\n{"a":1}'
    ),
    "an ESC in a header value": (
        b'POST /whatsapp HTTP/1.1\r\nHost: x\r\nX-A: \x1b[2J\r\nContent-Length: 7\r\n\r\n{"a":1}'
    ),
    "a bare CR in a header value": (
        b'POST /whatsapp HTTP/1.1\r\nHost: x\r\nX-A: a\rb\r\nContent-Length: 7\r\n\r\n{"a":1}'
    ),
    "header lines ended by bare LF": (
        b'POST /whatsapp HTTP/1.1\nHost: x\nContent-Length: 7\n\n{"a":1}'
    ),
    "a space before the colon": (
        b'POST /whatsapp HTTP/1.1\r\nHost : x\r\nContent-Length: 7\r\n\r\n{"a":1}'
    ),
    "chunk data longer than its size": CHUNKED + b'3\r\n{"a":1}\r\n0\r\n\r\n',
}


@pytest.mark.parametrize("request_bytes", HOSTILE.values(), ids=HOSTILE.keys())
def test_ambiguous_framing_gets_400_from_both_servers(
    app_server: ServerThread, request_bytes: bytes
) -> None:
    reply = exchange(app_server.port, request_bytes)
    assert reply.startswith(b"HTTP/1.1 400 Bad Request\r\n"), reply[:200]
    assert b"\r\nConnection: close\r\n" in reply
    # and the server carries on: the app itself answers the next request (in JSON)
    with httpx.Client(trust_env=False) as c:
        after = c.post(f"{app_server.url}/whatsapp", json={})
    assert after.headers["content-type"].startswith("application/json")


def test_a_head_that_never_ends_gets_431_without_waiting_for_its_end() -> None:
    with (
        HttpServer(echo).start_in_thread() as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock,
    ):
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Long: " + b"a" * (70 * 1024))
        reply = sock.recv(65536)
    assert reply.startswith(b"HTTP/1.1 431 ")


def test_a_chunked_body_over_the_limit_gets_413() -> None:
    chunk = b"x" * 65536
    body = b"".join(b"10000\r\n" + chunk + b"\r\n" for _ in range(17)) + b"0\r\n\r\n"
    with HttpServer(echo).start_in_thread() as running:
        reply = exchange(running.port, CHUNKED + body)
    assert statuses(reply) == [413]


def test_pipelined_requests_are_answered_in_order() -> None:
    requests = b"".join(
        b"POST /p%d HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nb%d" % (n, n) for n in range(3)
    )
    with HttpServer(echo).start_in_thread() as running:
        reply = exchange(running.port, requests)
    assert statuses(reply) == [200, 200, 200]
    assert [json.loads(body)["target"] for _, body in responses(reply)] == ["/p0", "/p1", "/p2"]


def test_a_malformed_request_after_good_ones_is_refused_after_they_are_answered() -> None:
    good = b"GET /a HTTP/1.1\r\nHost: x\r\n\r\n"
    with HttpServer(echo).start_in_thread() as running:
        reply = exchange(running.port, good + good + b"GET /c HTTP/1.1\r\nHost x\r\n\r\n")
    assert statuses(reply) == [200, 200, 400]


@pytest.mark.parametrize("framing", ["content-length", "chunked"])
def test_an_upgrade_offer_is_ignored_and_the_body_still_read(framing: str) -> None:
    # Java's RestClient offers h2c on every request, POSTs included; kctl stays on HTTP/1.1
    body = b'{"to":"919812340000"}'
    framed = (
        b"Transfer-Encoding: chunked\r\n\r\n%x\r\n%s\r\n0\r\n\r\n" % (len(body), body)
        if framing == "chunked"
        else b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
    )
    upgrade = (
        b"POST /first HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\n"
        b"Upgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n" + framed
    )
    after = b"POST /second HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nok"
    with HttpServer(echo).start_in_thread() as running:
        reply = exchange(running.port, upgrade + after)
    assert statuses(reply) == [200, 200]
    answers = [json.loads(body) for _, body in responses(reply)]
    assert answers[0]["target"] == "/first"
    assert json.loads(answers[0]["body"]) == {"to": "919812340000"}
    assert answers[1] == {"method": "POST", "target": "/second", "body": "ok"}


def test_an_http_1_0_client_gets_no_100_continue() -> None:
    request = b"POST /old HTTP/1.0\r\nExpect: 100-continue\r\nContent-Length: 2\r\n\r\nok"
    with HttpServer(echo).start_in_thread() as running:
        reply = exchange(running.port, request)
    assert responses(reply) == [(200, b'{"method":"POST","target":"/old","body":"ok"}')]


def test_only_the_server_commands_load_the_parser() -> None:
    # start-up time of the other commands is a product feature
    probe = (
        "import sys\n"
        "from kctl.cli.app import main\n"
        "try:\n"
        "    main(sys.argv[1:])\n"
        "except SystemExit:\n"
        "    pass\n"
        "sys.__stderr__.write(repr(sorted(m for m in sys.modules if 'httptools' in m"
        " or m == 'kctl.servers.http')))\n"
    )
    for args in (["--help"], ["validate-config", "--help"], ["listen", "--help"]):
        done = subprocess.run(
            [sys.executable, "-c", probe, *args], capture_output=True, text=True, check=False
        )
        assert done.stdout, done.stderr  # the command really ran
        assert done.stderr.strip().splitlines()[-1] == "[]", (args, done.stderr)


def test_connect_is_refused() -> None:
    with HttpServer(echo).start_in_thread() as running:
        reply = exchange(running.port, b"CONNECT example.com:443 HTTP/1.1\r\nHost: x\r\n\r\n")
    assert statuses(reply) == [400]


# --- a cap on open connections --------------------------------------------------------------------


def wait_until(predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Poll ``predicate`` until it holds; False after ``timeout`` s (a bound, not a measure)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def test_connections_over_the_cap_get_503_and_the_server_recovers() -> None:
    log = Lines()
    server = HttpServer(echo, limits=Limits(max_connections=20), log=log)
    held: list[socket.socket] = []
    with server.start_in_thread() as running:
        try:
            for _ in range(20):
                held.append(socket.create_connection(("127.0.0.1", running.port), timeout=5))
            assert wait_until(lambda: server.stats.open_connections == 20)
            for _ in range(15):
                with socket.create_connection(("127.0.0.1", running.port), timeout=5) as extra:
                    reply = b""
                    while chunk := extra.recv(4096):
                        reply += chunk
                assert reply.startswith(b"HTTP/1.1 503 Service Unavailable\r\n"), reply
                assert b"Retry-After: 1\r\n" in reply
            for sock in held[:5]:
                sock.close()
            assert wait_until(lambda: server.stats.open_connections == 15)
            with httpx.Client(trust_env=False) as c:
                assert c.get(f"{running.url}/after").json()["target"] == "/after"
        finally:
            for sock in held:
                sock.close()
    assert server.stats.refused_connections == 15
    assert server.stats.peak_connections == 20
    assert len(log.items) == 1, log.items
    assert "20 connections open" in log.items[0]


def test_the_default_cap_is_half_the_open_file_limit() -> None:
    assert default_max_connections(4096) == 2048
    assert default_max_connections(None) == 4096  # no such limit here (Windows)
    with HttpServer(echo).start_in_thread() as running:
        import resource

        soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
        assert running.server.max_connections == default_max_connections(soft)


SERVE_WITH_FEW_DESCRIPTORS = textwrap.dedent(
    """
    import resource, sys
    resource.setrlimit(resource.RLIMIT_NOFILE, (128, 128))
    from kctl.servers.http import HttpResponse, HttpServer, Limits
    async def handle(request):
        return HttpResponse.text(200, "fine")
    cap = None if sys.argv[1] == "default" else int(sys.argv[1])
    server = HttpServer(
        handle, limits=Limits(max_connections=cap), log=lambda line: print(line, file=sys.stderr)
    )
    print(server.serve_forever(on_ready=lambda s: print(s.port, flush=True)), flush=True)
    """
)


@pytest.mark.parametrize(
    ("cap", "words"),
    [
        ("default", "64 connections open"),  # half of 128: refusals, and no descriptor runs out
        ("1000", "cannot accept connections"),  # a cap the process cannot honour: EMFILE
    ],
)
def test_a_flood_of_idle_connections_costs_one_log_line(cap: str, words: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-W", "error", "-c", SERVE_WITH_FEW_DESCRIPTORS, cap],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        stderr = process.stderr
        assert stderr is not None
        errors = Lines()

        def read_errors() -> None:
            for line in stderr:
                errors(line)

        reading = threading.Thread(target=read_errors)
        reading.start()
        port = int(process.stdout.readline())
        flood = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(200)]
        try:
            assert wait_until(lambda: bool(errors.matching(words))), errors.items
        finally:
            for sock in flood:
                sock.close()
        # once the flood is gone the server answers again
        with httpx.Client(trust_env=False, timeout=10) as c:
            assert c.get(f"http://127.0.0.1:{port}/").text == "fine"
        process.send_signal(signal.SIGTERM)
        out, _ = process.communicate(timeout=10)
        reading.join(timeout=10)
    assert out.strip() == "terminated"
    assert process.returncode == 0
    assert len(errors.items) == 1, errors.items
    assert "Traceback" not in "".join(errors.items)


# --- output never blocks the server ---------------------------------------------------------------


def wa_dlr(n: int) -> dict[str, object]:
    return {
        "payloadVersion": "0.1",
        "statuses": [
            {
                "msgId": f"m-{n}",
                "status": "delivered",
                "timestamp": "1700000000",
                "recipient": "919812345678",
                "note": "x" * 1000,  # makes a report about a kilobyte: the pipe fills soon
            }
        ],
    }


def test_kctl_listen_with_a_stdout_nobody_reads_keeps_answering_and_stops_on_sigterm() -> None:
    with subprocess.Popen(
        [sys.executable, "-m", "kctl", "listen", "--port", "0"],
        stdout=subprocess.PIPE,  # never read while it runs
        stderr=subprocess.PIPE,
        cwd=REPO,
    ) as process:
        assert process.stderr is not None
        assert process.stdout is not None
        try:
            ready = process.stderr.readline().decode()
            url = ready.split(" on ", 1)[1].split()[0]
            with httpx.Client(trust_env=False, timeout=10) as c:
                answers = [c.post(f"{url}/dlr", json=wa_dlr(n)).status_code for n in range(1200)]
            assert answers == [200] * 1200
            process.send_signal(signal.SIGTERM)
            assert process.wait(timeout=15) == 143  # SPEC 3: 143 on SIGTERM, after a clean stop
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
        errors = process.stderr.read().decode()
        shown = process.stdout.read().decode()
    notes = [line for line in errors.splitlines() if "reports not shown" in line]
    lost = sum(int(line.split()[0]) for line in notes)
    assert lost > 0
    # what the pipe took was shown, the rest is counted (a report cut short in the pipe may be
    # in both)
    assert shown.count(" OK\n") + lost >= 1200
    assert "Traceback" not in errors


def test_a_stalled_reader_costs_dropped_reports_that_are_counted() -> None:
    read_end, write_end = os.pipe()
    log = Lines()
    with os.fdopen(write_end, "w") as stream:
        emitter = StreamEmitter(stream, log=log, capacity=10)
        for n in range(500):  # the pipe takes about 64 of these, the queue 10
            emitter(f"report {n} " + "x" * 1000)
        shown: list[bytes] = []
        reader = threading.Thread(
            target=lambda: shown.extend(iter(lambda: os.read(read_end, 65536), b""))
        )
        reader.start()
        # once the writer got a batch out again the queue has room: these are shown
        assert wait_until(lambda: bool(log.matching("reports not shown")))
        for n in range(500, 505):
            emitter(f"report {n} " + "x" * 1000)
        emitter.close(timeout=10)  # the reader now keeps up: everything queued goes out
    reader.join(timeout=10)
    os.close(read_end)
    lines = b"".join(shown).decode().splitlines()
    lost = sum(int(line.split()[0]) for line in log.matching("reports not shown"))
    assert lost > 0
    assert len(lines) + lost == 505
    assert lines[0].startswith("report 0 ")
    assert lines[-1].startswith("report 504 ")


def test_a_closed_output_is_logged_once_and_never_raises() -> None:
    read_end, write_end = os.pipe()
    os.close(read_end)
    log = Lines()
    with os.fdopen(write_end, "w") as stream:
        emitter = StreamEmitter(stream, log=log)
        emitter("first")
        assert wait_until(lambda: bool(log.items))
        for _ in range(10):
            emitter("more")
        emitter.close()
    assert len(log.items) == 1
    assert "cannot print reports any more" in log.items[0]


def test_an_emitter_on_a_stream_without_a_descriptor_writes_through_it() -> None:
    class Collected:
        encoding = "utf-8"

        def __init__(self) -> None:
            self.text = ""

        def write(self, text: str) -> int:
            self.text += text
            return len(text)

        def flush(self) -> None:
            return None

        def fileno(self) -> int:
            raise OSError("no descriptor")

    stream = Collected()
    emitter = StreamEmitter(stream, log=Lines())  # type: ignore[arg-type]
    for word in ("one", "two", "three"):
        emitter(word)
    emitter.close(timeout=10)
    assert stream.text == "one\ntwo\nthree\n"


# --- network text never reaches the terminal raw -------------------------------------------------

HOSTILE_TEXT = "\x1b]0;owned\x07\x1b[2J\x00\x9b31m\r\nfake line\u202e"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        (
            "plain text, हिंदी, emoji 👨\u200d👩\u200d👧",
            "plain text, हिंदी, emoji 👨\u200d👩\u200d👧",
        ),
        ("\x1b]0;title\x07", "\\x1b]0;title\\x07"),
        ("a\r\nb\tc\x00", "a\\r\\nb\\tc\\x00"),
        ("\x7f\x85\x9b\x9d", "\\x7f\\x85\\x9b\\x9d"),
        ("\u2028\u202e\u2066", "\\u2028\\u202e\\u2066"),
        ("\udcff", "\\udcff"),
    ],
)
def test_escape_untrusted_shows_controls_as_visible_escapes(text: str, shown: str) -> None:
    assert escape_untrusted(text) == shown


def test_escape_untrusted_json_keeps_the_data() -> None:
    data = {"t": HOSTILE_TEXT + "हिंदी"}
    line = escape_untrusted_json(json.dumps(data, ensure_ascii=False))
    assert not RAW_CONTROL.search(line)
    assert "\u202e" not in line
    assert "हिंदी" in line
    assert json.loads(line) == data


def test_listener_text_output_shows_hostile_bytes_escaped() -> None:
    out = Lines()
    app = Listener(out)
    raw_body = "\x1b]0;owned\x07\x1b[2J\x00\x9b31m\r\nfake line\n".encode()
    json_body = json.dumps(
        {"statuses": [{"msgId": HOSTILE_TEXT, "status": "sent", "error": HOSTILE_TEXT}]},
        ensure_ascii=False,
    ).encode()
    with HttpServer(app).start_in_thread() as running:
        for body in (raw_body, json_body):
            reply = exchange(
                running.port,
                b"POST /%%1b%%5d0;x HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                b"Content-Length: %d\r\n\r\n%s" % (len(body), body),
            )
            assert statuses(reply) == [400]  # neither is a callback CleverTap would take
    assert len(out.items) == 2
    for block in out.items:
        assert not RAW_CONTROL.search(block), block
        assert "\u202e" not in block
    lines = out.items[0].splitlines()
    assert "  \\x1b]0;owned\\x07\\x1b[2J\\x00\\x9b31m\\r\\nfake line\\n" in lines
    assert all(line.startswith("  ") for line in lines[1:])  # nothing forged a line of its own
    assert "\\x1b]0;owned\\x07" in out.items[1]


def test_listener_json_output_is_terminal_safe_and_exact() -> None:
    out = Lines()
    app = Listener(out, json_lines=True)
    payload = {
        "payloadVersion": "0.1",
        "statuses": [{"msgId": HOSTILE_TEXT, "status": "sent", "timestamp": "1767225600"}],
    }
    with HttpServer(app).start_in_thread() as running, httpx.Client(trust_env=False) as c:
        assert c.post(f"{running.url}/dlr", json=payload).status_code == 200
    (line,) = out.items
    assert not RAW_CONTROL.search(line)
    assert "\u202e" not in line
    assert json.loads(line)["payload"] == payload


def test_kctl_listen_prints_hostile_bytes_escaped() -> None:
    body = "\x1b]0;owned\x07\x9b2J\x00\r\nfake line".encode()
    with subprocess.Popen(
        [sys.executable, "-m", "kctl", "listen", "--port", "0", "--count", "1", "--timeout", "30"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
    ) as process:
        assert process.stderr is not None
        url = process.stderr.readline().decode().split(" on ", 1)[1].split()[0]
        port = int(url.rsplit(":", 1)[1])
        head = b"POST /in HTTP/1.1\r\nHost: x\r\nContent-Length: %d\r\n\r\n" % len(body)
        assert statuses(exchange(port, head + body)) == [400]  # not JSON: CleverTap refuses it
        out, err = process.communicate(timeout=30)
    # a callback CleverTap would refuse makes listen fail, and it says why (issue 15)
    assert process.returncode == 1
    assert "1 of 1 callback(s) broke CleverTap's format (answered 400); exit 1" in err.decode()
    text = out.decode()
    assert not RAW_CONTROL.search(text)
    assert "  \\x1b]0;owned\\x07\\x9b2J\\x00\\r\\nfake line\n" in text
    # the URL line, then verdict, problem, body, the answer: nothing forged a line
    assert text.splitlines()[0] == f"http://127.0.0.1:{port}"
    assert len(text.splitlines()) == 5


def test_sandbox_log_lines_show_hostile_text_escaped() -> None:
    log = Lines()
    app = Sandbox(dlr_delay=0.01, log=log)
    listener = Listener()
    with (
        HttpServer(listener).start_in_thread() as callbacks,
        HttpServer(app).start_in_thread() as running,
        httpx.Client(trust_env=False) as c,
    ):
        reply = c.post(
            f"{running.url}/whatsapp",
            headers={
                "api-key": "k",
                "sid": "s",
                "kaleyra-host": "https://api.kaleyra.io/",
                "inbound-message-callback-url": f"{callbacks.url}/in",
                "delivery-report-callback-url": f"{callbacks.url}/dlr",
            },
            json={
                "payloadVersion": "0.1",
                "msgId": "\x1b]0;owned\x07\x9b2J\r\nfake",
                "to": "919812345678",
                "wabaNumber": "919876543210",
                "isTemplate": True,
                "template": {"namespace": "t", "languageCode": "en"},
                "components": [{"type": "body", "body": {"text": "hi", "parameters": []}}],
            },
        )
        assert reply.json() == {"status": "success"}, reply.text
        assert wait_until(lambda: len(log.matching("delivery report")) == 2)
    assert log.items
    for line in log.items:
        assert not RAW_CONTROL.search(line), line
        assert "\n" not in line
    assert any("msgId=\\x1b]0;owned\\x07\\x9b2J\\r\\nfake" in line for line in log.items)


def test_a_connection_accepted_as_the_server_closes_is_closed_too() -> None:
    """A connection task cancelled before it first ran never reaches its own cleanup: the
    server must close that socket itself (else a ResourceWarning, and a descriptor leaked)."""
    import asyncio

    from kctl.servers.http import _Connection

    async def scenario() -> socket.socket:
        server = HttpServer(Listener())
        await server.start()
        ours, theirs = socket.socketpair()
        theirs.close()
        conn = _Connection(sock=ours)
        server._connections.add(conn)
        server.stats.open_connections += 1
        conn.task = asyncio.get_running_loop().create_task(server._on_socket(conn, ours))
        await server.close(0)  # before the task ever ran
        assert server.stats.open_connections == 0
        return ours

    sock = asyncio.run(scenario())
    assert sock.fileno() == -1  # closed
