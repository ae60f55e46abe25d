"""``kctl sandbox``: a stand-in for Kaleyra on loopback, so send-test runs in CI for free.

Routes (SPEC 2):

* ``POST /whatsapp``: the CleverTap Generic WhatsApp adapter (JSON).
* ``POST /sms``: the CleverTap Generic SMS adapter (form).
* ``POST /v1/{sid}/messages``: Kaleyra's own API, for ``--via direct`` and for clients such as
  courier: urlencoded, multipart or JSON bodies (or a GET's query), the api-key as a header or
  a form field, ``channel`` in any case, WhatsApp ``text``, ``media``, ``template`` and
  ``mediatemplate`` messages, SMS. It answers 202 like Kaleyra (``kctl.contract.kaleyra``).

Answers follow CleverTap's provider contract (SPEC 4). Problems with the HTTP exchange itself
get an HTTP status; problems with what the message says get HTTP 200 and a failure code, as the
contract has it:

* api-key or sid header missing: 401 with failure 2000; present but not the configured value:
  200 with failure 2000.
* Content-Type not JSON (WhatsApp) or form (SMS): 415; body not JSON / not UTF-8: 400 (both
  with failure 2004 in the body).
* payload problems: 200 failure, 2001 template or parameters, 2002 the recipient number, 2004
  anything else. Every problem found goes into the message; the code is the first one's. What
  ``/whatsapp`` accepts and refuses, and with which code, is ``kctl.servers.whatsapp_adapter``;
  with ``templates`` it also holds each payload against the template approved for its
  business number.

Recipients steer the outcome by their last four digits: ``0429`` gets 429 (Retry-After: 1),
``0500`` gets 500, ``2002`` gets failure 2002, ``1006`` is accepted and then reported failed:
WhatsApp ``failed`` with error code 1006 (blacklisted), SMS ``failed`` with code "901" (DND:
SMS codes are 900-920 and DND is SMS's blacklist). An SMS to India that does not fit its DLT
template (``dlt``, from the config's templates and registry) is accepted and then reported
failed with the operator's code, 906, 907 or 908 (``kctl.servers.sms_dlt``). More requests
in flight than ``max_concurrency`` get 429. A request is in flight while the sandbox works on
it, which takes no time at all unless ``latency`` (simulated processing time) is set or a test
``hold()``s it.

The direct route takes at most ``MAX_RECIPIENTS`` comma-separated recipients, Kaleyra's own
limit; more get 400 before any of them is looked at. Recipient n of a request gets the id
``<uuid>:<n>``; the reply's top-level ``id`` is the first recipient's, and each recipient's
status callbacks carry its own.

Accepted messages get delivery reports, ``dlr_delay`` seconds apart, at the callback URL from
the request: WhatsApp ``sent``, ``delivered``, ``read`` (or ``sent``, ``failed``), then
``Clicked`` for a template with a URL button; SMS one ``delivered`` (or ``failed``). The adapter
routes report in CleverTap's formats (SPEC 4.4, 4.5) to ``delivery-report-callback-url``
(WhatsApp) or ``callback_url`` (SMS); the direct route reports Kaleyra's way, a GET with ``id``
and ``status``, to the request's ``callback_url`` (or SMS's ``callback`` object, by its method).
``kctl.servers.callbacks`` sends them: only to loopback unless ``allow_external_callbacks``,
from bounded queues, a few connections per receiver. A refused or failed callback is logged,
never fatal, and shutdown cancels callbacks still pending (one log line) instead of waiting for
them.

``messages`` and ``callbacks`` keep the latest ``history`` entries each; ``messages_total`` and
``callbacks_total`` count them all.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hmac
import json
import threading
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, assert_never

from kctl.contract import kaleyra, replies, sms
from kctl.contract import whatsapp as wa
from kctl.contract.channels import SMS, URL_HEADERS, WHATSAPP, Channel, ChannelSpec
from kctl.contract.numbers import (
    is_dlt_id,
    is_sender,
    is_template_name,
    is_wire_number,
)
from kctl.errors import UsageError
from kctl.render.escape import escape_untrusted
from kctl.servers.callbacks import (
    HISTORY,
    MAX_PENDING,
    MAX_PENDING_PER_RECEIVER,
    CallbackResult,
    Courier,
    History,
    Plan,
)
from kctl.servers.forms import BodyError, Fields, Upload, decode_fields, query_fields
from kctl.servers.http import App, HttpRequest, HttpResponse, HttpServer
from kctl.servers.sms_dlt import DltBook, dlt_book_for, dlt_failure
from kctl.servers.whatsapp_adapter import TemplateBook, check_payload, template_book
from kctl.urls import is_https_url

if TYPE_CHECKING:
    import ssl

    from kctl.config.model import Provider
    from kctl.servers.listener import Listener
    from kctl.servers.templates_api import TemplatesApi

SMS_TYPES = frozenset(sms.MESSAGE_TYPES)
HEADER_TYPES = frozenset(wa.HEADER_TYPES)

# by the recipient's last four digits
MAGIC_RATE_LIMITED = "0429"
MAGIC_SERVER_ERROR = "0500"
MAGIC_INVALID_NUMBER = "2002"
MAGIC_BLACKLISTED = "1006"
# Kaleyra's bulk route takes 100 numbers a request. Counted before any is checked: 70,000 once
# held the loop for 5.6 s and grew the process to 215 MB.
MAX_RECIPIENTS = 100

_MAX_LISTED = 5  # problems quoted in one failure message


@dataclass(frozen=True, slots=True)
class Accepted:
    """A message the sandbox accepted."""

    route: str  # "whatsapp", "sms", "direct whatsapp", "direct sms"
    message_id: str  # msgId, message_id, or the Kaleyra id the direct route made up
    to: str  # digits, no '+'
    callback_url: str | None
    fails: bool  # its delivery report will say failed (recipient ending 1006, or DLT)
    # SMS to India that does not fit its DLT template: the code its failed report carries
    dlt_failure: str | None = None


class _Reject(Exception):
    """A request the sandbox refuses: the failure code, words and HTTP status to answer with."""

    def __init__(
        self,
        code: int | str,
        message: str,
        status: int = 200,
        headers: tuple[tuple[str, str], ...] = (),
    ) -> None:
        super().__init__(message)
        self.code = code
        self.message = message
        self.status = status
        self.headers = headers


def _reject_for(problems: list[tuple[int, str]]) -> _Reject:
    code = problems[0][0]
    words = [m for _, m in problems[:_MAX_LISTED]]
    more = len(problems) - _MAX_LISTED
    if more > 0:
        words.append(f"and {more} more")
    return _Reject(code, "; ".join(words))


def _is_number(value: Any) -> bool:
    return isinstance(value, str) and is_wire_number(value) and not value.startswith("+")


# --- payload checks (pure) --------------------------------------------------------------------


def sms_form_problems(fields: dict[str, str]) -> list[tuple[int, str]]:
    """(code, message) for each way ``fields`` break CleverTap's Generic SMS request, as
    Kaleyra's set-up names its parameters."""
    problems: list[tuple[int, str]] = []
    to = fields.get("to", "")
    if not to:
        problems.append((replies.INVALID_NUMBER, "to is missing"))
    elif not _is_number(to):
        problems.append(
            (replies.INVALID_NUMBER, "to must be the recipient's number, digits only (no '+')")
        )
    problems += sms_content_problems(fields)
    # CleverTap's message id has a dotted shape, but the provider echoes whatever it gets
    if not fields.get("message_id", ""):
        problems.append(
            (replies.OTHER_ERROR, "message_id is missing (the delivery report must echo it)")
        )
    for name, value in fields.items():
        left = sms.TOKEN.search(value)
        if left is not None:
            problems.append(
                (
                    replies.OTHER_ERROR,
                    f"{name} still holds {left.group(0)}: CleverTap did not fill it in",
                )
            )
    return problems


