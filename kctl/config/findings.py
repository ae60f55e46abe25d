"""Validation findings are data: code, severity, location, key path, message, hint."""

from __future__ import annotations

from dataclasses import dataclass

from kctl.contract.rules import Severity

__all__ = ["Finding", "Report", "Severity"]


@dataclass(frozen=True, slots=True)
class Finding:
    code: str
    severity: Severity
    file: str
    line: int  # 1-based
    col: int  # 1-based
    path: str  # key path, e.g. "providers[0].headers.api-key"; "" for the document
    message: str
    hint: str | None = None

    @property
    def is_error(self) -> bool:
        return self.severity is Severity.ERROR


@dataclass(slots=True)
class Report:
    """Everything one validate-config run produced, in the order the files were given."""

    files: list[str]
    findings: list[Finding]
    # file name -> its text, so renderers can quote the offending source line
    sources: dict[str, str]
    strict: bool = False
    ignored: int = 0  # findings --select/--ignore or inline comments left out

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
