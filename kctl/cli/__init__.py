"""The command line: typer options in, one core call, a renderer out.

The typer app is ``kctl.cli.app.app``. ``main``, the console script, goes through
``kctl.cli.fast`` first, which answers --version, --help and render-callback-url from flags
without importing typer, and hands everything else to ``kctl.cli.app.main``.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs the fast lane a few ms
if TYPE_CHECKING:
    from typing import NoReturn


def main(argv: list[str] | None = None) -> NoReturn:
    from kctl.cli.fast import main as fast_main

    fast_main(argv)


__all__ = ["main"]
