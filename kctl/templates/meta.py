"""The config's template model to Meta's template format and back (SPEC 4.9).

Lossless both ways for everything the config can express: ``from_meta(to_meta(t))`` gives
``t`` back. Meta's format has no place for a few config values that are send-time samples
rather than template content (a document's file name, a location's coordinates, an example on a
quick-reply button); ``to_meta`` carries those in a ``kctl_sample`` object on the component or
button, which Meta's and CleverTap's readers ignore, and leaves it out when asked for the bare
format (``samples=False``, what CleverTap's import gets).

Reading is strict about shapes and tolerant about spellings: a wrong JSON type raises
``MetaFormatError`` naming the place; a feature the config cannot express (a FLOW button, a GIF
header, named parameters) is recorded in ``RemoteTemplate.unsupported`` so pull can skip the
template and diff can say why it differs.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kctl.config.model import Button, Card, Header, Offer, WhatsAppTemplate
from kctl.contract import meta
from kctl.contract import whatsapp as wa

SAMPLE_KEY = "kctl_sample"
# Meta fixes the label of a copy-code button; CleverTap's samples still send one
COPY_CODE_LABEL = "Copy offer code"

_FORMAT_TO_HEADER = {v: k for k, v in meta.HEADER_FORMATS.items()}
_META_TO_BUTTON = {v: k for k, v in meta.BUTTON_TYPES.items()}
_META_TO_CATEGORY = {v: k for k, v in meta.CATEGORIES.items()}
# the sample fields of a header and a button (all but "type"), in the order the document
# lists them
_HEADER_FIELDS = ("text", "url", "filename", "latitude", "longitude", "name", "address")
_BUTTON_FIELDS = ("text", "url", "phone_number", "example")


class MetaFormatError(ValueError):
    """A document that is not Meta's template format; the message names the place."""


@dataclass(frozen=True, slots=True)
class RemoteTemplate:
    """A template as a remote source has it: the content, its review status and Meta's id."""

    template: WhatsAppTemplate
    status: str = meta.APPROVED
    id: str | None = None
    # what the config cannot express; such a template is never written into a config
    unsupported: tuple[str, ...] = ()
    # False when the source gave only name, language and status (Kaleyra's v1 status API)
    has_content: bool = True

    @property
    def key(self) -> tuple[str, str]:
        return (self.template.name, self.template.language)

    @property
    def is_approved(self) -> bool:
        return self.status == meta.APPROVED


def template_key(t: WhatsAppTemplate) -> tuple[str, str]:
    return (t.name, t.language)


def stable_id(t: WhatsAppTemplate) -> str:
    """A template id for templates that have none yet (the config's): the same name and language
    always give the same id, so CleverTap recognises a template it imported before."""
    digest = hashlib.sha256(f"{t.name}\0{t.language}".encode()).digest()
    return str(int.from_bytes(digest[:7], "big")).rjust(17, "1")


# --- config -> Meta ---------------------------------------------------------------------------


def to_meta(
    t: WhatsAppTemplate,
    *,
    status: str = meta.APPROVED,
    template_id: str | None = None,
    samples: bool = True,
) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    if t.header is not None:
        components.append(_header_out(t.header, samples))
    if t.offer is not None:
        components.append(
            {
                "type": meta.LIMITED_TIME_OFFER,
                "limited_time_offer": {"text": t.offer.title, "has_expiration": t.offer.expires},
            }
        )
    components.append(_body_out(t.body, t.examples))
    if t.footer is not None:
        components.append({"type": meta.FOOTER, "text": t.footer})
    if t.buttons:
        components.append(_buttons_out(t.buttons, samples))
    if t.carousel:
        components.append(
            {"type": meta.CAROUSEL, "cards": [_card_out(c, samples) for c in t.carousel]}
        )
    return {
        "name": t.name,
        "language": t.language,
        "status": status,
        "category": meta.CATEGORIES.get(t.category, t.category.upper()),
        "parameter_format": meta.POSITIONAL,
        "components": components,
        "id": template_id if template_id is not None else stable_id(t),
    }


