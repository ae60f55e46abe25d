"""Regressions from review: leaks, crashes and wrong answers on odd input. Each must end in a
finding or a one-line error with the SPEC exit code, never a traceback or a secret."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.support import REPO, Kctl

SECRET = "LEAKEDSECRET_ABCDEF99"

SMS_PROVIDER = """\
version: 1
providers:
  - nickname: K
    channel: sms
    endpoint: https://a.example.com/sms
    headers:
{headers}
      sid: X
      kaleyra-host: https://api.kaleyra.io/
      callback_url: https://c.example.com/x
    parameters: {{to: $$To, sender: $$Sender, body: $$Body, message_id: $$MessageID}}
"""


@pytest.mark.parametrize(
    "headers",
    [
        f"      Api-Key: {SECRET}\n      api-key: ${{K}}",  # other case: KC207 quotes the line
        f"      api-key: [{SECRET}]",  # not a string: KC005 quotes the line
        f'      api-key: "{SECRET[:4]}\\x{ord(SECRET[4]):02X}{SECRET[5:]}"',  # escapes
        f"      api-key: {SECRET}: oops",  # a syntax error: nothing parses
    ],
    ids=["header-case", "list-value", "escaped", "syntax-error"],
)
@pytest.mark.parametrize("fmt", ["text", "json", "sarif"])
def test_validate_never_prints_a_literal_secret(kctl: Kctl, headers: str, fmt: str) -> None:
    result = kctl(
        "validate-config", "--format", fmt, "-", input=SMS_PROVIDER.format(headers=headers)
    )
    assert result.exit_code in (0, 1), result
    assert SECRET not in result.stdout + result.stderr
    assert SECRET[5:] not in result.stdout + result.stderr


@pytest.mark.parametrize(
    ("snippet", "code"),
    [
        ("buttons: [{type: {a: 1}, text: t}]", "KC005"),
        ('body: "Hi {{²}}"', "KC405"),
        ("header: {type: location, latitude: .nan, longitude: .inf}", "KC005"),
    ],
)
def test_odd_template_values_are_findings_not_crashes(kctl: Kctl, snippet: str, code: str) -> None:
    template = f"      - name: t\n        language: en\n        body: hi\n        {snippet}\n"
    if snippet.startswith("body"):
        template = f"      - name: t\n        language: en\n        {snippet}\n"
    config = (
        (REPO / "configs" / "account.yaml")
        .read_text()
        .replace(
            "    templates:\n      - name: appointment_reminder\n        language: en_US\n"
            '        body: "Hi {{1}}, this is a reminder of your appointment on {{2}}."\n',
            "    templates:\n" + template,
        )
    )
    result = kctl("validate-config", "-", input=config)
    assert result.exit_code == 1, result
    assert code in result.stdout
    assert "internal error" not in result.stderr


def test_trailing_newline_in_a_phone_number_is_not_e164(kctl: Kctl) -> None:
    config = (
        (REPO / "configs" / "account.yaml")
        .read_text()
        .replace('"+14155550123"', '"+14155550123\\n"')
    )
    result = kctl("validate-config", "-", input=config)
    assert result.exit_code == 1
    assert "KC108" in result.stdout


def test_control_character_after_wide_text_is_located_by_character(kctl: Kctl) -> None:
    text = 'version: 1\nproviders: []\n# 中文中文\nkey: "ab\x01"\n'
    result = kctl("validate-config", "-", input=text)
    assert "<stdin>:4:9: KC001" in result.stdout


def test_oversized_input_is_refused_without_reading_it_all(kctl: Kctl) -> None:
    result = kctl("validate-config", "-", input=b"a: " + b"x" * (11 * 1024 * 1024))
    assert result.exit_code == 2
    assert "larger than 10 MiB" in result.stderr


DIRECT = """\
version: 1
providers:
  - nickname: S
    channel: sms
    endpoint: https://adapter.example.com/sms
    headers:
      api-key: ${KEY}
      sid: ${KSID}
      kaleyra-host: https://api.kaleyra.io/
      callback_url: https://c.example.com/x
    parameters: {to: $$To, sender: $$Sender, body: $$Body, message_id: $$MessageID}
    sender: ACME
"""


@pytest.fixture
def direct_config(tmp_path: Path) -> str:
    path = tmp_path / "direct.yaml"
    path.write_text(DIRECT)
    return str(path)


def test_direct_dry_run_needs_no_secret_and_keeps_the_sid_reference(
    kctl: Kctl, direct_config: str
) -> None:
    result = kctl(
        "send-test",
        "-c",
        direct_config,
        "--to",
        "+14155550123",
        "--body",
        "hi",
        "--via",
        "direct",
        "--dry-run",
        "--curl",
        env={"KSID": None, "KEY": None},
    )
    assert result.exit_code == 0, result
    assert "https://api.kaleyra.io/v1/${KSID}/messages" in result.stdout
    # in the curl export the shell expands the reference at run time
    assert 'curl -sS -X POST https://api.kaleyra.io/v1/"${KSID}"/messages' in result.stdout


def test_show_secrets_dry_run_curl_still_expands_references(kctl: Kctl, direct_config: str) -> None:
    result = kctl(
        "send-test",
        "-c",
        direct_config,
        "--to",
        "+14155550123",
        "--body",
        "hi",
        "--dry-run",
        "--curl",
        "--show-secrets",
    )
    assert "-H 'api-key: '\"${KEY}\"" in result.stdout


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (("--body", "hi", "--type", "bogus"), "--type BOGUS is not a message type"),
        (("--body", " "), "--body is empty"),
        (("--body", "hi", "--lang", "en"), "--lang is for WhatsApp providers"),
        (("--body", "hi", "--timeout", "inf"), "--timeout"),
    ],
)
def test_send_test_option_problems_exit_2(
    kctl: Kctl, direct_config: str, args: tuple[str, ...], words: str
) -> None:
    result = kctl("send-test", "-c", direct_config, "--to", "+14155550123", "--dry-run", *args)
    assert result.exit_code == 2, result
    assert words in result.stderr


def test_json_mode_prints_a_document_for_errors_too(kctl: Kctl, direct_config: str) -> None:
    result = kctl("send-test", "-c", direct_config, "--to", "12345", "--body", "x", "--json")
    assert result.exit_code == 2
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 2
    assert "E.164" in doc["error"]["message"]


def test_render_rejects_a_malformed_payload_version_flag(kctl: Kctl) -> None:
    for version in ("abc", ""):
        result = kctl(
            "render-callback-url",
            "--incoming-url",
            "https://a.example.com/i",
            "--inbound-callback-url",
            "https://b.example.com/x",
            "--payload-version",
            version,
        )
        assert result.exit_code == 2, result
        assert "payload-version" in result.stderr


@pytest.mark.usefixtures("file_keyring")
@pytest.mark.parametrize("data", [b"\xff\xfe\x00binary", b"", b"two\nlines\n"])
def test_secrets_set_refuses_what_is_not_one_line_of_text(kctl: Kctl, data: bytes) -> None:
    result = kctl("secrets", "set", "x", input=data)
    assert result.exit_code == 2, result
