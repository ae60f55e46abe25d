"""A small asyncio HTTP/1.1 server on loopback, for ``kctl sandbox`` and ``kctl listen``.

kctl owns the connection loop: accepting, limits, timeouts, keep-alive and shutdown. llhttp (the
parser of Node.js, through httptools) owns request framing: the request line, header lines,
``Content-Length`` and chunked bodies, so a malformed or ambiguous request gets a 400 rather
than a guess. A request head may be 64 KiB, a body 1 MiB. The server calls an async handler,
writes its response, and keeps the connection open for the next request. Slow or idle clients
are cut after a timeout, and connections beyond a cap are refused on arrival with a 503, so a
thousand open sockets cost a thousand small coroutines and a flood of them costs nothing more.

Two ways to run one:

* ``serve_forever()`` blocks (the CLI): it returns after SIGINT/SIGTERM, a timeout, or when the
  app asks to stop, having finished the requests in flight.
* ``start_in_thread()`` runs it on its own event loop in a daemon thread (``send-test --sandbox``
  and the tests), returning a handle with ``.port``, ``.url`` and ``.stop()``.

Shutdown is graceful and bounded: stop accepting, close idle keep-alive connections, give
requests in flight ``grace`` seconds to finish, cancel what is left, then let the app clean up.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import http
import json
import signal
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import partial
from types import TracebackType
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qsl, urlsplit

import httptools

from kctl.errors import UsageError
from kctl.render.escape import escape_untrusted
from kctl.urls import is_loopback_host

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
BACKLOG = 2048
# enough descriptors for a thousand connections on each side of a loopback test, plus slack
WANTED_OPEN_FILES = 8192
# where the platform has no open-file limit to derive the connection cap from (Windows)
FALLBACK_MAX_CONNECTIONS = 4096

_READ_SIZE = 64 * 1024
# framed requests a connection may hold unanswered before it stops reading from the client
_EVENTS_HELD = 32
_BAD_VALUE = ("\r", "\n", "\x00")
_NO_BODY_STATUSES = frozenset({204, 304})
_LINGER_BYTES = 8 * MAX_BODY
_CONTINUE = b"HTTP/1.1 100 Continue\r\n\r\n"
# accepts per wake-up of the listening socket: enough to drain a burst, few enough that
# connections already open get their turn
_ACCEPT_BATCH = 256
_OUT_OF_DESCRIPTORS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})
_ACCEPT_RETRY = 0.1  # seconds to pause accepting after the process ran out of descriptors
_REPEAT_LOG_AFTER = 60.0  # seconds before the same trouble is logged again
_REFUSAL_BODY = b"kctl: too many open connections; try again shortly\n"
_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\n"
    b"Content-Type: text/plain; charset=utf-8\r\n"
    b"Retry-After: 1\r\n"
    b"Content-Length: " + str(len(_REFUSAL_BODY)).encode() + b"\r\n"
    b"Connection: close\r\n\r\n" + _REFUSAL_BODY
)

StopReason = Literal["interrupted", "terminated", "timeout", "done", "stopped"]


@dataclass(frozen=True, slots=True)
class HttpRequest:
    method: str
    path: str  # as sent, still percent-encoded
    query: str  # without the "?"
    headers: tuple[tuple[str, str], ...]  # in arrival order, names as sent
    body: bytes
    peer: tuple[str, int]
    http_version: str = "HTTP/1.1"

    def header(self, name: str) -> str | None:
        """The first value of header ``name`` (any case), or None."""
        lowered = name.lower()
        for k, v in self.headers:
            if k == lowered or k.lower() == lowered:  # most clients send names lower-case
                return v
        return None

    @property
    def media_type(self) -> str:
        """The Content-Type without parameters, lower-cased ("" when absent)."""
        return (self.header("content-type") or "").split(";", 1)[0].strip().lower()

    @property
    def target(self) -> str:
        return f"{self.path}?{self.query}" if self.query else self.path

    def json(self) -> Any:
        """The body parsed as JSON; ValueError when it is not UTF-8 JSON."""
        try:
            return json.loads(self.body)
        except RecursionError as e:
            raise ValueError("JSON nested too deeply") from e

    def form(self) -> list[tuple[str, str]]:
        """The body as ``x-www-form-urlencoded`` fields, in order; ValueError when not UTF-8."""
        text = self.body.decode("utf-8")  # UnicodeDecodeError is a ValueError
        return parse_qsl(text, keep_blank_values=True)


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""

    @classmethod
    def json(
        cls, status: int, data: Any, headers: tuple[tuple[str, str], ...] = ()
    ) -> HttpResponse:
        body = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
        return cls(status, (("Content-Type", "application/json"), *headers), body)

    @classmethod
    def text(
        cls, status: int, text: str, headers: tuple[tuple[str, str], ...] = ()
    ) -> HttpResponse:
        body = text.encode("utf-8")
        return cls(status, (("Content-Type", "text/plain; charset=utf-8"), *headers), body)


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class App:
    """A handler with a life cycle: ``startup`` once the server is bound (on its loop),
    ``shutdown`` after the last connection closed. ``request_stop`` ends ``serve_forever``."""

    _server: HttpServer | None = None

    async def handle(self, request: HttpRequest) -> HttpResponse:
        raise NotImplementedError

    async def startup(self, server: HttpServer) -> None:
        self._server = server

    async def shutdown(self) -> None:
        return None

    def request_stop(self) -> None:
        if self._server is not None:
            self._server.request_stop("done")


@dataclass(frozen=True, slots=True)
class Limits:
    max_head: int = MAX_HEAD
    max_body: int = MAX_BODY
    # a request head must arrive complete within this long of the previous response (or of
    # the connection opening): cuts idle keep-alive connections and slow-header clients alike
    idle_timeout: float = 15.0
    body_timeout: float = 15.0
    write_timeout: float = 15.0
    linger: float = 1.0  # after refusing a request, how long to drain what the client still sends
    # Connections open at once; more are answered 503 and closed on arrival. None: half the
    # open-file limit, so a flood of idle clients meets a refusal long before the process runs
    # out of descriptors (the other half is for everything else in the process: another server,
    # loopback clients of its own, callback posts, files).
    max_connections: int | None = None


@dataclass(slots=True)
class ServerStats:
    connections: int = 0  # accepted and served, in all
    open_connections: int = 0
    peak_connections: int = 0
    requests: int = 0  # answered, including the server's own 4xx
    refused_connections: int = 0  # over max_connections: answered 503 on arrival


class LoopLog:
    """A server's log whose lines, logged on an event loop, go out together at the end of the
    loop's pass: ``write`` gets them as one text (lines joined by newlines, none at the end).

    A sandbox under load logs a line for every request and every delivery report: written
    one by one, to a terminal or a pipe, each line is a system call of its own. Lines logged
    where no loop runs (another thread, start-up) are written at once; ``flush`` writes what
    is still held, for after the loop has stopped.
    """

    def __init__(self, write: Callable[[str], None]) -> None:
        self._write = write
        self._held: list[str] = []
        self._loop: asyncio.AbstractEventLoop | None = None  # the loop whose pass holds lines

    def __call__(self, line: str) -> None:
        loop = _running_loop()
        if loop is None or (self._held and loop is not self._loop):
            self._write(line)
            return
        if not self._held:
            self._loop = loop
            loop.call_soon(self.flush)
        self._held.append(line)

    def flush(self) -> None:
        held, self._held = self._held, []
        if held:
            self._write("\n".join(held))


def raise_open_file_limit(wanted: int = WANTED_OPEN_FILES) -> int | None:
    """Raise this process's soft RLIMIT_NOFILE toward ``wanted`` (never above the hard limit).

    Returns the soft limit now in force, or None where the platform has no such limit. A
    thousand concurrent connections need a thousand descriptors (two thousand when client and
    server share the process), and 1024 is still a common default.
    """
    try:
        import resource
    except ImportError:  # Windows
        return None
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft == resource.RLIM_INFINITY or soft >= wanted:
        return soft
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if target > soft:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
            soft = target
    return soft


def default_max_connections(open_file_limit: int | None) -> int:
    """The connection cap ``Limits.max_connections=None`` stands for, given the open-file limit."""
    if open_file_limit is None or open_file_limit < 0:  # none, or RLIM_INFINITY
        return FALLBACK_MAX_CONNECTIONS
    return max(1, open_file_limit // 2)


def _size(n: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if n >= scale and n % scale == 0:
            return f"{n // scale} {unit}"
    return f"{n} bytes"


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


# --- framing ------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Head:
    """A request line and header lines that passed the parser and kctl's own checks."""

    method: str
    target: str  # origin-form: a path, maybe with "?query"; or "*"
    version: str  # "HTTP/1.1" or "HTTP/1.0"
    headers: tuple[tuple[str, str], ...]
    keep_alive: bool
    expects_continue: bool  # a 100 Continue is due before the body
    chunked: bool
    length: int  # Content-Length; 0 when absent or chunked

    @property
    def has_body(self) -> bool:
        return self.chunked or self.length > 0


