"""Build the exact request CleverTap (adapter mode) or a diagnostic client (direct mode) sends.

Pure functions from a typed provider and the user's choices to a ``Request`` value: no network,
no secrets resolved here (``kctl.send.resolve`` does that, once, right before sending).
"""

from __future__ import annotations

import json
import time
from urllib.parse import quote, urlencode

from kctl.config.model import (
    Provider,
    SmsProvider,
    SmsTemplate,
    WhatsAppProvider,
    WhatsAppTemplate,
)
from kctl.contract import kaleyra, sms
from kctl.contract import whatsapp as wa
from kctl.contract.channels import FORM_TYPE, JSON_TYPE
from kctl.contract.numbers import phone_problem, wire_number
from kctl.errors import UsageError
from kctl.lean import Record, assert_never
from kctl.secrets import parse_reference
from kctl.send import direct
from kctl.send.dlt import DltVerdict, dlt_verdict, refuse_unmatched
from kctl.send.whatsapp import (
    Freeform,
    TemplateValues,
    freeform_payload,
    new_msg_id,
    random_below,
    template_payload,
)
from kctl.send.wire import Request, Via

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Any, Final


class Message(Record):
    """What the user asked to send (the send-test options, checked)."""

    __slots__ = (
        "body",
        "force",
        "freeform",
        "language",
        "params",
        "sender",
        "template",
        "to",
        "type",
        "values",
        "variables",
    )
    to: Final[str]  # E.164
    template: Final[str | None]
    language: Final[str | None]
    params: Final[tuple[str, ...]]
    body: Final[str | None]  # SMS free text
    sender: Final[str | None]
    type: Final[str | None]
    force: Final[bool]  # send outside test_recipients
    # WhatsApp send-time values besides the body's params
    values: Final[TemplateValues]
    freeform: Final[Freeform | None]  # a WhatsApp session message instead of a template
    # SMS: the values of the provider's custom $$ replacements, by name without "$$"
    variables: Final[tuple[tuple[str, str], ...]]

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaces
        self,
        to: str,
        template: str | None = None,
        language: str | None = None,
        params: tuple[str, ...] = (),
        body: str | None = None,
        sender: str | None = None,
        type: str | None = None,
        force: bool = False,
        values: TemplateValues | None = None,
        freeform: Freeform | None = None,
        variables: tuple[tuple[str, str], ...] = (),
    ) -> None:
        self.to = to
        self.template = template
        self.language = language
        self.params = params
        self.body = body
        self.sender = sender
        self.type = type
        self.force = force
        self.values = TemplateValues() if values is None else values
        self.freeform = freeform
        self.variables = variables


def parse_variables(items: list[str]) -> tuple[tuple[str, str], ...]:
    """``--var NAME=VALUE`` options (NAME with or without its "$$"), checked."""
    out: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        name = name.strip().removeprefix("$$")
        if not sep or sms.CUSTOM_NAME.fullmatch(name) is None:
            raise UsageError(
                f"--var '{item}' is not NAME=VALUE",
                "e.g. --var hid=123 for the custom replacement $$hid",
            )
        if f"$${name}" in sms.REPLACEMENTS:
            raise UsageError(
                f"--var {name}: $${name} is a system replacement, which kctl fills itself",
                "--var gives the values of custom replacements such as $$hid",
            )
        if name in out:
            raise UsageError(f"--var {name} is given twice")
        out[name] = value
    return tuple(out.items())


def new_message_id(provider: Provider) -> str:
    """A fresh, unique id in the shape CleverTap gives its messages on this channel."""
    match provider:
        case WhatsAppProvider():
            return new_msg_id()
        case SmsProvider():
            return new_sms_message_id()
        case _:
            assert_never(provider)


def new_sms_message_id() -> str:
    """A unique $$MessageID in CleverTap's dotted shape. CleverTap's own fields (account,
    campaign) are unknown here, so those two are random: 10**18 ids per second."""
    now = time.time()
    return sms.message_id(
        account=random_below(9 * 10**8) + 10**9,
        campaign=random_below(9 * 10**8) + 10**9,
        epoch=int(now),
        day=time.strftime("%Y%m%d", time.gmtime(now)),
    )