def _body_out(text: str, examples: tuple[str, ...]) -> dict[str, Any]:
    body: dict[str, Any] = {"type": meta.BODY, "text": text}
    if examples:
        body["example"] = {"body_text": [list(examples)]}
    return body


def _header_out(h: Header, samples: bool) -> dict[str, Any]:
    fmt = meta.HEADER_FORMATS.get(h.type, h.type.upper())
    out: dict[str, Any] = {"type": meta.HEADER, "format": fmt}
    expressed: set[str] = set()
    if fmt == "TEXT" and h.text is not None:
        out["text"] = h.text
        expressed.add("text")
    elif h.type in wa.MEDIA_HEADER_TYPES and h.url is not None:
        out["example"] = {"header_handle": [h.url]}
        expressed.add("url")
    _add_samples(out, h, _HEADER_FIELDS, expressed, samples)
    return out


def _buttons_out(buttons: tuple[Button, ...], samples: bool) -> dict[str, Any]:
    return {"type": meta.BUTTONS, "buttons": [_button_out(b, samples) for b in buttons]}


def _button_out(b: Button, samples: bool) -> dict[str, Any]:
    out: dict[str, Any] = {"type": meta.BUTTON_TYPES.get(b.type, b.type.upper()), "text": b.text}
    expressed = {"text"}
    if b.type == "url" and b.url is not None:
        out["url"] = b.url
        expressed.add("url")
        if b.example is not None and wa.is_dynamic_url(b.url):
            # Meta's example is the whole URL; the config keeps the suffix that fills {{1}}
            out["example"] = [_url_prefix(b.url) + b.example]
            expressed.add("example")
    elif b.type == "phone" and b.phone_number is not None:
        out["phone_number"] = b.phone_number
        expressed.add("phone_number")
    elif b.type == "copy_code" and b.example is not None:
        out["example"] = [b.example]
        expressed.add("example")
    _add_samples(out, b, _BUTTON_FIELDS, expressed, samples)
    return out


def _card_out(card: Card, samples: bool) -> dict[str, Any]:
    components: list[dict[str, Any]] = []
    if card.header.type:
        components.append(_header_out(card.header, samples))
    components.append(_body_out(card.body, card.examples))
    if card.buttons:
        components.append(_buttons_out(card.buttons, samples))
    return {"components": components}


def _add_samples(
    out: dict[str, Any], value: object, names: tuple[str, ...], expressed: set[str], on: bool
) -> None:
    if not on:
        return
    extra = {n: getattr(value, n) for n in names if n not in expressed}
    extra = {k: v for k, v in extra.items() if v is not None}
    if extra:
        out[SAMPLE_KEY] = extra


def _url_prefix(url: str) -> str:
    return url[: -len(wa.DYNAMIC_URL_PLACEHOLDER)]


# --- Meta -> config ---------------------------------------------------------------------------


def from_meta(doc: Any, where: str = "template") -> RemoteTemplate:
    """Read one template in Meta's format; MetaFormatError when its shape is wrong."""
    reader = _Reader()
    obj = _mapping(doc, where)
    name = _string(obj, "name", where, required=True)
    language = _language(obj.get("language"), f"{where}.language")
    status_word = _string(obj, "status", where)
    # a file of templates without statuses states their content, not a review: take it as is
    status = meta.status_name(status_word) if status_word else meta.APPROVED
    category_word = _string(obj, "category", where) or meta.CATEGORIES[wa.DEFAULT_CATEGORY]
    category = _META_TO_CATEGORY.get(category_word.upper())
    if category is None:
        reader.unsupported.append(f"category {category_word}")
        category = category_word.lower()
    parameter_format = _string(obj, "parameter_format", where)
    if parameter_format and parameter_format.upper() != meta.POSITIONAL:
        reader.unsupported.append(f"{parameter_format.lower()} parameters")
    raw_id = obj.get("id")
    if raw_id is not None and (isinstance(raw_id, bool) or not isinstance(raw_id, str | int)):
        raise MetaFormatError(f"{where}.id must be a string")
    parts = reader.components(obj.get("components", []), f"{where}.components", card=False)
    if parts.body is None:
        reader.unsupported.append("no BODY component")
    template = WhatsAppTemplate(
        name=name,
        language=language,
        body=parts.body or "",
        category=category,
        header=parts.header,
        footer=parts.footer,
        buttons=parts.buttons,
        offer=parts.offer,
        carousel=parts.cards,
        examples=parts.examples,
    )
    return RemoteTemplate(
        template,
        status=status,
        id=str(raw_id) if raw_id is not None else None,
        unsupported=tuple(dict.fromkeys(reader.unsupported)),
    )


