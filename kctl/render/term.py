"""ANSI styles for human output. The caller decides whether colour is on (terminal, NO_COLOR)."""

from __future__ import annotations

import os

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RED = "\x1b[31m"
GREEN = "\x1b[32m"
YELLOW = "\x1b[33m"
CYAN = "\x1b[36m"


def paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{RESET}" if color else text


# the CLI's --color (auto, always, never); main() sets it wherever the flag is on the line
_color = {"choice": "auto"}


def set_color(choice: str) -> None:
    _color["choice"] = choice


def wants_color(stream: object) -> bool:
    """--color, then NO_COLOR and FORCE_COLOR (CI logs render ANSI but are no terminal), then
    whether ``stream`` is a terminal that is not ``TERM=dumb``."""
    if _color["choice"] != "auto":
        return _color["choice"] == "always"
    if os.environ.get("NO_COLOR"):
        return False
    forced = os.environ.get("FORCE_COLOR")
    if forced is not None and forced != "":
        return forced.lower() not in ("0", "false", "no")
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and os.environ.get("TERM") != "dumb"
