"""The WhatsApp payload CleverTap sends (SPEC 4.1), built from a real config file: every
component kind, freeform messages, the validation payload, and the refusals when a send lacks
values its template needs."""

from __future__ import annotations

import dataclasses
import json
import re
from pathlib import Path
from typing import Any

import pytest

from kctl.config.model import WhatsAppProvider, load_account
from kctl.errors import UsageError
from kctl.send.build import Message, build_request
from kctl.send.whatsapp import (
    CardValues,
    Freeform,
    Location,
    TemplateValues,
    new_msg_id,
    validation_payload,
)
from kctl.send.wire import Via
from tests.servers import Reply, serve
from tests.support import Kctl

CONFIG = """\
version: 1
providers:
  - nickname: wa
    channel: whatsapp
    endpoint: {endpoint}
    business_number: "+919876543210"
    payload_version: "0.1"
    headers:
      api-key: ${{KCTL_TEST_KEY}}
      sid: HXIN1234567890
      kaleyra-host: https://api.kaleyra.io/
      inbound-message-callback-url: https://in1.example-clevertap.com/wa/inbound/abc
      delivery-report-callback-url: https://in1.example-clevertap.com/wa/dlr/abc
    templates:
      - name: order_update
        language: en
        header: {{type: text, text: "Order {{{{1}}}}"}}
        body: "Hi {{{{1}}}}, your order {{{{2}}}} has shipped."
        footer: "Reply STOP to opt out"
        buttons:
          - {{type: quick_reply, text: Track}}
          - {{type: url, text: Visit, url: "https://shop.example.com/orders"}}
          - {{type: url, text: Follow, url: "https://shop.example.com/t/{{{{1}}}}"}}
          - {{type: phone, text: Call us, phone_number: "+919812345678"}}
      - name: festive_offer
        language: en_US
        category: marketing
        header: {{type: image, url: "https://cdn.example.com/offer.png"}}
        body: "Buy one get one free."
        limited_time_offer: {{title: "Buy 1 Get 1", expires: true}}
        buttons:
          - {{type: copy_code, text: Copy code, example: BOGO24}}
      - name: invoice_ready
        language: en
        header: {{type: document, url: "https://cdn.example.com/inv.pdf", filename: Invoice.pdf}}
        body: "Your invoice is attached."
      - name: clip
        language: en
        header: {{type: video, url: "https://cdn.example.com/clip.mp4"}}
        body: "Watch this."
      - name: store
        language: en
        header: {{type: location, latitude: 12.9716, longitude: 77.5946, name: "MG Road"}}
        body: "We are open until 9 pm."
      - name: picks
        language: en
        category: marketing
        body: "Picks for {{{{1}}}}."
        carousel:
          - header: {{type: image, url: "https://cdn.example.com/1.png"}}
            body: "Sneakers from {{{{1}}}}"
            buttons: [{{type: url, text: Shop, url: "https://shop.example.com/p/{{{{1}}}}"}}]
          - header: {{type: image, url: "https://cdn.example.com/2.png"}}
            body: "Boots"
            buttons: [{{type: url, text: Shop, url: "https://shop.example.com/p/{{{{1}}}}"}}]
"""
TO = "+919812345678"


@pytest.fixture
def provider(tmp_path: Path) -> WhatsAppProvider:
    path = tmp_path / "wa.yaml"
    path.write_text(CONFIG.format(endpoint="https://ct-adapter.example.com/whatsapp"))
    chosen = load_account(str(path)).provider("wa")
    assert isinstance(chosen, WhatsAppProvider)
    return chosen


def payload(provider: WhatsAppProvider, message: Message) -> Any:
    request = build_request(provider, message, Via.ADAPTER, "1|2|3|4")
    assert request.content_type == "application/json"
    return json.loads(request.body)


def components(provider: WhatsAppProvider, template: str, **values: Any) -> list[Any]:
    params = values.pop("params", ())
    message = Message(TO, template, params=params, values=TemplateValues(**values))
    result: list[Any] = payload(provider, message)["components"]
    return result


def test_envelope_has_clevertaps_types(provider: WhatsAppProvider) -> None:
    body = payload(provider, Message(TO, "clip"))
    assert body["payloadVersion"] == 0.1  # a JSON number, as CleverTap sends it
    assert isinstance(body["payloadVersion"], float)
    assert (body["to"], body["wabaNumber"]) == ("919812345678", "919876543210")
    assert body["isTemplate"] is True
    assert body["msgId"] == "1|2|3|4"
    assert body["template"] == {"namespace": "clip", "languageCode": "en"}


