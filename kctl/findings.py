"""Validation findings are data: code, severity, location, key path, message, hint."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Severity(str, Enum):
    ERROR = "error"
    WARNING = "warning"


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


def sort_key(f: Finding) -> tuple[str, int, int, str]:
    return (f.file, f.line, f.col, f.code)
