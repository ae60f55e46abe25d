"""``kctl templates``: the diff as text (like ``kubectl diff``), JSON, GitHub annotations or
SARIF, and pull's summary. Every value from a config or a remote is escaped before it reaches a
terminal; the caller masks the result."""

from __future__ import annotations

import json
from typing import Any

from kctl import __version__
from kctl.render.escape import escape_untrusted as visible
from kctl.render.term import BOLD, CYAN, DIM, GREEN, RED, YELLOW, paint
from kctl.templates.diff import Comparison, DiffResult
from kctl.templates.pull import PullItem, PullOutcome

FORMATS = ("text", "json", "github", "sarif")
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_SHORT = 120  # characters of a value quoted in a one-line message

RULES = {
    "templates/changed": "The template differs from the one the remote approved",
    "templates/not-approved": "The remote template is not APPROVED (paused, disabled, pending...)",
    "templates/only-in-config": "The config has a template the remote does not",
    "templates/only-remote": "The remote has a template the config does not",
}


def rule_of(c: Comparison) -> str:
    if not c.in_remote:
        return "templates/only-in-config"
    if not c.in_config:
        return "templates/only-remote"
    if c.changes and all(ch.field == "status" for ch in c.changes):
        return "templates/not-approved"
    return "templates/changed"


def _short(value: str | None) -> str:
    if value is None:
        return "(none)"
    flat = visible(value.replace("\n", "\\n"))
    return flat if len(flat) <= _SHORT else flat[:_SHORT] + "…"


def summary_line(c: Comparison, remote_name: str) -> str:
    """One line that says what drifted and how, for annotations and SARIF."""
    if not c.in_remote:
        return f"{c.label} is in the config but not on {remote_name}"
    if not c.in_config:
        return f"{c.label} is on {remote_name} ({c.status}) but not in the config"
    parts = [f"{ch.field}: {_short(ch.config)} -> {_short(ch.remote)}" for ch in c.changes]
    return f"{c.label} differs from {remote_name}: " + "; ".join(parts)


def _counts(result: DiffResult) -> dict[str, int]:
    counts = {"templates": len(result.comparisons), "drifted": len(result.drifted)}
    for state in ("changed", "only_in_config", "only_remote"):
        counts[state] = sum(1 for c in result.comparisons if c.state == state)
    return counts


# --- text ---------------------------------------------------------------------------------------


def render_text(result: DiffResult, *, remote_name: str, color: bool) -> str:
    out = [
        paint(
            f"--- config  {visible(result.file)} (provider {visible(result.provider)})", BOLD, color
        ),
        paint(f"+++ remote  {visible(result.source)}", BOLD, color),
    ]
    for c in result.comparisons:
        if not c.drifted:
            continue
        where = f"{visible(result.file)}:{c.line}" if c.in_config else ""
        if not c.in_remote:
            head = f"- {visible(c.label)}  {where}  only in the config: {remote_name} has none"
            out.append(paint(head, RED, color))
            continue
        if not c.in_config:
            head = f"+ {visible(c.label)}  only on {remote_name} ({c.status}): not in the config"
            out.append(paint(head, GREEN, color))
            continue
        mark = "!" if rule_of(c) == "templates/not-approved" else "~"
        status = f"  {c.status}" if c.status else ""
        out.append(paint(f"{mark} {visible(c.label)}  {where}{status}", YELLOW, color))
        if c.note:
            out.append(paint(f"    ({c.note})", DIM, color))
        for ch in c.changes:
            out.append(paint(f"    {ch.field}:", CYAN, color))
            out += _value_lines("-", ch.config, RED, color)
            out += _value_lines("+", ch.remote, GREEN, color)
    out.append("")
    out.append(_summary(result, remote_name))
    return "\n".join(out) + "\n"


def _value_lines(sign: str, value: str | None, style: str, color: bool) -> list[str]:
    if value is None:
        return [paint(f"{sign}     (none)", style, color)]
    return [paint(f"{sign}     {visible(line)}", style, color) for line in value.split("\n")]


def _summary(result: DiffResult, remote_name: str) -> str:
    n = _counts(result)
    if not n["drifted"]:
        return f"no drift: {n['templates']} template(s) match {remote_name}"
    parts = [
        f"{n['changed']} changed" if n["changed"] else "",
        f"{n['only_in_config']} only in the config" if n["only_in_config"] else "",
        f"{n['only_remote']} only on {remote_name}" if n["only_remote"] else "",
    ]
    listed = ", ".join(p for p in parts if p)
    return f"drift: {n['drifted']} of {n['templates']} template(s) ({listed})"


