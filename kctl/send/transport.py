"""Send one ``Request`` and bring back a ``Response``: the only module that touches the network.

What it promises, beyond "do an HTTP POST":

* It never sends anything twice that the provider might already have acted on. A retry happens
  only when no connection was made (connect error or timeout) or the server said "not now"
  (429, 503), honouring ``Retry-After``. A read timeout or a dropped connection is reported, not
  retried: the message may have gone out.
* Credentials never leave the origin they were configured for. Redirects are not followed by
  httpx; this module follows one only to the same scheme, host and port, and never turns a POST
  into a GET (which would silently drop the payload). Anything else comes back as the 3xx with a
  note saying why.
* A reply is read by streaming and capped at ``max_body`` bytes, so a runaway endpoint cannot
  fill memory.
* ``timeout`` bounds each attempt in total, not only each read: a server that sends one byte
  just inside every read timeout still meets the deadline (``_Deadline``).
* Every httpx error becomes a ``NetworkFailure`` whose one-line message names the condition (DNS,
  refused, TLS, timeout, reset) and ``host:port`` only: headers and body hold secrets.

httpx is imported inside ``send`` so that commands which never send (validate-config, dry runs)
do not pay for importing it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence

from kctl import __version__
from kctl.errors import KctlError, NetworkFailure, UsageError
from kctl.lean import Record
from kctl.send import netenv
from kctl.send.wire import Request, Response, Retrying
from kctl.urls import HOST_NAME_RULE, is_host

# ssl and email.utils are imported where they are used: a plain http:// send shares this
# module's loop (kctl.send.plain) and would otherwise pay ~15 ms for them at start-up; datetime
# and base64 too (a Retry-After date, a basic-auth header), 1 to 2 ms more
TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    import ssl
    from datetime import datetime
    from typing import Any, Final, Protocol, TypeVar

    import httpx

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
RETRY_STATUSES = frozenset({429, 503})
MAX_REDIRECTS = 5
MAX_RETRY_WAIT = 10.0  # seconds; a longer Retry-After is reported instead of waited out
BACKOFF = (0.5, 1.0, 2.0, 4.0, 8.0)  # waits when the server gives no Retry-After
USER_AGENT = f"kctl/{__version__}"

_CA_HINT = (
    "if the endpoint uses a private or self-signed CA, pass --ca-bundle FILE "
    "or set SSL_CERT_FILE to a PEM file with that CA"
)
_PROXY_CA_HINT = (
    f"{_CA_HINT}; the https proxy's own certificate is checked against {netenv.PROXY_TRUST} "
    "(SSL_CERT_FILE counts there, --ca-bundle does not)"
)
_CONNECT_HINT = "check the host and port, and any firewall or proxy (HTTPS_PROXY, NO_PROXY)"
_TIMEOUT_HINT = (
    "CleverTap expects the endpoint to answer within about 1 s; raise --timeout to wait longer"
)


def _utc_now() -> datetime:
    from datetime import UTC, datetime

    return datetime.now(UTC)


class Clock(Record):
    """What the retries wait with, and the time a ``Retry-After`` date is counted from. Tests
    pass one whose ``sleep`` records the wait instead of taking it."""

    __slots__ = ("now", "sleep")
    sleep: Final[Callable[[float], None]]
    now: Final[Callable[[], datetime]]

    def __init__(
        self,
        sleep: Callable[[float], None] = time.sleep,
        now: Callable[[], datetime] = _utc_now,
    ) -> None:
        self.sleep = sleep
        self.now = now


SYSTEM_CLOCK = Clock()


def send(
    request: Request,
    *,
    timeout: float = 10.0,
    retries: int = 2,
    max_body: int = 1_000_000,
    verify: bool | str = True,
    clock: Clock = SYSTEM_CLOCK,
) -> Response:
    """``exchange`` without the retry notices: the reply, or the error."""
    steps = exchange(
        request, timeout=timeout, retries=retries, max_body=max_body, verify=verify, clock=clock
    )
    while True:
        try:
            next(steps)
        except StopIteration as done:
            response: Response = done.value
            return response


def exchange(
    request: Request,
    *,
    timeout: float = 10.0,
    retries: int = 2,
    max_body: int = 1_000_000,
    verify: bool | str = True,
    clock: Clock = SYSTEM_CLOCK,
) -> Generator[Retrying, None, Response]:
    """Send ``request`` (secrets already resolved) and return the reply, yielding a
    ``Retrying`` notice before each wait for another attempt, so it can be shown as it happens.

    ``timeout`` applies to each of connect, read, write and pool wait, and to each attempt as a
    whole (the request sent and the whole reply read, redirects being attempts of their own).
    ``retries`` is the number
    of extra attempts allowed where a retry cannot double-send. ``verify`` is True (system or
    ``SSL_CERT_FILE`` trust), False, or the path of a CA bundle (``--ca-bundle``). ``clock``
    does the waiting between attempts and dates ``Retry-After``.
    Raises ``UsageError`` for a URL or header that cannot be sent and ``NetworkFailure`` when no
    reply was obtained.
    """
    if timeout <= 0:
        raise UsageError(f"timeout must be more than 0 seconds, not {timeout:g}")
    if retries < 0:
        raise UsageError(f"retries must be 0 or more, not {retries}")
    if max_body < 0:
        raise UsageError(f"max_body must be 0 or more, not {max_body}")

    from kctl.send import plain

    method = request.method.upper()
    if plain.simple_url(request.url) is not None:
        # plain http that httpx would send unchanged: the same loop without httpx (kctl.send.plain)
        headers = wire_headers(request)
        route = plain.route(request, headers)
        if route is not None:
            plain_wire = plain.Wire(method, headers, request.body, timeout)
            return (yield from _exchange(plain_wire, route, retries, max_body, clock))

    url = _parse_url(request.url)
    headers = wire_headers(request)
    ssl_verify = tls_trust(verify) if _may_use_tls(url.scheme) else False
    with _client(ssl_verify, timeout) as client:
        httpx_wire = _HttpxWire(client, method, headers, request.body, timeout)
        return (yield from _exchange(httpx_wire, url, retries, max_body, clock))


# --- the loop around the attempts, the same on both wires --------------------------------------


class AttemptFailed(Exception):
    """An attempt got no usable reply, as a wire tells ``_exchange``: ``failure`` is what the
    user is told, ``connecting`` that no connection was made (so trying again cannot send
    anything twice), ``retry_cause`` why, when trying again might help. Raised from the wire's
    own error, which the failure is raised from in turn."""

    def __init__(
        self,
        failure: KctlError,
        *,
        connecting: bool = False,
        connect_timeout: bool = False,
        retry_cause: str | None = None,
    ) -> None:
        super().__init__(failure.message)
        self.failure = failure
        self.connecting = connecting
        self.connect_timeout = connect_timeout
        self.retry_cause = retry_cause


if TYPE_CHECKING:  # what a wire is, for the type checker only: typing's import costs start-up
    U = TypeVar("U")  # a wire's URL

    class Reply(Protocol):
        """A reply whose head has been read, its body still to come."""

        @property
        def status(self) -> int: ...
        @property
        def reason(self) -> str: ...
        @property
        def http_version(self) -> str: ...
        @property
        def headers(self) -> tuple[tuple[str, str], ...]: ...
        def header(self, name: str) -> str | None: ...
        def chunks(self) -> Iterator[bytes]:
            """The body, decoded as httpx decodes it; raises ``AttemptFailed``."""
            ...

        def close(self) -> None: ...

    class Wire(Protocol[U]):
        """One way of making an attempt: httpx (``_HttpxWire``) or a socket (``plain.Wire``)."""

        @property
        def timeout(self) -> float:
            """Of each step of an attempt, and of each attempt as a whole."""
            ...

        def attempt(self, url: U, deadline: _Deadline) -> Reply:
            """Send the request to ``url`` and read the reply's head; raises ``AttemptFailed``."""
            ...

        def redirect(
            self, status: int, location: str | None, url: U, hops: int
        ) -> tuple[U | None, str]:
            """Where to go next (None: stop here) and the note that tells the user."""
            ...

        def past_deadline(self, url: U, step: str) -> NetworkFailure: ...


