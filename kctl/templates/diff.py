"""Config against remote, template by template (name + language), field by field.

What counts as drift is what makes CleverTap's sends fail or read differently: a template on one
side only, its body text or placeholder count, its header format, text and media, its footer,
each button's type, text, URL and number, its offer, its carousel cards, its category, and a
remote status other than APPROVED (Kaleyra pauses low-quality templates, then disables them).
Sample values (examples, a document's file name, a location) are not compared: they are not
what Meta approved. A media URL is compared only when the remote names one.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from kctl.config.model import Button, Card, Header, WhatsAppProvider, WhatsAppTemplate
from kctl.contract import meta
from kctl.contract import whatsapp as wa
from kctl.templates.meta import RemoteTemplate, template_key


@dataclass(frozen=True, slots=True)
class Change:
    field: str  # "body", "buttons[1].url", "status", ...
    config: str | None  # None: the config has no such thing
    remote: str | None


@dataclass(frozen=True, slots=True)
class Comparison:
    name: str
    language: str
    line: int  # where the template starts in the config; 0 when it is only remote
    in_config: bool
    in_remote: bool
    status: str | None = None  # the remote status
    changes: tuple[Change, ...] = ()
    note: str = ""

    @property
    def label(self) -> str:
        return f"{self.name} ({self.language})"

    @property
    def drifted(self) -> bool:
        return not (self.in_config and self.in_remote) or bool(self.changes)

    @property
    def state(self) -> str:
        """One word for machines: same, changed, only_in_config, only_remote."""
        if not self.in_remote:
            return "only_in_config"
        if not self.in_config:
            return "only_remote"
        return "changed" if self.changes else "same"


@dataclass(frozen=True, slots=True)
class DiffResult:
    file: str
    provider: str
    provider_line: int
    source: str
    comparisons: tuple[Comparison, ...] = field(default=())

    @property
    def drifted(self) -> list[Comparison]:
        return [c for c in self.comparisons if c.drifted]

    @property
    def exit_code(self) -> int:
        return 1 if self.drifted else 0


def diff_templates(
    file: str,
    provider: WhatsAppProvider,
    remote: Sequence[RemoteTemplate],
    source: str,
    *,
    ignore_extra: bool = False,
) -> DiffResult:
    by_key = {r.key: r for r in remote}
    out: list[Comparison] = []
    for t in provider.templates:
        found = by_key.pop(template_key(t), None)
        if found is None:
            out.append(Comparison(t.name, t.language, t.line, True, False))
            continue
        changes: list[Change] = []
        note = ""
        if found.has_content:
            changes += compare_templates(t, found.template)
        else:
            note = "content not compared: the source gave only the status"
        if found.unsupported:
            changes.append(Change("unsupported", None, ", ".join(found.unsupported)))
        if found.status != meta.APPROVED:
            changes.append(Change("status", meta.APPROVED, found.status))
        out.append(
            Comparison(t.name, t.language, t.line, True, True, found.status, tuple(changes), note)
        )
    if not ignore_extra:
        for r in by_key.values():
            out.append(Comparison(r.template.name, r.template.language, 0, False, True, r.status))
    return DiffResult(file, provider.nickname, provider.line, source, tuple(out))


def compare_templates(mine: WhatsAppTemplate, theirs: WhatsAppTemplate) -> list[Change]:
    changes: list[Change] = []
    _field(changes, "category", mine.category, theirs.category)
    _header(changes, "header", mine.header, theirs.header)
    if mine.offer != theirs.offer:
        _field(changes, "limited_time_offer.title", _title(mine), _title(theirs))
        _field(changes, "limited_time_offer.expires", _expires(mine), _expires(theirs))
    _body(changes, "", mine.body, theirs.body)
    _field(changes, "footer", mine.footer, theirs.footer)
    _buttons(changes, "buttons", mine.buttons, theirs.buttons)
    _cards(changes, mine.carousel, theirs.carousel)
    return changes


def _field(changes: list[Change], name: str, mine: object, theirs: object) -> None:
    if mine != theirs:
        changes.append(Change(name, _shown(mine), _shown(theirs)))


def _shown(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _title(t: WhatsAppTemplate) -> str | None:
    return t.offer.title if t.offer is not None else None


def _expires(t: WhatsAppTemplate) -> bool | None:
    return t.offer.expires if t.offer is not None else None


def _body(changes: list[Change], prefix: str, mine: str, theirs: str) -> None:
    _field(changes, f"{prefix}body", mine, theirs)
    _field(
        changes,
        f"{prefix}placeholders",
        wa.placeholder_count(mine),
        wa.placeholder_count(theirs),
    )


def _header(changes: list[Change], name: str, mine: Header | None, theirs: Header | None) -> None:
    if mine is None or theirs is None or mine.type != theirs.type:
        _field(
            changes, f"{name}.type", mine.type if mine else None, theirs.type if theirs else None
        )
        if mine is None or theirs is None:
            return
    _field(changes, f"{name}.text", mine.text, theirs.text)
    if theirs.url is not None:
        _field(changes, f"{name}.url", mine.url, theirs.url)


def _buttons(
    changes: list[Change], name: str, mine: tuple[Button, ...], theirs: tuple[Button, ...]
) -> None:
    for i in range(max(len(mine), len(theirs))):
        here = f"{name}[{i}]"
        a = mine[i] if i < len(mine) else None
        b = theirs[i] if i < len(theirs) else None
        if a is None or b is None:
            _field(changes, here, _button_text(a), _button_text(b))
            continue
        _field(changes, f"{here}.type", a.type, b.type)
        _field(changes, f"{here}.text", a.text, b.text)
        _field(changes, f"{here}.url", a.url, b.url)
        _field(changes, f"{here}.phone_number", a.phone_number, b.phone_number)


def _button_text(b: Button | None) -> str | None:
    if b is None:
        return None
    target = b.url or b.phone_number
    return f"{b.type} {b.text!r}" + (f" {target}" if target else "")


def _cards(changes: list[Change], mine: tuple[Card, ...], theirs: tuple[Card, ...]) -> None:
    _field(changes, "carousel.cards", len(mine) or None, len(theirs) or None)
    for i, (a, b) in enumerate(zip(mine, theirs, strict=False)):
        here = f"carousel[{i}]"
        _header(changes, f"{here}.header", a.header, b.header)
        _body(changes, f"{here}.", a.body, b.body)
        _buttons(changes, f"{here}.buttons", a.buttons, b.buttons)