def sms_content_problems(fields: dict[str, str]) -> list[tuple[int, str]]:
    """Problems with an SMS's sender, text, DLT template id and type (both SMS routes)."""
    problems: list[tuple[int, str]] = []
    sender = fields.get("sender")
    if sender is not None and not is_sender(sender):
        problems.append(
            (replies.OTHER_ERROR, "sender must be a sender ID (letters and digits) or a number")
        )
    body = fields.get("body")
    template_id = fields.get("template_id")
    if not (body or "").strip() and not template_id:
        problems.append((replies.OTHER_ERROR, "body (or, for DLT, template_id) is missing"))
    elif body is not None and sms.VARIABLE in body:
        problems.append(
            (replies.TEMPLATE_MISMATCH, "body still has {#var#}: a template parameter is missing")
        )
    if template_id is not None and not is_dlt_id(template_id):
        problems.append(
            (replies.TEMPLATE_MISMATCH, "template_id must be a DLT template id, 12 to 19 digits")
        )
    message_type = fields.get("type")
    if message_type is not None and sms.message_type(message_type) is None:
        problems.append(
            (replies.OTHER_ERROR, f"type must be one of {', '.join(sms.MESSAGE_TYPES)} (any case)")
        )
    return problems


def _unique_fields(pairs: list[tuple[str, str]]) -> dict[str, str]:
    repeated = [name for name, n in Counter(k for k, _ in pairs).items() if n > 1]
    if repeated:
        raise _Reject(replies.OTHER_ERROR, f"field {repeated[0]} is given more than once")
    return dict(pairs)


