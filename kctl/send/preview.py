"""kctl preview: a template filled with send-time values, as the recipient will see it.

Pure: a provider, a template and the values of ``kctl.send.values`` in, a ``Preview`` out, for
``kctl.render.preview`` to draw. Values not given come from the template's ``examples`` (and a
button's ``example``), else they are made up and marked as samples, as ``kctl verify`` does. The
values go through the same builder as a send, so what send-test would refuse, preview refuses;
the limits a filled message must keep are checked again after filling, since a template that
fits can be pushed over them by its values.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from enum import StrEnum
from typing import assert_never

from kctl.config.model import (
    Button,
    Header,
    Provider,
    SmsProvider,
    WhatsAppProvider,
    WhatsAppTemplate,
)
from kctl.contract import dlt, sms
from kctl.contract import whatsapp as wa
from kctl.contract.encoding import SmsSize, sms_size
from kctl.errors import UsageError
from kctl.send.build import Message, sms_dlt, sms_text
from kctl.send.dlt import DltVerdict
from kctl.send.samples import OFFER_EXPIRY_S as SAMPLE_OFFER_S
from kctl.send.samples import SAMPLE, SAMPLE_MEDIA
from kctl.send.whatsapp import CardValues, Location, TemplateValues, template_components

SAMPLE_LOCATION = Location("12.9716", "77.5946")


class Kind(StrEnum):
    TEXT = "text"  # the template's own words
    VALUE = "value"  # a value given on the command line, or the template's example
    SAMPLE = "sample"  # made up by kctl: nothing was given and the template has no example


@dataclass(frozen=True, slots=True)
class Span:
    text: str
    kind: Kind = Kind.TEXT


Filled = tuple[Span, ...]


def plain(filled: Filled) -> str:
    return "".join(span.text for span in filled)


@dataclass(frozen=True, slots=True)
class Media:
    kind: str  # image, video, document, location
    url: Span | None = None
    filename: str | None = None
    latitude: str | None = None
    longitude: str | None = None
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class HeaderView:
    text: Filled = ()
    media: Media | None = None


@dataclass(frozen=True, slots=True)
class ButtonView:
    kind: str  # quick_reply, url, phone, copy_code
    label: str
    target: Filled = ()  # the resolved URL, the number, the code; empty for a quick reply


@dataclass(frozen=True, slots=True)
class OfferView:
    title: str
    expires_ms: int | None = None
    expiry_kind: Kind = Kind.VALUE


@dataclass(frozen=True, slots=True)
class CardView:
    header: HeaderView
    body: Filled
    buttons: tuple[ButtonView, ...] = ()


@dataclass(frozen=True, slots=True)
class OverLimit:
    """A part of the filled message longer than its limit."""

    what: str  # "body", "header", "button 'Track' URL", "card 2 body"
    length: int
    limit: int

    def describe(self) -> str:
        return f"{self.what} is {self.length} characters once filled; the limit is {self.limit}"


@dataclass(frozen=True, slots=True)
class WhatsAppPreview:
    provider: str
    template: str  # name (language)
    category: str
    header: HeaderView | None
    body: Filled
    footer: str | None = None
    buttons: tuple[ButtonView, ...] = ()
    offer: OfferView | None = None
    cards: tuple[CardView, ...] = ()
    samples: tuple[str, ...] = ()  # what kctl made up, for the legend
    over: tuple[OverLimit, ...] = ()

    @property
    def problems(self) -> tuple[str, ...]:
        return tuple(o.describe() for o in self.over)


@dataclass(frozen=True, slots=True)
class SmsPreview:
    provider: str
    template: str | None  # None: free text (--body)
    text: Filled
    size: SmsSize
    longest: SmsSize | None  # the template with every variable at 30 characters
    dlt: DltVerdict | None
    sender: str | None = None
    samples: tuple[str, ...] = ()

    @property
    def problems(self) -> tuple[str, ...]:
        if self.dlt is not None and self.dlt.code is not None:
            return (f"DLT would drop it (failure {self.dlt.code}): {self.dlt.problem}",)
        return ()


Preview = WhatsAppPreview | SmsPreview


@dataclass(frozen=True, slots=True)
class Request:
    """What the user asked to preview (the preview options)."""

    template: str | None = None
    language: str | None = None
    params: tuple[str, ...] = ()
    body: str | None = None  # SMS free text
    sender: str | None = None
    values: TemplateValues = field(default_factory=TemplateValues)


def preview(provider: Provider, request: Request) -> Preview:
    match provider:
        case WhatsAppProvider():
            if request.body is not None or request.sender is not None:
                raise UsageError(
                    f"--body and --sender are for SMS providers; '{provider.nickname}' is WhatsApp"
                )
            if request.template is None:
                raise UsageError("a WhatsApp preview needs --template NAME")
            template = provider.find_template(request.template, request.language)
            return whatsapp_preview(provider, template, request)
        case SmsProvider():
            if request.language is not None or request.values != TemplateValues():
                raise UsageError(
                    f"'{provider.nickname}' is an SMS provider: --lang, header, button, card and"
                    " offer options are for WhatsApp"
                )
            return sms_preview(provider, request)
        case _:
            assert_never(provider)


# --- SMS ----------------------------------------------------------------------------------------


def sms_preview(provider: SmsProvider, request: Request) -> SmsPreview:
    samples: list[str] = []
    params = request.params
    if request.template is not None and not params:
        wanted = provider.find_template(request.template).body.count(sms.VARIABLE)
        params = tuple(SAMPLE for _ in range(wanted))
        samples = [f"{sms.VARIABLE} {n}" for n in range(1, wanted + 1)]
    message = Message(
        to="", template=request.template, params=params, body=request.body, sender=request.sender
    )
    text, template = sms_text(provider, message)
    kind = Kind.SAMPLE if samples else Kind.VALUE
    filled = (
        _fill(template.body, sms.VARIABLE, [(v, kind) for v in params])
        if template is not None
        else (Span(text),)
    )
    return SmsPreview(
        provider=provider.nickname,
        template=template.name if template is not None else None,
        text=filled,
        size=sms_size(text),
        longest=sms_size(dlt.longest(template.body)) if template is not None else None,
        dlt=sms_dlt(provider, message, text, template),
        sender=request.sender or provider.sender,
        samples=tuple(samples),
    )


def _fill(text: str, marker: str, values: list[tuple[str, Kind]]) -> Filled:
    pieces = text.split(marker)
    out = [Span(pieces[0])]
    for (value, kind), rest in zip(values, pieces[1:], strict=False):
        out += [Span(value, kind), Span(rest)]
    return tuple(span for span in out if span.text)


# --- WhatsApp -----------------------------------------------------------------------------------


class _Picker:
    """Chooses each send-time value: given, else the template's example, else a marked sample."""

    def __init__(self) -> None:
        self.samples: list[str] = []

    def pick(self, what: str, given: str | None, example: str | None = None) -> Span:
        if given is not None:
            return Span(given, Kind.VALUE)
        if example:
            return Span(example, Kind.VALUE)
        self.samples.append(what)
        return Span(SAMPLE, Kind.SAMPLE)

    def params(
        self, what: str, given: tuple[str, ...], examples: tuple[str, ...], wanted: int
    ) -> tuple[Span, ...]:
        if given:
            return tuple(Span(v, Kind.VALUE) for v in given)
        if len(examples) == wanted:
            return tuple(Span(v, Kind.VALUE) for v in examples)
        return tuple(self.pick(f"{what} {{{{{n}}}}}", None) for n in range(1, wanted + 1))


