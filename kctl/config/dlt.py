"""A DLT registrations export (``--dlt-registry FILE``): the templates India's DLT platform holds.

The platforms export CSV. kctl needs four columns, found by name in the header row (any case;
spaces and hyphens count as underscores, so "Template ID" is template_id): template_id,
entity_id, header and template_text. Other columns are ignored. A malformed file is a usage
error (exit 2) naming its line, like an unreadable config.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from kctl.contract import dlt
from kctl.contract.dlt import Registration
from kctl.contract.numbers import is_dlt_id
from kctl.errors import UsageError

MAX_REGISTRY_BYTES = 20 * 1024 * 1024  # an account registers thousands of templates, not millions
# how a spreadsheet writes a 19-digit id it has turned into a number: 1.20716E+18
_ROUNDED = re.compile(r"^[0-9](?:\.[0-9]+)?[eE]\+?[0-9]+$")


@dataclass(frozen=True, slots=True)
class Registry:
    file: str
    rows: dict[str, Registration] = field(default_factory=dict)  # by template id

    def get(self, template_id: str) -> Registration | None:
        return self.rows.get(template_id)

    def __len__(self) -> int:
        return len(self.rows)


def load_registry(path: str) -> Registry:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_REGISTRY_BYTES + 1)
    except OSError as e:
        raise UsageError(f"cannot read {path}: {e.strerror or e}") from e
    if len(data) > MAX_REGISTRY_BYTES:
        raise UsageError(f"{path} is larger than {MAX_REGISTRY_BYTES // 2**20} MiB")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise UsageError(
            f"{path} is not UTF-8 text (byte {e.start})", "export the registry as CSV in UTF-8"
        ) from e
    return parse_registry(path, text)


def _column(name: str) -> str:
    return re.sub(r"[\s-]+", "_", name.strip().lstrip("\ufeff").strip().lower())


def parse_registry(name: str, text: str) -> Registry:
    import csv
    import io

    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next((row for row in reader if any(cell.strip() for cell in row)), None)
        if header is None:
            raise UsageError(f"{name} is empty", _needs())
        index = {_column(cell): i for i, cell in reversed(list(enumerate(header)))}
        missing = [c for c in dlt.REGISTRY_COLUMNS if c not in index]
        if missing:
            raise UsageError(f"{name}: the header row has no {', '.join(missing)} column", _needs())
        rows: dict[str, Registration] = {}
        lines: dict[str, int] = {}
        for row in reader:
            if not any(cell.strip() for cell in row):
                continue
            line = reader.line_num
            if len(row) <= max(index[c] for c in dlt.REGISTRY_COLUMNS):
                raise UsageError(
                    f"{name} line {line}: {len(row)} field(s), fewer than the header names"
                )
            template_id, entity_id, sender, body = (row[index[c]] for c in dlt.REGISTRY_COLUMNS)
            template_id, entity_id, sender = (
                template_id.strip(),
                entity_id.strip(),
                sender.strip(),
            )
            _check_id(name, line, "template_id", template_id)
            _check_id(name, line, "entity_id", entity_id)
            if not sender:
                raise UsageError(f"{name} line {line}: header (the sender ID) is empty")
            if not body.strip():
                raise UsageError(f"{name} line {line}: template_text is empty")
            registration = Registration(
                template_id, body, entity_id, sender, source=f"{name} line {line}"
            )
            first = rows.get(template_id)
            if first is not None:
                if (first.text, first.entity_id, first.header) != (body, entity_id, sender):
                    raise UsageError(
                        f"{name} line {line}: template_id {template_id} is registered again,"
                        f" differently (first at line {lines[template_id]})"
                    )
                continue
            rows[template_id] = registration
            lines[template_id] = line
    except csv.Error as e:
        raise UsageError(f"{name} line {reader.line_num}: not CSV ({e})") from e
    return Registry(name, rows)


def _needs() -> str:
    return "a DLT registry is CSV whose header row names " + ", ".join(dlt.REGISTRY_COLUMNS)


def _check_id(name: str, line: int, column: str, value: str) -> None:
    if is_dlt_id(value):
        return
    hint = None
    if _ROUNDED.fullmatch(value):
        hint = "a spreadsheet turned the id into a rounded number: export the ids as text"
    shown = value if value.isprintable() else ascii(value)
    raise UsageError(f"{name} line {line}: {column} '{shown}' is not 12 to 19 digits", hint)