def build_request(
    provider: Provider,
    message: Message,
    via: Via,
    message_id: str | None = None,
    callback_url: str | None = None,
) -> Request:
    """The request for ``message`` through ``via``; UsageError when the options do not fit.

    ``callback_url`` is for direct mode, where kctl (not CleverTap's form) says where Kaleyra
    reports; in adapter mode the provider's headers do."""
    message_id = message_id or new_message_id(provider)
    match provider:
        case WhatsAppProvider():
            check_whatsapp_options(provider, message)
            check_recipient(provider, message)
            match via:
                case Via.ADAPTER:
                    return whatsapp_adapter_request(provider, message, message_id)
                case Via.DIRECT:
                    return whatsapp_direct_request(provider, message, callback_url)
                case _:
                    assert_never(via)
        case SmsProvider():
            check_sms_options(provider, message)
            check_recipient(provider, message)
            match via:
                case Via.ADAPTER:
                    return sms_adapter_request(provider, message, message_id)
                case Via.DIRECT:
                    return sms_direct_request(provider, message, callback_url)
                case _:
                    assert_never(via)
        case _:
            assert_never(provider)


# --- checks of the user's options -------------------------------------------------------------


def check_recipient(provider: Provider, message: Message) -> None:
    problem = phone_problem(message.to)
    if problem is not None:
        raise UsageError(f"--to {problem[0]}", problem[1])
    allowed = provider.test_recipients
    if allowed and message.to not in allowed and not message.force:
        raise UsageError(
            f"{message.to} is not in test_recipients of provider '{provider.nickname}'",
            "add it to test_recipients, or pass --force to send anyway",
        )


def check_whatsapp_options(provider: WhatsAppProvider, message: Message) -> None:
    """Options that do not apply to WhatsApp are refused, not ignored."""
    for flag, value in (
        ("--body", message.body),
        ("--sender", message.sender),
        ("--type", message.type),
    ):
        if value is not None:
            raise UsageError(f"{flag} is for SMS providers; '{provider.nickname}' is WhatsApp")
    if message.variables:
        raise UsageError(
            f"--var fills an SMS provider's custom $$ replacements; '{provider.nickname}' is"
            " WhatsApp",
            "WhatsApp custom key-values are --prop KEY=VALUE",
        )


def check_sms_options(provider: SmsProvider, message: Message) -> None:
    if message.language is not None:
        raise UsageError(f"--lang is for WhatsApp providers; '{provider.nickname}' is SMS")
    if message.values != TemplateValues() or message.freeform is not None:
        raise UsageError(
            f"'{provider.nickname}' is an SMS provider: header, button, card, offer and session"
            " message options are for WhatsApp",
            "SMS takes --body TEXT or --template NAME with --param values",
        )
    if message.body is not None and not message.body.strip():
        raise UsageError("--body is empty")
    if message.type is not None and sms.message_type(message.type) is None:
        raise UsageError(
            f"--type {message.type} is not a message type",
            "one of " + ", ".join(sms.MESSAGE_TYPES),
        )


def _check_param_count(name: str, expected: int, given: int, marker: str) -> None:
    if expected != given:
        raise UsageError(
            f"template '{name}' has {expected} placeholder(s) ({marker}) but"
            f" {given} --param value(s) were given",
            f"pass --param once per placeholder, in order ({expected} in all)",
        )


# --- WhatsApp ---------------------------------------------------------------------------------


def _whatsapp_template(provider: WhatsAppProvider, message: Message) -> WhatsAppTemplate:
    if message.template is None:
        raise UsageError(
            "a WhatsApp send-test needs --template NAME, or a session message"
            " (--text, --image, --video, --audio or --document)"
        )
    template = provider.find_template(message.template, message.language)
    _check_param_count(
        template.name, wa.placeholder_count(template.body), len(message.params), "{{1}}, ..."
    )
    return template


