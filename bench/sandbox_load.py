"""``kctl sandbox`` and ``kctl listen`` in processes of their own, loaded from this one.

    python bench/sandbox_load.py [--concurrency 1500] [--keep-alive-requests 3]
                                 [--reports 2000] [--kctl PATH] [--timeout 60]

Unlike sandbox_concurrency.py (client, sandbox and listener in one process, sharing its GIL),
the servers run as the CLI runs them, and this process only sends and measures:

* /whatsapp, a new connection each: N valid requests at once, each on its own connection.
* /whatsapp, keep-alive: N connections at once, each sending K requests one after another.
  Both report errors, requests/s and p50/p99 latency, apart.
* listen accepts: R delivery reports posted straight to ``kctl listen`` on keep-alive
  connections, the same requests the sandbox posts; the rate is first to last arrival as listen
  stamps them (``received_at``).
* sandbox posts: direct requests of 100 recipients each make R SMS reports due together; the
  rate is measured the same way, at the same listener. The goal is the ratio of the two.

The last line is one JSON object with every figure, for compare.py. Exits 1 on any error.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime
import json
import os
import queue
import re
import shutil
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from sandbox_concurrency import (
    BATCH,
    SUCCESS,
    encode_direct,
    encode_request,
    headers,
    percentile,
)

from kctl.servers.http import raise_open_file_limit

LISTENING = re.compile(r"listen on http://127\.0\.0\.1:(\d+)")


class Lines:
    """A child's output lines as they come, read on a thread so the child never blocks."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: queue.Queue[str] = queue.Queue()
        self.thread = threading.Thread(target=self._pump, args=(stream,), daemon=True)
        self.thread.start()

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.put(line)

    def take(self, count: int, timeout: float) -> list[str]:
        got: list[str] = []
        deadline = time.monotonic() + timeout
        while len(got) < count:
            left = deadline - time.monotonic()
            if left <= 0:
                break
            try:
                got.append(self.lines.get(timeout=left))
            except queue.Empty:
                break
        return got


@contextmanager
def child(argv: list[str]) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def read_reply(reader: asyncio.StreamReader) -> tuple[bytes, bytes]:
    """(status line, body) of one reply framed by Content-Length."""
    head = await reader.readuntil(b"\r\n\r\n")
    status, _, fields = head.partition(b"\r\n")
    length = 0
    for line in fields.split(b"\r\n"):
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
    return status, await reader.readexactly(length)


async def load(port: int, hdrs: dict[str, str], n: int, per: int, timeout: float) -> dict[str, Any]:
    """``n`` connections at once, ``per`` requests each (``per`` 1: Connection: close)."""
    latencies: list[float] = []
    errors: list[str] = []

    async def one(c: int) -> None:
        try:
            async with asyncio.timeout(timeout):
                reader, writer = await asyncio.open_connection("127.0.0.1", port)
                try:
                    for k in range(per):
                        started = time.perf_counter()
                        writer.write(encode_request(port, hdrs, c * per + k, close=per == 1))
                        status, body = await read_reply(reader)
                        latencies.append(time.perf_counter() - started)
                        if not status.startswith(b"HTTP/1.1 200 ") or body != SUCCESS:
                            errors.append(status.decode("latin-1") or "no answer")
                finally:
                    writer.close()
                    await writer.wait_closed()
        except (OSError, TimeoutError, asyncio.IncompleteReadError) as e:
            errors.append(f"{type(e).__name__}: {e}")

    started = time.perf_counter()
    await asyncio.gather(*(one(c) for c in range(n)))
    elapsed = time.perf_counter() - started
    ms = [x * 1000 for x in latencies]
    return {
        "requests": n * per,
        "errors": len(errors),
        "first_errors": sorted(set(errors))[:3],
        "per_s": len(latencies) / elapsed,
        "p50_ms": statistics.median(ms) if ms else float("nan"),
        "p99_ms": percentile(ms, 0.99),
    }


async def post_reports(port: int, wanted: list[tuple[str, str, bytes]], connections: int) -> int:
    """Post the reports straight to listen over ``connections`` kept-alive connections."""
    failures = 0

    async def one(share: list[tuple[str, str, bytes]]) -> None:
        nonlocal failures
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for method, target, body in share:
                head = (
                    f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                    f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
                )
                writer.write(head.encode() + body)
                status, _ = await read_reply(reader)
                failures += not status.startswith(b"HTTP/1.1 200 ")
        finally:
            writer.close()
            await writer.wait_closed()

    await asyncio.gather(*(one(wanted[i::connections]) for i in range(connections)))
    return failures


async def post_direct(port: int, requests: list[bytes]) -> int:
    refused = 0

    async def one(data: bytes) -> None:
        nonlocal refused
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            writer.write(data)
            reply = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
        refused += not reply.startswith(b"HTTP/1.1 202 ")

    await asyncio.gather(*(one(r) for r in requests))
    return refused


