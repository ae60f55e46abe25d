"""Typed providers and templates, built from a config that validate-config found error-free.

A provider is a tagged union, one class per channel (``Provider``). Code that does different
things per channel matches on the class and ends with ``assert_never``, so adding a channel
makes mypy point at every branch still to write.

send-test and render-callback-url never read a config the rules have not passed: ``load_account``
validates first and raises ``ConfigInvalid`` (exit 1) with the report when there are errors.
"""

from __future__ import annotations

from collections.abc import Iterable

from kctl.config.findings import Report
from kctl.config.loader import Node
from kctl.contract import whatsapp
from kctl.contract.channels import Channel
from kctl.contract.dlt import Registration
from kctl.contract.numbers import DEFAULT_PAYLOAD_VERSION
from kctl.errors import ConfigInvalid, UsageError
from kctl.lean import Record, assert_never

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Any, ClassVar, Final

    from kctl.config.dlt import Registry

# The classes are kctl.lean Records, not dataclasses: send-test loads a config before its
# first request, and the decorator cost about 0.7 ms a class on top of importing dataclasses.
# Their __init__ takes keyword arguments only, as the dataclasses did (kw_only).


class Header(Record):
    __slots__ = ("address", "filename", "latitude", "longitude", "name", "text", "type", "url")
    type: Final[str]  # text, image, video, document, location
    text: Final[str | None]
    url: Final[str | None]  # the sample media (image, video, document)
    filename: Final[str | None]
    latitude: Final[float | None]
    longitude: Final[float | None]
    name: Final[str | None]
    address: Final[str | None]

    def __init__(
        self,
        *,
        type: str,
        text: str | None = None,
        url: str | None = None,
        filename: str | None = None,
        latitude: float | None = None,
        longitude: float | None = None,
        name: str | None = None,
        address: str | None = None,
    ) -> None:
        self.type = type
        self.text = text
        self.url = url
        self.filename = filename
        self.latitude = latitude
        self.longitude = longitude
        self.name = name
        self.address = address

    @property
    def placeholders(self) -> int:
        return whatsapp.placeholder_count(self.text or "")


class Button(Record):
    __slots__ = ("example", "phone_number", "text", "type", "url")
    type: Final[str]  # quick_reply, url, phone, copy_code
    text: Final[str]
    url: Final[str | None]
    phone_number: Final[str | None]
    example: Final[str | None]

    def __init__(
        self,
        *,
        type: str,
        text: str,
        url: str | None = None,
        phone_number: str | None = None,
        example: str | None = None,
    ) -> None:
        self.type = type
        self.text = text
        self.url = url
        self.phone_number = phone_number
        self.example = example

    @property
    def is_dynamic(self) -> bool:
        return self.type == "url" and whatsapp.is_dynamic_url(self.url or "")


class Offer(Record):
    __slots__ = ("expires", "title")
    title: Final[str]
    expires: Final[bool]

    def __init__(self, *, title: str, expires: bool = False) -> None:
        self.title = title
        self.expires = expires


class Card(Record):
    __slots__ = ("body", "buttons", "examples", "header")
    header: Final[Header]
    body: Final[str]
    examples: Final[tuple[str, ...]]
    buttons: Final[tuple[Button, ...]]

    def __init__(
        self,
        *,
        header: Header,
        body: str,
        examples: tuple[str, ...] = (),
        buttons: tuple[Button, ...] = (),
    ) -> None:
        self.header = header
        self.body = body
        self.examples = examples
        self.buttons = buttons


