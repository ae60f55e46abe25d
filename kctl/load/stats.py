"""What one load step measured, judged as CleverTap judges each answer. Pure.

Every request sent ends in exactly one bucket, CleverTap's deadline first (as ``classify``
does for send-test):

* ``timeout``: no answer within CleverTap's 1 s, whatever came later (or nothing did);
* ``2xx``: a 2xx answer in time that CleverTap accepts;
* ``429`` and ``5xx``: the provider's overload answers, in time;
* ``other``: anything else in time: a 4xx, ``status: failure``, a redirect, a broken
  connection. Its reasons are kept, counted, for the report.

Latency is counted over the requests that got an answer or waited out ``--timeout``; one that
got no answer has no latency, and a percentile that falls on one is ``None`` (shown as "no
answer"). Connection failures have no latency either: nothing answered.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from kctl.contract.replies import DEADLINE_S

TWO_XX = "2xx"
RATE_LIMITED = "429"
SERVER_ERROR = "5xx"
TIMEOUT = "timeout"
OTHER = "other"
BUCKETS = (TWO_XX, RATE_LIMITED, SERVER_ERROR, TIMEOUT, OTHER)

# the exit code each bucket stands for (SPEC 3); a run's code is its most severe bucket's
BUCKET_EXIT = {TWO_XX: 0, TIMEOUT: 4, OTHER: 5, RATE_LIMITED: 6, SERVER_ERROR: 6}
CONNECTION_EXIT = 4  # "other" from a broken connection is a network failure, not a rejection

# histogram edges in seconds, anchored on the deadline so the 1 s line always falls on an edge
EDGES = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 1.5, 2.5, 5.0, 10.0)
MAX_REASONS = 5  # distinct reasons listed per step; the rest are summed under "more"


@dataclass(frozen=True, slots=True)
class Bin:
    upper: float | None  # the bin holds latencies above the previous bin's, up to this one
    count: int


@dataclass(frozen=True, slots=True)
class Latency:
    p50: float | None
    p95: float | None
    p99: float | None
    max: float | None
    answered: int  # requests with a latency (an answer, late or not)
    unanswered: int  # requests that waited out --timeout


@dataclass(frozen=True, slots=True)
class StepResult:
    concurrency: int
    planned: int  # requests the step meant to send
    sent: int
    elapsed: float  # seconds from the first request to the last answer
    counts: dict[str, int]  # by bucket, every bucket present
    reasons: tuple[tuple[str, int], ...]  # why "other" (and timeouts), most frequent first
    latency: Latency
    within_deadline: float  # share of requests sent that CleverTap counts as answered in time
    histogram: tuple[Bin, ...]
    stopped: str  # "requests" (all sent), "duration" (time ran out), "interrupted"
    connection_failures: int  # the part of "other" where no HTTP answer came

    @property
    def throughput(self) -> float:
        """Answers per second (late ones included)."""
        return self.latency.answered / self.elapsed if self.elapsed > 0 else 0.0

    @property
    def late(self) -> int:
        """Answers that came after the deadline, within --timeout."""
        return self.counts[TIMEOUT] - self.latency.unanswered

    @property
    def holds(self) -> bool:
        """Whether this concurrency is one to recommend: p99 under the deadline, no 429 or 5xx,
        no broken connections. A rejection does not count against it: it says the payload or
        the account is wrong, not that the endpoint is overloaded."""
        p99 = self.latency.p99
        return (
            self.sent > 0
            and p99 is not None
            and p99 < DEADLINE_S
            and self.counts[RATE_LIMITED] == 0
            and self.counts[SERVER_ERROR] == 0
            and self.connection_failures == 0
        )

    @property
    def exit_code(self) -> int:
        """The most severe outcome's code: 6 (429/5xx) over 5 (rejected) over 4 (timeouts,
        broken connections) over 0."""
        codes = [BUCKET_EXIT[b] for b in BUCKETS if self.counts[b]]
        if self.connection_failures:
            codes.append(CONNECTION_EXIT)
            if self.connection_failures == self.counts[OTHER]:
                codes.remove(BUCKET_EXIT[OTHER])
        return max(codes, default=0)


class Tally:
    """Collects one step's outcomes as they happen (on one event loop: no locking)."""

    def __init__(self, concurrency: int, planned: int) -> None:
        self.concurrency = concurrency
        self.planned = planned
        self.counts = dict.fromkeys(BUCKETS, 0)
        self.latencies: list[float] = []
        self.unanswered = 0
        self.connection_failures = 0
        self.reasons: Counter[str] = Counter()

    @property
    def done(self) -> int:
        return sum(self.counts.values())

    def answered(self, bucket: str, seconds: float, reason: str | None = None) -> None:
        self.counts[bucket] += 1
        self.latencies.append(seconds)
        if reason is not None:
            self.reasons[reason] += 1

    def no_answer(self, reason: str) -> None:
        self.counts[TIMEOUT] += 1
        self.unanswered += 1
        self.reasons[reason] += 1

    def broken(self, reason: str) -> None:
        self.counts[OTHER] += 1
        self.connection_failures += 1
        self.reasons[reason] += 1

    def result(self, elapsed: float, stopped: str) -> StepResult:
        ordered = sorted(self.latencies)
        sent = self.done
        in_time = self.counts[TWO_XX] + self.counts[RATE_LIMITED] + self.counts[SERVER_ERROR]
        in_time += self.counts[OTHER] - self.connection_failures
        return StepResult(
            concurrency=self.concurrency,
            planned=self.planned,
            sent=sent,
            elapsed=elapsed,
            counts=dict(self.counts),
            reasons=top_reasons(self.reasons),
            latency=latency(ordered, self.unanswered),
            within_deadline=in_time / sent if sent else 0.0,
            histogram=histogram(ordered),
            stopped=stopped,
            connection_failures=self.connection_failures,
        )


def top_reasons(reasons: Counter[str]) -> tuple[tuple[str, int], ...]:
    common = reasons.most_common()
    shown = common[:MAX_REASONS]
    rest = sum(n for _, n in common[MAX_REASONS:])
    if rest:
        shown.append((f"{len(common) - MAX_REASONS} more reason(s)", rest))
    return tuple(shown)


def percentile(ordered: Sequence[float], unanswered: int, share: float) -> float | None:
    """Nearest-rank percentile of the answered latencies followed by ``unanswered`` requests
    that have none (longer than any); None when it falls on one of those."""
    total = len(ordered) + unanswered
    if total == 0:
        return None
    rank = max(1, math.ceil(share * total))
    return ordered[rank - 1] if rank <= len(ordered) else None


def latency(ordered: Sequence[float], unanswered: int) -> Latency:
    return Latency(
        p50=percentile(ordered, unanswered, 0.50),
        p95=percentile(ordered, unanswered, 0.95),
        p99=percentile(ordered, unanswered, 0.99),
        max=None if unanswered or not ordered else ordered[-1],
        answered=len(ordered),
        unanswered=unanswered,
    )


def histogram(ordered: Iterable[float]) -> tuple[Bin, ...]:
    """Answered latencies (sorted) counted per bin of EDGES; the last bin (upper None) is
    open-ended. Requests with no answer are ``Latency.unanswered``."""
    counts = [0] * (len(EDGES) + 1)
    edge = 0
    for seconds in ordered:  # sorted: walk the edges once
        while edge < len(EDGES) and seconds > EDGES[edge]:
            edge += 1
        counts[edge] += 1
    return tuple(Bin(upper, n) for upper, n in zip((*EDGES, None), counts, strict=True))
