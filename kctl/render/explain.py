"""``kctl explain``: the rule catalog as text, JSON, SARIF help and the README's table.

On the start-up path: imports nothing but the catalog, the errors and the standard library, so
``kctl explain`` answers as fast as ``kctl --help``.
"""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path
from typing import Any, assert_never

from kctl.contract.rules import RULES, Rule, Scope, Severity
from kctl.errors import UsageError
from kctl.render.term import BOLD, RED, YELLOW, paint

INDENT = "    "
DEFAULT_WIDTH = 80  # when stdout is not a terminal
MIN_WIDTH = 40  # narrower than this, wrapping does more harm than good
README_BEGIN = "<!-- rules:begin -->"
README_END = "<!-- rules:end -->"
# a typo of one character, or two swapped, is this close to the code meant (difflib's ratio)
_CLOSE = 0.8


def find_rule(code: str) -> Rule:
    """The catalog entry for ``code`` as a user types it: any case, ``KC`` optional."""
    wanted = code.strip().upper()
    if wanted.isdigit():
        wanted = "KC" + wanted
    rule = RULES.get(wanted)
    if rule is not None:
        return rule
    import difflib

    shown = code if code.isprintable() else ascii(code)
    close = difflib.get_close_matches(wanted, list(RULES), n=1, cutoff=_CLOSE)
    raise UsageError(
        f"unknown rule code '{shown}'",
        f"did you mean '{close[0]}'?" if close else "kctl explain --list shows every code",
    )


def where(scope: Scope) -> str:
    """Where in a config a rule's example fragments go, as the example's heading says it."""
    match scope:
        case Scope.FILE:
            return "a whole file"
        case Scope.CONFIG:
            return "at the top level of a config"
        case Scope.PROVIDERS:
            return "in the providers list (other keys left out)"
        case Scope.WHATSAPP:
            return "in a WhatsApp provider"
        case Scope.SMS:
            return "in an SMS provider"
        case Scope.SMS_HEADERS:
            return "all the headers of an SMS provider"
        case Scope.SMS_PARAMETERS:
            return "all the parameters of an SMS provider"
        case Scope.WHATSAPP_TEMPLATE:
            return "in a WhatsApp template"
        case _:
            assert_never(scope)


def wrap(text: str, width: int) -> list[str]:
    # long words (URLs) stay whole: a URL split across lines can no longer be copied
    return textwrap.wrap(text, max(width, MIN_WIDTH), break_long_words=False)


def _fragment(text: str, width: int | None) -> list[str]:
    lines = [INDENT + line for line in text.splitlines()]
    if width is None:
        return lines
    # only KC403's body is this long; its length is the point, not its words
    return [line if len(line) <= width else line[: width - 1] + "…" for line in lines]


REGISTRY_HEADING = "With this DLT registry (--dlt-registry FILE):"


def _example(rule: Rule, width: int | None) -> list[str]:
    # a CSV row cut short would be a different registration: never truncated
    registry = [REGISTRY_HEADING, *_fragment(rule.registry, None), ""] if rule.registry else []
    return [
        *registry,
        f"Example, {where(rule.scope)}:",
        *_fragment(rule.bad, width),
        "",
        "Fix:",
        *_fragment(rule.good, width),
    ]


def _headline(rule: Rule, color: bool) -> str:
    style = RED if rule.severity is Severity.ERROR else YELLOW
    severity = paint(rule.severity.value, style, color)
    return f"{paint(rule.code, BOLD, color)} ({severity}): {rule.title}"


def render_rule(rule: Rule, *, width: int = DEFAULT_WIDTH, color: bool = False) -> str:
    """What ``kctl explain CODE`` prints: headline, explanation, the example and its fix."""
    width = max(width, MIN_WIDTH)
    lines = [_headline(rule, color), "", *wrap(rule.explanation, width), "", *_example(rule, width)]
    return "\n".join(lines) + "\n"


def render_list() -> str:
    """One line per rule: code, severity, title."""
    size = max(len(s.value) for s in {rule.severity for rule in RULES.values()})
    return "".join(
        f"{rule.code}  {rule.severity.value:<{size}}  {rule.title}\n" for rule in RULES.values()
    )


def rule_data(rule: Rule) -> dict[str, Any]:
    data = {
        "code": rule.code,
        "title": rule.title,
        "severity": rule.severity.value,
        "explanation": rule.explanation,
        "scope": rule.scope.value,
        "bad": rule.bad,
        "good": rule.good,
    }
    if rule.registry:  # only the rules whose example needs a DLT registry have one
        data["registry"] = rule.registry
    return data


def render_json(rule: Rule | None) -> str:
    """One JSON document: the entry for ``rule``, or every entry when it is None."""
    import json

    data = rule_data(rule) if rule is not None else [rule_data(r) for r in RULES.values()]
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


# --- SARIF help (validate-config --format sarif) -------------------------------------------------


def help_text(rule: Rule) -> str:
    return "\n".join([rule.explanation, "", *_example(rule, None)])


def help_markdown(rule: Rule) -> str:
    registry = f"{REGISTRY_HEADING}\n\n```csv\n{rule.registry}\n```\n\n" if rule.registry else ""
    return (
        f"{rule.explanation}\n\n{registry}Example, {where(rule.scope)}:\n\n"
        f"```yaml\n{rule.bad}\n```\n\nFix:\n\n```yaml\n{rule.good}\n```"
    )


# --- README ------------------------------------------------------------------------------------


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def readme_table() -> str:
    """The README's table of rule codes (between README_BEGIN and README_END)."""
    rows = [
        f"| `{rule.code}` | {rule.severity.value} | {_cell(rule.title)} |"
        for rule in RULES.values()
    ]
    return "\n".join(["| code | severity | title |", "|---|---|---|", *rows]) + "\n"


def with_readme_table(readme: str) -> str:
    """``readme`` with the text between the rule markers replaced by the current table."""
    head, found, rest = readme.partition(README_BEGIN)
    _, found_end, tail = rest.partition(README_END)
    if not (found and found_end):
        raise ValueError(f"the README has no {README_BEGIN} ... {README_END} section")
    return f"{head}{README_BEGIN}\n{readme_table()}{README_END}{tail}"


def _main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] != "--readme":
        sys.stderr.write("usage: python -m kctl.render.explain --readme README.md\n")
        return 2
    path = Path(argv[1])
    path.write_text(with_readme_table(path.read_text("utf-8")), "utf-8")
    sys.stdout.write(f"{path}\n")
    return 0


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