class WhatsAppTemplate(Record):
    __slots__ = (
        "body",
        "buttons",
        "carousel",
        "category",
        "examples",
        "footer",
        "header",
        "language",
        "line",
        "name",
        "offer",
    )
    name: Final[str]
    language: Final[str]
    body: Final[str]
    category: Final[str]
    header: Final[Header | None]
    footer: Final[str | None]
    buttons: Final[tuple[Button, ...]]
    offer: Final[Offer | None]
    carousel: Final[tuple[Card, ...]]
    examples: Final[tuple[str, ...]]  # sample values for the body's placeholders
    line: Final[int]  # where the template starts in its file

    def __init__(
        self,
        *,
        name: str,
        language: str,
        body: str,
        category: str = whatsapp.DEFAULT_CATEGORY,
        header: Header | None = None,
        footer: str | None = None,
        buttons: tuple[Button, ...] = (),
        offer: Offer | None = None,
        carousel: tuple[Card, ...] = (),
        examples: tuple[str, ...] = (),
        line: int = 0,
    ) -> None:
        self.name = name
        self.language = language
        self.body = body
        self.category = category
        self.header = header
        self.footer = footer
        self.buttons = buttons
        self.offer = offer
        self.carousel = carousel
        self.examples = examples
        self.line = line

    @property
    def label(self) -> str:
        return f"{self.name} ({self.language})"


class SmsTemplate(Record):
    __slots__ = ("body", "dlt_template_id", "dlt_text", "line", "name", "type")
    name: Final[str]
    body: Final[str]
    dlt_template_id: Final[str | None]
    dlt_text: Final[str | None]  # the text as registered on the DLT platform
    type: Final[str | None]  # message type
    line: Final[int]  # where the template starts in its file

    def __init__(
        self,
        *,
        name: str,
        body: str,
        dlt_template_id: str | None = None,
        dlt_text: str | None = None,
        type: str | None = None,
        line: int = 0,
    ) -> None:
        self.name = name
        self.body = body
        self.dlt_template_id = dlt_template_id
        self.dlt_text = dlt_text
        self.type = type
        self.line = line

    @property
    def label(self) -> str:
        return self.name


class _ProviderBase(Record):
    """The fields every channel's provider has; a subclass's ``__init__`` sets them here."""

    __slots__ = (
        "default",
        "endpoint",
        "headers",
        "line",
        "max_concurrency",
        "nickname",
        "test_recipients",
    )
    nickname: Final[str]
    endpoint: Final[str]
    headers: Final[tuple[tuple[str, str], ...]]
    default: Final[bool]
    max_concurrency: Final[int | None]
    test_recipients: Final[tuple[str, ...]]
    line: Final[int]  # where the provider starts in its file (SARIF, verify)

    def __init__(
        self,
        *,
        nickname: str,
        endpoint: str,
        headers: tuple[tuple[str, str], ...],
        default: bool = False,
        max_concurrency: int | None = None,
        test_recipients: tuple[str, ...] = (),
        line: int = 0,
    ) -> None:
        self.nickname = nickname
        self.endpoint = endpoint
        self.headers = headers
        self.default = default
        self.max_concurrency = max_concurrency
        self.test_recipients = test_recipients
        self.line = line

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)


def _no_template(nickname: str, name: str, labels: list[str], detail: str = "") -> UsageError:
    return UsageError(
        f"provider '{nickname}' has no template '{name}'{detail}",
        "templates: " + ", ".join(sorted(labels)) if labels else "the provider has no templates",
    )


class WhatsAppProvider(_ProviderBase):
    __slots__ = (
        "auto_reply_untracked",
        "business_number",
        "incoming_url",
        "payload_version",
        "templates",
        "waba_id",
    )
    channel: ClassVar[Channel] = Channel.WHATSAPP
    business_number: Final[str]
    payload_version: Final[str]
    incoming_url: Final[str | None]
    auto_reply_untracked: Final[bool]
    waba_id: Final[str | None]  # Kaleyra API v2's WhatsApp Business Account id (templates)
    templates: Final[tuple[WhatsAppTemplate, ...]]

    def __init__(
        self,
        *,
        nickname: str,
        endpoint: str,
        headers: tuple[tuple[str, str], ...],
        default: bool = False,
        max_concurrency: int | None = None,
        test_recipients: tuple[str, ...] = (),
        line: int = 0,
        business_number: str,
        payload_version: str = DEFAULT_PAYLOAD_VERSION,
        incoming_url: str | None = None,
        auto_reply_untracked: bool = False,
        waba_id: str | None = None,
        templates: tuple[WhatsAppTemplate, ...] = (),
    ) -> None:
        super().__init__(
            nickname=nickname,
            endpoint=endpoint,
            headers=headers,
            default=default,
            max_concurrency=max_concurrency,
            test_recipients=test_recipients,
            line=line,
        )
        self.business_number = business_number
        self.payload_version = payload_version
        self.incoming_url = incoming_url
        self.auto_reply_untracked = auto_reply_untracked
        self.waba_id = waba_id
        self.templates = templates

    def find_template(self, name: str, language: str | None = None) -> WhatsAppTemplate:
        matches = [t for t in self.templates if t.name == name]
        if language is not None:
            matches = [t for t in matches if t.language == language]
        if not matches:
            detail = f" in language '{language}'" if language else ""
            raise _no_template(self.nickname, name, [t.label for t in self.templates], detail)
        if len(matches) > 1:
            languages = ", ".join(t.language for t in matches)
            raise UsageError(
                f"template '{name}' exists in several languages ({languages})",
                "pick one with --lang",
            )
        return matches[0]