@dataclass(frozen=True, slots=True)
class _Complete:
    body: bytes


_Event = _Head | _Complete | _BadRequest
_E = TypeVar("_E", _Head, _Complete)


def _head_from(
    method: str, target: str, version: str, raw: list[tuple[bytes, bytes]], limits: Limits
) -> _Head:
    """Check what the parser leaves to the server; raise _BadRequest with the status to send."""
    if version not in ("1.1", "1.0"):
        raise _BadRequest(505, f"unsupported protocol HTTP/{version[:20]}")
    # one pass over the header lines, for every request: the checks below read what it finds
    size = len(method) + len(target) + 14
    headers = []
    lengths: list[str] = []
    codings: list[str] = []
    hosts = 0
    connection: set[str] = set()
    expect = False
    for raw_name, raw_value in raw:
        size += len(raw_name) + len(raw_value) + 4
        # header values are bytes on the wire: latin-1 maps each byte to one character, and
        # the handlers only ever compare them or show them escaped
        name, value = raw_name.decode("latin-1"), raw_value.decode("latin-1")
        headers.append((name, value))
        match name.lower():
            case "content-length":
                lengths.append(value)
            case "transfer-encoding":
                codings += [c.strip().lower() for c in value.split(",")]
            case "host":
                hosts += 1
            case "connection":
                connection.update(token.strip().lower() for token in value.split(","))
            case "expect":
                expect = expect or value.lower() == "100-continue"
    if size > limits.max_head:
        raise _BadRequest(431, f"request head over {_size(limits.max_head)}")
    if codings and lengths:  # the classic request-smuggling ambiguity
        raise _BadRequest(400, "both Transfer-Encoding and Content-Length")
    if codings and codings != ["chunked"]:
        raise _BadRequest(501, "only the chunked transfer coding is supported")
    # the parser has checked that a Content-Length is digits and that repeats agree
    length = int(lengths[0]) if lengths else 0
    if length > limits.max_body:
        raise _BadRequest(413, f"request body over {_size(limits.max_body)}")
    if target.startswith(("http://", "https://")):  # absolute-form
        split = urlsplit(target)
        target = (split.path or "/") + (f"?{split.query}" if split.query else "")
    if not target.startswith("/") and not (method == "OPTIONS" and target == "*"):
        raise _BadRequest(400, "request target must start with '/'")
    if hosts > 1 or (hosts == 0 and version == "1.1"):  # RFC 9112 3.2
        raise _BadRequest(400, "an HTTP/1.1 request needs exactly one Host header")
    keep_alive = "close" not in connection if version == "1.1" else "keep-alive" in connection
    # an HTTP/1.0 client cannot read a 100 (RFC 9110 10.1.1), and one with no body needs none
    expects = version == "1.1" and (bool(codings) or length > 0) and expect
    return _Head(
        method,
        target,
        f"HTTP/{version}",
        tuple(headers),
        keep_alive,
        expects,
        bool(codings),
        length,
    )