def _exchange(
    wire: Wire[U], url: U, retries: int, max_body: int, clock: Clock
) -> Generator[Retrying, None, Response]:
    notes: list[str] = []
    retried: list[_Retry] = []
    hops = 0
    while True:
        started = time.monotonic()
        deadline = _Deadline(wire.timeout)
        try:
            reply = wire.attempt(url, deadline)
        except AttemptFailed as e:
            deadline.finish()
            # a connect timeout is the connect's own: the deadline has no socket to cut yet
            if deadline.expired and not e.connect_timeout:
                raise wire.past_deadline(url, deadline.step) from e.__cause__
            if not e.connecting:
                raise e.failure from e.__cause__
            if e.retry_cause is not None and len(retried) < retries:
                wait = BACKOFF[min(len(retried), len(BACKOFF) - 1)]
                retried.append(_Retry(e.retry_cause, wait, from_header=False))
                yield Retrying(len(retried) + 1, retries + 1, wait, e.retry_cause)
                clock.sleep(wait)
                continue
            if retried:
                attempts = f" (after {len(retried) + 1} attempts)"
                raise type(e.failure)(e.failure.message + attempts, e.failure.hint) from e.__cause__
            raise e.failure from e.__cause__
        except BaseException:
            deadline.finish()
            raise

        try:
            status = reply.status
            if status in RETRY_STATUSES and len(retried) < retries:
                planned, refusal = _retry_wait(
                    status, reply.header("retry-after"), retried, clock.now()
                )
                if planned is not None:
                    retried.append(planned)
                    deadline.finish()  # the wait is no part of the attempt
                    reply.close()
                    reason = f"HTTP {status}" + (" (Retry-After)" if planned.from_header else "")
                    yield Retrying(len(retried) + 1, retries + 1, planned.seconds, reason)
                    clock.sleep(planned.seconds)
                    continue
                notes.append(refusal)
            if status in REDIRECT_STATUSES:
                target, note = wire.redirect(status, reply.header("location"), url, hops)
                notes.append(note)
                if target is not None:
                    hops += 1
                    url = target
                    reply.close()
                    continue
            try:
                body, truncated = _read_capped(reply.chunks(), max_body)
            except AttemptFailed as e:
                if deadline.expired:
                    raise wire.past_deadline(url, deadline.step) from e.__cause__
                raise e.failure from e.__cause__
        finally:
            deadline.finish()
            reply.close()
        if deadline.expired:  # the cut may have ended a body that runs to the close
            raise wire.past_deadline(url, deadline.step)
        elapsed = time.monotonic() - started
        break

    if retried:
        notes.insert(0, _retry_note(retried))
    if truncated:
        notes.append(f"body truncated at {max_body} bytes")
    return Response(
        status=status,
        reason=reply.reason,
        http_version=reply.http_version,
        headers=reply.headers,
        body=body,
        truncated=truncated,
        elapsed=elapsed,
        attempts=len(retried) + 1,
        notes=tuple(notes),
    )


