"""A small threaded HTTP/1.1 server on loopback, for tests that need a real peer.

It records every request exactly as it arrived and answers with programmed ``Reply`` values:
from a queue (``enqueue``), else from a handler function, else 500 "no reply programmed". A reply
can stall before its status line, trickle its body, stream a large body without building it in
memory, or cut the connection (reset or clean close) part-way through.

    with serve(lambda req: Reply.json({"status": "success"})) as server:
        send(Request("POST", server.url("/whatsapp"), ...))
        assert server.requests[0].header("api-key") == "k"

The server binds only loopback addresses (127.0.0.0/8, ::1), port 0 by default, on daemon
threads, and ``stop()`` closes every socket it opened, so pytest's ResourceWarning-as-error
setting stays quiet. Exceptions raised by a handler become a 500 reply and are kept in
``errors`` rather than escaping the server thread.
"""

from __future__ import annotations

import contextlib
import http
import ipaddress
import json
import re
import selectors
import socket
import ssl
import struct
import threading
import traceback
from collections import deque
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import Any, Literal
from urllib.parse import parse_qsl

Handler = Callable[["RecordedRequest"], "Reply"]

_MAX_HEAD = 64 * 1024
_FILLER = b"x" * (64 * 1024)
_REQUEST_START = re.compile(rb"[A-Z]{1,15}( |$)")


@dataclass(frozen=True)
class RecordedRequest:
    """One request as it arrived on the wire."""

    method: str
    target: str  # the request target exactly as sent: "/p?q=1", or absolute-form via a proxy
    path: str  # target without the query
    query: str  # raw query string, without "?"
    http_version: str  # "HTTP/1.1"
    headers: tuple[tuple[str, str], ...]  # names with their original case, in arrival order
    body: bytes  # de-chunked when the request used Transfer-Encoding: chunked
    raw_head: bytes  # request line and header lines, byte for byte, up to the blank line
    client: tuple[str, int]

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def header_names(self) -> list[str]:
        return [k for k, _ in self.headers]

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> list[tuple[str, str]]:
        return parse_qsl(self.body.decode("utf-8"), keep_blank_values=True)

    def query_params(self) -> list[tuple[str, str]]:
        return parse_qsl(self.query, keep_blank_values=True)


