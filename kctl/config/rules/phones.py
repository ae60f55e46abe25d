"""KC108: phone numbers in the config must exist in their country's numbering plan."""

from __future__ import annotations

from kctl.config.loader import Node
from kctl.config.rules.base import Reporter
from kctl.contract.numbers import phone_problem


def check_phone(reporter: Reporter, node: Node, path: str) -> None:
    value = node.text()
    if value is None:
        return
    problem = phone_problem(value)
    if problem is not None:
        reporter.add("KC108", node, path, *problem)
