"""A lean asyncio HTTP/1.1 client for ``kctl load``: one keep-alive connection per worker.

Why not httpx: at CleverTap's concurrency the client's own CPU time becomes part of every
latency it measures. On the 2-core machine of ``bench/load_client.py``, httpx.AsyncClient with
a pool of 1,500 connections spent about 40 times the CPU per request of this client, so it
reported the client's queueing as the endpoint's slowness (see the figures in bench/README.md).
This client does only what a load probe needs: write a prepared request, read one reply head,
read (and cap) its body, keep the connection when the server lets it.

Stdlib only; errors are plain exceptions the caller turns into counts, never into a traceback.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from dataclasses import dataclass
from urllib.parse import urlsplit

from kctl.errors import UsageError

MAX_HEAD = 64 * 1024
# enough of a reply body to classify it as CleverTap does; the rest is read and dropped
BODY_KEPT = 16 * 1024
BODY_DRAINED = 1024 * 1024  # a longer body is not worth reading to keep the connection
_DEFAULT_PORTS = {"http": 80, "https": 443}
_INTERIM_LIMIT = 8  # 1xx replies skipped before the real one


class BadReply(Exception):
    """The server answered something that is not an HTTP/1.x reply."""


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where the load goes, parsed from the URL's text alone (no DNS)."""

    scheme: str  # http or https
    host: str  # without brackets
    port: int
    target: str  # path and query, as sent on the request line
    host_header: str  # what the Host header says

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        try:
            parts = urlsplit(url)
            port = parts.port
        except ValueError as e:
            raise UsageError(f"endpoint {url!r} is not a valid URL: {e}") from e
        scheme = parts.scheme.lower()
        host = parts.hostname
        if scheme not in _DEFAULT_PORTS or not host:
            raise UsageError(f"endpoint {url!r} is not an absolute http(s) URL")
        if parts.username is not None or parts.password is not None:
            raise UsageError("the endpoint URL carries credentials; use auth in the config")
        target = parts.path or "/"
        if parts.query:
            target += "?" + parts.query
        if any(c in target for c in " \r\n\x00"):
            raise UsageError("the endpoint URL's path has spaces or control characters")
        try:
            ascii_host = host.encode("idna").decode("ascii")
        except UnicodeError as e:
            raise UsageError(f"endpoint host {host!r} is not a valid host name") from e
        shown = f"[{ascii_host}]" if ":" in ascii_host else ascii_host
        default = _DEFAULT_PORTS[scheme]
        return cls(
            scheme=scheme,
            host=host,
            port=port or default,
            target=target,
            host_header=shown if port in (None, default) else f"{shown}:{port}",
        )

    @property
    def is_tls(self) -> bool:
        return self.scheme == "https"


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes  # at most BODY_KEPT bytes
    truncated: bool
    keep_alive: bool