@dataclass(slots=True)
class _Parts:
    header: Header | None = None
    body: str | None = None
    examples: tuple[str, ...] = ()
    footer: str | None = None
    buttons: tuple[Button, ...] = ()
    offer: Offer | None = None
    cards: tuple[Card, ...] = ()


class _Reader:
    def __init__(self) -> None:
        self.unsupported: list[str] = []

    def components(self, value: Any, where: str, *, card: bool) -> _Parts:
        parts = _Parts()
        for i, item in enumerate(_sequence(value, where)):
            here = f"{where}[{i}]"
            component = _mapping(item, here)
            kind = _string(component, "type", here, required=True).upper()
            if kind == meta.HEADER:
                parts.header = self.header(component, here)
            elif kind == meta.BODY:
                parts.body = _string(component, "text", here, required=True)
                parts.examples = _body_examples(component, here)
            elif kind == meta.FOOTER and not card:
                parts.footer = _string(component, "text", here, required=True)
            elif kind == meta.BUTTONS:
                buttons = _sequence(component.get("buttons", []), f"{here}.buttons")
                parts.buttons = tuple(
                    self.button(b, f"{here}.buttons[{j}]") for j, b in enumerate(buttons)
                )
            elif kind == meta.LIMITED_TIME_OFFER and not card:
                offer = _mapping(component.get("limited_time_offer"), f"{here}.limited_time_offer")
                title = _string(offer, "text", f"{here}.limited_time_offer", required=True)
                expires = offer.get("has_expiration", False)
                if not isinstance(expires, bool):
                    raise MetaFormatError(f"{here}.limited_time_offer.has_expiration: not a bool")
                parts.offer = Offer(title=title, expires=expires)
            elif kind == meta.CAROUSEL and not card:
                cards = _sequence(component.get("cards", []), f"{here}.cards")
                parts.cards = tuple(self.card(c, f"{here}.cards[{j}]") for j, c in enumerate(cards))
            else:
                self.unsupported.append(f"a {kind} component" + (" on a card" if card else ""))
        return parts

    def kind(self, table: Mapping[str, str], meta_word: str, what: str) -> str:
        """The config's word for Meta's ``meta_word``; one it has none for is noted unsupported
        and kept, lower-cased."""
        kind = table.get(meta_word)
        if kind is None:
            self.unsupported.append(f"a {meta_word} {what}")
            return meta_word.lower()
        return kind

    def header(self, component: Mapping[str, Any], where: str) -> Header:
        fmt = _string(component, "format", where, required=True).upper()
        kind = self.kind(_FORMAT_TO_HEADER, fmt, "header")
        values = _samples(component, _HEADER_FIELDS, where)
        if kind == "text":
            values["text"] = _string(component, "text", where)
        elif kind in wa.MEDIA_HEADER_TYPES:
            example = component.get("example")
            if example is not None:
                handles = _mapping(example, f"{where}.example").get("header_handle")
                if handles is not None:
                    values["url"] = _first_string(handles, f"{where}.example.header_handle")
        return Header(type=kind, **values)

    def button(self, item: Any, where: str) -> Button:
        obj = _mapping(item, where)
        meta_type = _string(obj, "type", where, required=True).upper()
        kind = self.kind(_META_TO_BUTTON, meta_type, "button")
        values = _samples(obj, _BUTTON_FIELDS, where)
        text = _string(obj, "text", where)
        values["text"] = (
            text if text is not None else (COPY_CODE_LABEL if kind == "copy_code" else "")
        )
        if kind == "url":
            url = _string(obj, "url", where)
            values["url"] = url
            if url is not None and wa.is_dynamic_url(url) and obj.get("example") is not None:
                whole = _first_string(obj["example"], f"{where}.example")
                prefix = _url_prefix(url)
                values["example"] = whole[len(prefix) :] if whole.startswith(prefix) else whole
        elif kind == "phone":
            values["phone_number"] = _string(obj, "phone_number", where)
        elif kind == "copy_code" and obj.get("example") is not None:
            values["example"] = _first_string(obj["example"], f"{where}.example")
        return Button(type=kind, **values)

    def card(self, item: Any, where: str) -> Card:
        obj = _mapping(item, where)
        parts = self.components(obj.get("components", []), f"{where}.components", card=True)
        if parts.body is None:
            self.unsupported.append("a card without a BODY")
        return Card(
            header=parts.header or Header(type=""),
            body=parts.body or "",
            examples=parts.examples,
            buttons=parts.buttons,
        )


