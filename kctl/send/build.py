"""Build the exact request CleverTap (adapter mode) or a diagnostic client (direct mode) sends.

Pure functions from a Provider and the user's choices to a ``Request`` value: no network, no
secrets resolved here (``resolve_request`` does that, once, right before sending).
"""

from __future__ import annotations

import json
import re
import shlex
import uuid
from dataclasses import dataclass, replace
from urllib.parse import quote, urlencode

from kctl.config.model import Provider, Template
from kctl.contract.channels import SECRET_HEADERS
from kctl.contract.numbers import phone_problem
from kctl.contract.sms import MESSAGE_TYPES
from kctl.errors import UsageError
from kctl.secrets import Masker, mask, parse_reference, resolve_secret
from kctl.send.wire import Request

CAMPAIGN_ID = "kctl-test"
JSON = "application/json"
FORM = "application/x-www-form-urlencoded"
_WA_PLACEHOLDER = re.compile(r"\{\{\s*([0-9]+)\s*\}\}")
_SMS_VARIABLE = "{#var#}"


@dataclass(frozen=True, slots=True)
class Message:
    """What the user asked to send (the send-test options, checked)."""

    to: str  # E.164
    template: str | None = None
    language: str | None = None
    params: tuple[str, ...] = ()
    body: str | None = None  # SMS free text
    sender: str | None = None
    type: str | None = None
    force: bool = False  # send outside test_recipients


def new_message_id() -> str:
    """A fresh id for msgId / $$MessageID (CleverTap's ids are at most 60 characters)."""
    return f"kctl-{uuid.uuid4().hex}"


def digits(number: str) -> str:
    return number.lstrip("+")


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


def placeholder_count(text: str) -> int:
    numbers = [int(n) for n in _WA_PLACEHOLDER.findall(text)]
    return max(numbers, default=0)


def fill_whatsapp(text: str, params: tuple[str, ...]) -> str:
    return _WA_PLACEHOLDER.sub(lambda m: params[int(m.group(1)) - 1], text)


def fill_sms(text: str, params: tuple[str, ...]) -> str:
    parts = text.split(_SMS_VARIABLE)
    out = [parts[0]]
    for value, rest in zip(params, parts[1:], strict=True):
        out.extend((value, rest))
    return "".join(out)


def _check_param_count(template: Template, expected: int, given: int, marker: str) -> None:
    if expected != given:
        raise UsageError(
            f"template '{template.name}' has {expected} placeholder(s) ({marker}) but"
            f" {given} --param value(s) were given",
            f"pass --param once per placeholder, in order ({expected} in all)",
        )


# --- adapter mode: what CleverTap sends to the HTTP End Point -------------------------------


def whatsapp_adapter_request(provider: Provider, message: Message, message_id: str) -> Request:
    if message.template is None:
        raise UsageError("a WhatsApp send-test needs --template NAME")
    template = provider.find_template(message.template, message.language)
    _check_param_count(
        template, placeholder_count(template.body), len(message.params), "{{1}}, {{2}}, ..."
    )
    components: list[dict[str, object]] = []
    if template.header is not None:
        components.append({"type": "header", "header": dict(template.header)})
    components.append(
        {
            "type": "body",
            "body": {
                "text": fill_whatsapp(template.body, message.params),
                "parameters": [{"type": "text", "text": p} for p in message.params],
            },
        }
    )
    payload = {
        "payloadVersion": provider.payload_version,
        "msgId": message_id,
        "to": digits(message.to),
        "wabaNumber": digits(provider.business_number),
        "isTemplate": True,
        "template": {"namespace": template.name, "languageCode": template.language},
        "components": components,
    }
    return Request(
        method="POST",
        url=provider.endpoint,
        headers=provider.headers,
        body=json.dumps(payload, ensure_ascii=False).encode("utf-8"),
        content_type=JSON,
        message_id=message_id,
        label=f"adapter whatsapp, provider {provider.nickname}",
    )


