"""kctl init: a new provider config from answers, written only when it validates clean."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never

from kctl.contract.channels import Channel
from kctl.contract.numbers import phone_problem
from kctl.urls import is_https_url

SCHEMA_FILE = "kctl.schema.json"  # written beside the config when missing
WA, SMS = Channel.WHATSAPP, Channel.SMS
BOTH = (WA, SMS)


@dataclass(frozen=True, slots=True)
class Question:
    key: str
    prompt: str
    channels: tuple[Channel, ...]
    check: Callable[[str], str | None]  # a problem with the answer, or None
    default: str | None = None


def _url(value: str) -> str | None:
    return (
        None if is_https_url(value) else "must be an absolute https URL (http only for localhost)"
    )


def _phone(value: str) -> str | None:
    problem = phone_problem(value)
    return None if problem is None else f"{problem[0]}: {problem[1]}"


def _nonempty(value: str) -> str | None:
    return None if value.strip() else "must not be empty"


def _secret_name(value: str) -> str | None:
    from kctl.secrets import parse_reference

    return None if parse_reference(f"${{keyring:{value}}}") else "use letters, digits and ._-/:@"


QUESTIONS = (
    Question("nickname", "Provider nickname", BOTH, _nonempty, "Kaleyra"),
    Question("endpoint", "HTTP End Point (from Kaleyra support)", BOTH, _url),
    Question("business_number", "WhatsApp Business Number (+country code)", (WA,), _phone),
    Question("sid", "Kaleyra SID", BOTH, _nonempty),
    Question("kaleyra_host", "Kaleyra API host", BOTH, _url, "https://api.kaleyra.io/"),
    Question("inbound_callback_url", "Inbound Message Callback URL (CleverTap)", (WA,), _url),
    Question("dlr_callback_url", "Delivery Report Callback URL (CleverTap)", (WA,), _url),
    Question("callback_url", "Callback URL (CleverTap SMS page)", (SMS,), _url),
    Question("sender", "Default sender ID", (SMS,), _nonempty),
    Question(
        "api_key_name",
        "Keyring entry for the api-key",
        BOTH,
        _secret_name,
        "kaleyra/api-key",
    ),
)


def questions_for(channel: Channel) -> list[Question]:
    return [q for q in QUESTIONS if channel in q.channels]


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def render_config(channel: Channel, answers: dict[str, str]) -> str:
    """The config text for one provider. ``answers`` holds every question's key."""
    a = {k: _q(v) for k, v in answers.items()}
    head = [
        f"# yaml-language-server: $schema=./{SCHEMA_FILE}",
        f"# Created by kctl init {channel}. The api-key is in the OS keyring:",
        f"#   kctl secrets set {answers['api_key_name']}",
        "version: 1",
        "providers:",
        f"  - nickname: {a['nickname']}",
        f"    channel: {channel}",
        f"    endpoint: {a['endpoint']}",
        "    default: true",
    ]
    key_ref = _q(f"${{keyring:{answers['api_key_name']}}}")
    match channel:
        case Channel.WHATSAPP:
            body = _whatsapp_lines(a, key_ref)
        case Channel.SMS:
            body = _sms_lines(a, key_ref)
        case _:
            assert_never(channel)
    return "\n".join(head + body) + "\n"


def _whatsapp_lines(a: dict[str, str], key_ref: str) -> list[str]:
    return [
        f"    business_number: {a['business_number']}",
        '    payload_version: "0.1"',
        "    headers:",
        f"      api-key: {key_ref}",
        f"      sid: {a['sid']}",
        f"      kaleyra-host: {a['kaleyra_host']}",
        f"      inbound-message-callback-url: {a['inbound_callback_url']}",
        f"      delivery-report-callback-url: {a['dlr_callback_url']}",
        "    templates: []",
    ]


def _sms_lines(a: dict[str, str], key_ref: str) -> list[str]:
    return [
        "    auth: {type: none}",
        "    headers:",
        f"      api-key: {key_ref}",
        f"      sid: {a['sid']}",
        f"      kaleyra-host: {a['kaleyra_host']}",
        f"      callback_url: {a['callback_url']}",
        "    parameters:",
        *(
            f"      {name}: ${value}"
            for name, value in (
                ("to", "$To"),
                ("sender", "$Sender"),
                ("body", "$Body"),
                ("template_id", "$TemplateID"),
                ("message_id", "$MessageID"),
                ("campaign_id", "$CampaignID"),
                ("type", "$TYPE"),
                ("long_url", "$LongURL"),
            )
        ),
        f"    sender: {a['sender']}",
        "    message_type: TXN",
        "    templates: []",
    ]
