"""Delivery reports from ``kctl sandbox``: when to post them, posting them, what became of them.

The sandbox hands ``Courier.submit`` one ``Plan`` per accepted message. Its reports (WhatsApp
``sent``, ``delivered``, ``read``, then ``Clicked`` when the message had a URL button whose URL
the sandbox knows, or ``sent``, ``failed``; SMS one ``delivered`` or ``failed``) are posted
``delay`` seconds apart to the callback URL from the request, and each outcome is kept as a
``CallbackResult``: posted in CleverTap's formats for the adapter routes, and for Kaleyra's own
route as Kaleyra reports, a GET with ``id`` and ``status`` (``report_request``).

* Refused first, from the URL's text alone: only loopback hosts unless ``allow_external``, so a
  refused URL costs no DNS lookup and no connection.
* Bounded: at most ``max_pending`` messages have reports still to post, and at most
  ``max_pending_per_receiver`` for one receiver (scheme, host and port). A message over either
  bound is dropped: recorded, counted, and logged the first time only.
* Each receiver gets its own few keep-alive connections and every attempt has a deadline, so a
  receiver that hangs holds up its own reports and nobody else's.
* Replies: the status line and headers, a prefix of the body, the rest read and dropped when it
  is short, else the connection is closed. A body is never decompressed.
* Results: a ring of the latest ``history`` results, with the count of all of them.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, Literal, TypeVar, assert_never
from urllib.parse import SplitResult, quote, unquote, urlencode, urlsplit, urlunsplit

from kctl.contract import kaleyra, sms, whatsapp
from kctl.contract.channels import Channel
from kctl.urls import ORIGIN, is_host, is_loopback_host

Outcome = Literal["posted", "refused", "error", "cancelled", "dropped"]

# A pending message costs about 0.5 KB (plan, strings, queue entry): 50,000 is ~25 MB at worst,
# and 10,000 per receiver still takes a bench of 5,000 messages x 2 rounds to one listener.
MAX_PENDING = 50_000
MAX_PENDING_PER_RECEIVER = 10_000
# Posts in flight to one receiver. kctl listen answers one request at a time per loop, so more
# connections than this buy nothing, and a receiver that hangs ties up only these.
RECEIVER_CONCURRENCY = 4
# A worker keeps its connection this long for the next report, under the 5 s keep-alive of
# common servers (15 s for kctl listen), so it rarely meets a connection the server has closed.
IDLE_KEEP = 2.0
HISTORY = 10_000  # results kept for ``Courier.results``; older ones only count
REPLY_HEAD_LIMIT = 16 * 1024
REPLY_PREFIX = 1024  # bytes of a reply body kept, to quote from an error reply
# A longer rest is not worth reading to keep the connection: close it instead.
REPLY_DRAIN = 64 * 1024
_DETAIL = 200  # characters of a reply or error quoted in a result
_INTERIM_LIMIT = 8  # 1xx responses skipped before the real one
_TARGET_SAFE = "!$&'()*+,;=:@/?%-._~"  # RFC 3986 pchar, "/" and "?", and existing escapes
_DEFAULT_PORTS = {"http": 80, "https": 443}

# what a failed report says about a recipient the sandbox treats as blacklisted
WHATSAPP_BLACKLISTED = (whatsapp.BLACKLISTED, whatsapp.FAILURE_CODES[whatsapp.BLACKLISTED])
SMS_BLACKLISTED = (sms.DND, sms.FAILURE_CODES[sms.DND])

# what the sandbox's Clicked report says about the click: a short link of its own making on a
# reserved domain, and a phone's WhatsApp browser
CLICK_SHORT_URL = "https://short.example/"
CLICK_USER_AGENT = "Mozilla/5.0 (Linux; Android 14) WhatsApp/2.24.1"

T = TypeVar("T")

# json.dumps with separators builds a new encoder per call; a report is encoded thousands of
# times a second
_COMPACT = json.JSONEncoder(separators=(",", ":"))
# URLs whose refusal, receiver and request heads are remembered; past this the memo restarts
_MEMO_URLS = 1024


def _short_code(message_id: str) -> str:
    return hashlib.sha256(message_id.encode()).hexdigest()[:8]


@dataclass(frozen=True, slots=True)
class Plan:
    """Delivery reports to post for one accepted message."""

    channel: Channel
    message_id: str
    url: str
    fails: bool  # the last report says failed
    payload_version: str = whatsapp.REPORT_PAYLOAD_VERSION
    clicked_url: str | None = None  # WhatsApp: a URL button's URL, reported clicked at the end
    # None: CleverTap's report format (POST, JSON); "GET" or "POST": Kaleyra's own callback
    # to a direct request's callback URL, with the message's id and status
    native_method: str | None = None
    # SMS: the failed report's code and description (default: the blacklisted recipient's)
    failure: tuple[str, str] | None = None

    @property
    def statuses(self) -> tuple[str, ...]:
        match self.channel:
            case Channel.WHATSAPP:
                if self.fails:
                    return (whatsapp.SENT, whatsapp.FAILED)
                read = (whatsapp.SENT, whatsapp.DELIVERED, whatsapp.READ)
                return (*read, whatsapp.CLICKED) if self.clicked_url else read
            case Channel.SMS:
                return ("failed" if self.fails else "delivered",)
            case _:
                assert_never(self.channel)


@dataclass(frozen=True, slots=True)
class CallbackResult:
    """What became of one delivery report the sandbox meant to post."""

    message_id: str
    status: str  # the status it reports: sent, delivered, failed
    url: str
    outcome: Outcome
    attempted: bool  # False when nothing touched the network (refused, dropped, cancelled)
    http_status: int | None = None
    detail: str = ""  # why it was refused, dropped or failed; the start of an error reply


def callback_refusal(url: str, allow_external: bool) -> str | None:
    """Why the sandbox will not post to ``url``, or None when it will.

    Decided from the text alone (no DNS): only ``http``/``https`` URLs whose host is a DNS
    name or an IP address, with no space or control character before the path (urlsplit
    drops some of those and keeps others, which would reach the resolver), and unless
    ``allow_external``, only loopback hosts (``127.0.0.0/8``, ``::1``, ``localhost``). The path
    and query may hold anything: they are sent escaped.
    """
    origin = ORIGIN.match(url)
    if origin is None:
        return "not an absolute http(s) URL"
    if any(c.isspace() or not c.isprintable() for c in origin.group()):
        return "not a valid URL: a space or control character before its path"
    try:
        parts = urlsplit(url)
        host = parts.hostname
        _ = parts.port  # ValueError for a port that is not a number or out of range
    except ValueError:
        return "not a valid URL"
    if parts.scheme not in ("http", "https") or not host:
        return "not an absolute http(s) URL"
    if ":" not in host and not is_host(host):
        return "not a valid URL: the host is not a DNS name or an IP address"
    if not allow_external and not is_loopback_host(host):
        return (
            f"{host} is not a loopback host (start the sandbox with"
            " --allow-external-callbacks to post there)"
        )
    return None


def report_body(plan: Plan, status: str) -> Any:
    """The delivery report CleverTap expects (SPEC 4.4, 4.5) for ``status`` of ``plan``."""
    stamp = int(time.time())
    match plan.channel:
        case Channel.WHATSAPP:
            entry: dict[str, Any] = {whatsapp.MSG_ID_KEYS[0]: plan.message_id, "status": status}
            if status == whatsapp.CLICKED:
                entry |= {
                    "url": plan.clicked_url,
                    "shortUrl": f"{CLICK_SHORT_URL}{_short_code(plan.message_id)}",
                    "userAgent": CLICK_USER_AGENT,
                    whatsapp.CLICK_TIME_KEY: stamp,
                }
            else:
                entry["timestamp"] = str(stamp)
            if status == whatsapp.FAILED:
                wa_code, title = WHATSAPP_BLACKLISTED
                entry["error"] = {"code": wa_code, whatsapp.ERROR_TEXT_KEYS[0]: title}
            return {whatsapp.PAYLOAD_VERSION_KEYS[0]: plan.payload_version, "statuses": [entry]}
        case Channel.SMS:
            item: dict[str, Any] = {"ts": stamp, "meta": plan.message_id}
            if status == "failed":
                sms_code, description = plan.failure or SMS_BLACKLISTED
                item.update(description=description, code=sms_code)
            else:
                item["description"] = "Delivered"
            return [{"event": status, "data": [item]}]
        case _:
            assert_never(plan.channel)


def report_request(plan: Plan, status: str) -> tuple[str, str, bytes]:
    """(method, URL, JSON body) of the report of ``status``: CleverTap's format to an adapter's
    callback URL, Kaleyra's to a direct request's (SPEC 4.8: GET with id and status; a POST
    callback gets the two as a JSON object)."""
    if plan.native_method is None:
        return "POST", plan.url, _COMPACT.encode(report_body(plan, status)).encode("utf-8")
    params = {
        kaleyra.CALLBACK_ID: plan.message_id,
        kaleyra.CALLBACK_STATUS: kaleyra.reported_status(plan.channel, status),
    }
    if plan.native_method == "POST":
        return "POST", plan.url, _COMPACT.encode(params).encode("utf-8")
    parts = urlsplit(plan.url)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return "GET", urlunsplit(parts._replace(query=query, fragment="")), b""


class History(Generic[T]):
    """The latest ``limit`` items and how many were added in all; safe from any thread."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError(f"history must keep at least 1 item, not {limit}")
        self._items: deque[T] = deque(maxlen=limit)
        self._total = 0
        self._changed = threading.Condition()

    def add(self, items: Iterable[T]) -> None:
        batch = list(items)
        with self._changed:
            self._items.extend(batch)
            self._total += len(batch)
            self._changed.notify_all()

    @property
    def total(self) -> int:
        with self._changed:
            return self._total

    def items(self) -> list[T]:
        with self._changed:
            return list(self._items)

    def wait_total(self, count: int, timeout: float) -> list[T]:
        """Wait until ``count`` items were added in all (or ``timeout`` s); the kept ones."""
        with self._changed:
            self._changed.wait_for(lambda: self._total >= count, timeout)
            return list(self._items)