# --- the httpx wire -----------------------------------------------------------------------------


class _HttpxWire:
    __slots__ = ("body", "client", "headers", "method", "timeout")

    def __init__(
        self,
        client: httpx.Client,
        method: str,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeout: float,
    ) -> None:
        self.client = client
        self.method = method
        self.headers = headers
        self.body = body
        self.timeout = timeout

    def attempt(self, url: httpx.URL, deadline: _Deadline) -> _HttpxReply:
        import httpx

        try:
            response = self.client.send(
                httpx.Request(
                    self.method,
                    url,
                    headers=self.headers,
                    content=self.body,
                    extensions={"trace": deadline.trace},
                ),
                stream=True,
            )
        except httpx.HTTPError as e:
            raise self._failed(e, url, reading_body=False) from e
        return _HttpxReply(response, lambda e: self._failed(e, url, reading_body=True))

    def _failed(self, e: httpx.HTTPError, url: httpx.URL, *, reading_body: bool) -> AttemptFailed:
        import httpx

        # Retried by ``_exchange``, not httpx.HTTPTransport(retries=N): httpcore retries every
        # ConnectError, a bad certificate or an unknown name included, only on direct
        # connections (never through a proxy), with its own sleep and backoff (0 s first), and
        # without telling anyone, so neither the "retried N times after ..." note nor the
        # attempt count could be kept.
        connecting = isinstance(e, httpx.ConnectError | httpx.ConnectTimeout)
        return AttemptFailed(
            _failure(e, url, self.timeout, reading_body=reading_body),
            connecting=connecting,
            connect_timeout=isinstance(e, httpx.ConnectTimeout),
            retry_cause=_retryable_connect_cause(e) if connecting else None,
        )

    def redirect(
        self, status: int, location: str | None, url: httpx.URL, hops: int
    ) -> tuple[httpx.URL | None, str]:
        return _redirect_decision(status, location, url, self.method, hops)

    def past_deadline(self, url: httpx.URL, step: str) -> NetworkFailure:
        return _past_deadline(url, self.timeout, step)