class SmsProvider(_ProviderBase):
    __slots__ = (
        "auth_type",
        "dlt_entity_id",
        "dlt_registrations",
        "dlt_registry",
        "message_type",
        "parameters",
        "password",
        "sender",
        "templates",
        "username",
    )
    channel: ClassVar[Channel] = Channel.SMS
    parameters: Final[tuple[tuple[str, str], ...]]
    auth_type: Final[str]
    username: Final[str | None]
    password: Final[str | None]
    sender: Final[str | None]
    message_type: Final[str | None]
    dlt_entity_id: Final[str | None]
    templates: Final[tuple[SmsTemplate, ...]]
    # the DLT templates known to be registered: the --dlt-registry rows, then the templates'
    # own dlt_text for ids the registry does not list
    dlt_registrations: Final[tuple[Registration, ...]]
    dlt_registry: Final[str | None]  # the registry file they come from, when one was given

    def __init__(
        self,
        *,
        nickname: str,
        endpoint: str,
        headers: tuple[tuple[str, str], ...],
        default: bool = False,
        max_concurrency: int | None = None,
        test_recipients: tuple[str, ...] = (),
        line: int = 0,
        parameters: tuple[tuple[str, str], ...],
        auth_type: str = "none",
        username: str | None = None,
        password: str | None = None,
        sender: str | None = None,
        message_type: str | None = None,
        dlt_entity_id: str | None = None,
        templates: tuple[SmsTemplate, ...] = (),
        dlt_registrations: tuple[Registration, ...] = (),
        dlt_registry: str | None = None,
    ) -> None:
        super().__init__(
            nickname=nickname,
            endpoint=endpoint,
            headers=headers,
            default=default,
            max_concurrency=max_concurrency,
            test_recipients=test_recipients,
            line=line,
        )
        self.parameters = parameters
        self.auth_type = auth_type
        self.username = username
        self.password = password
        self.sender = sender
        self.message_type = message_type
        self.dlt_entity_id = dlt_entity_id
        self.templates = templates
        self.dlt_registrations = dlt_registrations
        self.dlt_registry = dlt_registry

    def find_template(self, name: str) -> SmsTemplate:
        for template in self.templates:
            if template.name == name:
                return template
        raise _no_template(self.nickname, name, [t.label for t in self.templates])

    @property
    def is_dlt(self) -> bool:
        """Whether this provider sends under India's DLT: an entity, or registered templates."""
        return self.dlt_entity_id is not None or bool(self.dlt_registrations)

    @property
    def dlt_complete(self) -> bool:
        """Whether the registrations are all there are: a registry lists every template, and so
        do the templates when each has its dlt_text. Free text that matches none of a complete
        set matches nothing registered; of a partial set, maybe a template kctl cannot see."""
        if self.dlt_registry is not None:
            return True
        return bool(self.templates) and all(t.dlt_text is not None for t in self.templates)

    def registration(self, template_id: str | None) -> Registration | None:
        if template_id is None:
            return None
        return next((r for r in self.dlt_registrations if r.template_id == template_id), None)