# --- one exchange on one connection ---------------------------------------------------------------


class _BadReply(Exception):
    """The receiver answered with something that is not HTTP/1.x."""


@dataclass(frozen=True, slots=True)
class _ReplyHead:
    status: int
    headers: tuple[tuple[str, str], ...]  # names lower-cased
    reusable: bool  # HTTP/1.1 and no "Connection: close"

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


def _request_head(parts: SplitResult, method: str, length: int) -> bytes:
    before, after = _request_head_parts(parts, method)
    return before + (b"Content-Length: %d\r\n" % length if method != "GET" else b"") + after


def _request_head_parts(parts: SplitResult, method: str) -> tuple[bytes, bytes]:
    """A request head without its Content-Length line: what comes before it and after it."""
    host = parts.hostname or ""
    if not host.isascii():
        host = host.encode("idna").decode("ascii")  # UnicodeError for a name IDNA refuses
    shown = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        shown += f":{parts.port}"
    # urlsplit already dropped CR, LF and tab; quoting the rest keeps the request line one line
    target = quote(parts.path or "/", safe=_TARGET_SAFE)
    if parts.query:
        target += "?" + quote(parts.query, safe=_TARGET_SAFE)
    before = [f"{method} {target} HTTP/1.1", f"Host: {shown}", "User-Agent: kctl-sandbox"]
    if method != "GET":
        before.append("Content-Type: application/json")
    # a compressed reply could inflate without limit, and nothing here reads it anyway
    after = ["Accept-Encoding: identity"]
    if parts.username is not None:
        pair = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        after.append(f"Authorization: Basic {base64.b64encode(pair.encode()).decode()}")
    return (
        ("\r\n".join(before) + "\r\n").encode("ascii"),
        ("\r\n".join(after) + "\r\n\r\n").encode("ascii"),
    )


