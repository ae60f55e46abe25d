"""What a provider's reply means: accepted, rejected (exit 5) or failed (exit 6).

Pure: a ``Response`` and the send mode in, an ``Outcome`` out. SPEC section 2 (send-test) and
section 4 (wire notes) define the rules:

* adapter (CleverTap's Generic provider contract): accepted when the status is 2xx and the JSON
  body's ``status`` is not ``failure``; a failure carries ``error.code`` 2000..2004.
* direct (Kaleyra's API): accepted when the status is 2xx and the JSON ``error`` object is empty
  or absent.
* either: 401/403 and other 4xx are rejections, 429 (whatever is left after the transport's
  retries) and 5xx are provider errors, a 3xx that reaches here was not followed on purpose.

A 2xx whose body is empty or not JSON is *accepted*: the SPEC's rule only turns a 2xx into a
rejection on an explicit ``status: failure`` (or a non-empty ``error``), and a body that cannot
say "failure" has not said it. It gets a hint, because CleverTap's contract has the endpoint
answer ``{"status":"success"}`` and an adapter that does not is worth fixing.

Bodies are untrusted: invalid JSON, HTML error pages, odd types and deep nesting all classify
without raising.
"""

from __future__ import annotations

import json

from kctl.contract.replies import DEADLINE_S
from kctl.contract.replies import FAILURE_CODES as ADAPTER_CODES
from kctl.errors import KctlError, NetworkFailure, ProviderFailed, ProviderRejected
from kctl.lean import Record
from kctl.send.wire import Response, Via

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Any, Final

MODES = tuple(Via)

EXIT_ACCEPTED = 0
EXIT_REJECTED = ProviderRejected.exit_code  # 5
EXIT_FAILED = ProviderFailed.exit_code  # 6

_CREDENTIALS_HINT = {
    "adapter": "check the api-key and sid headers (and, for SMS, the basic auth username and "
    "password) of the provider config",
    "direct": "check the api-key and that sid belongs to the same account and region as "
    "kaleyra-host",
}
_RATE_HINT = (
    "the provider is rate limiting: lower max_concurrency in the provider config, "
    "or retry later (--retries)"
)
_SERVER_HINT = "the provider failed: retry later; if it persists, report the response to Kaleyra"
_MAX_TEXT = 200  # characters of a provider's message that go into a one-line verdict


class Outcome(Record):
    __slots__ = (
        "accepted",
        "error_code",
        "error_message",
        "exit_code",
        "hint",
        "message_id",
        "verdict",
    )
    accepted: Final[bool]
    exit_code: Final[int]  # 0 accepted, 5 rejected, 6 provider error
    verdict: Final[str]  # one short line for humans
    hint: Final[str | None]
    error_code: Final[int | None]  # the provider's numeric error code, when it gave one
    error_message: Final[str | None]  # the provider's own words, when it gave some
    # direct mode: the id Kaleyra gave the message, which its status callbacks carry back
    message_id: Final[str | None]

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaces
        self,
        accepted: bool,
        exit_code: int,
        verdict: str,
        hint: str | None,
        error_code: int | None,
        error_message: str | None,
        message_id: str | None = None,
    ) -> None:
        self.accepted = accepted
        self.exit_code = exit_code
        self.verdict = verdict
        self.hint = hint
        self.error_code = error_code
        self.error_message = error_message
        self.message_id = message_id