def whatsapp_adapter_request(
    provider: WhatsAppProvider, message: Message, message_id: str
) -> Request:
    if message.freeform is not None:
        if message.template is not None:
            raise UsageError("give either --template or a session message, not both")
        if message.params or message.values != TemplateValues():
            raise UsageError("--param and the template value options go with --template")
        payload = freeform_payload(provider, message.freeform, message.to, message_id)
    else:
        template = _whatsapp_template(provider, message)
        values = message.values.replace(params=message.params)
        payload = template_payload(provider, template, values, message.to, message_id)
    return whatsapp_json_request(provider, payload, message_id)


def whatsapp_json_request(
    provider: WhatsAppProvider, payload: dict[str, Any], message_id: str
) -> Request:
    """A CleverTap WhatsApp payload as the POST to the provider's HTTP End Point."""
    return Request(
        method="POST",
        url=provider.endpoint,
        headers=provider.headers,
        body=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        content_type=JSON_TYPE,
        message_id=message_id,
        label=f"adapter whatsapp, provider {provider.nickname}",
    )


def whatsapp_direct_request(
    provider: WhatsAppProvider, message: Message, callback_url: str | None
) -> Request:
    if message.freeform is not None:
        raise UsageError(
            "--via direct sends templates; send session messages through the adapter",
            "drop --via direct",
        )
    template = _whatsapp_template(provider, message)
    fields = direct.whatsapp_template_fields(
        provider,
        template,
        to=message.to,
        params=message.params,
        values=message.values,
        callback_url=callback_url,
    )
    return _direct(provider, fields)


# --- SMS --------------------------------------------------------------------------------------


def sms_text(provider: SmsProvider, message: Message) -> tuple[str, SmsTemplate | None]:
    if message.template is not None:
        if message.body is not None:
            raise UsageError("give either --body or --template, not both")
        template = provider.find_template(message.template)
        expected = template.body.count(sms.VARIABLE)
        _check_param_count(template.name, expected, len(message.params), sms.VARIABLE)
        return sms.fill_variables(template.body, message.params), template
    if message.body is None:
        raise UsageError("an SMS send-test needs --body TEXT or --template NAME")
    if message.params:
        raise UsageError("--param goes with --template")
    return message.body, None


def sms_dlt(
    provider: SmsProvider, message: Message, text: str, template: SmsTemplate | None
) -> DltVerdict | None:
    """How ``text`` fares against the provider's DLT registrations (None: not a DLT provider)."""
    sender = message.sender or provider.sender
    return dlt_verdict(provider, text, template, sender, params=message.params)


def _message_type(provider: SmsProvider, message: Message, template: SmsTemplate | None) -> str:
    chosen = message.type or (template.type if template else None) or provider.message_type
    # the rules and --type checks let only known types through, in any case: send capitals
    return (sms.message_type(chosen) or chosen) if chosen else ""


def sms_values(provider: SmsProvider, message: Message, message_id: str) -> dict[str, str]:
    """What each $$ replacement the provider's parameters use stands for in this send (keys
    with "$$"); UsageError when a value they need is missing, or given with no place to go."""
    text, template = sms_text(provider, message)
    used = {t for _, pattern in provider.parameters for t in sms.TOKEN.findall(pattern)}
    if sms.BODY not in used and template is None:
        raise UsageError(
            f"provider '{provider.nickname}' sends no {sms.BODY}, only {sms.TEMPLATE_ID}:"
            " free text has nowhere to go",
            "send a DLT template: --template NAME --param VALUE...",
        )
    dlt_id = (template.dlt_template_id or "") if template else ""
    if sms.BODY not in used and template is not None and not dlt_id:
        raise UsageError(
            f"provider '{provider.nickname}' sends no {sms.BODY}, and template"
            f" '{template.name}' has no dlt_template_id for {sms.TEMPLATE_ID}",
            "add dlt_template_id to the template, or body: $$Body to the parameters",
        )
    sender = message.sender or provider.sender
    if sms.SENDER in used and not sender:
        raise UsageError("no sender ID: pass --sender or set 'sender' in the provider")
    refuse_unmatched(sms_dlt(provider, message, text, template), message.to)
    values = {
        sms.TO: wire_number(message.to),
        sms.SENDER: sender or "",
        sms.BODY: text,
        sms.TEMPLATE_ID: dlt_id,
        sms.TEMPLATE_VARIABLES: sms.encode_template_variables(message.params),
        sms.MESSAGE_ID: message_id,
        sms.CAMPAIGN_ID: sms.TEST_CAMPAIGN_ID,
        sms.TYPE: _message_type(provider, message, template),
        sms.LONG_URL: "",
    }
    values.update(_custom_values(provider, message))
    return values


