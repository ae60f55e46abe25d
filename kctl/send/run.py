"""send-test as a stream of events: build, (retry,) reply, wait for the delivery report.

``run_send_test`` yields values and never prints; ``kctl.render.sendtest`` turns the same
events into streamed text, one JSON document, a JUnit report or a curl command. Build, then
send: one ``Request`` value feeds --dry-run, --curl, --json and a real send.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Generator, Iterator

from kctl.config.model import Provider, SmsProvider, WhatsAppProvider
from kctl.contract.channels import CHANNELS, INBOUND_HEADER
from kctl.contract.encoding import SmsSize, sms_size
from kctl.errors import DeliveryNotConfirmed, NetworkFailure
from kctl.lean import Record, assert_never
from kctl.secrets import Masker, parse_reference
from kctl.send.build import Message, build_request, sms_dlt, sms_text
from kctl.send.dlt import DltVerdict
from kctl.send.outcome import Outcome
from kctl.send.wire import Request, Response, Retrying, Via

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Final

    from kctl.servers.listener import Delivery, Listener, Report


class SendOptions(Record):
    __slots__ = ("dry_run", "message_id", "retries", "show_secrets", "timeout", "verify", "via")
    via: Final[Via]
    dry_run: Final[bool]
    timeout: Final[float]
    retries: Final[int]
    verify: Final[bool | str]  # or a CA bundle path
    show_secrets: Final[bool]
    message_id: Final[str | None]  # None: a fresh id in the channel's shape

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaces
        self,
        via: Via = Via.ADAPTER,
        dry_run: bool = False,
        timeout: float = 10.0,
        retries: int = 2,
        verify: bool | str = True,
        show_secrets: bool = False,
        message_id: str | None = None,
    ) -> None:
        self.via = via
        self.dry_run = dry_run
        self.timeout = timeout
        self.retries = retries
        self.verify = verify
        self.show_secrets = show_secrets
        self.message_id = message_id


# --- events -----------------------------------------------------------------------------------


class Built(Record):
    """The request, as it will be shown (secrets resolved only when they will be sent)."""

    __slots__ = ("curl_request", "curl_shows_secrets", "dry_run", "masker", "request")
    request: Final[Request]
    masker: Final[Masker]
    curl_request: Final[Request]  # the request --curl shows: references kept, unless...
    curl_shows_secrets: Final[bool]  # ...--show-secrets
    dry_run: Final[bool]

    def __init__(
        self,
        request: Request,
        masker: Masker,
        curl_request: Request,
        curl_shows_secrets: bool,
        dry_run: bool,
    ) -> None:
        self.request = request
        self.masker = masker
        self.curl_request = curl_request
        self.curl_shows_secrets = curl_shows_secrets
        self.dry_run = dry_run

    @property
    def curl(self) -> str:
        """The request as a curl command; made when a renderer asks (--curl, --json), since
        most sends never show it (and kctl.render.curl imports shlex)."""
        from kctl.render.curl import curl_command

        return curl_command(self.curl_request, show_secrets=self.curl_shows_secrets)


class Composed(Record):
    """An SMS as it goes out: its text, what it costs, and how it fares against DLT."""

    __slots__ = ("dlt", "size", "text")
    text: Final[str]
    size: Final[SmsSize]
    dlt: Final[DltVerdict | None]  # None: the provider does not send under DLT

    def __init__(self, text: str, size: SmsSize, dlt: DltVerdict | None) -> None:
        self.text = text
        self.size = size
        self.dlt = dlt


class Replied(Record):
    __slots__ = ("outcome", "response")
    response: Final[Response]
    outcome: Final[Outcome]

    def __init__(self, response: Response, outcome: Outcome) -> None:
        self.response = response
        self.outcome = outcome


class SendFailed(Record):
    """No reply at all: connection, TLS or timeout."""

    __slots__ = ("error",)
    error: Final[NetworkFailure]

    def __init__(self, error: NetworkFailure) -> None:
        self.error = error


class Waiting(Record):
    __slots__ = ("message_id", "seconds")
    message_id: Final[str]
    seconds: Final[float]

    def __init__(self, message_id: str, seconds: float) -> None:
        self.message_id = message_id
        self.seconds = seconds


class ReportArrived(Record):
    __slots__ = ("after_s", "delivery", "report")
    report: Final[Report]
    delivery: Final[Delivery]
    after_s: Final[float]

    def __init__(self, report: Report, delivery: Delivery, after_s: float) -> None:
        self.report = report
        self.delivery = delivery
        self.after_s = after_s

    @property
    def delivered(self) -> bool:
        from kctl.contract.whatsapp import DELIVERED_STATUSES

        return self.delivery.status in DELIVERED_STATUSES


class ReportMissing(Record):
    __slots__ = ("hint", "seconds")
    seconds: Final[float]
    hint: Final[str]

    def __init__(self, seconds: float, hint: str = "") -> None:
        self.seconds = seconds
        self.hint = hint


class CallbacksRedirected(Record):
    """--wait-dlr pointed the provider's callback URLs at kctl's listener for this send."""

    __slots__ = ("listener_url", "replaced")
    listener_url: Final[str]
    replaced: Final[tuple[tuple[str, str], ...]]  # (header or field, the value the config has)

    def __init__(self, listener_url: str, replaced: tuple[tuple[str, str], ...]) -> None:
        self.listener_url = listener_url
        self.replaced = replaced


class Finished(Record):
    __slots__ = ("exit_code", "verdict")
    exit_code: Final[int]
    verdict: Final[str]  # one line: what came of it

    def __init__(self, exit_code: int, verdict: str) -> None:
        self.exit_code = exit_code
        self.verdict = verdict


Event = (
    Composed
    | Built
    | CallbacksRedirected
    | Retrying
    | Replied
    | SendFailed
    | Waiting
    | ReportArrived
    | ReportMissing
    | Finished
)


# --- the run ----------------------------------------------------------------------------------


SANDBOX_API_KEY = "sandbox-api-key"
SANDBOX_SID = "SANDBOX"


def with_callback(provider: Provider, listener_url: str) -> Provider:
    """The provider with its delivery report (and inbound) callbacks at ``listener_url``."""
    base = listener_url.rstrip("/")
    spec = CHANNELS[provider.channel]
    pointed = {spec.report_header: f"{base}/{spec.channel}/dlr"}
    match provider:
        case WhatsAppProvider():
            pointed[INBOUND_HEADER] = f"{base}/{spec.channel}/inbound"
        case SmsProvider():
            pass
        case _:
            assert_never(provider)
    headers = tuple((key, pointed.get(key, value)) for key, value in provider.headers)
    return provider.replace(headers=headers)


def sandboxed(provider: Provider, sandbox_url: str, listener_url: str) -> Provider:
    """The provider pointed at the embedded sandbox, with sandbox credentials: no secrets."""

    def sandbox_value(key: str, value: str) -> str:
        if key == "api-key":
            return SANDBOX_API_KEY
        if key == "kaleyra-host":
            return sandbox_url.rstrip("/") + "/"
        if parse_reference(value) is not None:
            return SANDBOX_SID if key == "sid" else "sandbox"
        return value

    endpoint = sandbox_url.rstrip("/") + CHANNELS[provider.channel].adapter_path
    headers = tuple((key, sandbox_value(key, value)) for key, value in provider.headers)
    pointed: Provider
    match provider:
        case WhatsAppProvider():
            pointed = provider.replace(endpoint=endpoint, headers=headers)
        case SmsProvider():
            pointed = provider.replace(
                endpoint=endpoint,
                headers=headers,
                username="sandbox" if provider.username is not None else None,
                password="sandbox" if provider.password is not None else None,
            )
        case _:
            assert_never(provider)
    return with_callback(pointed, listener_url)


def build(
    provider: Provider, message: Message, options: SendOptions, callback_url: str | None = None
) -> tuple[Built, Request | None]:
    """The Built event, and the request to send (None on a dry run)."""
    from kctl.send.resolve import literal_secrets, resolve_request

    request = build_request(provider, message, options.via, options.message_id, callback_url)
    # the curl export keeps references, so it runs without printing any secret
    shown = options.show_secrets
    if options.dry_run:  # needs no secrets: references are shown as written
        masker = Masker() if shown else Masker(literal_secrets(request))
        return Built(request, masker, request, shown, dry_run=True), None
    resolved, masker = resolve_request(request)
    if shown:
        return Built(resolved, Masker(), resolved, True, dry_run=False), resolved
    return Built(resolved, masker, request, False, dry_run=False), resolved


def compose(provider: Provider, message: Message) -> Composed | None:
    """What an SMS send puts in front of the recipient (None for WhatsApp, whose message is
    the payload itself)."""
    match provider:
        case WhatsAppProvider():
            return None
        case SmsProvider():
            text, template = sms_text(provider, message)
            return Composed(text, sms_size(text), sms_dlt(provider, message, text, template))
        case _:
            assert_never(provider)


def run_send_test(
    provider: Provider,
    message: Message,
    options: SendOptions,
    *,
    sandbox: bool = False,
    wait_dlr: float | None = None,
    listen_url: str | None = None,
    listen_port: int = 0,
) -> Generator[Event, None, None]:
    """The events of one send-test; the last one is always ``Finished``."""
    with contextlib.ExitStack() as stack:
        listener: Listener | None = None
        reports_to: str | None = None  # the listener's base URL, as Kaleyra must reach it
        if sandbox:
            from kctl.servers.sandbox import local_pair

            # the config's templates are the ones the sandbox takes as approved
            pair = stack.enter_context(local_pair(provider=provider))
            provider = sandboxed(provider, pair.sandbox_url, pair.listener_url)
            listener, reports_to = pair.listener, pair.listener_url
        elif wait_dlr is not None:
            from kctl.servers.http import HttpServer
            from kctl.servers.listener import Listener

            if listen_url is None:
                _refuse_unreachable_listener(provider, options.via)
            listener = Listener()
            server = stack.enter_context(HttpServer(listener, port=listen_port).start_in_thread())
            reports_to = listen_url or server.url
            original = provider
            provider = with_callback(provider, reports_to)
            replaced = tuple(
                (key, value)
                for (key, value), (_, now) in zip(original.headers, provider.headers, strict=True)
                if value != now
            )
            if options.via is Via.DIRECT:
                replaced += (("callback_url", "(none: a direct send names its own)"),)
            yield CallbacksRedirected(reports_to, replaced)
        callback_url = None
        if options.via is Via.DIRECT and wait_dlr is not None and reports_to is not None:
            callback_url = direct_callback(provider, reports_to)
        yield from _exchange(
            provider,
            message,
            options,
            wait_dlr,
            listener,
            callback_url=callback_url,
            reports_to=None if sandbox else reports_to,
        )


def _refuse_unreachable_listener(provider: Provider, via: Via) -> None:
    """--wait-dlr listens on this machine's loopback: only a sender on this machine can reach
    it without --listen-url. A real adapter or Kaleyra would post the report into the void."""
    from urllib.parse import urlsplit

    from kctl.errors import UsageError
    from kctl.urls import is_loopback_host

    match via:
        case Via.ADAPTER:
            target, what = provider.endpoint, "the endpoint"
        case Via.DIRECT:
            target, what = provider.header("kaleyra-host") or "", "Kaleyra's API"
        case _:
            assert_never(via)
    host = urlsplit(target).hostname or ""
    if is_loopback_host(host):
        return
    raise UsageError(
        f"--wait-dlr: {what} ({host or target}) cannot reach kctl's listener on 127.0.0.1,"
        " so no delivery report would arrive",
        "pass --listen-url with a public URL that forwards to --listen-port (a tunnel), or"
        " use --sandbox to test the whole round trip on this machine",
    )


def direct_callback(provider: Provider, listener_url: str) -> str:
    """Where Kaleyra reports a direct send's status: the listener, which takes Kaleyra's own
    GET callbacks (CleverTap's callback URL would not understand them)."""
    return f"{listener_url.rstrip('/')}/{provider.channel}/kaleyra"


def _exchange(
    provider: Provider,
    message: Message,
    options: SendOptions,
    wait_dlr: float | None,
    listener: Listener | None,
    *,
    callback_url: str | None = None,
    reports_to: str | None = None,
) -> Iterator[Event]:
    from kctl.send.outcome import classify
    from kctl.send.transport import exchange

    built, to_send = build(provider, message, options, callback_url)
    composed = compose(provider, message)
    if composed is not None:
        yield composed
    yield built
    if to_send is None:
        yield Finished(0, "dry run: nothing was sent")
        return
    try:
        response = yield from exchange(
            to_send, timeout=options.timeout, retries=options.retries, verify=options.verify
        )
    except NetworkFailure as e:
        yield SendFailed(e)
        yield Finished(e.exit_code, e.message)
        return
    outcome = classify(response, options.via)
    yield Replied(response, outcome)
    if not (outcome.accepted and wait_dlr is not None and listener is not None):
        yield Finished(outcome.exit_code, outcome.verdict)
        return
    # adapter mode: CleverTap's id, made by kctl; direct mode: the id in Kaleyra's reply
    message_id = built.request.message_id or outcome.message_id
    if not message_id:
        yield Finished(
            DeliveryNotConfirmed.exit_code,
            "the reply carries no message id (id or data[].message_id): no delivery report"
            " can be matched to it",
        )
        return
    yield from _await_report(listener, message_id, wait_dlr, reports_to)


def _missing_hint(seconds: float, reports_to: str | None) -> str:
    if reports_to is None:  # the sandbox reports to its own listener
        return "the sandbox posts its report shortly after the reply: give --wait-dlr a few seconds"
    return (
        f"the report had to come to {reports_to}: check that the provider reaches that URL"
        f" (--listen-url for a tunnel), or wait longer than {seconds:g} s with --wait-dlr"
    )


def _await_report(
    listener: Listener, message_id: str, seconds: float, reports_to: str | None = None
) -> Iterator[Event]:
    from kctl.servers.listener import FINAL_STATUSES

    yield Waiting(message_id, seconds)
    waited = time.monotonic()
    report = listener.await_report(message_id, seconds, statuses=FINAL_STATUSES)
    if report is None:
        yield ReportMissing(seconds, _missing_hint(seconds, reports_to))
        yield Finished(DeliveryNotConfirmed.exit_code, f"no delivery report within {seconds:g} s")
        return
    delivery = report.delivery(message_id, FINAL_STATUSES)
    assert delivery is not None  # await_report matched on it
    arrived = ReportArrived(report, delivery, time.monotonic() - waited)
    yield arrived
    detail = f" (code {delivery.code})" if delivery.code else ""
    code = 0 if arrived.delivered else DeliveryNotConfirmed.exit_code
    yield Finished(code, f"{delivery.status}{detail}")
