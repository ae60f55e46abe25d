"""Put templates into a config's text, changing nothing else.

Why text edits and not a round-trip YAML library: ruamel.yaml re-emits the whole document
with one indentation for every list and its own spacing in flow collections. Tuned to a file
it keeps kctl's example configs byte for byte, but on a file that mixes list indentations it
rewrote 5 lines for one changed body, where this merge rewrites 1; it also costs a dependency,
30 ms of import and about 15 to 45 ms a merge against 1 to 3 ms here (bench/template_merge.py).
Here every edit is a
span of the original text: libyaml's event marks give where each value starts and ends, a
changed field's value is re-rendered in place, a new field goes after the field it follows in
the config's key order, a new template goes after the provider's last one with the same
indentation. Comments and formatting outside those spans stay byte for byte.

A template written in flow style (``- {name: ..., body: ...}``), or one built with anchors and
merge keys, is replaced whole: field edits inside it could not be trusted. The caller re-reads
the result and checks it holds exactly the templates intended before anything is written.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import yaml

from kctl.config.loader import load_text
from kctl.config.model import WhatsAppProvider, WhatsAppTemplate, provider_from_node
from kctl.errors import UsageError
from kctl.templates.meta import template_key
from kctl.templates.yamlout import (
    TEMPLATE_KEYS,
    entry_lines,
    item_lines,
    template_data,
    template_lines,
)

try:
    from yaml._yaml import CParser as _Parser
except ImportError:  # pragma: no cover - depends on how PyYAML was built
    from yaml import SafeLoader as _Parser  # type: ignore[assignment]

MAP, SEQ, SCALAR, ALIAS = "map", "seq", "scalar", "alias"


@dataclass(eq=False)
class Span:
    """A node with where it sits in the text: ``start`` to ``end`` (exclusive), character
    indices; ``end`` is just past its last character of content (closing quote or bracket)."""

    kind: str
    start: int
    end: int
    flow: bool = False
    anchored: bool = False  # carries an anchor, or contains an alias or a merge key
    value: Any = None  # SCALAR: the text
    entries: list[tuple[Span, Span]] = field(default_factory=list)  # MAP
    items: list[Span] = field(default_factory=list)  # SEQ

    def get(self, key: str) -> Span | None:
        return next((v for k, v in self.entries if k.value == key), None)

    def key_span(self, key: str) -> Span | None:
        return next((k for k, _ in self.entries if k.value == key), None)


def compose_spans(text: str) -> Span | None:
    """The document's tree of spans (the config passed validation, so the shape is sane)."""
    stack: list[Span] = []
    pending: list[Span | None] = []  # a map's key waiting for its value
    root: Span | None = None
    get_event: Callable[[], Any] = _Parser(text).get_event
    while (event := get_event()) is not None:
        if isinstance(event, yaml.ScalarEvent | yaml.AliasEvent):
            kind = SCALAR if isinstance(event, yaml.ScalarEvent) else ALIAS
            node = Span(
                kind,
                _start(event),
                _end(event),
                anchored=kind == ALIAS
                or bool(getattr(event, "anchor", None))
                or event_value(event) == "<<",
                value=event_value(event),
            )
        elif isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
            kind = MAP if isinstance(event, yaml.MappingStartEvent) else SEQ
            node = Span(
                kind,
                _start(event),
                _start(event),
                flow=bool(event.flow_style),
                anchored=bool(event.anchor),
            )
            if stack:
                _attach(stack, pending, node)
            stack.append(node)
            pending.append(None)
            continue
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            node = stack.pop()
            pending.pop()
            if node.flow:
                node.end = _end(event)
            else:
                children = [v for _, v in node.entries] if node.kind == MAP else node.items
                node.end = max((c.end for c in children), default=node.start)
            if any(c.anchored for c in _children(node)):
                node.anchored = True
            if not stack:
                root = node
            continue
        else:
            continue
        if stack:
            _attach(stack, pending, node)
        else:
            root = node
    return root


def _start(event: Any) -> int:
    return int(event.start_mark.index)


def _end(event: Any) -> int:
    return int(event.end_mark.index)


def event_value(event: Any) -> str | None:
    return event.value if isinstance(event, yaml.ScalarEvent) else None


def _children(node: Span) -> list[Span]:
    if node.kind == MAP:
        return [s for pair in node.entries for s in pair]
    return node.items


