"""Typed providers and templates, built from a config that validate-config found error-free.

send-test and render-callback-url never read a config the rules have not passed: ``load_account``
validates first and raises ``ConfigInvalid`` (exit 1) with the report when there are errors.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kctl.config.findings import Report
from kctl.config.loader import Node
from kctl.errors import ConfigInvalid, UsageError

DEFAULT_PAYLOAD_VERSION = "0.1"


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    body: str
    language: str = ""  # WhatsApp
    category: str = "utility"
    header: dict[str, Any] | None = None
    footer: str | None = None
    buttons: tuple[dict[str, Any], ...] = ()
    dlt_template_id: str | None = None  # SMS
    type: str | None = None  # SMS message type


@dataclass(frozen=True, slots=True)
class Provider:
    nickname: str
    channel: str  # whatsapp | sms
    endpoint: str
    headers: tuple[tuple[str, str], ...]
    default: bool = False
    max_concurrency: int | None = None
    test_recipients: tuple[str, ...] = ()
    templates: tuple[Template, ...] = ()
    # WhatsApp
    business_number: str = ""
    payload_version: str = DEFAULT_PAYLOAD_VERSION
    incoming_url: str | None = None
    # SMS
    auth_type: str = "none"
    username: str | None = None
    password: str | None = None
    parameters: tuple[tuple[str, str], ...] = ()
    sender: str | None = None
    message_type: str | None = None
    dlt_entity_id: str | None = None

    def header(self, name: str) -> str | None:
        return next((v for k, v in self.headers if k == name), None)

    def find_template(self, name: str, language: str | None = None) -> Template:
        matches = [t for t in self.templates if t.name == name]
        if language is not None:
            matches = [t for t in matches if t.language == language]
        if not matches:
            known = sorted(
                {f"{t.name}" + (f" ({t.language})" if t.language else "") for t in self.templates}
            )
            raise UsageError(
                f"provider '{self.nickname}' has no template '{name}'"
                + (f" in language '{language}'" if language else ""),
                "templates: " + ", ".join(known) if known else "the provider has no templates",
            )
        if len(matches) > 1:
            languages = ", ".join(t.language for t in matches)
            raise UsageError(
                f"template '{name}' exists in several languages ({languages})",
                "pick one with --lang",
            )
        return matches[0]


@dataclass(frozen=True, slots=True)
class Account:
    file: str
    providers: tuple[Provider, ...] = field(default=())

    def provider(self, nickname: str | None, channel: str | None = None) -> Provider:
        """The provider named ``nickname``; without one, the only (or default) provider."""
        candidates = [p for p in self.providers if channel is None or p.channel == channel]
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
            f"{self.file} has {len(candidates)} providers; say which with --provider",
            f"providers: {names}" if names else None,
        )


def _text(node: Node | None, default: str | None = None) -> str | None:
    if node is None or node.value is None:
        return default
    return str(node.value)


def _plain(node: Node) -> Any:
    """A node as plain Python data (for template headers and buttons)."""
    if node.is_map:
        return {e.key: _plain(e.value) for e in node.entries()}
    if node.is_seq:
        return [_plain(n) for n in node.items()]
    return node.value


def _template(node: Node) -> Template:
    header = node.get("header")
    buttons = node.get("buttons")
    return Template(
        name=_text(node.get("name")) or "",
        body=_text(node.get("body")) or "",
        language=_text(node.get("language")) or "",
        category=_text(node.get("category"), "utility") or "utility",
        header=_plain(header) if header is not None and header.is_map else None,
        footer=_text(node.get("footer")),
        buttons=tuple(_plain(b) for b in buttons.items()) if buttons is not None else (),
        dlt_template_id=_text(node.get("dlt_template_id")),
        type=_text(node.get("type")),
    )


def _pairs(node: Node | None) -> tuple[tuple[str, str], ...]:
    if node is None:
        return ()
    return tuple((e.key, _text(e.value) or "") for e in node.entries())


def provider_from_node(node: Node) -> Provider:
    auth = node.get("auth")
    dlt = node.get("dlt")
    templates = node.get("templates")
    recipients = node.get("test_recipients")
    concurrency = node.get("max_concurrency")
    default = node.get("default")
    return Provider(
        nickname=_text(node.get("nickname")) or "",
        channel=_text(node.get("channel")) or "",
        endpoint=_text(node.get("endpoint")) or "",
        headers=_pairs(node.get("headers")),
        default=bool(default.value) if default is not None else False,
        max_concurrency=concurrency.value if concurrency is not None else None,
        test_recipients=tuple(_text(n) or "" for n in recipients.items()) if recipients else (),
        templates=tuple(_template(t) for t in templates.items()) if templates else (),
        business_number=_text(node.get("business_number")) or "",
        payload_version=_text(node.get("payload_version"), DEFAULT_PAYLOAD_VERSION)
        or DEFAULT_PAYLOAD_VERSION,
        incoming_url=_text(node.get("incoming_url")),
        auth_type=_text(auth.get("type") if auth else None, "none") or "none",
        username=_text(auth.get("username")) if auth else None,
        password=_text(auth.get("password")) if auth else None,
        parameters=_pairs(node.get("parameters")),
        sender=_text(node.get("sender")),
        message_type=_text(node.get("message_type")),
        dlt_entity_id=_text(dlt.get("entity_id")) if dlt else None,
    )


def load_account(path: str) -> Account:
    """Validate ``path`` and build its providers; errors raise ConfigInvalid with the report."""
    from kctl.config.validate import check_file, collect_files

    report = Report(files=[], findings=[], sources={})
    files = collect_files([path])
    if len(files) != 1:
        raise UsageError(f"--config takes one file, and {path} holds {len(files)}")
    doc = check_file(files[0], report)
    if report.error_count or doc.root is None:
        raise ConfigInvalid(
            f"{doc.file} has {report.error_count} error(s); fix them first",
            f"kctl validate-config {path}",
            report=report,
        )
    providers = doc.root.get("providers")
    items = providers.items() if providers is not None else []
    return Account(doc.file, tuple(provider_from_node(p) for p in items))