# --- JSON shape helpers -----------------------------------------------------------------------


def _kind_of(value: Any) -> str:
    match value:
        case bool():
            return "a boolean"
        case int() | float():
            return "a number"
        case str():
            return "a string"
        case list():
            return "a list"
        case dict():
            return "an object"
        case None:
            return "null"
    return type(value).__name__


def _mapping(value: Any, where: str) -> Mapping[str, Any]:
    if not isinstance(value, dict):
        raise MetaFormatError(f"{where} must be an object, not {_kind_of(value)}")
    return value


def _sequence(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise MetaFormatError(f"{where} must be a list, not {_kind_of(value)}")
    return value


def _string(obj: Mapping[str, Any], key: str, where: str, *, required: bool = False) -> Any:
    value = obj.get(key)
    if value is None:
        if required:
            raise MetaFormatError(f"{where}.{key} is missing")
        return None
    if not isinstance(value, str):
        raise MetaFormatError(f"{where}.{key} must be a string, not {_kind_of(value)}")
    return value


def _language(value: Any, where: str) -> str:
    # the Graph API's list gives "en_US"; send payloads write {"code": "en_US"}: read both
    if isinstance(value, dict):
        value = value.get("code")
    if not isinstance(value, str) or not value:
        raise MetaFormatError(f"{where} must be a language code such as en_US")
    return value


def _scalar_text(value: Any, where: str) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise MetaFormatError(f"{where} must be a string, not {_kind_of(value)}")


def _first_string(value: Any, where: str) -> str:
    """Meta writes examples as lists (["CODE"]); its creation samples also as a bare string."""
    if isinstance(value, list):
        if not value:
            raise MetaFormatError(f"{where} is an empty list")
        return _scalar_text(value[0], f"{where}[0]")
    return _scalar_text(value, where)


def _body_examples(component: Mapping[str, Any], where: str) -> tuple[str, ...]:
    example = component.get("example")
    if example is None:
        return ()
    rows = _mapping(example, f"{where}.example").get("body_text")
    if rows is None:
        return ()
    rows = _sequence(rows, f"{where}.example.body_text")
    if not rows:
        return ()
    first = _sequence(rows[0], f"{where}.example.body_text[0]")
    return tuple(_scalar_text(v, f"{where}.example.body_text[0][{i}]") for i, v in enumerate(first))


def _samples(obj: Mapping[str, Any], names: tuple[str, ...], where: str) -> dict[str, Any]:
    raw = obj.get(SAMPLE_KEY)
    if raw is None:
        return {}
    sample = _mapping(raw, f"{where}.{SAMPLE_KEY}")
    out: dict[str, Any] = {}
    for name in names:
        value = sample.get(name)
        if value is None:
            continue
        if name in ("latitude", "longitude"):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise MetaFormatError(f"{where}.{SAMPLE_KEY}.{name} must be a number")
            out[name] = float(value)
        else:
            out[name] = _scalar_text(value, f"{where}.{SAMPLE_KEY}.{name}")
    return out