@dataclass(frozen=True)
class Reply:
    """What the server sends back, and how."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    reason: str | None = None  # default: the standard phrase for ``status``
    delay: float = 0.0  # seconds to wait before sending the status line
    # send the body in these pieces (``body`` is then ignored), sleeping ``chunk_delay`` between
    chunks: tuple[bytes, ...] | None = None
    chunk_delay: float = 0.0
    # send the whole reply, status line included, one byte at a time with this many seconds
    # between bytes: every read gets something, so no per-read timeout ever fires
    trickle: float | None = None
    # stream this many filler bytes as the body (``body`` ignored), never built in memory
    stream_size: int | None = None
    # Content-Length to announce; None: the real length. Ignored when ``headers`` sets one
    # or Transfer-Encoding.
    content_length: int | None = None
    # cut the connection after this many body bytes (0: right after the head)
    cut_after: int | None = None
    # cut without sending anything at all
    cut_before_head: bool = False
    cut: Literal["reset", "close"] = "reset"  # TCP RST, or a clean FIN
    keep_alive: bool = True  # False: "Connection: close" and close after the reply

    @classmethod
    def json(cls, obj: Any, status: int = 200, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
        return cls(
            status=status,
            headers=(("Content-Type", "application/json"), *headers),
            body=json.dumps(obj).encode(),
        )

    @classmethod
    def text(
        cls,
        text: str,
        status: int = 200,
        content_type: str = "text/plain; charset=utf-8",
        headers: tuple[tuple[str, str], ...] = (),
    ) -> Reply:
        return cls(
            status=status, headers=(("Content-Type", content_type), *headers), body=text.encode()
        )

    def body_length(self) -> int:
        if self.stream_size is not None:
            return self.stream_size
        if self.chunks is not None:
            return sum(len(c) for c in self.chunks)
        return len(self.body)


class _NotHttp(Exception):
    """The peer sent something that is not HTTP/1.x."""


class _Cut(Exception):
    """The reply asked for the connection to be cut; the connection thread stops."""


class _Conn:
    """A buffered reader/writer over one accepted socket."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self._buf = bytearray()

    def _fill(self) -> bool:
        data = self.sock.recv(65536)
        if not data:
            return False
        self._buf += data
        return True

    def read_head(self) -> bytes | None:
        """Bytes up to and including the blank line; None when the peer closed first.

        Raises ``_NotHttp`` as soon as the first bytes cannot start a request line (a TLS
        ClientHello sent to a plain port, say), so the client is not left waiting.
        """
        while True:
            if self._buf and not _REQUEST_START.match(self._buf[:16]):
                raise _NotHttp
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0:
                head = bytes(self._buf[: end + 4])
                del self._buf[: end + 4]
                return head
            if len(self._buf) > _MAX_HEAD or not self._fill():
                return None

    def read_exact(self, n: int) -> bytes:
        while len(self._buf) < n:
            if not self._fill():
                raise ConnectionError("peer closed mid-body")
        data = bytes(self._buf[:n])
        del self._buf[:n]
        return data

    def read_line(self) -> bytes:
        while (end := self._buf.find(b"\r\n")) < 0:
            if not self._fill():
                raise ConnectionError("peer closed mid-body")
        line = bytes(self._buf[:end])
        del self._buf[: end + 2]
        return line

    def read_chunked(self) -> bytes:
        body = bytearray()
        while True:
            size = int(self.read_line().split(b";", 1)[0].strip(), 16)
            if size == 0:
                while self.read_line():  # trailers
                    pass
                return bytes(body)
            body += self.read_exact(size)
            self.read_exact(2)


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class TestServer:
    """The server. Use as a context manager, or call ``start()`` / ``stop()``."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        handler: Handler | None = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        if not _is_loopback(host):
            raise ValueError(f"TestServer binds loopback addresses only, not {host!r}")
        self.host = host
        self._requested_port = port
        self.handler = handler
        self.tls = tls
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._queue: deque[Reply] = deque()
        self._errors: list[str] = []
        self._connections = 0
        self._arrived = threading.Condition(self._lock)
        self._stopping = threading.Event()
        self._open: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self._wake_r: socket.socket | None = None
        self._wake_w: socket.socket | None = None
        self.port = 0

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> TestServer:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        try:
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            listener.bind((self.host, self._requested_port))
            listener.listen(64)
            listener.setblocking(False)
        except BaseException:
            listener.close()
            raise
        self._listener = listener
        self.port = listener.getsockname()[1]
        self._wake_r, self._wake_w = socket.socketpair()
        thread = threading.Thread(target=self._accept_loop, name=f"testserver:{self.port}")
        thread.daemon = True
        self._threads.append(thread)
        thread.start()
        return self

    def stop(self) -> None:
        """Stop accepting, cut open connections, wait (briefly) for threads, close sockets."""
        if self._stopping.is_set():
            return
        self._stopping.set()
        if self._wake_w is not None:
            with contextlib.suppress(OSError):
                self._wake_w.send(b"x")
        if self._threads:
            self._threads[0].join(timeout=5)  # the accept loop: no new connections after this
        with self._lock:
            open_now = list(self._open)
        for sock in open_now:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads[1:]:
            thread.join(timeout=5)
        for own in (self._listener, self._wake_r, self._wake_w):
            if own is not None:
                own.close()

    def __enter__(self) -> TestServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # --- what tests use ---------------------------------------------------------------------

    @property
    def origin(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    def url(self, path: str = "/") -> str:
        return self.origin + path

    def enqueue(self, *replies: Reply) -> None:
        """Answer the next requests with these replies, in order, before the handler."""
        with self._lock:
            self._queue.extend(replies)

    @property
    def requests(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self._requests)

    @property
    def errors(self) -> list[str]:
        """Tracebacks of handler exceptions, and requests that arrived with nothing programmed."""
        with self._lock:
            return list(self._errors)

    @property
    def connections(self) -> int:
        """How many TCP connections were accepted (including ones that failed TLS)."""
        with self._lock:
            return self._connections

    def wait_for_requests(self, count: int, timeout: float = 5.0) -> list[RecordedRequest]:
        with self._arrived:
            self._arrived.wait_for(lambda: len(self._requests) >= count, timeout)
            return list(self._requests)

    # --- internals --------------------------------------------------------------------------

    def _accept_loop(self) -> None:
        assert self._listener is not None
        assert self._wake_r is not None
        with selectors.DefaultSelector() as selector:
            selector.register(self._listener, selectors.EVENT_READ)
            selector.register(self._wake_r, selectors.EVENT_READ)
            while not self._stopping.is_set():
                for key, _ in selector.select():
                    if key.fileobj is self._wake_r or self._stopping.is_set():
                        return
                    try:
                        sock, addr = self._listener.accept()
                    except (BlockingIOError, InterruptedError):
                        continue
                    except OSError:
                        return
                    sock.setblocking(True)
                    with self._lock:
                        self._connections += 1
                        self._open.add(sock)
                    thread = threading.Thread(
                        target=self._serve_connection, args=(sock, addr), daemon=True
                    )
                    self._threads.append(thread)
                    thread.start()

    def _serve_connection(self, sock: socket.socket, addr: tuple[Any, ...]) -> None:
        conn_sock = sock
        try:
            if self.tls is not None:
                sock.settimeout(5)
                conn_sock = self.tls.wrap_socket(
                    sock, server_side=True, do_handshake_on_connect=False
                )
                with self._lock:
                    self._open.discard(sock)
                    self._open.add(conn_sock)
                conn_sock.do_handshake()
                conn_sock.settimeout(None)
            conn = _Conn(conn_sock)
            while not self._stopping.is_set():
                try:
                    request = self._read_request(conn, (str(addr[0]), int(addr[1])))
                except _NotHttp:
                    # what a real server does, and what makes the client fail fast
                    conn_sock.sendall(
                        b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n"
                        b"Connection: close\r\n\r\n"
                    )
                    return
                if request is None:
                    return
                reply = self._reply_for(request)
                self._write_reply(conn_sock, request, reply)
                if not reply.keep_alive or request.header("connection") == "close":
                    return
        except (_Cut, OSError, ValueError):
            # the client went away, TLS failed, the request was malformed, or a cut was asked
            # for: all end this connection and nothing else
            return
        finally:
            with self._lock:
                self._open.discard(conn_sock)
                self._open.discard(sock)
            conn_sock.close()

    def _read_request(self, conn: _Conn, client: tuple[str, int]) -> RecordedRequest | None:
        head = conn.read_head()
        if head is None:
            return None
        lines = head[:-4].decode("latin-1").split("\r\n")
        method, target, version = lines[0].split(" ", 2)
        headers = tuple(
            (name, value.strip()) for name, _, value in (line.partition(":") for line in lines[1:])
        )
        lowered = {k.lower(): v for k, v in headers}
        if "chunked" in lowered.get("transfer-encoding", "").lower():
            body = conn.read_chunked()
        else:
            body = conn.read_exact(int(lowered.get("content-length", "0")))
        path, _, query = target.partition("?")
        request = RecordedRequest(
            method=method,
            target=target,
            path=path,
            query=query,
            http_version=version,
            headers=headers,
            body=body,
            raw_head=head,
            client=client,
        )
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()
        return request

    def _reply_for(self, request: RecordedRequest) -> Reply:
        with self._lock:
            queued = self._queue.popleft() if self._queue else None
        if queued is not None:
            return queued
        if self.handler is None:
            with self._lock:
                self._errors.append(f"no reply programmed for {request.method} {request.target}")
            return Reply.text("tests.servers: no reply programmed\n", status=500)
        try:
            return self.handler(request)
        except Exception:
            text = traceback.format_exc()
            with self._lock:
                self._errors.append(text)
            return Reply.text(text, status=500)

    def _pause(self, seconds: float) -> None:
        # an Event wait, not time.sleep, so stop() does not wait out a long programmed delay
        if seconds > 0 and self._stopping.wait(seconds):
            raise _Cut

    def _cut(self, sock: socket.socket, how: Literal["reset", "close"]) -> None:
        if how == "reset":
            # SO_LINGER with a zero timeout makes close() send RST instead of FIN
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        raise _Cut

    def _write_reply(self, sock: socket.socket, request: RecordedRequest, reply: Reply) -> None:
        self._pause(reply.delay)
        if reply.cut_before_head:
            self._cut(sock, reply.cut)
        reason = reply.reason
        if reason is None:
            try:
                reason = http.HTTPStatus(reply.status).phrase
            except ValueError:
                reason = "Unknown"
        lines = [f"HTTP/1.1 {reply.status} {reason}"]
        names = {k.lower() for k, _ in reply.headers}
        lines += [f"{k}: {v}" for k, v in reply.headers]
        if "content-length" not in names and "transfer-encoding" not in names:
            length = reply.content_length
            lines.append(f"Content-Length: {reply.body_length() if length is None else length}")
        if not reply.keep_alive and "connection" not in names:
            lines.append("Connection: close")
        head = ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")
        if reply.trickle is not None:
            whole = head + b"".join(self._body_pieces(reply))
            for index in range(len(whole)):
                if index:
                    self._pause(reply.trickle)
                sock.sendall(whole[index : index + 1])
            return
        sock.sendall(head)
        if request.method == "HEAD":
            return

        budget = reply.cut_after
        if budget == 0:
            self._cut(sock, reply.cut)
        for index, piece in enumerate(self._body_pieces(reply)):
            if index and reply.chunk_delay:
                self._pause(reply.chunk_delay)
            if budget is not None and len(piece) >= budget:
                sock.sendall(piece[:budget])
                self._cut(sock, reply.cut)
            sock.sendall(piece)
            if budget is not None:
                budget -= len(piece)
        if budget is not None:
            self._cut(sock, reply.cut)

    @staticmethod
    def _body_pieces(reply: Reply) -> Iterator[bytes]:
        if reply.stream_size is not None:
            remaining = reply.stream_size
            while remaining > 0:
                piece = _FILLER if remaining >= len(_FILLER) else _FILLER[:remaining]
                remaining -= len(piece)
                yield piece
        elif reply.chunks is not None:
            yield from reply.chunks
        elif reply.body:
            yield reply.body


@contextlib.contextmanager
def serve(
    handler: Handler | None = None,
    *replies: Reply,
    host: str = "127.0.0.1",
    tls: ssl.SSLContext | None = None,
) -> Iterator[TestServer]:
    """Run a ``TestServer`` for the duration of a ``with`` block (or a yield fixture)."""
    server = TestServer(handler, host=host, tls=tls)
    server.enqueue(*replies)
    with server:
        yield server


def write_self_signed(cert_path: Path, key_path: Path, days: int = 1) -> None:
    """A self-signed certificate for 127.0.0.1 (it is its own CA) and its key, as PEM files."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "kctl test 127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=days))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
