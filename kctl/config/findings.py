"""Validation findings are data: code, severity, location, key path, message, hint."""

from __future__ import annotations

from kctl.contract.rules import Severity
from kctl.lean import Record

__all__ = ["Finding", "Report", "Severity"]


class Finding(Record):
    __slots__ = ("code", "col", "file", "hint", "line", "message", "path", "severity")
    code: str
    severity: Severity
    file: str
    line: int  # 1-based
    col: int  # 1-based
    path: str  # key path, e.g. "providers[0].headers.api-key"; "" for the document
    message: str
    hint: str | None

    def __init__(  # noqa: PLR0917
        self,
        code: str,
        severity: Severity,
        file: str,
        line: int,
        col: int,
        path: str,
        message: str,
        hint: str | None = None,
    ) -> None:
        self.code = code
        self.severity = severity
        self.file = file
        self.line = line
        self.col = col
        self.path = path
        self.message = message
        self.hint = hint

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


class Report:
    """Everything one validate-config run produced, in the order the files were given."""

    __slots__ = ("files", "findings", "ignored", "sources", "strict")
    files: list[str]
    findings: list[Finding]
    # file name -> its text, so renderers can quote the offending source line
    sources: dict[str, str]
    strict: bool
    ignored: int  # findings --select/--ignore or inline comments left out

    def __init__(
        self,
        files: list[str],
        findings: list[Finding],
        sources: dict[str, str],
        strict: bool = False,
        ignored: int = 0,
    ) -> None:
        self.files = files
        self.findings = findings
        self.sources = sources
        self.strict = strict
        self.ignored = ignored

    @property
    def error_count(self) -> int:
        return sum(1 for f in self.findings if f.is_error)

    @property
    def warning_count(self) -> int:
        return len(self.findings) - self.error_count

    @property
    def failed(self) -> bool:
        return self.error_count > 0 or (self.strict and self.warning_count > 0)

    def is_failure(self, f: Finding) -> bool:
        """Whether this finding fails the run (errors always, warnings under --strict)."""
        return f.is_error or self.strict
