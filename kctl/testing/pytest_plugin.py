"""pytest fixtures that stand in for Kaleyra and for CleverTap's callback endpoints.

Installed with kctl (entry point ``pytest11``), so any project's tests can use them::

    def test_my_adapter_forwards(kctl_pair, my_adapter):
        my_adapter.kaleyra_host = kctl_pair.sandbox.url
        my_adapter.send(to=kctl_pair.sandbox.recipient("ok"), ...)
        sent = kctl_pair.sandbox.wait_for_requests(1)[0]
        assert sent.json()["to"] == "919812340000"

* ``kctl_sandbox``: kctl's sandbox (SPEC 4.6) on a free 127.0.0.1 port: ``.url``, the routes
  (``.whatsapp_url``, ``.sms_url``, ``.messages_url(sid)``), every request it answered
  (``.requests``, ``.wait_for_requests(n)``), the messages it accepted (``.messages``,
  ``.wait_for_messages(n)``), the delivery reports it posted (``.callbacks``,
  ``.wait_for_callbacks(n)``), and ``.recipient(outcome)``: a number that makes it fail on
  purpose (``"rate_limited"`` 429, ``"server_error"`` 500, ``"invalid_number"`` failure 2002,
  ``"blacklisted"`` accepted then reported failed).
* ``kctl_listener``: kctl listen (SPEC 4.7): ``.url``, ``.reports``, ``.wait_for_reports(n)``,
  ``.wait_for_report(message_id)``.
* ``kctl_pair``: both, with ``.whatsapp_headers()`` / ``.sms_headers()``: the headers CleverTap
  would send for a provider pointed at them.

Settings per test: ``@pytest.mark.kctl_sandbox(latency=0.2, max_concurrency=10, api_key="k",
sid="S", dlr_delay=0.05)``.

This module is imported by every pytest run wherever kctl is installed, so it imports only
the standard library and pytest; the servers are imported when a fixture first runs.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from kctl.servers.callbacks import CallbackResult
    from kctl.servers.http import HttpRequest, HttpResponse, ServerThread
    from kctl.servers.listener import Listener, Report
    from kctl.servers.sandbox import Accepted, Sandbox

MARKER = "kctl_sandbox"
# what the sandbox does for a recipient, by the last four digits of the number (SPEC 4.6)
OUTCOMES = {
    "ok": "0000",
    "rate_limited": "0429",
    "server_error": "0500",
    "invalid_number": "2002",
    "blacklisted": "1006",
}
DEFAULT_PREFIX = "+91981234"  # a valid Indian mobile range; with 4 digits, a full number
DEFAULT_TIMEOUT = 5.0
SANDBOX_SETTINGS = frozenset({"latency", "max_concurrency", "api_key", "sid", "dlr_delay"})


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers",
        f"{MARKER}(latency=0, max_concurrency=None, api_key=None, sid=None, dlr_delay=0.2):"
        " settings of the kctl_sandbox fixture for this test",
    )


@dataclass(frozen=True, slots=True)
class Exchange:
    """One request the sandbox answered, and its answer."""

    request: HttpRequest
    response: HttpResponse

    @property
    def status(self) -> int:
        return self.response.status

    def json(self) -> Any:
        """The request's body as JSON (a WhatsApp payload)."""
        return self.request.json()

    def form(self) -> dict[str, str]:
        """The request's body as form fields (an SMS request)."""
        return dict(self.request.form())

    def reply(self) -> Any:
        """The sandbox's answer as JSON."""
        import json

        return json.loads(self.response.body)


class _Seen:
    """What a server saw, waitable from the test's thread."""

    def __init__(self) -> None:
        self._state = threading.Condition()
        self._items: list[Any] = []

    def add(self, item: Any) -> None:
        with self._state:
            self._items.append(item)
            self._state.notify_all()

    def items(self) -> list[Any]:
        with self._state:
            return list(self._items)

    def wait(self, count: int, timeout: float, what: str) -> list[Any]:
        with self._state:
            if not self._state.wait_for(lambda: len(self._items) >= count, timeout):
                raise AssertionError(
                    f"{len(self._items)} {what} within {timeout:g} s, expected {count}"
                )
            return list(self._items)

    def wait_for(self, ready: Callable[[], bool], timeout: float) -> bool:
        """Wait until ``ready()``, checked after each item arrives."""
        with self._state:
            return self._state.wait_for(ready, timeout)


