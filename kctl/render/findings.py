"""Render a validate-config Report as text, json, github, junit or sarif.

Pure: every renderer returns the whole document as one string and the caller decides where it
goes. Findings always come out in the same order: files as given, then line, column, code.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Callable, Iterator

from kctl import __version__
from kctl.config.findings import Finding, Report
from kctl.config.quoted import LINE_BREAK
from kctl.contract.rules import RULES
from kctl.errors import UsageError
from kctl.render.escape import UNSAFE_EXCEPT_TAB
from kctl.render.term import BOLD, CYAN, RED, YELLOW, paint

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Any

FORMATS = ("text", "json", "github", "junit", "sarif")

INFORMATION_URI = "https://github.com/kctl/kctl"
SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _title(code: str) -> str:
    entry = RULES.get(code)
    return entry.title if entry is not None else code


def render_report(report: Report, fmt: str, *, color: bool = False) -> str:
    """The whole output document for ``report`` in format ``fmt`` (one of FORMATS)."""
    try:
        renderer = _RENDERERS[fmt]
    except KeyError:
        raise UsageError(
            f"unknown output format {fmt!r}", hint=f"use one of: {', '.join(FORMATS)}"
        ) from None
    return renderer(report, color)


def ordered_findings(report: Report) -> list[Finding]:
    """Findings in output order: files as given (strays last, by name), line, column, code."""
    rank = {name: i for i, name in enumerate(report.files)}

    def key(f: Finding) -> tuple[int, str, int, int, str]:
        if f.file in rank:
            return (rank[f.file], "", f.line, f.col, f.code)
        return (len(rank), f.file, f.line, f.col, f.code)

    return sorted(report.findings, key=key)


def _all_files(report: Report, findings: list[Finding]) -> list[str]:
    """report.files, plus any file a finding names that the caller forgot to list."""
    known = set(report.files)
    extra = dict.fromkeys(f.file for f in findings if f.file not in known)
    return [*report.files, *extra]


def _with_hint(f: Finding) -> str:
    return f.message if f.hint is None else f"{f.message} (hint: {f.hint})"


# --- text ---------------------------------------------------------------------------------------

_INDENT = "    "
# What a terminal could act on, tab aside, is shown escaped: config content must never drive
# the terminal, and one finding stays one line for editors' problem matchers.
_CONTROL = UNSAFE_EXCEPT_TAB


def _visible(text: str) -> str:
    return _CONTROL.sub(lambda m: ascii(m.group())[1:-1], text)


def _char_width(ch: str) -> int:
    if ch == "\t":
        return 0  # handled by the caller: a tab is copied, not measured
    if _CONTROL.fullmatch(ch):
        return len(_visible(ch))
    if unicodedata.combining(ch):
        return 0
    return 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1


def _caret_pad(line: str, col: int) -> str:
    """Whitespace that puts a caret under character ``col`` of ``line`` as displayed."""
    prefix = line[: max(col - 1, 0)]
    if prefix.isascii() and "\t" not in prefix and not _CONTROL.search(prefix):
        return " " * (col - 1)
    pad = "".join("\t" if ch == "\t" else " " * _char_width(ch) for ch in prefix)
    # A column past the end of the line (e.g. "missing value" at end of line) still gets a caret.
    return pad + " " * max(col - 1 - len(prefix), 0)


MAX_QUOTED = 160  # characters of a source line quoted under a finding


def _window(line: str, col: int) -> tuple[str, int]:
    """At most MAX_QUOTED characters of ``line`` around ``col`` (a minified file is one line)."""
    if len(line) <= MAX_QUOTED:
        return line, col
    start = max(0, min(col - 1 - MAX_QUOTED // 2, len(line) - MAX_QUOTED))
    piece = line[start : start + MAX_QUOTED]
    prefix = "…" if start else ""
    suffix = "…" if start + MAX_QUOTED < len(line) else ""
    return prefix + piece + suffix, col - start + len(prefix)


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def _render_text(report: Report, color: bool) -> str:
    return "".join(text_lines(report, color))


def text_lines(report: Report, color: bool) -> Iterator[str]:
    """The text format, line by line (each with its newline), so that a long report can be
    written as it is made instead of held whole: 10,000 files with 2,000 findings make 0.5 MB."""
    current: str | None = None  # findings come file by file: only this file's lines are kept
    source_lines: list[str] | None = None
    for f in ordered_findings(report):
        style = RED if f.is_error else YELLOW
        head = f"{f.file}:{f.line}:{f.col}: {paint(f.code, BOLD + style, color)} "
        if not f.is_error:
            head += paint("warning:", style, color) + " "
        yield head + _visible(f.message) + "\n"

        if f.file != current:
            current, source = f.file, report.sources.get(f.file)
            source_lines = None if source is None else LINE_BREAK.split(source)
        if source_lines is not None and 1 <= f.line <= len(source_lines) and f.col >= 1:
            line, col = _window(source_lines[f.line - 1], f.col)
            yield _INDENT + _visible(line) + "\n"
            yield _INDENT + _caret_pad(line, col) + paint("^", BOLD + style, color) + "\n"

        if f.hint is not None:
            yield f"{_INDENT}{paint('hint:', CYAN, color)} {_visible(f.hint)}\n"

    yield _summary(report, color) + "\n"


def _summary(report: Report, color: bool) -> str:
    in_files = f"in {_plural(len(report.files), 'file')}"
    parts = []
    if report.error_count:
        parts.append(paint(_plural(report.error_count, "error"), BOLD + RED, color))
    if report.warning_count:
        parts.append(paint(_plural(report.warning_count, "warning"), BOLD + YELLOW, color))
    ignored = f" ({_plural(report.ignored, 'finding')} ignored)" if report.ignored else ""
    if not parts:
        return f"no problems found {in_files}{ignored}"
    return f"{', '.join(parts)} {in_files}{ignored}"


# --- json ---------------------------------------------------------------------------------------


def findings_data(report: Report) -> list[dict[str, Any]]:
    """The findings as JSON-ready dicts, in report order (also used for --json errors)."""
    return [
        {
            "code": f.code,
            "severity": f.severity.value,
            "file": f.file,
            "line": f.line,
            "column": f.col,
            "path": f.path,
            "message": f.message,
            "hint": f.hint,
        }
        for f in ordered_findings(report)
    ]


def _render_json(report: Report, color: bool) -> str:
    document = {
        "version": 1,
        "tool": {"name": "kctl", "version": __version__},
        "strict": report.strict,
        "summary": {
            "files": len(report.files),
            "errors": report.error_count,
            "warnings": report.warning_count,
            "failed": report.failed,
            "ignored": report.ignored,
        },
        "files": list(report.files),
        "findings": findings_data(report),
    }
    import json  # the json and sarif formats only

    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


# --- github -------------------------------------------------------------------------------------

_GITHUB_DATA = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A"})
_GITHUB_PROPERTY = str.maketrans({"%": "%25", "\r": "%0D", "\n": "%0A", ":": "%3A", ",": "%2C"})


def _render_github(report: Report, color: bool) -> str:
    # Under --strict a warning still fails the run but is annotated as what it is.
    out = []
    for f in ordered_findings(report):
        command = "error" if f.is_error else "warning"
        properties = ",".join(
            f"{key}={str(value).translate(_GITHUB_PROPERTY)}"
            for key, value in (
                ("file", f.file),
                ("line", f.line),
                ("col", f.col),
                ("title", f.code),
            )
        )
        out.append(f"::{command} {properties}::{_with_hint(f).translate(_GITHUB_DATA)}\n")
    return "".join(out)


# --- junit --------------------------------------------------------------------------------------


def _junit_text(f: Finding) -> str:
    where = f"{f.file}:{f.line}:{f.col}"
    text = f"{where} {f.path}: {f.message}" if f.path else f"{where}: {f.message}"
    return text if f.hint is None else f"{text}\nhint: {f.hint}"


def _render_junit(report: Report, color: bool) -> str:
    from kctl.render.junit import Case, Failure, Suite, junit_document

    findings = ordered_findings(report)
    by_file: dict[str, list[Finding]] = {name: [] for name in _all_files(report, findings)}
    for f in findings:
        by_file[f.file].append(f)
    suites = []
    for name, file_findings in by_file.items():
        cases = []
        for f in file_findings:
            text = _junit_text(f)
            fails = report.is_failure(f)
            cases.append(
                Case(
                    f"{f.code} line {f.line} col {f.col}",
                    f.file,
                    failure=Failure(f.message, f.code, text) if fails else None,
                    output=None if fails else text,
                )
            )
        suites.append(Suite(name, cases or [Case(name, "kctl.validate-config")]))
    return junit_document("kctl validate-config", suites)


# --- sarif --------------------------------------------------------------------------------------


def _sarif_rule(code: str) -> dict[str, Any]:
    rule: dict[str, Any] = {"id": code, "shortDescription": {"text": _title(code)}}
    entry = RULES.get(code)
    # code scanning shows these beside each alert, so the reader learns the fix where they look
    if entry is not None and entry.explanation:
        rule["fullDescription"] = {"text": entry.explanation}
        from kctl.render.explain import help_markdown, help_text  # SARIF only

        rule["help"] = {"text": help_text(entry), "markdown": help_markdown(entry)}
    return rule


def _render_sarif(report: Report, color: bool) -> str:
    findings = ordered_findings(report)
    codes = sorted({f.code for f in findings})
    rule_index = {code: i for i, code in enumerate(codes)}
    rules = [_sarif_rule(code) for code in codes]

    results = []
    for f in findings:
        physical: dict[str, Any] = {"artifactLocation": {"uri": f.file}}
        if f.line >= 1:  # SARIF regions are 1-based; a finding without a line has none
            region = {"startLine": f.line}
            if f.col >= 1:
                region["startColumn"] = f.col
            physical["region"] = region
        results.append(
            {
                "ruleId": f.code,
                "ruleIndex": rule_index[f.code],
                "level": f.severity.value,
                "message": {"text": _with_hint(f)},
                "locations": [{"physicalLocation": physical}],
                "properties": {"path": f.path},
            }
        )

    document = {
        "$schema": SARIF_SCHEMA,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "kctl",
                        "version": __version__,
                        "informationUri": INFORMATION_URI,
                        "rules": rules,
                    }
                },
                # kctl counts columns in characters, not SARIF's default UTF-16 code units.
                "columnKind": "unicodeCodePoints",
                "results": results,
            }
        ],
    }
    import json  # the json and sarif formats only

    return json.dumps(document, indent=2, ensure_ascii=False) + "\n"


_RENDERERS: dict[str, Callable[[Report, bool], str]] = {
    "text": _render_text,
    "json": _render_json,
    "github": _render_github,
    "junit": _render_junit,
    "sarif": _render_sarif,
}