Provider = WhatsAppProvider | SmsProvider


class Account(Record):
    __slots__ = ("file", "providers")
    file: Final[str]
    providers: Final[tuple[Provider, ...]]

    def __init__(self, file: str, providers: tuple[Provider, ...] = ()) -> None:
        self.file = file
        self.providers = providers

    def with_providers(self, providers: Iterable[Provider]) -> Account:
        return Account(self.file, tuple(providers))

    def provider(
        self, nickname: str | None, channel: Channel | None = None, template: str | None = None
    ) -> Provider:
        """The provider named ``nickname``; without one, the only (or default) provider among
        those of ``channel`` that have ``template``, when those say which."""
        candidates = [p for p in self.providers if channel is None or p.channel is channel]
        having = [p for p in candidates if any(t.name == template for t in p.templates)]
        if template is not None and having:
            candidates = having
        if nickname is not None:
            for p in self.providers:
                if p.nickname == nickname:
                    return p
            names = ", ".join(p.nickname for p in self.providers)
            raise UsageError(
                f"{self.file} has no provider '{nickname}'",
                f"providers: {names}" if names else None,
            )
        if len(candidates) == 1:
            return candidates[0]
        defaults = [p for p in candidates if p.default]
        if len(defaults) == 1:
            return defaults[0]
        names = ", ".join(p.nickname for p in candidates)
        if not candidates:
            raise UsageError(
                f"{self.file} has no providers" + (f" for {channel}" if channel else "")
            )
        raise UsageError(
            f"{self.file} has {len(candidates)} providers"
            + (f" with template '{template}'" if template is not None and having else "")
            + "; say which with --provider",
            f"providers: {names}" if names else None,
        )


# --- from validated nodes ---------------------------------------------------------------------


def _text(node: Node | None, default: str | None = None) -> str | None:
    if node is None or node.value is None:
        return default
    return str(node.value)


def _pairs(node: Node | None) -> tuple[tuple[str, str], ...]:
    if node is None:
        return ()
    return tuple((e.key, _text(e.value) or "") for e in node.entries())


def _items(node: Node | None) -> list[Node]:
    return node.items() if node is not None else []


def _number(node: Node | None) -> float | None:
    return float(node.value) if node is not None and node.value is not None else None


def _header(node: Node | None) -> Header | None:
    if node is None or not node.is_map:
        return None
    return Header(
        type=_text(node.get("type")) or "",
        text=_text(node.get("text")),
        url=_text(node.get("url")),
        filename=_text(node.get("filename")),
        latitude=_number(node.get("latitude")),
        longitude=_number(node.get("longitude")),
        name=_text(node.get("name")),
        address=_text(node.get("address")),
    )


def _button(node: Node) -> Button:
    return Button(
        type=_text(node.get("type")) or "",
        text=_text(node.get("text")) or "",
        url=_text(node.get("url")),
        phone_number=_text(node.get("phone_number")),
        example=_text(node.get("example")),
    )


def _strings(node: Node | None) -> tuple[str, ...]:
    return tuple(_text(n) or "" for n in _items(node))


def _card(node: Node) -> Card:
    return Card(
        header=_header(node.get("header")) or Header(type=""),
        body=_text(node.get("body")) or "",
        examples=_strings(node.get("examples")),
        buttons=tuple(_button(b) for b in _items(node.get("buttons"))),
    )


def _whatsapp_template(node: Node) -> WhatsAppTemplate:
    offer = node.get("limited_time_offer")
    return WhatsAppTemplate(
        name=_text(node.get("name")) or "",
        language=_text(node.get("language")) or "",
        body=_text(node.get("body")) or "",
        category=_text(node.get("category")) or whatsapp.DEFAULT_CATEGORY,
        header=_header(node.get("header")),
        footer=_text(node.get("footer")),
        buttons=tuple(_button(b) for b in _items(node.get("buttons"))),
        offer=Offer(title=_text(offer.get("title")) or "", expires=_flag(offer.get("expires")))
        if offer is not None and offer.is_map
        else None,
        carousel=tuple(_card(c) for c in _items(node.get("carousel"))),
        examples=_strings(node.get("examples")),
        line=node.line,
    )