class KctlSandbox:
    """The ``kctl_sandbox`` fixture's value."""

    def __init__(self, app: Sandbox, thread: ServerThread, seen: _Seen) -> None:
        self.app = app  # kctl.servers.sandbox.Sandbox: hold(), release(), in_flight, ...
        self._thread = thread
        self._seen = seen
        self.url = thread.url  # http://127.0.0.1:PORT

    @property
    def whatsapp_url(self) -> str:
        from kctl.contract.channels import WHATSAPP

        return self.url + WHATSAPP.adapter_path

    @property
    def sms_url(self) -> str:
        from kctl.contract.channels import SMS

        return self.url + SMS.adapter_path

    def messages_url(self, sid: str = "SANDBOX") -> str:
        """Kaleyra's messages API on the sandbox (direct mode)."""
        from kctl.contract.kaleyra import messages_url

        return messages_url(self.url, sid)

    @staticmethod
    def recipient(outcome: str = "ok", prefix: str = DEFAULT_PREFIX) -> str:
        """A number (E.164, with '+') the sandbox treats as ``outcome``: ``ok``,
        ``rate_limited`` (429), ``server_error`` (500), ``invalid_number`` (failure 2002) or
        ``blacklisted`` (accepted, then reported failed). CleverTap sends it without '+'."""
        try:
            return prefix + OUTCOMES[outcome]
        except KeyError:
            known = ", ".join(OUTCOMES)
            raise ValueError(f"no sandbox outcome {outcome!r}; one of {known}") from None

    @property
    def requests(self) -> list[Exchange]:
        """Every request answered so far, oldest first, refused ones included."""
        return self._seen.items()

    def wait_for_requests(self, count: int, timeout: float = DEFAULT_TIMEOUT) -> list[Exchange]:
        """All requests once ``count`` were answered; AssertionError after ``timeout``."""
        return self._seen.wait(count, timeout, "requests answered")

    @property
    def messages(self) -> list[Accepted]:
        """The messages the sandbox accepted (route, message_id, to, callback_url, fails)."""
        return self.app.messages

    def wait_for_messages(self, count: int, timeout: float = DEFAULT_TIMEOUT) -> list[Accepted]:
        """The accepted messages once ``count`` were accepted; AssertionError after ``timeout``."""
        app = self.app
        # a message is recorded before its request counts as answered, so checking on each
        # answer sees it
        if not self._seen.wait_for(lambda: app.messages_total >= count, timeout):
            raise AssertionError(
                f"{app.messages_total} messages accepted within {timeout:g} s, expected {count}"
            )
        return app.messages

    @property
    def callbacks(self) -> list[CallbackResult]:
        """Delivery reports posted (or refused, or failed), oldest first."""
        return self.app.callbacks

    def wait_for_callbacks(
        self, count: int, timeout: float = DEFAULT_TIMEOUT
    ) -> list[CallbackResult]:
        results = self.app.wait_for_callbacks(count, timeout)
        if self.app.callbacks_total < count:
            raise AssertionError(
                f"{self.app.callbacks_total} delivery reports within {timeout:g} s,"
                f" expected {count}"
            )
        return results