def arrival_rate(lines: list[str]) -> float:
    """Reports per second from the first arrival to the last, as listen stamped them."""
    stamps = sorted(
        datetime.datetime.fromisoformat(json.loads(line)["received_at"]).timestamp()
        for line in lines
    )
    span = stamps[-1] - stamps[0] if len(stamps) > 1 else 0.0
    return len(stamps) / span if span > 0 else float("nan")


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc; 0 elsewhere)."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rpartition(")")[2].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def native_reports(listener: str, count: int) -> list[tuple[str, str, bytes]]:
    """The requests the sandbox posts for ``count`` SMS sent with a callback_url."""
    from kctl.contract import kaleyra
    from kctl.contract.channels import Channel
    from kctl.servers.callbacks import Plan, report_request

    out = []
    for n in range(count):
        plan = Plan(
            Channel.SMS,
            kaleyra.message_id("bench-direct", n),
            f"{listener}/sms/dlr",
            False,
            native_method="GET",
        )
        method, url, body = report_request(plan, "delivered")
        out.append((method, url.removeprefix(listener), body))
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--concurrency", type=int, default=1500)
    parser.add_argument("--keep-alive-requests", type=int, default=3)
    parser.add_argument("--reports", type=int, default=2000, help="a multiple of 100")
    parser.add_argument("--connections", type=int, default=16, help="to listen, keep-alive")
    parser.add_argument("--kctl", default=shutil.which("kctl") or "kctl")
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    raise_open_file_limit(4 * args.concurrency + 256)
    print(f"kctl sandbox and kctl listen in their own processes; load from pid {os.getpid()}")
    figures: dict[str, Any] = {}
    with (
        child([args.kctl, "listen", "--port", "0", "--json"]) as listen,
        child([args.kctl, "sandbox", "--port", "0"]) as sandbox,
    ):
        assert listen.stdout is not None
        assert listen.stderr is not None
        assert sandbox.stdout is not None
        assert sandbox.stderr is not None
        found = LISTENING.search(listen.stderr.readline())
        if found is None:
            print("kctl listen did not say where it listens")
            return 1
        listen_port = int(found.group(1))
        # the sandbox's first line on stdout is its URL (http://127.0.0.1:PORT)
        sandbox_port = int(sandbox.stdout.readline().rsplit(":", 1)[1])
        reports = Lines(listen.stdout)
        # what the servers log must be read, or a full pipe stops them mid-run
        logs = [Lines(stream) for stream in (listen.stderr, sandbox.stdout, sandbox.stderr)]
        listener = f"http://127.0.0.1:{listen_port}"
        hdrs = headers(listener)

        # CPU of the whole /whatsapp phase, up to the last of its delivery reports: a round's own
        # figure misses the reports that come due after it ends and counts those of the round
        # before
        phase_cpu = cpu_seconds(sandbox.pid), cpu_seconds(listen.pid)
        for name, per in (("new connection each", 1), ("keep-alive", args.keep_alive_requests)):
            cpu = cpu_seconds(sandbox.pid), time.process_time()
            result = asyncio.run(load(sandbox_port, hdrs, args.concurrency, per, args.timeout))
            result["sandbox_cpu_ms"] = (
                (cpu_seconds(sandbox.pid) - cpu[0]) * 1000 / (per * args.concurrency)
            )
            result["client_cpu_ms"] = (
                (time.process_time() - cpu[1]) * 1000 / (per * args.concurrency)
            )
            figures[name] = result
            print(
                f"/whatsapp, {name}: {args.concurrency} connections at once, {per} request(s)"
                f" each: {result['per_s']:,.0f} req/s, p50 {result['p50_ms']:.0f} ms,"
                f" p99 {result['p99_ms']:.0f} ms, errors {result['errors']}; CPU per request:"
                f" sandbox {result['sandbox_cpu_ms']:.2f} ms (reports included),"
                f" this client {result['client_cpu_ms']:.2f} ms"
                + "".join(f"\n  error: {e}" for e in result["first_errors"])
            )
        # the reports of those messages (sent, delivered, read) come in over the next seconds
        expected = 3 * args.concurrency * (1 + args.keep_alive_requests)
        settled = reports.take(expected, args.timeout)
        requests = args.concurrency * (1 + args.keep_alive_requests)
        figures["sandbox_cpu_ms"] = (cpu_seconds(sandbox.pid) - phase_cpu[0]) * 1000 / requests
        figures["listen_cpu_ms"] = (cpu_seconds(listen.pid) - phase_cpu[1]) * 1000 / requests
        print(
            f"their delivery reports at listen: {len(settled)}/{expected}; CPU per /whatsapp"
            f" request, its {expected // requests} reports included: sandbox"
            f" {figures['sandbox_cpu_ms']:.3f} ms, listen {figures['listen_cpu_ms']:.3f} ms"
        )

        wanted = native_reports(listener, args.reports)
        failures = asyncio.run(post_reports(listen_port, wanted, args.connections))
        direct = reports.take(args.reports, args.timeout)
        accepts = arrival_rate(direct)
        print(
            f"listen accepts: {len(direct)}/{args.reports} reports posted straight to it on"
            f" {args.connections} kept-alive connections, {accepts:,.0f}/s; failures {failures}"
        )

        batches = [encode_direct(sandbox_port, listener, b) for b in range(args.reports // BATCH)]
        refused = asyncio.run(post_direct(sandbox_port, batches))
        posted = reports.take(len(batches) * BATCH, args.timeout)
        rate = arrival_rate(posted)
        ratio = rate / accepts
        print(
            f"sandbox posts: {len(posted)}/{len(batches) * BATCH} SMS reports due together,"
            f" {rate:,.0f}/s = {ratio:.2f}x what listen accepts; refused {refused}"
        )
        figures["listen_accepts_per_s"] = accepts
        figures["sandbox_posts_per_s"] = rate
        figures["reports_ratio"] = ratio
        lost = len(settled) < expected or len(direct) < args.reports
        lost = lost or len(posted) < len(batches) * BATCH
        figures["lost_reports"] = lost
        failed = (
            lost
            or failures
            or refused
            or any(figures[k]["errors"] for k in ("new connection each", "keep-alive"))
        )
        logged = sum(log.lines.qsize() for log in logs)
    print(f"(the servers logged {logged} lines)")
    print(json.dumps(figures))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