class _Framer:
    """One connection's request framing, by llhttp (httptools): bytes in; heads, bodies and
    refusals out, in order."""

    def __init__(self, limits: Limits) -> None:
        self._limits = limits
        self._parser = httptools.HttpRequestParser(self)
        self._events: list[_Event] = []
        self._target = b""
        self._headers: list[tuple[bytes, bytes]] = []
        self._body = bytearray()
        self._in_head = True  # between requests, or inside a head
        self._head_bytes = 0  # fed while the current head is incomplete
        self._completed = 0
        self._upgrade: _Head | None = None  # an Upgrade request whose body llhttp left unread
        self._resuming = False
        self._failed = False  # a refusal is queued: the connection ends there

    def feed(self, data: bytes) -> list[_Event]:
        """Events completed by ``data``, in order; a _BadRequest is always the last one."""
        fed, completed = len(data), self._completed
        while data:
            try:
                self._parser.feed_data(data)
                data = b""
            except httptools.HttpParserUpgrade as e:
                data = self._after_upgrade(data[int(e.args[0]) :])
            except httptools.HttpParserError as e:
                self._fail(e)
                data = b""
        if not self._failed and self._in_head and self._completed == completed:
            # llhttp sets no bound on a head, so bytes fed while one is open are counted; in
            # a read that also finished the request before, the share is unknown and the
            # exact size is checked once the head is complete
            self._head_bytes += fed
            if self._head_bytes > self._limits.max_head:
                self._refuse(_BadRequest(431, f"request head over {_size(self._limits.max_head)}"))
        events, self._events = self._events, []
        return events

    def _fail(self, error: httptools.HttpParserError) -> None:
        cause = error.__context__
        if isinstance(cause, _BadRequest):  # raised by one of the callbacks below
            self._refuse(cause)
        elif isinstance(error, httptools.HttpParserCallbackError):
            raise error  # a bug in a callback, not the client's fault
        else:
            self._refuse(_BadRequest(400, f"malformed request: {error}"))

    def _refuse(self, refusal: _BadRequest) -> None:
        self._failed = True
        self._events.append(refusal)

    def _after_upgrade(self, rest: bytes) -> bytes:
        """What a fresh parser must read after llhttp stopped at an Upgrade request.

        llhttp stops as if the connection had switched protocols, without reading the body.
        kctl never takes the offer (RFC 9110 7.8 lets a server ignore it; Java's RestClient
        sends ``Upgrade: h2c`` on every POST), so the request goes on as plain HTTP/1.1: a
        head that frames the body as the request did, then the rest of the stream.
        """
        self._parser = httptools.HttpRequestParser(self)
        head, self._upgrade = self._upgrade, None
        if head is None:
            return rest
        self._resuming = True
        framing = (
            b"Transfer-Encoding: chunked" if head.chunked else b"Content-Length: %d" % (head.length)
        )
        return b"POST / HTTP/1.1\r\nHost: kctl\r\n" + framing + b"\r\n\r\n" + rest

    # llhttp's callbacks, called from inside feed_data; raising stops the parse

    def on_message_begin(self) -> None:
        self._target = b""
        self._headers = []

    def on_url(self, url: bytes) -> None:
        self._target += url

    def on_header(self, name: bytes, value: bytes) -> None:
        self._headers.append((name, value))

    def on_headers_complete(self) -> None:
        self._in_head = False
        if self._resuming:  # the stand-in head of an Upgrade request's body
            return
        parser = self._parser
        head = _head_from(
            parser.get_method().decode("ascii"),
            self._target.decode("latin-1"),
            parser.get_http_version(),
            self._headers,
            self._limits,
        )
        self._events.append(head)
        if parser.should_upgrade() and head.has_body:
            self._upgrade = head

    def on_body(self, body: bytes) -> None:
        if len(self._body) + len(body) > self._limits.max_body:
            raise _BadRequest(413, f"request body over {_size(self._limits.max_body)}")
        self._body += body

    def on_message_complete(self) -> None:
        self._in_head = True
        self._head_bytes = 0
        self._completed += 1
        if self._upgrade is not None:
            return  # completed for llhttp only: the body is still to come
        self._resuming = False
        self._events.append(_Complete(bytes(self._body)))
        self._body.clear()