def sms_text(provider: Provider, message: Message) -> tuple[str, Template | None]:
    if message.template is not None:
        if message.body is not None:
            raise UsageError("give either --body or --template, not both")
        template = provider.find_template(message.template)
        expected = template.body.count(_SMS_VARIABLE)
        _check_param_count(template, expected, len(message.params), _SMS_VARIABLE)
        return fill_sms(template.body, message.params), template
    if message.body is None:
        raise UsageError("an SMS send-test needs --body TEXT or --template NAME")
    if message.params:
        raise UsageError("--param goes with --template")
    return message.body, None


def sms_values(provider: Provider, message: Message, message_id: str) -> dict[str, str]:
    """What each $$ placeholder stands for in this send."""
    text, template = sms_text(provider, message)
    sender = message.sender or provider.sender
    if not sender:
        raise UsageError("no sender ID: pass --sender or set 'sender' in the provider")
    message_type = message.type or (template.type if template else None) or provider.message_type
    return {
        "$$To": digits(message.to),
        "$$Sender": sender,
        "$$Body": text,
        "$$TemplateID": (template.dlt_template_id or "") if template else "",
        "$$MessageID": message_id,
        "$$CampaignID": CAMPAIGN_ID,
        "$$TYPE": message_type or "",
        "$$LongURL": "",
    }


_SMS_PLACEHOLDER = re.compile(r"\$\$[A-Za-z]+")


def sms_adapter_request(provider: Provider, message: Message, message_id: str) -> Request:
    values = sms_values(provider, message, message_id)
    fields: list[tuple[str, str]] = []
    for name, pattern in provider.parameters:
        value = _SMS_PLACEHOLDER.sub(lambda m: values.get(m.group(0), m.group(0)), pattern)
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
        content_type=FORM,
        basic_auth=auth,
        message_id=message_id,
        label=f"adapter sms, provider {provider.nickname}",
    )


# --- direct mode: Kaleyra's own API, to tell an account problem from an adapter problem -----


def direct_url(provider: Provider) -> str:
    """Kaleyra's messages URL. References (${...}) stay in it until ``resolve_request``."""
    host = provider.header("kaleyra-host") or ""
    sid = provider.header("sid") or ""
    if parse_reference(sid) is None:
        sid = quote(sid, safe="")
    return f"{host.rstrip('/')}/v1/{sid}/messages"


def direct_request(provider: Provider, message: Message, message_id: str) -> Request:
    api_key = provider.header("api-key") or ""
    if provider.channel == "whatsapp":
        if message.template is None:
            raise UsageError("a WhatsApp send-test needs --template NAME")
        template = provider.find_template(message.template, message.language)
        _check_param_count(
            template, placeholder_count(template.body), len(message.params), "{{1}}, ..."
        )
        if any("," in p for p in message.params):
            raise UsageError(
                "--via direct: Kaleyra's 'params' field is comma-separated, so a --param"
                " value cannot contain ','",
                "test this template through the adapter (--via adapter) instead",
            )
        fields = [
            ("channel", "whatsapp"),
            ("from", provider.business_number),
            ("to", message.to),
            ("type", "template"),
            ("template_name", template.name),
            ("params", ",".join(message.params)),
            ("lang_code", template.language),
        ]
    else:
        values = sms_values(provider, message, message_id)
        fields = [
            ("to", message.to),
            ("sender", values["$$Sender"]),
            ("body", values["$$Body"]),
            ("type", values["$$TYPE"]),
            ("template_id", values["$$TemplateID"]),
        ]
        fields = [(k, v) for k, v in fields if v]
    return Request(
        method="POST",
        url=direct_url(provider),
        headers=(("api-key", api_key),),
        body=urlencode(fields).encode("utf-8"),
        content_type=FORM,
        label=f"direct {provider.channel}, provider {provider.nickname}",
    )