class _HttpxReply:
    def __init__(
        self, response: httpx.Response, failed: Callable[[httpx.HTTPError], AttemptFailed]
    ) -> None:
        self._response = response
        self._failed = failed

    @property
    def status(self) -> int:
        return self._response.status_code

    @property
    def reason(self) -> str:
        return self._response.reason_phrase

    @property
    def http_version(self) -> str:
        return self._response.http_version

    @property
    def headers(self) -> tuple[tuple[str, str], ...]:
        raw, encoding = self._response.headers.raw, self._response.headers.encoding
        return tuple((k.decode(encoding), v.decode(encoding)) for k, v in raw)

    def header(self, name: str) -> str | None:
        value: str | None = self._response.headers.get(name)
        return value

    def chunks(self) -> Iterator[bytes]:
        import httpx

        try:
            yield from self._response.iter_bytes()
        except httpx.HTTPError as e:
            raise self._failed(e) from e

    def close(self) -> None:
        self._response.close()


# --- the deadline of one attempt ---------------------------------------------------------------


class _Deadline:
    """Ends an attempt that is still running ``seconds`` after it began.

    httpx's timeouts apply to each read on its own, so a server that sends one byte every
    2 s never trips a 3 s timeout and holds the send as long as it likes. When the deadline
    passes, a timer thread shuts the attempt's sockets down, which wakes the read or write
    blocked on them; the attempt then reports a timeout for the step it was in. Sockets and
    steps come from httpcore's ``trace`` extension (through proxies too); the client keeps no
    connection between attempts, so every attempt makes its own and they are all seen.
    """

    def __init__(self, seconds: float) -> None:
        self._lock = threading.Lock()
        self._sockets: list[tuple[socket.socket, int]] = []  # and the descriptor it had
        self._step = "connect_tcp"
        self._expired = False
        self._finished = False
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True
        self._timer.start()

    @property
    def expired(self) -> bool:
        with self._lock:
            return self._expired

    @property
    def step(self) -> str:
        """What the attempt was doing when the deadline passed: connect_tcp, start_tls,
        send_request_headers, receive_response_body, ..."""
        with self._lock:
            return self._step

    def trace(self, event: str, info: dict[str, Any]) -> None:
        step, _, stage = event.rpartition(".")
        step = step.rpartition(".")[2]
        if stage == "started":
            self.begin(step)
        made = stage == "complete" and step in ("connect_tcp", "start_tls")
        stream = info.get("return_value") if made else None
        sock = stream.get_extra_info("socket") if stream is not None else None
        if isinstance(sock, socket.socket):
            self.watch(sock)

    def begin(self, step: str) -> None:
        """The attempt has moved on to ``step`` (httpcore's names for them)."""
        with self._lock:
            if not self._expired:
                self._step = step

    def watch(self, sock: socket.socket) -> None:
        """A connection the attempt made: shut down when the deadline passes."""
        with self._lock:
            self._sockets.append((sock, sock.fileno()))
            late = self._expired
        if late:  # connected just as the deadline passed
            _shut(sock, sock.fileno())

    def finish(self) -> None:
        """The attempt is over (or is being abandoned): the timer must not touch it now."""
        with self._lock:
            self._finished = True
        self._timer.cancel()

    def _expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self._expired = True
            sockets = list(self._sockets)
        for sock, fd in sockets:
            _shut(sock, fd)


def _shut(sock: socket.socket, fd: int) -> None:
    """Shut a connection down under the thread that is blocked on it."""
    with contextlib.suppress(OSError):
        if sock.fileno() != -1:
            # socket.socket's own shutdown, also for an SSLSocket: the TLS layer's would drop
            # its state under the read still running in the other thread
            socket.socket.shutdown(sock, socket.SHUT_RDWR)
        elif fd != -1:
            # A TLS handshake took this socket's descriptor over (wrap_socket detaches it),
            # and the TLS socket is not known until the handshake is done. shutdown() acts
            # on the connection, so a duplicate of the descriptor reaches it.
            with socket.fromfd(fd, sock.family, sock.type) as twin:
                twin.shutdown(socket.SHUT_RDWR)


# --- building the request ---------------------------------------------------------------------


