"""Fire 1,000 concurrent requests at ``kctl sandbox``; print throughput, latency, connections.

    python bench/sandbox_concurrency.py [--requests N] [--timeout S]

Everything runs in this process on 127.0.0.1: the sandbox and a listener each on their own
thread and event loop (as ``send-test --sandbox`` runs them), the client on the main thread
(asyncio sockets, one connection per request). Two rounds of N valid ``/whatsapp`` requests:

* burst: all N sent at once on fresh connections; requests/s, p50/p99 latency, errors, CPU time
  per request (the whole process), and the server's peak of concurrently open connections.
* held: the sandbox holds every request in flight until all N have arrived, which shows that N
  connections and N requests were open at the same moment, then lets them all go.

Every accepted message then gets its delivery reports (sent, delivered, read) at the listener.

A third round measures posting alone: 20 direct-route requests of 100 recipients each (Kaleyra's
limit) make 2,000 SMS reports that fall due together, and the rate is how fast the sandbox gets
them to the listener, from the first to the last.

Exits 1 when any request failed, the held round never had all N in flight together, or a
delivery report went missing.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from kctl.servers.http import HttpServer, raise_open_file_limit
from kctl.servers.listener import Listener
from kctl.servers.sandbox import Sandbox

SUCCESS = b'{"status":"success"}'
BATCHES = 20  # direct requests in the report round
BATCH = 100  # recipients each: the sandbox's (and Kaleyra's) limit


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0


def payload(n: int) -> dict[str, Any]:
    return {
        "payloadVersion": 0.1,
        "msgId": f"{n}|1767225600|20260101|{n}",
        "to": "919812340000",
        "wabaNumber": "919876543210",
        "isTemplate": True,
        "template": {"namespace": "order_update", "languageCode": "en"},
        "components": [
            {
                "type": "body",
                "body": {
                    "text": f"Hi Asha, your order {n} has shipped.",
                    "parameters": [
                        {"type": "text", "text": "Asha"},
                        {"type": "text", "text": str(n)},
                    ],
                },
            }
        ],
    }


def headers(callbacks: str) -> dict[str, str]:
    return {
        "api-key": "bench-key",
        "sid": "HXBENCH",
        "kaleyra-host": "https://api.kaleyra.io/",
        "inbound-message-callback-url": f"{callbacks}/wa/inbound",
        "delivery-report-callback-url": f"{callbacks}/wa/dlr",
    }


def encode_request(port: int, hdrs: dict[str, str], n: int, *, close: bool = True) -> bytes:
    body = json.dumps(payload(n)).encode()
    head = [
        "POST /whatsapp HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "Content-Type: application/json",
        f"Content-Length: {len(body)}",
        *(["Connection: close"] if close else []),
        *(f"{k}: {v}" for k, v in hdrs.items()),
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def fire(port: int, hdrs: dict[str, str], first: int, count: int, timeout: float) -> Round:
    """``count`` requests at once, each on its own connection; per-request latency.

    Plain asyncio sockets, not httpx: httpx's connection pool does work proportional to the
    requests queued on it for every request, so a thousand at once through one AsyncClient
    measures the client (about 30 s here) rather than the server (under a second).
    """
    result = Round()
    requests = [encode_request(port, hdrs, first + n) for n in range(count)]

    async def one(data: bytes) -> None:
        started = time.perf_counter()
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                try:
                    writer.write(data)
                    await writer.drain()
                    reply = await reader.read()  # the server closes after answering
                finally:
                    writer.close()
                    await writer.wait_closed()
        except (OSError, TimeoutError) as e:
            result.errors.append(f"{type(e).__name__}: {e}")
            return
        result.latencies.append(time.perf_counter() - started)
        status_line, _, rest = reply.partition(b"\r\n")
        if not status_line.startswith(b"HTTP/1.1 200 ") or not rest.endswith(SUCCESS):
            result.errors.append(status_line.decode("latin-1") or "no answer")

    started = time.perf_counter()
    await asyncio.gather(*(one(data) for data in requests))
    result.elapsed = time.perf_counter() - started
    return result


def encode_direct(port: int, callbacks: str, n: int) -> bytes:
    recipients = ",".join(f"+9198{n:04d}{k:04d}" for k in range(BATCH))
    body = urlencode(
        {
            "to": recipients,
            "sender": "KLRHXA",
            "body": f"bench batch {n}",
            "type": "TXN",
            "callback_url": f"{callbacks}/sms/dlr",
        }
    ).encode()
    head = [
        "POST /v1/HXBENCH/messages HTTP/1.1",
        f"Host: 127.0.0.1:{port}",
        "api-key: bench-key",
        "Content-Type: application/x-www-form-urlencoded",
        f"Content-Length: {len(body)}",
        "Connection: close",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode() + body


async def post_all(port: int, requests: list[bytes], timeout: float) -> list[str]:
    """Send each request on its own connection, all at once; the status lines that are not 202
    (Kaleyra's answer to an accepted message)."""

    async def one(data: bytes) -> str | None:
        async with asyncio.timeout(timeout):
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            try:
                writer.write(data)
                await writer.drain()
                reply = await reader.read()
            finally:
                writer.close()
                await writer.wait_closed()
        status_line = reply.partition(b"\r\n")[0].decode("latin-1")
        return None if status_line.startswith("HTTP/1.1 202 ") else status_line or "no answer"

    answers = await asyncio.gather(*(one(data) for data in requests))
    return [a for a in answers if a is not None]


def percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


@dataclass
class Rig:
    sandbox: Sandbox
    server: HttpServer  # the sandbox's, for its connection counts
    listener: Listener
    sandbox_url: str
    listener_url: str


async def run(rig: Rig, n: int, timeout: float) -> int:
    sandbox, server = rig.sandbox, rig.server
    port = server.port
    hdrs = headers(rig.listener_url)

    cpu_started = time.process_time()
    burst = await fire(port, hdrs, 0, n, timeout)
    # CPU time of the whole process (client, sandbox, listener): unlike wall time, it hardly
    # moves when other work shares the machine
    cpu_ms = (time.process_time() - cpu_started) * 1000 / n
    burst_peak = server.stats.peak_connections
    ms = [x * 1000 for x in burst.latencies]
    print(
        f"burst: {n} requests in {burst.elapsed:.2f} s = {n / burst.elapsed:,.0f} req/s;"
        f" errors {len(burst.errors)}; latency p50 {statistics.median(ms):.0f} ms,"
        f" p99 {percentile(ms, 0.99):.0f} ms; cpu {cpu_ms:.2f} ms/request;"
        f" peak open connections {burst_peak}/{n}"
    )

    sandbox.hold()
    held_task = asyncio.create_task(fire(port, hdrs, n, n, timeout))
    all_in = await asyncio.to_thread(sandbox.wait_in_flight, n, timeout)
    in_flight, open_now = sandbox.in_flight, server.stats.open_connections
    sandbox.release()
    held = await held_task
    print(
        f"held:  {in_flight}/{n} requests in flight at once, {open_now} connections open;"
        f" all together: {'yes' if all_in else 'NO'}; errors {len(held.errors)}"
    )

    expected = 2 * 3 * n  # sent, delivered and read, for both rounds
    got = await asyncio.to_thread(rig.listener.wait_for, expected, timeout)
    problems = sum(not r.ok for r in got)
    print(f"delivery reports received: {len(got)}/{expected}{rate(got)}, {problems} with problems")

    batches = [encode_direct(port, rig.listener_url, b) for b in range(BATCHES)]
    refused = await post_all(port, batches, timeout)
    wanted = expected + BATCHES * BATCH
    everything = await asyncio.to_thread(rig.listener.wait_for, wanted, timeout)
    burst_reports = everything[expected:]
    print(
        f"report round: {len(burst_reports)}/{BATCHES * BATCH} SMS reports due together"
        f"{rate(burst_reports)}; sandbox dropped {sandbox.dropped_reports}"
    )

    errors = burst.errors + held.errors + refused
    for error in sorted(set(errors))[:5]:
        print(f"  error: {error}")
    lost = len(everything) < wanted
    return 1 if errors or not all_in or lost else 0


def rate(reports: list[Any]) -> str:
    """ " over S s (R/s)", first to last arrival, or "" when there is no span to measure."""
    span = reports[-1].received_at - reports[0].received_at if reports else 0.0
    return f" over {span:.2f} s ({len(reports) / span:,.0f}/s)" if span > 0 else ""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds per wait")
    args = parser.parse_args()
    if not 1 <= args.requests <= 5000:
        sys.exit("--requests must be 1..5000")
    limit = raise_open_file_limit(4 * args.requests + 256)
    print(
        f"kctl sandbox bench: {args.requests} concurrent requests on 127.0.0.1;"
        f" open-file limit {limit}"
    )

    listener = Listener()
    sandbox = Sandbox(dlr_delay=0.05)
    sandbox_server = HttpServer(sandbox)
    with (
        HttpServer(listener).start_in_thread() as listening,
        sandbox_server.start_in_thread() as serving,
    ):
        rig = Rig(sandbox, sandbox_server, listener, serving.url, listening.url)
        bounded = asyncio.wait_for(run(rig, args.requests, args.timeout), 4 * args.timeout)
        code = asyncio.run(bounded)
    sys.exit(code)


if __name__ == "__main__":
    main()
