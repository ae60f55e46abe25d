"""Golden wire fixtures: one file per payload shape, read by the builder's and the sandbox's tests.

The builder must produce each fixture byte for byte from ``tests/golden/account.yaml``; the
sandbox, holding that config's templates as the approved ones, must accept the very same bytes.
So a producer and its consumer can only change together: regenerate with ``KCTL_UPDATE_GOLDEN=1
python -m pytest tests/test_golden_wire.py`` and review the diff.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from kctl.config.model import Account, WhatsAppProvider, load_account
from kctl.contract import sms
from kctl.contract import whatsapp as wa
from kctl.send.build import Message, build_request, whatsapp_json_request
from kctl.send.whatsapp import CardValues, Freeform, TemplateValues, validation_payload
from kctl.send.wire import Request, Via
from kctl.servers.http import HttpServer, ServerThread
from kctl.servers.sandbox import Sandbox
from kctl.servers.whatsapp_adapter import template_book

GOLDEN = Path(__file__).resolve().parent / "golden"
# CleverTap's msgId shape: digits joined by "|"
WA_MESSAGE_ID = "10000001|1767225600|20260101|10000001"
# SMS forms carry a $$MessageID in CleverTap's dotted shape (CT-SMS's own example)
SMS_MESSAGE_ID = sms.MESSAGE_ID_EXAMPLE
TO = "+919812345678"


@dataclass(frozen=True)
class Shape:
    fixture: str  # file under tests/golden/
    provider: str
    message: Message | None  # None: the validation payload CleverTap sends at provider save
    via: Via = Via.ADAPTER
    callback_url: str | None = None  # direct mode: where Kaleyra reports

    def request(self, account: Account) -> Request:
        provider = account.provider(self.provider)
        if self.message is None:
            assert isinstance(provider, WhatsAppProvider)
            payload = validation_payload(provider, TO.removeprefix("+"))
            return whatsapp_json_request(provider, payload, wa.VALIDATION_MSG_ID)
        message_id = WA_MESSAGE_ID if isinstance(provider, WhatsAppProvider) else SMS_MESSAGE_ID
        return build_request(
            provider, self.message, self.via, message_id, callback_url=self.callback_url
        )


SHAPES = [
    Shape(
        "whatsapp_template_text_header.json",
        "wa",
        Message(TO, "order_update", params=("Asha", "1234")),
    ),
    Shape(
        "whatsapp_template_image_header.json",
        "wa",
        Message(TO, "festive_offer", params=("Asha", "Sunday")),
    ),
    Shape("whatsapp_template_body_only.json", "wa", Message(TO, "plain_notice")),
    Shape(
        "whatsapp_template_buttons_offer.json",
        "wa",
        Message(
            TO,
            "flash_sale",
            params=("Asha",),
            values=TemplateValues(
                url_suffixes=("AB12",),
                coupon_code="SALE10",
                offer_expiry_ms=1767225599000,
                props=(("campaign", "diwali"), ("tier", "gold")),
            ),
        ),
    ),
    Shape(
        "whatsapp_template_carousel.json",
        "wa",
        Message(
            TO,
            "spring_picks",
            params=("Asha",),
            values=TemplateValues(
                cards=(
                    CardValues(params=("1999",), url_suffixes=("sneakers",)),
                    CardValues(params=("2999",), url_suffixes=("boots",)),
                )
            ),
        ),
    ),
    Shape(
        "whatsapp_template_document_header.json",
        "wa",
        Message(TO, "invoice_ready", params=("INV-2048",)),
    ),
    Shape("whatsapp_template_location_header.json", "wa", Message(TO, "store_location")),
    Shape(
        "whatsapp_freeform_text.json",
        "wa",
        Message(TO, freeform=Freeform("text", text="Your parcel is out for delivery.")),
    ),
    Shape(
        "whatsapp_freeform_image.json",
        "wa",
        Message(
            TO,
            freeform=Freeform(
                "image", media_url="https://cdn.example.com/parcel.jpg", caption="Your parcel"
            ),
        ),
    ),
    Shape("whatsapp_validation.json", "wa", None),
    Shape(
        "sms_adapter_text.form",
        "sms",
        Message(TO, body="Your order has shipped. - ACME", type="TXN"),
    ),
    Shape(
        "sms_adapter_dlt_template.form",
        "sms",
        Message(TO, "login_otp", params=("482913",)),
    ),
    Shape(
        "sms_adapter_custom_replacements.form",
        "sms_custom",
        Message(
            TO,
            "order_shipped",
            params=("A-1042", "Friday, 5 pm"),
            variables=(("hid", "123"),),
        ),
    ),
    Shape(
        "direct_whatsapp_template.form",
        "wa",
        Message(TO, "order_update", params=("Asha", "1234")),
        Via.DIRECT,
    ),
    Shape(
        "direct_sms.form",
        "sms",
        Message(TO, "login_otp", params=("482913",)),
        Via.DIRECT,
    ),
    Shape(
        "direct_sms_callback.form",
        "sms",
        Message(TO, body="Your order has shipped. - ACME", type="txn"),
        Via.DIRECT,
        callback_url="http://127.0.0.1:9/sms/kaleyra",
    ),
    Shape(
        "direct_whatsapp_quoted_params.form",
        "wa",
        Message(TO, "order_update", params=("Asha, Rao", 'the "1,234" box')),
        Via.DIRECT,
        callback_url="http://127.0.0.1:9/whatsapp/kaleyra",
    ),
    Shape(
        "direct_whatsapp_media_template.form",
        "wa_direct",
        Message(TO, "invoice_ready", params=("Asha", "INV-2048")),
        Via.DIRECT,
    ),
    Shape(
        "direct_whatsapp_header_and_url.form",
        "wa_direct",
        Message(
            TO,
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
    request = shape.request(account)
    path = GOLDEN / shape.fixture
    if os.environ.get("KCTL_UPDATE_GOLDEN"):
        path.write_bytes(request.body)
    assert request.body == path.read_bytes()


@pytest.fixture(scope="module")
def sandbox(account: Account) -> Iterator[tuple[Sandbox, ServerThread]]:
    # the config's templates are the approved ones: every fixture must fit its template
    app = Sandbox(dlr_delay=60, templates=template_book(account.providers))  # reports not needed
    with HttpServer(app).start_in_thread() as running:
        yield app, running


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: s.fixture)
def test_sandbox_accepts_the_fixture(
    account: Account, sandbox: tuple[Sandbox, ServerThread], shape: Shape
) -> None:
    app, running = sandbox
    # the request exactly as built, pointed at the sandbox; the body is the fixture's bytes
    request = shape.request(account)
    path = request.url.split("127.0.0.1:9", 1)[1]
    headers = {**dict(request.headers), "Content-Type": request.content_type}
    body = (GOLDEN / shape.fixture).read_bytes()
    reply = httpx.post(running.url + path, headers=headers, content=body, timeout=5)
    accepted = app.messages[-1] if app.messages else None
    if shape.via is Via.DIRECT:
        assert reply.status_code == 202, reply.text  # Kaleyra's API answers 202
        assert not reply.json().get("error")
        assert accepted is not None
        assert reply.json()["id"] == accepted.message_id
    else:
        assert reply.status_code == 200, reply.text
        assert reply.json() == {"status": "success"}
        assert accepted is not None
        assert accepted.message_id == request.message_id
    assert accepted is not None
    assert accepted.to.lstrip("+") == "919812345678"


def test_every_fixture_file_has_a_shape() -> None:
    named = {shape.fixture for shape in SHAPES}
    on_disk = {p.name for p in GOLDEN.iterdir() if p.suffix in (".json", ".form")}
    assert on_disk == named


def test_whatsapp_fixtures_are_json_objects() -> None:
    for shape in SHAPES:
        if shape.fixture.endswith(".json"):
            assert isinstance(json.loads((GOLDEN / shape.fixture).read_bytes()), dict)
