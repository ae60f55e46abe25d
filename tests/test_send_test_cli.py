"""send-test end to end: exact bytes on the wire, printout, masking, and every exit code.

Every request goes to a real HTTP server on 127.0.0.1 (tests/servers.py).
"""

from __future__ import annotations

import base64
import json
import re
import socket
from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring

from tests.servers import Reply, TestServer, serve
from tests.support import REPO, Kctl, Result

API_KEY = "CANARY-api-key-5f2e9d1c7b"
SMS_PASSWORD = "CANARY-sms-pass-0a1b2c3d"
SUCCESS = Reply.json({"status": "success"})

WHATSAPP = """\
version: 1
providers:
  - nickname: WA
    channel: whatsapp
    endpoint: {origin}/whatsapp
    business_number: "+919876543210"
    headers:
      api-key: ${{KCTL_TEST_API_KEY}}
      sid: HXIN1234567890
      kaleyra-host: {origin}/
      inbound-message-callback-url: {origin}/wa/inbound
      delivery-report-callback-url: {origin}/wa/dlr
    test_recipients: ["+919812345678", "+919812340429"]
    templates:
      - name: order_update
        language: en
        header: {{type: text, text: "Order update"}}
        body: "Hi {{{{1}}}}, your order {{{{2}}}} has shipped."
"""

SMS = """\
version: 1
providers:
  - nickname: SMS
    channel: sms
    endpoint: {origin}/sms
    auth: {{type: basic, username: clevertap, password: "${{keyring:kaleyra/sms-pass}}"}}
    headers:
      api-key: ${{KCTL_TEST_API_KEY}}
      sid: HXIN1234567890
      kaleyra-host: {origin}/
      callback_url: {origin}/sms/dlr
    parameters:
      to: $$To
      sender: $$Sender
      body: $$Body
      template_id: $$TemplateID
      message_id: $$MessageID
      campaign_id: $$CampaignID
      type: $$TYPE
    sender: KLRHXA
    message_type: TXN
    templates:
      - name: otp_login
        body: "Your login OTP is {{#var#}}. - ACME"
        dlt_template_id: "1207161234567890123"
        type: OTP
"""


@pytest.fixture
def server() -> Iterator[TestServer]:
    with serve(lambda _request: SUCCESS) as running:
        yield running


@pytest.fixture
def secrets(file_keyring: PlaintextKeyring) -> dict[str, str | None]:
    keyring.set_password("kctl", "kaleyra/sms-pass", SMS_PASSWORD)
    return {"KCTL_TEST_API_KEY": API_KEY}


def config(tmp_path: Path, template: str, origin: str) -> str:
    path = tmp_path / "provider.yaml"
    path.write_text(template.format(origin=origin))
    return str(path)


def assert_no_secret(result: Result) -> None:
    for secret in (API_KEY, SMS_PASSWORD):
        assert secret not in result.stdout + result.stderr, result


def send(kctl: Kctl, env: dict[str, str | None], *args: str) -> Result:
    result = kctl("send-test", *args, env=env)
    assert_no_secret(result)
    return result


WA_ARGS = (
    "--to",
    "+919812345678",
    "--template",
    "order_update",
    "--param",
    "Asha",
    "--param",
    "1234",
)


def test_whatsapp_adapter_sends_exactly_what_clevertap_sends(
    kctl: Kctl, tmp_path: Path, server: TestServer, secrets: dict[str, str | None]
) -> None:
    cfg = config(tmp_path, WHATSAPP, server.origin)
    result = send(kctl, secrets, "--config", cfg, *WA_ARGS)
    assert result.exit_code == 0, result
    (arrived,) = server.requests
    assert (arrived.method, arrived.path) == ("POST", "/whatsapp")
    assert arrived.header("api-key") == API_KEY
    assert arrived.header("Content-Type") == "application/json"
    config_headers = [
        "api-key",
        "sid",
        "kaleyra-host",
        "inbound-message-callback-url",
        "delivery-report-callback-url",
    ]
    names = [n.lower() for n in arrived.header_names()]
    assert [n for n in names if n in config_headers] == config_headers
    body = arrived.json()
    msg_id = body.pop("msgId")
    # CleverTap's shape: four groups of digits joined by "|"
    assert re.fullmatch(r"[0-9]{8}\|[0-9]{10}\|20[0-9]{6}\|[0-9]{8}", msg_id), msg_id
    assert body == {
        "payloadVersion": 0.1,
        "to": "919812345678",
        "wabaNumber": "919876543210",
        "isTemplate": True,
        "template": {"namespace": "order_update", "languageCode": "en"},
        "components": [
            {"type": "header", "header": {"type": "text", "text": {"text": "Order update"}}},
            {
                "type": "body",
                "body": {
                    "text": "Hi Asha, your order 1234 has shipped.",
                    "parameters": [
                        {"type": "text", "text": "Asha"},
                        {"type": "text", "text": "1234"},
                    ],
                },
            },
        ],
    }
    out = result.stdout
    assert f"POST {server.origin}/whatsapp" in out
    assert "api-key: ****1c7b" in out  # the mask shows the last four characters
    assert f"message id: {msg_id}" in out
    assert "HTTP/1.1 200 OK" in out
    assert '"status": "success"' in out
    assert "✓ accepted" in out


