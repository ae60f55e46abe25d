"""One HTTP/1.x reply read off a socket, framed by llhttp (Node.js's HTTP parser, through
httptools' C response parser): how the plain wire (kctl.send.plain) reads replies.

llhttp decides where the reply ends, as RFC 9112 says: Content-Length, chunked, or the close of
the connection; no body after a 204 or 304, and none after the head of a reply to HEAD (llhttp
does not know the request: the reader stops there). Interim replies (1xx) are skipped, as httpx
skips them; a 101 is an error, since kctl never offers another protocol.

Replies are read as aiohttp's client reads them with llhttp: strict framing, lenient lines.
llhttp refuses what could frame a body two ways, more of it than httpx refuses (a Content-Length
given twice, as a list, or beside Transfer-Encoding), and that is an invalid reply, in llhttp's
words. Its leniencies take what httpx takes too, harmless on a connection closed after one
reply: a line that ends in a bare LF (RFC 9112 2.2), spaces after a chunk size, a header line
folded onto the next, any byte in a header value but CR, LF and NUL (the Fetch standard's
rule: a control character is shown escaped, never refused), and a 1xx that says ``Connection:
close``, or comes over HTTP/1.0, followed by the final reply. Checks of kctl's own, httpx's
too: no NUL in a header value, a head of 100 KiB at most (llhttp sets no bound), no
Transfer-Encoding other than chunked (its body could not be decoded).

Importing ``httptools`` runs its ``__init__``, which imports ``typing`` for a Protocol class,
about 4 ms; its C parser needs neither, but takes ``typing.Optional`` for annotations it keeps as
strings. So both packages' ``__init__`` are put off and the parser is imported without
typing (kctl.lean); whoever imports httptools later gets the whole package, with this parser in it.
"""

from __future__ import annotations

import socket

from kctl.lean import defer_package_init, import_without

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from collections.abc import Iterator

defer_package_init("httptools.parser")  # and httptools above it
import_without("httptools.parser.parser", "typing", "Optional")
# imported now, under the packages put off: these imports find the modules loaded
from httptools.parser.errors import HttpParserCallbackError, HttpParserError  # noqa: E402
from httptools.parser.parser import HttpResponseParser  # noqa: E402

MAX_HEAD = 100 * 1024  # httpcore's bound on a reply's head (h11's max_incomplete_event_size)
_CHUNK = 64 * 1024
_NO_BODY = frozenset({204, 304})


class Failed(Exception):
    """An attempt ended without a usable reply; ``kind`` says how (as httpx's classes do)."""

    def __init__(self, kind: str, root: BaseException | None = None, detail: str = "") -> None:
        super().__init__(kind)
        # connect, connect_timeout, write, write_timeout, read, read_timeout, closed, protocol,
        # decode
        self.kind = kind
        self.root = root
        self.detail = detail


class _Stop(Exception):
    """Raised by a callback to stop llhttp at the end of the reply: what follows is not read."""