def _parse_url(raw: str) -> httpx.URL:
    import httpx

    scheme = raw.partition(":")[0].lower() if ":" in raw else ""
    if scheme not in netenv.DEFAULT_PORTS:
        shown = f"'{scheme}'" if scheme else "none"
        raise UsageError(
            f"cannot send to this endpoint: unsupported URL scheme ({shown})",
            hint="the endpoint must be an https:// URL (http:// only for loopback)",
        )
    try:
        url = httpx.URL(raw)
    except httpx.InvalidURL as e:
        raise UsageError(f"cannot send to this endpoint: invalid URL ({e})") from e
    if not url.host:
        raise UsageError("cannot send to this endpoint: the URL has no host")
    if "%" in url.host:  # httpx percent-encodes a space or the like in the host, DNS would not
        raise UsageError("cannot send to this endpoint: invalid characters in the host name")
    # httpx checks IPv6 and IPv4 literals and the length of the whole URL, not DNS names
    if ":" not in url.host and not is_host(url.raw_host.decode("ascii")):
        raise UsageError(
            "cannot send to this endpoint: the host is not a DNS name or an IP address",
            hint=HOST_NAME_RULE,
        )
    return url


def wire_headers(request: Request) -> list[tuple[bytes, bytes]]:
    """The request's headers in order, then Content-Type, Authorization, User-Agent and
    Accept-Encoding where the request does not set them itself.

    ``Accept-Encoding: identity`` keeps the reply byte-for-byte what the server sent and keeps
    the ``max_body`` cap meaningful (a compressed reply could inflate far past it).
    """
    pairs = [(k, v) for k, v in request.headers]
    names = {k.lower() for k, _ in pairs}
    if request.content_type and "content-type" not in names:
        pairs.append(("Content-Type", request.content_type))
    if request.basic_auth is not None:
        user, password = request.basic_auth
        import base64

        token = base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
        pairs = [(k, v) for k, v in pairs if k.lower() != "authorization"]
        pairs.append(("Authorization", f"Basic {token}"))
    if "user-agent" not in names:
        pairs.append(("User-Agent", USER_AGENT))
    if "accept-encoding" not in names:
        pairs.append(("Accept-Encoding", "identity"))
    return [_encode_header(k, v) for k, v in pairs]


def _encode_header(name: str, value: str) -> tuple[bytes, bytes]:
    # the value is never quoted in these errors: it may be a secret
    if not name or any(c in name for c in " \t\r\n:\x00"):
        raise UsageError(f"header name {name!r} is not a valid HTTP header name")
    if any(c in value for c in "\r\n\x00"):
        raise UsageError(f"header {name!r}: the value contains a line break or NUL character")
    try:
        return name.encode("ascii"), value.encode("ascii")
    except UnicodeEncodeError as e:
        raise UsageError(
            f"header {name!r}: the value has non-ASCII characters, which HTTP headers cannot carry"
        ) from e


def tls_trust(verify: bool | str) -> bool | ssl.SSLContext:
    """The trust for TLS to the endpoint, as ``kctl doctor`` reports it (``netenv.ca_source``).

    Built here rather than left to httpx: httpx 0.28 deprecates ``verify=<path>``, and with
    ``verify=True`` it would load the bundle again for every proxy it mounts.
    """
    if verify is False:
        return False
    source = netenv.ca_source(None if verify is True else verify)
    try:
        return netenv.load_ca(source)
    except OSError as e:  # includes ssl.SSLError for a file that holds no certificate
        reason = e.strerror or getattr(e, "reason", None) or str(e)
        if source is not None and source.origin == "--ca-bundle":
            raise UsageError(
                f"cannot use CA bundle {verify}: {reason}",
                hint="--ca-bundle takes a PEM file (or directory) of CA certificates",
            ) from e
        what = "the system's CA certificates"
        if source is not None:
            what = f"the CA certificates named by {source.origin} ({source.path})"
        raise UsageError(
            f"cannot load {what}: {reason}",
            hint="point SSL_CERT_FILE at a PEM file of CA certificates (or SSL_CERT_DIR at a "
            "directory of them), or unset it",
        ) from e


def _may_use_tls(scheme: str) -> bool:
    """Whether the endpoint's trust is needed: for https:// only, as redirects are followed only
    to the same scheme. TLS to an https:// proxy never uses it (httpcore gives that its own),
    so a plain http:// send skips loading CA certificates, about 45 ms."""
    return scheme == "https"


def _client(ssl_verify: bool | ssl.SSLContext, timeout: float) -> httpx.Client:
    """A client that routes through the *_PROXY / NO_PROXY the environment names (the rules
    ``netenv.proxy_for`` spells out), with their mistakes reported as usage errors instead of
    tracebacks."""
    import httpx

    try:
        return httpx.Client(
            trust_env=True,
            verify=ssl_verify,
            timeout=httpx.Timeout(timeout),
            # a kept connection would carry no socket to the next attempt's deadline
            limits=httpx.Limits(max_keepalive_connections=0),
            follow_redirects=False,
        )
    except (ValueError, ImportError, httpx.InvalidURL) as e:  # a bad or unsupported *_PROXY
        raise UsageError(
            f"the proxy settings in the environment cannot be used: {e}",
            hint="check HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY",
        ) from e


