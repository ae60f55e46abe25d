"""What every rule module shares: the reporter that turns a code and a node into a Finding."""

from __future__ import annotations

from typing import Any

from kctl.config.findings import Finding
from kctl.config.loader import Node
from kctl.contract.rules import rule


class Reporter:
    """Collects the findings of one file; the severity of each is the catalog's."""

    def __init__(self, file: str) -> None:
        self.file = file
        self.findings: list[Finding] = []

    def add(self, code: str, node: Node, path: str, message: str, hint: str | None = None) -> None:
        severity = rule(code).severity
        self.findings.append(
            Finding(code, severity, self.file, node.line, node.col, path, message, hint)
        )


def first_seen(seen: dict[Any, Node], key: Any, node: Node) -> Node | None:
    """The node that claimed ``key`` before ``node`` did, or None when ``node`` is the first."""
    first = seen.setdefault(key, node)
    return None if first is node else first
