"""ANSI styles for human output. The caller decides whether colour is on (terminal, NO_COLOR)."""

from __future__ import annotations

RESET = "\x1b[0m"
BOLD = "\x1b[1m"
DIM = "\x1b[2m"
RED = "\x1b[31m"
GREEN = "\x1b[32m"
YELLOW = "\x1b[33m"
CYAN = "\x1b[36m"


def paint(text: str, style: str, color: bool) -> str:
    return f"{style}{text}{RESET}" if color else text
