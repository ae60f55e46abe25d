"""The sandbox's stand-in for Kaleyra's messages API (SPEC 4.8), over real sockets on 127.0.0.1.

The requests are written from what Kaleyra's pages document (urlencoded or multipart forms, the
api-key header, template and media template sends, a GET form) and from what nyaruka/courier's
Kaleyra handler really sends (api-key as a form field, ``channel=WhatsApp``, media uploaded as
a multipart file part with ``type=media``). Status comes back Kaleyra's way: a GET with ``id``
and ``status`` to the request's callback URL, which kctl's listener takes as a new kind.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kctl.contract import kaleyra
from kctl.servers.http import HttpServer, ServerThread
from kctl.servers.listener import FINAL_STATUSES, KALEYRA_STATUS, Listener
from kctl.servers.sandbox import Sandbox
from tests.support import DELAY, Lines

ID = re.compile(kaleyra.MESSAGE_ID_PATTERN)


@pytest.fixture
def log() -> Lines:
    return Lines()


@pytest.fixture
def sandbox(log: Lines) -> Iterator[tuple[Sandbox, ServerThread]]:
    app = Sandbox(api_key="key-123", sid="HXIN0001", dlr_delay=DELAY, log=log)
    with HttpServer(app).start_in_thread() as running:
        yield app, running


def messages(server: ServerThread) -> str:
    return f"{server.url}/v1/HXIN0001/messages"


def accepted(response: httpx.Response) -> str:
    """The id of an accepted message, checked for Kaleyra's answer."""
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["error"] == {}
    assert ID.fullmatch(body["id"]), body["id"]
    assert body["id"] == body["data"][0]["message_id"]
    return str(body["id"])


def statuses(reports: Listener, message_id: str) -> list[str]:
    """The statuses the listener got for ``message_id``, once the final one is in."""
    final = reports.await_report(message_id, 5.0, FINAL_STATUSES)
    assert final is not None, f"no final report for {message_id}"
    return [d.status for r in reports.reports for d in r.deliveries if d.message_id == message_id]


# --- courier's requests ---------------------------------------------------------------------------


def test_courier_text_message_with_the_api_key_as_a_form_field(
    sandbox: tuple[Sandbox, ServerThread],
    listener: tuple[Listener, ServerThread],
    client: httpx.Client,
) -> None:
    app, server = sandbox
    reports, callbacks = listener
    response = client.post(
        messages(server),
        data={
            "api-key": "key-123",
            "body": "Your order https://shop.example.com/o/1 has shipped",
            "callback_url": f"{callbacks.url}/c/kwa/0000/status",
            "channel": "WhatsApp",
            "from": "250788383383",
            "preview_url": "true",
            "to": "14133881111",
            "type": "text",
        },
    )
    message_id = accepted(response)
    assert statuses(reports, message_id) == ["sent", "delivered"]
    report = reports.reports[-1]
    assert (report.kind, report.method, report.path.split("?")[0]) == (
        KALEYRA_STATUS,
        "GET",
        "/c/kwa/0000/status",
    )
    assert report.payload == {"id": message_id, "status": "delivered"}
    assert app.messages[-1].route == "direct whatsapp"


def test_courier_media_upload_as_a_multipart_file_part(
    sandbox: tuple[Sandbox, ServerThread],
    listener: tuple[Listener, ServerThread],
    client: httpx.Client,
    log: Lines,
) -> None:
    _, server = sandbox
    reports, callbacks = listener
    response = client.post(
        messages(server),
        data={
            "api-key": "key-123",
            "channel": "WhatsApp",
            "from": "250788383383",
            "callback_url": f"{callbacks.url}/c/kwa/0000/status",
            "type": "media",
            "to": "14133881111",
            "caption": "Your invoice",
        },
        files={"media": ("invoice.pdf", b"%PDF-1.4\n" + bytes(range(256)), "application/pdf")},
    )
    message_id = accepted(response)
    assert statuses(reports, message_id) == ["sent", "delivered"]
    assert "(multipart)" in log.text()


# --- Kaleyra's documented requests ----------------------------------------------------------------