class _Connection:
    """One kept-alive connection to a receiver."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @property
    def is_open(self) -> bool:
        """False once the receiver has closed its side (or this side is closing)."""
        return not self.reader.at_eof() and not self.writer.is_closing()

    def close(self) -> None:
        self.writer.close()

    async def exchange(self, request: bytes) -> _ReplyHead:
        self.writer.write(request)
        await self.writer.drain()
        return await self._read_head()

    async def _read_head(self) -> _ReplyHead:
        for _ in range(_INTERIM_LIMIT):
            raw = await self.reader.readuntil(b"\r\n\r\n")  # LimitOverrunError past the limit
            lines = raw[:-4].decode("latin-1").split("\r\n")
            version, _, rest = lines[0].partition(" ")
            code = rest[:3]
            if (
                not version.startswith("HTTP/1.")
                or not (len(code) == 3 and code.isascii() and code.isdigit())
                or rest[3:4] not in ("", " ")
            ):
                raise _BadReply(f"not an HTTP/1.x status line: {lines[0][:60]!r}")
            status = int(code)
            if 100 <= status < 200:
                continue  # an interim answer (100 Continue): the real one follows
            headers = tuple(
                (name.strip().lower(), value.strip())
                for name, _, value in (line.partition(":") for line in lines[1:])
            )
            tokens = {
                token.strip().lower()
                for name, value in headers
                if name == "connection"
                for token in value.split(",")
            }
            return _ReplyHead(status, headers, version == "HTTP/1.1" and "close" not in tokens)
        raise _BadReply("too many interim (1xx) answers")

    async def read_body(self, head: _ReplyHead, kept: bytearray) -> bool:
        """Read the reply body into ``kept`` (its first ``REPLY_PREFIX`` bytes) and drop the
        rest; True when the connection can carry another request."""
        if head.status in (204, 304):
            return head.reusable
        codings = head.header("transfer-encoding")
        if codings is not None:
            if codings.rsplit(",", 1)[-1].strip().lower() != "chunked":
                await self._read_to_close(kept)
                return False
            return await self._read_chunked(kept) and head.reusable
        length = head.header("content-length")
        if length is None:
            await self._read_to_close(kept)
            return False
        if not (length.isascii() and length.isdigit()):
            raise _BadReply(f"invalid Content-Length {length[:20]!r}")
        size = int(length)
        kept += await self.reader.readexactly(min(size, REPLY_PREFIX))
        rest = size - len(kept)
        if rest > REPLY_DRAIN:
            return False
        await self._discard(rest)
        return head.reusable

    async def _read_chunked(self, kept: bytearray) -> bool:
        seen = 0
        while True:
            line = await self.reader.readuntil(b"\r\n")
            try:
                size = int(line[:-2].split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BadReply("malformed chunk size") from None
            if size < 0:
                raise _BadReply("malformed chunk size")
            seen += size + len(line)
            if seen > REPLY_DRAIN:
                return False
            if size == 0:
                while (trailer := await self.reader.readuntil(b"\r\n")) != b"\r\n":
                    seen += len(trailer)
                    if seen > REPLY_DRAIN:
                        return False
                return True
            data = await self.reader.readexactly(size)
            kept += data[: max(REPLY_PREFIX - len(kept), 0)]
            if await self.reader.readexactly(2) != b"\r\n":
                raise _BadReply("malformed chunk")

    async def _read_to_close(self, kept: bytearray) -> None:
        seen = 0
        while seen < REPLY_DRAIN:
            data = await self.reader.read(min(65536, REPLY_DRAIN - seen))
            if not data:
                return
            seen += len(data)
            kept += data[: max(REPLY_PREFIX - len(kept), 0)]

    async def _discard(self, size: int) -> None:
        while size > 0:
            data = await self.reader.read(min(size, 65536))
            if not data:
                raise asyncio.IncompleteReadError(b"", size)
            size -= len(data)


def _reply_detail(head: _ReplyHead, kept: bytes) -> str:
    coding = head.header("content-encoding")
    if coding is not None and coding.lower() != "identity":
        return f"({coding[:20]}-encoded reply, not decoded)"
    lines = kept.decode("utf-8", "replace").strip().splitlines()
    return lines[0][:_DETAIL] if lines else ""


def _describe_error(error: BaseException, timeout: float) -> str:
    match error:
        case TimeoutError():
            return f"no answer within {timeout:g} s"
        case asyncio.IncompleteReadError():
            return "the receiver closed the connection without a complete answer"
        case asyncio.LimitOverrunError():
            return f"reply head over {REPLY_HEAD_LIMIT // 1024} KiB"
    text = str(error) or type(error).__name__
    return f"{type(error).__name__}: {text.splitlines()[0]}"[:_DETAIL]


# --- the courier --------------------------------------------------------------------------------

_Key = tuple[str, str, int]  # scheme, host, port: one receiver


def _receiver_key(parts: SplitResult) -> _Key:
    return parts.scheme, parts.hostname or "", parts.port or _DEFAULT_PORTS[parts.scheme]


@dataclass(eq=False, slots=True)
class _Job:
    """A message's reports on their way: ``plan.statuses[step]`` is the next to post."""

    plan: Plan
    receiver: _Receiver
    step: int = 0

    def cancelled(self, in_flight: bool) -> list[CallbackResult]:
        """Results for the reports not posted yet; the first was on the wire if ``in_flight``."""
        plan = self.plan
        return [
            CallbackResult(plan.message_id, status, plan.url, "cancelled", in_flight and n == 0)
            for n, status in enumerate(plan.statuses[self.step :])
        ]


