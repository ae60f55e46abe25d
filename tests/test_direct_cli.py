"""send-test end to end for what SPEC 4.2 and 4.8 add: --via direct with --wait-dlr (Kaleyra's
own GET callbacks back to kctl's listener), and SMS custom replacements and
$$TemplateVariables through the adapter. Everything runs on 127.0.0.1."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from kctl.contract import kaleyra, sms
from kctl.servers.http import HttpServer, ServerThread
from kctl.servers.sandbox import Sandbox
from tests.servers import Reply, serve
from tests.support import REPO, Kctl, Result

WHATSAPP = str(REPO / "configs" / "whatsapp.yaml")
SMS = str(REPO / "configs" / "sms-india.yaml")
WA_ARGS = ("-c", WHATSAPP, "-t", "order_update", "--param", "Asha", "--param", "1234")
SMS_ARGS = ("-c", SMS, "-t", "otp_login", "--param", "482913")
KALEYRA_ID = re.compile(kaleyra.MESSAGE_ID_PATTERN[1:-1])
NO_SECRETS: dict[str, str | None] = {"KALEYRA_API_KEY": None}


def run(kctl: Kctl, *args: str, env: dict[str, str | None] | None = None) -> Result:
    result = kctl("send-test", *args, env=env if env is not None else NO_SECRETS)
    assert "Traceback" not in result.stderr, result
    return result


def document(result: Result) -> dict[str, Any]:
    data = json.loads(result.stdout)
    assert isinstance(data, dict)
    return data


# --- direct mode with --wait-dlr ------------------------------------------------------------------


@pytest.mark.parametrize("args", [WA_ARGS, SMS_ARGS], ids=["whatsapp", "sms"])
def test_direct_send_ends_delivered_in_the_sandbox(kctl: Kctl, args: tuple[str, ...]) -> None:
    result = run(
        kctl, "--sandbox", "--via", "direct", "--wait-dlr", "10", "--to", "+919812345678", *args
    )
    assert result.exit_code == 0, result
    assert "HTTP/1.1 202 Accepted" in result.stdout
    waiting = re.search(r"waiting up to 10 s for the delivery report of (\S+)", result.stdout)
    assert waiting is not None, result
    assert KALEYRA_ID.fullmatch(waiting.group(1))
    assert result.stdout.rstrip().splitlines()[-1] == "✓ delivered"


@pytest.mark.parametrize("args", [WA_ARGS, SMS_ARGS], ids=["whatsapp", "sms"])
def test_direct_json_document_carries_kaleyras_id_and_report(
    kctl: Kctl, args: tuple[str, ...]
) -> None:
    result = run(
        kctl,
        "--sandbox",
        "--via",
        "direct",
        "--wait-dlr",
        "10",
        "--json",
        "--to",
        "+919812345678",
        *args,
    )
    assert result.exit_code == 0, result
    doc = document(result)
    message_id = doc["outcome"]["message_id"]
    assert message_id == doc["response"]["body"]["id"]
    report = doc["delivery_report"]
    assert (report["received"], report["status"]) == (True, "delivered")
    assert report["report"]["kind"] == "kaleyra-status"
    assert report["report"]["method"] == "GET"
    assert report["report"]["payload"]["id"] == message_id
    body = doc["request"]["body"]
    callback = body.get("callback_url") or json.loads(body["callback"])["url"]
    assert callback.startswith("http://127.0.0.1:")
    assert callback.endswith("/kaleyra")


@pytest.mark.parametrize("args", [WA_ARGS, SMS_ARGS], ids=["whatsapp", "sms"])
@pytest.mark.parametrize(
    ("to", "exit_code", "words"),
    [
        ("+919812341006", 7, "✗ failed"),
        ("+919812340429", 6, "429"),
        ("+919812342002", 5, "400"),
    ],
)
def test_direct_magic_recipients(
    kctl: Kctl, args: tuple[str, ...], to: str, exit_code: int, words: str
) -> None:
    result = run(
        kctl,
        "--sandbox",
        "--force",
        "--via",
        "direct",
        "--wait-dlr",
        "10",
        "--retries",
        "0",
        "--to",
        to,
        *args,
    )
    assert result.exit_code == exit_code, result
    assert words in result.stdout + result.stderr


@pytest.fixture
def kaleyra_stand_in() -> Iterator[ServerThread]:
    """The sandbox as a separate server standing in for Kaleyra's API, as a config's
    kaleyra-host would name it; send-test then starts its own listener, not the sandbox's."""
    with HttpServer(Sandbox(api_key="k-123456789", dlr_delay=0.01)).start_in_thread() as server:
        yield server