def classify(response: Response, mode: Via | str) -> Outcome:
    """What ``response`` means for a message sent in ``mode`` ("adapter" or "direct").

    In adapter mode the reply is judged as CleverTap judges it: whatever it says, an answer
    later than CleverTap's deadline is a timeout (exit 4), shown with the time it took.
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, not {mode!r}")
    outcome = _classify(response, mode)
    if mode != Via.ADAPTER or response.elapsed <= DEADLINE_S:
        return outcome
    return Outcome(
        accepted=False,
        exit_code=NetworkFailure.exit_code,
        verdict=f"timeout for CleverTap: answered in {response.elapsed:.2f} s; CleverTap gives up"
        f" after {DEADLINE_S:g} s (the late answer: {outcome.verdict})",
        hint="the endpoint must answer within 1 s, at CleverTap's concurrency too (kctl load"
        " measures it); CleverTap counts a late answer as a failed send",
        error_code=outcome.error_code,
        error_message=outcome.error_message,
    )


def _classify(response: Response, mode: Via | str) -> Outcome:
    body = _Body.parse(response)
    err = _ProviderError.find(body.data, mode)
    status = response.status
    http = f"HTTP {status}"
    detail = _detail(err, body, mode)

    if 300 <= status < 400:
        location = response.header("location")
        where = f" to {_one_line(location)}" if location else " without a Location"
        return _rejected(
            f"rejected: {http} redirect{where} (not followed)",
            "set the endpoint to the final URL: kctl follows redirects only to the same scheme, "
            "host and port, and never turns a POST into a GET",
            err,
        )
    if status in (401, 403):
        return _rejected(
            f"rejected: {http} {_reason(response)}{detail}", _CREDENTIALS_HINT[mode], err
        )
    if status == 429:
        retry_after = response.header("retry-after")
        asked = f" (it asked for Retry-After {_one_line(retry_after)})" if retry_after else ""
        return _failed(f"provider error: {http} too many requests{detail}", _RATE_HINT + asked, err)
    if 500 <= status < 600:
        return _failed(f"provider error: {http} {_reason(response)}{detail}", _SERVER_HINT, err)
    if 400 <= status < 500:
        if mode == "adapter" and err.code in ADAPTER_CODES:
            label, hint = ADAPTER_CODES[err.code]
            return _rejected(f"rejected: {err.code} {label} ({http})", hint, err)
        return _rejected(
            f"rejected: {http} {_reason(response)}{detail}",
            "the provider refused the request as sent; see the response body",
            err,
        )
    if not 200 <= status < 300:
        return _failed(f"provider error: unexpected {http}{detail}", _SERVER_HINT, err)

    if mode == "adapter":
        return _classify_adapter_success(http, body, err)
    return _classify_direct_success(http, body, err)


def raise_for_outcome(outcome: Outcome) -> None:
    """Return when accepted; otherwise raise the error whose exit code the outcome carries."""
    if outcome.accepted:
        return
    error: type[KctlError] = (
        ProviderRejected if outcome.exit_code == ProviderRejected.exit_code else ProviderFailed
    )
    raise error(outcome.verdict, outcome.hint)


# --- 2xx ----------------------------------------------------------------------------------------


def _classify_adapter_success(http: str, body: _Body, err: _ProviderError) -> Outcome:
    if body.is_failure:
        if err.code in ADAPTER_CODES:
            label, hint = ADAPTER_CODES[err.code]
            return _rejected(f"rejected: {err.code} {label}", hint, err)
        return _rejected(
            f"rejected: {err.summary}" if err.summary else "rejected: status failure",
            "the adapter answered status failure; CleverTap's contract has it carry error.code "
            "2000..2004 and error.message",
            err,
        )
    contract = 'CleverTap expects the endpoint to answer {"status":"success"}'
    if body.data is None:
        return _accepted(f"accepted ({http}, {body.describe()})", f"{contract}; this one did not")
    if not isinstance(body.data, dict):
        return _accepted(f"accepted ({http}, body is JSON but not an object)", contract)
    status = body.data.get("status")
    if status == "success":
        return _accepted(f"accepted ({http}, status success)", None)
    shown = "no status" if status is None else f"status {_one_line(json.dumps(status))}"
    return _accepted(
        f"accepted ({http}, {shown})",
        f'{contract} (or "failure" with an error); {shown} is neither',
    )


def _classify_direct_success(http: str, body: _Body, err: _ProviderError) -> Outcome:
    if body.data is None:
        return _accepted(
            f"accepted ({http}, {body.describe()})",
            "Kaleyra's API normally answers JSON; check that kaleyra-host is the API domain",
        )
    if not isinstance(body.data, dict):
        return _accepted(f"accepted ({http}, body is JSON but not an object)", None)
    if _has_error(body.data.get("error")):
        return _rejected(
            f"rejected: {err.summary}" if err.summary else f"rejected: {http} with an error object",
            "Kaleyra took the HTTP request but reported an error; see error in the response",
            err,
        )
    message_id = kaleyra_message_id(body.data)
    detail = f"message id {message_id}" if message_id else "no error"
    listed = _listed_message_id(body.data)
    if listed and message_id and listed != message_id:
        detail += f", data[0].message_id {listed}"
    accepted = _accepted(f"accepted ({http}, {detail})", None)
    return accepted.replace(message_id=message_id)


# --- the body -----------------------------------------------------------------------------------


class _Body(Record):
    __slots__ = ("data", "empty", "is_html", "truncated")
    data: Final[Any]  # parsed JSON, or None when empty / not JSON
    empty: Final[bool]
    is_html: Final[bool]
    truncated: Final[bool]

    def __init__(self, data: Any, empty: bool, is_html: bool, truncated: bool) -> None:
        self.data = data
        self.empty = empty
        self.is_html = is_html
        self.truncated = truncated

    @classmethod
    def parse(cls, response: Response) -> _Body:
        raw = response.body
        content_type = (response.header("content-type") or "").lower()
        stripped = raw.strip()
        is_html = "html" in content_type or stripped[:1] == b"<"
        data: Any = None
        if stripped:
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError):  # JSONDecodeError, bad UTF-8, deep nesting
                data = None
        return cls(data, not stripped, is_html, response.truncated)

    @property
    def is_failure(self) -> bool:
        return isinstance(self.data, dict) and self.data.get("status") == "failure"

    def describe(self) -> str:
        """Why there is no JSON to read, for a verdict."""
        if self.empty:
            return "empty body"
        what = "body is not JSON: an HTML page" if self.is_html else "body is not JSON"
        return f"{what}, truncated" if self.truncated else what


class _ProviderError(Record):
    __slots__ = ("code", "message", "summary")
    code: Final[int | None]  # numeric code, when the provider's code is a number
    message: Final[str | None]  # the provider's own words
    summary: Final[str | None]  # code and words on one line, for a verdict

    def __init__(self, code: int | None, message: str | None, summary: str | None) -> None:
        self.code = code
        self.message = message
        self.summary = summary

    @classmethod
    def find(cls, data: Any, mode: str) -> _ProviderError:
        """The adapter's ``error.code/message``; for Kaleyra also its top-level ``code`` and
        ``message``, or an ``error`` that maps fields to messages (``{"to": "Invalid"}``)."""
        if not isinstance(data, dict):
            return cls(None, None, None)
        error = data.get("error")
        code: Any = None
        message: Any = None
        if isinstance(error, dict):
            code, message = error.get("code"), error.get("message")
            if mode == "direct" and code is None and message is None:
                fields = [f"{k}: {_text(v)}" for k, v in error.items() if _text(v)]
                message = "; ".join(fields) or None
        elif isinstance(error, str):
            message = error
        if mode == "direct":
            code = data.get("code") if code is None else code
            message = data.get("message") if message is None else message
        words = _text(message)
        summary = " ".join(p for p in (_text(code), words) if p)
        return cls(_as_int(code), words, summary or None)


def _text(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        return None
    return _one_line(str(value)) or None


def _as_int(value: Any) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.strip().isascii() and value.strip().isdigit():
        return int(value.strip())
    return None


def _has_error(error: Any) -> bool:
    return error not in (None, "", {}, [], False)


def _listed_message_id(data: dict[str, Any]) -> str | None:
    items = data.get("data")
    first = items[0] if isinstance(items, list) and items else items
    value = first.get("message_id") if isinstance(first, dict) else None
    return _one_line(value) if isinstance(value, str) and value.strip() else None


def kaleyra_message_id(data: dict[str, Any]) -> str | None:
    """The message id in a reply of Kaleyra's messages API: the top-level ``id`` (what its
    status callbacks carry back, as courier reads it), else the first ``data[].message_id``
    (SPEC) or ``data[].id`` (a third-party SMS client reads that)."""
    candidates: list[Any] = [data.get("id")]
    items = data.get("data")
    first = items[0] if isinstance(items, list) and items else items
    if isinstance(first, dict):
        candidates += [first.get("message_id"), first.get("id")]
    for value in candidates:
        if isinstance(value, str) and value.strip():
            return _one_line(value)
    return None


def _detail(err: _ProviderError, body: _Body, mode: str) -> str:
    """What the body adds to an HTTP-status verdict: the provider's words, or why there are
    none."""
    if mode == "adapter" and err.code in ADAPTER_CODES:
        return f": {err.code} {ADAPTER_CODES[err.code][0]}"
    if err.summary:
        return f": {err.summary}"
    if body.data is None and not body.empty:
        return f" ({body.describe()})"
    return ""


def _reason(response: Response) -> str:
    return _one_line(response.reason) if response.reason else ""


def _one_line(text: str) -> str:
    flat = " ".join(text.split())
    return flat if len(flat) <= _MAX_TEXT else flat[: _MAX_TEXT - 1] + "…"


def _accepted(verdict: str, hint: str | None) -> Outcome:
    return Outcome(True, EXIT_ACCEPTED, verdict, hint, None, None)


def _rejected(verdict: str, hint: str, err: _ProviderError) -> Outcome:
    return Outcome(False, EXIT_REJECTED, " ".join(verdict.split()), hint, err.code, err.message)


def _failed(verdict: str, hint: str, err: _ProviderError) -> Outcome:
    return Outcome(False, EXIT_FAILED, " ".join(verdict.split()), hint, err.code, err.message)