@dataclass(eq=False, slots=True)
class _Receiver:
    key: _Key
    ready: deque[_Job] = field(default_factory=deque)  # due now, waiting for a worker
    posting: set[_Job] = field(default_factory=set)
    idle: list[asyncio.Future[None]] = field(default_factory=list)  # workers waiting for work
    pending: int = 0  # messages with reports still to post here (waiting, ready or posting)
    workers: int = 0


_ERRORS = (OSError, TimeoutError, EOFError, asyncio.LimitOverrunError, UnicodeError, _BadReply)


class Courier:
    """Posts delivery reports. ``submit`` and ``close`` run on the server's loop; ``results``,
    ``dropped`` and ``pending`` may be read from any thread."""

    def __init__(
        self,
        *,
        allow_external: bool = False,
        delay: float = 0.2,
        timeout: float = 5.0,
        log: Callable[[str], None] | None = None,
        max_pending: int = MAX_PENDING,
        max_pending_per_receiver: int = MAX_PENDING_PER_RECEIVER,
        concurrency: int = RECEIVER_CONCURRENCY,
        history: int = HISTORY,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        for name, value in (
            ("max_pending", max_pending),
            ("max_pending_per_receiver", max_pending_per_receiver),
            ("concurrency", concurrency),
        ):
            if value < 1:
                raise ValueError(f"{name} must be at least 1, not {value}")
        if timeout <= 0:
            raise ValueError(f"timeout must be positive, not {timeout}")
        self.allow_external = allow_external
        self.delay = delay
        self.timeout = timeout  # per attempt: connect, send, and the whole answer
        self.max_pending = max_pending
        self.max_pending_per_receiver = max_pending_per_receiver
        self.concurrency = concurrency
        self.results: History[CallbackResult] = History(history)
        self.dropped = 0  # messages whose reports were dropped over a bound
        self._log = log or (lambda _line: None)
        self._tls = tls
        self._pending = 0
        self._waiting: deque[tuple[float, _Job]] = deque()  # in due order: the delay is fixed
        self._receivers: dict[_Key, _Receiver] = {}
        self._clock: asyncio.Task[None] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._closing = False
        self._told_dropping = False
        # per callback URL: why it is refused, or its receiver (the same few URLs come back for
        # every message)
        self._routes: dict[tuple[str, bool], tuple[str | None, _Key | None]] = {}
        # per POST URL: its parts and its request head around the Content-Length line
        self._heads: dict[str, tuple[SplitResult, bytes, bytes]] = {}

    @property
    def pending(self) -> int:
        """Messages with reports still to post."""
        return self._pending

    # --- taking plans in ------------------------------------------------------------------------

    def submit(self, plan: Plan) -> None:
        refusal, key = self._route(plan.url)
        if refusal is not None:
            self._log(f"delivery reports for {plan.message_id} not sent to {plan.url}: {refusal}")
            self.results.add(
                CallbackResult(plan.message_id, status, plan.url, "refused", False, None, refusal)
                for status in plan.statuses
            )
            return
        if self._closing:
            return
        assert key is not None
        receiver = self._receivers.get(key)
        if self._pending >= self.max_pending:
            self._drop(plan, f"queue full: reports of {self._pending} messages wait already")
            return
        if receiver is not None and receiver.pending >= self.max_pending_per_receiver:
            self._drop(
                plan,
                f"queue full for this receiver: reports of {receiver.pending} messages wait"
                " for it already",
            )
            return
        if receiver is None:
            receiver = self._receivers[key] = _Receiver(key)
        receiver.pending += 1
        self._pending += 1
        self._wait(_Job(plan, receiver))

    def _route(self, url: str) -> tuple[str | None, _Key | None]:
        """Why reports to ``url`` are refused (None: they are not), and else its receiver."""
        memo = self._routes.get((url, self.allow_external))
        if memo is None:
            if len(self._routes) >= _MEMO_URLS:
                self._routes.clear()
            refusal = callback_refusal(url, self.allow_external)
            key = _receiver_key(urlsplit(url)) if refusal is None else None
            memo = self._routes[(url, self.allow_external)] = (refusal, key)
        return memo

    def _drop(self, plan: Plan, why: str) -> None:
        self.dropped += 1
        if not self._told_dropping:
            self._told_dropping = True
            self._log(
                f"delivery reports for {plan.message_id} to {plan.url} dropped: {why}"
                " (from now on drops are counted, not logged)"
            )
        self.results.add(
            CallbackResult(plan.message_id, status, plan.url, "dropped", False, None, why)
            for status in plan.statuses
        )

    # --- timing -----------------------------------------------------------------------------------

    def _wait(self, job: _Job) -> None:
        self._waiting.append((asyncio.get_running_loop().time() + self.delay, job))
        if self._clock is None:
            self._clock = self._spawn(self._tick())

    async def _tick(self) -> None:
        """Hand each waiting job to its receiver when due. One task for all of them: a task
        per message would cost a few KB each and a cancellation each at shutdown."""
        loop = asyncio.get_running_loop()
        try:
            while self._waiting:
                due, job = self._waiting[0]
                now = loop.time()
                if due > now:
                    await asyncio.sleep(due - now)
                    continue
                self._waiting.popleft()
                self._hand_over(job)
        finally:
            self._clock = None

    def _spawn(self, coro: Coroutine[Any, Any, None]) -> asyncio.Task[None]:
        task: asyncio.Task[None] = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    # --- posting ----------------------------------------------------------------------------------

    def _hand_over(self, job: _Job) -> None:
        receiver = job.receiver
        receiver.ready.append(job)
        while receiver.idle:
            waiter = receiver.idle.pop()
            if not waiter.done():
                waiter.set_result(None)
                return
        if receiver.workers < self.concurrency:
            receiver.workers += 1
            self._spawn(self._work(receiver))

    async def _work(self, receiver: _Receiver) -> None:
        """Post the receiver's due reports one after another on one kept-alive connection."""
        loop = asyncio.get_running_loop()
        conn: _Connection | None = None
        try:
            while True:
                if receiver.ready:
                    job = receiver.ready.popleft()
                    receiver.posting.add(job)
                    try:
                        conn = await self._post(job, conn)
                    except Exception as e:  # a bug here must not strand the reports queued
                        self._log(f"delivery report for {job.plan.message_id}: {e!r}")
                        if conn is not None:
                            conn.close()
                        conn = None
                    finally:
                        receiver.posting.discard(job)
                    self._advance(job)
                    continue
                waiter = loop.create_future()
                receiver.idle.append(waiter)
                try:
                    async with asyncio.timeout(IDLE_KEEP):
                        await waiter
                except TimeoutError:
                    if waiter in receiver.idle:
                        receiver.idle.remove(waiter)
                    if not receiver.ready:  # else it was woken just as its wait ran out
                        return
        finally:
            receiver.workers -= 1
            if conn is not None:
                conn.close()
            if receiver.ready and not self._closing:
                receiver.workers += 1
                self._spawn(self._work(receiver))
            self._forget_if_done(receiver)

    def _advance(self, job: _Job) -> None:
        job.step += 1
        if job.step < len(job.plan.statuses) and not self._closing:
            self._wait(job)
            return
        job.receiver.pending -= 1
        self._pending -= 1
        self._forget_if_done(job.receiver)

    def _forget_if_done(self, receiver: _Receiver) -> None:
        if (
            receiver.pending == 0
            and receiver.workers == 0
            and self._receivers.get(receiver.key) is receiver
        ):
            del self._receivers[receiver.key]

    async def _post(self, job: _Job, conn: _Connection | None) -> _Connection | None:
        """Post the job's next report and record the outcome; the connection to keep, if any."""
        plan = job.plan
        status = plan.statuses[job.step]
        what = f"delivery report {status!r} for {plan.message_id} to {plan.url}"
        method, url, body = report_request(plan, status)
        head: _ReplyHead | None = None
        posted = False
        kept = bytearray()
        # one deadline for the whole attempt, answer and body: once the head is in, running
        # out of time only costs the connection
        try:
            async with asyncio.timeout(self.timeout):
                conn, head = await self._exchange(method, url, body, conn)
                posted = 200 <= head.status < 300
                if posted:  # known now; the body only decides whether the connection is kept
                    self._record_reply(plan, status, head, b"", what)
                try:
                    reusable = await conn.read_body(head, kept)
                except _ERRORS:
                    reusable = False
        except _ERRORS as e:
            if head is None:
                if conn is not None:
                    conn.close()
                detail = _describe_error(e, self.timeout)
                self._log(f"{what}: not delivered: {detail}")
                self.results.add(
                    [CallbackResult(plan.message_id, status, plan.url, "error", True, None, detail)]
                )
                return None
            reusable = False  # the deadline passed while the body was read
        assert conn is not None
        assert head is not None
        if not posted:
            self._record_reply(plan, status, head, bytes(kept), what)
        if reusable:
            return conn
        conn.close()
        return None

    def _record_reply(
        self, plan: Plan, status: str, head: _ReplyHead, kept: bytes, what: str
    ) -> None:
        self._log(f"{what}: HTTP {head.status}")
        posted = 200 <= head.status < 300
        self.results.add(
            [
                CallbackResult(
                    plan.message_id,
                    status,
                    plan.url,
                    "posted" if posted else "error",
                    True,
                    head.status,
                    "" if posted else _reply_detail(head, kept),
                )
            ]
        )

    async def _exchange(
        self, method: str, url: str, body: bytes, conn: _Connection | None
    ) -> tuple[_Connection, _ReplyHead]:
        parts, request = self._request(method, url, body)
        if conn is not None and conn.is_open:
            try:
                return conn, await conn.exchange(request)
            except (ConnectionError, asyncio.IncompleteReadError) as e:
                conn.close()
                if isinstance(e, asyncio.IncompleteReadError) and e.partial:
                    raise
                # Nothing came back on a kept connection: the receiver closed it as it went
                # idle, before reading this request. Once more, on a new connection.
        elif conn is not None:
            conn.close()
        fresh = await self._connect(parts)
        try:
            return fresh, await fresh.exchange(request)
        except BaseException:
            fresh.close()
            raise

    def _request(self, method: str, url: str, body: bytes) -> tuple[SplitResult, bytes]:
        """The URL's parts and the request's bytes; a POST URL's head is made once."""
        if method == "GET":  # a GET report's URL carries its id: it never comes again
            parts = urlsplit(url)
            return parts, _request_head(parts, method, len(body)) + body
        memo = self._heads.get(url)
        if memo is None:
            if len(self._heads) >= _MEMO_URLS:
                self._heads.clear()
            parts = urlsplit(url)
            memo = self._heads[url] = (parts, *_request_head_parts(parts, method))
        parts, before, after = memo
        return parts, b"%sContent-Length: %d\r\n%s%s" % (before, len(body), after, body)

    async def _connect(self, parts: SplitResult) -> _Connection:
        scheme, host, port = _receiver_key(parts)
        tls = self._tls_context() if scheme == "https" else None
        reader, writer = await asyncio.open_connection(
            host,
            port,
            ssl=tls,
            server_hostname=host if tls is not None else None,
            limit=REPLY_HEAD_LIMIT,
        )
        return _Connection(reader, writer)

    def _tls_context(self) -> ssl.SSLContext:
        if self._tls is None:
            import certifi  # httpx's trust store, as the rest of kctl uses

            self._tls = ssl.create_default_context(cafile=certifi.where())
        return self._tls

    # --- shutdown -------------------------------------------------------------------------------

    async def close(self) -> None:
        """Cancel every report still to post (recorded as cancelled), close connections."""
        self._closing = True
        cancelled: list[CallbackResult] = []
        messages = 0
        for _, job in self._waiting:
            cancelled += job.cancelled(in_flight=False)
            messages += 1
        self._waiting.clear()
        for receiver in self._receivers.values():
            for job in receiver.posting:
                cancelled += job.cancelled(in_flight=True)
                messages += 1
            for job in receiver.ready:
                cancelled += job.cancelled(in_flight=False)
                messages += 1
            receiver.ready.clear()
        self.results.add(cancelled)
        tasks = [task for task in self._tasks if not task.done()]
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2.0)
        self._receivers.clear()
        self._pending = 0
        if messages:
            self._log(f"shutdown: cancelled {messages} pending delivery report(s)")
        if self.dropped:
            self._log(
                f"shutdown: delivery reports of {self.dropped} message(s) were dropped"
                " over the queue bounds"
            )