# --- the server ---------------------------------------------------------------------------------


@dataclass(eq=False, slots=True)
class _Connection:
    task: asyncio.Task[None] | None = None
    busy: bool = False  # a request is being read past its head, handled or answered
    sock: socket.socket | None = None  # until its task has started and owns it


class HttpServer:
    """One listening socket on a loopback address, serving ``app`` (an App or a handler)."""

    def __init__(
        self,
        app: App | Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        backlog: int = BACKLOG,
        limits: Limits | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        if not is_loopback_host(host):
            raise UsageError(
                f"refusing to listen on {host!r}: kctl serves loopback addresses only",
                "use 127.0.0.1, ::1 or localhost",
            )
        self.app = app if isinstance(app, App) else None
        self._handler: Handler = app.handle if isinstance(app, App) else app
        # "localhost" may name both 127.0.0.1 and ::1, and binding both with port 0 would give
        # two different ports: bind the one address every client tries.
        self.host = "127.0.0.1" if host.lower() == "localhost" else host.strip("[]")
        self._requested_port = port
        self.backlog = backlog
        self.limits = limits or Limits()
        self.max_connections = self.limits.max_connections or FALLBACK_MAX_CONNECTIONS
        raw_log = log or (lambda _line: None)
        # every line may quote a request target or a header value: nothing from the network
        # reaches the terminal raw
        self._log: Callable[[str], None] = lambda line: raw_log(escape_untrusted(line))
        self.stats = ServerStats()
        self.port = 0
        self._socket: socket.socket | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connections: set[_Connection] = set()
        self._accepting = False
        self._closing = False
        self._stopped: asyncio.Event | None = None
        self._stop_reason: StopReason = "stopped"
        self._quiet_until: dict[str, float] = {}

    # --- addresses ----------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """``http://host:port`` (no trailing slash)."""
        host = self.host
        shown = f"[{host}]" if ":" in host else host
        return f"http://{shown}:{self.port}"

    # --- life cycle (on the server's loop) ------------------------------------------------------

    async def start(self) -> None:
        """Bind and start accepting; ``port`` is the bound port afterwards."""
        open_files = raise_open_file_limit()
        self.max_connections = self.limits.max_connections or default_max_connections(open_files)
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        try:
            sock = socket.create_server(
                (self.host, self._requested_port), family=family, backlog=self.backlog
            )
        except OSError as e:
            raise UsageError(
                f"cannot listen on {self.host} port {self._requested_port}: {e.strerror or e}",
                "pick another --port, or 0 for a free one",
            ) from e
        sock.setblocking(False)
        self._socket = sock
        self.port = int(sock.getsockname()[1])
        self._resume_accepting()
        if self.app is not None:
            await self.app.startup(self)

    def request_stop(self, reason: StopReason = "stopped") -> None:
        """Ask ``serve_forever`` / the server thread to shut down; callable from any thread."""
        loop, stopped = self._loop, self._stopped
        if loop is None or stopped is None or loop.is_closed():
            return

        def _set() -> None:
            if not stopped.is_set():
                self._stop_reason = reason
                stopped.set()

        if _running_loop() is loop:
            _set()
        else:
            with contextlib.suppress(RuntimeError):  # the loop closed in between
                loop.call_soon_threadsafe(_set)

    async def wait_stopped(self, timeout: float | None = None) -> StopReason:
        assert self._stopped is not None, "start() first"
        try:
            async with asyncio.timeout(timeout):
                await self._stopped.wait()
        except TimeoutError:
            return "timeout"
        return self._stop_reason

    async def close(self, grace: float = 5.0) -> None:
        """Stop accepting, finish requests in flight (up to ``grace`` s), close, clean up."""
        if self._closing:
            return
        self._closing = True
        self._pause_accepting()
        if self._socket is not None:
            self._socket.close()
        for conn in list(self._connections):
            if not conn.busy and conn.task is not None:
                conn.task.cancel()
        pending = {c.task for c in self._connections if c.task is not None}
        if pending:
            _, pending = await asyncio.wait(pending, timeout=grace)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending, timeout=1.0)
        # a task cancelled before it first ran never reached its finally: close its socket here
        for conn in list(self._connections):
            if conn.sock is not None:
                conn.sock.close()
                conn.sock = None
                self._connections.discard(conn)
                self.stats.open_connections -= 1
        if self.app is not None:
            try:
                await self.app.shutdown()
            except Exception as e:  # a broken cleanup must not keep the process alive
                self._log(f"shutdown error: {e!r}")

    # --- ways to run --------------------------------------------------------------------------

    def serve_forever(
        self,
        *,
        timeout: float | None = None,
        on_ready: Callable[[HttpServer], None] | None = None,
        grace: float = 5.0,
    ) -> StopReason:
        """Serve until SIGINT/SIGTERM, ``timeout`` seconds, or the app's ``request_stop``.

        Blocking; returns why it stopped, after a graceful shutdown. A KeyboardInterrupt that
        arrives where no signal handler could be installed (not the main thread) also counts
        as "interrupted".
        """
        try:
            return asyncio.run(self._serve_until_stopped(timeout, on_ready, grace))
        except KeyboardInterrupt:
            return "interrupted"

    async def _serve_until_stopped(
        self,
        timeout: float | None,
        on_ready: Callable[[HttpServer], None] | None,
        grace: float,
    ) -> StopReason:
        await self.start()
        loop = asyncio.get_running_loop()
        installed: list[tuple[signal.Signals, Any]] = []
        reasons: dict[signal.Signals, StopReason] = {
            signal.SIGINT: "interrupted",
            signal.SIGTERM: "terminated",
        }
        for signum, reason in reasons.items():
            try:
                previous = signal.getsignal(signum)
                loop.add_signal_handler(signum, partial(self.request_stop, reason))
            except (NotImplementedError, RuntimeError, ValueError):
                continue  # not the main thread, or no signals here (Windows)
            installed.append((signum, previous))
        try:
            if on_ready is not None:
                on_ready(self)
            reason = await self.wait_stopped(timeout)
        finally:
            for signum, previous in installed:
                loop.remove_signal_handler(signum)
                # put back whatever was there (remove_signal_handler would install defaults)
                if previous is not None:
                    signal.signal(signum, previous)
            await self.close(grace)
        return reason

    def start_in_thread(self, *, grace: float = 2.0) -> ServerThread:
        """Run on a fresh event loop in a daemon thread; returns once bound (or raises)."""
        return ServerThread(self, grace).start()

    # --- accepting ------------------------------------------------------------------------------
    # kctl accepts by itself rather than through asyncio.start_server: asyncio's accept loop
    # logs a traceback for every failed accept when descriptors run out (thousands a second),
    # and has no notion of a connection cap.

    def _resume_accepting(self) -> None:
        if self._accepting or self._closing or self._socket is None or self._loop is None:
            return
        self._loop.add_reader(self._socket.fileno(), self._accept)
        self._accepting = True

    def _pause_accepting(self) -> None:
        if self._accepting and self._socket is not None and self._loop is not None:
            self._loop.remove_reader(self._socket.fileno())
        self._accepting = False

    def _accept(self) -> None:
        assert self._socket is not None
        assert self._loop is not None
        for _ in range(_ACCEPT_BATCH):
            try:
                sock, _ = self._socket.accept()
            except (BlockingIOError, InterruptedError):
                return
            except ConnectionAbortedError:
                continue  # the client gave up while queued
            except OSError as e:
                # out of descriptors (or memory): the connection stays queued in the kernel; try
                # again shortly, by which time some connection may have closed
                if e.errno in _OUT_OF_DESCRIPTORS:
                    self._note("descriptors", f"cannot accept connections: {e.strerror or e}")
                else:
                    self._note("accept", f"accepting failed: {e!r}")
                self._pause_accepting()
                self._loop.call_later(_ACCEPT_RETRY, self._resume_accepting)
                return
            if self.stats.open_connections >= self.max_connections:
                self._refuse(sock)
                continue
            conn = _Connection(sock=sock)
            stats = self.stats
            stats.connections += 1
            stats.open_connections += 1
            stats.peak_connections = max(stats.peak_connections, stats.open_connections)
            self._connections.add(conn)
            # a task cancelled before its first step (shutdown right after an accept) never
            # reaches its finally: close() closes the socket of such a connection itself
            conn.task = self._loop.create_task(self._on_socket(conn, sock))

    def _refuse(self, sock: socket.socket) -> None:
        """Answer 503 and close at once: a refusal costs one descriptor for one moment."""
        self.stats.refused_connections += 1
        self._note(
            "cap",
            f"{self.max_connections} connections open, the most this server keeps: refusing"
            " new ones (503) until some close",
        )
        with contextlib.suppress(OSError), sock:
            sock.setblocking(False)
            sock.send(_REFUSAL)
            sock.shutdown(socket.SHUT_WR)
            # what the client already sent would turn the close into a reset that can
            # overtake the 503
            sock.recv(_READ_SIZE)

    def _note(self, trouble: str, line: str) -> None:
        """Log ``line``, unless the same trouble was logged within the last minute."""
        now = time.monotonic()
        if now < self._quiet_until.get(trouble, 0.0):
            return
        self._quiet_until[trouble] = now + _REPEAT_LOG_AFTER
        self._log(line)

    # --- connections --------------------------------------------------------------------------

    async def _on_socket(self, conn: _Connection, sock: socket.socket) -> None:
        loop = asyncio.get_running_loop()
        pipe: _Pipe | None = None
        conn.sock = None  # this task owns it now: its finally closes it
        try:
            pipe = _Pipe(_Framer(self.limits))
            await loop.connect_accepted_socket(lambda: pipe, sock)
            if not self._closing:
                await self._serve_connection(conn, pipe)
        except asyncio.CancelledError:
            # Shutdown cancelled this connection. Not re-raised: nothing waits on the task, and
            # a cancelled task that swallowed no error would only be noise at shutdown.
            pass
        except (ConnectionError, TimeoutError):
            pass  # the client went away or was too slow: only this connection ends
        except Exception as e:  # never let one connection's bug take the server down
            self._log(f"connection error: {e!r}")
        finally:
            self._connections.discard(conn)
            self.stats.open_connections -= 1
            if pipe is None or pipe.transport is None:
                sock.close()
            else:
                pipe.transport.close()
                if not pipe.lost and pipe.transport.get_write_buffer_size():
                    # the last answer is still on its way out: see it go before the server
                    # may shut down, for as long as a write may take
                    with contextlib.suppress(Exception, asyncio.CancelledError):
                        async with asyncio.timeout(self.limits.write_timeout):
                            await pipe.gone()
                    if not pipe.lost:
                        pipe.transport.abort()

    async def _serve_connection(self, conn: _Connection, pipe: _Pipe) -> None:
        assert pipe.transport is not None
        peername = pipe.transport.get_extra_info("peername")
        peer = (str(peername[0]), int(peername[1])) if peername else ("", 0)
        limits = self.limits
        while not self._closing:
            conn.busy = False
            try:
                head = await pipe.next(_Head, limits.idle_timeout)
                if head is None:
                    return  # closed between requests (or mid-head)
                conn.busy = True
                if head.expects_continue and not pipe.events:
                    pipe.transport.write(_CONTINUE)
                complete = await pipe.next(_Complete, limits.body_timeout)
                if complete is None:
                    return  # closed mid-body
            except _BadRequest as e:
                conn.busy = True
                await self._write_error(pipe, e.status, e.message)
                return
            path, _, query = head.target.partition("?")
            request = HttpRequest(
                head.method, path, query, head.headers, complete.body, peer, head.version
            )
            response = await self._respond(request)
            keep_alive = head.keep_alive and not self._closing
            self.stats.requests += 1
            await self._write(pipe, response, keep_alive, request.method != "HEAD")
            if not keep_alive:
                return

    async def _respond(self, request: HttpRequest) -> HttpResponse:
        try:
            response = await self._handler(request)
        except Exception as e:
            self._log(f"handler error on {request.method} {request.path}: {e!r}")
            return HttpResponse.text(500, "internal error in the kctl server\n")
        for name, value in response.headers:
            if any(c in name or c in value for c in _BAD_VALUE):
                self._log(f"handler returned a header with CR/LF/NUL on {request.path}")
                return HttpResponse.text(500, "internal error in the kctl server\n")
        return response

    async def _write_error(self, pipe: _Pipe, status: int, message: str) -> None:
        """Answer a request the server itself refuses, then close without losing the answer.

        The client may still be sending (a body over the limit): closing with unread data would
        make the kernel send RST, and the client would see a reset instead of the 413. So the
        write side is shut first and what still arrives is read and dropped, for a bounded time.
        """
        self.stats.requests += 1
        transport = pipe.transport
        assert transport is not None
        with contextlib.suppress(ConnectionError, TimeoutError):
            await self._write(pipe, HttpResponse.text(status, message + "\n"), False, True)
            if transport.can_write_eof():
                transport.write_eof()
            await pipe.linger(self.limits.linger, _LINGER_BYTES)

    async def _write(
        self, pipe: _Pipe, response: HttpResponse, keep_alive: bool, body: bool
    ) -> None:
        # built by hand, Date and reason phrase from tables: this runs for every answer, and
        # email.utils.formatdate and http.HTTPStatus cost more than the rest of it together
        status = response.status
        reason = _REASONS.get(status, "Unknown")
        head = [f"HTTP/1.1 {status} {reason}\r\n"]
        has_date = has_server = False
        for name, value in response.headers:
            lowered = name.lower()
            if lowered in _FRAMING:
                continue
            has_date = has_date or lowered == "date"
            has_server = has_server or lowered == "server"
            head.append(f"{name}: {value}\r\n")
        if not has_date:
            head.append(_http_date())
        if not has_server:
            head.append("Server: kctl\r\n")
        has_body = status not in _NO_BODY_STATUSES and status >= 200
        if has_body:
            head.append(f"Content-Length: {len(response.body)}\r\n")
        head.append(_KEEP_ALIVE if keep_alive else _CLOSE)
        data = "".join(head).encode("latin-1")
        if body and has_body:
            data += response.body
        await pipe.write(data, self.limits.write_timeout)


