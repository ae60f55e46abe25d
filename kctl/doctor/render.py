"""``render_checks``: the checks as a terminal table or as one JSON document, masked."""

from __future__ import annotations

import json
import textwrap
from collections.abc import Iterable

from kctl.doctor.check import Check, Status, overall_exit_code
from kctl.render.escape import escape_untrusted, escape_untrusted_json
from kctl.secrets import Masker

JSON_VERSION = 1

_MARKS: dict[Status, str] = {"ok": "ok", "warn": "warn", "fail": "FAIL", "skip": "skip"}
_NAME_COLUMN_MAX = 40


def render_checks(checks: Iterable[Check], as_json: bool, *, width: int = 100) -> str:
    """A table (status, name, detail, then the hint on its own line), wrapped at word
    boundaries to ``width`` columns, or one JSON document ``{"version": 1, "checks": [...],
    "exit_code": N}``.

    Checks in a row that share a hint show it once, after the last of them. Every string
    goes through one Masker that knows every secret any check saw.
    """
    checks = list(checks)
    masker = Masker(s for c in checks for s in c.secrets)
    code = overall_exit_code(checks)
    if as_json:
        document = {
            "version": JSON_VERSION,
            "checks": [
                {
                    "name": masker.mask_text(c.name),
                    "status": c.status,
                    "detail": masker.mask_text(c.detail),
                    "hint": masker.mask_text(c.hint) if c.hint is not None else None,
                    "exit_code": c.exit_code,
                }
                for c in checks
            ],
            "exit_code": code,
        }
        return escape_untrusted_json(json.dumps(document, indent=2, ensure_ascii=False)) + "\n"

    def clean(text: str) -> str:
        # values from the environment and the network must not drive the terminal
        return escape_untrusted(masker.mask_text(text))

    names = [clean(c.name) for c in checks]
    name_width = min(max((len(n) for n in names), default=0), _NAME_COLUMN_MAX)
    mark_width = max(len(m) for m in _MARKS.values())
    lead = mark_width + 2 + name_width + 2
    # on a narrow terminal the detail goes below the name, indented, instead of beside it
    beside = width - lead >= 40
    indent = " " * (lead if beside else mark_width + 2)
    text_width = max(width - len(indent), 20)
    lines: list[str] = []
    for i, (check, name) in enumerate(zip(checks, names, strict=True)):
        detail = textwrap.wrap(
            clean(check.detail), text_width, break_on_hyphens=False, break_long_words=False
        ) or [""]
        head = f"{_MARKS[check.status]:<{mark_width}}  {name:<{name_width}}"
        if beside:
            lines.append(f"{head}  {detail[0]}")
            lines += [indent + d for d in detail[1:]]
        else:
            lines.append(head.rstrip())
            lines += [indent + d for d in detail]
        following = checks[i + 1] if i + 1 < len(checks) else None
        if check.hint and not (following is not None and following.hint == check.hint):
            hint = textwrap.wrap(
                f"hint: {clean(check.hint)}",
                text_width,
                break_on_hyphens=False,
                break_long_words=False,
            )
            lines += [indent + h for h in hint]
    counts = {s: sum(c.status == s for c in checks) for s in _MARKS}
    lines.append("")
    lines.append(
        f"{counts['ok']} ok, {counts['warn']} warning(s), {counts['fail']} failed, "
        f"{counts['skip']} skipped; exit code {code}"
    )
    return "\n".join(lines) + "\n"
