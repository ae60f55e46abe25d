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


def _env_name(value: str) -> str | None:
    from kctl.secrets import parse_reference

    ok = parse_reference(f"${{{value}}}") is not None
    return None if ok else "use letters, digits and _, not starting with a digit"


def _incoming(value: str) -> str | None:
    from kctl.urls import incoming_url_problem

    problem = incoming_url_problem(value)
    return None if problem is None else problem[1]


QUESTIONS = (
    Question("nickname", "Provider nickname", BOTH, _nonempty, "Kaleyra"),
    Question("endpoint", "HTTP End Point (from Kaleyra support)", BOTH, _url),
    Question("business_number", "WhatsApp Business Number (+country code)", (WA,), _phone),
    Question(
        "incoming_url", "Incoming URL for the number (from Kaleyra support)", (WA,), _incoming
    ),
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
# asked instead of api_key_name when the api-key comes from the environment
API_KEY_ENV = Question(
    "api_key_env", "Environment variable holding the api-key", BOTH, _env_name, "KALEYRA_API_KEY"
)

# Meta creates this template, approved, on every WhatsApp Business Account: a config from init
# can send it at once (to the sandbox, and on a new number to Kaleyra too)
SAMPLE_TEMPLATE = (
    "    templates:",
    "      # Meta's sample, approved on every new WhatsApp Business Account; add your own",
    "      - name: hello_world",
    "        language: en_US",
    '        header: {type: text, text: "Hello World"}',
    '        body: "Welcome and congratulations!! This message demonstrates your ability to send'
    " a WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking"
    ' the time to test with us."',
    '        footer: "WhatsApp Business Platform sample message"',
)


def questions_for(channel: Channel, *, api_key_from_env: bool = False) -> list[Question]:
    chosen = [q for q in QUESTIONS if channel in q.channels]
    if api_key_from_env:
        chosen = [API_KEY_ENV if q.key == "api_key_name" else q for q in chosen]
    return chosen


def api_key_reference(answers: dict[str, str]) -> str:
    if "api_key_env" in answers:
        return f"${{{answers['api_key_env']}}}"
    return f"${{keyring:{answers['api_key_name']}}}"


def _q(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def render_config(channel: Channel, answers: dict[str, str]) -> str:
    """The config text for one provider. ``answers`` holds every question's key."""
    a = {k: _q(v) for k, v in answers.items()}
    if "api_key_env" in answers:
        where = f"# Created by kctl init {channel}. The api-key comes from the environment:"
        how = f"#   export {answers['api_key_env']}=..."
    else:
        where = f"# Created by kctl init {channel}. The api-key is in the OS keyring:"
        how = f"#   kctl secrets set {answers['api_key_name']}"
    head = [
        f"# yaml-language-server: $schema=./{SCHEMA_FILE}",
        where,
        how,
        "version: 1",
        "providers:",
        f"  - nickname: {a['nickname']}",
        f"    channel: {channel}",
        f"    endpoint: {a['endpoint']}",
        "    default: true",
    ]
    key_ref = _q(api_key_reference(answers))
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
        f"    incoming_url: {a['incoming_url']}",
        "    headers:",
        f"      api-key: {key_ref}",
        f"      sid: {a['sid']}",
        f"      kaleyra-host: {a['kaleyra_host']}",
        f"      inbound-message-callback-url: {a['inbound_callback_url']}",
        f"      delivery-report-callback-url: {a['dlr_callback_url']}",
        *SAMPLE_TEMPLATE,
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
