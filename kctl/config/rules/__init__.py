"""The semantic rules of SPEC 1.2 (KC006, KC1xx to KC5xx), one module per group of codes.

Structural problems (unknown keys, missing keys, wrong types, enum values) come from
``kctl.config.schema``; the rules here read only values that have the right type, so one
mistake is reported once. Each finding's severity comes from the rule catalog
(``kctl.contract.rules``).
"""

from __future__ import annotations

from kctl.config.findings import Finding
from kctl.config.loader import Node
from kctl.config.rules.base import Reporter
from kctl.config.rules.provider import check_account

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from kctl.config.dlt import Registry


def check_rules(
    file: str, root: Node, text: str = "", registry: Registry | None = None
) -> list[Finding]:
    """Every rule finding for the document ``root`` of ``file`` (whose text is ``text``), the
    SMS templates held against the DLT ``registry`` when there is one."""
    reporter = Reporter(file, text, registry)
    if root.is_map:
        check_account(reporter, root)
    return reporter.findings


__all__ = ["check_rules"]