def test_sms_adapter_sends_form_fields_and_basic_auth(
    kctl: Kctl, tmp_path: Path, server: TestServer, secrets: dict[str, str | None]
) -> None:
    cfg = config(tmp_path, SMS, server.origin)
    result = send(
        kctl,
        secrets,
        "--config",
        cfg,
        "--to",
        "+919812345678",
        "--template",
        "otp_login",
        "--param",
        "482913",
    )
    assert result.exit_code == 0, result
    (arrived,) = server.requests
    assert arrived.header("Content-Type") == "application/x-www-form-urlencoded"
    expected_auth = base64.b64encode(f"clevertap:{SMS_PASSWORD}".encode()).decode()
    assert arrived.header("Authorization") == f"Basic {expected_auth}"
    assert arrived.header("callback_url") == f"{server.origin}/sms/dlr"
    form = dict(arrived.form())
    message_id = form.pop("message_id")
    assert form == {
        "to": "919812345678",
        "sender": "KLRHXA",
        "body": "Your login OTP is 482913. - ACME",
        "template_id": "1207161234567890123",
        "campaign_id": "kctl-test",
        "type": "OTP",
    }
    assert f"message id: {message_id}" in result.stdout
    assert expected_auth not in result.stdout


def test_sms_free_text_leaves_out_empty_parameters(
    kctl: Kctl, tmp_path: Path, server: TestServer, secrets: dict[str, str | None]
) -> None:
    cfg = config(tmp_path, SMS, server.origin)
    result = send(
        kctl,
        secrets,
        "--config",
        cfg,
        "--to",
        "+14155550123",
        "--body",
        "Hello & bye",
        "--type",
        "mkt",
    )
    assert result.exit_code == 0, result
    form = dict(server.requests[0].form())
    assert "template_id" not in form
    assert form["body"] == "Hello & bye"
    assert form["type"] == "MKT"


def test_direct_mode_calls_kaleyras_api(
    kctl: Kctl, tmp_path: Path, server: TestServer, secrets: dict[str, str | None]
) -> None:
    server.enqueue(Reply.json({"id": "c0ffee:1", "error": {}}))
    cfg = config(tmp_path, WHATSAPP, server.origin)
    result = send(kctl, secrets, "--config", cfg, "--via", "direct", *WA_ARGS)
    assert result.exit_code == 0, result
    (arrived,) = server.requests
    assert arrived.path == "/v1/HXIN1234567890/messages"
    assert arrived.header("api-key") == API_KEY
    assert [n.lower() for n in arrived.header_names()].count("sid") == 0
    assert arrived.form() == [
        ("channel", "whatsapp"),
        ("from", "+919876543210"),
        ("to", "+919812345678"),
        ("type", "template"),
        ("template_name", "order_update"),
        ("params", "Asha,1234"),
        ("lang_code", "en"),
    ]


def test_dry_run_sends_nothing_and_needs_no_secret(
    kctl: Kctl, tmp_path: Path, server: TestServer
) -> None:
    cfg = config(tmp_path, SMS, server.origin)
    result = kctl(
        "send-test",
        "--config",
        cfg,
        "--to",
        "+14155550123",
        "--body",
        "hi",
        "--dry-run",
        env={"KCTL_TEST_API_KEY": None},
    )
    assert result.exit_code == 0, result
    assert server.requests == []
    assert "api-key: ${KCTL_TEST_API_KEY}" in result.stdout
    assert "dry run: nothing was sent" in result.stdout


def test_curl_export_runs_without_exposing_secrets(
    kctl: Kctl, tmp_path: Path, server: TestServer, secrets: dict[str, str | None]
) -> None:
    cfg = config(tmp_path, SMS, server.origin)
    result = send(
        kctl,
        secrets,
        "--config",
        cfg,
        "--to",
        "+14155550123",
        "--body",
        "hi",
        "--dry-run",
        "--curl",
    )
    assert "-H 'api-key: '\"${KCTL_TEST_API_KEY}\"" in result.stdout
    assert '-u clevertap:"$(kctl secrets get kaleyra/sms-pass --show-secrets)"' in result.stdout


