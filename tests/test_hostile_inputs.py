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
    # --curl prints the curl command alone; in it the shell expands the reference at run time
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
        (("--body", "hi", "--type", "bogus"), "--type bogus is not a message type"),
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


ALIAS_BOMB = "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
    f"{chr(98 + i)}: &{chr(98 + i)} [" + ", ".join([f"*{chr(97 + i)}"] * 9) + "]\n"
    for i in range(8)
)

HOSTILE = {
    "empty": (b"", 1, "KC006"),
    "binary": (bytes(range(256)) * 4, 1, "KC001"),
    "not-utf8": (b"version: 1\nproviders: [\xff\xfe]\n", 1, "KC001"),
    "nul-byte": (b"version: 1\x00\n", 1, "KC001"),
    "alias-bomb": (ALIAS_BOMB.encode(), 1, "KC00"),
    "deep-nesting": (b"a: " + b"[" * 20000 + b"]" * 20000 + b"\n", 1, "KC001"),
    "top-level-list": (b"- version: 1\n", 1, "KC005"),
    "top-level-scalar": (b"just text\n", 1, "KC005"),
    "providers-null": (b"version: 1\nproviders: null\n", 1, "KC005"),
    "complex-key": (b"version: 1\nproviders: []\n? [a, b]\n: c\n", 1, "KC005"),
    "huge-int": (b"version: " + b"9" * 5000 + b"\nproviders: []\n", 1, "KC001"),
    "python-tag": (b"version: !!python/object/apply:os.system ['echo hi']\n", 1, "KC001"),
    "multi-document-broken": (b"version: 1\nproviders: []\n---\n[broken\n", 1, "KC001"),
    "five-megabytes": (b"version: 1\nproviders: []\n# " + b"x" * (5 * 1024 * 1024) + b"\n", 0, ""),
}


@pytest.mark.parametrize(("data", "exit_code", "code"), HOSTILE.values(), ids=HOSTILE.keys())
def test_hostile_files_end_in_findings(
    kctl: Kctl, tmp_path: Path, data: bytes, exit_code: int, code: str
) -> None:
    path = tmp_path / "hostile.yaml"
    path.write_bytes(data)
    result = kctl("validate-config", str(path))
    assert result.exit_code == exit_code, result
    assert code in result.stdout
    assert "Traceback" not in result.stderr
    assert "internal error" not in result.stderr
    assert len(result.stdout) < 20_000  # a hostile file cannot flood the terminal
