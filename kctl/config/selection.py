"""Which findings a run reports: ``--select``/``--ignore`` code lists and inline
``# kctl: ignore[KCnnn]`` comments, as ruff's ``# noqa`` and yamllint's ``disable-line`` work.

A comment silences the codes it names on its own line, or, alone on a line, on the next one.
KC001..KC006 and KC102 cannot be silenced: they describe a file kctl cannot read as a config,
and every later step (the typed model, send-test) depends on reading it.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kctl.config.findings import Finding
from kctl.contract.rules import RULES
from kctl.errors import UsageError
from kctl.lean import Record

UNSILENCEABLE = frozenset({"KC001", "KC002", "KC003", "KC004", "KC005", "KC006", "KC102"})
_INLINE = re.compile(r"#\s*kctl:\s*ignore\[([^\]]*)\]")
_CODE = re.compile(r"KC\d{1,3}")


def parse_codes(values: Iterable[str], flag: str) -> frozenset[str]:
    """Codes or code prefixes (``KC2`` is every KC2xx rule), comma-separated or repeated."""
    chosen: set[str] = set()
    for value in values:
        for raw in value.split(","):
            code = raw.strip().upper()
            if not code:
                continue
            if not _CODE.fullmatch(code) or not any(c.startswith(code) for c in RULES):
                import difflib  # only for a code nobody knows

                close = difflib.get_close_matches(code, RULES, n=1)
                raise UsageError(
                    f"{flag}: no rule {raw.strip()!r}",
                    f"did you mean {close[0]}?" if close else "kctl explain --list lists the codes",
                )
            chosen.add(code)
    return frozenset(chosen)


def _matches(code: str, patterns: frozenset[str]) -> bool:
    return any(code.startswith(p) for p in patterns)


class Selection(Record):
    __slots__ = ("ignore", "select")
    select: frozenset[str]  # empty: every rule
    ignore: frozenset[str]

    def __init__(
        self, select: frozenset[str] = frozenset(), ignore: frozenset[str] = frozenset()
    ) -> None:
        self.select = select
        self.ignore = ignore
        self._refuse_unsilenceable()

    def _refuse_unsilenceable(self) -> None:
        for pattern in sorted(self.ignore):
            codes = [c for c in RULES if c.startswith(pattern)]
            if codes and all(c in UNSILENCEABLE for c in codes):
                raise UsageError(
                    f"--ignore {pattern}: {', '.join(codes)} cannot be ignored",
                    "they mean kctl cannot read the file as a config; fix the file instead",
                )

    def keeps(self, code: str) -> bool:
        if code in UNSILENCEABLE:
            return True
        if self.select and not _matches(code, self.select):
            return False
        return not _matches(code, self.ignore)


def inline_ignores(text: str) -> dict[int, frozenset[str]]:
    """Line number (1-based) -> the codes a ``# kctl: ignore[...]`` comment silences there."""
    found: dict[int, set[str]] = {}
    for number, line in enumerate(text.splitlines(), start=1):
        match = _INLINE.search(line)
        if match is None:
            continue
        codes = {c.strip().upper() for c in match.group(1).split(",") if c.strip()}
        # a comment alone on its line speaks for the line below it
        target = number + 1 if line[: match.start()].strip() == "" else number
        found.setdefault(target, set()).update(codes)
    return {line: frozenset(codes) for line, codes in found.items()}


def apply(findings: list[Finding], text: str, selection: Selection) -> tuple[list[Finding], int]:
    """The findings to report, and how many were left out."""
    inline = inline_ignores(text) if "kctl:" in text else {}
    kept = [
        f
        for f in findings
        if selection.keeps(f.code)
        and (f.code in UNSILENCEABLE or not _matches(f.code, inline.get(f.line, frozenset())))
    ]
    return kept, len(findings) - len(kept)