def _attach(stack: list[Span], pending: list[Span | None], node: Span) -> None:
    parent = stack[-1]
    if parent.kind == SEQ:
        parent.items.append(node)
        return
    key = pending[-1]
    if key is None:
        pending[-1] = node
    else:
        parent.entries.append((key, node))
        pending[-1] = None


# --- edits ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Edit:
    start: int
    end: int
    text: str


class _Text:
    """The document being edited: its text, line helpers, and edits applied last to first."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.newline = "\r\n" if "\r\n" in text else "\n"
        self.edits: list[_Edit] = []

    def line_start(self, index: int) -> int:
        return self.text.rfind("\n", 0, index) + 1

    def column(self, index: int) -> int:
        return index - self.line_start(index)

    def starts_line(self, index: int) -> bool:
        return not self.text[self.line_start(index) : index].strip()

    def line_end(self, index: int) -> int:
        """Where the line holding ``index`` ends, before its line break."""
        end = self.text.find("\n", index)
        if end < 0:
            return len(self.text)
        return end - 1 if end > 0 and self.text[end - 1] == "\r" else end

    def after_line_break(self, index: int) -> int:
        end = self.text.find("\n", index)
        return len(self.text) if end < 0 else end + 1

    def join(self, lines: Sequence[str]) -> str:
        return self.newline.join(lines)

    def replace(self, start: int, end: int, text: str) -> None:
        self.edits.append(_Edit(start, end, text))

    def insert_lines_after(self, index: int, lines: Sequence[str]) -> None:
        """New lines right after the line that holds ``index``."""
        at = self.line_end(index)
        self.edits.append(_Edit(at, at, self.newline + self.join(lines)))

    def result(self) -> str:
        out = self.text
        # Last first, so earlier offsets stay valid. Of two insertions at one place the one
        # recorded first must end up first, so it is applied last.
        order = sorted(enumerate(self.edits), key=lambda p: (p[1].start, p[1].end, p[0]))
        for _, edit in reversed(order):
            out = out[: edit.start] + edit.text + out[edit.end :]
        return out


def merge_templates(text: str, nickname: str, templates: Sequence[WhatsAppTemplate]) -> str:
    """``text`` with each of ``templates`` put into provider ``nickname``: replacing the one of
    the same name and language (only the fields that differ), or added after the last one."""
    root = compose_spans(text)
    doc = load_text("<merge>", text)
    providers_span = root.get("providers") if root is not None and root.kind == MAP else None
    providers_node = doc.root.get("providers") if doc.root is not None else None
    if providers_span is None or providers_node is None or providers_span.kind != SEQ:
        raise UsageError("the config has no list of providers to merge templates into")
    for candidate, node in zip(providers_span.items, providers_node.items(), strict=True):
        nick = node.get("nickname")
        if nick is not None and nick.value == nickname:
            found = provider_from_node(node)
            if not isinstance(found, WhatsAppProvider):
                raise UsageError(f"provider '{nickname}' is not a WhatsApp provider")
            span, existing = candidate, found.templates
            break
    else:
        raise UsageError(f"the config has no provider '{nickname}'")
    if span.flow or span.kind != MAP:
        raise UsageError(
            f"provider '{nickname}' is written in flow style ({{...}})",
            "write it as a block mapping, one key per line, so templates can be merged into it",
        )
    edit = _Text(text)
    _merge_into_provider(edit, span, list(existing), templates)
    return edit.result()


def _merge_into_provider(
    edit: _Text,
    provider: Span,
    existing: list[WhatsAppTemplate],
    templates: Sequence[WhatsAppTemplate],
) -> None:
    listed = provider.get("templates")
    items = listed.items if listed is not None and listed.kind == SEQ else []
    if listed is not None and listed.flow and items:
        raise UsageError(
            "the provider's templates are written as a flow list ([...])",
            "write them as a block list, one '- name: ...' item each, so they can be merged",
        )
    by_key = {template_key(t): (t, items[i]) for i, t in enumerate(existing) if i < len(items)}
    added: list[WhatsAppTemplate] = []
    for new in templates:
        found = by_key.get(template_key(new))
        if found is None:
            added.append(new)
        else:
            _replace_template(edit, found[1], found[0], new)
    if not added:
        return
    if listed is not None and listed.kind == SEQ and not listed.flow and items:
        dash = edit.column(edit.text.rfind("-", edit.line_start(items[0].start), items[0].start))
        lines = [line for t in added for line in template_lines(t, dash)]
        edit.insert_lines_after(listed.end, lines)
        return
    key_col = edit.column(provider.entries[0][0].start)
    lines = [line for t in added for line in template_lines(t, key_col + 2)]
    if listed is not None:
        # "templates: []" or "templates:" becomes a block list; a comment on the line stays
        key = provider.key_span("templates")
        colon = edit.text.find(":", key.end) if key is not None else -1
        start = colon + 1 if 0 <= colon < listed.start else listed.start
        edit.replace(min(start, listed.start), listed.end, "")
        edit.insert_lines_after(listed.end, lines)
        return
    last = provider.entries[-1][1]
    edit.insert_lines_after(last.end, [" " * key_col + "templates:", *lines])


def _replace_template(
    edit: _Text, item: Span, old: WhatsAppTemplate, new: WhatsAppTemplate
) -> None:
    old_data, new_data = template_data(old), template_data(new)
    if old_data == new_data:
        return
    first_key = item.entries[0][0] if item.kind == MAP and item.entries else None
    if item.kind != MAP or item.flow or item.anchored or first_key is None:
        _replace_whole(edit, item, new)
        return
    col = edit.column(first_key.start)
    # keys that stay in the text: a new key goes after one of them, never after a removed one
    present = [k.value for k, _ in item.entries if k.value in new_data or k.value not in old_data]
    inserts: dict[int, list[str]] = {}
    last = item.get(present[-1]) if present else None
    anchor = last.end if last is not None else item.entries[-1][1].end
    for key in TEMPLATE_KEYS:
        old_value, new_value = old_data.get(key), new_data.get(key)
        key_span = item.key_span(key)
        value_span = item.get(key)
        if key_span is not None and value_span is not None:
            if old_value != new_value:
                if new_value is None:
                    if key_span is first_key or not edit.starts_line(key_span.start):
                        _replace_whole(edit, item, new)
                        return
                    start = edit.line_start(key_span.start)
                    edit.replace(start, edit.after_line_break(value_span.end), "")
                elif not _replace_items(edit, value_span, old_value, new_value):
                    lines = entry_lines(key, new_value, col)
                    edit.replace(key_span.start, value_span.end, edit.join(lines)[col:])
            continue
        if old_value != new_value and new_value is not None:
            before = _previous_present(key, present)
            at = item.get(before).end if before is not None else anchor  # type: ignore[union-attr]
            inserts.setdefault(at, []).extend(entry_lines(key, new_value, col))
    for at, lines in inserts.items():
        edit.insert_lines_after(at, lines)


def _replace_items(edit: _Text, listed: Span, old: Any, new: Any) -> bool:
    """Edit a block list item by item (a button, a card), so comments on the items that did
    not change stay; False when the list is not one that can be edited so."""
    items = listed.items
    if (
        listed.kind != SEQ
        or listed.flow
        or listed.anchored
        or not isinstance(old, list)
        or not isinstance(new, list)
        or len(items) != len(old)
        or not new
    ):
        return False
    dashes = [edit.text.rfind("-", edit.line_start(i.start), i.start) for i in items]
    if any(d < 0 or not edit.starts_line(d) for d in dashes):
        return False
    for item, before, after in zip(items, old, new, strict=False):
        if before != after:
            dash = edit.column(item.start) - 2
            edit.replace(item.start, item.end, edit.join(item_lines(after, dash))[dash + 2 :])
    if len(old) > len(new):
        first_gone = edit.line_start(dashes[len(new)])
        edit.replace(first_gone, edit.after_line_break(items[-1].end), "")
    elif len(new) > len(old):
        dash = edit.column(dashes[0])
        edit.insert_lines_after(
            items[-1].end, [ln for v in new[len(old) :] for ln in item_lines(v, dash)]
        )
    return True


def _previous_present(key: str, present: list[str]) -> str | None:
    order = TEMPLATE_KEYS[: TEMPLATE_KEYS.index(key)]
    return next((k for k in reversed(order) if k in present), None)


def _replace_whole(edit: _Text, item: Span, new: WhatsAppTemplate) -> None:
    dash = edit.column(item.start) - 2
    lines = template_lines(new, max(dash, 0))
    edit.replace(item.start, item.end, edit.join(lines)[max(dash, 0) + 2 :])
