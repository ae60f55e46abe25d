"""The main job end to end on loopback: send-test --sandbox --wait-dlr, for both channels and
every magic recipient, plus the sandbox and listen commands as processes."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import httpx
import keyring
import pytest

from kctl.config.model import load_account
from kctl.send.build import Message, build_request
from kctl.send.whatsapp import TemplateValues
from kctl.send.wire import Via
from tests.support import REPO, Kctl

WHATSAPP = str(REPO / "configs" / "whatsapp.yaml")
SMS = str(REPO / "configs" / "sms-india.yaml")
WA_ARGS = ("-c", WHATSAPP, "-t", "order_update", "--param", "Asha", "--param", "1234")
SMS_ARGS = ("-c", SMS, "-t", "otp_login", "--param", "482913")


def sandbox_send(kctl: Kctl, args: tuple[str, ...], to: str, *extra: str) -> tuple[int, str]:
    # no secrets in the environment: the sandbox needs none
    env: dict[str, str | None] = {"KALEYRA_API_KEY": None}
    # no --force: the magic recipients are outside test_recipients, and the sandbox sends
    # nothing anywhere, so it needs none (issue 15)
    result = kctl("send-test", "--sandbox", "--to", to, *args, *extra, env=env)
    assert "Traceback" not in result.stderr, result
    return result.exit_code, result.stdout + result.stderr


@pytest.mark.parametrize("args", [WA_ARGS, SMS_ARGS], ids=["whatsapp", "sms"])
def test_delivered_report_closes_the_loop(kctl: Kctl, args: tuple[str, ...]) -> None:
    code, output = sandbox_send(kctl, args, "+919812345678", "--wait-dlr", "10")
    assert code == 0, output
    assert "✓ accepted" in output
    assert "delivery report after" in output
    assert output.rstrip().splitlines()[-1].startswith("✓ delivered")


# The done-when checks: each WhatsApp shape end to end through the embedded sandbox,
# which holds the config's templates as the approved ones, so a payload that does not fit its
# template would be refused (exit 5) rather than delivered.
WA_SHAPES = {
    "text header with a parameter and a dynamic URL": (
        "-t", "shipment_tracking", "--param", "Asha", "--header-param", "AB12",
        "--url-suffix", "AB12",
    ),
    "image header, copy-code and URL buttons, limited time offer": (
        "-t", "festive_offer", "--param", "Asha", "--param", "Sunday",
        "--media-url", "https://cdn.example.com/diwali.png", "--coupon-code", "BOGO24",
        "--offer-expiry", "+2h",
    ),
    "carousel": (
        "-t", "spring_picks", "--param", "Asha", "--card-param", "1=1999",
        "--card-param", "2=2999", "--card-url-suffix", "1=sneakers", "--card-url-suffix",
        "2=boots",
    ),
    "freeform image": (
        "--image", "https://cdn.example.com/parcel.jpg", "--caption", "Your parcel",
    ),
}  # fmt: skip


@pytest.mark.parametrize("args", list(WA_SHAPES.values()), ids=list(WA_SHAPES))
def test_every_whatsapp_shape_is_delivered_through_the_sandbox(
    kctl: Kctl, args: tuple[str, ...]
) -> None:
    code, output = sandbox_send(kctl, ("-c", WHATSAPP, *args), "+919812345678", "--wait-dlr", "10")
    assert code == 0, output
    assert "✓ accepted" in output
    assert output.rstrip().splitlines()[-1].startswith("✓ delivered")


def test_the_sandbox_saw_each_send_time_value(kctl: Kctl) -> None:
    args = (
        "-c",
        WHATSAPP,
        *WA_SHAPES["image header, copy-code and URL buttons, limited time offer"],
    )
    code, output = sandbox_send(kctl, args, "+919812345678", "--wait-dlr", "10", "--json")
    doc = json.loads(output[: output.rindex("}") + 1])
    assert code == 0, output
    assert doc["outcome"]["accepted"] is True
    assert doc["delivery_report"]["status"] == "delivered"
    components = {c.get("type"): c for c in doc["request"]["body"]["components"]}
    assert (
        components["header"]["header"]["image"]["mediaURL"] == "https://cdn.example.com/diwali.png"
    )
    offer = components["limited_time_offer"]["parameters"][0]["limited_time_offer"]
    assert offer["expiration_time_ms"] > 0


@pytest.mark.parametrize("args", [WA_ARGS, SMS_ARGS], ids=["whatsapp", "sms"])
@pytest.mark.parametrize(
    ("to", "exit_code", "words"),
    [
        ("+919812340429", 6, "429"),
        ("+919812340500", 6, "500"),
        ("+919812342002", 5, "2002"),
        ("+919812341006", 7, "✗ failed"),
    ],
)
def test_magic_recipients(
    kctl: Kctl, args: tuple[str, ...], to: str, exit_code: int, words: str
) -> None:
    code, output = sandbox_send(kctl, args, to, "--wait-dlr", "10", "--retries", "0")
    assert code == exit_code, output
    assert words in output


def test_json_document_carries_the_delivery_report(kctl: Kctl) -> None:
    code, output = sandbox_send(kctl, WA_ARGS, "+919812341006", "--wait-dlr", "10", "--json")
    doc = json.loads(output[: output.rindex("}") + 1])
    assert code == 7
    assert doc["exit_code"] == 7
    assert doc["outcome"]["accepted"] is True
    report = doc["delivery_report"]
    assert report["status"] == "failed"
    assert report["code"] == "1006"


def test_junit_report_for_ci(kctl: Kctl, tmp_path: Path) -> None:
    passed, failed = tmp_path / "ok.xml", tmp_path / "bad.xml"
    assert (
        sandbox_send(kctl, SMS_ARGS, "+919812345678", "--wait-dlr", "10", "--junit", str(passed))[0]
        == 0
    )
    assert sandbox_send(kctl, SMS_ARGS, "+919812342002", "--junit", str(failed))[0] == 5
    ok = ET.parse(passed).getroot()
    assert ok.get("failures") == "0"
    bad = ET.parse(failed).getroot()
    assert bad.get("failures") == "1"
    failure = bad.find("testsuite/testcase/failure")
    assert failure is not None
    assert "2002" in (failure.get("message") or "")


@pytest.mark.usefixtures("file_keyring")
def test_wait_dlr_times_out_with_exit_7_when_no_report_comes(kctl: Kctl, tmp_path: Path) -> None:
    # an adapter stand-in that accepts but never reports: the listener waits in vain
    from tests.servers import Reply, serve

    keyring.set_password("kctl", "kaleyra/api-key", "k-123456789")
    with serve(lambda _r: Reply.json({"status": "success"})) as adapter:
        config = tmp_path / "c.yaml"
        config.write_text(
            Path(WHATSAPP)
            .read_text()
            .replace("https://ct-adapter.example.com/whatsapp", adapter.url("/whatsapp"))
        )
        result = kctl(
            "send-test",
            "-c",
            str(config),
            "--to",
            "+919812345678",
            "-t",
            "order_update",
            "--param",
            "A",
            "--param",
            "B",
            "--wait-dlr",
            "0.5",
        )
        (arrived,) = adapter.requests
    assert result.exit_code == 7, result
    assert "no delivery report within 0.5 s" in result.stdout
    # the callback header was pointed at kctl's own listener on loopback, and kctl said so
    # before sending, naming the config's URL it replaced
    callback = arrived.header("delivery-report-callback-url") or ""
    assert callback.startswith("http://127.0.0.1:")
    listener = callback.removesuffix("/whatsapp/dlr")
    note = result.stdout.split("POST ", 1)[0]
    assert (
        f"note: --wait-dlr: for this send the callbacks point at kctl's listener, {listener}"
        in note
    )
    assert "delivery-report-callback-url: https://in1.example-clevertap.com/wa/dlr/abc" in note
    # and the timeout says where the report was expected, and what to try
    assert f"hint: the report had to come to {listener}" in result.stdout
    assert "--listen-url" in result.stdout


@pytest.mark.parametrize("via", ["adapter", "direct"])
def test_wait_dlr_refuses_a_sender_that_cannot_reach_the_listener(kctl: Kctl, via: str) -> None:
    # ct-adapter.example.com (and api.kaleyra.io) would post the report to 127.0.0.1 of their
    # own machine: nothing would ever come, so nothing is sent
    result = kctl(
        "send-test", "--to", "+919812345678", *WA_ARGS, "--via", via, "--wait-dlr", "5",
        env={"KALEYRA_API_KEY": None},
    )  # fmt: skip
    assert result.exit_code == 2, result
    assert "cannot reach kctl's listener on 127.0.0.1" in result.stderr
    assert "hint: pass --listen-url" in result.stderr
    assert "POST" not in result.stdout


def _start(args: list[str]) -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "kctl", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert process.stdout is not None
    # SPEC 2: the base URL is the first line on stdout, so --port 0 is usable from a script
    url = process.stdout.readline().strip()
    assert url.startswith("http://127.0.0.1:"), url
    return process, url


def _post_whatsapp(sandbox_url: str, payload: dict[str, Any]) -> dict[str, Any]:
    reply = httpx.post(
        f"{sandbox_url}/whatsapp",
        headers={
            "api-key": "k",
            "sid": "s",
            "kaleyra-host": sandbox_url + "/",
            "inbound-message-callback-url": "http://127.0.0.1:9/in",
            "delivery-report-callback-url": "http://127.0.0.1:9/dlr",
        },
        json=payload,
        timeout=10,
    )
    assert reply.status_code == 200
    answer = reply.json()
    assert isinstance(answer, dict)
    return answer


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def test_sandbox_with_a_config_refuses_unknown_and_paused_templates() -> None:
    sandbox, url = _start(
        [
            "sandbox",
            "--port",
            "0",
            "--config",
            WHATSAPP,
            "--template-status",
            "festive_offer=PAUSED",
        ]
    )
    provider = load_account(WHATSAPP).provider(None)

    def built(message: Message) -> dict[str, Any]:
        body = json.loads(build_request(provider, message, Via.ADAPTER).body)
        assert isinstance(body, dict)
        return body

    try:
        order = built(Message("+919812345678", "order_update", params=("Asha", "1234")))
        assert _post_whatsapp(url, order) == {"status": "success"}
        festive = built(
            Message(
                "+919812345678",
                "festive_offer",
                params=("Asha", "Sunday"),
                values=TemplateValues(coupon_code="BOGO24", offer_expiry_ms=1767225599000),
            )
        )
        paused = _post_whatsapp(url, festive)
        unknown = _post_whatsapp(
            url, {**order, "template": {"namespace": "nope", "languageCode": "en"}}
        )
    finally:
        _stop(sandbox)
    assert paused["status"] == "failure"
    assert paused["error"] == {
        "code": 2001,
        "message": "template festive_offer (en_US) is PAUSED, not APPROVED",
    }
    assert unknown["status"] == "failure"
    assert unknown["error"]["code"] == 2001
    assert "'nope' (en) is not approved" in unknown["error"]["message"]


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["--template-status", "festive_offer=PAUSED"], "goes with --config"),
        (["--config", WHATSAPP, "--template-status", "nope=PAUSED"], "names no WhatsApp template"),
    ],
)
def test_sandbox_template_status_needs_a_template_of_the_config(
    kctl: Kctl, args: list[str], words: str
) -> None:
    result = kctl("sandbox", "--port", "0", *args)
    assert result.exit_code == 2, result
    assert words in result.stderr


def test_sandbox_and_listen_commands_as_processes() -> None:
    sandbox, sandbox_url = _start(["sandbox", "--port", "0"])
    listener, listener_url = _start(
        ["listen", "--port", "0", "--json", "--count", "2", "--timeout", "30"]
    )
    try:
        reply = httpx.post(
            f"{sandbox_url}/whatsapp",
            headers={
                "api-key": "k",
                "sid": "s",
                "kaleyra-host": sandbox_url + "/",
                "inbound-message-callback-url": listener_url + "/in",
                "delivery-report-callback-url": listener_url + "/dlr",
            },
            json={
                "payloadVersion": 0.1,
                "msgId": "1|2|3|4",
                "to": "919812345678",
                "wabaNumber": "919876543210",
                "isTemplate": True,
                "template": {"namespace": "t", "languageCode": "en"},
                "components": [{"type": "body", "body": {"text": "hi", "parameters": []}}],
            },
            timeout=10,
        )
        assert reply.json() == {"status": "success"}
        out, _ = listener.communicate(timeout=30)  # exits by itself after --count 2
        statuses = [
            json.loads(line)["payload"]["statuses"][0]["status"] for line in out.splitlines()
        ]  # the URL line was read by _start
        assert statuses == ["sent", "delivered"]
        assert listener.returncode == 0
    finally:
        sandbox.send_signal(signal.SIGINT)
        try:
            sandbox.wait(timeout=10)
        finally:
            for process in (sandbox, listener):
                if process.poll() is None:
                    process.kill()
                    process.wait()
                for stream in (process.stdout, process.stderr):
                    if stream is not None:
                        stream.close()
    assert sandbox.returncode == 130  # Ctrl-C: a clean stop, the interrupted exit code
