"""The WhatsApp payload CleverTap sends to the provider endpoint (SPEC 4.1), built from a
template of the config and the values a send supplies. Pure: no I/O, no secrets.

Components go out in CleverTap's order, each only when the template has it: header, body,
footer, limited time offer, one per button, carousel, then the custom key-values.
"""

from __future__ import annotations

import os
import time

from kctl.config.model import Button, Card, Header, WhatsAppProvider, WhatsAppTemplate
from kctl.contract import whatsapp as wa
from kctl.contract.numbers import wire_number
from kctl.errors import UsageError
from kctl.lean import Record

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Any, Final

    Component = dict[str, Any]


class Location(Record):
    __slots__ = ("address", "latitude", "longitude", "name")
    latitude: Final[str]
    longitude: Final[str]
    name: Final[str | None]
    address: Final[str | None]

    def __init__(
        self, latitude: str, longitude: str, name: str | None = None, address: str | None = None
    ) -> None:
        self.latitude = latitude
        self.longitude = longitude
        self.name = name
        self.address = address


class CardValues(Record):
    __slots__ = ("media_url", "params", "url_suffixes")
    params: Final[tuple[str, ...]]
    url_suffixes: Final[tuple[str, ...]]
    media_url: Final[str | None]

    def __init__(
        self,
        params: tuple[str, ...] = (),
        url_suffixes: tuple[str, ...] = (),
        media_url: str | None = None,
    ) -> None:
        self.params = params
        self.url_suffixes = url_suffixes
        self.media_url = media_url


class TemplateValues(Record):
    """What a send fills in: CleverTap asks for these when a campaign is created."""

    __slots__ = (
        "cards",
        "coupon_code",
        "header_param",
        "location",
        "media_url",
        "offer_expiry_ms",
        "params",
        "props",
        "url_suffixes",
    )
    params: Final[tuple[str, ...]]  # the body's {{1}}..{{n}}
    header_param: Final[str | None]  # a text header's {{1}}
    media_url: Final[str | None]  # replaces the header's sample media
    location: Final[Location | None]  # a location header
    url_suffixes: Final[tuple[str, ...]]  # dynamic URL buttons, in template order
    coupon_code: Final[str | None]  # the copy-code button
    offer_expiry_ms: Final[int | None]  # limited time offer expiry, epoch milliseconds
    cards: Final[tuple[CardValues, ...]]  # carousel cards, in order
    props: Final[tuple[tuple[str, str], ...]]  # custom key-values (customProps)

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaces
        self,
        params: tuple[str, ...] = (),
        header_param: str | None = None,
        media_url: str | None = None,
        location: Location | None = None,
        url_suffixes: tuple[str, ...] = (),
        coupon_code: str | None = None,
        offer_expiry_ms: int | None = None,
        cards: tuple[CardValues, ...] = (),
        props: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.params = params
        self.header_param = header_param
        self.media_url = media_url
        self.location = location
        self.url_suffixes = url_suffixes
        self.coupon_code = coupon_code
        self.offer_expiry_ms = offer_expiry_ms
        self.cards = cards
        self.props = props


class Freeform(Record):
    """A session message: text, or media with an optional caption (and file name)."""

    __slots__ = ("caption", "filename", "media_url", "text", "type")
    type: Final[str]  # one of wa.FREEFORM_TYPES
    text: Final[str | None]
    media_url: Final[str | None]
    caption: Final[str | None]
    filename: Final[str | None]

    def __init__(
        self,
        type: str,
        text: str | None = None,
        media_url: str | None = None,
        caption: str | None = None,
        filename: str | None = None,
    ) -> None:
        self.type = type
        self.text = text
        self.media_url = media_url
        self.caption = caption
        self.filename = filename


class _Missing:
    """Send-time values a template needs and the send did not give, to refuse them all at once."""

    def __init__(self) -> None:
        self.items: list[str] = []

    def need(self, what: str) -> str:
        self.items.append(what)
        return ""

    def check(self, template: WhatsAppTemplate) -> None:
        if self.items:
            raise UsageError(
                f"template '{template.name}' needs values at send time: " + "; ".join(self.items),
                "see kctl send-test --help for each flag and an example",
            )


def random_below(bound: int) -> int:
    """A random int in [0, bound), as ``secrets.randbelow`` draws it (os.urandom, as many bits
    as ``bound`` needs, drawn again when too large, so every value is as likely): for ids that
    must not collide. Not ``random`` or ``secrets``: a send imports neither (1 to 3 ms)."""
    bits = bound.bit_length()
    size = (bits + 7) // 8
    while True:
        value = int.from_bytes(os.urandom(size), "big") >> (size * 8 - bits)
        if value < bound:
            return value


