"""Plain ``http://`` sends without httpx: the transport's promises on a socket and llhttp.

Importing httpx and building its client (httpcore, h11, and the TLS setup httpcore does even for
plain http) costs about 85 ms of CPU here, against 3 ms for the loopback POST itself and 40 ms
for Python with http.client (bench/compare.py). Most send-tests go to a local adapter or the
sandbox over plain http, so ``exchange`` sends those through this module when:

* the URL is plain ``http://``, written in the simple form httpx would send unchanged (a lower-
  case DNS name or an IP address, an optional port, a path and query of URL characters only);
* no proxy variable is set at all (proxies stay httpx's to route, as ``netenv`` spells out),
  on a system other than macOS and Windows (where urllib asks the system's settings too);
* the request sets none of the headers that frame a message (Host, Content-Length,
  Transfer-Encoding).

Everything else goes through httpx as before. What makes the two the same: the request goes out
byte for byte as httpx writes it (Host first, the headers in order, Content-Length last, or
``Content-Length: 0`` for an empty POST); the loop around it (retries only where nothing can have
been sent twice, Retry-After, the body capped, every attempt within one total deadline) is
``transport._exchange`` itself, run over this module's ``Wire``; its errors get the transport's
messages, and redirects are decided as there (only to the same origin, never turning a POST
into a GET); gzip and deflate replies are decoded as httpx decodes them. A redirect to a URL
outside the simple form above is reported, not followed.

The reply is read by llhttp, the parser the sandbox reads requests with, not by http.client,
whose import (with ssl and email's parser) alone cost 13 ms (kctl.send.reply says what it
accepts, and how that compares with httpx).
"""

from __future__ import annotations

import os
import re
import socket
import sys
from collections.abc import Callable, Iterator
from urllib.parse import urljoin

from kctl.errors import NetworkFailure
from kctl.lean import Record
from kctl.send import netenv
from kctl.send import transport as t
from kctl.send.reply import Failed, ReplyReader  # imports llhttp now, not within an attempt
from kctl.send.transport import AttemptFailed
from kctl.send.wire import Request
from kctl.urls import is_host

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Final

    from kctl.send.transport import _Deadline

_SIMPLE = re.compile(
    r"http://(?P<host>[a-z0-9._-]+|\[[0-9a-f:.]+\])(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<target>(?:/[A-Za-z0-9\-._~!$&'()*+,;=:@/%]*)?(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?%]*)?)"
)
_BAD_PERCENT = re.compile(r"%(?![0-9A-Fa-f]{2})")
_FRAMING = {b"host", b"content-length", b"transfer-encoding"}


