"""validate-config: find the files, load each once, run structure and rules, collect a Report."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable
from pathlib import Path

from kctl.errors import UsageError
from kctl.findings import Finding, Report, Severity
from kctl.loader import Document, load_bytes
from kctl.rules import RuleChecker
from kctl.spec import StructureChecker

STDIN = "-"
STDIN_NAME = "<stdin>"
YAML_SUFFIXES = (".yaml", ".yml")


def collect_files(paths: Iterable[str]) -> list[str]:
    """Files to check, in the order given; directories expand to their YAML files, sorted."""
    files: list[str] = []
    seen: set[str] = set()

    def add(name: str) -> None:
        if name not in seen:
            seen.add(name)
            files.append(name)

    for raw in paths:
        if raw == STDIN:
            add(STDIN)
            continue
        path = Path(raw)
        try:
            path.stat()
        except OSError as e:
            raise UsageError(f"{raw}: {(e.strerror or str(e)).lower()}") from e
        if path.is_dir():
            found = sorted(_yaml_below(path))
            if not found:
                raise UsageError(f"no *.yaml or *.yml files under {raw}")
            for name in found:
                add(name)
        else:
            add(raw)
    if not files:
        raise UsageError("no config files given", "kctl validate-config PATH... (or - for stdin)")
    return files


def _yaml_below(root: Path) -> Iterable[str]:
    # os.walk does not follow directory links, so a symlink loop cannot trap us
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.endswith(YAML_SUFFIXES) and not name.startswith("."):
                yield os.path.join(folder, name)


def read_config(name: str) -> bytes:
    try:
        if name == STDIN:
            return sys.stdin.buffer.read()
        with open(name, "rb") as fh:
            return fh.read()
    except OSError as e:
        shown = STDIN_NAME if name == STDIN else name
        raise UsageError(f"cannot read {shown}: {e.strerror or e}") from e


def check_document(doc: Document) -> list[Finding]:
    findings = list(doc.findings)
    root = doc.root
    if root is None:
        if not findings:
            findings.append(
                Finding(
                    "KC006",
                    Severity.ERROR,
                    doc.file,
                    1,
                    1,
                    "version",
                    "the file is empty",
                    "a config starts with 'version: 1' and a 'providers' list",
                )
            )
        return findings
    findings.extend(StructureChecker(doc.file).check(root))
    findings.extend(RuleChecker(doc.file).check(root))
    return findings


def load_config(name: str) -> Document:
    data = read_config(name)
    return load_bytes(STDIN_NAME if name == STDIN else name, data)


def validate_paths(paths: Iterable[str], *, strict: bool = False) -> Report:
    files = collect_files(paths)
    report = Report(files=[], findings=[], sources={}, strict=strict)
    for name in files:
        doc = load_config(name)
        report.files.append(doc.file)
        report.sources[doc.file] = doc.text
        report.findings.extend(check_document(doc))
    return report