def test_documented_text_template_urlencoded_with_the_api_key_header(
    sandbox: tuple[Sandbox, ServerThread],
    listener: tuple[Listener, ServerThread],
    client: httpx.Client,
) -> None:
    _, server = sandbox
    reports, callbacks = listener
    response = client.post(
        messages(server),
        data={
            "from": "+919876543210",
            "to": "+919812340000",
            "type": "template",
            "channel": "whatsapp",
            "template_name": "order_update",
            "params": "Asha,1234",
            "lang_code": "en",
            "callback_url": f"{callbacks.url}/kaleyra",
        },
        headers={"api-key": "key-123"},
    )
    message_id = accepted(response)
    assert statuses(reports, message_id) == ["sent", "delivered"]


def test_documented_media_template_as_a_multipart_form_with_quoted_params(
    sandbox: tuple[Sandbox, ServerThread], client: httpx.Client
) -> None:
    _, server = sandbox
    response = client.post(
        messages(server),
        files={
            "to": (None, "+919812340000"),
            "type": (None, "mediatemplate"),
            "params": (None, '"A","B"'),
            "template_name": (None, "temp_test_1"),
            "channel": (None, "whatsapp"),
            "from": (None, "+919876543210"),
            "media_url": (None, "https://cdn.example.com/offer.jpg"),
            "param_header": (None, "Diwali"),
            "param_url": (None, "offer/42"),
        },
        headers={"api-key": "key-123"},
    )
    accepted(response)


def test_media_template_with_an_uploaded_media_file(
    sandbox: tuple[Sandbox, ServerThread], client: httpx.Client
) -> None:
    _, server = sandbox
    response = client.post(
        messages(server),
        data={
            "to": "+919812340000",
            "type": "mediatemplate",
            "template_name": "temp_test_1",
            "channel": "whatsapp",
            "from": "+919876543210",
        },
        files={"media": ("offer.jpg", b"\xff\xd8\xff\xe0JFIF", "image/jpeg")},
        headers={"api-key": "key-123"},
    )
    accepted(response)


def test_a_json_body_and_a_get_query_are_taken_too(
    sandbox: tuple[Sandbox, ServerThread], client: httpx.Client, log: Lines
) -> None:
    _, server = sandbox
    fields: dict[str, Any] = {
        "from": "+919876543210",
        "to": "+919812340000",
        "type": "template",
        "channel": "whatsapp",
        "template_name": "order_update",
        "lang_code": "en",
    }
    accepted(
        client.post(
            messages(server),
            json={**fields, "params": ["Asha, Rao", "1234"]},
            headers={"api-key": "key-123"},
        )
    )
    accepted(
        client.get(
            messages(server),
            params={**fields, "params": "Asha,1234"},
            headers={"api-key": "key-123"},
        )
    )
    assert "(json)" in log.text()
    assert "(query)" in log.text()


@pytest.mark.parametrize("channel", ["WHATSAPP", "WhatsApp", "whatsapp"])
def test_channel_is_read_in_any_case(
    sandbox: tuple[Sandbox, ServerThread], client: httpx.Client, channel: str
) -> None:
    app, server = sandbox
    response = client.post(
        messages(server),
        data={
            "channel": channel,
            "from": "919876543210",
            "to": "919812340000",
            "type": "text",
            "body": "hi",
        },
        headers={"api-key": "key-123"},
    )
    accepted(response)
    assert app.messages[-1].route == "direct whatsapp"


# --- SMS ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("method", ["GET", "POST", "get"])
def test_sms_callback_object_is_reported_by_its_method(
    sandbox: tuple[Sandbox, ServerThread],
    listener: tuple[Listener, ServerThread],
    client: httpx.Client,
    method: str,
) -> None:
    _, server = sandbox
    reports, callbacks = listener
    callback = {"url": f"{callbacks.url}/sms/kaleyra", "method": method}
    response = client.post(
        messages(server),
        data={
            "to": "+919812340000",
            "sender": "KLRHXA",
            "type": "Default",
            "body": "Your order has shipped. - ACME",
            "callback": json.dumps(callback),
        },
        headers={"api-key": "key-123"},
    )
    message_id = accepted(response)
    assert statuses(reports, message_id) == ["delivered"]
    report = reports.reports[-1]
    assert (report.kind, report.method) == (KALEYRA_STATUS, method.upper())
    assert report.payload == {"id": message_id, "status": "Delivered"}


