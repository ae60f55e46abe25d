"""Regressions from review: leaks, crashes and wrong answers on odd input. Each must end in a
finding or a one-line error with the SPEC exit code, never a traceback or a secret."""

from __future__ import annotations

import base64
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from xml.etree import ElementTree

import httpx
import pytest
from keyrings.alt.file import PlaintextKeyring

from kctl.config.loader import load_text
from kctl.errors import UsageError
from tests.servers import RecordedRequest, Reply, serve
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


def _aliased_account(copies: int, button: str = "{type: phone, text: Call}") -> str:
    """One provider, template and button, each anchored and then repeated by aliases."""

    def more(name: str, indent: str) -> str:
        return "".join(f"{indent}- *{name}\n" for _ in range(copies - 1))

    return (
        "version: 1\nproviders:\n  - &p\n    nickname: K\n    channel: whatsapp\n"
        "    endpoint: https://a.example.com/w\n    business_number: '+14155550123'\n"
        "    headers: {api-key: '${K}', sid: S, kaleyra-host: 'https://api.kaleyra.io/',"
        " inbound-message-callback-url: 'https://c.example.com/i',"
        " delivery-report-callback-url: 'https://c.example.com/d'}\n"
        "    templates:\n      - &t\n        name: t\n        language: en\n"
        f"        body: hi\n        buttons: [&b {button}"
        + ", *b" * (copies - 1)
        + "]\n"
        + more("t", "      ")
        + more("p", "  ")
    )


# 60 references at each of three levels: 216,000 buttons once expanded (issue 16, item 1)
ALIAS_EXPANSION = _aliased_account(60)
ALIAS_CYCLE = (
    "version: 1\nproviders:\n  - &p\n    nickname: n\n    channel: sms\n"
    "    headers: {api-key: *p}\n"
)
ALIAS_DEPTH = (
    "version: 1\nx0: &a0 [[[[[[[[[[[[[[[[[[[[x]]]]]]]]]]]]]]]]]]]]\n"
    + "".join(f"x{i}: &a{i} " + "[" * 20 + f"*a{i - 1}" + "]" * 20 + "\n" for i in range(1, 50))
    + "providers:\n  - nickname: n\n    channel: sms\n    headers:\n      api-key: *a49\n"
)
MERGE_EXPANSION = (
    "version: 1\nproviders: []\nbase: &m {"
    + ", ".join(f"k{i}: v" for i in range(20_000))
    + "}\n"
    + "".join(f"m{i}: {{<<: *m}}\n" for i in range(500))
)

