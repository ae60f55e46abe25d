"""render-callback-url as a user runs it: one line on stdout, parts with --json, clear errors."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import pytest

from tests.support import REPO, Kctl

WHATSAPP = str(REPO / "configs" / "whatsapp.yaml")
ACCOUNT = str(REPO / "configs" / "account.yaml")


def test_from_config_prints_exactly_one_line(kctl: Kctl) -> None:
    result = kctl("render-callback-url", "--config", WHATSAPP)
    assert result.exit_code == 0, result
    assert result.stdout == (
        "https://wa-incoming.example.com/clevertap?inbound_message_callback_url="
        "https%3A%2F%2Fin1.example-clevertap.com%2Fwa%2Finbound%2Fabc&payload_version=0.1\n"
    )
    assert result.stderr == ""


def test_flags_override_the_config(kctl: Kctl) -> None:
    result = kctl("render-callback-url", "--config", WHATSAPP, "--payload-version", "0.2", "--json")
    parts = json.loads(result.stdout)
    assert parts["payload_version"] == "0.2"
    assert parts["provider"] == "Kaleyra"
    assert dict(parse_qsl(urlsplit(parts["url"]).query))["payload_version"] == "0.2"


def test_from_flags_keeps_the_base_query_and_round_trips(kctl: Kctl) -> None:
    inbound = "https://in.example.com/wa in?x=1&y=ü#z"
    result = kctl(
        "render-callback-url",
        "--incoming-url",
        "https://x.example.com/in?b=1&a=2",
        "--inbound-callback-url",
        inbound,
    )
    url = result.stdout.strip()
    assert url.startswith("https://x.example.com/in?b=1&a=2&inbound_message_callback_url=")
    assert parse_qsl(urlsplit(url).query) == [
        ("b", "1"),
        ("a", "2"),
        ("inbound_message_callback_url", inbound),
        ("payload_version", "0.1"),
    ]


def test_sms_provider_prints_its_delivery_report_url(kctl: Kctl) -> None:
    result = kctl("render-callback-url", "--config", ACCOUNT, "--provider", "Kaleyra_SMS")
    assert result.stdout == "https://us1.example-clevertap.com/sms/dlr/xyz\n"


@pytest.mark.parametrize(
    ("base", "message"),
    [
        ("https://x.example.com/in#frag", "fragment"),
        ("http://x.example.com/in", "https"),
        ("https://x.example.com/in?payload_version=1", "payload_version"),
        ("https://x.example.com/in?inbound_message_callback_url=a", "inbound_message_callback_url"),
    ],
)
def test_bad_base_is_a_usage_error(kctl: Kctl, base: str, message: str) -> None:
    result = kctl(
        "render-callback-url",
        "--incoming-url",
        base,
        "--inbound-callback-url",
        "https://i.example/x",
    )
    assert result.exit_code == 2, result
    assert result.stdout == ""
    assert result.stderr.startswith("kctl: error: ")
    assert message in result.stderr


def test_missing_incoming_url_names_the_flag(kctl: Kctl) -> None:
    result = kctl("render-callback-url", "--config", ACCOUNT, "--provider", "Kaleyra_WA")
    assert result.exit_code == 2
    assert "has no incoming_url; pass --incoming-url" in result.stderr


def test_config_with_errors_stops_with_its_findings(kctl: Kctl, tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(Path(WHATSAPP).read_text().replace('"+919876543210"', "+919876543210"))
    result = kctl("render-callback-url", "--config", str(bad))
    assert result.exit_code == 1, result
    assert result.stdout == ""
    assert f"{bad}:13:22: KC005" in result.stderr
    assert "fix them first" in result.stderr


def test_unknown_provider(kctl: Kctl) -> None:
    result = kctl("render-callback-url", "--config", ACCOUNT, "--provider", "Nope")
    assert result.exit_code == 2
    assert "has no provider 'Nope'" in result.stderr
    assert "Kaleyra_WA, Kaleyra_SMS" in result.stderr
