"""kctl plan: CleverTap's form field by field, what Kaleyra needs, the templates to create."""

from __future__ import annotations

import json
from pathlib import Path

import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring

from tests.support import REPO, Kctl

ACCOUNT = str(REPO / "configs" / "account.yaml")
WHATSAPP = str(REPO / "configs" / "whatsapp.yaml")
API_KEY = "plan-api-key-77aa91"


@pytest.fixture
def stored(file_keyring: PlaintextKeyring) -> PlaintextKeyring:
    keyring.set_password("kctl", "kaleyra/api-key", API_KEY)
    return file_keyring


def _fields(rows: list[dict[str, object]]) -> dict[object, object]:
    return {row["field"]: row["value"] for row in rows}


@pytest.mark.usefixtures("stored")
def test_json_has_every_form_field_as_the_form_wants_it(kctl: Kctl) -> None:
    result = kctl("plan", "--config", ACCOUNT, "--json")
    assert result.exit_code == 0, result
    assert API_KEY not in result.stdout + result.stderr
    doc = json.loads(result.stdout)
    wa, sms = doc["providers"]
    assert _fields(wa["form"]) == {
        "Provider": "Generic (Other)",
        "Nickname": "Kaleyra_WA",
        "WhatsApp Business Number": "14155550123",  # Kaleyra's guide: no '+'
        "Request Type": "POST",
        "HTTP End Point": "https://ct-adapter.example.com/whatsapp",
        "Authentication": "None",
        "Maximum Concurrent API requests": "(leave empty)",
        "Mark as default": "yes (checked)",
        "Auto-reply for users not tracked": "no (unchecked)",
    }
    headers = {row["field"]: row for row in wa["headers"]}
    assert list(headers) == [
        "api-key", "sid", "kaleyra-host", "inbound-message-callback-url",
        "delivery-report-callback-url",
    ]  # fmt: skip
    assert headers["api-key"]["value"] == "****" + API_KEY[-4:]
    assert headers["api-key"]["secret"] is True
    assert "${keyring:kaleyra/api-key}" in headers["api-key"]["note"]
    # the two callback URLs for Kaleyra support; no Incoming URL without incoming_url
    assert _fields(wa["kaleyra"]) == {
        "inbound-message-callback-url": "https://us1.example-clevertap.com/wa/inbound/xyz",
        "delivery-report-callback-url": "https://us1.example-clevertap.com/wa/dlr/xyz",
    }
    assert any("has no incoming_url" in note for note in wa["notes"])
    assert [(t["name"], t["language"]) for t in wa["templates"]] == [
        ("appointment_reminder", "en_US")
    ]
    form = _fields(sms["form"])
    assert form["Provider"] == "Other (Generic)"
    assert form["Callback URL"] == "https://us1.example-clevertap.com/sms/dlr/xyz"
    assert form["Authentication"] == "Basic"
    assert form["Username"] == "clevertap"
    # the password is not stored here: shown as its reference, with how to read it
    assert form["Password"] == "${keyring:kaleyra/sms-pass}"
    assert _fields(sms["parameters"]) == {
        "to": "$$To", "sender": "$$Sender", "body": "$$Body", "message_id": "$$MessageID",
        "type": "$$TYPE",
    }  # fmt: skip


def test_the_incoming_url_is_render_callback_urls(kctl: Kctl) -> None:
    rendered = kctl("render-callback-url", "--config", WHATSAPP).stdout.strip()
    doc = json.loads(kctl("plan", "--config", WHATSAPP, "--json").stdout)
    (provider,) = doc["providers"]
    assert _fields(provider["kaleyra"])["Incoming URL"] == rendered
    assert rendered.startswith("https://wa-incoming.example.com/clevertap?inbound_message_")
    assert provider["notes"] == []
    assert len(provider["templates"]) == 6


@pytest.mark.usefixtures("stored")
def test_text_and_markdown_say_the_same_things(kctl: Kctl) -> None:
    text = kctl("plan", "-c", ACCOUNT, env={"COLUMNS": "80"}).stdout
    markdown = kctl("plan", "-c", ACCOUNT, "--format", "markdown").stdout
    for shown in (text, markdown):
        assert API_KEY not in shown
        assert "****" + API_KEY[-4:] in shown
        assert "14155550123" in shown
        assert "+14155550123" not in shown
        assert "appointment_reminder" in shown
    assert "WhatsApp Business Number          14155550123" in text
    assert "- [ ] **WhatsApp Business Number**: `14155550123`" in markdown
    assert "- [ ] **Password**: `${keyring:kaleyra/sms-pass}`" in markdown
    assert "### For Kaleyra support" in markdown
    assert markdown.count("## Kaleyra_") == 2


def test_one_provider_and_an_unknown_one(kctl: Kctl) -> None:
    one = json.loads(kctl("plan", "-c", ACCOUNT, "-p", "Kaleyra_SMS", "--json").stdout)
    assert [p["nickname"] for p in one["providers"]] == ["Kaleyra_SMS"]
    unknown = kctl("plan", "-c", ACCOUNT, "-p", "Nope")
    assert unknown.exit_code == 2
    assert "has no provider 'Nope'" in unknown.stderr


def test_a_literal_secret_is_masked_and_config_bytes_are_escaped(
    kctl: Kctl, tmp_path: Path
) -> None:
    config = tmp_path / "c.yaml"
    text = Path(WHATSAPP).read_text()
    text = text.replace("${keyring:kaleyra/api-key}", "literal-key-0042")
    text = text.replace("sid: HXIN1234567890", 'sid: "HX\\u001b[2J"')
    config.write_text(text)
    result = kctl("plan", "-c", str(config))
    assert result.exit_code == 0, result
    assert "literal-key-0042" not in result.stdout
    assert "****0042" in result.stdout
    assert "\x1b" not in result.stdout
    assert "HX\\x1b[2J" in result.stdout
