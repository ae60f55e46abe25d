"""Sample values for a template: what CleverTap's template-save check, kctl verify, kctl load
and preview fill a template with. The config's examples first; wherever it has none, a value
marked as made up (and listed, so the output can say which ones are)."""

from __future__ import annotations

import time
from collections.abc import Callable

from kctl.config.model import Button, Card, Header, WhatsAppTemplate
from kctl.contract import whatsapp as wa
from kctl.send.whatsapp import CardValues, Location, TemplateValues

SAMPLE = "kctl-sample"  # marks a value the config gave no example for
SAMPLE_MEDIA = "https://cdn.example.com/kctl-sample"
SAMPLE_COUPON = "KCTLSAMPLE"
# a sample limited time offer expires this long after the send
OFFER_EXPIRY_S = 24 * 3600


def template_samples(template: WhatsAppTemplate) -> tuple[TemplateValues, tuple[str, ...]]:
    """The values a template-save check would send: the config's examples and sample media,
    with a marked made-up value wherever the config has none. Also the made-up ones, named."""
    made_up: list[str] = []

    def sample(what: str, value: str = SAMPLE) -> str:
        made_up.append(f"{what}={value}")
        return value

    params = _examples(template.body, template.examples, "body", sample)
    header = template.header
    header_param = media_url = None
    location = None
    if header is not None:
        if header.type == "text" and header.placeholders:
            header_param = sample("header {{1}}")
        media_url = _media(header, "header", sample)
        if header.type == "location" and (header.latitude is None or header.longitude is None):
            location = Location(sample("header latitude", "0"), sample("header longitude", "0"))
    coupon = None
    for button in template.buttons:
        if button.type == "copy_code":
            coupon = button.example or sample(f"button '{button.text}'", SAMPLE_COUPON)
    expiry = None
    if template.offer is not None and template.offer.expires:
        expiry = int((time.time() + OFFER_EXPIRY_S) * 1000)
    cards = tuple(_card(card, n, sample) for n, card in enumerate(template.carousel, 1))
    values = TemplateValues(
        params=params,
        header_param=header_param,
        media_url=media_url,
        location=location,
        url_suffixes=_suffixes(template.buttons, "", sample),
        coupon_code=coupon,
        offer_expiry_ms=expiry,
        cards=cards,
    )
    return values, tuple(made_up)


def _examples(
    body: str, examples: tuple[str, ...], where: str, sample: Callable[[str, str], str]
) -> tuple[str, ...]:
    wanted = wa.placeholder_count(body)
    if len(examples) == wanted:
        return examples
    return tuple(
        examples[n]
        if n < len(examples)
        else sample(f"{where} {{{{{n + 1}}}}}", f"{SAMPLE}-{n + 1}")
        for n in range(wanted)
    )


def _media(header: Header, where: str, sample: Callable[[str, str], str]) -> str | None:
    if header.type not in wa.MEDIA_HEADER_TYPES or header.url:
        return None
    return sample(f"{where} media", f"{SAMPLE_MEDIA}.{_EXTENSIONS[header.type]}")


_EXTENSIONS = {"image": "png", "video": "mp4", "document": "pdf"}


def _suffixes(
    buttons: tuple[Button, ...], where: str, sample: Callable[[str, str], str]
) -> tuple[str, ...]:
    return tuple(
        b.example or sample(f"{where}button '{b.text}'", SAMPLE) for b in buttons if b.is_dynamic
    )


def _card(card: Card, number: int, sample: Callable[[str, str], str]) -> CardValues:
    where = f"card {number}"
    return CardValues(
        params=_examples(card.body, card.examples, where, sample),
        url_suffixes=_suffixes(card.buttons, f"{where} ", sample),
        media_url=_media(card.header, where, sample),
    )