def new_msg_id() -> str:
    """A unique id in CleverTap's msgId shape: four groups of digits joined by '|'."""
    now = time.time()
    day = time.strftime("%Y%m%d", time.gmtime(now))
    return f"{random_below(10**8):08d}|{int(now)}|{day}|{random_below(10**8):08d}"


def _text_parameters(values: tuple[str, ...]) -> list[dict[str, str]]:
    return [{"type": "text", "text": v} for v in values]


def _header(header: Header, values: TemplateValues, missing: _Missing) -> Component:
    kind = wa.WIRE_HEADER_TYPES[header.type]
    content: dict[str, Any]
    match header.type:
        case "text":
            text = header.text or ""
            if header.placeholders:
                value = values.header_param
                if value is None:
                    value = missing.need("--header-param (the header's {{1}})")
                content = {
                    "text": wa.fill_placeholders(text, (value,)),
                    "parameters": _text_parameters((value,)),
                }
            else:
                content = {"text": text}
        case "image" | "video" | "document":
            url = values.media_url or header.url
            if not url:
                url = missing.need(f"--media-url (the {header.type} header's media)")
            content = {"mediaURL": url}
            if header.type == "document":
                content["filename"] = header.filename or url.rsplit("/", 1)[-1]
        case "location":
            where = values.location
            if where is None and header.latitude is not None and header.longitude is not None:
                where = Location(str(header.latitude), str(header.longitude))
            if where is None:
                missing.need("--location LAT,LONG (the location header)")
                where = Location("", "")
            content = {"latitude": where.latitude, "longitude": where.longitude}
            name, address = where.name or header.name, where.address or header.address
            if name:
                content["name"] = name
            if address:
                content["address"] = address
        case _:
            raise AssertionError(f"validated header type {header.type!r}")
    return {"type": "header", "header": {"type": kind, kind: content}}


def _body(text: str, params: tuple[str, ...]) -> Component:
    return {
        "type": "body",
        "body": {
            "text": wa.fill_placeholders(text, params),
            "parameters": _text_parameters(params),
        },
    }


def _buttons(
    buttons: tuple[Button, ...],
    suffixes: tuple[str, ...],
    coupon: str | None,
    missing: _Missing,
    where: str = "",
) -> list[Component]:
    out: list[Component] = []
    remaining = list(suffixes)
    for index, button in enumerate(buttons):
        item: Component = {"type": "button", "index": index}
        match button.type:
            case "quick_reply":
                item |= {"subType": wa.QUICK_REPLY, "buttonText": button.text}
            case "url" if button.is_dynamic:
                suffix = remaining.pop(0) if remaining else None
                if suffix is None:
                    suffix = missing.need(f"--{where}url-suffix (button '{button.text}')")
                item |= {
                    "subType": wa.DYNAMIC_URL,
                    "buttonText": button.text,
                    "parameters": _text_parameters((suffix,)),
                }
            case "url":
                item |= {
                    "subType": wa.STATIC_URL,
                    "buttonText": button.text,
                    "parameters": _text_parameters((button.url or "",)),
                }
            case "phone":
                item |= {
                    "subType": wa.CALL_PHONE,
                    "buttonText": button.text,
                    "parameters": _text_parameters((button.phone_number or "",)),
                }
            case "copy_code":
                code = coupon
                if not code:
                    code = missing.need(f"--coupon-code (button '{button.text}')")
                item |= {
                    "subType": wa.COPY_CODE,
                    "buttonText": button.text,
                    "parameters": [{"type": "coupon_code", "coupon_code": code}],
                }
            case _:
                raise AssertionError(f"validated button type {button.type!r}")
        out.append(item)
    if remaining:
        raise UsageError(
            f"{len(suffixes)} --{where}url-suffix value(s) for"
            f" {len(suffixes) - len(remaining)} dynamic URL button(s)"
        )
    return out


def _card(card: Card, number: int, values: CardValues, missing: _Missing) -> Component:
    wanted = wa.placeholder_count(card.body)
    params = values.params
    if len(params) != wanted:
        missing.need(
            f"--card-param {number}=VALUE, {wanted} in all (card {number} has {wanted}"
            f" placeholder(s), {len(params)} given)"
        )
        params = (*params[:wanted], *[""] * (wanted - len(params)))
    header = _header(card.header, TemplateValues(media_url=values.media_url), missing)
    buttons = _buttons(card.buttons, values.url_suffixes, None, missing, where="card-")
    return {"components": [header, _body(card.body, params), *buttons]}