class ReplyReader:
    """The reply to a ``method`` request on ``sock``: ``read_head``, then ``body``.

    Raises ``Failed``: ``closed`` (the peer closed before the reply was whole), ``read`` (an
    OSError, a reset among them), ``read_timeout``, ``protocol`` (``detail`` says what is wrong).
    """

    def __init__(self, sock: socket.socket, method: str) -> None:
        self._sock = sock
        self._head_only = method == "HEAD"
        self._parser = HttpResponseParser(self)
        self._parser.set_dangerous_leniencies(
            lenient_headers=True,
            lenient_optional_cr_before_lf=True,
            lenient_spaces_after_chunk_size=True,
            lenient_keep_alive=True,
        )
        self.status = 0
        self.reason = ""
        self.http_version = ""
        self.headers: list[tuple[bytes, bytes]] = []  # raw, in order, values without end spaces
        self._reason = b""
        self._in_head = True  # a head (interim or final) is still being read
        self._final = False  # the final reply's head is read
        self._until_close = False  # its body runs to the close of the connection
        self._complete = False
        self._body: list[bytes] = []  # body pieces llhttp gave, not handed out yet
        self._failure: Failed | None = None  # found past the head: raised once its body is out
        self._messages = 0  # begun: interim replies, then the final one
        self._first = b""  # the reply's first bytes, to show when they are not HTTP

    def read_head(self) -> None:
        """Read up to the end of the final reply's head."""
        fed = 0
        while not self._final:
            data = self._recv()
            if not data:
                raise Failed("closed")
            fed += len(data)
            if len(self._first) < 80:
                self._first += data[: 80 - len(self._first)]
            self._feed(data)
            if not self._final and fed > MAX_HEAD:
                raise Failed(
                    "protocol", detail=f"status line and headers over {MAX_HEAD // 1024} KiB"
                )

    def body(self) -> Iterator[bytes]:
        """The body, as llhttp gives it (de-chunked), in pieces as they arrive."""
        while True:
            pieces, self._body = self._body, []
            yield from pieces
            if self._failure is not None:
                raise self._failure
            if self._complete:
                return
            data = self._recv()
            if not data:
                if self._until_close:
                    return
                raise Failed("closed")  # the body was cut short
            self._feed(data)

    def _recv(self) -> bytes:
        try:
            return self._sock.recv(_CHUNK)
        except TimeoutError as e:
            raise Failed("read_timeout", e) from e
        except OSError as e:
            raise Failed("read", e) from e

    def _feed(self, data: bytes) -> None:
        try:
            self._parser.feed_data(data)
        except HttpParserError as e:
            if self._complete:  # stopped at the end of the reply, or bytes after it
                return
            cause = e.__context__
            if isinstance(cause, Failed):
                failure = cause
            elif isinstance(e, HttpParserCallbackError) and cause is not None:
                raise cause from None  # a bug in a callback, or Ctrl-C: not the server's doing
            else:
                failure = Failed("protocol", e, self._said(e))
            if self._final:
                self._failure = failure  # the head is good: the body will raise it
            else:
                raise failure from e

    def _said(self, error: Exception) -> str:
        """llhttp's reason, as a kctl message goes on after a colon."""
        reason = str(error) or type(error).__name__
        if reason.startswith("Expected HTTP/"):  # "..., RTSP/ or ICE/": llhttp reads those too
            if self._messages > 1:
                return "no HTTP status line after an interim (1xx) reply"
            # what answered instead, such as an SSH or a TLS server, is worth seeing
            line = self._first.lstrip(b"\r\n").split(b"\n", 1)[0].rstrip(b"\r")
            return f"it does not start with an HTTP status line: {line.decode('latin-1')!a}"
        first = reason.split(" ", 1)[0]
        if first[1:].islower():  # "Invalid header token", not "Content-Length can't ..."
            reason = reason[:1].lower() + reason[1:]
        return reason

    # llhttp's callbacks, called from inside feed_data; raising stops the parse

    def on_message_begin(self) -> None:
        self._messages += 1
        self._reason = b""
        self.headers = []
        self._in_head = True

    def on_status(self, reason: bytes) -> None:
        self._reason += reason  # in pieces when a read ends inside it

    def on_header(self, name: bytes, value: bytes) -> None:
        if b"\0" in value:  # RFC 9110 5.5: reject it, or read it as a space
            raise Failed("protocol", detail="a NUL character in a header value")
        if self._in_head:  # not a chunked body's trailers
            self.headers.append((name, value.rstrip(b" \t")))

    def on_headers_complete(self) -> None:
        self._in_head = False
        status = self._parser.get_status_code()
        if status == 101:
            raise Failed(
                "protocol", detail="101 Switching Protocols, to a request that offered none"
            )
        if status < 100:  # llhttp reads "099" as 99: three digits, but no class of status
            raise Failed("protocol", detail=f"invalid status code {status:03d}")
        if status < 200:
            return  # interim: llhttp reads the reply that follows
        bodiless = self._head_only or status in _NO_BODY
        codings = [v for k, v in self.headers if k.lower() == b"transfer-encoding"]
        if codings and not bodiless and not _only_chunked(codings):
            shown = ascii(b", ".join(codings).decode("latin-1"))
            raise Failed("protocol", detail=f"Transfer-Encoding {shown}: kctl reads chunked only")
        self.status = status
        self.reason = self._reason.decode("ascii", "ignore")  # httpx's reason_phrase: as sent
        self.http_version = f"HTTP/{self._parser.get_http_version()}"
        self._final = True
        if bodiless:
            self._complete = True
            raise _Stop
        # llhttp_message_needs_eof: neither chunked nor a Content-Length
        self._until_close = not codings and all(
            k.lower() != b"content-length" for k, _ in self.headers
        )

    def on_body(self, body: bytes) -> None:
        self._body.append(body)

    def on_message_complete(self) -> None:
        if self._final:
            self._complete = True
            raise _Stop


def _only_chunked(codings: list[bytes]) -> bool:
    """Whether Transfer-Encoding headers say chunked and nothing else: a coding before it
    (gzip, chunked) would be left on the body, one after it frames the body by the close."""
    return [c.strip().lower() for c in b",".join(codings).split(b",")] == [b"chunked"]