def _sms_template(node: Node) -> SmsTemplate:
    return SmsTemplate(
        name=_text(node.get("name")) or "",
        body=_text(node.get("body")) or "",
        dlt_template_id=_text(node.get("dlt_template_id")),
        dlt_text=_text(node.get("dlt_text")),
        type=_text(node.get("type")),
        line=node.line,
    )


def _registrations(
    templates: tuple[SmsTemplate, ...], registry: Registry | None
) -> tuple[Registration, ...]:
    out = list(registry.rows.values()) if registry is not None else []
    listed = {r.template_id for r in out}
    for t in templates:
        if t.dlt_template_id and t.dlt_text is not None and t.dlt_template_id not in listed:
            listed.add(t.dlt_template_id)
            out.append(Registration(t.dlt_template_id, t.dlt_text, source=f"{t.name}.dlt_text"))
    return tuple(out)


def _flag(node: Node | None) -> bool:
    return bool(node.value) if node is not None else False


def provider_from_node(node: Node, registry: Registry | None = None) -> Provider:
    concurrency = node.get("max_concurrency")
    common: dict[str, Any] = {
        "nickname": _text(node.get("nickname")) or "",
        "endpoint": _text(node.get("endpoint")) or "",
        "headers": _pairs(node.get("headers")),
        "default": _flag(node.get("default")),
        "max_concurrency": concurrency.value if concurrency is not None else None,
        "test_recipients": _strings(node.get("test_recipients")),
        "line": node.line,
    }
    channel = Channel(_text(node.get("channel")) or "")  # the rules passed: a known channel
    match channel:
        case Channel.WHATSAPP:
            return WhatsAppProvider(
                **common,
                business_number=_text(node.get("business_number")) or "",
                payload_version=_text(node.get("payload_version")) or DEFAULT_PAYLOAD_VERSION,
                incoming_url=_text(node.get("incoming_url")),
                auto_reply_untracked=_flag(node.get("auto_reply_untracked")),
                waba_id=_text(node.get("waba_id")),
                templates=tuple(_whatsapp_template(t) for t in _items(node.get("templates"))),
            )
        case Channel.SMS:
            auth, dlt = node.get("auth"), node.get("dlt")
            templates = tuple(_sms_template(t) for t in _items(node.get("templates")))
            return SmsProvider(
                **common,
                parameters=_pairs(node.get("parameters")),
                auth_type=_text(auth.get("type") if auth else None) or "none",
                username=_text(auth.get("username")) if auth else None,
                password=_text(auth.get("password")) if auth else None,
                sender=_text(node.get("sender")),
                message_type=_text(node.get("message_type")),
                dlt_entity_id=_text(dlt.get("entity_id")) if dlt else None,
                templates=templates,
                dlt_registrations=_registrations(templates, registry),
                dlt_registry=registry.file if registry is not None else None,
            )
        case _:
            assert_never(channel)


def load_account(path: str, dlt_registry: str | None = None) -> Account:
    """Validate ``path`` and build its providers; errors raise ConfigInvalid with the report.

    ``dlt_registry``: a DLT registrations CSV the SMS templates are checked against, and sent
    against."""
    from kctl.config.validate import check_file, collect_files

    registry = None
    if dlt_registry is not None:
        from kctl.config.dlt import load_registry

        registry = load_registry(dlt_registry)
    report = Report(files=[], findings=[], sources={})
    files = collect_files([path])
    if len(files) != 1:
        raise UsageError(f"--config takes one file, and {path} holds {len(files)}")
    doc = check_file(files[0], report, registry)
    if report.error_count or doc.root is None:
        raise ConfigInvalid(
            f"{doc.file} has {report.error_count} error(s); fix them first",
            f"kctl validate-config {path}",
            report=report,
        )
    providers = doc.root.get("providers")
    return Account(doc.file, tuple(provider_from_node(p, registry) for p in _items(providers)))