class PlainUrl(Record):
    __slots__ = ("explicit_port", "host", "port", "target")
    host: Final[str]  # without brackets
    port: Final[int]  # 80 when the URL gives none
    explicit_port: Final[bool]
    target: Final[str]  # path and query, "/" at least

    def __init__(self, host: str, port: int, explicit_port: bool, target: str) -> None:
        self.host = host
        self.port = port
        self.explicit_port = explicit_port
        self.target = target

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}" if self.explicit_port else host

    @property
    def where(self) -> str:
        """host:port, as the transport's messages name an endpoint."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"

    def __str__(self) -> str:
        return f"http://{self.netloc}{self.target}"


def simple_url(raw: str) -> PlainUrl | None:
    """``raw`` when it is a plain http URL in the simple form httpx sends unchanged, else None."""
    match = _SIMPLE.fullmatch(raw)
    if match is None or _BAD_PERCENT.search(raw):
        return None
    host, port_text, target = match.group("host", "port", "target")
    if host.startswith("["):
        import ipaddress

        host = host[1:-1]
        try:
            ipaddress.IPv6Address(host)
        except ValueError:
            return None
    elif not is_host(host):
        return None
    port = int(port_text) if port_text else 80
    if not 0 < port <= 65535:
        return None
    # httpx drops a default port from the URL, and so from the Host header
    return PlainUrl(host, port, port_text is not None and port != 80, target or "/")


def route(request: Request, headers: list[tuple[bytes, bytes]]) -> PlainUrl | None:
    """The URL to send ``request`` to without httpx, or None when httpx must send it."""
    url = simple_url(request.url)
    if url is None or any(k.lower() in _FRAMING for k, _ in headers):
        return None
    # Any proxy variable (NO_PROXY too) leaves the routing to httpx; so do macOS and Windows,
    # where urllib falls back to the system's proxy settings when no variable is set.
    if sys.platform in ("darwin", "win32"):
        return None
    if any(name.lower().endswith("_proxy") and value for name, value in os.environ.items()):
        return None
    return url


# --- one attempt -------------------------------------------------------------------------------


class _Reply:
    def __init__(
        self,
        sock: socket.socket,
        reader: ReplyReader,
        failed: Callable[[Failed], AttemptFailed],  # what a failure reading the body says
    ) -> None:
        self.failed = failed
        self.sock = sock
        self.reader = reader
        self.status = reader.status
        self.reason = reader.reason
        self.http_version = reader.http_version
        raw = reader.headers
        encoding = _header_encoding(raw)
        self.headers = tuple((k.decode(encoding), v.decode(encoding)) for k, v in raw)

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)

    def chunks(self) -> Iterator[bytes]:
        try:
            yield from self._decoded()
        except Failed as e:
            raise self.failed(e) from e

    def _decoded(self) -> Iterator[bytes]:
        """The body as httpx's iter_bytes gives it: decoded per Content-Encoding."""
        decoders = _decoders(self.header("content-encoding") or "")
        for piece in self.reader.body():
            chunk = piece
            for decoder in decoders:
                chunk = decoder.decode(chunk)
            if chunk:
                yield chunk
        tail = b""
        for decoder in decoders:
            tail = decoder.decode(tail) + decoder.flush()
        if tail:
            yield tail

    def close(self) -> None:
        self.sock.close()


def _header_encoding(raw: list[tuple[bytes, bytes]]) -> str:
    """httpx's Headers.encoding: ascii, else utf-8 when every name and value decodes as it."""
    for encoding in ("ascii", "utf-8"):
        try:
            for k, v in raw:
                k.decode(encoding)
                v.decode(encoding)
        except UnicodeDecodeError:
            continue
        return encoding
    return "iso-8859-1"


class _Decoder:
    def __init__(self, name: str) -> None:
        import zlib  # here: most replies are not compressed, and a send imports this module

        self.first = name == "deflate"
        self.zlib = zlib.decompressobj(zlib.MAX_WBITS | 16 if name == "gzip" else zlib.MAX_WBITS)

    def decode(self, data: bytes) -> bytes:
        import zlib

        first, self.first = self.first, False
        try:
            return self.zlib.decompress(data)
        except zlib.error as e:
            if first:  # deflate without its zlib header, as some servers send it
                self.zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                return self.decode(data)
            raise Failed("decode", e) from e

    def flush(self) -> bytes:
        import zlib

        try:
            return self.zlib.flush()
        except zlib.error as e:
            raise Failed("decode", e) from e


def _decoders(header: str) -> list[_Decoder]:
    # outermost coding last in the header, so decoded first; others pass through, as in httpx
    names = [v.strip().lower() for v in header.split(",")]
    return [_Decoder(n) for n in reversed(names) if n in ("gzip", "deflate")]


def _request_bytes(
    method: str, url: PlainUrl, headers: list[tuple[bytes, bytes]], body: bytes
) -> bytes:
    lines = [f"{method} {url.target} HTTP/1.1".encode("ascii"), b"Host: " + url.netloc.encode()]
    lines += [k + b": " + v for k, v in headers]
    if body or method in ("POST", "PUT", "PATCH"):
        lines.append(b"Content-Length: " + str(len(body)).encode("ascii"))
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def _attempt(
    method: str,
    url: PlainUrl,
    headers: list[tuple[bytes, bytes]],
    body: bytes,
    *,
    timeout: float,
    deadline: _Deadline,
    failed: Callable[[Failed], AttemptFailed],
) -> _Reply:
    deadline.begin("connect_tcp")
    try:
        # the host as bytes: a simple URL's host is ASCII, and getaddrinfo would otherwise
        # encode it through the "idna" codec, whose import (stringprep, unicodedata) is 1 ms
        host = url.host.encode("ascii")
        sock = socket.create_connection((host, url.port), timeout=timeout)  # type: ignore[arg-type]
    except TimeoutError as e:
        raise Failed("connect_timeout", e) from e
    except OSError as e:
        raise Failed("connect", e) from e
    deadline.watch(sock)
    try:
        deadline.begin("send_request_headers")
        try:
            sock.sendall(_request_bytes(method, url, headers, body))
        except TimeoutError as e:
            raise Failed("write_timeout", e) from e
        except OSError as e:
            raise Failed("write", e) from e
        deadline.begin("receive_response_headers")
        reader = ReplyReader(sock, method)
        reader.read_head()
        deadline.begin("receive_response_body")
        return _Reply(sock, reader, failed)
    except BaseException:
        sock.close()
        raise


