"""How much load, and in which steps: bounds, defaults and the ramp. Pure.

A ramp climbs by doubling (or by ``--step``) until a step does not hold (p99 at or over
CleverTap's 1 s, a 429 or 5xx, a broken connection), then bisects between the last step that
held and the first that did not, so the recommendation lands near the real limit without
walking to it in small steps. Nothing above a failed step is sent: once the endpoint is
overloaded, more load only costs time and tells nothing new.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kctl.contract import forms
from kctl.errors import UsageError

# CleverTap sends at most this many requests at once (when the form's field is left empty),
# and the range the form's "Maximum Concurrent API requests" takes
CLEVERTAP_MAX = forms.UNLIMITED_CONCURRENCY
FORM_MIN, FORM_MAX = forms.CONCURRENCY_MIN, forms.CONCURRENCY_MAX

MAX_REQUESTS = 100_000  # per step
MIN_DEFAULT_REQUESTS = 300
WAVES = 3  # default requests per step: three per connection, so every connection is reused
DEFAULT_DURATION = 30.0  # seconds per step at most
MAX_DURATION = 300.0
DEFAULT_TIMEOUT = 5.0  # how long a request may wait for any answer (CleverTap waits 1 s)
MAX_TIMEOUT = 30.0
MAX_STEPS = 20
REFINE = 3  # bisection steps after the first step that does not hold

_RAMP = re.compile(r"\s*([0-9]{1,6})\s*(?:\.\.|-|:)\s*([0-9]{1,6})\s*")


def check_concurrency(value: int, flag: str = "--concurrency") -> int:
    if not 1 <= value <= CLEVERTAP_MAX:
        raise UsageError(
            f"{flag} {value} is outside 1..{CLEVERTAP_MAX}",
            f"CleverTap sends at most {CLEVERTAP_MAX} requests at once",
        )
    return value


def parse_ramp(text: str) -> tuple[int, int]:
    """``30..1500`` as (30, 1500)."""
    match = _RAMP.fullmatch(text)
    if match is None:
        raise UsageError(f"--ramp {text!r} is not LOW..HIGH", "for example --ramp 30..1500")
    low, high = int(match.group(1)), int(match.group(2))
    check_concurrency(low, "--ramp")
    check_concurrency(high, "--ramp")
    if low >= high:
        raise UsageError(f"--ramp {text}: LOW must be below HIGH")
    return low, high


def ramp_steps(low: int, high: int, step: int | None = None) -> tuple[int, ...]:
    """The climb: ``low`` doubling (or growing by ``step``) up to ``high``, which is always the
    last step. A doubling that would leave a last step less than half a step above it goes
    straight to ``high`` (30..1000: 30, 60, 120, 240, 480, 1000)."""
    if step is not None and step < 1:
        raise UsageError(f"--step must be at least 1, not {step}")
    steps = [low]
    while steps[-1] < high:
        current = steps[-1]
        following = current + step if step is not None else current * 2
        if following >= high or (step is None and high < following * 1.5):
            following = high
        steps.append(following)
    if len(steps) > MAX_STEPS:
        raise UsageError(
            f"that ramp has {len(steps)} steps; at most {MAX_STEPS}",
            "use a larger --step, or leave it out to double each step",
        )
    return tuple(steps)


def between(good: int, bad: int) -> int | None:
    """A concurrency halfway from one that held to one that did not, on a round number (a
    multiple of 10, or of 5 when they are close); None when they are already within 10% (or 5)
    of each other."""
    gap = bad - good
    if gap <= max(5, good // 10):
        return None
    unit = 10 if gap >= 40 else 5 if gap >= 10 else 1
    middle = round((good + bad) / 2 / unit) * unit
    return middle if good < middle < bad else None


def step_requests(requests: int | None, concurrency: int) -> int:
    """Requests for a step: as asked, but never fewer than the concurrency (a step that cannot
    put that many requests in flight does not measure it)."""
    if requests is None:
        requests = max(MIN_DEFAULT_REQUESTS, WAVES * concurrency)
    return min(max(requests, concurrency), MAX_REQUESTS)


@dataclass
class Ramp:
    """Which concurrency to try next, given how the earlier steps went."""

    climb: tuple[int, ...]
    refine: int = REFINE
    held: int | None = None  # the highest concurrency that held
    failed: int | None = None  # the lowest that did not
    _next: int = 0
    _refined: int = 0
    tried: list[int] = field(default_factory=list)

    def next(self) -> int | None:
        if self.failed is None:
            if self._next >= len(self.climb):
                return None
            self._next += 1
            return self.climb[self._next - 1]
        if self.held is None or self._refined >= self.refine:
            return None
        self._refined += 1
        return between(self.held, self.failed)

    def record(self, concurrency: int, holds: bool) -> None:
        self.tried.append(concurrency)
        if holds:
            self.held = max(concurrency, self.held or 0)
        else:
            self.failed = concurrency if self.failed is None else min(concurrency, self.failed)