# --- reading the reply ------------------------------------------------------------------------


def _read_capped(chunks: Iterable[bytes], max_body: int) -> tuple[bytes, bool]:
    """At most ``max_body`` bytes, and whether more was on offer. Stops reading at the cap."""
    body = bytearray()
    for chunk in chunks:
        room = max_body - len(body)
        if len(chunk) > room:
            body += chunk[:room]
            return bytes(body), True
        body += chunk
    return bytes(body), False


# --- retries ----------------------------------------------------------------------------------


class _Retry(Record):
    __slots__ = ("cause", "from_header", "seconds")
    cause: Final[str]  # "429", "503", "connection refused", ...
    seconds: Final[float]
    from_header: Final[bool]  # the wait came from Retry-After

    def __init__(self, cause: str, seconds: float, from_header: bool) -> None:
        self.cause = cause
        self.seconds = seconds
        self.from_header = from_header


def parse_retry_after(value: str | None, now: datetime | None = None) -> float | None:
    """Seconds to wait per a ``Retry-After`` value (delta-seconds or HTTP-date), or None when
    absent or unparseable. A date in the past means 0."""
    if value is None:
        return None
    value = value.strip()
    if value.isascii() and value.isdigit():
        return float(int(value))
    import email.utils

    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        from datetime import UTC

        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - (now or _utc_now())).total_seconds())


def _retry_wait(
    status: int, retry_after: str | None, retried: Sequence[_Retry], now: datetime
) -> tuple[_Retry | None, str]:
    """The next wait, or None and a note saying why the server's wish is not waited out."""
    asked = parse_retry_after(retry_after, now)
    if asked is None:
        return _Retry(str(status), BACKOFF[min(len(retried), len(BACKOFF) - 1)], False), ""
    if asked > MAX_RETRY_WAIT:
        # waiting less than asked would only earn another refusal; report and let the user decide
        return None, (
            f"HTTP {status} asked to retry after {_seconds(asked)}, over the "
            f"{_seconds(MAX_RETRY_WAIT)} limit: not retried"
        )
    return _Retry(str(status), asked, True), ""


def _retryable_connect_cause(exc: httpx.HTTPError) -> str | None:
    """Why the connection was never made, when trying again might help; None otherwise.

    TLS failures and names that do not resolve will fail the same way again.
    """
    import httpx

    if isinstance(exc, httpx.ConnectTimeout):
        return "connect timeout"
    return connect_retry_cause(_root_cause(exc))


def connect_retry_cause(root: BaseException | None) -> str | None:
    """``_retryable_connect_cause`` for a connection that failed (not timed out) on ``root``."""
    import ssl

    if isinstance(root, ssl.SSLError):
        return None
    if isinstance(root, socket.gaierror):
        return "DNS failure" if root.errno == socket.EAI_AGAIN else None
    if isinstance(root, ConnectionRefusedError):
        return "connection refused"
    return "connect error"


def _retry_note(retried: Sequence[_Retry]) -> str:
    groups: list[tuple[str, list[_Retry]]] = []
    for retry in retried:
        if groups and groups[-1][0] == retry.cause:
            groups[-1][1].append(retry)
        else:
            groups.append((retry.cause, [retry]))
    parts = []
    for cause, waits in groups:
        shown = list(dict.fromkeys(_seconds(w.seconds) for w in waits))
        if all(w.from_header for w in waits):
            parts.append(f"{cause} (Retry-After {', '.join(shown)})")
        else:
            parts.append(f"{cause} (waited {', '.join(_seconds(w.seconds) for w in waits)})")
    count = len(retried)
    return f"retried {count} time{'s' if count != 1 else ''} after {', then '.join(parts)}"


def _seconds(value: float) -> str:
    return f"{value:g} s" if value == int(value) else f"{value:.1f} s"


# --- redirects --------------------------------------------------------------------------------


def _origin(url: httpx.URL) -> Origin:
    return url.scheme, url.host.lower(), url.port or netenv.DEFAULT_PORTS.get(url.scheme, 0)


def _shown(url: httpx.URL) -> str:
    # without userinfo, which may hold credentials
    return f"{url.scheme}://{url.netloc.decode('ascii')}{url.raw_path.decode('ascii')}"