# HTTP/1.1 reason phrases, for the status line
_REASONS = {s.value: s.phrase for s in http.HTTPStatus}
_FRAMING = frozenset({"content-length", "transfer-encoding", "connection"})
_KEEP_ALIVE = "Connection: keep-alive\r\n\r\n"
_CLOSE = "Connection: close\r\n\r\n"
_date_line = [0, ""]  # the second it is for, and the line


def _http_date() -> str:
    """The ``Date`` header line for now; made once a second."""
    now = int(time.time())
    if _date_line[0] != now:
        _date_line[:] = [now, f"Date: {formatdate(now, usegmt=True)}\r\n"]
    return str(_date_line[1])


class _Pipe(asyncio.Protocol):
    """One connection's bytes, framed as they arrive, for the coroutine that serves it.

    In place of asyncio's streams: the bytes go straight to the framer, the coroutine wakes
    once per read that completed something rather than per read, and a deadline costs one timer
    and only while the coroutine actually waits. Reading pauses while requests wait unanswered
    (a client pipelining faster than it reads), writing waits while the client does not read.
    """

    def __init__(self, framer: _Framer) -> None:
        self.framer = framer
        self.events: deque[_Event] = deque()
        self.transport: asyncio.Transport | None = None
        self.ended = False  # the client sent EOF, or the connection is gone
        self.lost = False  # the connection is gone: nothing can be written any more
        self._waiter: asyncio.Future[None] | None = None
        self._reading_paused = False
        self._writing_paused = False
        self._drained: asyncio.Future[None] | None = None
        self._dropping = False  # after a refusal: what arrives is counted, not framed
        self._dropped = 0
        self._gone: asyncio.Future[None] | None = None

    # asyncio's side

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        if self._dropping:
            self._dropped += len(data)
        else:
            self.events.extend(self.framer.feed(data))
            if len(self.events) > _EVENTS_HELD and not self._reading_paused:
                assert self.transport is not None
                self.transport.pause_reading()
                self._reading_paused = True
        self._wake()

    def eof_received(self) -> bool:
        self.ended = True
        self._wake()
        return True  # keep the write side open: the answers to what came before still go out

    def connection_lost(self, exc: Exception | None) -> None:
        self.ended = self.lost = True
        self._wake()
        if self._gone is not None and not self._gone.done():
            self._gone.set_result(None)
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_exception(ConnectionResetError("connection lost"))

    def pause_writing(self) -> None:
        self._writing_paused = True

    def resume_writing(self) -> None:
        self._writing_paused = False
        drained, self._drained = self._drained, None
        if drained is not None and not drained.done():
            drained.set_result(None)

    def _wake(self) -> None:
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    # the serving coroutine's side

    async def next(self, kind: type[_E], timeout: float) -> _E | None:
        """The next framing event, which must be a ``kind``; None when the client closed.

        TimeoutError when none is complete within ``timeout`` s."""
        if not self.events:
            if self.ended:
                return None
            deadline = asyncio.get_running_loop().time() + timeout
            while not self.events:
                if self.ended:
                    return None
                await self._wait(deadline)
        event = self.events.popleft()
        if self._reading_paused and len(self.events) <= _EVENTS_HELD // 2 and not self.lost:
            assert self.transport is not None
            self.transport.resume_reading()
            self._reading_paused = False
        if isinstance(event, _BadRequest):
            raise event
        assert isinstance(event, kind), f"{kind.__name__} expected, not {event!r}"
        return event

    async def _wait(self, deadline: float) -> None:
        loop = asyncio.get_running_loop()
        waiter = self._waiter = loop.create_future()
        timer = loop.call_at(deadline, _expire, waiter)
        try:
            await waiter
        finally:
            timer.cancel()
            self._waiter = None

    async def write(self, data: bytes, timeout: float) -> None:
        """Write ``data``; while the client does not read, wait up to ``timeout`` s for it."""
        if self.lost:
            raise ConnectionResetError("connection lost")
        assert self.transport is not None
        self.transport.write(data)
        if not self._writing_paused:
            return
        loop = asyncio.get_running_loop()
        drained = self._drained = loop.create_future()
        timer = loop.call_later(timeout, _expire, drained)
        try:
            await drained
        finally:
            timer.cancel()

    async def gone(self) -> None:
        """Wait until the connection is closed."""
        if not self.lost:
            self._gone = asyncio.get_running_loop().create_future()
            await self._gone

    async def linger(self, timeout: float, limit: int) -> None:
        """Read and drop what the client still sends: until it closes, ``limit`` bytes or
        ``timeout`` s, whichever comes first."""
        self._dropping = True
        self.events.clear()
        if self._reading_paused and not self.lost:
            assert self.transport is not None
            self.transport.resume_reading()
            self._reading_paused = False
        deadline = asyncio.get_running_loop().time() + timeout
        while not self.ended and self._dropped < limit:
            await self._wait(deadline)