def _magic(to: str) -> str:
    return to[-4:]


# --- the server app -----------------------------------------------------------------------------


class Sandbox(App):
    """The sandbox's HTTP app. Serve it with ``HttpServer(Sandbox(...))``.

    Its records (``messages``, ``callbacks``) and test hooks (``hold``, ``release``,
    ``wait_in_flight``, ``wait_for_callbacks``) may be used from any thread.
    """

    templates_api: TemplatesApi | None = None  # Kaleyra's template routes

    def _live_status(self, name: str, language: str) -> str | None:
        """A template's status as the template APIs hold it now: a test (or a user) pausing it
        there makes the next send of it fail, as Kaleyra's would."""
        if self.templates_api is None:
            return None
        return self.templates_api.store.status_of(name, language)

    def __init__(
        self,
        api_key: str | None = None,
        sid: str | None = None,
        *,
        max_concurrency: int | None = None,
        allow_external_callbacks: bool = False,
        dlr_delay: float = 0.2,
        log: Callable[[str], None] | None = None,
        latency: float = 0.0,
        callback_timeout: float = 5.0,
        history: int = HISTORY,
        max_pending_reports: int = MAX_PENDING,
        max_pending_per_receiver: int = MAX_PENDING_PER_RECEIVER,
        callback_tls: ssl.SSLContext | None = None,
        templates: TemplateBook | None = None,
        dlt: DltBook | None = None,
    ) -> None:
        """``callback_timeout`` bounds each attempt to post one report; ``history`` is how
        many messages and callback results are kept; ``max_pending_reports`` and
        ``max_pending_per_receiver`` bound the messages whose reports wait to be posted (in
        all, and to one receiver); ``callback_tls`` replaces the CA bundle for https
        callbacks; ``templates`` are the WhatsApp templates approved for each business number
        (None: any template is taken as approved); ``dlt`` holds the DLT registrations SMS to
        India are scrubbed against (None: no scrubbing)."""
        if max_concurrency is not None and max_concurrency < 1:
            raise UsageError(f"--max-concurrency must be at least 1, not {max_concurrency}")
        self.api_key = api_key or None
        self.sid = sid or None
        self.max_concurrency = max_concurrency
        self.latency = latency  # simulated processing time per request, seconds
        self.templates = templates
        self.dlt = dlt
        raw_log = log or (lambda _line: None)
        # log lines quote request targets, callback URLs and values sent by the client
        self._log: Callable[[str], None] = lambda line: raw_log(escape_untrusted(line))
        self._state = threading.Condition()
        self._messages: History[Accepted] = History(history)
        self._courier = Courier(
            allow_external=allow_external_callbacks,
            delay=dlr_delay,
            timeout=callback_timeout,
            log=self._log,
            max_pending=max_pending_reports,
            max_pending_per_receiver=max_pending_per_receiver,
            history=history,
            tls=callback_tls,
        )
        self._in_flight = 0
        self._peak_in_flight = 0
        self._holding = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._released: asyncio.Event | None = None

    # --- records and test hooks (any thread) ---------------------------------------------------

    @property
    def messages(self) -> list[Accepted]:
        """The latest accepted messages, oldest first (``history`` at most)."""
        return self._messages.items()

    @property
    def messages_total(self) -> int:
        return self._messages.total

    @property
    def callbacks(self) -> list[CallbackResult]:
        """The latest callback results, oldest first (``history`` at most)."""
        return self._courier.results.items()

    @property
    def callbacks_total(self) -> int:
        return self._courier.results.total

    @property
    def pending_reports(self) -> int:
        """Messages whose delivery reports are still to be posted."""
        return self._courier.pending

    @property
    def dropped_reports(self) -> int:
        """Messages whose delivery reports were dropped because the queue was full."""
        return self._courier.dropped

    @property
    def in_flight(self) -> int:
        return self._in_flight

    @property
    def peak_in_flight(self) -> int:
        return self._peak_in_flight

    def wait_for_callbacks(self, count: int, timeout: float = 5.0) -> list[CallbackResult]:
        """Wait until ``count`` callback results were recorded in all (or ``timeout``); return
        those kept."""
        return self._courier.results.wait_total(count, timeout)

    def wait_in_flight(self, count: int, timeout: float = 5.0) -> bool:
        """Wait until ``count`` requests are in flight at once; False on timeout."""
        with self._state:
            return self._state.wait_for(lambda: self._in_flight >= count, timeout)

    def hold(self) -> None:
        """Keep requests that pass the concurrency check in flight until ``release()``.

        A test hook: it makes "N requests in flight" a state a test can set up and observe,
        instead of a race against the clock.
        """
        self._holding = True
        self._on_loop(self._close_gate)

    def release(self) -> None:
        self._holding = False
        self._on_loop(self._open_gate)

    def _close_gate(self) -> None:
        if self._released is not None and self._holding:
            self._released.clear()

    def _open_gate(self) -> None:
        if self._released is not None and not self._holding:
            self._released.set()

    def _on_loop(self, fn: Callable[[], None]) -> None:
        """Run ``fn`` on the server's loop and wait for it; now, when there is no loop yet."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            fn()
            return
        done = threading.Event()

        def run() -> None:
            try:
                fn()
            finally:
                done.set()

        try:
            loop.call_soon_threadsafe(run)
        except RuntimeError:  # the loop closed in between
            return
        done.wait(5.0)

    # --- life cycle ----------------------------------------------------------------------------

    async def startup(self, server: HttpServer) -> None:
        await super().startup(server)
        self._loop = asyncio.get_running_loop()
        self._released = asyncio.Event()
        if not self._holding:
            self._released.set()

    async def shutdown(self) -> None:
        await self._courier.close()

    # --- requests ------------------------------------------------------------------------------

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if self.templates_api is not None and kaleyra.is_template_api_path(request.path):
            return await self.templates_api.handle(request)
        route, family = self._route(request.path)
        if route is None:
            response = HttpResponse.json(
                404, {"error": {"code": "E404", "message": f"no route {request.path}"}}
            )
            self._log_request(request, response, "no such route")
            return response
        allowed = ("POST", "GET") if family == "direct" else ("POST",)
        if request.method not in allowed:
            response = HttpResponse.json(
                405,
                {"error": {"code": "E405", "message": f"use {' or '.join(allowed)}"}},
                (("Allow", ", ".join(allowed)),),
            )
            self._log_request(request, response, "method not allowed")
            return response
        limit = self.max_concurrency
        if limit is not None and self._in_flight >= limit:
            reject = _Reject(
                replies.OTHER_ERROR if family == "adapter" else "E429",
                f"too many requests: {self._in_flight} in flight, max_concurrency {limit}",
                429,
                (("Retry-After", "1"),),
            )
            return self._answer_reject(request, family, reject)
        self._enter()
        try:
            if self._holding and self._released is not None:
                await self._released.wait()
            if self.latency > 0:
                await asyncio.sleep(self.latency)
            try:
                response, summary, plans = route(request)
            except _Reject as e:
                return self._answer_reject(request, family, e)
        finally:
            self._leave()
        self._log_request(request, response, summary)
        for plan in plans:
            self._courier.submit(plan)
        return response

    def _route(
        self, path: str
    ) -> tuple[Callable[[HttpRequest], tuple[HttpResponse, str, list[Plan]]] | None, str]:
        if path == WHATSAPP.adapter_path:
            return self._whatsapp, "adapter"
        if path == SMS.adapter_path:
            return self._sms, "adapter"
        if kaleyra.MESSAGES_PATH.fullmatch(path):
            return self._direct, "direct"
        return None, ""

    def _enter(self) -> None:
        with self._state:
            self._in_flight += 1
            self._peak_in_flight = max(self._peak_in_flight, self._in_flight)
            self._state.notify_all()

    def _leave(self) -> None:
        with self._state:
            self._in_flight -= 1
            self._state.notify_all()

    def _answer_reject(self, request: HttpRequest, family: str, reject: _Reject) -> HttpResponse:
        if family == "adapter":
            body: dict[str, Any] = {
                "status": replies.FAILURE,
                "error": {"code": reject.code, "message": reject.message},
            }
            if reject.status == replies.TOO_MANY_REQUESTS:
                body = {"message": replies.TOO_MANY_REQUESTS_MESSAGE, **body}
        else:
            body = {"error": {"code": reject.code, "message": reject.message}, "data": []}
        response = HttpResponse.json(reject.status, body, reject.headers)
        self._log_request(request, response, f"failure {reject.code}: {reject.message}")
        return response

    def _log_request(self, request: HttpRequest, response: HttpResponse, summary: str) -> None:
        self._log(f"{request.method} {request.path} {response.status} {summary}")

    # --- adapter routes -------------------------------------------------------------------------

    def _check_credentials(self, request: HttpRequest) -> None:
        key, sid = request.header("api-key"), request.header("sid")
        missing = [name for name, value in (("api-key", key), ("sid", sid)) if not value]
        if missing:
            raise _Reject(
                replies.INVALID_CREDENTIALS, f"missing header {' and '.join(missing)}", 401
            )
        assert key is not None
        assert sid is not None
        wrong = [
            name
            for name, given, wanted in (("api-key", key, self.api_key), ("sid", sid, self.sid))
            if wanted is not None and not hmac.compare_digest(given.encode(), wanted.encode())
        ]
        if wrong:
            raise _Reject(
                replies.INVALID_CREDENTIALS,
                f"invalid credentials: {' and '.join(wrong)} not recognised",
            )

    def _adapter_envelope(self, request: HttpRequest, spec: ChannelSpec) -> str:
        """Check the provider form's URL headers and the body's Content-Type for ``spec``'s
        route; the delivery report URL."""
        urls = {
            name: self._url_header(request, name) for name in spec.headers if name in URL_HEADERS
        }
        if request.media_type != spec.content_type:
            raise _Reject(replies.OTHER_ERROR, f"Content-Type must be {spec.content_type}", 415)
        return urls[spec.report_header]

    @staticmethod
    def _url_header(request: HttpRequest, name: str) -> str:
        value = request.header(name)
        if not value:
            raise _Reject(replies.OTHER_ERROR, f"missing header {name}")
        if not is_https_url(value):
            raise _Reject(
                replies.OTHER_ERROR,
                f"header {name} is not an absolute https URL (http only for loopback hosts)",
            )
        return value

    def _whatsapp(self, request: HttpRequest) -> tuple[HttpResponse, str, list[Plan]]:
        self._check_credentials(request)
        self._check_basic_auth(request)
        callback = self._adapter_envelope(request, WHATSAPP)
        try:
            text = request.body.decode("utf-8")
        except UnicodeDecodeError:
            raise _Reject(replies.OTHER_ERROR, "body is not UTF-8", 400) from None
        try:
            # parsed from text: json.loads on bytes would also read UTF-16 and UTF-32, which
            # CleverTap never sends (RFC 8259: JSON between systems is UTF-8)
            payload = json.loads(text)
        except (ValueError, RecursionError):
            raise _Reject(replies.OTHER_ERROR, "body is not valid JSON", 400) from None
        checked = check_payload(payload, self.templates, self._live_status)
        if checked.problems:
            raise _reject_for([(refusal.code, message) for refusal, message in checked.problems])
        return self._accept_adapter(
            Channel.WHATSAPP,
            checked.msg_id,
            checked.to,
            callback,
            checked.payload_version,
            clicked_url=checked.clicked_url,
        )

    def _sms(self, request: HttpRequest) -> tuple[HttpResponse, str, list[Plan]]:
        self._check_credentials(request)
        self._check_basic_auth(request)
        callback = self._adapter_envelope(request, SMS)
        try:
            fields = _unique_fields(request.form())
        except ValueError:
            raise _Reject(replies.OTHER_ERROR, "body is not UTF-8 form data", 400) from None
        problems = sms_form_problems(fields)
        if problems:
            raise _reject_for(problems)
        failure = dlt_failure(fields, self.dlt) if self.dlt is not None else None
        return self._accept_adapter(
            Channel.SMS, fields["message_id"], fields["to"], callback, failure=failure
        )

    def _accept_adapter(
        self,
        channel: Channel,
        message_id: str,
        to: str,
        callback: str,
        payload_version: str = wa.REPORT_PAYLOAD_VERSION,
        *,
        clicked_url: str | None = None,
        failure: tuple[str, str] | None = None,
    ) -> tuple[HttpResponse, str, list[Plan]]:
        """Answer a checked adapter request: a magic recipient's error, or success and a plan
        for its delivery reports (failed with ``failure``'s code when DLT drops it)."""
        magic = _magic(to)
        self._raise_magic(magic, "adapter")
        fails = magic == MAGIC_BLACKLISTED or failure is not None
        code = failure[0] if failure is not None else None
        self._remember(Accepted(channel, message_id, to, callback, fails, code))
        plan = Plan(
            channel, message_id, callback, fails, payload_version, clicked_url, failure=failure
        )
        summary = f"success {_id_name(channel)}={message_id} to={to}"
        if failure is not None:
            summary += f" (DLT: will report failed {failure[0]}: {failure[1]})"
        return HttpResponse.json(200, {"status": replies.SUCCESS}), summary, [plan]

    @staticmethod
    def _check_basic_auth(request: HttpRequest) -> None:
        value = request.header("authorization")
        if value is None:
            return
        scheme, _, token = value.partition(" ")
        try:
            decoded = base64.b64decode(token.strip(), validate=True).decode("utf-8")
        except (binascii.Error, ValueError):
            decoded = ""
        if scheme.lower() != "basic" or ":" not in decoded:
            raise _Reject(
                replies.INVALID_CREDENTIALS, "Authorization header is not valid basic auth", 401
            )

    @staticmethod
    def _raise_magic(magic: str, family: str) -> None:
        adapter = family == "adapter"
        if magic == MAGIC_RATE_LIMITED:
            raise _Reject(
                replies.OTHER_ERROR if adapter else "E429",
                "too many requests (sandbox: recipient ending 0429)",
                429,
                (("Retry-After", "1"),),
            )
        if magic == MAGIC_SERVER_ERROR:
            raise _Reject(
                replies.OTHER_ERROR if adapter else "E500",
                "internal error (sandbox: recipient ending 0500)",
                500,
            )
        if magic == MAGIC_INVALID_NUMBER:
            message = "invalid phone number (sandbox: recipient ending 2002)"
            raise (
                _Reject(replies.INVALID_NUMBER, message)
                if adapter
                else _Reject("E400", message, 400)
            )

    def _remember(self, *accepted: Accepted) -> None:
        self._messages.add(accepted)

    # --- direct route (Kaleyra's API) ----------------------------------------------------------

    def _direct(self, request: HttpRequest) -> tuple[HttpResponse, str, list[Plan]]:
        match = kaleyra.MESSAGES_PATH.fullmatch(request.path)
        assert match is not None
        submitted = _direct_fields(request)
        try:
            fields = _unique_fields(submitted.pairs)
        except _Reject as e:
            raise _Reject("E400", e.message, 400) from None
        # Kaleyra's pages send the key as a header, courier as a form field
        form_key = fields.pop(kaleyra.API_KEY, None)
        self._check_direct_key(request.header(kaleyra.API_KEY) or form_key, match.group(1))
        # counted with one C-speed pass before anything is done per recipient
        listed = fields.get("to", "").count(",") + 1
        if listed > MAX_RECIPIENTS:
            raise _Reject(
                "E400", f"to lists {listed} recipients; at most {MAX_RECIPIENTS} a request", 400
            )
        named = fields.get("channel", "sms")
        channel = kaleyra.channel_of(named)
        if channel is None:
            raise _Reject("E400", f"channel {named!r} is not sms or whatsapp", 400)
        match channel:
            case Channel.WHATSAPP:
                problems = _direct_whatsapp_problems(fields, submitted.uploads)
                callback = _direct_callback(fields, kaleyra.CALLBACK_URL)
            case Channel.SMS:
                problems = _direct_sms_problems(fields)
                callback = _direct_callback(fields, kaleyra.SMS_CALLBACK, kaleyra.CALLBACK_URL)
            case _:
                assert_never(channel)
        if problems:
            raise _Reject("E400", "; ".join(problems[:_MAX_LISTED]), 400)
        recipients = [r.strip().lstrip("+") for r in fields["to"].split(",")]
        for recipient in recipients:
            self._raise_magic(_magic(recipient), "direct")
        url, method = callback if callback is not None else (None, None)
        if url is None and kaleyra.CALLBACK_PROFILE in fields:
            self._log(
                f"{kaleyra.CALLBACK_PROFILE} {fields[kaleyra.CALLBACK_PROFILE]!r}: the sandbox"
                " has no callback profiles, so no status is reported"
            )
        batch = str(uuid.uuid4())
        data = []
        plans = []
        accepted = []
        for n, recipient in enumerate(recipients):
            message_id = kaleyra.message_id(batch, n)
            failure = None
            if channel is Channel.SMS and self.dlt is not None:
                failure = dlt_failure({**fields, "to": recipient}, self.dlt)
            fails = _magic(recipient) == MAGIC_BLACKLISTED or failure is not None
            code = failure[0] if failure is not None else None
            data.append({"message_id": message_id, "recipient": f"+{recipient}"})
            accepted.append(Accepted(f"direct {channel}", message_id, recipient, url, fails, code))
            if url is not None:
                plans.append(
                    Plan(channel, message_id, url, fails, native_method=method, failure=failure)
                )
        self._remember(*accepted)
        reply: dict[str, Any] = {
            "id": data[0]["message_id"],
            "channel": channel,
            "type": fields.get("type", _default_direct_type(channel)),
            "totalCount": len(recipients),
            "data": data,
            "error": {},
        }
        ids = ", ".join(d["message_id"] for d in data)
        summary = f"accepted {channel} ({submitted.encoding}) id={ids}"
        return HttpResponse.json(kaleyra.ACCEPTED, reply), summary, plans

    def _check_direct_key(self, key: str | None, sid: str) -> None:
        if not key:
            raise _Reject("E401", "missing api-key (header or form field)", 401)
        if self.api_key is not None and not hmac.compare_digest(
            key.encode(), self.api_key.encode()
        ):
            raise _Reject("E401", "invalid api-key", 401)
        if self.sid is not None and sid != self.sid:
            raise _Reject("E401", "the api-key does not belong to this SID", 401)


def _direct_fields(request: HttpRequest) -> Fields:
    """The fields of a request to Kaleyra's messages route: the query of a GET (one of
    Kaleyra's template pages shows that form), else the body in any format Kaleyra takes."""
    try:
        if request.method == "GET":
            return query_fields(request.query)
        if request.media_type not in kaleyra.BODY_TYPES:
            raise _Reject(
                "E415", "Content-Type must be one of " + ", ".join(kaleyra.BODY_TYPES), 415
            )
        return decode_fields(request.media_type, request.header("content-type") or "", request.body)
    except BodyError as e:
        raise _Reject("E400", str(e), 400) from None


def _direct_recipients_problems(value: str | None, single: bool) -> list[str]:
    if not value:
        return ["to is missing"]
    recipients = [r.strip() for r in value.split(",")]
    if single and len(recipients) > 1:
        return ["to must be one number"]
    if not all(_is_number(r.removeprefix("+")) for r in recipients):
        return ["to must be E.164 numbers ('+' optional), comma-separated"]
    return []


def _direct_whatsapp_problems(fields: dict[str, str], uploads: list[Upload]) -> list[str]:
    problems = _direct_recipients_problems(fields.get("to"), single=True)
    if not _is_number(fields.get("from", "").removeprefix("+")):
        problems.append("from must be the WhatsApp business number")
    kind = fields.get("type")
    media = [u for u in uploads if u.name == "media"]
    media_url = fields.get("media_url")
    if media_url is not None and not wa.is_http_url(media_url):
        problems.append("media_url must be an absolute http(s) URL")
    match kind:
        case kaleyra.TEXT:
            if not fields.get("body", "").strip():
                problems.append("body is missing")
        case kaleyra.MEDIA:
            if not media and not media_url:
                problems.append("type media needs a media file part or media_url")
        case kaleyra.TEMPLATE | kaleyra.MEDIA_TEMPLATE:
            if not is_template_name(fields.get("template_name", "")):
                problems.append("template_name is missing or not a template name")
            if fields.get("lang_code", "en") not in wa.LANGUAGES:
                problems.append("lang_code is not a WhatsApp language code")
            if kaleyra.split_params(fields.get("params", "")) is None:
                problems.append('params is not comma-separated values (quoted as "A","B")')
            if kind == kaleyra.MEDIA_TEMPLATE and not media and not media_url:
                problems.append("type mediatemplate needs media_url or a media file part")
        case _:
            problems.append("type must be one of " + ", ".join(kaleyra.WHATSAPP_TYPES))
    return problems


def _direct_sms_problems(fields: dict[str, str]) -> list[str]:
    problems = _direct_recipients_problems(fields.get("to"), single=False)
    return problems + [message for _, message in sms_content_problems(fields)]


def _direct_callback(fields: dict[str, str], *names: str) -> tuple[str, str] | None:
    """(URL, method) of the status callback the request asks for, from the first of ``names``
    it has: ``callback_url`` (reported by GET) or SMS's ``callback`` JSON object."""
    for name in names:
        value = fields.get(name)
        if not value:
            continue
        if name == kaleyra.CALLBACK_URL:
            if not wa.is_http_url(value):
                raise _Reject("E400", f"{name} must be an absolute http(s) URL", 400)
            return value, "GET"
        try:
            spec = json.loads(value)
        except ValueError:
            spec = None
        url = spec.get("url") if isinstance(spec, dict) else None
        method = spec.get("method", "GET") if isinstance(spec, dict) else None
        if not isinstance(url, str) or not wa.is_http_url(url):
            raise _Reject("E400", f'{name} must be a JSON object with "url"', 400)
        if not isinstance(method, str) or method.upper() not in kaleyra.CALLBACK_METHODS:
            raise _Reject("E400", f"{name}.method must be GET or POST", 400)
        return url, method.upper()
    return None


# --- in-process pair for send-test --sandbox ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalPair:
    """A sandbox and a listener running in-process on free loopback ports."""

    sandbox: Sandbox
    listener: Listener
    sandbox_url: str  # http://127.0.0.1:PORT, no trailing slash
    listener_url: str


@contextmanager
def local_pair(
    *,
    log: Callable[[str], None] | None = None,
    emit: Callable[[str], None] | None = None,
    json_lines: bool = False,
    dlr_delay: float = 0.2,
    max_concurrency: int | None = None,
    provider: Provider | None = None,
    providers: Iterable[Provider] = (),
) -> Iterator[LocalPair]:
    """Start a Sandbox and a Listener, each on its own thread and loop; stop both on exit.

    The sandbox checks no particular api-key or sid (any non-empty value passes), so a config
    pointed at it needs no real secrets. The templates of ``provider`` and ``providers``
    (WhatsApp) are the ones it takes as approved, so a payload that does not fit its template
    is refused as Kaleyra would refuse it; their DLT registrations (SMS) are the ones it
    scrubs SMS to India against.
    """
    from kctl.servers.listener import Listener

    listener = Listener(emit, json_lines=json_lines)
    known = [*providers, *([provider] if provider is not None else [])]
    templates = template_book(known) if known else None
    sandbox = Sandbox(
        max_concurrency=max_concurrency,
        dlr_delay=dlr_delay,
        log=log,
        templates=templates,
        dlt=dlt_book_for(known),
    )
    with (
        HttpServer(listener, log=log).start_in_thread() as listening,
        HttpServer(sandbox, log=log).start_in_thread() as serving,
    ):
        yield LocalPair(sandbox, listener, serving.url, listening.url)


def _id_name(channel: Channel) -> str:
    """What the adapter payload calls its message id."""
    match channel:
        case Channel.WHATSAPP:
            return wa.MSG_ID_KEYS[0]
        case Channel.SMS:
            return "message_id"
        case _:
            assert_never(channel)


def _default_direct_type(channel: Channel) -> str:
    """Kaleyra's message type when a direct request names none."""
    match channel:
        case Channel.WHATSAPP:
            return kaleyra.TEMPLATE
        case Channel.SMS:
            return "DEFAULT"
        case _:
            assert_never(channel)
