"""Validate 1,000 generated configs in one kctl call; print files/s and peak memory.

    python bench/validate_many.py [--files N] [--runs R]

Each file is a full two-provider account (WhatsApp with templates, SMS with DLT), every tenth
one with a few faults, so the rules and the renderer do real work. The whole CLI process is
timed (start-up included), as a CI job would see it.
"""

from __future__ import annotations

import argparse
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SOURCE = ROOT / "configs" / "account.yaml"
EXTRA = (ROOT / "configs" / "whatsapp.yaml").read_text().split("providers:\n", 1)[1]


def generate(folder: Path, count: int) -> None:
    base = SOURCE.read_text()
    for i in range(count):
        text = base.replace("Kaleyra_WA", f"Kaleyra_WA_{i}").replace(
            "Kaleyra_SMS", f"Kaleyra_SMS_{i}"
        )
        text += EXTRA.replace("nickname: Kaleyra\n", f"nickname: Kaleyra_{i}\n").replace(
            "default: true", "default: false"
        )
        if i % 10 == 0:  # some faults, so findings are built and rendered too
            text = text.replace("https://ct-adapter", "http://ct-adapter", 1)
            text = text.replace('"+14155550123"', "+14155550123")
        (folder / f"account_{i:04d}.yaml").write_text(text)


def run_once(folder: Path) -> tuple[float, int]:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-m", "kctl", "validate-config", "--format", "json", str(folder)],
        capture_output=True,
        check=False,
    )
    elapsed = time.perf_counter() - start
    if done.returncode not in (0, 1):
        sys.exit(f"kctl failed: {done.stderr.decode()}")
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        generate(folder, args.files)
        size = sum(p.stat().st_size for p in folder.iterdir())
        times, peak_kib = [], 0
        for _ in range(args.runs):
            elapsed, peak_kib = run_once(folder)
            times.append(elapsed)
    median = statistics.median(times)
    print(f"files: {args.files} ({size / 1e6:.1f} MB), runs: {args.runs}")
    print(f"median wall time: {median:.3f} s (min {min(times):.3f}, max {max(times):.3f})")
    print(f"throughput: {args.files / median:,.0f} files/s")
    print(f"peak RSS: {peak_kib / 1024:.1f} MiB")
    goal = 1.0
    print(f"goal: {args.files} files well under {goal:.0f} s: {'ok' if median < goal else 'short'}")


if __name__ == "__main__":
    main()