def test_every_component_in_order(provider: WhatsAppProvider) -> None:
    got = components(
        provider, "order_update", params=("Asha", "1234"), header_param="A-77",
        url_suffixes=("AB12",), props=(("tier", "gold"),),
    )  # fmt: skip
    assert got == [
        {
            "type": "header",
            "header": {
                "type": "text",
                "text": {"text": "Order A-77", "parameters": [{"type": "text", "text": "A-77"}]},
            },
        },
        {
            "type": "body",
            "body": {
                "text": "Hi Asha, your order 1234 has shipped.",
                "parameters": [{"type": "text", "text": "Asha"}, {"type": "text", "text": "1234"}],
            },
        },
        {"type": "footer", "footer": "Reply STOP to opt out"},
        {"type": "button", "index": 0, "subType": "quickReply", "buttonText": "Track"},
        {
            "type": "button",
            "index": 1,
            "subType": "staticUrl",
            "buttonText": "Visit",
            "parameters": [{"type": "text", "text": "https://shop.example.com/orders"}],
        },
        {
            "type": "button",
            "index": 2,
            "subType": "dynamicUrl",
            "buttonText": "Follow",
            "parameters": [{"type": "text", "text": "AB12"}],
        },
        {
            "type": "button",
            "index": 3,
            "subType": "callPhone",
            "buttonText": "Call us",
            "parameters": [{"type": "text", "text": "+919812345678"}],
        },
        {"customProps": [{"tier": "gold"}]},
    ]


def test_missing_send_time_values_are_all_named(provider: WhatsAppProvider) -> None:
    with pytest.raises(UsageError) as caught:
        components(provider, "order_update", params=("Asha", "1234"))
    assert "--header-param" in caught.value.message
    assert "--url-suffix (button 'Follow')" in caught.value.message


def test_media_headers(provider: WhatsAppProvider) -> None:
    image = components(provider, "festive_offer", coupon_code="SAVE10", offer_expiry_ms=1)[0]
    assert image == {
        "type": "header",
        "header": {"type": "image", "image": {"mediaURL": "https://cdn.example.com/offer.png"}},
    }
    other = components(
        provider, "clip", media_url="https://cdn.example.com/other.mp4"
    )[0]  # fmt: skip
    assert other["header"] == {
        "type": "video",
        "video": {"mediaURL": "https://cdn.example.com/other.mp4"},
    }
    document = components(provider, "invoice_ready")[0]
    assert document["header"] == {
        "type": "file",
        "file": {"mediaURL": "https://cdn.example.com/inv.pdf", "filename": "Invoice.pdf"},
    }


def test_location_header_sends_strings(provider: WhatsAppProvider) -> None:
    header = components(provider, "store")[0]["header"]
    assert header == {
        "type": "location",
        "location": {"latitude": "12.9716", "longitude": "77.5946", "name": "MG Road"},
    }
    moved = components(provider, "store", location=Location("28.6139", "77.2090", "CP"))[0]
    assert moved["header"]["location"] == {
        "latitude": "28.6139",
        "longitude": "77.2090",
        "name": "CP",
    }


def test_offer_and_copy_code(provider: WhatsAppProvider) -> None:
    got = components(provider, "festive_offer", coupon_code="SAVE10", offer_expiry_ms=1767225599000)
    offer, button = got[2], got[3]
    assert offer == {
        "type": "limited_time_offer",
        "text": "Buy 1 Get 1",
        "parameters": [
            {
                "type": "limited_time_offer",
                "limited_time_offer": {"expiration_time_ms": 1767225599000},
            }
        ],
    }
    assert button["subType"] == "copy_code"
    assert button["parameters"] == [{"type": "coupon_code", "coupon_code": "SAVE10"}]
    with pytest.raises(UsageError) as caught:
        components(provider, "festive_offer")
    assert "--offer-expiry" in caught.value.message
    assert "--coupon-code" in caught.value.message


def test_carousel_cards(provider: WhatsAppProvider) -> None:
    cards = (CardValues(("1999",), ("sneakers",)), CardValues((), ("boots",)))
    got = components(provider, "picks", params=("Asha",), cards=cards)
    assert [c["type"] for c in got] == ["body", "carousel"]
    first, second = got[1]["cards"]
    assert [c["type"] for c in first["components"]] == ["header", "body", "button"]
    assert first["components"][1]["body"]["text"] == "Sneakers from 1999"
    assert first["components"][2]["index"] == 0
    assert first["components"][2]["parameters"] == [{"type": "text", "text": "sneakers"}]
    assert second["components"][0]["header"]["image"]["mediaURL"].endswith("/2.png")
    with pytest.raises(UsageError, match="--card-param 1=VALUE"):
        components(provider, "picks", params=("Asha",), cards=(CardValues((), ("x",)),))


def test_values_without_a_place_are_refused(provider: WhatsAppProvider) -> None:
    with pytest.raises(UsageError, match="no place for --offer-expiry, --card"):
        components(
            provider, "clip", offer_expiry_ms=1, cards=(CardValues(("x",)),)
        )  # fmt: skip