def template_components(template: WhatsAppTemplate, values: TemplateValues) -> list[Component]:
    """The components CleverTap sends for ``template`` filled with ``values``; UsageError (exit
    2) naming every send-time value that is missing."""
    missing = _Missing()
    wanted = wa.placeholder_count(template.body)
    if len(values.params) != wanted:
        raise UsageError(
            f"template '{template.name}' has {wanted} placeholder(s) ({{{{1}}}}, ...) but"
            f" {len(values.params)} --param value(s) were given",
            f"pass --param once per placeholder, in order ({wanted} in all)",
        )
    components: list[Component] = []
    if template.header is not None:
        components.append(_header(template.header, values, missing))
    components.append(_body(template.body, values.params))
    if template.footer:
        components.append({"type": "footer", wa.FOOTER_KEYS[0]: template.footer})
    if template.offer is not None:
        offer: Component = {"type": "limited_time_offer", "text": template.offer.title}
        expiry = values.offer_expiry_ms
        if template.offer.expires and expiry is None:
            missing.need("--offer-expiry (the offer expires)")
        if expiry is not None:
            offer["parameters"] = [
                {"type": "limited_time_offer", "limited_time_offer": {"expiration_time_ms": expiry}}
            ]
        components.append(offer)
    components += _buttons(template.buttons, values.url_suffixes, values.coupon_code, missing)
    if template.carousel:
        if len(values.cards) > len(template.carousel):
            raise UsageError(
                f"values for card {len(values.cards)}, but template '{template.name}' has"
                f" {len(template.carousel)} cards"
            )
        cards = [
            _card(card, i + 1, values.cards[i] if i < len(values.cards) else CardValues(), missing)
            for i, card in enumerate(template.carousel)
        ]
        components.append({"type": "carousel", "cards": cards})
    missing.check(template)
    _refuse_unused(template, values)
    if values.props:
        components.append({"customProps": [{key: value} for key, value in values.props]})
    return components


def _refuse_unused(template: WhatsAppTemplate, values: TemplateValues) -> None:
    """Values the template has no place for are refused, not silently dropped."""
    header = template.header
    kind = header.type if header is not None else None
    has_coupon = any(b.type == "copy_code" for b in template.buttons)
    unused = [
        flag
        for flag, given, fits in (
            ("--header-param", values.header_param, header is not None and header.placeholders),
            ("--media-url", values.media_url, kind in wa.MEDIA_HEADER_TYPES),
            ("--location", values.location, kind == "location"),
            ("--coupon-code", values.coupon_code, has_coupon),
            ("--offer-expiry", values.offer_expiry_ms, template.offer is not None),
            ("--card-...", values.cards or None, bool(template.carousel)),
        )
        if given is not None and not fits
    ]
    if unused:
        raise UsageError(
            f"template '{template.name}' has no place for " + ", ".join(unused),
            "see the template in the config: its header, buttons, offer and cards",
        )


def _envelope(provider: WhatsAppProvider, to: str, msg_id: str, is_template: bool) -> Component:
    return {
        # CleverTap sends the Payload Version as a JSON number (0.1), not a string
        "payloadVersion": float(provider.payload_version),
        "to": wire_number(to),
        "wabaNumber": wire_number(provider.business_number),
        "isTemplate": is_template,
        wa.MSG_ID_KEYS[0]: msg_id,
    }


def template_payload(
    provider: WhatsAppProvider,
    template: WhatsAppTemplate,
    values: TemplateValues,
    to: str,
    msg_id: str,
) -> Component:
    payload = _envelope(provider, to, msg_id, is_template=True)
    payload["template"] = {"namespace": template.name, "languageCode": template.language}
    payload["components"] = template_components(template, values)
    return payload


def freeform_payload(
    provider: WhatsAppProvider, message: Freeform, to: str, msg_id: str
) -> Component:
    payload = _envelope(provider, to, msg_id, is_template=False)
    payload["type"] = message.type
    content: dict[str, str]
    if message.type == "text":  # the shape chosen in contract/whatsapp.py (FREEFORM_TYPES)
        content = {"body": message.text or ""}
    else:
        content = {"mediaURL": message.media_url or ""}
        if message.caption and message.type != "audio":
            content["caption"] = message.caption
        if message.type == "file":
            content["filename"] = message.filename or (message.media_url or "").rsplit("/", 1)[-1]
    payload[message.type] = content
    return payload


def validation_payload(provider: WhatsAppProvider, to: str) -> Component:
    """What CleverTap sends when the provider is saved (sent bare, not wrapped in "body")."""
    payload = _envelope(provider, to, wa.VALIDATION_MSG_ID, is_template=True)
    payload["template"] = {
        "namespace": wa.VALIDATION_NAMESPACE,
        "languageCode": wa.VALIDATION_LANGUAGE,
    }
    # the text comes already filled in, as in every CleverTap sample
    body = {"text": wa.VALIDATION_TEXT, "parameters": _text_parameters(wa.VALIDATION_PARAMETERS)}
    payload["components"] = [{"type": "body", "body": body}]
    return payload