def _redirect_decision(
    status: int, location: str | None, url: httpx.URL, method: str, hops: int
) -> tuple[httpx.URL | None, str]:
    """Where to go next (None: stop here) and the note that tells the user."""
    import httpx

    if not location:
        return None, f"HTTP {status} redirect without a Location header: nothing to follow"
    try:
        target = url.join(location)
    except httpx.InvalidURL:
        return None, f"HTTP {status} redirect to an invalid URL: not followed"
    shown = _shown(target)
    refusal = redirect_refusal(
        status, shown, _origin(url), _origin(target), method=method, hops=hops
    )
    if refusal is not None:
        return None, refusal
    return target, f"followed HTTP {status} redirect to {shown} (same host)"


Origin = tuple[str, str, int]  # scheme, host in lower case, port


def origin_refusal(shown: str, here: Origin, there: Origin) -> str | None:
    """Why a redirect from ``here`` to ``there`` (``shown``) leaves the endpoint's origin, or
    None when it stays."""
    if here[1] != there[1]:
        return f"redirect to {shown} not followed: credentials are not sent to another host"
    if here != there:
        what = "scheme" if here[0] != there[0] else "port"
        return (
            f"redirect to {shown} not followed: another {what} is another origin, and "
            "credentials are only sent to the endpoint's own scheme, host and port"
        )
    return None


def redirect_refusal(
    status: int, shown: str, here: Origin, there: Origin, *, method: str, hops: int
) -> str | None:
    """Why a redirect is not followed, or None when it is."""
    refusal = origin_refusal(shown, here, there)
    if refusal is not None:
        return refusal
    if status in (301, 302, 303) and method not in ("GET", "HEAD"):
        return (
            f"HTTP {status} redirect to {shown} not followed: following a {status} turns the "
            f"{method} into a GET and drops the payload; point the endpoint at the final URL"
        )
    if hops >= MAX_REDIRECTS:
        return f"redirect to {shown} not followed: stopped after {MAX_REDIRECTS} redirects"
    return None


# --- errors -----------------------------------------------------------------------------------


def _root_cause(exc: BaseException) -> BaseException:
    """The OS or ssl error under httpx's and httpcore's wrappers.

    httpcore keeps the original as the wrapper's argument and ``__context__``, not always as
    ``__cause__``, so all three links are followed.
    """
    seen = {id(exc)}
    while True:
        arg = exc.args[0] if exc.args and isinstance(exc.args[0], BaseException) else None
        deeper = exc.__cause__ or exc.__context__ or arg
        if deeper is None or id(deeper) in seen:
            return exc
        exc = deeper
        seen.add(id(exc))


def _shown_proxy(proxy: netenv.Proxy) -> str:
    """host:port of the proxy, for messages: its userinfo may hold credentials."""
    address = proxy.address
    if address is None:
        return "from the environment"
    host, port = address
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _host_port(url: httpx.URL) -> str:
    host = f"[{url.host}]" if ":" in url.host else url.host
    return f"{host}:{url.port or netenv.DEFAULT_PORTS.get(url.scheme, 0)}"


def _past_deadline(url: httpx.URL, timeout: float, step: str) -> NetworkFailure:
    """What to say when the attempt's deadline cut it short, by the step it was in."""
    return _past_deadline_at(_host_port(url), timeout, step)


def _past_deadline_at(where: str, timeout: float, step: str) -> NetworkFailure:
    secs = _seconds(timeout)
    if step in ("connect_tcp", "start_tls"):
        what = "a TLS connection" if step == "start_tls" else "a connection"
        return NetworkFailure(
            f"connect timeout: no {what} to {where} within {secs}", hint=_CONNECT_HINT
        )
    if step.startswith("send_request"):
        return NetworkFailure(f"write timeout: {where} did not take the request within {secs}")
    if step == "receive_response_body":
        return NetworkFailure(
            f"read timeout: the reply from {where} was not complete within {secs}",
            hint=_TIMEOUT_HINT,
        )
    return NetworkFailure(f"read timeout: no answer from {where} within {secs}", hint=_TIMEOUT_HINT)