def _placeholders(text: str, values: tuple[Span, ...]) -> Filled:
    out: list[Span] = []
    last = 0
    for match in wa.PLACEHOLDER.finditer(text):
        out.append(Span(text[last : match.start()]))
        number = int(match.group(1))
        out.append(values[number - 1] if number <= len(values) else Span(match.group()))
        last = match.end()
    out.append(Span(text[last:]))
    return tuple(span for span in out if span.text)


def _as_values(spans: tuple[Span, ...]) -> tuple[str, ...]:
    return tuple(span.text for span in spans)


@dataclass(frozen=True, slots=True)
class _Chosen:
    """The send-time values a header or a set of buttons was drawn with, as a send takes them."""

    header_param: str | None = None
    media_url: str | None = None
    location: Location | None = None
    url_suffixes: tuple[str, ...] = ()
    coupon_code: str | None = None


def _header(
    header: Header, given: TemplateValues, picker: _Picker, where: str
) -> tuple[HeaderView, _Chosen]:
    match header.type:
        case "text":
            if not header.placeholders:
                return HeaderView(text=_placeholders(header.text or "", ())), _Chosen()
            value = picker.pick(f"{where}header {{{{1}}}}", given.header_param)
            view = HeaderView(text=_placeholders(header.text or "", (value,)))
            return view, _Chosen(header_param=value.text)
        case "image" | "video" | "document":
            url = picker.pick(f"{where}{header.type} URL", given.media_url, header.url)
            if url.kind is Kind.SAMPLE:
                url = Span(SAMPLE_MEDIA, Kind.SAMPLE)
            filename = None
            if header.type == "document":
                filename = header.filename or url.text.rsplit("/", 1)[-1]
            media = Media(header.type, url, filename=filename)
            return HeaderView(media=media), _Chosen(media_url=url.text)
        case "location":
            place = given.location
            if place is None and header.latitude is not None and header.longitude is not None:
                place = Location(str(header.latitude), str(header.longitude))
            if place is None:
                picker.samples.append(f"{where}location")
                place = SAMPLE_LOCATION
            media = Media(
                "location",
                latitude=place.latitude,
                longitude=place.longitude,
                name=place.name or header.name,
                address=place.address or header.address,
            )
            return HeaderView(media=media), _Chosen(location=place)
        case _:
            raise AssertionError(f"validated header type {header.type!r}")


