"""Fire 1,000 concurrent requests at ``kctl sandbox``; print throughput, latency, connections.

    python bench/sandbox_concurrency.py [--requests N] [--timeout S]

Everything runs in this process on 127.0.0.1: the sandbox and a listener each on their own
thread and event loop (as ``send-test --sandbox`` runs them), the client on the main thread
(asyncio + httpx, one connection per request). Two rounds of N valid ``/whatsapp`` requests:

* burst: all N sent at once on fresh connections; requests/s, p50/p99 latency, errors, and the
  server's peak of concurrently open connections.
* held: the sandbox holds every request in flight until all N have arrived, which shows that N
  connections and N requests were open at the same moment, then lets them all go.

Every accepted message then gets its delivery reports (sent, delivered) at the listener.
Exits 1 when any request failed or the held round never had all N in flight together.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from dataclasses import dataclass, field
from typing import Any

import httpx

from kctl.httpserver import HttpServer, raise_open_file_limit
from kctl.listen import Listener
from kctl.sandbox import Sandbox


@dataclass
class Round:
    latencies: list[float] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    elapsed: float = 0.0


def payload(n: int) -> dict[str, Any]:
    return {
        "payloadVersion": "0.1",
        "msgId": f"bench-{n}",
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


async def fire(url: str, hdrs: dict[str, str], first: int, count: int) -> Round:
    """``count`` requests at once, each on its own connection; per-request latency."""
    result = Round()
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    timeout = httpx.Timeout(30.0, pool=None)
    async with httpx.AsyncClient(limits=limits, timeout=timeout, trust_env=False) as client:

        async def one(n: int) -> None:
            started = time.perf_counter()
            try:
                response = await client.post(url, json=payload(n), headers=hdrs)
            except httpx.HTTPError as e:
                result.errors.append(f"{type(e).__name__}: {e}")
                return
            result.latencies.append(time.perf_counter() - started)
            if response.status_code != 200 or response.json() != {"status": "success"}:
                result.errors.append(f"HTTP {response.status_code}: {response.text[:100]}")

        started = time.perf_counter()
        await asyncio.gather(*(one(first + n) for n in range(count)))
        result.elapsed = time.perf_counter() - started
    return result


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
    url = f"{rig.sandbox_url}/whatsapp"
    hdrs = headers(rig.listener_url)

    burst = await fire(url, hdrs, 0, n)
    burst_peak = server.stats.peak_connections
    ms = [x * 1000 for x in burst.latencies]
    print(
        f"burst: {n} requests in {burst.elapsed:.2f} s = {n / burst.elapsed:,.0f} req/s;"
        f" errors {len(burst.errors)}; latency p50 {statistics.median(ms):.0f} ms,"
        f" p99 {percentile(ms, 0.99):.0f} ms; peak open connections {burst_peak}/{n}"
    )

    sandbox.hold()
    held_task = asyncio.create_task(fire(url, hdrs, n, n))
    all_in = await asyncio.to_thread(sandbox.wait_in_flight, n, timeout)
    in_flight, open_now = sandbox.in_flight, server.stats.open_connections
    sandbox.release()
    held = await held_task
    print(
        f"held:  {in_flight}/{n} requests in flight at once, {open_now} connections open;"
        f" all together: {'yes' if all_in else 'NO'}; errors {len(held.errors)}"
    )

    expected = 2 * 2 * n  # sent + delivered, for both rounds
    got = await asyncio.to_thread(rig.listener.wait_for, expected, timeout)
    problems = sum(not r.ok for r in got)
    print(f"delivery reports received: {len(got)}/{expected}, {problems} with problems")

    errors = burst.errors + held.errors
    for error in sorted(set(errors))[:5]:
        print(f"  error: {error}")
    return 1 if errors or not all_in else 0


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
