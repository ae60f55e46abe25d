"""Which client can measure 1,500 concurrent requests: kctl load's own, or httpx.AsyncClient?

    python bench/load_client.py [--concurrency 1500] [--requests 6000] [--latency 0.2]

``kctl sandbox`` runs in a child process (its own core, its own GIL) with ``--latency``; this
process sends the same SMS adapter request, built by kctl's builder, the same number of times
at the same concurrency, through each client in turn (alternating, ``--runs`` rounds):

* kctl: ``kctl.load.run.run_load`` against the sandbox as a loopback endpoint;
* httpx: one ``httpx.AsyncClient`` with a pool of ``--concurrency`` keep-alive connections
  (``limits``), one task per connection, each sending its requests one after another.

Both count latency from just before a request is written to the end of its reply. For each
client: requests/s, p50/p99 latency, and the client's own CPU time per request (``process_time``
of this process, which runs nothing else). The sandbox's latency is the floor: any latency
above it is queueing, in the sandbox or in the client, and the CPU column says which client
adds it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from kctl.config.model import SmsProvider, load_account
from kctl.load.payload import load_payloads
from kctl.load.run import LoadOptions, StepFinished, run_load
from kctl.servers.http import raise_open_file_limit

CONFIG = """\
version: 1
providers:
  - nickname: bench
    channel: sms
    endpoint: http://127.0.0.1:{port}/sms
    headers:
      api-key: bench-key
      sid: HXBENCH
      kaleyra-host: https://api.kaleyra.io/
      callback_url: http://127.0.0.1:9/sms/dlr
    parameters: {{to: $$To, sender: $$Sender, body: $$Body, message_id: $$MessageID}}
    sender: KLRHXA
    test_recipients: ["+12025550123"]
"""


def start_sandbox(latency: float) -> tuple[subprocess.Popen[str], int]:
    child = subprocess.Popen(
        [sys.executable, "-m", "kctl", "sandbox", "--port", "0", "--latency", str(latency)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert child.stdout is not None
    # kctl sandbox prints its base URL, http://127.0.0.1:PORT, first on stdout
    return child, int(child.stdout.readline().strip().rsplit(":", 1)[1])


def kctl_round(provider: SmsProvider, concurrency: int, requests: int) -> tuple[list[float], float]:
    """(latencies, wall seconds) through kctl load's client."""
    options = LoadOptions(concurrency=concurrency, requests=requests, timeout=30.0)
    for event in run_load(provider, options):
        if isinstance(event, StepFinished):
            result = event.result
            lat = result.latency
            assert result.sent == requests, result
            # the step keeps percentiles, not every latency: enough for the table
            return [lat.p50 or 0.0, lat.p99 or 0.0], result.elapsed
    raise AssertionError("no step finished")


async def httpx_round(
    provider: SmsProvider, concurrency: int, requests: int
) -> tuple[list[float], float]:
    payload = load_payloads(provider, ("+12025550123",))[0]
    request = payload.request
    headers = [*request.headers, ("Content-Type", request.content_type)]
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    latencies: list[float] = []
    errors: list[str] = []
    left = requests
    async with httpx.AsyncClient(limits=limits, timeout=30.0) as client:

        async def worker() -> None:
            nonlocal left
            while left > 0:
                left -= 1
                body = payload.fresh()
                started = time.perf_counter()
                try:
                    reply = await client.post(request.url, headers=headers, content=body)
                except httpx.HTTPError as e:
                    errors.append(f"{type(e).__name__}: {e}")
                    continue
                latencies.append(time.perf_counter() - started)
                if reply.status_code != 200:
                    errors.append(f"HTTP {reply.status_code}")

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        wall = time.perf_counter() - started
    if errors:
        print(f"httpx: {len(errors)} errors, such as {sorted(set(errors))[:3]}")
    return latencies, wall


def quantiles(latencies: list[float]) -> tuple[float, float]:
    if len(latencies) == 2:  # kctl's round gives (p50, p99) already
        return latencies[0], latencies[1]
    ordered = sorted(latencies)
    return statistics.median(ordered), ordered[min(len(ordered) - 1, int(0.99 * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=1500)
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    raise_open_file_limit(4 * args.concurrency + 256)
    child, port = start_sandbox(args.latency)
    rows: dict[str, list[tuple[float, float, float, float]]] = {"kctl": [], "httpx": []}
    try:
        with tempfile.TemporaryDirectory() as tmp:
            config = Path(tmp) / "bench.yaml"
            config.write_text(CONFIG.format(port=port))
            provider = load_account(str(config)).provider("bench")
            assert isinstance(provider, SmsProvider)
            for _ in range(args.runs):
                for name in ("kctl", "httpx"):
                    cpu = time.process_time()
                    if name == "kctl":
                        lat, wall = kctl_round(provider, args.concurrency, args.requests)
                    else:
                        lat, wall = asyncio.run(
                            httpx_round(provider, args.concurrency, args.requests)
                        )
                    cpu = time.process_time() - cpu
                    print(f"  {name}: {wall:.2f} s", flush=True)
                    p50, p99 = quantiles(lat)
                    rows[name].append((args.requests / wall, p50, p99, cpu / args.requests))
    finally:
        child.terminate()
        child.wait(10)
    print(
        f"{args.requests} requests at concurrency {args.concurrency}, sandbox latency"
        f" {args.latency:g} s (child process); nproc {os.cpu_count()}; medians of {args.runs}"
    )
    print(f"{'client':8} {'req/s':>8} {'p50':>8} {'p99':>8} {'CPU/request':>12}")
    for name, values in rows.items():
        rps, p50, p99, cpu = (statistics.median(v[i] for v in values) for i in range(4))
        print(f"{name:8} {rps:8,.0f} {p50 * 1000:6.0f}ms {p99 * 1000:6.0f}ms {cpu * 1e6:9.0f} us")


if __name__ == "__main__":
    main()