def test_show_secrets_is_the_only_way_to_see_them(
    kctl: Kctl, tmp_path: Path, server: TestServer, secrets: dict[str, str | None]
) -> None:
    cfg = config(tmp_path, WHATSAPP, server.origin)
    result = kctl("send-test", "--config", cfg, *WA_ARGS, "--show-secrets", env=secrets)
    assert result.exit_code == 0
    assert f"api-key: {API_KEY}" in result.stdout


def test_json_is_one_masked_document(
    kctl: Kctl, tmp_path: Path, server: TestServer, secrets: dict[str, str | None]
) -> None:
    cfg = config(tmp_path, WHATSAPP, server.origin)
    result = send(kctl, secrets, "--config", cfg, *WA_ARGS, "--json")
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 0
    assert doc["outcome"]["accepted"] is True
    assert doc["request"]["headers"]["api-key"] == "****1c7b"
    assert doc["request"]["body"]["to"] == "919812345678"
    assert doc["response"]["status"] == 200
    assert doc["response"]["body"] == {"status": "success"}


@pytest.mark.parametrize(
    ("reply", "exit_code", "words"),
    [
        (Reply.json({"status": "failure", "error": {"code": 2002, "message": "bad"}}), 5, "2002"),
        (Reply.json({"status": "failure", "error": {"code": 2000, "message": "no"}}), 5, "2000"),
        (Reply.json({"message": "unauthorized"}, status=401), 5, "401"),
        (Reply.json({"message": "boom"}, status=500), 6, "500"),
        (Reply.json({"message": "slow down"}, status=429), 6, "429"),
        (Reply.text("<html><body>Bad Gateway</body></html>", 502, "text/html"), 6, "502"),
    ],
)
def test_provider_answers_map_to_exit_codes(
    kctl: Kctl,
    tmp_path: Path,
    secrets: dict[str, str | None],
    reply: Reply,
    exit_code: int,
    words: str,
) -> None:
    with serve(lambda _request: reply) as server:
        cfg = config(tmp_path, WHATSAPP, server.origin)
        result = send(kctl, secrets, "--config", cfg, *WA_ARGS, "--retries", "0")
    assert result.exit_code == exit_code, result
    assert words in result.stdout
    assert "✗" in result.stdout


def test_connection_refused_exits_4_after_printing_the_request(
    kctl: Kctl, tmp_path: Path, secrets: dict[str, str | None]
) -> None:
    with socket.socket() as probe:  # a loopback port with nothing listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cfg = config(tmp_path, WHATSAPP, f"http://127.0.0.1:{port}")
    result = send(kctl, secrets, "--config", cfg, *WA_ARGS, "--retries", "0")
    assert result.exit_code == 4, result
    assert f"POST http://127.0.0.1:{port}/whatsapp" in result.stdout
    assert "refused" in result.stderr
    assert "Traceback" not in result.stderr


def test_timeout_exits_4(kctl: Kctl, tmp_path: Path, secrets: dict[str, str | None]) -> None:
    with serve(lambda _request: Reply.json({"status": "success"}).__class__(delay=2.0)) as server:
        cfg = config(tmp_path, WHATSAPP, server.origin)
        result = send(kctl, secrets, "--config", cfg, *WA_ARGS, "--timeout", "0.3")
    assert result.exit_code == 4, result


def test_unresolved_secret_exits_3(kctl: Kctl, tmp_path: Path, server: TestServer) -> None:
    cfg = config(tmp_path, WHATSAPP, server.origin)
    result = kctl("send-test", "--config", cfg, *WA_ARGS, env={"KCTL_TEST_API_KEY": None})
    assert result.exit_code == 3, result
    assert "KCTL_TEST_API_KEY" in result.stderr
    assert server.requests == []


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (
            ("--to", "+919812345678", "--template", "order_update", "--param", "only-one"),
            "2 placeholder",
        ),
        (
            ("--to", "+919800000000", "--template", "order_update", "--param", "a", "--param", "b"),
            "test_recipients",
        ),
        (("--to", "9812345678", "--template", "order_update"), "E.164"),
        (("--to", "+919812345678", "--template", "nope"), "no template 'nope'"),
        (
            ("--to", "+919812345678", "--template", "order_update", "--provider", "X"),
            "no provider 'X'",
        ),
    ],
)
def test_usage_problems_exit_2_and_send_nothing(
    kctl: Kctl,
    tmp_path: Path,
    server: TestServer,
    secrets: dict[str, str | None],
    args: tuple[str, ...],
    words: str,
) -> None:
    cfg = config(tmp_path, WHATSAPP, server.origin)
    result = send(kctl, secrets, "--config", cfg, *args)
    assert result.exit_code == 2, result
    assert words in result.stderr
    assert server.requests == []