def sms_config_for(tmp_path: Path, kaleyra_host: str) -> str:
    """The example SMS config with its kaleyra-host pointed at a loopback server."""
    config = tmp_path / "sms.yaml"
    config.write_text(
        Path(SMS).read_text("utf-8").replace("https://api.in.kaleyra.io/", kaleyra_host)
    )
    return str(config)


# a direct send to +919812345678 that waits up to 10 s for its delivery report
DIRECT_WAIT = ("--via", "direct", "--wait-dlr", "10", "--to", "+919812345678")


def test_direct_wait_dlr_against_kaleyras_api_outside_the_sandbox(
    kctl: Kctl, tmp_path: Path, kaleyra_stand_in: ServerThread
) -> None:
    result = run(
        kctl,
        "-c",
        sms_config_for(tmp_path, kaleyra_stand_in.url + "/"),
        *DIRECT_WAIT,
        "-t",
        "otp_login",
        "--param",
        "482913",
        env={"KALEYRA_API_KEY": "k-123456789"},
    )
    assert result.exit_code == 0, result
    assert result.stdout.rstrip().splitlines()[-1] == "✓ delivered"
    assert "k-123456789" not in result.stdout + result.stderr


def test_direct_wait_dlr_without_an_id_in_the_reply_cannot_match_a_report(
    kctl: Kctl, tmp_path: Path
) -> None:
    with serve(lambda _r: Reply.json({"error": {}}, status=202)) as api:
        result = run(
            kctl,
            "-c",
            sms_config_for(tmp_path, api.url("/")),
            *DIRECT_WAIT,
            "--body",
            "hi",
            "--json",
            env={"KALEYRA_API_KEY": "k-123456789"},
        )
    assert result.exit_code == 7, result
    assert document(result)["outcome"]["accepted"] is True


def test_wait_dlr_goes_with_a_real_send(kctl: Kctl) -> None:
    result = run(kctl, "--dry-run", "--wait-dlr", "5", "--to", "+919812345678", *SMS_ARGS)
    assert result.exit_code == 2
    assert "--wait-dlr goes with a real send" in result.stderr


# --- SMS replacements end to end ------------------------------------------------------------------


@pytest.fixture
def custom_config(tmp_path: Path) -> str:
    text = Path(SMS).read_text("utf-8")
    text = text.replace(
        "      long_url: $$LongURL\n",
        "      long_url: $$LongURL\n      variables: $$TemplateVariables\n      hid: $$hid\n",
    ).replace("message_type: TXN", "message_type: Default")
    path = tmp_path / "custom.yaml"
    path.write_text(text, "utf-8")
    return str(path)


def test_custom_replacement_and_template_variables_reach_the_sandbox_and_come_back_delivered(
    kctl: Kctl, custom_config: str
) -> None:
    result = run(
        kctl,
        "--sandbox",
        "--wait-dlr",
        "10",
        "--json",
        "-c",
        custom_config,
        "--to",
        "+919812345678",
        "-t",
        "order_shipped",
        "--param",
        "A-1042",
        "--param",
        "Friday, 5 pm",
        "--var",
        "hid=123",
    )
    assert result.exit_code == 0, result
    doc = document(result)
    body = doc["request"]["body"]
    assert body["hid"] == "123"
    assert json.loads(body["variables"]) == ["A-1042", "Friday, 5 pm"]
    assert body["type"] == "TXN"  # the template's own type wins over the provider's Default
    assert sms.is_message_id(body["message_id"])
    report = doc["delivery_report"]
    assert (report["status"], report["report"]["kind"]) == ("delivered", "sms-dlr")
    assert report["report"]["payload"][0]["data"][0]["meta"] == body["message_id"]


def test_a_missing_custom_value_is_a_usage_error_naming_the_flag(
    kctl: Kctl, custom_config: str
) -> None:
    result = run(kctl, "--sandbox", "-c", custom_config, "--to", "+919812345678", "--body", "hi")
    assert result.exit_code == 2, result
    assert "$$hid" in result.stderr
    assert "--var hid=VALUE" in result.stderr
