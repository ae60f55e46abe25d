"""``kctl plan``: what to type where, from a validated config.

For each provider, CleverTap's provider form field by field (labels from
``kctl.contract.forms``, values as the form wants them: the business number without '+',
secrets masked), what Kaleyra needs (the number's Incoming URL, the callback URLs to hand to
Kaleyra support) and the templates to create. Core code: it returns values and never prints;
``kctl.render.plan`` writes them as text, JSON or a Markdown checklist.

Secret references are resolved when they can be, only to show the mask (``****`` and the last
4 characters) the user can compare with what they type; one that cannot be resolved here is
shown as written with the command that reads it. Nothing fails for want of a secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import assert_never

from kctl.config.model import Account, Provider, SmsProvider, WhatsAppProvider, WhatsAppTemplate
from kctl.contract import forms
from kctl.contract.channels import CHANNELS, INBOUND_HEADER, SECRET_HEADERS, Channel
from kctl.contract.numbers import wire_number
from kctl.errors import KctlError, UsageError
from kctl.secrets import mask, parse_reference, resolve_secret


@dataclass(frozen=True, slots=True)
class Field:
    label: str
    value: str
    note: str = ""
    secret: bool = False  # the value shown is a mask or a reference, never the secret


@dataclass(frozen=True, slots=True)
class TemplatePlan:
    name: str
    language: str | None  # None for SMS
    category: str | None
    summary: str  # the body, as it is saved
    details: tuple[Field, ...] = ()


@dataclass(frozen=True, slots=True)
class ProviderPlan:
    nickname: str
    channel: Channel
    form: tuple[Field, ...]
    headers: tuple[Field, ...]
    parameters: tuple[Field, ...]  # SMS only
    kaleyra: tuple[Field, ...]  # what Kaleyra (support) needs
    templates: tuple[TemplatePlan, ...]
    notes: tuple[str, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class Plan:
    file: str
    providers: tuple[ProviderPlan, ...]


def plan_account(account: Account, nickname: str | None = None) -> Plan:
    chosen = account.providers
    if nickname is not None:
        chosen = (account.provider(nickname),)
    if not chosen:
        raise UsageError(f"{account.file} has no providers")
    return Plan(account.file, tuple(plan_provider(p) for p in chosen))


def plan_provider(provider: Provider) -> ProviderPlan:
    match provider:
        case WhatsAppProvider():
            return _whatsapp(provider)
        case SmsProvider():
            return _sms(provider)
        case _:
            assert_never(provider)


def _yes(flag: bool) -> str:
    return "yes (checked)" if flag else "no (unchecked)"


def _shown(value: str, *, secret: bool) -> Field:
    """How a config value is typed: a literal as is (masked when secret); a reference by what
    it resolves to, masked when secret."""
    ref = parse_reference(value)
    if ref is None:
        return Field("", mask(value) if secret else value, secret=secret)
    try:
        resolved = resolve_secret(value)
    except KctlError as e:
        reader = (
            f"kctl secrets get {ref.name} --show-secrets"
            if ref.kind == "keyring"
            else f"echo ${ref.name}"
        )
        return Field("", str(ref), f"not readable here ({e.message}): {reader}", secret=secret)
    if secret:
        return Field("", mask(resolved), f"from {ref}", secret=True)
    return Field("", resolved, f"from {ref}")


def _header_fields(provider: Provider) -> tuple[Field, ...]:
    fields = []
    for key, value in provider.headers:
        shown = _shown(value, secret=key.lower() in SECRET_HEADERS)
        fields.append(Field(key, shown.value, shown.note, shown.secret))
    return tuple(fields)


def _common_head(provider: Provider) -> list[Field]:
    channel = provider.channel
    return [
        Field(forms.PROVIDER, forms.PROVIDER_CHOICE[channel]),
        Field(forms.NICKNAME, provider.nickname),
    ]


def _concurrency(provider: Provider) -> Field:
    if provider.max_concurrency is None:
        return Field(
            forms.MAX_CONCURRENCY,
            "(leave empty)",
            f"CleverTap then sends up to {forms.UNLIMITED_CONCURRENCY} at once;"
            " kctl load --ramp finds a value",
        )
    return Field(forms.MAX_CONCURRENCY, str(provider.max_concurrency))


def _whatsapp(p: WhatsAppProvider) -> ProviderPlan:
    form = [
        *_common_head(p),
        Field(
            forms.BUSINESS_NUMBER,
            wire_number(p.business_number),
            "country code first, no '+' (Kaleyra's guide)",
        ),
        Field(forms.REQUEST_TYPE, "POST"),
        Field(forms.ENDPOINT[Channel.WHATSAPP], p.endpoint, "from Kaleyra support"),
        Field(forms.AUTHENTICATION, "None"),
        _concurrency(p),
        Field(forms.DEFAULT, _yes(p.default)),
        Field(forms.AUTO_REPLY, _yes(p.auto_reply_untracked)),
    ]
    kaleyra, notes = _incoming(p)
    for key in (INBOUND_HEADER, CHANNELS[Channel.WHATSAPP].report_header):
        value = p.header(key)
        if value is not None:
            shown = _shown(value, secret=False)
            kaleyra.append(Field(key, shown.value, shown.note or "from CleverTap's provider page"))
    templates = tuple(
        TemplatePlan(
            t.name,
            t.language,
            t.category,
            t.body,
            _whatsapp_template_details(t),
        )
        for t in p.templates
    )
    return ProviderPlan(
        p.nickname, p.channel, tuple(form), _header_fields(p), (), tuple(kaleyra), templates,
        tuple(notes),
    )  # fmt: skip


def _incoming(p: WhatsAppProvider) -> tuple[list[Field], list[str]]:
    from kctl.config.incoming import callback_url_for_provider

    try:
        rendered = callback_url_for_provider(p)
    except KctlError as e:
        return [], [f"Incoming URL: {e.message}" + (f" ({e.hint})" if e.hint else "")]
    return [
        Field(
            "Incoming URL",
            rendered,
            f"for {wire_number(p.business_number)}: Kaleyra's URL plus CleverTap's inbound URL"
            f" and {forms.PAYLOAD_VERSION} {p.payload_version}",
        )
    ], []


def _whatsapp_template_details(t: WhatsAppTemplate) -> tuple[Field, ...]:
    details = []
    if t.header is not None:
        value = t.header.text or t.header.url or t.header.name or ""
        details.append(Field("header", f"{t.header.type}: {value}".rstrip(": ")))
    if t.footer:
        details.append(Field("footer", t.footer))
    for b in t.buttons:
        target = b.url or b.phone_number or ""
        details.append(Field("button", f"{b.type}: {b.text}" + (f" ({target})" if target else "")))
    if t.offer is not None:
        details.append(Field("limited time offer", t.offer.title))
    if t.carousel:
        details.append(Field("carousel", f"{len(t.carousel)} cards"))
    return tuple(details)


def _sms(p: SmsProvider) -> ProviderPlan:
    form = [*_common_head(p)]
    report_header = CHANNELS[Channel.SMS].report_header
    callback = p.header(report_header)
    # read once: a reference may be a keyring lookup, and both sections show it
    shown = _shown(callback, secret=False) if callback is not None else None
    if shown is not None:
        form.append(
            Field(
                forms.CALLBACK_URL,
                shown.value,
                "CleverTap shows it on the form: the callback_url header carries it to Kaleyra",
            )
        )
    form += [
        Field(forms.REQUEST_TYPE, "POST"),
        Field(forms.ENDPOINT[Channel.SMS], p.endpoint, "from Kaleyra support"),
        Field(forms.AUTHENTICATION, "Basic" if p.auth_type == "basic" else "None"),
    ]
    if p.auth_type == "basic":
        if p.username is not None:
            user = _shown(p.username, secret=False)
            form.append(Field(forms.USERNAME, user.value, user.note))
        if p.password is not None:
            password = _shown(p.password, secret=True)
            form.append(Field(forms.PASSWORD, password.value, password.note, secret=True))
    if p.max_concurrency is not None:
        form.append(_concurrency(p))
    form.append(Field(forms.DEFAULT, _yes(p.default)))
    parameters = tuple(Field(name, value) for name, value in p.parameters)
    kaleyra = []
    if shown is not None:
        kaleyra.append(Field(report_header, shown.value, "where Kaleyra posts delivery reports"))
    templates = tuple(
        TemplatePlan(
            t.name,
            None,
            t.type,
            t.body,
            (Field("DLT template id", t.dlt_template_id),) if t.dlt_template_id else (),
        )
        for t in p.templates
    )
    return ProviderPlan(
        p.nickname, p.channel, tuple(form), _header_fields(p), parameters, tuple(kaleyra),
        templates,
    )  # fmt: skip
