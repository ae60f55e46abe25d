"""Golden wire fixtures: one file per payload shape, read by the builder's and the sandbox's tests.

The builder must produce each fixture byte for byte from ``tests/golden/account.yaml``; the
sandbox must accept the very same bytes. So a producer and its consumer can only change
together: regenerate with ``KCTL_UPDATE_GOLDEN=1 python -m pytest tests/test_golden_wire.py``
and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kctl.config.model import Account, load_account
from kctl.contract import sms
from kctl.send.build import Message, build_request
from kctl.send.whatsapp import TemplateValues
from kctl.send.wire import Via
from kctl.servers.http import HttpServer, ServerThread
from kctl.servers.sandbox import Sandbox

GOLDEN = Path(__file__).resolve().parent / "golden"
MESSAGE_ID = "kctl-golden-0001"
# SMS forms carry a $$MessageID in CleverTap's dotted shape (CT-SMS's own example)
SMS_MESSAGE_ID = sms.MESSAGE_ID_EXAMPLE


@dataclass(frozen=True)
class Shape:
    fixture: str  # file under tests/golden/
    provider: str
    message: Message
    via: Via = Via.ADAPTER
    message_id: str = MESSAGE_ID
    callback_url: str | None = None  # direct mode: where Kaleyra reports


def build(account: Account, shape: Shape) -> bytes:
    provider = account.provider(shape.provider)
    request = build_request(
        provider, shape.message, shape.via, shape.message_id, callback_url=shape.callback_url
    )
    return request.body


SHAPES = [
    Shape(
        "whatsapp_template_text_header.json",
        "wa",
        Message("+919812345678", "order_update", params=("Asha", "1234")),
    ),
    Shape(
        "whatsapp_template_image_header.json",
        "wa",
        Message("+919812345678", "festive_offer", params=("Asha", "Sunday")),
    ),
    Shape("whatsapp_template_body_only.json", "wa", Message("+919812345678", "plain_notice")),
    Shape(
        "sms_adapter_text.form",
        "sms",
        Message("+919812345678", body="Your order has shipped. - ACME", type="TXN"),
        message_id=SMS_MESSAGE_ID,
    ),
    Shape(
        "sms_adapter_dlt_template.form",
        "sms",
        Message("+919812345678", "login_otp", params=("482913",)),
        message_id=SMS_MESSAGE_ID,
    ),
    Shape(
        "sms_adapter_custom_replacements.form",
        "sms_custom",
        Message(
            "+919812345678",
            "order_shipped",
            params=("A-1042", "Friday, 5 pm"),
            variables=(("hid", "123"),),
        ),
        message_id=SMS_MESSAGE_ID,
    ),
    Shape(
        "direct_whatsapp_template.form",
        "wa",
        Message("+919812345678", "order_update", params=("Asha", "1234")),
        Via.DIRECT,
    ),
    Shape(
        "direct_sms.form",
        "sms",
        Message("+919812345678", "login_otp", params=("482913",)),
        Via.DIRECT,
    ),
    Shape(
        "direct_sms_callback.form",
        "sms",
        Message("+919812345678", body="Your order has shipped. - ACME", type="txn"),
        Via.DIRECT,
        callback_url="http://127.0.0.1:9/sms/kaleyra",
    ),
    Shape(
        "direct_whatsapp_quoted_params.form",
        "wa",
        Message("+919812345678", "order_update", params=("Asha, Rao", 'the "1,234" box')),
        Via.DIRECT,
        callback_url="http://127.0.0.1:9/whatsapp/kaleyra",
    ),
    Shape(
        "direct_whatsapp_media_template.form",
        "wa_direct",
        Message("+919812345678", "invoice_ready", params=("Asha", "INV-2048")),
        Via.DIRECT,
    ),
    Shape(
        "direct_whatsapp_header_and_url.form",
        "wa_direct",
        Message(
            "+919812345678",
            "parcel_update",
            params=("Asha",),
            values=TemplateValues(header_param="AB12", url_suffixes=("AB12",)),
        ),
        Via.DIRECT,
    ),
]


@pytest.fixture(scope="module")
def account() -> Account:
    return load_account(str(GOLDEN / "account.yaml"))


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.fixture)
def test_builder_produces_the_fixture(account: Account, shape: Shape) -> None:
    body = build(account, shape)
    path = GOLDEN / shape.fixture
    if os.environ.get("KCTL_UPDATE_GOLDEN"):
        path.write_bytes(body)
    assert body == path.read_bytes()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[tuple[Sandbox, ServerThread]]:
    app = Sandbox(dlr_delay=60)  # reports are not what these tests look at
    with HttpServer(app).start_in_thread() as running:
        yield app, running


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.fixture)
def test_sandbox_accepts_the_fixture(
    account: Account, sandbox: tuple[Sandbox, ServerThread], shape: Shape
) -> None:
    app, running = sandbox
    # the request exactly as built, pointed at the sandbox; the body is the fixture's bytes
    request = build_request(
        account.provider(shape.provider),
        shape.message,
        shape.via,
        shape.message_id,
        callback_url=shape.callback_url,
    )
    path = request.url.split("127.0.0.1:9", 1)[1]
    headers = {**dict(request.headers), "Content-Type": request.content_type}
    body = (GOLDEN / shape.fixture).read_bytes()
    reply = httpx.post(running.url + path, headers=headers, content=body, timeout=5)
    if shape.via is Via.DIRECT:
        assert reply.status_code == 202, reply.text
        assert not reply.json().get("error")
        assert reply.json()["id"] == app.messages[-1].message_id
    else:
        assert reply.status_code == 200, reply.text
        assert reply.json()["status"] == "success"
    accepted = app.messages[-1]
    assert accepted.to.lstrip("+") == "919812345678"


def test_every_fixture_file_has_a_shape() -> None:
    named = {shape.fixture for shape in SHAPES}
    on_disk = {p.name for p in GOLDEN.iterdir() if p.suffix in (".json", ".form")}
    assert on_disk == named


def test_whatsapp_fixtures_are_json_objects() -> None:
    for shape in SHAPES:
        if shape.fixture.endswith(".json"):
            assert isinstance(json.loads((GOLDEN / shape.fixture).read_bytes()), dict)