def _custom_values(provider: SmsProvider, message: Message) -> dict[str, str]:
    """The custom replacements' values: CleverTap asks for each when a campaign is created,
    and a send without one is refused, like a campaign without it."""
    wanted = list(
        dict.fromkeys(n for _, pattern in provider.parameters for n in sms.custom_names(pattern))
    )
    given = dict(message.variables)
    missing = [name for name in wanted if name not in given]
    if missing:
        raise UsageError(
            f"provider '{provider.nickname}' has custom replacements without a value: "
            + ", ".join(f"$${name}" for name in missing),
            "give each one: " + " ".join(f"--var {name}=VALUE" for name in missing),
        )
    unused = [name for name in given if name not in wanted]
    if unused:
        raise UsageError(
            "no parameter of provider"
            f" '{provider.nickname}' uses " + ", ".join(f"$${name}" for name in unused),
            "custom replacements: " + (", ".join(f"$${n}" for n in wanted) or "none"),
        )
    return {f"$${name}": value for name, value in given.items()}


def sms_adapter_request(provider: SmsProvider, message: Message, message_id: str) -> Request:
    values = sms_values(provider, message, message_id)
    fields: list[tuple[str, str]] = []
    for name, pattern in provider.parameters:
        value = sms.fill(pattern, values)
        if value:  # CleverTap leaves out a parameter whose value is empty
            fields.append((name, value))
    auth = None
    if provider.auth_type == "basic":
        auth = (provider.username or "", provider.password or "")
    return Request(
        method="POST",
        url=provider.endpoint,
        headers=provider.headers,
        body=urlencode(fields).encode("ascii"),
        content_type=FORM_TYPE,
        basic_auth=auth,
        message_id=message_id,
        label=f"adapter sms, provider {provider.nickname}",
    )


def sms_direct_request(
    provider: SmsProvider, message: Message, callback_url: str | None
) -> Request:
    if message.variables:
        raise UsageError(
            "--var fills the provider's custom $$ replacements, which only the adapter gets",
            "drop --via direct, or the --var options",
        )
    text, template = sms_text(provider, message)
    refuse_unmatched(sms_dlt(provider, message, text, template), message.to)
    fields = direct.sms_fields(
        text=text,
        template=template,
        to=message.to,
        sender=message.sender or provider.sender,
        message_type=_message_type(provider, message, template) or None,
        callback_url=callback_url,
    )
    return _direct(provider, fields)


# --- direct mode: Kaleyra's own API, to tell an account problem from an adapter problem -----


def direct_url(provider: Provider) -> str:
    """Kaleyra's messages URL. References (${...}) stay in it until they are resolved."""
    host = provider.header("kaleyra-host") or ""
    sid = provider.header("sid") or ""
    if parse_reference(sid) is None:
        sid = quote(sid, safe="")
    return kaleyra.messages_url(host, sid)


def _direct(provider: Provider, fields: list[tuple[str, str]]) -> Request:
    # no message_id: Kaleyra makes the id, and send-test reads it from the reply
    return Request(
        method="POST",
        url=direct_url(provider),
        headers=((kaleyra.API_KEY, provider.header("api-key") or ""),),
        body=urlencode(fields).encode("utf-8"),
        content_type=FORM_TYPE,
        label=f"direct {provider.channel}, provider {provider.nickname}",
    )