def _expire(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_exception(TimeoutError())


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


@dataclass(eq=False)
class ServerThread:
    """A server on its own event loop in a daemon thread. ``stop()`` (or leaving a ``with``
    block) shuts it down gracefully and joins the thread."""

    server: HttpServer
    grace: float = 2.0
    _thread: threading.Thread | None = field(default=None, init=False)
    _ready: threading.Event = field(default_factory=threading.Event, init=False)
    _error: BaseException | None = field(default=None, init=False)
    _loop: asyncio.AbstractEventLoop | None = field(default=None, init=False)

    @property
    def port(self) -> int:
        return self.server.port

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        assert self._loop is not None, "not started"
        return self._loop

    def start(self) -> ServerThread:
        thread = threading.Thread(
            target=self._run, name=f"kctl-http:{self.server.host}", daemon=True
        )
        self._thread = thread
        thread.start()
        self._ready.wait()
        if self._error is not None:
            thread.join()
            raise self._error
        return self

    def _run(self) -> None:
        asyncio.run(self._main())

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            await self.server.start()
        except BaseException as e:
            self._error = e
            self._ready.set()
            await self.server.close(0)
            return
        self._ready.set()
        try:
            await self.server.wait_stopped()
        finally:
            await self.server.close(self.grace)

    def stop(self, timeout: float = 10.0) -> None:
        """Shut down (idempotent). Must not be called from the server's own thread."""
        thread = self._thread
        if thread is None:
            return
        if threading.current_thread() is thread:
            raise RuntimeError("ServerThread.stop() called from its own thread")
        self.server.request_stop("stopped")
        thread.join(timeout)

    def __enter__(self) -> ServerThread:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