def _buttons(
    buttons: tuple[Button, ...],
    suffixes: tuple[str, ...],
    coupon: str | None,
    picker: _Picker,
    where: str = "",
) -> tuple[tuple[ButtonView, ...], _Chosen]:
    out: list[ButtonView] = []
    remaining = list(suffixes)
    chosen_suffixes: list[str] = []
    chosen_coupon = None
    for button in buttons:
        match button.type:
            case "quick_reply":
                out.append(ButtonView("quick_reply", button.text))
            case "url" if button.is_dynamic:
                suffix = picker.pick(
                    f"{where}button '{button.text}'",
                    remaining.pop(0) if remaining else None,
                    button.example,
                )
                chosen_suffixes.append(suffix.text)
                url = _placeholders(button.url or "", (suffix,))
                out.append(ButtonView("url", button.text, url))
            case "url":
                out.append(ButtonView("url", button.text, (Span(button.url or ""),)))
            case "phone":
                out.append(ButtonView("phone", button.text, (Span(button.phone_number or ""),)))
            case "copy_code":
                code = picker.pick(f"{where}button '{button.text}'", coupon, button.example)
                chosen_coupon = code.text
                out.append(ButtonView("copy_code", button.text, (code,)))
            case _:
                raise AssertionError(f"validated button type {button.type!r}")
    # suffixes beyond the dynamic buttons stay, so the builder refuses them as a send would
    chosen = _Chosen(url_suffixes=(*chosen_suffixes, *remaining), coupon_code=chosen_coupon)
    return tuple(out), chosen


