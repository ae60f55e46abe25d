"""send-test: pick the provider, build the request, resolve secrets, send, classify.

Build, then send: the same ``Request`` value feeds --dry-run, --curl, --json and a real send.
"""

from __future__ import annotations

import contextlib
import json
import time
from dataclasses import dataclass, field, replace
from typing import IO, TYPE_CHECKING, Any

from kctl.config.model import Provider
from kctl.errors import DeliveryNotConfirmed
from kctl.secrets import Masker, parse_reference
from kctl.send.build import (
    Message,
    build_request,
    curl_command,
    literal_secrets,
    new_message_id,
    resolve_request,
)
from kctl.send.outcome import Outcome
from kctl.send.wire import Request, Response

if TYPE_CHECKING:
    from kctl.servers.listener import Listener


@dataclass(frozen=True, slots=True)
class SendOptions:
    via: str = "adapter"  # adapter | direct
    dry_run: bool = False
    timeout: float = 10.0
    retries: int = 2
    verify: bool | str = True  # or a CA bundle path
    show_secrets: bool = False
    message_id: str = field(default_factory=new_message_id)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request ready to go: what to show, what to send, and how to mask both."""

    shown: Request  # secrets resolved only when they will be sent
    to_send: Request | None  # None on a dry run
    masker: Masker
    curl: str


def prepare(provider: Provider, message: Message, options: SendOptions) -> Prepared:
    request = build_request(provider, message, options.via, options.message_id)
    # the curl export keeps references, so it runs without printing any secret
    curl = curl_command(request, show_secrets=options.show_secrets)
    if options.dry_run:  # needs no secrets: references are shown as written
        masker = Masker() if options.show_secrets else Masker(literal_secrets(request))
        return Prepared(request, None, masker, curl)
    resolved, masker = resolve_request(request)
    if options.show_secrets:
        return Prepared(resolved, resolved, Masker(), curl_command(resolved, show_secrets=True))
    return Prepared(resolved, resolved, masker, curl)


def deliver(prepared: Prepared, options: SendOptions) -> tuple[Response, Outcome]:
    from kctl.send.outcome import classify
    from kctl.send.transport import send

    assert prepared.to_send is not None, "a dry run sends nothing"
    response = send(
        prepared.to_send, timeout=options.timeout, retries=options.retries, verify=options.verify
    )
    return response, classify(response, options.via)


SANDBOX_API_KEY = "sandbox-api-key"
SANDBOX_SID = "SANDBOX"
CALLBACK_HEADERS = {
    "whatsapp": ("delivery-report-callback-url", "/whatsapp/dlr"),
    "sms": ("callback_url", "/sms/dlr"),
}


def with_callback(provider: Provider, listener_url: str) -> Provider:
    """The provider with its delivery report callback pointed at ``listener_url``."""
    name, path = CALLBACK_HEADERS[provider.channel]
    base = listener_url.rstrip("/")
    pointed = {name: base + path, "inbound-message-callback-url": base + "/whatsapp/inbound"}
    headers = tuple((key, pointed.get(key, value)) for key, value in provider.headers)
    return replace(provider, headers=headers)


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

    pointed = replace(
        provider,
        endpoint=f"{sandbox_url.rstrip('/')}/{provider.channel}",
        headers=tuple((key, sandbox_value(key, value)) for key, value in provider.headers),
        username="sandbox" if provider.username is not None else None,
        password="sandbox" if provider.password is not None else None,
    )
    return with_callback(pointed, listener_url)


class SendTest:
    """One send-test run, written to an injected stream (text, or one JSON document)."""

    def __init__(
        self,
        provider: Provider,
        message: Message,
        options: SendOptions,
        *,
        out: IO[str],
        as_json: bool = False,
        curl: bool = False,
        verbose: bool = False,
        color: bool = False,
    ) -> None:
        self.provider = provider
        self.message = message
        self.options = options
        self.out = out
        self.as_json = as_json
        self.curl = curl
        self.verbose = verbose
        self.color = color
        self.transcript: list[str] = []
        self.verdict = ""
        self.started = time.monotonic()

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()
        self.transcript.append(text)

    def execute(
        self,
        *,
        sandbox: bool = False,
        wait_dlr: float | None = None,
        listen_url: str | None = None,
        listen_port: int = 0,
    ) -> int:
        with contextlib.ExitStack() as stack:
            provider, listener = self.provider, None
            if sandbox:
                from kctl.servers.sandbox import local_pair

                pair = stack.enter_context(local_pair())
                provider = sandboxed(provider, pair.sandbox_url, pair.listener_url)
                listener = pair.listener
            elif wait_dlr is not None:
                from kctl.servers.http import HttpServer
                from kctl.servers.listener import Listener

                listener = Listener()
                server = stack.enter_context(
                    HttpServer(listener, port=listen_port).start_in_thread()
                )
                provider = with_callback(provider, listen_url or server.url)
            code = self.send(provider, wait_dlr, listener)
        return code

    def send(self, provider: Provider, wait_dlr: float | None, listener: Listener | None) -> int:
        from kctl.errors import NetworkFailure
        from kctl.render.exchange import exchange_document, format_reply, format_request

        prepared = prepare(provider, self.message, self.options)
        masker = prepared.masker
        extra: dict[str, Any] = {"curl": masker.mask_text(prepared.curl)} if self.curl else {}
        if self.curl and not self.as_json:
            self.write(masker.mask_text(prepared.curl) + "\n\n")
        if self.options.dry_run:
            self.verdict = "dry run: nothing was sent"
            if self.as_json:
                self.write(
                    exchange_document(prepared.shown, None, None, masker, dry_run=True, extra=extra)
                )
            else:
                self.write(format_request(prepared.shown, masker, color=self.color, dry_run=True))
            return 0
        if not self.as_json:
            self.write(format_request(prepared.shown, masker, color=self.color))
        try:
            response, outcome = deliver(prepared, self.options)
        except NetworkFailure as e:
            self.verdict = e.message
            if not self.as_json:
                raise
            extra["error"] = {"message": e.message, "hint": e.hint}
            extra["exit_code"] = e.exit_code
            self.write(exchange_document(prepared.shown, None, None, masker, extra=extra))
            return e.exit_code
        self.verdict = outcome.verdict
        code = outcome.exit_code
        if not self.as_json:
            self.write(
                format_reply(response, outcome, masker, verbose=self.verbose, color=self.color)
            )
        if outcome.accepted and wait_dlr is not None and listener is not None:
            code, dlr = self.wait_for_report(listener, prepared.shown.message_id, wait_dlr)
            extra["delivery_report"] = dlr
        if self.as_json:
            extra["exit_code"] = code  # the delivery report may have decided it
            self.write(exchange_document(prepared.shown, response, outcome, masker, extra=extra))
        return code

    def wait_for_report(
        self, listener: Listener, message_id: str, seconds: float
    ) -> tuple[int, dict[str, Any]]:
        from kctl.servers.listener import FINAL_STATUSES

        if not self.as_json:
            self.write(f"\nwaiting up to {seconds:g} s for the delivery report of {message_id}\n")
        waited = time.monotonic()
        report = listener.await_report(message_id, seconds, statuses=FINAL_STATUSES)
        elapsed = time.monotonic() - waited
        if report is None:
            self.verdict = f"no delivery report within {seconds:g} s"
            if not self.as_json:
                self.write(f"✗ {self.verdict}\n")
            return DeliveryNotConfirmed.exit_code, {"received": False, "waited_s": seconds}
        delivery = report.delivery(message_id, FINAL_STATUSES)
        assert delivery is not None  # await_report matched on it
        ok = delivery.status in ("delivered", "read")
        detail = f" (code {delivery.code})" if delivery.code else ""
        self.verdict = f"{delivery.status}{detail}"
        if not self.as_json:
            lines = [f"delivery report after {elapsed:.1f} s:"]
            lines += json.dumps(report.payload, indent=2, ensure_ascii=False).splitlines()
            lines += [f"note: {p.path}: {p.message}" for p in report.problems]
            mark = "✓" if ok else "✗"
            lines.append(
                f"{mark} {delivery.status}{detail}"
                + (f": {delivery.description}" if delivery.description else "")
            )
            self.write("\n".join(lines) + "\n")
        summary = {
            "received": True,
            "status": delivery.status,
            "code": delivery.code,
            "after_s": round(elapsed, 3),
            "report": report.to_json(),
        }
        return (0 if ok else DeliveryNotConfirmed.exit_code), summary

    def junit_report(self, code: int) -> str:
        """A one-test JUnit document for CI dashboards."""
        from xml.sax.saxutils import escape, quoteattr

        from kctl.render.findings import xml_safe

        name = f"{self.provider.nickname} {self.provider.channel} to {self.message.to}"
        text = escape(xml_safe("".join(self.transcript)))
        seconds = time.monotonic() - self.started
        body = f"<system-out>{text}</system-out>"
        if code:
            body = (
                f'<failure message={quoteattr(xml_safe(self.verdict))} type="exit {code}">'
                f"{text}</failure>"
            )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            f'<testsuites name="kctl send-test" tests="1" failures="{1 if code else 0}">\n'
            f'  <testsuite name="kctl send-test" tests="1" failures="{1 if code else 0}"'
            f' time="{seconds:.3f}">\n'
            f'    <testcase classname="kctl.send-test" name={quoteattr(xml_safe(name))}'
            f' time="{seconds:.3f}">{body}</testcase>\n'
            "  </testsuite>\n</testsuites>\n"
        )
