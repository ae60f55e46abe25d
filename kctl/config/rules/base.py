"""What every rule module shares: the reporter that turns a code and a node into a Finding."""

from __future__ import annotations

from kctl.config.findings import Finding
from kctl.config.loader import Node, scalar_position
from kctl.contract.rules import rule

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Any

    from kctl.config.dlt import Registry


class Reporter:
    """Collects the findings of one file; the severity of each is the catalog's.

    A node that aliases make reachable along several paths is the same text in the file, so
    what is wrong with it is reported once, at the first path (the anchor's): a finding that
    repeats an earlier one's code, node and message is dropped. Rule messages never hold the
    path, so that comparison sees through it.

    ``text`` is the file's text, for findings that point inside a value; ``registry`` the DLT
    registrations the SMS templates are held against, when one was given.
    """

    def __init__(self, file: str, text: str = "", registry: Registry | None = None) -> None:
        self.file = file
        self.text = text
        self.registry = registry
        self.findings: list[Finding] = []
        self._reported: set[tuple[str, int, str]] = set()
        self._visited: set[int] = set()

    def add(self, code: str, node: Node, path: str, message: str, hint: str | None = None) -> None:
        said = (code, id(node), message)
        if said in self._reported:
            return
        self._reported.add(said)
        severity = rule(code).severity
        self.findings.append(
            Finding(code, severity, self.file, node.line, node.col, path, message, hint)
        )

    def first_visit(self, node: Node) -> bool:
        """Whether the rules have yet to look inside ``node``: False for a shared node seen
        before, whose findings the first visit already made."""
        if not node.shared:
            return True
        if id(node) in self._visited:
            return False
        self._visited.add(id(node))
        return True

    def add_inside(
        self, code: str, node: Node, path: str, message: str, hint: str | None = None, *, at: int
    ) -> None:
        """A finding at character ``at`` of the string ``node`` holds."""
        line, col = scalar_position(self.text, node, at)
        severity = rule(code).severity
        self.findings.append(Finding(code, severity, self.file, line, col, path, message, hint))


def shown(value: str, limit: int = 100) -> str:
    """A value for a message: a 70,000-character URL is quoted by its start."""
    return value if len(value) <= limit else value[: limit - 1] + "…"


def first_at(first: Node, node: Node) -> str:
    """Where a duplicate's first claim is, for the message."""
    return "(an alias lists it again)" if first is node else f"(first at line {first.line})"


class Claims:
    """Which node claimed each key first (a nickname, a template's name and language)."""

    def __init__(self) -> None:
        self._first: dict[Any, Node] = {}
        self._claimants: set[int] = set()

    def earlier(self, key: Any, node: Node) -> Node | None:
        """The node that claimed ``key`` before ``node``; ``node`` itself when an alias lists
        the same node again (the same provider or template twice is a duplicate too); None
        when ``node`` is the first."""
        first = self._first.setdefault(key, node)
        if first is not node:
            return first
        if id(node) in self._claimants:
            return node
        self._claimants.add(id(node))
        return None
