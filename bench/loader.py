"""The loader alone, in one process, on the same 1,000 generated configs (issue 17, item 3).

Interleaved rounds, medians, each a pass over every file's bytes already in memory:

* libyaml alone: its parser run to the end of each file from C, nothing built
  (``kctl.config._compose.count_events``): the compiled parser's own time;
* kctl's C composer (``kctl.config._compose.compose``): libyaml to kctl's Node and Entry tree,
  what validate-config uses for a usual config;
* kctl's Python composer (``loader.load_in_python``): the same tree from PyYAML's events,
  what validate-config uses for anything unusual and where the C module is not built;
* PyYAML's event stream (``yaml._yaml.CParser.get_event`` to the end): the floor
  bench/compare.py measures the 1,000 files against.

Prints each median and its ratio to libyaml alone. Usage: python bench/loader.py [--files N]
[--rounds N]. Needs kctl installed with its C module (pip install -e .).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import validate_many  # bench/, put on the path above


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=9)
    args = parser.parse_args()

    import yaml
    from yaml._yaml import CParser

    from kctl.config import loader

    native = loader._native()
    if native is None:
        sys.exit(
            "kctl.config._compose is not built: pip install -e . (needs a C compiler and libyaml)"
        )
    with tempfile.TemporaryDirectory(prefix="kctl-loader-bench-") as folder:
        validate_many.generate(Path(folder), args.files)
        datas = [path.read_bytes() for path in sorted(Path(folder).glob("*.yaml"))]
    texts = [data.decode("utf-8") for data in datas]

    def libyaml_alone() -> None:
        for data in datas:
            native.count_events(data)

    def c_composer() -> None:
        for data in datas:
            native.compose(data)

    def python_composer() -> None:
        for text in texts:
            loader.load_in_python("x.yaml", text)

    def event_stream() -> None:
        for text in texts:
            get_event = CParser(text).get_event
            while get_event() is not None:
                pass

    sides: dict[str, Callable[[], None]] = {
        "libyaml alone (C, nothing built)": libyaml_alone,
        "kctl's C composer": c_composer,
        "kctl's Python composer": python_composer,
        "PyYAML's event stream (the floor)": event_stream,
    }
    times: dict[str, list[float]] = {name: [] for name in sides}
    for side in sides.values():
        side()  # warm-up: caches, page faults
    for round_ in range(args.rounds):
        names = list(sides)
        names = names[round_ % len(names) :] + names[: round_ % len(names)]
        for name in names:
            start = time.perf_counter()
            sides[name]()
            times[name].append(time.perf_counter() - start)
    base = statistics.median(times["libyaml alone (C, nothing built)"])
    print(f"{args.files:,} files, {sum(map(len, datas)):,} bytes; medians of {args.rounds} rounds")
    print(f"PyYAML {yaml.__version__}, libyaml {yaml._yaml.get_version_string()}")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"  {name:36} {median * 1000:7.1f} ms  {median / base:5.2f}x libyaml alone")


if __name__ == "__main__":
    main()