class KctlListener:
    """The ``kctl_listener`` fixture's value."""

    def __init__(self, app: Listener, thread: ServerThread) -> None:
        self.app = app
        self.url = thread.url

    @property
    def reports(self) -> list[Report]:
        """Every callback received, with its verdict (``.ok``, ``.problems``, ``.kind``)."""
        return self.app.reports

    def wait_for_reports(self, count: int, timeout: float = DEFAULT_TIMEOUT) -> list[Report]:
        reports = self.app.wait_for(count, timeout)
        if len(reports) < count:
            raise AssertionError(f"{len(reports)} callbacks within {timeout:g} s, expected {count}")
        return reports

    def wait_for_report(
        self, message_id: str, timeout: float = DEFAULT_TIMEOUT, *, final: bool = True
    ) -> Report:
        """The report about ``message_id`` (a msgId or SMS meta); with ``final``, the one that
        settles it (delivered, read, failed), not WhatsApp's ``sent``."""
        from kctl.servers.listener import FINAL_STATUSES

        report = self.app.await_report(message_id, timeout, FINAL_STATUSES if final else None)
        if report is None:
            raise AssertionError(f"no delivery report for {message_id} within {timeout:g} s")
        return report


@dataclass(frozen=True, slots=True)
class KctlPair:
    """The ``kctl_pair`` fixture's value: a sandbox whose reports go to a listener."""

    sandbox: KctlSandbox
    listener: KctlListener

    def whatsapp_headers(self) -> dict[str, str]:
        """The headers of a WhatsApp provider pointed at this pair, as CleverTap sends them."""
        from kctl.contract.channels import INBOUND_HEADER, WHATSAPP

        return {
            **self._common(),
            INBOUND_HEADER: f"{self.listener.url}/whatsapp/inbound",
            WHATSAPP.report_header: f"{self.listener.url}/whatsapp/dlr",
        }

    def sms_headers(self) -> dict[str, str]:
        from kctl.contract.channels import SMS

        return {**self._common(), SMS.report_header: f"{self.listener.url}/sms/dlr"}

    def _common(self) -> dict[str, str]:
        app = self.sandbox.app
        return {
            "api-key": app.api_key or "sandbox-api-key",
            "sid": app.sid or "SANDBOX",
            "kaleyra-host": f"{self.sandbox.url}/",
        }

    def wait_for_report(
        self, message_id: str, timeout: float = DEFAULT_TIMEOUT, *, final: bool = True
    ) -> Report:
        return self.listener.wait_for_report(message_id, timeout, final=final)


def _sandbox_settings(request: pytest.FixtureRequest) -> dict[str, Any]:
    marker = request.node.get_closest_marker(MARKER)
    settings = dict(marker.kwargs) if marker is not None else {}
    unknown = set(settings) - SANDBOX_SETTINGS
    if unknown or (marker is not None and marker.args):
        known = ", ".join(sorted(SANDBOX_SETTINGS))
        pytest.fail(f"@pytest.mark.{MARKER} takes keyword settings only: {known}", pytrace=False)
    return settings


@pytest.fixture
def kctl_sandbox(request: pytest.FixtureRequest) -> Iterator[KctlSandbox]:
    """kctl's Kaleyra sandbox on a free loopback port, for this test."""
    from kctl.servers.http import HttpServer
    from kctl.servers.sandbox import Sandbox

    seen = _Seen()

    class Recording(Sandbox):
        async def handle(self, request: HttpRequest) -> HttpResponse:
            response = await super().handle(request)
            seen.add(Exchange(request, response))
            return response

    app = Recording(**_sandbox_settings(request))
    with HttpServer(app).start_in_thread() as thread:
        yield KctlSandbox(app, thread, seen)


@pytest.fixture
def kctl_listener() -> Iterator[KctlListener]:
    """kctl listen (CleverTap's callback endpoints) on a free loopback port, for this test."""
    from kctl.servers.http import HttpServer
    from kctl.servers.listener import Listener

    app = Listener()
    with HttpServer(app).start_in_thread() as thread:
        yield KctlListener(app, thread)


@pytest.fixture
def kctl_pair(kctl_sandbox: KctlSandbox, kctl_listener: KctlListener) -> KctlPair:
    """The sandbox and the listener together: send through the sandbox with
    ``whatsapp_headers()`` / ``sms_headers()``, then wait for the report at the listener."""
    return KctlPair(kctl_sandbox, kctl_listener)
