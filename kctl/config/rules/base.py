"""What every rule module shares: the reporter that turns a code and a node into a Finding."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from kctl.config.findings import Finding
from kctl.config.loader import Node, scalar_position
from kctl.contract.rules import rule

if TYPE_CHECKING:
    from kctl.config.dlt import Registry


class Reporter:
    """Collects the findings of one file; the severity of each is the catalog's.

    ``text`` is the file's text, for findings that point inside a value; ``registry`` the DLT
    registrations the SMS templates are held against, when one was given."""

    def __init__(self, file: str, text: str = "", registry: Registry | None = None) -> None:
        self.file = file
        self.text = text
        self.registry = registry
        self.findings: list[Finding] = []

    def add(self, code: str, node: Node, path: str, message: str, hint: str | None = None) -> None:
        severity = rule(code).severity
        self.findings.append(
            Finding(code, severity, self.file, node.line, node.col, path, message, hint)
        )

    def add_inside(
        self, code: str, node: Node, path: str, message: str, hint: str | None = None, *, at: int
    ) -> None:
        """A finding at character ``at`` of the string ``node`` holds."""
        line, col = scalar_position(self.text, node, at)
        severity = rule(code).severity
        self.findings.append(Finding(code, severity, self.file, line, col, path, message, hint))


def first_seen(seen: dict[Any, Node], key: Any, node: Node) -> Node | None:
    """The node that claimed ``key`` before ``node`` did, or None when ``node`` is the first."""
    first = seen.setdefault(key, node)
    return None if first is node else first
