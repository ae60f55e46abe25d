"""Run ``sandbox_concurrency.py`` against several versions of kctl's server, interleaved.

    python bench/server_variants.py [--requests 1000,1500] [--rounds 3] LABEL=WHERE ...

WHERE is a git revision of this repository (extracted with ``git archive`` into a temporary
directory) or a directory holding a kctl checkout. Every run uses this checkout's
``sandbox_concurrency.py`` with ``PYTHONPATH`` pointing at the variant, so only the server code
differs. Runs go round-robin, the order rotating each round, so a machine that gets busier
part-way through weighs on every variant alike. Prints, per variant and request count, the
medians of throughput, latency and CPU time per request over the rounds, and all errors. On a
shared machine the wall-clock figures swing by a third from run to run; CPU time barely moves.

    python bench/server_variants.py before=08d3fad after=HEAD
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent
BURST = re.compile(
    r"burst: (?P<n>\d+) requests in [\d.]+ s = (?P<rate>[\d,]+) req/s; errors (?P<errors>\d+);"
    r" latency p50 (?P<p50>\d+) ms, p99 (?P<p99>\d+) ms; cpu (?P<cpu>[\d.]+) ms/request"
)
HELD = re.compile(r"held: .*all together: (?P<together>\w+); errors (?P<errors>\d+)")


@dataclass
class Figures:
    rates: list[float] = field(default_factory=list)
    p50: list[float] = field(default_factory=list)
    p99: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # ms of process CPU time per request
    errors: int = 0  # failed requests, burst and held rounds together
    failed_runs: int = 0  # runs that exited non-zero or printed nothing readable


def extract(where: str, into: Path) -> Path:
    """A directory holding kctl as of ``where`` (a directory, or a revision of this repo)."""
    if Path(where).is_dir():
        return Path(where).resolve()
    target = into / re.sub(r"[^\w.-]", "_", where)
    target.mkdir()
    archive = subprocess.run(
        ["git", "-C", str(REPO), "archive", where, "kctl"], capture_output=True, check=True
    )
    subprocess.run(["tar", "-x", "-C", str(target)], input=archive.stdout, check=True)
    return target


def run_once(root: Path, requests: int, figures: Figures) -> str:
    env = {**os.environ, "PYTHONPATH": str(root)}
    done = subprocess.run(
        [sys.executable, str(HERE / "sandbox_concurrency.py"), "--requests", str(requests)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
        timeout=600,
    )
    burst, held = BURST.search(done.stdout), HELD.search(done.stdout)
    if burst is None or held is None:
        figures.failed_runs += 1
        return f"unreadable run (exit {done.returncode}): {done.stderr.strip()[-300:]}"
    if done.returncode != 0:
        figures.failed_runs += 1
    figures.rates.append(float(burst["rate"].replace(",", "")))
    figures.p50.append(float(burst["p50"]))
    figures.p99.append(float(burst["p99"]))
    figures.cpu.append(float(burst["cpu"]))
    figures.errors += int(burst["errors"]) + int(held["errors"])
    return burst.group(0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("variants", nargs="+", metavar="LABEL=WHERE")
    parser.add_argument("--requests", default="1000,1500", help="comma-separated counts")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(n) for n in args.requests.split(",")]
    labels: list[str] = []
    wheres: list[str] = []
    for item in args.variants:
        label, sep, where = item.partition("=")
        if not sep:
            sys.exit(f"{item!r}: expected LABEL=WHERE")
        labels.append(label)
        wheres.append(where)

    results = {(label, n): Figures() for label in labels for n in sizes}
    with tempfile.TemporaryDirectory(prefix="kctl-variants-") as tmp:
        roots = [extract(where, Path(tmp)) for where in wheres]
        for round_no in range(args.rounds):
            for n in sizes:
                order = list(range(len(labels)))
                shift = round_no % len(order)
                for i in order[shift:] + order[:shift]:
                    line = run_once(roots[i], n, results[labels[i], n])
                    print(f"round {round_no + 1} {labels[i]:>12} n={n}: {line}", flush=True)

    print(f"\nmedians of {args.rounds} rounds (burst round); errors over all rounds\n")
    print(
        f"{'variant':>12} {'n':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
        f" {'cpu ms/req':>11} {'errors':>7}"
    )
    for n in sizes:
        for label in labels:
            f = results[label, n]
            if not f.rates:
                print(f"{label:>12} {n:>6}  no readable run")
                continue
            failed = f"  ({f.failed_runs} failed runs)" if f.failed_runs else ""
            print(
                f"{label:>12} {n:>6} {statistics.median(f.rates):>8,.0f}"
                f" {statistics.median(f.p50):>8.0f} {statistics.median(f.p99):>8.0f}"
                f" {statistics.median(f.cpu):>11.2f} {f.errors:>7}{failed}"
            )


if __name__ == "__main__":
    main()