def whatsapp_preview(
    provider: WhatsAppProvider, template: WhatsAppTemplate, request: Request
) -> WhatsAppPreview:
    given = request.values.replace(params=request.params)
    picker = _Picker()
    body_values = picker.params(
        "body", given.params, template.examples, wa.placeholder_count(template.body)
    )
    header, from_header = (None, _Chosen())
    if template.header is not None:
        header, from_header = _header(template.header, given, picker, "")
    buttons, from_buttons = _buttons(
        template.buttons, given.url_suffixes, given.coupon_code, picker
    )
    offer = None
    expiry = given.offer_expiry_ms
    if template.offer is not None:
        expiry_kind = Kind.VALUE
        if expiry is None and template.offer.expires:
            picker.samples.append("offer expiry")
            expiry, expiry_kind = int((time.time() + SAMPLE_OFFER_S) * 1000), Kind.SAMPLE
        offer = OfferView(template.offer.title, expiry, expiry_kind)
    cards: list[CardView] = []
    card_values: list[CardValues] = []
    for number, card in enumerate(template.carousel, 1):
        card_given = given.cards[number - 1] if number <= len(given.cards) else CardValues()
        where = f"card {number} "
        params = picker.params(
            f"{where}body", card_given.params, card.examples, wa.placeholder_count(card.body)
        )
        card_header, from_card_header = _header(
            card.header, TemplateValues(media_url=card_given.media_url), picker, where
        )
        card_buttons, from_card_buttons = _buttons(
            card.buttons, card_given.url_suffixes, None, picker, where
        )
        cards.append(CardView(card_header, _placeholders(card.body, params), card_buttons))
        card_values.append(
            CardValues(
                _as_values(params),
                from_card_buttons.url_suffixes,
                from_card_header.media_url if card_given.media_url is not None else None,
            )
        )
    # values given for cards the template does not have stay, for the builder to refuse
    card_values += given.cards[len(template.carousel) :]
    sent = TemplateValues(
        params=_as_values(body_values),
        header_param=from_header.header_param,
        media_url=from_header.media_url,
        location=from_header.location,
        url_suffixes=from_buttons.url_suffixes,
        coupon_code=from_buttons.coupon_code,
        offer_expiry_ms=expiry,
        cards=tuple(card_values),
        props=given.props,
    )
    # what a send would refuse (a value with no place to go), preview refuses the same way
    _refuse_what_a_send_refuses(template, given, sent)
    view = WhatsAppPreview(
        provider=provider.nickname,
        template=template.label,
        category=template.category,
        header=header,
        body=_placeholders(template.body, body_values),
        footer=template.footer,
        buttons=buttons,
        offer=offer,
        cards=tuple(cards),
        samples=tuple(picker.samples),
    )
    return replace(view, over=_over_limits(view))


def _refuse_what_a_send_refuses(
    template: WhatsAppTemplate, given: TemplateValues, sent: TemplateValues
) -> None:
    # values the template has no place for are checked on what was given, not on what the
    # preview filled in, so the message names the user's flag
    checked = sent.replace(
        header_param=given.header_param if given.header_param is not None else sent.header_param,
        media_url=given.media_url if given.media_url is not None else sent.media_url,
        location=given.location if given.location is not None else sent.location,
        coupon_code=given.coupon_code if given.coupon_code is not None else sent.coupon_code,
        offer_expiry_ms=given.offer_expiry_ms
        if given.offer_expiry_ms is not None
        else sent.offer_expiry_ms,
    )
    template_components(template, checked)


def _over_limits(view: WhatsAppPreview) -> tuple[OverLimit, ...]:
    body_limit = wa.BODY_LIMIT_WITH_OFFER if view.offer is not None else wa.BODY_LIMIT
    checks: list[tuple[str, str, int]] = [("body", plain(view.body), body_limit)]
    if view.header is not None and view.header.text:
        checks.append(("header", plain(view.header.text), wa.HEADER_TEXT_LIMIT))
    if view.footer:
        checks.append(("footer", view.footer, wa.FOOTER_LIMIT))
    checks += _button_checks(view.buttons, "")
    for number, card in enumerate(view.cards, 1):
        checks.append((f"card {number} body", plain(card.body), wa.CARD_BODY_LIMIT))
        checks += _button_checks(card.buttons, f"card {number} ")
    return tuple(
        OverLimit(what, len(text), limit) for what, text, limit in checks if len(text) > limit
    )


def _button_checks(buttons: tuple[ButtonView, ...], where: str) -> list[tuple[str, str, int]]:
    out: list[tuple[str, str, int]] = []
    for button in buttons:
        if button.kind == "url":
            out.append(
                (f"{where}button '{button.label}' URL", plain(button.target), wa.BUTTON_URL_LIMIT)
            )
        elif button.kind == "copy_code":
            out.append(
                (f"{where}button '{button.label}' code", plain(button.target), wa.COUPON_CODE_LIMIT)
            )
    return out
