"""The values that cross the wire: a request built by pure functions, and what came back.

``--dry-run``, ``--curl``, ``--json`` and a real send all start from the same ``Request``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class Via(StrEnum):
    """Where send-test sends: as CleverTap does (the provider's HTTP End Point), or straight to
    Kaleyra's API (to tell an account problem from an adapter problem)."""

    ADAPTER = "adapter"
    DIRECT = "direct"


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    url: str
    # in order; values may hold ${...} secret references until ``resolve_request`` runs
    headers: tuple[tuple[str, str], ...]
    body: bytes
    content_type: str
    basic_auth: tuple[str, str] | None = None  # (username, password), possibly references
    # the id a delivery report must echo (WhatsApp msgId, SMS message_id); "" when none
    message_id: str = ""
    # what the request is, for humans: "adapter whatsapp", "direct sms", ...
    label: str = ""

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    reason: str
    http_version: str
    headers: tuple[tuple[str, str], ...]
    body: bytes  # at most the transport's cap
    truncated: bool  # the body was longer than the cap
    elapsed: float  # seconds, last attempt
    attempts: int = 1
    # things the user should know about how the answer was reached (redirects, retries)
    notes: tuple[str, ...] = field(default=())

    def header(self, name: str) -> str | None:
        lowered = name.lower()
        return next((v for k, v in self.headers if k.lower() == lowered), None)


@dataclass(frozen=True, slots=True)
class Retrying:
    """An attempt got no usable answer; attempt ``attempt`` of ``attempts`` follows ``wait_s``
    seconds from now."""

    attempt: int
    attempts: int
    wait_s: float
    reason: str  # "connection refused", "HTTP 429 (Retry-After)", ...
