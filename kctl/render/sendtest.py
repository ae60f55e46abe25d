"""send-test's events as streamed text, one JSON document, a curl command or a JUnit report.

Each renderer consumes the events of ``kctl.send.run`` in order; the text renderer writes as
they come (so a retry shows while it waits), the others write once at the end.
"""

from __future__ import annotations

import json
import time

from kctl.lean import assert_never
from kctl.render.escape import escape_untrusted
from kctl.render.exchange import exchange_document, format_reply, format_request
from kctl.render.smsinfo import dlt_data, size_data, size_text
from kctl.render.term import DIM, paint
from kctl.secrets import Masker
from kctl.send.run import (
    Built,
    CallbacksRedirected,
    Composed,
    Event,
    Finished,
    Replied,
    ReportArrived,
    ReportMissing,
    SendFailed,
    Waiting,
)
from kctl.send.wire import Retrying

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import IO, Any


class TextRenderer:
    """The human printout, like httpie: request, reply, verdict, delivery report."""

    def __init__(
        self, out: IO[str], *, color: bool = False, verbose: bool = False, curl: bool = False
    ) -> None:
        self.out = out
        self.color = color
        self.verbose = verbose
        self.curl = curl
        self.masker = Masker()

    def write(self, text: str) -> None:
        self.out.write(text)
        self.out.flush()

    def __call__(self, event: Event) -> None:
        match event:
            case Composed():
                self.write(_composed_text(event))
            case Built():
                self.masker = event.masker
                if self.curl:
                    self.write(event.masker.mask_text(event.curl) + "\n\n")
                self.write(
                    format_request(
                        event.request, event.masker, color=self.color, dry_run=event.dry_run
                    )
                )
            case Retrying():
                self.write(
                    paint(
                        f"retrying in {event.wait_s:g} s: {event.reason},"
                        f" attempt {event.attempt}/{event.attempts}\n",
                        DIM,
                        self.color,
                    )
                )
            case Replied():
                self.write(
                    format_reply(
                        event.response,
                        event.outcome,
                        self.masker,
                        verbose=self.verbose,
                        color=self.color,
                    )
                )
            case SendFailed() | Finished():
                pass  # a failed send ends in one error line from the entry point
            case Waiting():
                self.write(
                    f"\nwaiting up to {event.seconds:g} s for the delivery report"
                    f" of {event.message_id}\n"
                )
            case CallbacksRedirected():
                self.write(_redirect_text(event, self.masker))
            case ReportMissing():
                self.write(f"✗ no delivery report within {event.seconds:g} s\n")
                if event.hint:
                    self.write(f"  hint: {event.hint}\n")
            case ReportArrived():
                self.write(_report_text(event))
            case _:
                assert_never(event)


def _composed_text(event: Composed) -> str:
    # the verdict quotes the text, which came from the command line or a file
    lines = [f"SMS: {size_text(event.size)}"]
    if event.dlt is not None:
        lines.append(f"DLT: {event.dlt.note}")
    return "".join(escape_untrusted(line) + "\n" for line in lines) + "\n"


def _redirect_text(event: CallbacksRedirected, masker: Masker) -> str:
    lines = [
        f"note: --wait-dlr: for this send the callbacks point at kctl's listener,"
        f" {event.listener_url}, instead of the config's:"
    ]
    lines += [f"  {name}: {masker.mask_text(value)}" for name, value in event.replaced]
    lines.append(
        "  hint: CleverTap never sees this report; to test the config's own URLs, run without"
        " --wait-dlr and watch CleverTap"
    )
    return "\n".join(lines) + "\n"


def _report_text(event: ReportArrived) -> str:
    delivery = event.delivery
    detail = f" (code {delivery.code})" if delivery.code else ""
    lines = [f"delivery report after {event.after_s:.1f} s:"]
    lines += json.dumps(event.report.payload, indent=2, ensure_ascii=False).splitlines()
    lines += [f"note: {p.path}: {p.message}" for p in event.report.problems]
    mark = "✓" if event.delivered else "✗"
    lines.append(
        f"{mark} {delivery.status}{detail}"
        + (f": {delivery.description}" if delivery.description else "")
    )
    return "\n".join(lines) + "\n"


class CurlRenderer:
    """--curl: the curl command alone, so ``kctl send-test ... --curl > send.sh`` is a script."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def __call__(self, event: Event) -> None:
        if isinstance(event, Built):
            self.out.write(event.masker.mask_text(event.curl) + "\n")
            self.out.flush()


class JsonRenderer:
    """Collects the events into one JSON document, written by ``finish``."""

    def __init__(self, out: IO[str], *, curl: bool = False) -> None:
        self.out = out
        self.curl = curl
        self.built: Built | None = None
        self.replied: Replied | None = None
        self.extra: dict[str, Any] = {}

    def __call__(self, event: Event) -> None:
        match event:
            case Composed():
                self.extra["sms"] = {
                    **size_data(event.size),
                    "text": event.text,
                    "dlt": dlt_data(event.dlt),
                }
            case Built():
                self.built = event
                if self.curl:
                    self.extra["curl"] = event.masker.mask_text(event.curl)
            case Replied():
                self.replied = event
            case SendFailed():
                self.extra["error"] = {"message": event.error.message, "hint": event.error.hint}
            case CallbacksRedirected():
                self.extra["callbacks_redirected"] = {
                    "listener_url": event.listener_url,
                    "replaced": [name for name, _ in event.replaced],
                }
            case ReportMissing():
                self.extra["delivery_report"] = {
                    "received": False,
                    "waited_s": event.seconds,
                    "hint": event.hint,
                }
            case ReportArrived():
                self.extra["delivery_report"] = {
                    "received": True,
                    "status": event.delivery.status,
                    "code": event.delivery.code,
                    "after_s": round(event.after_s, 3),
                    "report": event.report.to_json(),
                }
            case Finished():
                self.extra["exit_code"] = event.exit_code
                self.finish()
            case Retrying() | Waiting():
                pass  # the response's notes say how many attempts it took
            case _:
                assert_never(event)

    def finish(self) -> None:
        built = self.built
        if built is None:
            return
        self.out.write(
            exchange_document(
                built.request,
                self.replied.response if self.replied else None,
                self.replied.outcome if self.replied else None,
                built.masker,
                dry_run=built.dry_run,
                extra=self.extra,
            )
        )
        self.out.flush()


class JunitRenderer:
    """A one-test JUnit report for CI dashboards: the text printout, failed unless exit 0."""

    def __init__(self, name: str) -> None:
        import io

        self.name = name
        self.started = time.monotonic()
        self.buffer = io.StringIO()
        self.text = TextRenderer(self.buffer)
        self.finished: Finished | None = None

    def __call__(self, event: Event) -> None:
        self.text(event)
        if isinstance(event, SendFailed):
            self.buffer.write(f"✗ {event.error.message}\n")
        if isinstance(event, Finished):
            self.finished = event

    def document(self) -> str:
        from kctl.render.junit import Case, Failure, Suite, junit_document

        seconds = time.monotonic() - self.started
        transcript = self.text.masker.mask_text(self.buffer.getvalue())
        code = self.finished.exit_code if self.finished else 1
        verdict = self.finished.verdict if self.finished else "interrupted"
        failure = Failure(verdict, f"exit {code}", transcript) if code else None
        case = Case(
            self.name,
            "kctl.send-test",
            failure=failure,
            output=None if code else transcript,
            seconds=seconds,
        )
        return junit_document("kctl send-test", [Suite("kctl send-test", [case], seconds)])
