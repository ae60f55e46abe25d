"""validate-config: find the files, load each once, run structure and rules, collect a Report."""

from __future__ import annotations

import functools
import os
import stat
import sys
from collections.abc import Iterable

from kctl.config.findings import Finding, Report, Severity
from kctl.config.loader import Document, Node, load_bytes
from kctl.config.parallel import check_files, worker_count
from kctl.config.quoted import quoted_source
from kctl.config.rules import check_rules
from kctl.config.schema import StructureChecker
from kctl.config.selection import Selection, apply
from kctl.contract.channels import SECRET_HEADERS
from kctl.errors import UsageError
from kctl.secrets import Masker, parse_reference

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import BinaryIO

    from kctl.config.dlt import Registry

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
        try:
            is_dir = stat.S_ISDIR(os.stat(raw).st_mode)
        except OSError as e:
            raise UsageError(f"{raw}: {(e.strerror or str(e)).lower()}") from e
        except ValueError as e:  # a NUL byte in the name
            raise UsageError(f"{raw!r}: not a file name") from e
        if is_dir:
            found = sorted(_yaml_below(_folder_name(raw)))
            if not found:
                raise UsageError(f"no *.yaml or *.yml files under {raw}")
            for name in found:
                add(name)
        else:
            add(raw)
    if not files:
        raise UsageError("no config files given", "kctl validate-config PATH... (or - for stdin)")
    return files


def _folder_name(raw: str) -> str:
    """``raw`` as ``str(pathlib.Path(raw))`` spells it (``./configs/`` is ``configs``), so the
    files found below are named alike however the folder was written, and found once."""
    if os.sep != "/":
        return os.path.normpath(raw)
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    # POSIX leaves a path that starts with exactly two slashes to the system; pathlib keeps them
    root = "//" if raw[:2] == "//" and raw[2:3] != "/" else "/" if raw[:1] == "/" else ""
    return root + "/".join(parts) or "."


def _yaml_below(root: str) -> Iterable[str]:
    # pathlib is left out: it imports urllib.parse and fnmatch, 7 ms of a 60 ms start-up
    # os.walk does not follow directory links, so a symlink loop cannot trap us
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            if name.endswith(YAML_SUFFIXES) and not name.startswith("."):
                yield os.path.join(folder, name)


MAX_FILE_BYTES = 10 * 1024 * 1024  # a provider config is a few KiB


def read_config(name: str) -> bytes:
    shown = STDIN_NAME if name == STDIN else name
    try:
        if name == STDIN:
            data = sys.stdin.buffer.read(MAX_FILE_BYTES + 1)
        else:
            with open(name, "rb") as fh:
                data = _read_capped(fh)
    except OSError as e:
        raise UsageError(f"cannot read {shown}: {e.strerror or e}") from e
    if len(data) > MAX_FILE_BYTES:
        raise UsageError(
            f"{shown} is larger than {MAX_FILE_BYTES // (1024 * 1024)} MiB; not a provider config"
        )
    return data


def _read_capped(fh: BinaryIO) -> bytes:
    # read(cap + 1) would allocate the whole 10 MiB for every file (33 ms per 1,000 files
    # against 7): ask for the size the file says it has, and read on only if it grew since
    size = os.fstat(fh.fileno()).st_size
    data = fh.read(min(size, MAX_FILE_BYTES) + 1)
    if len(data) > size and len(data) <= MAX_FILE_BYTES:
        data += fh.read(MAX_FILE_BYTES + 1 - len(data))
    return data


def check_document(doc: Document, registry: Registry | None = None) -> list[Finding]:
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
    findings.extend(check_rules(doc.file, root, doc.text, registry))
    return findings


def literal_secrets(root: Node | None) -> list[str]:
    """Secret values written literally in a config (api-key headers, auth passwords).

    A literal secret is only a warning (KC205), but it must still never reach the output,
    not even in the source line quoted under a finding.
    """
    found: list[str] = []
    providers = root.get("providers") if root is not None else None
    for provider in providers.items() if providers is not None else []:
        headers, auth = provider.get("headers"), provider.get("auth")
        candidates = (
            [e.value for e in headers.entries() if e.key.lower() in SECRET_HEADERS]
            if headers
            else []
        )
        password = auth.get("password") if auth is not None else None
        if password is not None:
            candidates.append(password)
        for node in candidates:
            found.extend(
                s.raw for s in _scalars(node) if s.raw.strip() and parse_reference(s.raw) is None
            )
    return found


def _scalars(node: Node) -> list[Node]:
    """Every scalar in a value, however it is nested (a secret may be written as a list)."""
    if node.is_scalar:
        return [node]
    children = [e.value for e in node.entries()] if node.is_map else node.items()
    return [s for child in children for s in _scalars(child)]


def mask_findings(findings: list[Finding], masker: Masker) -> list[Finding]:
    return [
        f.replace(
            message=masker.mask_text(f.message),
            hint=masker.mask_text(f.hint) if f.hint else f.hint,
        )
        for f in findings
    ]


def load_config(name: str) -> Document:
    data = read_config(name)
    return load_bytes(STDIN_NAME if name == STDIN else name, data)


def check_file(
    name: str,
    report: Report,
    registry: Registry | None = None,
    selection: Selection | None = None,
) -> Document:
    """Load one file, check it, and add its findings (secrets masked) to ``report``: those
    ``selection`` keeps and no ``# kctl: ignore[...]`` comment silences, with the source lines
    they quote (a file without findings keeps no text)."""
    doc = load_config(name)
    findings, left_out = apply(check_document(doc, registry), doc.text, selection or Selection())
    report.ignored += left_out
    report.files.append(doc.file)
    if findings:
        secrets = literal_secrets(doc.root)
        masker = Masker(secrets) if secrets else None
        if masker is not None:
            findings = mask_findings(findings, masker)
        report.sources[doc.file] = quoted_source(doc.text, (f.line for f in findings), masker)
        report.findings.extend(findings)
    return doc


def validate_paths(
    paths: Iterable[str],
    *,
    strict: bool = False,
    dlt_registry: str | None = None,
    selection: Selection | None = None,
    jobs: int | None = None,
) -> Report:
    """Every file's findings; ``jobs`` processes (default: two from ``MIN_FILES`` files on)."""
    registry = None
    if dlt_registry is not None:
        from kctl.config.dlt import load_registry

        registry = load_registry(dlt_registry)
    report = Report(files=[], findings=[], sources={}, strict=strict)
    files = collect_files(paths)
    check = functools.partial(check_file, registry=registry, selection=selection)
    check_files(files, report, check, worker_count(files, stdin=STDIN) if jobs is None else jobs)
    return report
