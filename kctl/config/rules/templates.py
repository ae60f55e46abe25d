"""What WhatsApp and SMS templates share: KC408, the template name."""

from __future__ import annotations

import re

from kctl.config.loader import Node
from kctl.config.rules.base import Reporter
from kctl.contract.numbers import is_template_name


def check_template_name(reporter: Reporter, t: Node, path: str) -> None:
    name = t.get("name")
    if name is not None and name.text() is not None and not is_template_name(name.value):
        fixed = re.sub(r"[^a-z0-9_]+", "_", name.value.lower()).strip("_")
        reporter.add(
            "KC408",
            name,
            f"{path}.name",
            f"template name '{name.value}' may hold only lower-case letters, digits and _",
            f"e.g. '{fixed}'" if fixed else None,
        )