def test_sms_with_a_callback_profile_is_accepted_and_says_why_nothing_is_reported(
    sandbox: tuple[Sandbox, ServerThread], client: httpx.Client, log: Lines
) -> None:
    app, server = sandbox
    response = client.post(
        messages(server),
        data={"to": "+919812340000", "body": "hi", "callback_profile_id": "CP123"},
        headers={"api-key": "key-123"},
    )
    accepted(response)
    assert app.messages[-1].callback_url is None
    assert "callback_profile_id 'CP123'" in log.text()


def test_a_blacklisted_recipient_is_reported_failed_kaleyras_way(
    sandbox: tuple[Sandbox, ServerThread],
    listener: tuple[Listener, ServerThread],
    client: httpx.Client,
) -> None:
    _, server = sandbox
    reports, callbacks = listener
    response = client.post(
        messages(server),
        data={
            "channel": "whatsapp",
            "from": "+919876543210",
            "to": "+919812341006",
            "type": "template",
            "template_name": "order_update",
            "params": "Asha,1234",
            "callback_url": f"{callbacks.url}/kaleyra",
        },
        headers={"api-key": "key-123"},
    )
    message_id = accepted(response)
    assert statuses(reports, message_id) == ["sent", "failed"]
    # courier's reading of Kaleyra's v1 callback: a failure is status "0"
    assert reports.reports[-1].payload == {"id": message_id, "status": "0"}


# --- refusals -------------------------------------------------------------------------------------


BASE = {
    "channel": "whatsapp",
    "from": "+919876543210",
    "to": "+919812340000",
    "template_name": "order_update",
}


@pytest.mark.parametrize(
    ("fields", "words"),
    [
        ({**BASE, "type": "mediatemplate"}, "needs media_url or a media file part"),
        ({**BASE, "type": "media"}, "needs a media file part or media_url"),
        ({**BASE, "type": "template", "params": '"A,B'}, "params is not comma-separated"),
        ({**BASE, "type": "carousel"}, "type must be one of text, media, template"),
        ({**BASE, "type": "template", "media_url": "cdn/a.png"}, "media_url must be"),
        ({**BASE, "type": "template", "callback_url": "ftp://x"}, "callback_url must be"),
        ({"to": "+919812340000", "body": "hi", "callback": "{}"}, "callback must be a JSON"),
        (
            {"to": "+919812340000", "body": "hi", "callback": '{"url":"http://a/","method":"PUT"}'},
            "method must be GET or POST",
        ),
        ({"to": "+919812340000", "body": "hi", "type": "PROMO"}, "type must be one of"),
        ({"to": "+919812340000", "channel": "fax", "body": "hi"}, "channel 'fax'"),
    ],
)
def test_what_kaleyra_would_refuse_gets_400(
    sandbox: tuple[Sandbox, ServerThread], client: httpx.Client, fields: dict[str, str], words: str
) -> None:
    app, server = sandbox
    response = client.post(messages(server), data=fields, headers={"api-key": "key-123"})
    assert response.status_code == 400, response.text
    assert words in response.json()["error"]["message"]
    assert app.messages == []


@pytest.mark.parametrize(
    ("headers", "fields", "status"),
    [
        ({}, {"to": "+919812340000", "body": "hi"}, 401),
        ({}, {"api-key": "wrong", "to": "+919812340000", "body": "hi"}, 401),
        ({"api-key": "key-123", "Content-Type": "text/plain"}, None, 415),
    ],
)
def test_credentials_and_content_types(
    sandbox: tuple[Sandbox, ServerThread],
    client: httpx.Client,
    headers: dict[str, str],
    fields: dict[str, str] | None,
    status: int,
) -> None:
    _, server = sandbox
    if fields is None:
        response = client.post(messages(server), content=b"to=1", headers=headers)
    else:
        response = client.post(messages(server), data=fields, headers=headers)
    assert response.status_code == status, response.text


def test_a_broken_multipart_body_is_400(
    sandbox: tuple[Sandbox, ServerThread], client: httpx.Client
) -> None:
    _, server = sandbox
    response = client.post(
        messages(server),
        content=b"--x\r\nno headers here",
        headers={"api-key": "key-123", "Content-Type": "multipart/form-data"},
    )
    assert response.status_code == 400
    assert "multipart" in response.json()["error"]["message"]