def lost(
    what: str,
    where: str,
    host: str,
    timeout: float,
    *,
    reading_body: bool,
    root: BaseException | None = None,
    detail: str = "",
) -> NetworkFailure:
    """What to say when an attempt ended without a reply, in the words both wires use: ``what``
    happened (connect_timeout, read_timeout, write_timeout, connect, write, reset, closed,
    invalid, decode) talking to ``where``, with ``root`` the OS error under it."""
    secs = _seconds(timeout)
    when = "mid-response" if reading_body else "before any reply"
    match what:
        case "connect_timeout":
            return NetworkFailure(
                f"connect timeout: no connection to {where} within {secs}", hint=_CONNECT_HINT
            )
        case "read_timeout" if reading_body:
            return NetworkFailure(
                f"read timeout: the reply from {where} stalled mid-body (no data within {secs})",
                hint=_TIMEOUT_HINT,
            )
        case "read_timeout":
            return NetworkFailure(
                f"read timeout: no answer from {where} within {secs}", hint=_TIMEOUT_HINT
            )
        case "write_timeout":
            return NetworkFailure(f"write timeout: {where} stopped taking the request for {secs}")
        case "connect" if isinstance(root, socket.gaierror):
            return NetworkFailure(
                f"DNS failure: cannot resolve {host}",
                hint="check the host name; behind a proxy, set HTTPS_PROXY",
            )
        case "connect" if isinstance(root, ConnectionRefusedError):
            return NetworkFailure(
                f"connection refused by {where}",
                hint="nothing is listening there: check the endpoint's host and port",
            )
        case "connect":
            reason = root.strerror if isinstance(root, OSError) and root.strerror else str(root)
            return NetworkFailure(f"cannot connect to {where}: {reason}")
        case "write":
            return NetworkFailure(f"connection to {where} lost while sending the request")
        case "reset":
            return NetworkFailure(f"connection reset by {where} {when}")
        case "closed":
            return NetworkFailure(f"connection closed by {where} {when}")
        case "invalid":
            return NetworkFailure(f"invalid HTTP reply from {where}: {detail}")
        case "decode":
            return NetworkFailure(f"the reply from {where} could not be decoded (Content-Encoding)")
        case _:
            return NetworkFailure(f"network failure talking to {where} ({what})")


def _failure(
    exc: httpx.HTTPError, url: httpx.URL, timeout: float, *, reading_body: bool
) -> KctlError:
    """One line naming what went wrong, and where; never headers or body."""
    import ssl

    import httpx

    where = _host_port(url)
    proxy = netenv.proxy_for(url.scheme, url.host, url.port)
    if proxy is not None:
        where += f" via proxy {_shown_proxy(proxy)}"
    root = _root_cause(exc)

    def said(what: str, detail: str = "") -> NetworkFailure:
        return lost(
            what, where, url.host, timeout, reading_body=reading_body, root=root, detail=detail
        )

    if isinstance(exc, httpx.ConnectTimeout):
        return said("connect_timeout")
    if isinstance(exc, httpx.ReadTimeout):
        return said("read_timeout")
    if isinstance(exc, httpx.WriteTimeout):
        return said("write_timeout")
    if isinstance(exc, httpx.PoolTimeout):
        return NetworkFailure(f"timeout: no free connection to {where} within {_seconds(timeout)}")
    if isinstance(exc, httpx.ProxyError):
        return NetworkFailure(
            f"proxy failure on the way to {where}: {exc}",
            hint="check HTTPS_PROXY / HTTP_PROXY / NO_PROXY",
        )
    if isinstance(exc, httpx.ConnectError):
        if isinstance(root, ssl.SSLCertVerificationError):
            return NetworkFailure(
                f"TLS failure: certificate verify failed for {where} ({root.verify_message})",
                hint=_CA_HINT if proxy is None or proxy.scheme != "https" else _PROXY_CA_HINT,
            )
        if isinstance(root, ssl.SSLError):
            return NetworkFailure(
                f"TLS failure: handshake with {where} failed ({root.reason or root})",
                hint="check that the endpoint speaks https on that port",
            )
        return said("connect")
    if isinstance(exc, httpx.WriteError):
        return said("write")
    if isinstance(exc, httpx.ReadError | httpx.RemoteProtocolError):
        if isinstance(root, ConnectionResetError):
            return said("reset")
        text = str(exc).lower()
        if isinstance(exc, httpx.ReadError) or "disconnect" in text or "closed" in text:
            return said("closed")
        return said("invalid", str(exc))
    if isinstance(exc, httpx.LocalProtocolError):
        return UsageError("the request could not be sent: a header name or value is not valid HTTP")
    if isinstance(exc, httpx.UnsupportedProtocol):
        return UsageError(f"cannot send to {where}: unsupported URL scheme")
    if isinstance(exc, httpx.DecodingError):
        return said("decode")
    return NetworkFailure(f"network failure talking to {where} ({type(exc).__name__})")