def check_options(provider: Provider, message: Message) -> None:
    """Options that do not apply to the provider's channel are refused, not ignored."""
    if provider.channel == "whatsapp":
        for flag, value in (
            ("--body", message.body),
            ("--sender", message.sender),
            ("--type", message.type),
        ):
            if value is not None:
                raise UsageError(f"{flag} is for SMS providers; '{provider.nickname}' is WhatsApp")
    else:
        if message.language is not None:
            raise UsageError(f"--lang is for WhatsApp providers; '{provider.nickname}' is SMS")
        if message.body is not None and not message.body.strip():
            raise UsageError("--body is empty")
    if message.type is not None and message.type not in MESSAGE_TYPES:
        raise UsageError(
            f"--type {message.type} is not a message type", "one of " + ", ".join(MESSAGE_TYPES)
        )


def build_request(provider: Provider, message: Message, via: str, message_id: str) -> Request:
    check_options(provider, message)
    check_recipient(provider, message)
    if via == "direct":
        return direct_request(provider, message, message_id)
    if provider.channel == "whatsapp":
        return whatsapp_adapter_request(provider, message, message_id)
    return sms_adapter_request(provider, message, message_id)


# --- secrets: resolved once, masked everywhere ------------------------------------------------


def literal_secrets(request: Request) -> list[str]:
    """Secret values written literally (an api-key in the file) that output must still hide."""
    found = [v for k, v in request.headers if k.lower() in SECRET_HEADERS and v]
    if request.basic_auth is not None and request.basic_auth[1]:
        found.append(request.basic_auth[1])
    return [v for v in found if parse_reference(v) is None]


_REFERENCE = re.compile(r"\$\{[^}]*\}")


def resolve_request(request: Request) -> tuple[Request, Masker]:
    """Resolve every ${...} reference; the Masker hides each secret value in all output."""
    secrets = literal_secrets(request)

    def resolve(value: str) -> str:
        if parse_reference(value) is None:
            return value
        resolved = resolve_secret(value)
        secrets.append(resolved)
        return resolved

    def resolve_in_url(match: re.Match[str]) -> str:
        value = resolve(match.group(0))
        # the host part is a URL itself; anything later (the sid) is one path segment
        return value if match.start() == 0 else quote(value, safe="")

    url = _REFERENCE.sub(resolve_in_url, request.url)
    headers = tuple((name, resolve(value)) for name, value in request.headers)
    auth = request.basic_auth
    if auth is not None:
        auth = (resolve(auth[0]), resolve(auth[1]))
    resolved = replace(request, url=url, headers=headers, basic_auth=auth)
    return resolved, Masker(secrets, basic_auth=[auth] if auth is not None else [])


def shell_word(text: str) -> str:
    """``text`` as one shell word, each ${...} reference produced by the shell at run time.

    ``${ENV}`` stays an environment expansion, ``${keyring:NAME}`` becomes a command
    substitution reading the keyring, so the command runs without containing the secret.
    """
    parts: list[str] = []
    last = 0
    for match in _REFERENCE.finditer(text):
        ref = parse_reference(match.group(0))
        if ref is None:
            continue
        if match.start() > last:
            parts.append(shlex.quote(text[last : match.start()]))
        if ref.kind == "env":
            parts.append(f'"${{{ref.name}}}"')
        else:
            parts.append(f'"$(kctl secrets get {shlex.quote(ref.name)} --show-secrets)"')
        last = match.end()
    if last < len(text) or not parts:
        parts.append(shlex.quote(text[last:]))
    return "".join(parts)  # adjacent quoted words are one word to the shell


def curl_command(request: Request, *, show_secrets: bool = False) -> str:
    """An equivalent curl command: references are read at run time, literal secrets masked."""

    def secret(text: str) -> str:
        hidden = not show_secrets and parse_reference(text) is None
        return mask(text) if hidden else text

    parts = ["curl -sS -X " + request.method + " " + shell_word(request.url)]
    for name, value in request.headers:
        shown = secret(value) if name.lower() in SECRET_HEADERS else value
        parts.append("-H " + shell_word(f"{name}: {shown}"))
    parts.append("-H " + shlex.quote(f"Content-Type: {request.content_type}"))
    if request.basic_auth is not None:
        user, password = request.basic_auth
        parts.append("-u " + shell_word(f"{user}:{secret(password)}"))
    parts.append("--data-binary " + shlex.quote(request.body.decode("utf-8", "replace")))
    return " \\\n  ".join(parts)
