"""Templates as config YAML, in the style of kctl's example configs.

Flat values (a header, the examples, one button) go on one line in flow style when they fit;
anything nested is a block. Strings stay plain only where YAML cannot read them as anything else
(``Track``, ``en_US``); everything else is double-quoted with JSON's escapes, which YAML shares,
plus escapes for the characters YAML would fold or refuse. ``kctl.config.loader`` reads every
value written here back as the same value (tested as a property).
"""

from __future__ import annotations

import json
import math
import re
from decimal import Decimal
from typing import Any

from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from kctl.config.model import Button, Card, Header, WhatsAppTemplate

WIDTH = 100  # a flow line longer than this becomes a block

# the fields of each kind, in the order a reader expects them
TEMPLATE_KEYS = (
    "name",
    "language",
    "category",
    "header",
    "body",
    "examples",
    "footer",
    "limited_time_offer",
    "buttons",
    "carousel",
)
_HEADER_KEYS = ("type", "text", "url", "filename", "latitude", "longitude", "name", "address")
_BUTTON_KEYS = ("type", "text", "url", "phone_number", "example")

_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_ .\-/]*")
_STR_TAG = "tag:yaml.org,2002:str"
_resolver = Resolver()
# characters YAML refuses in a document or reads as line breaks, even inside double quotes
_YAML_UNSAFE = re.compile("[\x7f-\x9f\u2028\u2029\ufeff\ufffe\uffff\ud800-\udfff]")


def scalar(value: str | float | bool) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return _number(float(value))
    if _is_plain(value):
        return value
    quoted = json.dumps(value, ensure_ascii=False)
    return _YAML_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", quoted)


def _is_plain(text: str) -> bool:
    if not _PLAIN.fullmatch(text) or text.endswith(" ") or "  " in text:
        return False
    tag = _resolver.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return bool(tag == _STR_TAG)


def _number(value: float) -> str:
    if math.isnan(value):
        return ".nan"
    if math.isinf(value):
        return ".inf" if value > 0 else "-.inf"
    # YAML 1.1 reads "1e-05" as text: write positional digits, always with a dot
    text = format(Decimal(repr(value)), "f")
    return text if "." in text else text + ".0"


# --- the model as plain data, in config key order -----------------------------------------------


def header_data(h: Header) -> dict[str, Any]:
    values = {k: getattr(h, k) for k in _HEADER_KEYS}
    return {k: v for k, v in values.items() if v is not None}


def button_data(b: Button) -> dict[str, Any]:
    values = {k: getattr(b, k) for k in _BUTTON_KEYS}
    return {k: v for k, v in values.items() if v is not None}


def card_data(c: Card) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if c.header.type:
        out["header"] = header_data(c.header)
    out["body"] = c.body
    if c.examples:
        out["examples"] = list(c.examples)
    if c.buttons:
        out["buttons"] = [button_data(b) for b in c.buttons]
    return out


def template_data(t: WhatsAppTemplate) -> dict[str, Any]:
    """The template's config keys and values; keys the model leaves empty are left out."""
    out: dict[str, Any] = {"name": t.name, "language": t.language, "category": t.category}
    if t.header is not None:
        out["header"] = header_data(t.header)
    out["body"] = t.body
    if t.examples:
        out["examples"] = list(t.examples)
    if t.footer is not None:
        out["footer"] = t.footer
    if t.offer is not None:
        out["limited_time_offer"] = {"title": t.offer.title, "expires": t.offer.expires}
    if t.buttons:
        out["buttons"] = [button_data(b) for b in t.buttons]
    if t.carousel:
        out["carousel"] = [card_data(c) for c in t.carousel]
    return out


# --- rendering ----------------------------------------------------------------------------------


def _is_flat(value: Any) -> bool:
    items = value.values() if isinstance(value, dict) else value
    return all(not isinstance(v, dict | list) for v in items)


def flow(value: Any) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k}: {flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + ", ".join(flow(v) for v in value) + "]"
    return scalar(value)


def entry_lines(key: str, value: Any, indent: int) -> list[str]:
    """``key: value`` at column ``indent`` (0-based), as lines without line breaks."""
    pad = " " * indent
    if not isinstance(value, dict | list):
        return [f"{pad}{key}: {scalar(value)}"]
    inline = f"{pad}{key}: {flow(value)}"
    if not value or (_is_flat(value) and len(inline) <= WIDTH):
        return [inline]
    lines = [f"{pad}{key}:"]
    if isinstance(value, dict):
        for k, v in value.items():
            lines += entry_lines(k, v, indent + 2)
    else:
        for item in value:
            lines += item_lines(item, indent + 2)
    return lines


def item_lines(value: Any, indent: int, *, block: bool = False) -> list[str]:
    """One list item, ``- value``, with its dash at column ``indent``; ``block`` keeps a small
    mapping off one line."""
    pad = " " * indent
    if not isinstance(value, dict | list):
        return [f"{pad}- {scalar(value)}"]
    inline = f"{pad}- {flow(value)}"
    if not value or (not block and _is_flat(value) and len(inline) <= WIDTH):
        return [inline]
    if isinstance(value, list):
        lines = [f"{pad}-"]
        for item in value:
            lines += item_lines(item, indent + 2)
        return lines
    lines = []
    for k, v in value.items():
        lines += entry_lines(k, v, indent + 2)
    # the first entry shares the dash's line
    lines[0] = f"{pad}- {lines[0][indent + 2 :]}"
    return lines


def template_lines(t: WhatsAppTemplate, indent: int) -> list[str]:
    """The template as one item of a provider's ``templates:`` list, dash at ``indent``."""
    return item_lines(template_data(t), indent, block=True)