# --- the wire -------------------------------------------------------------------------------------


class Wire:
    """``transport``'s attempts for a URL ``route`` accepted, over a socket."""

    __slots__ = ("body", "headers", "method", "timeout")

    def __init__(
        self, method: str, headers: list[tuple[bytes, bytes]], body: bytes, timeout: float
    ) -> None:
        self.method = method
        self.headers = headers
        self.body = body
        self.timeout = timeout

    def attempt(self, url: PlainUrl, deadline: _Deadline) -> _Reply:
        try:
            return _attempt(
                self.method,
                url,
                self.headers,
                self.body,
                timeout=self.timeout,
                deadline=deadline,
                failed=lambda e: self._failed(e, url, reading_body=True),
            )
        except Failed as e:
            raise self._failed(e, url, reading_body=False) from e

    def _failed(self, e: Failed, url: PlainUrl, *, reading_body: bool) -> AttemptFailed:
        connecting = e.kind in ("connect", "connect_timeout")
        return AttemptFailed(
            _failure(e, url, self.timeout, reading_body=reading_body),
            connecting=connecting,
            connect_timeout=e.kind == "connect_timeout",
            retry_cause=_retryable_cause(e) if connecting else None,
        )

    def redirect(
        self, status: int, location: str | None, url: PlainUrl, hops: int
    ) -> tuple[PlainUrl | None, str]:
        return _redirect_decision(status, location, url, self.method, hops)

    def past_deadline(self, url: PlainUrl, step: str) -> NetworkFailure:
        return t._past_deadline_at(url.where, self.timeout, step)


def _redirect_decision(
    status: int, location: str | None, url: PlainUrl, method: str, hops: int
) -> tuple[PlainUrl | None, str]:
    if not location:
        return None, f"HTTP {status} redirect without a Location header: nothing to follow"
    joined = urljoin(str(url), location)
    target = simple_url(joined)
    if target is None:
        from urllib.parse import urlsplit

        try:
            parts = urlsplit(joined)
            host, port = (parts.hostname or "").lower(), parts.port
        except ValueError:
            return None, f"HTTP {status} redirect to an invalid URL: not followed"
        query = f"?{parts.query}" if parts.query else ""
        shown = f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}{parts.path}{query}"
        there = (parts.scheme, host, port or netenv.DEFAULT_PORTS.get(parts.scheme, 0))
        refusal = t.origin_refusal(shown, _origin(url), there)
        if refusal is None:
            refusal = f"redirect to {shown} not followed: kctl sends plain http to simple URLs only"
        return None, refusal
    shown = f"http://{target.netloc}{target.target}"
    refusal = t.redirect_refusal(
        status, shown, _origin(url), _origin(target), method=method, hops=hops
    )
    if refusal is not None:
        return None, refusal
    return target, f"followed HTTP {status} redirect to {shown} (same host)"


def _origin(url: PlainUrl) -> t.Origin:
    return "http", url.host, url.port


def _retryable_cause(e: Failed) -> str | None:
    return "connect timeout" if e.kind == "connect_timeout" else t.connect_retry_cause(e.root)


def _failure(e: Failed, url: PlainUrl, timeout: float, *, reading_body: bool) -> NetworkFailure:
    """The transport's message for what happened, word for word."""
    what = e.kind
    if what == "read":  # an OSError: the connection went away, by a reset or otherwise
        what = "reset" if isinstance(e.root, ConnectionResetError) else "closed"
    elif what == "protocol":
        what = "invalid"
    return t.lost(
        what, url.where, url.host, timeout, reading_body=reading_body, root=e.root, detail=e.detail
    )