class Connection:
    """One keep-alive connection; ``exchange`` sends a prepared request and reads the reply."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._reader = reader
        self._writer = writer

    @classmethod
    async def open(cls, address: str, endpoint: Endpoint, tls: ssl.SSLContext | None) -> Connection:
        reader, writer = await asyncio.open_connection(
            address,
            endpoint.port,
            ssl=tls,
            server_hostname=endpoint.host if tls is not None else None,
            limit=MAX_HEAD,
        )
        sock = writer.get_extra_info("socket")
        if sock is not None:  # a request is one small write: do not let Nagle hold it back
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return cls(reader, writer)

    def close(self) -> None:
        if not self._writer.is_closing():
            self._writer.close()

    async def wait_closed(self) -> None:
        with contextlib.suppress(OSError):  # ssl.SSLError included
            await self._writer.wait_closed()

    async def exchange(self, data: bytes) -> Reply:
        writer = self._writer
        writer.write(data)
        await writer.drain()
        for _ in range(_INTERIM_LIMIT):
            status, reason, version, headers = _parse_head(await self._read_head())
            if not (100 <= status < 200) or status == 101:
                break
        else:
            raise BadReply(f"more than {_INTERIM_LIMIT} interim (1xx) replies")
        lowered = {k.lower(): v for k, v in headers}
        tokens = {t.strip().lower() for t in lowered.get("connection", "").split(",")}
        keep_alive = "close" not in tokens if version == "HTTP/1.1" else "keep-alive" in tokens
        if status == 101:  # the connection now speaks another protocol
            return Reply(status, reason, version, headers, b"", False, False)
        if status in (204, 304):
            return Reply(status, reason, version, headers, b"", False, keep_alive)
        if "chunked" in lowered.get("transfer-encoding", "").lower():
            body, total, complete = await self._read_chunked()
        elif "content-length" in lowered:
            body, total, complete = await self._read_sized(
                _content_length(lowered["content-length"])
            )
        else:  # the body runs to the end of the connection
            body, total, _ = await self._read_to_close()
            complete = False
        truncated = total > len(body)
        return Reply(status, reason, version, headers, body, truncated, keep_alive and complete)

    async def _read_head(self) -> bytes:
        try:
            return await self._reader.readuntil(b"\r\n\r\n")
        except asyncio.IncompleteReadError as e:
            what = "reply head cut short" if e.partial else "connection closed before a reply"
            raise ConnectionResetError(what) from e
        except asyncio.LimitOverrunError as e:
            raise BadReply("reply head over 64 KiB") from e

    # Each reader returns (kept, total size, whether the body was read to its end): a body
    # left unread makes the connection useless for the next request.

    async def _read_sized(self, size: int) -> tuple[bytes, int, bool]:
        if size > BODY_DRAINED:
            return await self._reader.readexactly(BODY_KEPT), size, False
        body = await self._reader.readexactly(size)
        return body[:BODY_KEPT], size, True

    async def _read_chunked(self) -> tuple[bytes, int, bool]:
        kept = bytearray()
        total = 0
        while True:
            line = await self._reader.readuntil(b"\r\n")
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError as e:
                raise BadReply("malformed chunk size") from e
            if size == 0:
                while await self._reader.readuntil(b"\r\n") != b"\r\n":
                    pass  # trailers
                return bytes(kept), total, True
            total += size
            if total > BODY_DRAINED:
                return bytes(kept), total, False
            chunk = await self._reader.readexactly(size + 2)
            kept += chunk[:size][: max(0, BODY_KEPT - len(kept))]

    async def _read_to_close(self) -> tuple[bytes, int, bool]:
        kept = bytearray()
        total = 0
        while total <= BODY_DRAINED:
            piece = await self._reader.read(64 * 1024)
            if not piece:
                break
            total += len(piece)
            kept += piece[: max(0, BODY_KEPT - len(kept))]
        return bytes(kept), total, False


def _parse_head(head: bytes) -> tuple[int, str, str, tuple[tuple[str, str], ...]]:
    lines = head[:-4].decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code, _, reason = rest.partition(" ")
    if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not code.isdigit():
        raise BadReply("not an HTTP/1.x status line")
    headers = []
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep:
            raise BadReply("malformed header line in the reply")
        headers.append((name.strip(), value.strip(" \t")))
    return int(code), reason, version, tuple(headers)


def _content_length(value: str) -> int:
    if not value.strip().isdigit():
        raise BadReply("malformed Content-Length in the reply")
    return int(value.strip())


def request_head(
    method: str, endpoint: Endpoint, headers: list[tuple[bytes, bytes]]
) -> tuple[bytes, bytes]:
    """The request head up to ``Content-Length: `` and what follows the length: a request is
    ``before + str(len(body)) + after + body``."""
    lines = [f"{method} {endpoint.target} HTTP/1.1".encode("ascii")]
    lines.append(b"Host: " + endpoint.host_header.encode("ascii"))
    lines += [k + b": " + v for k, v in headers if k.lower() not in (b"host", b"content-length")]
    return b"\r\n".join(lines) + b"\r\nContent-Length: ", b"\r\n\r\n"