HOSTILE = {
    "empty": (b"", 1, "KC006"),
    "binary": (bytes(range(256)) * 4, 1, "KC001"),
    "not-utf8": (b"version: 1\nproviders: [\xff\xfe]\n", 1, "KC001"),
    "nul-byte": (b"version: 1\x00\n", 1, "KC001"),
    "alias-bomb": (ALIAS_BOMB.encode(), 1, "KC00"),
    "alias-expansion": (ALIAS_EXPANSION.encode(), 1, "KC001 with its aliases expanded"),
    "alias-cycle": (ALIAS_CYCLE.encode(), 1, "KC001 alias *p refers to a node that contains it"),
    "alias-depth": (ALIAS_DEPTH.encode(), 1, "KC001 with its aliases expanded the document nests"),
    "merge-expansion": (MERGE_EXPANSION.encode(), 1, "KC001 with its aliases expanded"),
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


def test_a_shared_block_is_reported_once_where_it_is_written(kctl: Kctl) -> None:
    config = _aliased_account(3, button="{type: phone, text: Call, colour: red}")
    result = kctl("validate-config", "--format", "json", "-", input=config)
    assert result.exit_code == 1, result
    findings = json.loads(result.stdout)["findings"]
    at = {(f["code"], f["line"], f["column"]) for f in findings}
    assert len(at) == len(findings), findings  # nothing repeated for each alias
    # the button's own mistakes, at the button's anchor on line 14
    assert ("KC003", 14, 48) in at  # unknown key 'colour'
    assert ("KC004", 14, 19) in at  # a phone button needs phone_number
    # listing the same provider or template again is a duplicate
    assert any(f["code"] == "KC101" and "an alias lists it again" in f["message"] for f in findings)
    assert any(f["code"] == "KC401" and "an alias lists it again" in f["message"] for f in findings)


# --- a damaged keyring file (issue 16, item 2) ------------------------------------------------

KEYRING_PASSWORD = "SmsPassw0rd-Damaged-File-4411"
KEYRING_API_KEY = "ak-" + "Q" * 40 + "-damaged-keyring-9f3e"

KEYRING_CONFIG = """\
version: 1
providers:
  - nickname: S
    channel: sms
    endpoint: http://127.0.0.1:9/sms
    auth: {type: basic, username: ct, password: "${keyring:kaleyra/sms-pass}"}
    headers:
      api-key: ${keyring:kaleyra/api-key}
      sid: SID1
      kaleyra-host: https://api.kaleyra.io/
      callback_url: https://c.example.com/x
    parameters: {to: $$To, sender: $$Sender, body: $$Body, message_id: $$MessageID}
    sender: ACME
"""


def _unindented(text: str) -> str:
    # an editor that strips leading whitespace: the base64 values, which keyrings.alt writes
    # on indented continuation lines, become lines configparser cannot parse and quotes
    return "\n".join(line.lstrip() for line in text.splitlines()) + "\n"


def _section_twice(text: str) -> str:
    return text + "\n" + text  # DuplicateSectionError names the section and the line


DAMAGES = {"unindented-continuation-lines": _unindented, "section-twice": _section_twice}
KEYRING_COMMANDS = {
    "secrets-get": ("secrets", "get", "kaleyra/api-key"),
    # --yes: past the plain-text store warning, to the damaged file itself
    "secrets-set": ("secrets", "set", "kaleyra/other", "--yes"),
    "secrets-delete": ("secrets", "delete", "kaleyra/sms-pass"),
    "send-test-json": (
        "send-test",
        "-c",
        "{config}",
        "--to",
        "+14155550123",
        "--body",
        "hi",
        "--json",
    ),
    "send-test-verbose": (
        "send-test",
        "-c",
        "{config}",
        "--to",
        "+14155550123",
        "--body",
        "hi",
        "--verbose",
    ),
    "doctor": ("doctor", "-c", "{config}"),
    "doctor-json": ("doctor", "-c", "{config}", "--json"),
}


def _spellings(secret: str) -> list[str]:
    """The secret and every 12-character run of its base64, as keyrings.alt stores it."""
    import base64

    encoded = base64.b64encode(secret.encode()).decode()
    return [secret, secret[-12:], *(encoded[i : i + 12] for i in range(len(encoded) - 11))]


@pytest.mark.parametrize("damage", DAMAGES.values(), ids=DAMAGES.keys())
@pytest.mark.parametrize("command", KEYRING_COMMANDS.values(), ids=KEYRING_COMMANDS.keys())
def test_a_damaged_keyring_file_is_exit_3_without_a_byte_of_its_secrets(
    kctl: Kctl,
    file_keyring: PlaintextKeyring,
    tmp_path: Path,
    damage: Callable[[str], str],
    command: tuple[str, ...],
) -> None:
    file_keyring.set_password("kctl", "kaleyra/sms-pass", KEYRING_PASSWORD)
    file_keyring.set_password("kctl", "kaleyra/api-key", KEYRING_API_KEY)
    store = Path(file_keyring.file_path)
    store.write_text(damage(store.read_text()))
    config = tmp_path / "k.yaml"
    config.write_text(KEYRING_CONFIG)
    args = [arg.format(config=config) for arg in command]
    result = kctl(*args, input="new-value-for-other\n")
    assert result.exit_code == 3, result
    shown = result.stdout + result.stderr
    for secret in (KEYRING_PASSWORD, KEYRING_API_KEY):
        leaked = [s for s in _spellings(secret) if s in shown]
        assert not leaked, result
    assert "Traceback" not in shown
    if command[0] != "doctor":  # doctor's table says it per check
        assert f"(file {store})" in shown  # where it failed


# --- endpoints that answer too slowly or say too much (issue 16, items 3 and 4) ---------------


def _loopback_config(tmp_path: Path, url: str) -> str:
    path = tmp_path / "loopback.yaml"
    path.write_text(
        DIRECT.replace("https://adapter.example.com/sms", url).replace("${KSID}", "SID1")
    )
    return str(path)


def test_a_reply_that_trickles_in_ends_at_the_timeout(kctl: Kctl, tmp_path: Path) -> None:
    answer = Reply.json({"status": "success"})
    # one byte every 0.3 s: each read is well inside --timeout, the whole reply takes ~25 s
    trickling = Reply(headers=answer.headers, body=answer.body, trickle=0.3)
    with serve(None, trickling) as srv:
        config = _loopback_config(tmp_path, srv.url("/sms"))
        started = time.monotonic()
        result = kctl(
            "send-test",
            "-c",
            config,
            "--to",
            "+14155550123",
            "--body",
            "hi",
            "--timeout",
            "1",
            env={"KEY": SECRET},
        )
        took = time.monotonic() - started
    assert result.exit_code == 4, result
    assert f"kctl: error: read timeout: no answer from 127.0.0.1:{srv.port} within 1 s" in (
        result.stderr
    )
    assert took < 10


ESCAPED_SECRET = "pw-\x1b[31m-Escaped-Secret-\x85-tail"  # ESC and NEL, a C1 control


def _echo_password(request: RecordedRequest) -> Reply:
    """Echo the basic-auth password back in a header and in the body, as a careless or hostile
    endpoint might."""
    token = (request.header("authorization") or "").removeprefix("Basic ")
    password = base64.b64decode(token).decode().partition(":")[2]
    return Reply(
        headers=(("X-Echo", password), ("Content-Type", "text/plain; charset=utf-8")),
        body=f"you sent {password}\n".encode(),
    )


@pytest.mark.parametrize("mode", ["--verbose", "--json"])
def test_an_echoed_secret_with_control_characters_is_masked_before_it_is_escaped(
    kctl: Kctl, tmp_path: Path, mode: str
) -> None:
    with serve(_echo_password) as srv:
        config = tmp_path / "auth.yaml"
        config.write_text(
            DIRECT.replace("https://adapter.example.com/sms", srv.url("/sms"))
            .replace("${KSID}", "SID1")
            .replace(
                "    headers:",
                '    auth: {type: basic, username: ct, password: "${PASS}"}\n    headers:',
            )
        )
        result = kctl(
            "send-test",
            "-c",
            str(config),
            "--to",
            "+14155550123",
            "--body",
            "hi",
            mode,
            env={"KEY": SECRET, "PASS": ESCAPED_SECRET},
        )
        assert len(srv.requests) == 1, result
    assert result.exit_code == 0, result
    shown = result.stdout + result.stderr
    for middle in ("Escaped-Secret", "Escaped\\x2dSecret"):
        assert middle not in shown, result
    assert "\x1b" not in result.stdout  # and nothing raw reaches the terminal
    assert shown.count("****") >= 2


# --- signals (issue 16, item 5): real processes, a real signal, bounded waits ----------------

SIGNALS = {
    "SIGTERM": (signal.SIGTERM, 143, "kctl: terminated"),
    "SIGINT": (signal.SIGINT, 130, "kctl: interrupted"),
}


# A test runner started in the background (a shell's "&") hands its children SIGINT ignored,
# and kctl, like Python, leaves an ignored SIGINT ignored: the children here take it back.
_WITH_SIGINT = "import signal; signal.signal(signal.SIGINT, signal.default_int_handler)\n"
_KCTL = _WITH_SIGINT + "import runpy; runpy.run_module('kctl', run_name='__main__')\n"


def _kctl_process(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", _KCTL, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
    )


def _finish(process: subprocess.Popen[str]) -> tuple[str, str]:
    try:
        return process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


@pytest.mark.parametrize(("signum", "exit_code", "line"), SIGNALS.values(), ids=SIGNALS.keys())
def test_a_signal_during_send_test_cleans_up_and_writes_the_junit_file(
    tmp_path: Path, signum: int, exit_code: int, line: str
) -> None:
    with serve(None, Reply(delay=60)) as srv:  # answers long after the test gives up
        config = _loopback_config(tmp_path, srv.url("/sms"))
        junit = tmp_path / "out" / "send-test.xml"
        junit.parent.mkdir()
        process = _kctl_process(
            "send-test",
            "-c",
            config,
            "--to",
            "+14155550123",
            "--body",
            "hi",
            "--timeout",
            "60",
            "--junit",
            str(junit),
            env={"KEY": SECRET},
        )
        try:
            assert srv.wait_for_requests(1, timeout=30), "send-test never sent"
            process.send_signal(signum)
        finally:
            _, err = _finish(process)
    assert process.returncode == exit_code, err
    assert err.splitlines() == [line]
    assert [p.name for p in junit.parent.iterdir()] == [junit.name]  # no temp file beside it
    failure = ElementTree.parse(junit).find(".//failure")
    assert failure is not None
    assert failure.get("message") == line.removeprefix("kctl: ")
    assert failure.get("type") == f"exit {exit_code}"
    assert SECRET not in junit.read_text()


@pytest.mark.parametrize("command", ["sandbox", "listen"])
@pytest.mark.parametrize(("signum", "exit_code", "line"), SIGNALS.values(), ids=SIGNALS.keys())
def test_a_signal_stops_a_server_with_its_exit_code_and_one_line(
    command: str, signum: int, exit_code: int, line: str
) -> None:
    process = _kctl_process(command, "--port", "0")
    try:
        assert process.stderr is not None
        started = process.stderr.readline()  # "kctl ... listening on ...": serving now
        assert " on http://127.0.0.1:" in started
        process.send_signal(signum)
    finally:
        _, err = _finish(process)
    assert process.returncode == exit_code, err
    assert err.splitlines() == [line]


def test_an_interrupted_atomic_write_leaves_no_temp_file(tmp_path: Path) -> None:
    target = tmp_path / "report.xml"
    # writes the same large file over and over: nearly all its time is inside write_atomic
    code = _WITH_SIGINT + (
        "import sys\nfrom pathlib import Path\nfrom kctl.files import write_atomic\n"
        "text = 'x' * (32 * 1024 * 1024)\ntarget = Path(sys.argv[1])\n"
        "write_atomic(target, text)\nprint('ready', flush=True)\n"
        "while True:\n    write_atomic(target, text)\n"
    )
    process = subprocess.Popen(
        [sys.executable, "-c", code, str(target)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert process.stdout is not None
        assert process.stdout.readline() == "ready\n"
        time.sleep(0.3)
        process.send_signal(signal.SIGINT)
    finally:
        _finish(process)
    assert process.returncode != 0  # KeyboardInterrupt ended it
    assert [p.name for p in tmp_path.iterdir()] == [target.name]
    assert target.stat().st_size == 32 * 1024 * 1024  # the old or the new file, whole


# --- host names (issue 16, item 6): everywhere a URL is checked ---------------------------------

LONG_HOST_URL = "https://" + "a" * 70_000
LABEL_64 = "a" * 64 + ".example"
NOT_A_HOST = "has a host that is not a DNS name or an IP address"


def _account_with(old: str, new: str) -> str:
    text = (REPO / "configs" / "account.yaml").read_text()
    assert old in text
    return text.replace(old, new, 1)


HOSTNAME_COMMANDS = {
    "render-incoming-url": (
        (
            "render-callback-url",
            "--incoming-url",
            LONG_HOST_URL,
            "--inbound-callback-url",
            "https://c.example.com/i",
        ),
        None,
        2,
        f"incoming URL {NOT_A_HOST}",
    ),
    "render-inbound-url": (
        (
            "render-callback-url",
            "--incoming-url",
            "https://wa.example.com/in",
            "--inbound-callback-url",
            f"https://{LABEL_64}/inbound",
        ),
        None,
        2,
        f"inbound callback URL {NOT_A_HOST}",
    ),
    "config-endpoint": (
        ("validate-config", "-"),
        _account_with("https://ct-adapter.example.com/whatsapp", LONG_HOST_URL),
        1,
        f"KC105 endpoint 'https://{'a' * 91}…' {NOT_A_HOST}",
    ),
    "config-callback-header": (
        ("validate-config", "-"),
        _account_with("https://us1.example-clevertap.com/wa/dlr/xyz", f"https://{LABEL_64}/d"),
        1,
        f"KC203 header 'delivery-report-callback-url' {NOT_A_HOST}",
    ),
    "config-kaleyra-host": (
        ("validate-config", "-"),
        _account_with("kaleyra-host: https://api.kaleyra.io/", "kaleyra-host: https://1.2.3/"),
        1,
        f"KC203 header 'kaleyra-host' {NOT_A_HOST}",
    ),
}


@pytest.mark.parametrize(
    ("args", "stdin", "exit_code", "says"), HOSTNAME_COMMANDS.values(), ids=HOSTNAME_COMMANDS.keys()
)
def test_a_host_that_is_no_host_name_is_refused(
    kctl: Kctl, args: tuple[str, ...], stdin: str | None, exit_code: int, says: str
) -> None:
    result = kctl(*args, input=stdin)
    assert result.exit_code == exit_code, result
    assert says in result.stdout + result.stderr
    assert len(result.stdout + result.stderr) < 2_000  # the 70,000 characters are not echoed


def test_the_transport_refuses_a_host_that_is_no_host_name_before_any_lookup() -> None:
    from kctl.send.transport import send
    from kctl.send.wire import Request

    request = Request("POST", f"https://{'a' * 64}.invalid/x", (), b"", "text/plain")
    with pytest.raises(UsageError, match="the host is not a DNS name or an IP address"):
        send(request, retries=0)


@pytest.mark.parametrize(
    ("url", "says"),
    [
        (f"http://{LABEL_64}/dlr", "the host is not a DNS name or an IP address"),
        ("http://" + "a" * 70_000 + "/dlr", "the host is not a DNS name or an IP address"),
        ("http://a\x00b:9/dlr", "a space or control character before its path"),
        ("http://127.0.0.1\x01:9/dlr", "a space or control character before its path"),
        ("\x01http://127.0.0.1:9/dlr", "not an absolute http(s) URL"),
    ],
)
def test_the_sandbox_posts_no_report_to_a_url_that_is_no_url(url: str, says: str) -> None:
    from kctl.servers.callbacks import callback_refusal

    # even where external callbacks are allowed, nothing reaches the resolver
    assert says in (callback_refusal(url, allow_external=True) or "")


# --- the sandbox (issue 16, item 7) ---------------------------------------------------------------


def test_a_control_character_in_a_direct_callback_url_is_refused_in_one_line() -> None:
    process = _kctl_process("sandbox", "--port", "0", "--allow-external-callbacks")
    refusal = "not a valid URL: a space or control character before its path"
    lines: list[str] = []
    assert process.stdout is not None
    assert process.stderr is not None
    stderr = process.stderr
    # a reader thread: select() on a buffered pipe misses lines already in its buffer
    reader = threading.Thread(target=lambda: lines.extend(iter(stderr.readline, "")), daemon=True)
    reader.start()
    try:
        port = int(process.stdout.readline().rsplit(":", 1)[1])  # the sandbox prints its URL
        reply = httpx.post(
            f"http://127.0.0.1:{port}/v1/HXSID/messages",
            headers={"api-key": "k"},
            data={
                "to": "+14155550123",
                "sender": "ACME",
                "body": "hi",
                "type": "TXN",
                "callback_url": "http://a\x00b:9/dlr",
            },
            timeout=10,
        )
        assert reply.status_code == 202, reply.text  # accepted: the callback is refused later
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and not any(refusal in line for line in list(lines)):
            time.sleep(0.05)
        process.send_signal(signal.SIGINT)
        process.wait(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        reader.join(timeout=5)
        process.stdout.close()
        stderr.close()
    log = "".join(lines)
    assert sum(refusal in line for line in lines) == 1, log  # refused, in one line
    for crash in ("Traceback", "Task exception", "Error("):
        assert crash not in log


def test_the_sandbox_takes_json_only_as_utf8() -> None:
    from kctl.servers.http import HttpServer
    from kctl.servers.sandbox import Sandbox

    payload = {
        "payloadVersion": "0.1",
        "msgId": "1|2|3|4",
        "to": "919812345678",
        "wabaNumber": "919876543210",
        "isTemplate": True,
        "template": {"namespace": "t", "languageCode": "en"},
        "components": [{"type": "body", "body": {"text": "hi", "parameters": []}}],
    }
    headers = {
        "api-key": "k",
        "sid": "s",
        "kaleyra-host": "https://api.kaleyra.io/",
        "inbound-message-callback-url": "http://127.0.0.1:9/in",
        "delivery-report-callback-url": "http://127.0.0.1:9/dlr",
        "content-type": "application/json",
    }
    with HttpServer(Sandbox(dlr_delay=60)).start_in_thread() as server:
        replies = {
            encoding: httpx.post(
                f"{server.url}/whatsapp",
                content=json.dumps(payload).encode(encoding),
                headers=headers,
                timeout=10,
            )
            for encoding in ("utf-8", "utf-16", "utf-32")
        }
    assert replies["utf-8"].json() == {"status": "success"}, replies["utf-8"].text
    for encoding in ("utf-16", "utf-32"):
        assert replies[encoding].status_code == 400
        assert replies[encoding].json()["error"]["message"] == "body is not UTF-8"


def test_a_lone_surrogate_is_a_finding_on_either_path() -> None:
    # JSON's "\\ud800" decodes to one; no UTF-8 holds it, so neither parser can read the text
    doc = load_text("x.yaml", "a: 1\nb: x\ud800y\n")
    assert doc.root is None
    assert [(f.code, f.line, f.col) for f in doc.findings] == [("KC001", 2, 5)]
    assert "U+D800" in doc.findings[0].message
