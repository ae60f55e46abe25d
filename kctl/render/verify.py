"""kctl verify's checks as a table, one JSON document, JUnit or SARIF, and a progress line."""

from __future__ import annotations

import io
import json
from typing import IO, Any

from kctl import __version__
from kctl.render.escape import escape_untrusted
from kctl.send.verify import Check, Checked, Event, Started

FORMATS = ("text", "json", "junit", "sarif")
KIND_LABELS = {
    "provider-save": "provider save",
    "template-save": "template save",
    "sms-form": "SMS form",
    "sms-reachable": "SMS endpoint",
    "sms-dlt": "DLT template",
    "sms-send": "SMS send",
}


class Progress:
    """One line on stderr, rewritten as checks run (only on a terminal)."""

    def __init__(self, out: IO[str], enabled: bool) -> None:
        self.out = out
        self.enabled = enabled
        self.shown = False

    def __call__(self, event: Event) -> None:
        if not self.enabled:
            return
        if isinstance(event, Started):
            line = f"[{event.index}/{event.total}] {event.provider}: {event.name} ..."
            self.out.write("\r\x1b[2K" + line[:200])
            self.out.flush()
            self.shown = True

    def clear(self) -> None:
        if self.shown:
            self.out.write("\r\x1b[2K")
            self.out.flush()


def checks_of(events: list[Event]) -> list[Check]:
    return [e.check for e in events if isinstance(e, Checked)]


def _seconds(check: Check) -> str:
    return "" if check.seconds is None else f"{check.seconds:.2f} s"


def render_text(checks: list[Check], *, color: bool, width: int) -> str:
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(show_edge=False, pad_edge=False, header_style="bold" if color else "")
    table.add_column("provider")
    table.add_column("check")
    table.add_column("what")
    table.add_column("result")
    table.add_column("time", justify="right")
    table.add_column("detail", overflow="fold")
    for check in checks:
        mark = (
            Text("✓ pass", style="green")
            if check.passed
            else Text(f"✗ exit {check.exit_code}", style="red")
        )
        detail = check.verdict
        if check.samples:
            detail += f" (sample values for: {', '.join(check.samples)})"
        # Text, not str: rich would read "[...]" in a reply or a config name as markup
        table.add_row(
            Text(escape_untrusted(check.provider)),
            KIND_LABELS.get(check.kind, check.kind),
            Text(escape_untrusted(check.name)),
            mark,
            _seconds(check),
            Text(escape_untrusted(detail)),
        )
    console = Console(
        width=width, color_system="standard" if color else None, force_terminal=color,
        record=True, file=io.StringIO(),
    )  # fmt: skip
    console.print(table)
    failed = sum(1 for c in checks if not c.passed)
    summary = (
        f"{len(checks) - failed} of {len(checks)} checks passed"
        + (f", {failed} failed" if failed else "")
        + " (CleverTap's bar: a success within 1 s)"
    )
    console.print(Text(summary, style="red" if failed else "green"))
    # a hint applies to every check that failed the same way: say it once
    for hint in dict.fromkeys(c.hint for c in checks if not c.passed and c.hint):
        console.print(Text(f"hint: {escape_untrusted(hint)}"))
    return console.export_text(styles=color)


def check_data(check: Check) -> dict[str, Any]:
    data: dict[str, Any] = {
        "provider": check.provider,
        "kind": check.kind,
        "name": check.name,
        "line": check.line,
        "passed": check.passed,
        "exit_code": check.exit_code,
        "verdict": check.verdict,
        "hint": check.hint,
        "seconds": None if check.seconds is None else round(check.seconds, 3),
        "sample_values_for": list(check.samples),
    }
    if check.request is not None:
        data["request"] = {
            "url": check.request.url,
            "body": json.loads(check.request.body)
            if check.request.content_type == "application/json"
            else check.request.body.decode("utf-8", "replace"),
        }
    return data


def render_json(checks: list[Check], file: str, exit_code: int) -> str:
    doc = {
        "version": 1,
        "config": file,
        "passed": sum(1 for c in checks if c.passed),
        "failed": sum(1 for c in checks if not c.passed),
        "exit_code": exit_code,
        "checks": [check_data(c) for c in checks],
    }
    return json.dumps(doc, indent=2, ensure_ascii=False) + "\n"


def render_junit(checks: list[Check]) -> str:
    from kctl.render.junit import Case, Failure, Suite, junit_document

    suites: dict[str, Suite] = {}
    for check in checks:
        suite = suites.setdefault(check.provider, Suite(f"kctl verify {check.provider}"))
        text = check.verdict + (f"\nhint: {check.hint}" if check.hint else "")
        suite.cases.append(
            Case(
                f"{KIND_LABELS.get(check.kind, check.kind)}: {check.name}",
                f"kctl.verify.{check.kind}",
                failure=None
                if check.passed
                else Failure(check.verdict, f"exit {check.exit_code}", text),
                output=text if check.passed else None,
                seconds=check.seconds,
            )
        )
    return junit_document("kctl verify", list(suites.values()))


def render_sarif(checks: list[Check], file: str) -> str:
    kinds = sorted({c.kind for c in checks if not c.passed})
    rules = [
        {
            "id": f"verify/{kind}",
            "shortDescription": {"text": f"CleverTap {KIND_LABELS.get(kind, kind)} check fails"},
        }
        for kind in kinds
    ]
    results = [
        {
            "ruleId": f"verify/{c.kind}",
            "ruleIndex": kinds.index(c.kind),
            "level": "error",
            "message": {
                "text": f"{c.provider}: {c.name}: {c.verdict}"
                + (f" (hint: {c.hint})" if c.hint else "")
            },
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {"uri": file},
                        "region": {"startLine": max(c.line, 1)},
                    }
                }
            ],
        }
        for c in checks
        if not c.passed
    ]
    doc = {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kctl verify",
                        "version": __version__,
                        "informationUri": "https://github.com/kctl/kctl",
                        "rules": rules,
                    }
                },
                "results": results,
            }
        ],
    }
    return json.dumps(doc, indent=2) + "\n"
