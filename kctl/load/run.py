"""``kctl load`` as a stream of events: CleverTap-shaped requests at a fixed or ramped
concurrency, each answer judged against CleverTap's 1-second deadline.

``run_load`` yields values and never prints; ``kctl.render.load`` draws them (a live progress
display on a terminal, tables and a latency histogram, or one JSON document).

The requests run on an asyncio loop that this generator drives itself, a slice at a time, so
progress can be yielded between slices without a second thread; a slice is 0.2 s, and the
loop is never paused longer than a renderer takes to draw one line.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from kctl.contract.replies import DEADLINE_S
from kctl.errors import Interrupted, NetworkFailure, UsageError
from kctl.load import plan
from kctl.load.client import BadReply, Connection, Endpoint, Reply, request_head
from kctl.load.payload import Payload, load_payloads
from kctl.load.stats import (
    OTHER,
    RATE_LIMITED,
    SERVER_ERROR,
    TIMEOUT,
    TWO_XX,
    StepResult,
    Tally,
)
from kctl.secrets import Masker
from kctl.send.outcome import classify
from kctl.send.wire import Response, Via
from kctl.urls import is_loopback_host

if TYPE_CHECKING:
    from kctl.config.model import Provider

PROGRESS_EVERY = 0.2  # seconds between progress events, when asked for
# a recipient that reaches nobody: NANPA keeps 555-0100..0199 for fiction, so a local adapter
# that forwards to Kaleyra sends nothing to a real person (and the number passes KC108's plan)
FICTIONAL_RECIPIENT = "+12025550123"
# the sandbox's reports would go here; load holds them back (see _start_sandbox)
NO_REPORTS_URL = "http://127.0.0.1:9"
HOLD_REPORTS_S = 24 * 3600.0
_FILES_PER_CONNECTION_SLACK = 64


@dataclass(frozen=True, slots=True)
class LoadOptions:
    concurrency: int | None = None  # None: the provider's max_concurrency, else CleverTap's 1500
    ramp: tuple[int, int] | None = None
    step: int | None = None  # ramp increment; None doubles
    requests: int | None = None  # per step; None: plan.step_requests' default
    duration: float = plan.DEFAULT_DURATION  # per step
    timeout: float = plan.DEFAULT_TIMEOUT  # per request, for any answer at all
    recipients: tuple[str, ...] = ()  # --to
    allow_remote: bool = False
    sandbox: bool = False
    sandbox_latency: float | None = None
    sandbox_max_concurrency: int | None = None
    template: str | None = None
    language: str | None = None
    validation: bool = False
    ca_bundle: str | None = None
    progress: bool = False  # yield Progress events


# --- events -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Target:
    url: str
    kind: str  # "sandbox", "loopback" or "remote"
    sandbox_latency: float | None = None
    sandbox_max_concurrency: int | None = None


@dataclass(frozen=True, slots=True)
class PayloadInfo:
    kind: str  # "template", "validation", "sms template", "sms text"
    name: str | None
    samples: tuple[str, ...]  # values kctl made up for it
    recipients: tuple[str, ...]
    example: str  # one request body, as sent (masked)


@dataclass(frozen=True, slots=True)
class Started:
    provider: str
    channel: str
    target: Target
    payload: PayloadInfo
    climb: tuple[int, ...]  # the concurrencies planned (a ramp may add bisection steps)
    ramp: bool
    timeout: float
    duration: float


@dataclass(frozen=True, slots=True)
class StepStarted:
    number: int  # 1-based
    concurrency: int
    requests: int


@dataclass(frozen=True, slots=True)
class StepProgress:
    number: int
    concurrency: int
    done: int
    planned: int
    elapsed: float
    counts: dict[str, int]


@dataclass(frozen=True, slots=True)
class StepFinished:
    number: int
    result: StepResult


@dataclass(frozen=True, slots=True)
class Recommendation:
    max_concurrency: int | None  # the value for the form; None when none can be given
    held: int | None  # the highest concurrency that held
    reason: str
    config_note: str | None  # how the config's max_concurrency compares, when it matters


@dataclass(frozen=True, slots=True)
class Finished:
    steps: tuple[StepResult, ...]
    recommendation: Recommendation | None  # with --ramp
    configured: int | None  # the provider's max_concurrency
    exit_code: int
    interrupted: bool


Event = Started | StepStarted | StepProgress | StepFinished | Finished


# --- the run ------------------------------------------------------------------------------------


def run_load(provider: Provider, options: LoadOptions) -> Iterator[Event]:
    """The events of one load run; the last is ``Finished``. UsageError before anything is sent
    when the options do not fit; NetworkFailure when the endpoint cannot be reached at all."""
    _check_options(options)
    climb = _climb(provider, options)
    with contextlib.ExitStack() as stack:
        target, provider = _target(provider, options, stack)
        recipients = _recipients(provider, options, target)
        payloads = load_payloads(
            provider,
            recipients,
            template=options.template,
            language=options.language,
            validation=options.validation,
        )
        masker, payloads = _resolve(payloads)
        endpoint = Endpoint.parse(provider.endpoint)
        heads = [request_head(p.request.method, endpoint, _wire_headers(p)) for p in payloads]
        _check_open_files(max(climb), sandboxed=target.kind == "sandbox")
        tls = _tls(endpoint, options.ca_bundle)
        # a Runner turns Ctrl-C into a clean cancellation of what it runs, not an exception
        # thrown into whichever callback happens to be running
        runner = stack.enter_context(asyncio.Runner())
        address = runner.run(_reachable(endpoint, tls, options.timeout))
        yield Started(
            provider=provider.nickname,
            channel=str(provider.channel),
            target=target,
            payload=_info(payloads, recipients, masker),
            climb=climb,
            ramp=options.ramp is not None,
            timeout=options.timeout,
            duration=options.duration,
        )
        shot = _Shot(runner, endpoint, address, tls, payloads, heads, masker, options)
        yield from _steps(shot, climb, provider, options)


def _check_options(options: LoadOptions) -> None:
    if options.concurrency is not None and options.ramp is not None:
        raise UsageError("give --concurrency or --ramp, not both")
    if options.step is not None and options.ramp is None:
        raise UsageError("--step goes with --ramp")
    if not options.sandbox and (
        options.sandbox_latency is not None or options.sandbox_max_concurrency is not None
    ):
        raise UsageError("--sandbox-latency and --sandbox-max-concurrency go with --sandbox")
    if options.requests is not None and not 1 <= options.requests <= plan.MAX_REQUESTS:
        raise UsageError(f"--requests must be 1..{plan.MAX_REQUESTS:,}, not {options.requests}")
    if not 0 < options.duration <= plan.MAX_DURATION:
        raise UsageError(f"--duration must be over 0 and at most {plan.MAX_DURATION:g} s")
    if not DEADLINE_S <= options.timeout <= plan.MAX_TIMEOUT:
        raise UsageError(
            f"--timeout must be {DEADLINE_S:g}..{plan.MAX_TIMEOUT:g} s",
            f"it is how long to wait for a late answer; CleverTap itself waits {DEADLINE_S:g} s",
        )


def _climb(provider: Provider, options: LoadOptions) -> tuple[int, ...]:
    if options.ramp is not None:
        return plan.ramp_steps(*options.ramp, options.step)
    if options.concurrency is not None:
        return (plan.check_concurrency(options.concurrency),)
    # what CleverTap sends at for this provider
    return (provider.max_concurrency or plan.CLEVERTAP_MAX,)


def _target(
    provider: Provider, options: LoadOptions, stack: contextlib.ExitStack
) -> tuple[Target, Provider]:
    if options.sandbox:
        url = _start_sandbox(options, stack)
        from kctl.send.run import sandboxed

        pointed = sandboxed(provider, url, NO_REPORTS_URL)
        target = Target(
            pointed.endpoint, "sandbox", options.sandbox_latency, options.sandbox_max_concurrency
        )
        return target, pointed
    endpoint = Endpoint.parse(provider.endpoint)  # the URL's text only: no DNS lookup yet
    if is_loopback_host(endpoint.host):
        return Target(provider.endpoint, "loopback"), provider
    if not options.allow_remote:
        raise UsageError(
            f"refusing to load {endpoint.host}: kctl load sends to loopback endpoints and the"
            " sandbox only",
            "use --sandbox, or point the endpoint at 127.0.0.1; to load a real adapter pass"
            " --allow-remote with --to numbers from test_recipients (every request is a real"
            " message)",
        )
    return Target(provider.endpoint, "remote"), provider


def _start_sandbox(options: LoadOptions, stack: contextlib.ExitStack) -> str:
    from kctl.servers.http import HttpServer
    from kctl.servers.sandbox import Sandbox

    # Delivery reports go from Kaleyra to CleverTap, not to the adapter under load: posting them
    # would only take CPU from the client being measured. They are held back a day and dropped
    # when the sandbox stops (its queue bound caps the memory they take meanwhile).
    sandbox = Sandbox(
        latency=options.sandbox_latency or 0.0,
        max_concurrency=options.sandbox_max_concurrency,
        dlr_delay=HOLD_REPORTS_S,
    )
    return stack.enter_context(HttpServer(sandbox).start_in_thread()).url


def _recipients(provider: Provider, options: LoadOptions, target: Target) -> tuple[str, ...]:
    from kctl.contract.numbers import phone_problem

    for number in options.recipients:
        problem = phone_problem(number)
        if problem is not None:
            raise UsageError(f"--to {problem[0]}", problem[1])
    if target.kind == "remote":
        if not options.recipients:
            raise UsageError(
                "--allow-remote needs --to: every request to a real adapter is a real message",
                "pass --to with numbers from the provider's test_recipients",
            )
        outside = [n for n in options.recipients if n not in provider.test_recipients]
        if outside:
            raise UsageError(
                f"{', '.join(outside)} not in test_recipients of provider '{provider.nickname}'",
                "a load to a real adapter goes only to the provider's test recipients",
            )
        return options.recipients
    if options.recipients:
        return options.recipients
    if provider.test_recipients:
        return provider.test_recipients[:1]
    return (FICTIONAL_RECIPIENT,)


def _resolve(payloads: list[Payload]) -> tuple[Masker, list[Payload]]:
    """Secrets resolved once per payload, and the masker that hides them in the report (the
    payloads share their headers, so one masker serves all)."""
    from kctl.send.resolve import resolve_request

    maskers: list[Masker] = []
    resolved = []
    for payload in payloads:
        request, masker = resolve_request(payload.request)
        maskers.append(masker)
        resolved.append(replace(payload, request=request))
    return (maskers[0] if maskers else Masker()), resolved


def _check_open_files(concurrency: int, *, sandboxed: bool) -> None:
    from kctl.servers.http import raise_open_file_limit

    needed = concurrency * (2 if sandboxed else 1) + _FILES_PER_CONNECTION_SLACK
    limit = raise_open_file_limit(max(needed, 1024))
    if limit is not None and limit < needed:
        raise UsageError(
            f"{concurrency} connections need about {needed} open files; this process may open"
            f" {limit}",
            f"raise the limit (ulimit -n {needed * 2}) or lower the concurrency",
        )


def _tls(endpoint: Endpoint, ca_bundle: str | None) -> ssl.SSLContext | None:
    if not endpoint.is_tls:
        return None
    from kctl.send.transport import tls_trust

    context = tls_trust(ca_bundle or True)
    return context if isinstance(context, ssl.SSLContext) else ssl.create_default_context()


async def _reachable(endpoint: Endpoint, tls: ssl.SSLContext | None, timeout: float) -> str:
    """The address to load: the first of the host's addresses that takes a connection. One
    lookup for the whole run, instead of one per connection."""
    where = f"{endpoint.host}:{endpoint.port}"
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(endpoint.host, endpoint.port, type=socket.SOCK_STREAM)
    except OSError as e:
        raise NetworkFailure(f"cannot resolve {endpoint.host}: {e.strerror or e}") from e
    reason = "no address"
    for info in infos:
        address = str(info[4][0])
        try:
            async with asyncio.timeout(timeout):
                conn = await Connection.open(address, endpoint, tls)
        except TimeoutError:
            reason = f"no connection within {timeout:g} s"
            continue
        except (OSError, ssl.SSLError) as e:
            reason = _describe(e)
            continue
        conn.close()
        await conn.wait_closed()
        return address
    raise NetworkFailure(
        f"cannot connect to {where}: {reason}",
        "start the endpoint first, or use --sandbox to load kctl's sandbox",
    )


def _info(payloads: list[Payload], recipients: tuple[str, ...], masker: Masker) -> PayloadInfo:
    first = payloads[0]
    example = first.request.body.decode("utf-8", "replace")
    return PayloadInfo(first.kind, first.name, first.samples, recipients, masker.mask_text(example))


# --- steps --------------------------------------------------------------------------------------


def _steps(
    shot: _Shot, climb: tuple[int, ...], provider: Provider, options: LoadOptions
) -> Iterator[Event]:
    ramp = plan.Ramp(climb)
    results: list[StepResult] = []
    interrupted = False
    while (concurrency := ramp.next()) is not None:
        number = len(results) + 1
        requests = plan.step_requests(options.requests, concurrency)
        yield StepStarted(number, concurrency, requests)
        tally = Tally(concurrency, requests)
        try:
            yield from shot.run(tally, number)
            result = shot.result
        except (KeyboardInterrupt, Interrupted):
            # Ctrl-C (or SIGTERM, which kctl's entry point raises as Interrupted): keep what
            # was measured and report it
            result = shot.stop()
            interrupted = True
        assert result is not None
        results.append(result)
        yield StepFinished(number, result)
        if interrupted or options.ramp is None:
            break
        ramp.record(concurrency, result.holds)
    recommendation = _recommend(ramp, results, provider) if options.ramp is not None else None
    yield Finished(
        tuple(results),
        recommendation,
        provider.max_concurrency,
        _exit_code(results, recommendation),
        interrupted,
    )


def _exit_code(results: list[StepResult], recommendation: Recommendation | None) -> int:
    """A fixed run: its step's code. A ramp: the code of the step it recommends, or of its
    first step when none held."""
    if not results:
        return 0
    if recommendation is None or recommendation.held is None:
        return results[0].exit_code
    held = [r for r in results if r.concurrency == recommendation.held]
    return held[-1].exit_code if held else results[0].exit_code


def _recommend(
    ramp: plan.Ramp, results: list[StepResult], provider: Provider
) -> Recommendation | None:
    if not results:
        return None
    held = ramp.held
    if held is None:
        first = results[0]
        return Recommendation(
            None,
            None,
            f"even {first.concurrency} concurrent requests did not hold: {why_not(first)}",
            None,
        )
    best = next(r for r in results if r.concurrency == held)
    p99 = best.latency.p99 or 0.0
    if held < plan.FORM_MIN:
        return Recommendation(
            None,
            held,
            f"only {held} concurrent requests held (p99 {p99:.2f} s); CleverTap's form takes"
            f" {plan.FORM_MIN} at least, so the endpoint needs more capacity",
            None,
        )
    value = min(held, plan.FORM_MAX)
    reason = f"{held} concurrent requests held: p99 {p99:.2f} s, no 429 or 5xx"
    if ramp.failed is not None:
        failed = next(r for r in results if r.concurrency == ramp.failed)
        reason += f"; {ramp.failed} did not ({why_not(failed)})"
    else:
        reason += f"; every step up to {ramp.climb[-1]} held"
    if held > plan.FORM_MAX:
        reason += f"; {plan.FORM_MAX} is the form's highest value"
    configured = provider.max_concurrency
    sent_at = configured or plan.CLEVERTAP_MAX
    shown = configured if configured else f"empty (CleverTap sends up to {sent_at})"
    note = None
    if sent_at > held and ramp.failed is not None:
        note = (
            f"the config's max_concurrency is {shown}, above the {held} that held:"
            f" set max_concurrency: {value}"
        )
    elif sent_at > held:
        note = (
            f"the config's max_concurrency is {shown} and the ramp stopped at {held}:"
            f" ramp up to {sent_at} to see whether that holds"
        )
    return Recommendation(value, held, reason, note)


def why_not(result: StepResult) -> str:
    """One phrase: what kept a step from holding."""
    parts = []
    if result.counts[RATE_LIMITED]:
        parts.append(f"{result.counts[RATE_LIMITED]} answered 429")
    if result.counts[SERVER_ERROR]:
        parts.append(f"{result.counts[SERVER_ERROR]} answered 5xx")
    if result.connection_failures:
        parts.append(f"{result.connection_failures} broken connections")
    p99 = result.latency.p99
    if p99 is None:
        parts.append("p99 no answer")
    elif p99 >= DEADLINE_S:
        parts.append(f"p99 {p99:.2f} s")
    return ", ".join(parts) or "held"


# --- one step -----------------------------------------------------------------------------------


@dataclass
class _Shot:
    """Sends steps at one endpoint from one loop; ``result`` after ``run`` (or ``stop``)."""

    runner: asyncio.Runner
    endpoint: Endpoint
    address: str
    tls: ssl.SSLContext | None
    payloads: list[Payload]
    heads: list[tuple[bytes, bytes]]  # each payload's request head, around its length
    masker: Masker
    options: LoadOptions
    result: StepResult | None = None
    _task: asyncio.Task[StepResult] | None = None
    _tally: Tally | None = None
    _started: float = 0.0
    _verdicts: dict[tuple[int, str, bytes], tuple[str, str | None]] = field(default_factory=dict)

    def run(self, tally: Tally, number: int) -> Iterator[StepProgress]:
        loop = self.runner.get_loop()
        self.result = None
        self._tally = tally
        self._started = loop.time()
        task = self._task = loop.create_task(self._step(tally))
        while not task.done():
            if not self.options.progress:
                self.runner.run(asyncio.wait({task}))
                break
            self.runner.run(asyncio.wait({task}, timeout=PROGRESS_EVERY))
            yield StepProgress(
                number,
                tally.concurrency,
                tally.done,
                tally.planned,
                loop.time() - self._started,
                dict(tally.counts),
            )
        self.result = task.result()

    def stop(self) -> StepResult:
        """After Ctrl-C: cancel what is in flight and keep what was measured."""
        task, tally = self._task, self._tally
        assert task is not None
        assert tally is not None
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, KeyboardInterrupt, Interrupted):
            self.runner.run(asyncio.wait({task}))
        elapsed = self.runner.get_loop().time() - self._started
        self.result = tally.result(elapsed, "interrupted")
        return self.result

    async def _step(self, tally: Tally) -> StepResult:
        loop = asyncio.get_running_loop()
        started = loop.time()
        deadline = started + self.options.duration
        issued = 0
        ran_out = False
        heads = self.heads
        connections: set[Connection] = set()

        def take() -> int | None:
            nonlocal issued, ran_out
            if issued >= tally.planned:
                return None
            if loop.time() >= deadline:
                ran_out = True
                return None
            issued += 1
            return issued - 1

        async def worker() -> None:
            conn: Connection | None = None
            while (n := take()) is not None:
                which = n % len(self.payloads)
                body = self.payloads[which].fresh()
                before, after = heads[which]
                data = before + str(len(body)).encode("ascii") + after + body
                sent_at = loop.time()
                try:
                    async with asyncio.timeout(self.options.timeout):
                        if conn is None:
                            conn = await Connection.open(self.address, self.endpoint, self.tls)
                            connections.add(conn)
                        reply = await conn.exchange(data)
                except TimeoutError:
                    tally.no_answer(f"no answer within {self.options.timeout:g} s")
                    _close(conn)
                    conn = None
                    continue
                except (
                    OSError,
                    BadReply,
                    asyncio.IncompleteReadError,
                    asyncio.LimitOverrunError,
                ) as e:
                    tally.broken(_describe(e))
                    _close(conn)
                    conn = None
                    continue
                self._judge(tally, reply, loop.time() - sent_at)
                if not reply.keep_alive:
                    _close(conn)
                    conn = None
            if conn is not None:
                conn.close()

        workers = [loop.create_task(worker()) for _ in range(tally.concurrency)]
        try:
            await asyncio.gather(*workers)
        finally:
            for w in workers:
                w.cancel()
            await asyncio.gather(*workers, return_exceptions=True)
            for conn in connections:
                conn.close()
            if connections:
                closing = [loop.create_task(c.wait_closed()) for c in connections]
                await asyncio.wait(closing, timeout=1.0)
        stopped = "duration" if ran_out else "requests"
        return tally.result(loop.time() - started, stopped)

    def _judge(self, tally: Tally, reply: Reply, seconds: float) -> None:
        if seconds > DEADLINE_S:
            tally.answered(TIMEOUT, seconds, f"answered after {DEADLINE_S:g} s")
            return
        bucket, reason = self._verdict(reply)
        tally.answered(bucket, seconds, reason)

    def _verdict(self, reply: Reply) -> tuple[str, str | None]:
        """The bucket of an in-time answer, and why when it is "other". Answers under load are
        mostly the same few bytes, so each distinct one is classified once."""
        status = reply.status
        if status == 429:
            return RATE_LIMITED, None
        if 500 <= status < 600:
            return SERVER_ERROR, None
        key = (status, _content_type(reply), reply.body)
        known = self._verdicts.get(key)
        if known is not None:
            return known
        response = Response(
            status=status,
            reason=reply.reason,
            http_version=reply.http_version,
            headers=reply.headers,
            body=reply.body,
            truncated=reply.truncated,
            elapsed=0.0,
        )
        outcome = classify(response, Via.ADAPTER)
        verdict: tuple[str, str | None] = (TWO_XX, None)
        if not outcome.accepted:
            why = outcome.verdict
            words = outcome.error_message
            if words and words not in why:  # the provider's own words say what to fix
                why += f": {words}"
            verdict = (OTHER, self.masker.mask_text(why))
        if len(reply.body) <= 1024 and len(self._verdicts) < 256:
            self._verdicts[key] = verdict
        return verdict


def _close(conn: Connection | None) -> None:
    if conn is not None:
        conn.close()


def _content_type(reply: Reply) -> str:
    return next((v for k, v in reply.headers if k.lower() == "content-type"), "")


def _wire_headers(payload: Payload) -> list[tuple[bytes, bytes]]:
    # the same header list send-test sends (UsageError for a value HTTP cannot carry)
    from kctl.send.transport import wire_headers

    return wire_headers(payload.request)


def _describe(error: BaseException) -> str:
    """A short, secret-free phrase for a failed exchange."""
    match error:
        case ConnectionRefusedError():
            return "connection refused"
        case ConnectionResetError() if error.args and isinstance(error.args[0], str):
            return error.args[0]
        case ConnectionResetError() | BrokenPipeError():
            return "connection reset"
        case ssl.SSLCertVerificationError():
            return f"TLS certificate not trusted: {error.verify_message}"
        case ssl.SSLError():
            return f"TLS error: {error.reason or 'handshake failed'}"
        case BadReply():
            return f"not an HTTP reply: {error}"
        case asyncio.IncompleteReadError():
            return "reply cut short"
        case OSError() if error.strerror:
            return error.strerror.lower()
        case _:
            return type(error).__name__
