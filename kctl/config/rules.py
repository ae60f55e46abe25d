"""The semantic rules of SPEC 1.2 (KC006, KC1xx to KC5xx).

Structural problems (unknown keys, missing keys, wrong types, enum values) come from
``kctl.config.schema``; the rules here read only values that have the right type, so one mistake is
reported once.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from kctl.config.findings import Finding, Severity
from kctl.config.loader import Node
from kctl.config.schema import (
    PHONE_PATTERN,
    REQUIRED_SMS_PARAMETERS,
    SMS_HEADERS,
    WHATSAPP_HEADERS,
    suggestion,
)
from kctl.secrets import parse_reference, reference_problem
from kctl.urls import (
    incoming_url_problem,
    is_https_url,
    is_loopback_host,
    is_payload_version,
)

KALEYRA_HOSTS = ("api.kaleyra.io", "api.in.kaleyra.io", "api.eu.kaleyra.io", "api.ap.kaleyra.io")
URL_HEADERS = frozenset(
    {"kaleyra-host", "inbound-message-callback-url", "delivery-report-callback-url", "callback_url"}
)
SECRET_HEADERS = frozenset({"api-key"})
SMS_PLACEHOLDERS = (
    "$$To",
    "$$Sender",
    "$$Body",
    "$$TemplateID",
    "$$MessageID",
    "$$CampaignID",
    "$$TYPE",
    "$$LongURL",
)
CHANNEL_HEADERS = {"whatsapp": WHATSAPP_HEADERS, "sms": SMS_HEADERS}
BODY_LIMIT = 1024
BODY_LIMIT_WITH_OFFER = 600
FOOTER_LIMIT = 60
OFFER_TITLE_LIMIT = 16
BUTTON_LIMITS = {"copy_code": 1, "url": 2, "phone": 1}
MAX_BUTTONS = 10

# Meta's template language codes (WhatsApp Cloud API "Supported Languages", May 2026).
WHATSAPP_LANGUAGES = frozenset(
    """
    af sq ar ar_EG ar_AE ar_LB ar_MA ar_QA az be_BY bn bn_IN bg ca zh_CN zh_HK zh_TW hr cs da
    prs_AF nl nl_BE en en_GB en_US en_AE en_AU en_CA en_GH en_IE en_IN en_JM en_MY en_NZ en_QA
    en_SG en_UG en_ZA et fil fi fr fr_BE fr_CA fr_CH fr_CI fr_MA ka de de_AT de_CH el gu ha he hi
    hu id ga it ja kn kk rw_RW ko ky_KG lo lv lt mk ms ml mr nb fa pl pt_BR pt_PT pa ro ru sr sk
    sl es es_AR es_CL es_CO es_CR es_DO es_EC es_ES es_HN es_MX es_PA es_PE es_UY sw sv ta te th
    tr uk ur uz vi zu
    """.split()
)

_PHONE = re.compile(PHONE_PATTERN)
_DLT_ID = re.compile(r"^[0-9]{12,19}$")
_TEMPLATE_NAME = re.compile(r"^[a-z0-9_]+$")
_PLACEHOLDER = re.compile(r"\{\{(.*?)\}\}")
_ASCII_NUMBER = re.compile(r"[0-9]+")
_SMS_PLACEHOLDER = re.compile(r"\$\$[A-Za-z]*")


def first_seen(seen: dict[Any, Node], key: Any, node: Node) -> Node | None:
    """The node that claimed ``key`` before ``node`` did, or None when ``node`` is the first."""
    first = seen.setdefault(key, node)
    return None if first is node else first


def is_e164(value: str) -> bool:
    return _PHONE.fullmatch(value) is not None


def phone_hint(value: str) -> str:
    compact = re.sub(r"[\s().-]", "", value)
    if compact != value and is_e164(compact):
        return f"write it without spaces or punctuation: {compact}"
    if compact.isdigit():
        return f"add the country code with a leading '+', e.g. +{compact.lstrip('0')}"
    return "E.164: '+', the country code, then the number, 7 to 15 digits in all"


class RuleChecker:
    def __init__(self, file: str) -> None:
        self.file = file

    def error(
        self, code: str, node: Node, path: str, message: str, hint: str | None = None
    ) -> Finding:
        return Finding(code, Severity.ERROR, self.file, node.line, node.col, path, message, hint)

    def warning(
        self, code: str, node: Node, path: str, message: str, hint: str | None = None
    ) -> Finding:
        return Finding(code, Severity.WARNING, self.file, node.line, node.col, path, message, hint)

    # --- document ---------------------------------------------------------------------------

    def check(self, root: Node) -> Iterator[Finding]:
        if not root.is_map:
            return
        version = root.get("version")
        if version is not None and type(version.value) is int and version.value != 1:
            yield self.error(
                "KC006",
                version,
                "version",
                f"unsupported config version {version.value}; kctl reads version 1",
            )
        providers = root.get("providers")
        if providers is None or not providers.is_seq:
            return
        nicknames: dict[str, Node] = {}
        defaults: dict[str, Node] = {}
        for i, provider in enumerate(providers.items()):
            if not provider.is_map:
                continue
            path = f"providers[{i}]"
            nick = provider.get("nickname")
            if (
                nick is not None
                and nick.text()
                and (first := first_seen(nicknames, nick.value, nick))
            ):
                yield self.error(
                    "KC101",
                    nick,
                    f"{path}.nickname",
                    f"duplicate provider nickname '{nick.value}' (first at line {first.line})",
                )
            channel = (provider.get("channel") or Node("scalar", 0, 0, None)).text() or ""
            default = provider.get("default")
            is_default = default is not None and default.value is True and channel
            if is_default and default and (first := first_seen(defaults, channel, default)):
                yield self.error(
                    "KC107",
                    default,
                    f"{path}.default",
                    f"more than one default {channel} provider (first at line {first.line})",
                    "mark only one provider per channel as default",
                )
            yield from self.check_provider(provider, path, channel)

    # --- provider ---------------------------------------------------------------------------

    def check_provider(self, p: Node, path: str, channel: str) -> Iterator[Finding]:
        endpoint = p.get("endpoint")
        if (
            endpoint is not None
            and endpoint.text() is not None
            and not is_https_url(endpoint.value)
        ):
            yield self.error(
                "KC105",
                endpoint,
                f"{path}.endpoint",
                f"endpoint '{endpoint.value}' is not an absolute https URL",
                "CleverTap calls https only; http:// is accepted for 127.0.0.1/localhost",
            )
        concurrency = p.get("max_concurrency")
        if (
            concurrency is not None
            and type(concurrency.value) is int
            and not 30 <= concurrency.value <= 1000
        ):
            yield self.error(
                "KC106",
                concurrency,
                f"{path}.max_concurrency",
                f"max_concurrency {concurrency.value} is outside 30..1000",
                "leave it out to use CleverTap's default",
            )
        recipients = p.get("test_recipients")
        if recipients is not None:
            for j, number in enumerate(recipients.items()):
                yield from self.check_phone(number, f"{path}.test_recipients[{j}]")
        headers = p.get("headers")
        if headers is not None and headers.is_map:
            yield from self.check_headers(headers, f"{path}.headers", channel)
        if channel == "whatsapp":
            yield from self.check_whatsapp(p, path)
        elif channel == "sms":
            yield from self.check_sms(p, path)

    def check_phone(self, node: Node, path: str) -> Iterator[Finding]:
        value = node.text()
        if value is not None and not is_e164(value):
            yield self.error(
                "KC108",
                node,
                path,
                f"'{value}' is not an E.164 phone number",
                phone_hint(value),
            )

    def check_headers(self, headers: Node, path: str, channel: str) -> Iterator[Finding]:
        known = CHANNEL_HEADERS.get(channel)
        for entry in headers.entries():
            name, node, sub = entry.key, entry.value, f"{path}.{entry.key}"
            value = node.value
            if known is not None and name not in known:
                other = next((c for c, hs in CHANNEL_HEADERS.items() if name in hs), None)
                hint = suggestion(name, known) or (
                    f"'{name}' is for {other} providers"
                    if other is not None
                    else f"{channel} headers: {', '.join(known)}"
                )
                yield self.warning(
                    "KC207",
                    entry.key_node,
                    sub,
                    f"header '{name}' is not used by {channel} providers",
                    hint,
                )
            if value is None or (isinstance(value, str) and not value.strip()):
                yield self.error("KC202", node, sub, f"header '{name}' is empty")
                continue
            if not isinstance(value, str):
                continue
            yield from self.check_secret_value(node, sub, name in SECRET_HEADERS, f"'{name}'")
            if name in URL_HEADERS and parse_reference(value) is None and "${" not in value:
                yield from self.check_url_header(node, sub, name, value)

    def check_secret_value(
        self, node: Node, path: str, is_secret: bool, what: str
    ) -> Iterator[Finding]:
        value: str = node.value
        problem = reference_problem(value)
        if problem is not None:
            yield self.error(
                "KC206",
                node,
                path,
                f"{what}: {problem}",
                "write ${NAME} for an environment variable or ${keyring:NAME} for the keyring",
            )
        elif is_secret and parse_reference(value) is None:
            yield self.warning(
                "KC205",
                node,
                path,
                f"{what} is a secret written as a literal",
                "use ${keyring:NAME} (kctl secrets set NAME) or ${ENV_VAR} instead",
            )

    def check_url_header(self, node: Node, path: str, name: str, value: str) -> Iterator[Finding]:
        if not is_https_url(value):
            yield self.error(
                "KC203",
                node,
                path,
                f"header '{name}' is not an absolute https URL: '{value}'",
                "http:// is accepted for 127.0.0.1/localhost only",
            )
            return
        if name != "kaleyra-host":
            return
        host = (urlsplit(value).hostname or "").lower()
        if host not in KALEYRA_HOSTS and not is_loopback_host(host):
            yield self.warning(
                "KC204",
                node,
                path,
                f"kaleyra-host '{host}' is not a known Kaleyra API domain",
                suggestion(host, KALEYRA_HOSTS) or "known: " + ", ".join(KALEYRA_HOSTS),
            )

    # --- WhatsApp ---------------------------------------------------------------------------

    def check_whatsapp(self, p: Node, path: str) -> Iterator[Finding]:
        number = p.get("business_number")
        if number is not None:
            yield from self.check_phone(number, f"{path}.business_number")
        version = p.get("payload_version")
        text = version.text() if version is not None else None
        if version is not None and text is not None and not is_payload_version(text):
            yield self.error(
                "KC109",
                version,
                f"{path}.payload_version",
                f"payload_version '{text}' is malformed",
                'copy the Payload Version from CleverTap\'s provider page, e.g. "0.1"',
            )
        incoming = p.get("incoming_url")
        if incoming is not None and incoming.text() is not None:
            problem = incoming_url_problem(incoming.value)
            if problem is not None:
                yield self.error(problem[0], incoming, f"{path}.incoming_url", problem[1])
        templates = p.get("templates")
        if templates is None:
            return
        seen: dict[tuple[str, str], Node] = {}
        for j, template in enumerate(templates.items()):
            if not template.is_map:
                continue
            tpath = f"{path}.templates[{j}]"
            name, language = template.get("name"), template.get("language")
            has_key = name is not None and name.text() and language is not None and language.text()
            if (
                has_key
                and name
                and language
                and (first := first_seen(seen, (name.value, language.value), name))
            ):
                yield self.error(
                    "KC401",
                    name,
                    f"{tpath}.name",
                    f"template '{name.value}' ({language.value}) is defined twice"
                    f" (first at line {first.line})",
                )
            yield from self.check_whatsapp_template(template, tpath)

    def check_whatsapp_template(self, t: Node, path: str) -> Iterator[Finding]:
        yield from self.check_template_name(t, path)
        language = t.get("language")
        if language is not None and language.text() is not None:
            code = language.value
            if code not in WHATSAPP_LANGUAGES:
                yield self.error(
                    "KC409",
                    language,
                    f"{path}.language",
                    f"'{code}' is not a WhatsApp template language code",
                    suggestion(code.replace("-", "_"), sorted(WHATSAPP_LANGUAGES))
                    or "e.g. en, en_US, pt_BR, hi",
                )
        offer = t.get("limited_time_offer")
        has_offer = offer is not None and offer.is_map
        header = t.get("header")
        if header is not None and header.is_map:
            htype, text = header.get("type"), header.get("text")
            lacks_text = text is None or not (text.text() or "").strip()
            if htype is not None and htype.value == "text" and lacks_text:
                yield self.error(
                    "KC004", header, f"{path}.header.text", "a header of type text needs 'text'"
                )
            if text is not None and text.text() is not None:
                yield from self.check_placeholders(text, f"{path}.header.text")
        body = t.get("body")
        if body is not None and body.text() is not None:
            limit = BODY_LIMIT_WITH_OFFER if has_offer else BODY_LIMIT
            if len(body.value) > limit:
                yield self.error(
                    "KC403",
                    body,
                    f"{path}.body",
                    f"template body is {len(body.value)} characters; the limit is {limit}"
                    + (" with a limited time offer" if has_offer else ""),
                )
            yield from self.check_placeholders(body, f"{path}.body")
        footer = t.get("footer")
        if footer is not None and footer.text() is not None and len(footer.value) > FOOTER_LIMIT:
            yield self.error(
                "KC404",
                footer,
                f"{path}.footer",
                f"template footer is {len(footer.value)} characters; the limit is {FOOTER_LIMIT}",
            )
        buttons = t.get("buttons")
        if buttons is not None and buttons.is_seq:
            yield from self.check_buttons(buttons, f"{path}.buttons")
        if offer is not None and offer.is_map:
            category = t.get("category")
            category_value = (category.text() if category is not None else None) or "utility"
            if category_value != "marketing" and (category is None or category.text()):
                yield self.error(
                    "KC407",
                    offer,
                    f"{path}.limited_time_offer",
                    f"a limited time offer needs category marketing, not {category_value}",
                )
            title = offer.get("title")
            if title is not None and title.text() and len(title.value) > OFFER_TITLE_LIMIT:
                yield self.error(
                    "KC407",
                    title,
                    f"{path}.limited_time_offer.title",
                    f"offer title is {len(title.value)} characters; the limit is"
                    f" {OFFER_TITLE_LIMIT}",
                )

    def check_template_name(self, t: Node, path: str) -> Iterator[Finding]:
        name = t.get("name")
        if (
            name is not None
            and name.text() is not None
            and not _TEMPLATE_NAME.fullmatch(name.value)
        ):
            suggestion = re.sub(r"[^a-z0-9_]+", "_", name.value.lower()).strip("_")
            yield self.error(
                "KC408",
                name,
                f"{path}.name",
                f"template name '{name.value}' may hold only lower-case letters, digits and _",
                f"e.g. '{suggestion}'" if suggestion else None,
            )

    def check_placeholders(self, node: Node, path: str) -> Iterator[Finding]:
        found = _PLACEHOLDER.findall(node.value)
        if not found:
            return
        # ASCII digits only: str.isdigit() also accepts superscripts and other scripts
        bad = [f"{{{{{p}}}}}" for p in found if not _ASCII_NUMBER.fullmatch(p)]
        if bad:
            yield self.error(
                "KC405",
                node,
                path,
                f"placeholder {bad[0]} is not a number",
                "placeholders are {{1}}, {{2}}, ... in order",
            )
            return
        numbers = {int(p) for p in found}
        expected = set(range(1, max(numbers) + 1))
        if numbers != expected:
            missing = sorted(expected - numbers)
            listing = ", ".join(f"{{{{{n}}}}}" for n in sorted(numbers))
            yield self.error(
                "KC405",
                node,
                path,
                f"placeholders must run {{{{1}}}}..{{{{n}}}} without gaps; found {listing}",
                "missing " + ", ".join(f"{{{{{n}}}}}" for n in missing) if missing else None,
            )

    def check_buttons(self, buttons: Node, path: str) -> Iterator[Finding]:
        items = [b for b in buttons.items() if b.is_map]
        if len(buttons.items()) > MAX_BUTTONS:
            yield self.error(
                "KC406",
                buttons,
                path,
                f"{len(buttons.items())} buttons; a template has at most {MAX_BUTTONS}",
            )
        counts: dict[str, int] = {}
        for j, button in enumerate(items):
            btype = button.get("type")
            kind = btype.text() if btype is not None else None
            if isinstance(kind, str):
                counts[kind] = counts.get(kind, 0) + 1
            needs = {"url": "url", "phone": "phone_number"}.get(kind or "")
            if needs is not None and button.get(needs) is None:
                yield self.error(
                    "KC004", button, f"{path}[{j}].{needs}", f"a {kind} button needs '{needs}'"
                )
            phone = button.get("phone_number")
            if phone is not None:
                yield from self.check_phone(phone, f"{path}[{j}].phone_number")
        for kind, limit in BUTTON_LIMITS.items():
            if counts.get(kind, 0) > limit:
                yield self.error(
                    "KC406",
                    buttons,
                    path,
                    f"{counts[kind]} {kind} buttons; a template has at most {limit}",
                )

    # --- SMS --------------------------------------------------------------------------------

    def check_sms(self, p: Node, path: str) -> Iterator[Finding]:
        auth = p.get("auth")
        if auth is not None and auth.is_map:
            yield from self.check_auth(auth, f"{path}.auth")
        parameters = p.get("parameters")
        if parameters is not None and parameters.is_map:
            yield from self.check_parameters(parameters, f"{path}.parameters")
        dlt = p.get("dlt")
        if dlt is not None and dlt.is_map:
            entity = dlt.get("entity_id")
            if entity is not None:
                yield from self.check_dlt_id(entity, f"{path}.dlt.entity_id")
        recipients = p.get("test_recipients")
        india = [n for n in (recipients.items() if recipients else []) if _is_indian(n)]
        if india and dlt is None:
            yield self.error(
                "KC004",
                p,
                f"{path}.dlt",
                "missing required key 'dlt': India (+91) recipients need DLT registration",
                'add dlt: {entity_id: "<your 12-19 digit DLT entity id>"}',
            )
        needs_dlt = dlt is not None or bool(india)
        templates = p.get("templates")
        if templates is None:
            return
        names: dict[str, Node] = {}
        for j, t in enumerate(templates.items()):
            if not t.is_map:
                continue
            tpath = f"{path}.templates[{j}]"
            yield from self.check_template_name(t, tpath)
            name = t.get("name")
            if name is not None and name.text() and (first := first_seen(names, name.value, name)):
                yield self.error(
                    "KC401",
                    name,
                    f"{tpath}.name",
                    f"template '{name.value}' is defined twice (first at line {first.line})",
                )
            template_id = t.get("dlt_template_id")
            if template_id is not None:
                yield from self.check_dlt_id(template_id, f"{tpath}.dlt_template_id")
            elif needs_dlt:
                yield self.error(
                    "KC304",
                    t,
                    f"{tpath}.dlt_template_id",
                    f"template '{(name.text() if name else None) or '?'}' lacks dlt_template_id,"
                    " required for India (DLT)",
                )

    def check_auth(self, auth: Node, path: str) -> Iterator[Finding]:
        for key in ("username", "password"):
            node = auth.get(key)
            if node is not None and node.text():
                yield from self.check_secret_value(
                    node, f"{path}.{key}", key == "password", f"auth.{key}"
                )
        atype = auth.get("type")
        if atype is None or atype.value != "basic":
            return
        for key in ("username", "password"):
            node = auth.get(key)
            if node is None or not (node.text() or "").strip():
                yield self.error(
                    "KC306",
                    node or auth,
                    f"{path}.{key}",
                    f"basic auth needs a {key}",
                )

    def check_parameters(self, params: Node, path: str) -> Iterator[Finding]:
        for entry in params.entries():
            node = entry.value
            value = node.text()
            sub = f"{path}.{entry.key}"
            if entry.key in REQUIRED_SMS_PARAMETERS and not (value or "").strip():
                yield self.error("KC301", node, sub, f"required parameter '{entry.key}' is empty")
            for token in _SMS_PLACEHOLDER.findall(value or ""):
                if token not in SMS_PLACEHOLDERS:
                    yield self.error(
                        "KC302",
                        node,
                        sub,
                        f"unknown placeholder '{token}'",
                        suggestion(token, SMS_PLACEHOLDERS)
                        or "known: " + " ".join(SMS_PLACEHOLDERS),
                    )

    def check_dlt_id(self, node: Node, path: str) -> Iterator[Finding]:
        value = node.text()
        if value is not None and not _DLT_ID.fullmatch(value):
            yield self.error(
                "KC305",
                node,
                path,
                f"DLT id '{value}' must be 12 to 19 digits",
            )


def _is_indian(node: Node) -> bool:
    value = node.text()
    return value is not None and value.startswith("+91")
