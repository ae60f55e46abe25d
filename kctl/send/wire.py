"""The values that cross the wire: a request built by pure functions, and what came back.

``--dry-run``, ``--curl``, ``--json`` and a real send all start from the same ``Request``.
"""

from __future__ import annotations

from enum import StrEnum

from kctl.lean import Record

TYPE_CHECKING = False  # not typing's: every send imports this module
if TYPE_CHECKING:
    from typing import Final


class Via(StrEnum):
    """Where send-test sends: as CleverTap does (the provider's HTTP End Point), or straight to
    Kaleyra's API (to tell an account problem from an adapter problem)."""

    ADAPTER = "adapter"
    DIRECT = "direct"


class Request(Record):
    __slots__ = (
        "basic_auth",
        "body",
        "content_type",
        "headers",
        "label",
        "message_id",
        "method",
        "url",
    )
    method: Final[str]
    url: Final[str]
    # in order; values may hold ${...} secret references until ``resolve_request`` runs
    headers: Final[tuple[tuple[str, str], ...]]
    body: Final[bytes]
    content_type: Final[str]
    basic_auth: Final[tuple[str, str] | None]  # (username, password), possibly references
    # the id a delivery report must echo (WhatsApp msgId, SMS message_id); "" when none
    message_id: Final[str]
    # what the request is, for humans: "adapter whatsapp", "direct sms", ...
    label: Final[str]

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaces
        self,
        method: str,
        url: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        content_type: str,
        basic_auth: tuple[str, str] | None = None,
        message_id: str = "",
        label: str = "",
    ) -> None:
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.content_type = content_type
        self.basic_auth = basic_auth
        self.message_id = message_id
        self.label = label

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


class Response(Record):
    __slots__ = (
        "attempts",
        "body",
        "elapsed",
        "headers",
        "http_version",
        "notes",
        "reason",
        "status",
        "truncated",
    )
    status: Final[int]
    reason: Final[str]
    http_version: Final[str]
    headers: Final[tuple[tuple[str, str], ...]]
    body: Final[bytes]  # at most the transport's cap
    truncated: Final[bool]  # the body was longer than the cap
    elapsed: Final[float]  # seconds, last attempt
    attempts: Final[int]
    # things the user should know about how the answer was reached (redirects, retries)
    notes: Final[tuple[str, ...]]

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaces
        self,
        status: int,
        reason: str,
        http_version: str,
        headers: tuple[tuple[str, str], ...],
        body: bytes,
        truncated: bool,
        elapsed: float,
        attempts: int = 1,
        notes: tuple[str, ...] = (),
    ) -> None:
        self.status = status
        self.reason = reason
        self.http_version = http_version
        self.headers = headers
        self.body = body
        self.truncated = truncated
        self.elapsed = elapsed
        self.attempts = attempts
        self.notes = notes

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


class Retrying(Record):
    """An attempt got no usable answer; attempt ``attempt`` of ``attempts`` follows ``wait_s``
    seconds from now."""

    __slots__ = ("attempt", "attempts", "reason", "wait_s")
    attempt: Final[int]
    attempts: Final[int]
    wait_s: Final[float]
    reason: Final[str]  # "connection refused", "HTTP 429 (Retry-After)", ...

    def __init__(self, attempt: int, attempts: int, wait_s: float, reason: str) -> None:
        self.attempt = attempt
        self.attempts = attempts
        self.wait_s = wait_s
        self.reason = reason