# --- json ---------------------------------------------------------------------------------------


def diff_data(result: DiffResult) -> dict[str, Any]:
    return {
        "version": 1,
        "file": result.file,
        "provider": result.provider,
        "source": result.source,
        "drift": bool(result.drifted),
        "exit_code": result.exit_code,
        "summary": _counts(result),
        "templates": [
            {
                "name": c.name,
                "language": c.language,
                "line": c.line or None,
                "state": c.state,
                "status": c.status,
                "changes": [
                    {"field": ch.field, "config": ch.config, "remote": ch.remote}
                    for ch in c.changes
                ],
                **({"note": c.note} if c.note else {}),
            }
            for c in result.comparisons
        ],
    }


def render_json(result: DiffResult) -> str:
    return json.dumps(diff_data(result), indent=2, ensure_ascii=False) + "\n"


# --- github -------------------------------------------------------------------------------------

_GITHUB_DATA = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A"})
_GITHUB_PROPERTY = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A", ":": "%3A", ",": "%2C"})


def render_github(result: DiffResult, *, remote_name: str) -> str:
    out = []
    for c in result.drifted:
        line = c.line or result.provider_line or 1
        properties = ",".join(
            f"{key}={str(value).translate(_GITHUB_PROPERTY)}"
            for key, value in (("file", result.file), ("line", line), ("title", rule_of(c)))
        )
        out.append(
            f"::error {properties}::{summary_line(c, remote_name).translate(_GITHUB_DATA)}\n"
        )
    return "".join(out)


# --- sarif --------------------------------------------------------------------------------------


def render_sarif(result: DiffResult, *, remote_name: str) -> str:
    ids = sorted({rule_of(c) for c in result.drifted})
    rules = [{"id": rule, "shortDescription": {"text": RULES[rule]}} for rule in ids]
    results = [
        {
            "ruleId": rule_of(c),
            "ruleIndex": ids.index(rule_of(c)),
            "level": "error",
            "message": {"text": summary_line(c, remote_name)},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": result.file},
                        "region": {"startLine": c.line or result.provider_line or 1},
                    }
                }
            ],
            "properties": {"template": c.name, "language": c.language, "state": c.state},
        }
        for c in result.drifted
    ]
    doc = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kctl templates diff",
                        "version": __version__,
                        "informationUri": "https://github.com/kctl/kctl",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render_diff(result: DiffResult, fmt: str, *, remote_name: str, color: bool) -> str:
    match fmt:
        case "json":
            return render_json(result)
        case "github":
            return render_github(result, remote_name=remote_name)
        case "sarif":
            return render_sarif(result, remote_name=remote_name)
        case _:
            return render_text(result, remote_name=remote_name, color=color)


# --- pull ---------------------------------------------------------------------------------------

_PULL_MARKS = {"add": "+", "update": "~", "same": "=", "keep": "!", "skip": " "}


def render_pull_text(outcome: PullOutcome, *, dry_run: bool) -> str:
    width = max((len(visible(i.label)) for i in outcome.items), default=0)
    width = max([width, *(len(visible(label)) for label in outcome.only_in_config)])
    lines = []
    for item in outcome.items:
        lines.append(
            f"{_PULL_MARKS[item.action]} {visible(item.label).ljust(width)}  {_pull_words(item)}"
        )
    for label in outcome.only_in_config:
        lines.append(f"? {visible(label).ljust(width)}  only in the config; kept")
    if dry_run and outcome.preview:
        lines += ["", visible(outcome.preview).rstrip("\n")]
    return "\n".join(lines) + "\n" if lines else ""


def _pull_words(item: PullItem) -> str:
    detail = visible(item.detail)
    match item.action:
        case "add":
            return "added"
        case "update":
            return f"updated: {detail}"
        case "same":
            return "unchanged"
        case "keep":
            return f"differs ({detail}); kept: pass --force to take the remote's"
        case _:
            return f"skipped: {detail}"


def render_pull_json(outcome: PullOutcome) -> str:
    doc = {
        "version": 1,
        "target": str(outcome.target),
        "source": outcome.source,
        "written": outcome.written,
        "exit_code": outcome.exit_code,
        "templates": [
            {
                "name": i.name,
                "language": i.language,
                "action": i.action,
                **({"detail": i.detail} if i.detail else {}),
            }
            for i in outcome.items
        ],
        "only_in_config": list(outcome.only_in_config),
        "preview": outcome.preview,
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"