def test_force_sends_outside_the_allow_list(
    kctl: Kctl, tmp_path: Path, server: TestServer, secrets: dict[str, str | None]
) -> None:
    cfg = config(tmp_path, WHATSAPP, server.origin)
    result = send(
        kctl,
        secrets,
        "--config",
        cfg,
        "--to",
        "+919800000000",
        "--template",
        "order_update",
        "--param",
        "a",
        "--param",
        "b",
        "--force",
    )
    assert result.exit_code == 0, result
    assert server.requests[0].json()["to"] == "919800000000"


def test_config_with_errors_exits_1_and_sends_nothing(
    kctl: Kctl, tmp_path: Path, server: TestServer, secrets: dict[str, str | None]
) -> None:
    cfg = config(tmp_path, WHATSAPP.replace("{origin}/whatsapp", "ftp://x/whatsapp"), server.origin)
    result = send(kctl, secrets, "--config", cfg, *WA_ARGS)
    assert result.exit_code == 1, result
    assert "KC105" in result.stderr
    assert server.requests == []


def test_a_retry_is_shown_as_it_happens(
    kctl: Kctl, tmp_path: Path, server: TestServer, secrets: dict[str, str | None]
) -> None:
    busy = Reply.json({"message": "slow down"}, status=429, headers=(("Retry-After", "0"),))
    server.enqueue(busy, SUCCESS)
    result = send(kctl, secrets, "--config", config(tmp_path, WHATSAPP, server.origin), *WA_ARGS)
    assert result.exit_code == 0, result
    out = result.stdout
    assert "retrying in 0 s: HTTP 429 (Retry-After), attempt 2/3" in out
    # between the request and the reply that finally came
    assert out.index("message id:") < out.index("retrying in") < out.index("HTTP/1.1 200 OK")
    assert len(server.requests) == 2


ACCOUNT = str(REPO / "configs" / "account.yaml")


@pytest.mark.parametrize(
    ("args", "nickname"),
    [
        (("--body", "hello"), "Kaleyra_SMS"),
        (("--type", "OTP", "--body", "1234"), "Kaleyra_SMS"),
        (("-t", "appointment_reminder", "--param", "A", "--param", "B"), "Kaleyra_WA"),
        (("--text", "hi"), "Kaleyra_WA"),
    ],
)
def test_the_options_pick_the_provider_of_a_two_channel_account(
    kctl: Kctl, args: tuple[str, ...], nickname: str
) -> None:
    result = kctl("send-test", "-c", ACCOUNT, "--to", "+14155550123", *args, "--dry-run", "--json")
    assert result.exit_code == 0, result
    assert json.loads(result.stdout)["request"]["label"].endswith(f"provider {nickname}")


def test_an_account_with_nothing_to_go_by_still_asks(kctl: Kctl) -> None:
    result = kctl("send-test", "-c", ACCOUNT, "--to", "+14155550123", "--dry-run")
    assert result.exit_code == 2
    assert "say which with --provider" in result.stderr


def test_dry_run_curl_prints_the_curl_command_alone(kctl: Kctl) -> None:
    result = kctl(
        "send-test", "-c", str(REPO / "configs" / "sms-india.yaml"), "--to", "+919812345678",
        "-t", "otp_login", "--param", "482913", "--dry-run", "--curl",
    )  # fmt: skip
    assert result.exit_code == 0, result
    assert result.stdout.startswith("curl ")
    # one shell command: every line but the last continues with a backslash
    lines = result.stdout.rstrip("\n").splitlines()
    assert all(line.endswith("\\") for line in lines[:-1])
    assert not lines[-1].endswith("\\")


@pytest.mark.parametrize(
    ("number", "hint"),
    [
        # a national number: no country is guessed (+9812345678 would be an Iranian prefix)
        ("9812345678", "add '+' and the country code"),
        ("919812345678", "add a leading '+': +919812345678"),
        ("00919812345678", "write the international prefix 00 as '+': +919812345678"),
    ],
)
def test_the_e164_hint_never_guesses_a_country(kctl: Kctl, number: str, hint: str) -> None:
    result = kctl("send-test", "-c", ACCOUNT, "--to", number, "--body", "x", "--dry-run")
    assert result.exit_code == 2
    assert hint in result.stderr
    assert "+98" not in result.stderr
