"""A small asyncio HTTP/1.1 server on loopback, for ``kctl sandbox`` and ``kctl listen``.

Stdlib only. It reads a request head (64 KiB at most) and a ``Content-Length`` or chunked body
(1 MiB at most), calls an async handler, writes the response, and keeps the connection open for
the next request. Slow or idle clients are cut after a timeout, so a thousand open sockets cost
a thousand small coroutines and nothing more.

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
import http
import json
import re
import signal
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from functools import partial
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl, urlsplit

from kctl.errors import UsageError
from kctl.urls import is_loopback_host

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
BACKLOG = 2048
# enough descriptors for a thousand connections on each side of a loopback test, plus slack
WANTED_OPEN_FILES = 8192

_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_BAD_VALUE = re.compile(r"[\r\n\x00]")
_NO_BODY_STATUSES = frozenset({204, 304})
_LINGER_BYTES = 8 * MAX_BODY

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
        return next((v for k, v in self.headers if k.lower() == lowered), None)

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


@dataclass(slots=True)
class ServerStats:
    connections: int = 0  # accepted, in all
    open_connections: int = 0
    peak_connections: int = 0
    requests: int = 0  # answered, including the server's own 4xx


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


class _BadRequest(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


@dataclass(eq=False, slots=True)
class _Connection:
    task: asyncio.Task[None] | None
    busy: bool = False  # a request is being read past its head, handled or answered


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
        self._log = log or (lambda _line: None)
        self.stats = ServerStats()
        self.port = 0
        self._server: asyncio.Server | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._connections: set[_Connection] = set()
        self._closing = False
        self._stopped: asyncio.Event | None = None
        self._stop_reason: StopReason = "stopped"

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
        raise_open_file_limit()
        self._loop = asyncio.get_running_loop()
        self._stopped = asyncio.Event()
        try:
            self._server = await asyncio.start_server(
                self._on_connection,
                self.host,
                self._requested_port,
                backlog=self.backlog,
                limit=self.limits.max_head,
                reuse_address=True,
            )
        except OSError as e:
            raise UsageError(
                f"cannot listen on {self.host} port {self._requested_port}: {e.strerror or e}",
                "pick another --port, or 0 for a free one",
            ) from e
        self.port = int(self._server.sockets[0].getsockname()[1])
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
        if self._server is not None:
            self._server.close()
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
        if self.app is not None:
            try:
                await self.app.shutdown()
            except Exception as e:  # a broken cleanup must not keep the process alive
                self._log(f"shutdown error: {e!r}")
        if self._server is not None:
            await self._server.wait_closed()

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

    # --- connections --------------------------------------------------------------------------

    async def _on_connection(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        conn = _Connection(asyncio.current_task())
        stats = self.stats
        stats.connections += 1
        stats.open_connections += 1
        stats.peak_connections = max(stats.peak_connections, stats.open_connections)
        self._connections.add(conn)
        try:
            if not self._closing:
                await self._serve_connection(conn, reader, writer)
        except asyncio.CancelledError:
            # Shutdown cancelled this connection. Not re-raised: asyncio's streams would log a
            # cancelled connection task as an "unhandled exception".
            pass
        except (ConnectionError, TimeoutError, asyncio.IncompleteReadError):
            pass  # the client went away or was too slow: only this connection ends
        except Exception as e:  # never let one connection's bug take the server down
            self._log(f"connection error: {e!r}")
        finally:
            self._connections.discard(conn)
            stats.open_connections -= 1
            writer.close()
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await writer.wait_closed()

    async def _serve_connection(
        self, conn: _Connection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peername = writer.get_extra_info("peername")
        peer = (str(peername[0]), int(peername[1])) if peername else ("", 0)
        limits = self.limits
        while not self._closing:
            conn.busy = False
            try:
                async with asyncio.timeout(limits.idle_timeout):
                    head = await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                return  # closed between requests (or mid-head)
            except asyncio.LimitOverrunError:
                await self._write_error(reader, writer, 431, "request head over 64 KiB")
                return
            conn.busy = True
            try:
                request, keep_alive = await self._read_request(head, reader, writer, peer)
            except _BadRequest as e:
                await self._write_error(reader, writer, e.status, e.message)
                return
            response = await self._respond(request)
            keep_alive = keep_alive and not self._closing
            await self._write_response(writer, request, response, keep_alive)
            if not keep_alive:
                return

    async def _read_request(
        self,
        head: bytes,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        peer: tuple[str, int],
    ) -> tuple[HttpRequest, bool]:
        lines = head[:-4].decode("latin-1").split("\r\n")
        while lines and not lines[0]:  # RFC 9112 2.2: ignore empty lines before a request
            lines.pop(0)
        if not lines:
            raise _BadRequest(400, "empty request")
        parts = lines[0].split(" ")
        if len(parts) != 3 or not _TOKEN.fullmatch(parts[0]):
            raise _BadRequest(400, "malformed request line")
        method, target, version = parts
        if version not in ("HTTP/1.1", "HTTP/1.0"):
            raise _BadRequest(505, f"unsupported protocol {version[:20]!r}")
        if target.startswith(("http://", "https://")):  # absolute-form
            split = urlsplit(target)
            target = (split.path or "/") + (f"?{split.query}" if split.query else "")
        if not target.startswith("/") and not (method == "OPTIONS" and target == "*"):
            raise _BadRequest(400, "request target must start with '/'")
        headers: list[tuple[str, str]] = []
        for line in lines[1:]:
            if line[:1] in (" ", "\t"):
                raise _BadRequest(400, "folded header lines are not allowed")
            name, sep, value = line.partition(":")
            if not sep or not _TOKEN.fullmatch(name):
                raise _BadRequest(400, "malformed header line")
            headers.append((name, value.strip(" \t")))
        lowered = [(k.lower(), v) for k, v in headers]

        connection = {
            token.strip().lower() for k, v in lowered if k == "connection" for token in v.split(",")
        }
        if version == "HTTP/1.1":
            keep_alive = "close" not in connection
        else:
            keep_alive = "keep-alive" in connection

        body = await self._read_body(lowered, reader, writer)
        path, _, query = target.partition("?")
        request = HttpRequest(method, path, query, tuple(headers), body, peer, version)
        return request, keep_alive

    async def _read_body(
        self,
        lowered: list[tuple[str, str]],
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> bytes:
        limits = self.limits
        lengths = {v.strip() for k, v in lowered if k == "content-length"}
        codings = [
            c.strip().lower() for k, v in lowered if k == "transfer-encoding" for c in v.split(",")
        ]
        if codings and lengths:  # the classic request-smuggling ambiguity
            raise _BadRequest(400, "both Transfer-Encoding and Content-Length")
        if codings and codings != ["chunked"]:
            raise _BadRequest(501, "only the chunked transfer coding is supported")
        length = 0
        if lengths:
            if len(lengths) > 1 or not all(v.isdigit() for v in lengths):
                raise _BadRequest(400, "invalid Content-Length")
            length = int(lengths.pop())
            if length > limits.max_body:
                raise _BadRequest(413, "request body over 1 MiB")
        expects = any(k == "expect" and v.lower() == "100-continue" for k, v in lowered)
        if expects and (length or codings):
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n")
        async with asyncio.timeout(limits.body_timeout):
            if codings:
                return await self._read_chunked(reader)
            return await reader.readexactly(length) if length else b""

    async def _read_chunked(self, reader: asyncio.StreamReader) -> bytes:
        body = bytearray()
        while True:
            line = await self._read_line(reader)
            size_text = line.split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise _BadRequest(400, "malformed chunk size") from None
            if size < 0:
                raise _BadRequest(400, "malformed chunk size")
            if size == 0:
                while await self._read_line(reader):  # trailers, ignored
                    pass
                return bytes(body)
            if len(body) + size > self.limits.max_body:
                raise _BadRequest(413, "request body over 1 MiB")
            body += await reader.readexactly(size)
            if await reader.readexactly(2) != b"\r\n":
                raise _BadRequest(400, "malformed chunk")

    @staticmethod
    async def _read_line(reader: asyncio.StreamReader) -> bytes:
        try:
            line = await reader.readuntil(b"\r\n")
        except asyncio.LimitOverrunError:
            raise _BadRequest(400, "chunk line too long") from None
        return line[:-2]

    async def _respond(self, request: HttpRequest) -> HttpResponse:
        try:
            response = await self._handler(request)
        except Exception as e:
            self._log(f"handler error on {request.method} {request.path}: {e!r}")
            return HttpResponse.text(500, "internal error in the kctl server\n")
        bad = [v for kv in response.headers for v in kv if _BAD_VALUE.search(v)]
        if bad:
            self._log(f"handler returned a header with CR/LF/NUL on {request.path}")
            return HttpResponse.text(500, "internal error in the kctl server\n")
        return response

    async def _write_error(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        status: int,
        message: str,
    ) -> None:
        """Answer a request the server itself refuses, then close without losing the answer.

        The client may still be sending (a body over the limit): closing with unread data would
        make the kernel send RST, and the client would see a reset instead of the 413. So the
        write side is shut first and what still arrives is read and dropped, for a bounded time.
        """
        self.stats.requests += 1
        with contextlib.suppress(ConnectionError, TimeoutError):
            await self._write(writer, HttpResponse.text(status, message + "\n"), False, True)
            if writer.can_write_eof():
                writer.write_eof()
            async with asyncio.timeout(self.limits.linger):
                dropped = 0
                while dropped < _LINGER_BYTES:
                    chunk = await reader.read(65536)
                    if not chunk:
                        break
                    dropped += len(chunk)

    async def _write_response(
        self,
        writer: asyncio.StreamWriter,
        request: HttpRequest,
        response: HttpResponse,
        keep_alive: bool,
    ) -> None:
        self.stats.requests += 1
        await self._write(writer, response, keep_alive, request.method != "HEAD")

    async def _write(
        self, writer: asyncio.StreamWriter, response: HttpResponse, keep_alive: bool, body: bool
    ) -> None:
        status = response.status
        try:
            reason = http.HTTPStatus(status).phrase
        except ValueError:
            reason = "Unknown"
        lines = [f"HTTP/1.1 {status} {reason}"]
        framing = {"content-length", "transfer-encoding", "connection"}
        lines += [f"{k}: {v}" for k, v in response.headers if k.lower() not in framing]
        names = {k.lower() for k, _ in response.headers}
        if "date" not in names:
            lines.append(f"Date: {formatdate(usegmt=True)}")
        if "server" not in names:
            lines.append("Server: kctl")
        has_body = status not in _NO_BODY_STATUSES and status >= 200
        if has_body:
            lines.append(f"Content-Length: {len(response.body)}")
        lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
        data = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if body and has_body:
            data += response.body
        writer.write(data)
        async with asyncio.timeout(self.limits.write_timeout):
            await writer.drain()


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
