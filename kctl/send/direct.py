"""Direct mode: the form fields of Kaleyra's messages API (SPEC 4.8), built from the config.

Pure, like ``kctl.send.build`` which wraps these fields into a ``Request``. Kaleyra's v1
messages API carries a template's values in flat fields: ``params`` for the body,
``param_header`` for a text header's placeholder, ``media_url`` for a media header and
``param_url`` for a dynamic URL button's suffix. What direct mode does not build (a location
header, a carousel, custom key-values, a second dynamic URL, which the v1 form has no field for;
a limited time offer and a copy-code button, which Kaleyra carries in ``limited_time_offer`` and
``coupon_code`` fields that kctl does not send yet) is refused with a pointer to the adapter,
never dropped.
"""

from __future__ import annotations

from kctl.config.model import SmsTemplate, WhatsAppProvider, WhatsAppTemplate
from kctl.contract import kaleyra
from kctl.contract import whatsapp as wa
from kctl.contract.channels import Channel
from kctl.errors import UsageError
from kctl.send.whatsapp import TemplateValues

Fields = list[tuple[str, str]]

_ADAPTER_HINT = "send this template through the adapter (drop --via direct)"


def whatsapp_template_fields(
    provider: WhatsAppProvider,
    template: WhatsAppTemplate,
    *,
    to: str,
    params: tuple[str, ...],
    values: TemplateValues,
    callback_url: str | None,
) -> Fields:
    """A template message: ``type=template``, or ``type=mediatemplate`` when the template has
    an image, video or document header."""
    _refuse_what_v1_cannot_carry(template, values)
    kind = kaleyra.TEMPLATE
    extra: Fields = []
    missing: list[str] = []
    header = template.header
    if header is not None and header.placeholders:
        if values.header_param is None:
            missing.append("--header-param (the header's {{1}})")
        else:
            extra.append(("param_header", values.header_param))
    if header is not None and header.type in wa.MEDIA_HEADER_TYPES:
        kind = kaleyra.MEDIA_TEMPLATE
        url = values.media_url or header.url
        if not url:
            missing.append(f"--media-url (the {header.type} header's media)")
        else:
            extra.append(("media_url", url))
    dynamic = [b for b in template.buttons if b.is_dynamic]
    if dynamic:
        if not values.url_suffixes:
            missing.append(f"--url-suffix (button '{dynamic[0].text}')")
        else:
            extra.append(("param_url", values.url_suffixes[0]))
    if missing:
        raise UsageError(
            f"template '{template.name}' needs values at send time: " + "; ".join(missing),
            "see kctl send-test --help for each flag and an example",
        )
    _refuse_unused(template, values, len(dynamic))
    fields: Fields = [
        ("channel", Channel.WHATSAPP.value),
        ("from", provider.business_number),
        ("to", to),
        ("type", kind),
        ("template_name", template.name),
    ]
    if params:
        fields.append(("params", kaleyra.join_params(params)))
    fields.append(("lang_code", template.language))
    fields += extra
    if callback_url is not None:
        fields.append((kaleyra.CALLBACK_URL, callback_url))
    return fields


def _refuse_what_v1_cannot_carry(template: WhatsAppTemplate, values: TemplateValues) -> None:
    header = template.header
    beyond = [
        what
        for what, present in (
            ("a location header", header is not None and header.type == "location"),
            ("a limited time offer", template.offer is not None),
            ("a copy-code button", any(b.type == "copy_code" for b in template.buttons)),
            ("a carousel", bool(template.carousel)),
            ("more than one dynamic URL button", sum(b.is_dynamic for b in template.buttons) > 1),
            ("custom key-values (--prop)", bool(values.props)),
        )
        if present
    ]
    if beyond:
        raise UsageError(
            f"--via direct does not send {', '.join(beyond)} (template '{template.name}')",
            _ADAPTER_HINT,
        )


def _refuse_unused(template: WhatsAppTemplate, values: TemplateValues, dynamic: int) -> None:
    header = template.header
    unused = [
        flag
        for flag, given, fits in (
            (
                "--header-param",
                values.header_param is not None,
                header is not None and header.placeholders > 0,
            ),
            (
                "--media-url",
                values.media_url is not None,
                header is not None and header.type in wa.MEDIA_HEADER_TYPES,
            ),
            ("--url-suffix", len(values.url_suffixes) > dynamic, False),
            ("--location", values.location is not None, False),
            ("--coupon-code", values.coupon_code is not None, False),
            ("--offer-expiry", values.offer_expiry_ms is not None, False),
            ("--card-...", bool(values.cards), False),
        )
        if given and not fits
    ]
    if unused:
        raise UsageError(
            f"template '{template.name}' has no place for " + ", ".join(unused) + " in direct mode",
            "see the template in the config: its header and buttons",
        )


def sms_fields(
    *,
    text: str,
    template: SmsTemplate | None,
    to: str,
    sender: str | None,
    message_type: str | None,
    callback_url: str | None,
) -> Fields:
    """An SMS: the text as sent, with the DLT template's id when it has one."""
    fields: Fields = [
        ("to", to),
        ("sender", sender or ""),
        ("body", text),
        ("type", message_type or ""),
        ("template_id", (template.dlt_template_id or "") if template else ""),
    ]
    if callback_url is not None:
        fields.append((kaleyra.SMS_CALLBACK, kaleyra.sms_callback(callback_url)))
    # like CleverTap, leave out what has no value: Kaleyra picks the account's defaults
    return [(name, value) for name, value in fields if value]
