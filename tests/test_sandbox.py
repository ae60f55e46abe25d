"""kctl sandbox (and the HTTP server under it), over real sockets on 127.0.0.1.

Each test starts the servers it needs on free ports in background threads and talks to them
with a synchronous httpx client, as ``send-test --sandbox`` will.
"""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from kctl.errors import UsageError
from kctl.servers.http import HttpRequest, HttpResponse, HttpServer, Limits, ServerThread
from kctl.servers.listener import FINAL_STATUSES, Listener
from kctl.servers.sandbox import Sandbox, local_pair
from tests.support import DELAY, Lines, SandboxFactory

REPO = Path(__file__).resolve().parent.parent
OK = "919812340000"


def wa_headers(callbacks: str, **changes: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {
        "api-key": "key-123",
        "sid": "HXSANDBOX0001",
        "kaleyra-host": "https://api.kaleyra.io/",
        "inbound-message-callback-url": f"{callbacks}/wa/inbound",
        "delivery-report-callback-url": f"{callbacks}/wa/dlr",
        **changes,
    }
    return {k: v for k, v in headers.items() if v is not None}


def wa_payload(to: str = OK, msg_id: str = "kctl-wa-1") -> dict[str, Any]:
    return {
        "payloadVersion": 0.1,
        "msgId": msg_id,
        "to": to,
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


def sms_headers(callbacks: str, **changes: str | None) -> dict[str, str]:
    headers: dict[str, str | None] = {
        "api-key": "key-123",
        "sid": "HXSANDBOX0001",
        "kaleyra-host": "https://api.kaleyra.io/",
        "callback_url": f"{callbacks}/sms/dlr",
        **changes,
    }
    return {k: v for k, v in headers.items() if v is not None}


def sms_fields(to: str = OK, message_id: str = "kctl-sms-1", **changes: str) -> dict[str, str]:
    return {
        "to": to,
        "sender": "KLRHXA",
        "body": "Your login OTP is 4242. - ACME",
        "template_id": "1207161234567890123",
        "message_id": message_id,
        "campaign_id": "kctl-test",
        "type": "OTP",
        **changes,
    }


def failure(response: httpx.Response) -> tuple[int, int]:
    body = response.json()
    assert body["status"] == "failure", body
    return response.status_code, body["error"]["code"]


# --- adapter routes: accepted -------------------------------------------------------------------


def test_whatsapp_accepts_a_valid_request_and_reports_sent_then_delivered(
    start_sandbox: SandboxFactory, listener: tuple[Listener, ServerThread], client: httpx.Client
) -> None:
    reports, callbacks = listener
    sandbox, server = start_sandbox(api_key="key-123", sid="HXSANDBOX0001")

    response = client.post(
        f"{server.url}/whatsapp", json=wa_payload(), headers=wa_headers(callbacks.url)
    )

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    final = reports.await_report("kctl-wa-1", 5.0, FINAL_STATUSES)
    assert final is not None
    assert final.path == "/wa/dlr"
    assert final.ok, final.problems
    received = [(r.kind, d.status) for r in reports.wait_for(3, 5.0) for d in r.deliveries]
    assert received == [
        ("whatsapp-dlr", "sent"),
        ("whatsapp-dlr", "delivered"),
        ("whatsapp-dlr", "read"),
    ]
    entry = final.payload["statuses"][0]
    assert entry["msgId"] == "kctl-wa-1"
    assert entry["timestamp"].isdigit()
    assert [m.message_id for m in sandbox.messages] == ["kctl-wa-1"]


def test_sms_accepts_a_valid_request_with_basic_auth_and_reports_delivered(
    start_sandbox: SandboxFactory, listener: tuple[Listener, ServerThread], client: httpx.Client
) -> None:
    reports, callbacks = listener
    _, server = start_sandbox(api_key="key-123", sid="HXSANDBOX0001")

    response = client.post(
        f"{server.url}/sms",
        data=sms_fields(),
        headers=sms_headers(callbacks.url),
        auth=("user", "pass"),
    )

    assert response.status_code == 200
    assert response.json() == {"status": "success"}
    report = reports.await_report("kctl-sms-1", 5.0)
    assert report is not None
    assert report.kind == "sms-dlr"
    assert report.ok, report.problems
    assert report.payload[0]["event"] == "delivered"
    item = report.payload[0]["data"][0]
    assert item["meta"] == "kctl-sms-1"
    assert isinstance(item["ts"], int)


def test_direct_sms_answers_like_kaleyra_and_reports_to_the_callback_url_field(
    start_sandbox: SandboxFactory, listener: tuple[Listener, ServerThread], client: httpx.Client
) -> None:
    reports, callbacks = listener
    _, server = start_sandbox(api_key="key-123", sid="HXSANDBOX0001")

    response = client.post(
        f"{server.url}/v1/HXSANDBOX0001/messages",
        data={
            "to": "+919812340000,+14155550100",
            "sender": "KLRHXA",
            "body": "hello",
            "type": "TXN",
            "callback_url": f"{callbacks.url}/direct",
        },
        headers={"api-key": "key-123"},
    )

    assert response.status_code == 202
    body = response.json()
    assert body["error"] == {}
    ids = [item["message_id"] for item in body["data"]]
    assert [item["recipient"] for item in body["data"]] == ["+919812340000", "+14155550100"]
    batch = ids[0].split(":")[0]
    assert ids == [f"{batch}:0", f"{batch}:1"]
    assert body["id"] == ids[0]
    for message_id in ids:
        report = reports.await_report(message_id, 5.0)
        assert report is not None
        assert (report.kind, report.method) == ("kaleyra-status", "GET")
        assert report.ok, report.problems
        assert report.payload == {"id": message_id, "status": "Delivered"}


def test_direct_whatsapp_template_is_accepted(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    _, server = start_sandbox()
    response = client.post(
        f"{server.url}/v1/HXANY/messages",
        data={
            "channel": "whatsapp",
            "from": "+919876543210",
            "to": "+919812340000",
            "type": "template",
            "template_name": "order_update",
            "params": "Asha,1234",
            "lang_code": "en",
        },
        headers={"api-key": "anything"},
    )
    assert response.status_code == 202
    assert response.json()["data"][0]["recipient"] == "+919812340000"


# --- credentials and headers --------------------------------------------------------------------


@pytest.mark.parametrize(("header", "value"), [("api-key", "wrong"), ("sid", "HXOTHER")])
@pytest.mark.parametrize("route", ["whatsapp", "sms"])
def test_wrong_credentials_fail_with_2000(
    start_sandbox: SandboxFactory, client: httpx.Client, route: str, header: str, value: str
) -> None:
    sandbox, server = start_sandbox(api_key="key-123", sid="HXSANDBOX0001")
    if route == "whatsapp":
        response = client.post(
            f"{server.url}/whatsapp",
            json=wa_payload(),
            headers=wa_headers("http://127.0.0.1:9", **{header: value}),
        )
    else:
        response = client.post(
            f"{server.url}/sms",
            data=sms_fields(),
            headers=sms_headers("http://127.0.0.1:9", **{header: value}),
        )
    assert failure(response) == (200, 2000)
    assert header in response.json()["error"]["message"]
    assert value not in response.text  # the given value is never echoed back
    assert sandbox.messages == []


@pytest.mark.parametrize("header", ["api-key", "sid"])
def test_missing_credentials_give_401(
    start_sandbox: SandboxFactory, client: httpx.Client, header: str
) -> None:
    _, server = start_sandbox()
    response = client.post(
        f"{server.url}/whatsapp",
        json=wa_payload(),
        headers=wa_headers("http://127.0.0.1:9", **{header: None}),
    )
    assert failure(response) == (401, 2000)
    assert f"missing header {header}" in response.json()["error"]["message"]


def test_malformed_basic_auth_on_sms_gives_401(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    _, server = start_sandbox()
    headers = sms_headers("http://127.0.0.1:9", Authorization="Basic !!!not-base64")
    response = client.post(f"{server.url}/sms", data=sms_fields(), headers=headers)
    assert failure(response) == (401, 2000)


def test_malformed_basic_auth_on_whatsapp_gives_401_as_on_sms(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    _, server = start_sandbox()
    headers = wa_headers("http://127.0.0.1:9", Authorization="Basic !!!not-base64")
    response = client.post(f"{server.url}/whatsapp", json=wa_payload(), headers=headers)
    assert failure(response) == (401, 2000)


@pytest.mark.parametrize(
    "header", ["kaleyra-host", "inbound-message-callback-url", "delivery-report-callback-url"]
)
@pytest.mark.parametrize("value", [None, "http://not-loopback.example.com/x", "not a url"])
def test_missing_or_invalid_whatsapp_url_headers_fail_with_2004(
    start_sandbox: SandboxFactory, client: httpx.Client, header: str, value: str | None
) -> None:
    _, server = start_sandbox()
    response = client.post(
        f"{server.url}/whatsapp",
        json=wa_payload(),
        headers=wa_headers("http://127.0.0.1:9", **{header: value}),
    )
    assert failure(response) == (200, 2004)
    assert header in response.json()["error"]["message"]


def test_sms_without_callback_url_header_fails_with_2004(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    _, server = start_sandbox()
    headers = sms_headers("http://127.0.0.1:9", callback_url=None)
    response = client.post(f"{server.url}/sms", data=sms_fields(), headers=headers)
    assert failure(response) == (200, 2004)
    assert "callback_url" in response.json()["error"]["message"]


def test_wrong_content_type_gives_415_and_bad_json_400(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    _, server = start_sandbox()
    headers = wa_headers("http://127.0.0.1:9")
    as_form = client.post(f"{server.url}/whatsapp", data={"a": "b"}, headers=headers)
    assert failure(as_form) == (415, 2004)
    broken = client.post(
        f"{server.url}/whatsapp",
        content=b'{"msgId": ',
        headers={**headers, "Content-Type": "application/json; charset=utf-8"},
    )
    assert failure(broken) == (400, 2004)
    sms_as_json = client.post(
        f"{server.url}/sms", json=sms_fields(), headers=sms_headers("http://127.0.0.1:9")
    )
    assert failure(sms_as_json) == (415, 2004)


@pytest.mark.parametrize(
    ("change", "code", "words"),
    [
        ({"to": "+91 98123 40000"}, 2002, "to must be"),
        ({"to": "12345"}, 2002, "to must be"),
        ({"to": 919812340000}, 2002, "to must be"),
        ({"msgId": ""}, 2004, "msgId is missing"),
        ({"msgId": "m" * 61}, 2004, "over 60"),
        ({"payloadVersion": "v1"}, 2004, "payloadVersion"),
        ({"wabaNumber": "ACME"}, 2004, "wabaNumber"),
        ({"isTemplate": "yes"}, 2004, "isTemplate"),
        ({"template": {"namespace": "order_update", "languageCode": ""}}, 2001, "languageCode"),
        ({"template": {"namespace": " ", "languageCode": "en"}}, 2001, "namespace"),
        ({"template": None}, 2001, "template must be"),
        ({"components": []}, 2001, "no body"),
        ({"components": "body"}, 2004, "components must be a list"),
    ],
)
def test_bad_whatsapp_payloads_fail_with_the_right_code(
    start_sandbox: SandboxFactory,
    client: httpx.Client,
    change: dict[str, Any],
    code: int,
    words: str,
) -> None:
    sandbox, server = start_sandbox()
    payload = {**wa_payload(), **change}
    response = client.post(
        f"{server.url}/whatsapp", json=payload, headers=wa_headers("http://127.0.0.1:9")
    )
    assert failure(response) == (200, code)
    assert words in response.json()["error"]["message"]
    assert sandbox.messages == []


@pytest.mark.parametrize(
    ("text", "parameters", "words"),
    [
        ("Hi {{1}}, your order 1234 has shipped.", ["Asha", "1234"], "still has {{1}}"),
        ("Hi Asha, your order 1234 has shipped.", ["Asha", "9999"], "does not appear"),
        ("", [], "text is missing"),
        ("x" * 1025, [], "over 1024"),
    ],
)
def test_body_text_must_agree_with_parameters(
    start_sandbox: SandboxFactory,
    client: httpx.Client,
    text: str,
    parameters: list[str],
    words: str,
) -> None:
    _, server = start_sandbox()
    payload = wa_payload()
    payload["components"][1]["body"] = {
        "text": text,
        "parameters": [{"type": "text", "text": p} for p in parameters],
    }
    response = client.post(
        f"{server.url}/whatsapp", json=payload, headers=wa_headers("http://127.0.0.1:9")
    )
    assert failure(response) == (200, 2001)
    assert words in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("change", "code"),
    [
        ({"to": ""}, 2002),
        ({"to": "+919812340000"}, 2002),
        ({"sender": ""}, 2004),
        ({"body": "", "template_id": ""}, 2004),
        ({"body": "Your OTP is {#var#}"}, 2001),
        ({"ref": "user $$hid"}, 2004),
        ({"message_id": ""}, 2004),
        ({"template_id": "12345"}, 2001),
        ({"type": "PROMO"}, 2004),
    ],
)
def test_bad_sms_fields_fail_with_the_right_code(
    start_sandbox: SandboxFactory, client: httpx.Client, change: dict[str, str], code: int
) -> None:
    _, server = start_sandbox()
    response = client.post(
        f"{server.url}/sms",
        data={**sms_fields(), **change},
        headers=sms_headers("http://127.0.0.1:9"),
    )
    assert failure(response) == (200, code)


@pytest.mark.parametrize(
    "change",
    [
        {"type": "Default"},  # any case
        {"type": "otp"},
        {"body": ""},  # DLT: the template id alone
        {"sender": ""},
        # CleverTap's ids are dotted and may be long; the provider echoes whatever it gets
        {"message_id": "9999999999.1200000000.1654002362.20220531.0.wzrk_default.-1." * 2},
        {"hid": "123", "variables": '["4242"]'},  # custom replacements, filled
    ],
)
def test_sms_variants_clevertap_sends_are_accepted(
    start_sandbox: SandboxFactory, client: httpx.Client, change: dict[str, str]
) -> None:
    _, server = start_sandbox()
    fields = {k: v for k, v in {**sms_fields(), **change}.items() if v}
    response = client.post(
        f"{server.url}/sms", data=fields, headers=sms_headers("http://127.0.0.1:9")
    )
    assert response.json() == {"status": "success"}


def test_a_repeated_sms_field_is_refused(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    _, server = start_sandbox()
    body = "to=919812340000&to=919812340001&sender=KLRHXA&body=hi&message_id=m1"
    response = client.post(
        f"{server.url}/sms",
        content=body,
        headers={
            **sms_headers("http://127.0.0.1:9"),
            "Content-Type": "application/x-www-form-urlencoded",
        },
    )
    assert failure(response) == (200, 2004)
    assert "more than once" in response.json()["error"]["message"]


@pytest.mark.parametrize(
    ("path", "key"),
    [
        ("/v1/HXSANDBOX0001/messages", None),
        ("/v1/HXSANDBOX0001/messages", "wrong"),
        ("/v1/HXOTHER/messages", "key-123"),
    ],
)
def test_direct_route_checks_the_api_key_and_sid(
    start_sandbox: SandboxFactory, client: httpx.Client, path: str, key: str | None
) -> None:
    _, server = start_sandbox(api_key="key-123", sid="HXSANDBOX0001")
    headers = {"api-key": key} if key else {}
    response = client.post(
        f"{server.url}{path}", data={"to": OK, "sender": "KLRHXA", "body": "hi"}, headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "E401"


def test_direct_route_reports_bad_fields_with_400(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    _, server = start_sandbox()
    response = client.post(
        f"{server.url}/v1/HX/messages",
        data={"channel": "whatsapp", "to": "12", "type": "template"},
        headers={"api-key": "k"},
    )
    assert response.status_code == 400
    message = response.json()["error"]["message"]
    assert "to must be" in message
    assert "from must be" in message
    assert "template_name" in message


def test_direct_route_takes_at_most_100_recipients(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    sandbox, server = start_sandbox()

    def send(count: int) -> httpx.Response:
        to = ",".join(f"+91981{n:06d}" for n in range(count))
        fields = {"to": to, "sender": "KLRHXA", "body": "hi", "callback_url": "http://127.0.0.1:9"}
        return client.post(f"{server.url}/v1/HX/messages", data=fields, headers={"api-key": "k"})

    over = send(101)
    assert over.status_code == 400
    assert over.json()["error"] == {
        "code": "E400",
        "message": "to lists 101 recipients; at most 100 a request",
    }
    assert sandbox.messages_total == 0
    assert sandbox.callbacks == []
    full = send(100)
    assert full.status_code == 202
    assert full.json()["totalCount"] == 100
    assert sandbox.messages_total == 100


def test_seventy_thousand_recipients_are_refused_without_taking_each_one_on(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    sandbox, server = start_sandbox()
    to = ",".join(f"91981{n:06d}" for n in range(70_000))  # 910 KB: under the body limit
    body = f"to={to}&sender=KLRHXA&body=hi&callback_url=http%3A%2F%2F127.0.0.1%3A9%2F"
    response = client.post(
        f"{server.url}/v1/HX/messages",
        content=body,
        headers={"api-key": "k", "Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 400
    assert "70000 recipients" in response.json()["error"]["message"]
    assert sandbox.messages_total == 0
    assert sandbox.pending_reports == 0


def test_unknown_routes_and_methods(start_sandbox: SandboxFactory, client: httpx.Client) -> None:
    _, server = start_sandbox()
    assert client.post(f"{server.url}/nope").status_code == 404
    response = client.get(f"{server.url}/whatsapp")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"


# --- magic recipients ---------------------------------------------------------------------------


MAGIC_STATUS = {"0429": 429, "0500": 500, "2002": None}


@pytest.mark.parametrize("route", ["whatsapp", "sms", "direct"])
@pytest.mark.parametrize("suffix", sorted(MAGIC_STATUS))
def test_magic_recipients_that_are_not_accepted(
    start_sandbox: SandboxFactory,
    listener: tuple[Listener, ServerThread],
    client: httpx.Client,
    route: str,
    suffix: str,
) -> None:
    reports, callbacks = listener
    sandbox, server = start_sandbox()
    status = MAGIC_STATUS[suffix]
    to = f"91981234{suffix}"
    if route == "whatsapp":
        response = client.post(
            f"{server.url}/whatsapp", json=wa_payload(to), headers=wa_headers(callbacks.url)
        )
    elif route == "sms":
        response = client.post(
            f"{server.url}/sms", data=sms_fields(to), headers=sms_headers(callbacks.url)
        )
    else:
        response = client.post(
            f"{server.url}/v1/HX/messages",
            data={"to": f"+{to}", "sender": "KLRHXA", "body": "hi", "callback_url": callbacks.url},
            headers={"api-key": "k"},
        )

    if status is not None:
        assert response.status_code == status
    elif route == "direct":
        assert response.status_code == 400
        assert "invalid phone number" in response.json()["error"]["message"]
    else:
        assert failure(response) == (200, 2002)
    if status == 429:
        assert response.headers["retry-after"] == "1"
    if status == 429 and route != "direct":  # the body CleverTap's page gives a 429
        assert response.json()["message"] == "Too many requests to process"
    assert sandbox.messages == []
    time.sleep(DELAY * 5)
    assert reports.reports == []


def test_recipient_ending_1006_is_accepted_then_reported_failed_on_whatsapp(
    start_sandbox: SandboxFactory, listener: tuple[Listener, ServerThread], client: httpx.Client
) -> None:
    reports, callbacks = listener
    _, server = start_sandbox()
    response = client.post(
        f"{server.url}/whatsapp",
        json=wa_payload("919812341006", "kctl-black"),
        headers=wa_headers(callbacks.url),
    )
    assert response.json() == {"status": "success"}

    final = reports.await_report("kctl-black", 5.0, FINAL_STATUSES)
    assert final is not None
    assert final.ok, final.problems
    delivery = final.delivery("kctl-black")
    assert delivery is not None
    assert (delivery.status, delivery.code) == ("failed", "1006")
    assert final.payload["statuses"][0]["error"]["code"] == 1006
    sent = reports.await_report("kctl-black", 0.0, {"sent"})
    assert sent is not None
    assert reports.reports.index(sent) < reports.reports.index(final)


def test_recipient_ending_1006_is_accepted_then_reported_failed_on_sms(
    start_sandbox: SandboxFactory, listener: tuple[Listener, ServerThread], client: httpx.Client
) -> None:
    reports, callbacks = listener
    _, server = start_sandbox()
    response = client.post(
        f"{server.url}/sms",
        data=sms_fields("919812341006", "kctl-dnd"),
        headers=sms_headers(callbacks.url),
    )
    assert response.json() == {"status": "success"}

    report = reports.await_report("kctl-dnd", 5.0)
    assert report is not None
    assert report.ok, report.problems
    delivery = report.delivery("kctl-dnd")
    assert delivery is not None
    assert (delivery.status, delivery.code) == ("failed", "901")


# --- concurrency ----------------------------------------------------------------------------------


def test_more_requests_in_flight_than_max_concurrency_get_429(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    sandbox, server = start_sandbox(max_concurrency=2)
    headers = wa_headers("http://127.0.0.1:9")

    def send(n: int) -> int:
        with httpx.Client(timeout=5.0, trust_env=False) as own:
            payload = wa_payload(msg_id=f"held-{n}")
            return own.post(f"{server.url}/whatsapp", json=payload, headers=headers).status_code

    sandbox.hold()
    with ThreadPoolExecutor(2) as pool:
        held = [pool.submit(send, n) for n in range(2)]
        try:
            assert sandbox.wait_in_flight(2, 5.0)
            over = client.post(f"{server.url}/whatsapp", json=wa_payload(), headers=headers)
            assert over.status_code == 429
            assert over.headers["retry-after"] == "1"
            assert "max_concurrency 2" in over.json()["error"]["message"]
        finally:
            sandbox.release()
        assert [f.result() for f in held] == [200, 200]
    assert sandbox.peak_in_flight == 2
    after = client.post(f"{server.url}/whatsapp", json=wa_payload(), headers=headers)
    assert after.status_code == 200


def test_local_pair_runs_sandbox_and_listener_together(client: httpx.Client) -> None:
    emitted: list[str] = []
    with local_pair(emit=emitted.append, json_lines=True, dlr_delay=DELAY) as pair:
        response = client.post(
            f"{pair.sandbox_url}/whatsapp",
            json=wa_payload(msg_id="pair-1"),
            headers=wa_headers(pair.listener_url),
        )
        assert response.json() == {"status": "success"}
        report = pair.listener.await_report("pair-1", 5.0, FINAL_STATUSES)
    assert report is not None
    assert report.delivery("pair-1") is not None
    assert len(emitted) == 2
    with pytest.raises(httpx.ConnectError):
        client.post(f"{pair.sandbox_url}/whatsapp")


# --- the HTTP server itself -----------------------------------------------------------------------


async def echo(request: HttpRequest) -> HttpResponse:
    return HttpResponse.json(
        200,
        {
            "method": request.method,
            "path": request.path,
            "query": request.query,
            "body": request.body.decode("latin-1"),
            "x": request.header("X-TEST"),
            "order": [k for k, _ in request.headers],
        },
    )


def raw_exchange(port: int, data: bytes, *, read_all: bool = True) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        chunks = []
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            if not read_all:
                break
        return b"".join(chunks)


def test_keep_alive_serves_many_requests_on_one_connection() -> None:
    server = HttpServer(echo)
    with server.start_in_thread() as running, httpx.Client(trust_env=False) as c:
        for n in range(5):
            response = c.post(f"{running.url}/p?n={n}", content=b"hi", headers={"x-test": "v"})
            assert response.json()["query"] == f"n={n}"
            assert response.json()["x"] == "v"
        assert server.stats.connections == 1
        assert server.stats.requests == 5


def test_headers_keep_their_order_and_lookups_ignore_case() -> None:
    with HttpServer(echo).start_in_thread() as running:
        reply = raw_exchange(
            running.port,
            b"POST /h HTTP/1.1\r\nHost: x\r\nZeta: 1\r\nalpha: 2\r\nX-Test: y\r\n"
            b"Content-Length: 0\r\nConnection: close\r\n\r\n",
        )
    assert b'"order":["Host","Zeta","alpha","X-Test","Content-Length","Connection"]' in reply
    assert b'"x":"y"' in reply


def test_chunked_request_bodies_are_read() -> None:
    with HttpServer(echo).start_in_thread() as running:
        reply = raw_exchange(
            running.port,
            b"POST /c HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n"
            b"\r\n3\r\nabc\r\n4;ext=1\r\ndefg\r\n0\r\n\r\n",
        )
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b'"body":"abcdefg"' in reply


@pytest.mark.parametrize(
    ("request_bytes", "status"),
    [
        (b"NONSENSE\r\n\r\n", b"400"),
        (b"GET / HTTP/2.0\r\nHost: x\r\n\r\n", b"505"),
        (b"GET nopath HTTP/1.1\r\nHost: x\r\n\r\n", b"400"),
        (b"GET / HTTP/1.1\r\nHost: x\r\n folded\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nContent-Length: -1\r\n\r\n", b"400"),
        (b"POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", b"501"),
        (b"POST / HTTP/1.1\r\nContent-Length: 1048577\r\n\r\n", b"413"),
        (b"GET / HTTP/1.1\r\nX: " + b"a" * (64 * 1024) + b"\r\n\r\n", b"431"),
    ],
)
def test_malformed_or_oversized_requests_are_refused(request_bytes: bytes, status: bytes) -> None:
    server = HttpServer(echo)
    with server.start_in_thread() as running:
        reply = raw_exchange(running.port, request_bytes)
        assert reply.startswith(b"HTTP/1.1 " + status), reply[:80]
        assert b"Connection: close" in reply
        # and the server carries on
        with httpx.Client(trust_env=False) as c:
            assert c.post(f"{running.url}/ok").status_code == 200


def test_an_oversized_body_gets_413_not_a_reset() -> None:
    with HttpServer(echo).start_in_thread() as running, httpx.Client(trust_env=False) as c:
        response = c.post(f"{running.url}/big", content=b"x" * (2 * 1024 * 1024))
    assert response.status_code == 413


def test_idle_connections_are_cut_after_the_idle_timeout() -> None:
    server = HttpServer(echo, limits=Limits(idle_timeout=0.2))
    with server.start_in_thread() as running:
        started = time.monotonic()
        with socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock:
            sock.sendall(b"GET / HTTP/1.1\r\n")  # a head that never completes
            assert sock.recv(100) == b""
        assert time.monotonic() - started < 3.0
        assert server.stats.open_connections == 0


def test_http_1_0_closes_after_the_response() -> None:
    with HttpServer(echo).start_in_thread() as running:
        reply = raw_exchange(running.port, b"GET /old HTTP/1.0\r\n\r\n")
    assert reply.startswith(b"HTTP/1.1 200 ")
    assert b"Connection: close" in reply


def test_expect_100_continue_is_honoured() -> None:
    with (
        HttpServer(echo).start_in_thread() as running,
        socket.create_connection(("127.0.0.1", running.port), timeout=5) as sock,
    ):
        sock.sendall(
            b"POST /e HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nExpect: 100-continue\r\n"
            b"Connection: close\r\n\r\n"
        )
        assert sock.recv(100).startswith(b"HTTP/1.1 100 Continue\r\n\r\n")
        sock.sendall(b"ok")
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    assert b'"body":"ok"' in reply


def test_a_failing_handler_gives_500_and_the_server_carries_on() -> None:
    log = Lines()

    async def broken(request: HttpRequest) -> HttpResponse:
        if request.path == "/boom":
            raise RuntimeError("boom")
        return HttpResponse.text(200, "fine")

    with (
        HttpServer(broken, log=log).start_in_thread() as running,
        httpx.Client(trust_env=False) as c,
    ):
        assert c.get(f"{running.url}/boom").status_code == 500
        assert c.get(f"{running.url}/ok").text == "fine"
    assert "RuntimeError('boom')" in log.text()


def test_graceful_shutdown_finishes_the_request_in_flight() -> None:
    sandbox = Sandbox(dlr_delay=DELAY)
    running = HttpServer(sandbox).start_in_thread()
    sandbox.hold()

    def send() -> int:
        with httpx.Client(timeout=5.0, trust_env=False) as own:
            return own.post(
                f"{running.url}/whatsapp",
                json=wa_payload(),
                headers=wa_headers("http://127.0.0.1:9"),
            ).status_code

    with ThreadPoolExecutor(2) as pool:
        answer = pool.submit(send)
        assert sandbox.wait_in_flight(1, 5.0)
        stopping = pool.submit(running.stop)
        time.sleep(0.1)  # the server is now closing, with the request still held
        with pytest.raises(httpx.ConnectError), httpx.Client(trust_env=False) as late:
            late.post(f"{running.url}/whatsapp")
        sandbox.release()
        assert answer.result() == 200
        stopping.result()


def test_servers_bind_loopback_only_and_report_a_busy_port() -> None:
    with pytest.raises(UsageError, match="loopback"):
        HttpServer(echo, host="0.0.0.0")
    with HttpServer(echo).start_in_thread() as running:
        with pytest.raises(UsageError, match="cannot listen") as caught:
            HttpServer(echo, port=running.port).start_in_thread()
        assert caught.value.hint is not None


def ipv6_loopback_available() -> bool:
    """False only when this machine really has no ::1; any other error fails the test."""
    try:
        with socket.socket(socket.AF_INET6) as probe:
            probe.bind(("::1", 0))
    except OSError as e:
        # no IPv6 in the kernel, or IPv6 without a loopback address
        if e.errno in (errno.EAFNOSUPPORT, errno.EADDRNOTAVAIL):
            return False
        raise
    return True


@pytest.mark.parametrize("host", ["localhost", "::1", "[::1]"])
def test_servers_bind_any_loopback_name_on_one_port(host: str) -> None:
    if "::1" in host and not ipv6_loopback_available():
        pytest.skip("no IPv6 loopback here")
    with (
        HttpServer(echo, host=host).start_in_thread() as running,
        httpx.Client(trust_env=False) as c,
    ):
        assert running.url.endswith(f":{running.port}")
        assert c.post(f"{running.url}/v6").json()["path"] == "/v6"


def test_a_thousand_connections_can_be_open_at_once() -> None:
    server = HttpServer(echo)
    with server.start_in_thread() as running:
        socks: list[socket.socket] = []
        try:
            for _ in range(1000):
                socks.append(socket.create_connection(("127.0.0.1", running.port), timeout=5))
            deadline = time.monotonic() + 5
            while server.stats.open_connections < 1000 and time.monotonic() < deadline:
                time.sleep(0.01)
            assert server.stats.open_connections == 1000
        finally:
            for sock in socks:
                sock.close()
    assert server.stats.peak_connections == 1000


@pytest.mark.parametrize(
    ("signum", "reason"), [(signal.SIGTERM, "terminated"), (signal.SIGINT, "interrupted")]
)
def test_serve_forever_stops_cleanly_on_signals(signum: int, reason: str) -> None:
    code = (
        "from kctl.servers.http import HttpServer, HttpResponse\n"
        "async def h(r): return HttpResponse.text(200, 'x')\n"
        "print(HttpServer(h).serve_forever(on_ready=lambda s: print(s.port, flush=True)))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    with subprocess.Popen(
        [sys.executable, "-W", "error", "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    ) as process:
        assert process.stdout is not None
        port = int(process.stdout.readline())
        with httpx.Client(trust_env=False) as c:
            assert c.get(f"http://127.0.0.1:{port}/").text == "x"
        process.send_signal(signum)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    assert out.strip() == reason
    assert err == ""


def test_serve_forever_returns_on_timeout() -> None:
    started = time.monotonic()
    assert HttpServer(echo).serve_forever(timeout=0.1) == "timeout"
    assert time.monotonic() - started < 3.0