@pytest.mark.parametrize(
    ("freeform", "expected"),
    [
        (Freeform("text", text="Hello"), {"type": "text", "text": {"body": "Hello"}}),
        (
            Freeform("image", media_url="https://cdn.example.com/a.png", caption="Look"),
            {
                "type": "image",
                "image": {"mediaURL": "https://cdn.example.com/a.png", "caption": "Look"},
            },
        ),
        (
            Freeform("audio", media_url="https://cdn.example.com/a.mp3"),
            {"type": "audio", "audio": {"mediaURL": "https://cdn.example.com/a.mp3"}},
        ),
        (
            Freeform("file", media_url="https://cdn.example.com/x/inv.pdf", caption="Bill"),
            {
                "type": "file",
                "file": {
                    "mediaURL": "https://cdn.example.com/x/inv.pdf",
                    "caption": "Bill",
                    "filename": "inv.pdf",
                },
            },
        ),
    ],
    ids=["text", "image", "audio", "file"],
)
def test_freeform_messages(
    provider: WhatsAppProvider, freeform: Freeform, expected: dict[str, Any]
) -> None:
    body = payload(provider, Message(TO, freeform=freeform))
    assert body["isTemplate"] is False
    assert "template" not in body
    assert "components" not in body
    assert {k: body[k] for k in expected} == expected


def test_validation_payload_is_clevertaps(provider: WhatsAppProvider) -> None:
    assert validation_payload(provider, "919800000000") == {
        "payloadVersion": 0.1,
        "to": "919800000000",
        "wabaNumber": "919876543210",
        "isTemplate": True,
        "msgId": "0|0|0|0",
        "template": {"namespace": "whatsapp:hsm:technology:generic:verify", "languageCode": "en"},
        "components": [
            {
                "type": "body",
                "body": {
                    "text": "1 code: 2.Valid for 3 minutes.",
                    "parameters": [
                        {"type": "text", "text": "1"},
                        {"type": "text", "text": "2"},
                        {"type": "text", "text": "3"},
                    ],
                },
            }
        ],
    }


def test_msg_ids_are_unique_and_clevertap_shaped() -> None:
    ids = {new_msg_id() for _ in range(500)}
    assert len(ids) == 500
    for value in ids:
        assert re.fullmatch(r"[0-9]{8}\|[0-9]{10}\|[0-9]{8}\|[0-9]{8}", value)
        assert len(value) <= 60


def test_message_options_are_frozen_values() -> None:
    values = TemplateValues(params=("a",))
    with pytest.raises(AttributeError, match="frozen"):
        values.params = ("x",)  # type: ignore[misc]
    with pytest.raises(AttributeError, match="frozen"):
        del values.params
    assert values.replace(params=("x",)) == TemplateValues(params=("x",))
    assert values.params == ("a",)
    assert hash(values) == hash(TemplateValues(params=("a",)))


# --- CleverTap's one-second deadline ----------------------------------------------------------


@pytest.mark.parametrize(
    ("delay", "code", "shown"),
    [(0.0, 0, "✓ accepted"), (1.3, 4, "answered in 1.3")],
    ids=["in-time", "late-success-is-a-timeout"],
)
def test_a_late_success_is_a_timeout_for_clevertap(
    kctl: Kctl, tmp_path: Path, delay: float, code: int, shown: str
) -> None:
    reply = dataclasses.replace(Reply.json({"status": "success"}), delay=delay)
    with serve(lambda _r: reply) as server:
        path = tmp_path / "wa.yaml"
        path.write_text(CONFIG.format(endpoint=server.url("/whatsapp")))
        result = kctl(
            "send-test", "--config", str(path), "--to", TO, "--template", "clip",
            env={"KCTL_TEST_KEY": "k-0123456789"},
        )  # fmt: skip
    assert result.exit_code == code, result
    assert shown in result.stdout
    if code:
        assert "CleverTap gives up after 1 s" in result.stdout
        assert "HTTP/1.1 200 OK" in result.stdout  # the reply is still shown


def test_random_below_covers_its_range_evenly() -> None:
    from collections import Counter

    from kctl.send.whatsapp import random_below

    assert {random_below(1) for _ in range(50)} == {0}
    for bound in (2, 3, 10, 255, 256, 257, 10**8, 9 * 10**8, 2**64 + 1):
        draws = [random_below(bound) for _ in range(300)]
        assert all(0 <= d < bound for d in draws), bound
        assert len(set(draws)) > min(bound, 300) // 2, bound  # not stuck on a few values
    # a bound just past a power of two: half the draws are redrawn, none folded onto low values
    counts = Counter(random_below(5) for _ in range(20_000))
    assert set(counts) == {0, 1, 2, 3, 4}
    assert max(counts.values()) - min(counts.values()) < 600  # 4,000 each, give or take
