"""The ``Check`` value every doctor module yields, and the exit codes a failed one carries."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal

from kctl.errors import NetworkFailure, SecretUnavailable, UsageError

Status = Literal["ok", "warn", "fail", "skip"]

# a required package is missing or broken: kctl cannot work, which is no more specific than 1
BROKEN_INSTALL = 1
BAD_SETTING = UsageError.exit_code  # what send-test exits with for the same setting
NO_SECRET = SecretUnavailable.exit_code
NO_NETWORK = NetworkFailure.exit_code


@dataclass(frozen=True, slots=True)
class Check:
    """One finding: ``fail`` carries the exit code SPEC section 3 gives its cause."""

    name: str
    status: Status
    detail: str
    hint: str | None = None
    exit_code: int = 0
    # values this check saw that must never be shown; render_checks masks them everywhere
    secrets: tuple[str, ...] = field(default=(), repr=False, compare=False)


def overall_exit_code(checks: Iterable[Check]) -> int:
    """The highest exit code among ``checks``: 0 when nothing failed."""
    return max((c.exit_code for c in checks), default=0)


def seconds(value: float) -> str:
    return f"{value:g} s"


def ms_since(started: float) -> str:
    """Milliseconds since ``started`` (a ``time.monotonic()`` reading), for a detail."""
    return f"{(time.monotonic() - started) * 1000:.0f} ms"
