"""The sandbox's /whatsapp route against CleverTap's published request shapes, over real sockets.

The shapes are data: ``tests/cases/whatsapp_requests/accepted/*.json`` are request bodies as
CleverTap's Generic WhatsApp page documents them (every component kind, both message kinds,
the validation payload bare and wrapped, each documented variant); ``refused/*.json`` each
hold a body a real adapter refuses, with the refusal and failure code it must get. Cases marked
``approved`` run against a sandbox that knows ``approved.yaml``'s templates. Adding a case is
adding a file.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from kctl.config.model import load_account
from kctl.contract import whatsapp as wa
from kctl.errors import UsageError
from kctl.servers import whatsapp_adapter as adapter
from kctl.servers.http import ServerThread
from kctl.servers.listener import Listener
from tests.support import CASES, REPO, SandboxFactory
from tests.test_sandbox import wa_headers

REQUESTS = CASES / "whatsapp_requests"
ACCEPTED = sorted((REQUESTS / "accepted").glob("*.json"))
REFUSED = sorted((REQUESTS / "refused").glob("*.json"))
APPROVED = str(REQUESTS / "approved.yaml")
EXAMPLE = str(REPO / "configs" / "whatsapp.yaml")
REFUSALS = {
    name: value for name, value in vars(adapter).items() if isinstance(value, adapter.Refusal)
}


def load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def book(statuses: list[str] | None = None) -> adapter.TemplateBook:
    return adapter.template_book(load_account(APPROVED).providers, statuses or ())


def post(client: httpx.Client, sandbox_url: str, body: bytes, callbacks: str) -> httpx.Response:
    headers = {**wa_headers(callbacks), "Content-Type": "application/json"}
    return client.post(f"{sandbox_url}/whatsapp", content=body, headers=headers)


def inner(payload: dict[str, Any]) -> dict[str, Any]:
    unwrapped = payload.get(wa.VALIDATION_WRAPPER, payload)
    assert isinstance(unwrapped, dict)
    return unwrapped


# --- CleverTap's shapes are accepted -------------------------------------------------------------


def test_the_fixture_set_covers_every_kind_and_variant() -> None:
    """The accepted set is the documented surface: a kind or variant missing from it is a gap
    in what the sandbox is shown to accept."""
    payloads = [inner(load(p)) for p in ACCEPTED]
    components = [c for p in payloads for c in p.get("components", [])]
    kinds = {c.get("type") for c in components}
    assert {"header", "body", "footer", "limited_time_offer", "button", "carousel", None} <= kinds
    headers = {c["header"]["type"] for c in components if c.get("type") == "header"}
    assert headers == set(wa.WIRE_HEADER_TYPES.values())
    subtypes = {c["subType"] for c in components if c.get("type") == "button"}
    assert subtypes == set(wa.SUBTYPES)
    freeform = {p["type"] for p in payloads if p.get("isTemplate") is False}
    assert freeform == set(wa.FREEFORM_TYPES)
    keys = {k for p in payloads for k in p} | {k for c in components for k in c}
    for variants in (wa.PAYLOAD_VERSION_KEYS, wa.MSG_ID_KEYS, wa.FOOTER_KEYS):
        assert set(variants) <= keys
    assert wa.CUSTOM_PROPS_KEY in {k for p in payloads for k in p}  # at the top level too
    versions = {type(p.get("payloadVersion", p.get("payloadversion"))) for p in payloads}
    assert versions == {float, str}
    assert any(p["to"].startswith("+") for p in payloads)
    assert any(wa.VALIDATION_WRAPPER in load(p) for p in ACCEPTED)


@pytest.mark.parametrize("path", ACCEPTED, ids=lambda p: p.stem)
def test_clevertap_shapes_are_accepted(
    start_sandbox: SandboxFactory, client: httpx.Client, path: Path
) -> None:
    sandbox, server = start_sandbox()
    response = post(client, server.url, path.read_bytes(), "http://127.0.0.1:9")
    assert response.status_code == 200
    assert response.json() == {"status": "success"}, response.json()
    payload = inner(load(path))
    (accepted,) = sandbox.messages
    assert accepted.message_id == payload.get("msgId", payload.get("msg_id"))
    assert accepted.to == payload["to"].removeprefix("+")


def test_every_accepted_shape_gets_reports_that_listen_accepts(
    start_sandbox: SandboxFactory,
    client: httpx.Client,
    listener: tuple[Listener, ServerThread],
) -> None:
    reports, callbacks = listener
    sandbox, server = start_sandbox()
    for path in ACCEPTED:
        assert (
            post(client, server.url, path.read_bytes(), callbacks.url).json()["status"] == "success"
        )
    # three reports each (sent, delivered, read), and Clicked where a URL button's URL is known
    clicks = [p.stem for p in ACCEPTED if adapter.check_payload(load(p)).clicked_url]
    expected = 3 * len(ACCEPTED) + len(clicks)
    results = sandbox.wait_for_callbacks(expected, 10.0)
    assert len(results) == expected
    assert {r.outcome for r in results} == {"posted"}  # listen answered each with a 2xx
    received = reports.wait_for(expected, 5.0)
    assert [r.problems for r in received if not r.ok] == []
    clicked = [d for r in received for d in r.deliveries if d.status == wa.CLICKED]
    assert len(clicked) == len(clicks) > 0


def test_a_clicked_report_carries_the_url_of_the_first_url_button(
    start_sandbox: SandboxFactory,
    client: httpx.Client,
    listener: tuple[Listener, ServerThread],
) -> None:
    reports, callbacks = listener
    _, server = start_sandbox()
    body = (REQUESTS / "accepted" / "template_limited_time_offer.json").read_bytes()
    post(client, server.url, body, callbacks.url)
    msg_id = load(REQUESTS / "accepted" / "template_limited_time_offer.json")["msgId"]
    report = reports.await_report(msg_id, 5.0, {wa.CLICKED})
    assert report is not None
    (entry,) = report.payload["statuses"]
    assert entry["status"] == "Clicked"
    assert entry["url"] == "https://shop.example.org/sale"
    assert entry["shortUrl"].startswith("https://")
    assert entry["userAgent"]
    assert isinstance(entry["ts"], int)
    assert "timestamp" not in entry
    assert report.payload["payloadVersion"] == "0.1"
    statuses = [d.status for r in reports.wait_for(4, 5.0) for d in r.deliveries]
    assert statuses == ["sent", "delivered", "read", "Clicked"]


def test_a_dynamic_url_click_is_the_approved_url_with_the_suffix(
    start_sandbox: SandboxFactory,
    client: httpx.Client,
    listener: tuple[Listener, ServerThread],
) -> None:
    reports, callbacks = listener
    approved = adapter.template_book(load_account(EXAMPLE).providers)
    _, server = start_sandbox(templates=approved)
    payload = {
        "payloadVersion": 0.1,
        "to": "919812345678",
        "wabaNumber": "919876543210",
        "isTemplate": True,
        "msgId": "1|2|3|4",
        "template": {"namespace": "shipment_tracking", "languageCode": "en"},
        "components": [
            {
                "type": "header",
                "header": {
                    "type": "text",
                    "text": {
                        "text": "Parcel AB12",
                        "parameters": [{"type": "text", "text": "AB12"}],
                    },
                },
            },
            {
                "type": "body",
                "body": {
                    "text": "Your parcel is on its way, Asha.",
                    "parameters": [{"type": "text", "text": "Asha"}],
                },
            },
            {
                "type": "button",
                "index": 0,
                "subType": "dynamicUrl",
                "buttonText": "Follow",
                "parameters": [{"type": "text", "text": "AB12"}],
            },
        ],
    }
    response = post(client, server.url, json.dumps(payload).encode(), callbacks.url)
    assert response.json() == {"status": "success"}
    report = reports.await_report("1|2|3|4", 5.0, {wa.CLICKED})
    assert report is not None
    assert report.payload["statuses"][0]["url"] == "https://shop.example.com/t/AB12"


def test_no_click_is_made_up_when_the_url_is_unknown() -> None:
    payload = load(REQUESTS / "accepted" / "template_carousel.json")
    # the cards' dynamic URLs carry bare suffixes, and no template tells the rest of the URL
    assert adapter.check_payload(payload).clicked_url is None


# --- what a real adapter refuses ------------------------------------------------------------------


def test_every_refusal_has_a_case_and_its_code_in_the_table() -> None:
    cases = [load(p) for p in REFUSED]
    assert {c["refusal"] for c in cases} == set(REFUSALS)
    assert set(REFUSALS.values()) == set(adapter.REFUSALS)
    for case in cases:
        assert REFUSALS[case["refusal"]].code == case["code"], case


@pytest.mark.parametrize("path", REFUSED, ids=lambda p: p.stem)
def test_what_an_adapter_refuses_gets_its_failure_code(
    start_sandbox: SandboxFactory,
    client: httpx.Client,
    listener: tuple[Listener, ServerThread],
    path: Path,
) -> None:
    case = load(path)
    templates = book(case.get("template_status")) if case.get("approved") else None
    reports, callbacks = listener
    sandbox, server = start_sandbox(templates=templates)
    body = json.dumps(case["payload"]).encode()

    response = post(client, server.url, body, callbacks.url)

    assert response.status_code == 200
    answer = response.json()
    assert answer["status"] == "failure"
    assert answer["error"]["code"] == case["code"]
    assert case["says"] in answer["error"]["message"]
    problems = adapter.check_payload(case["payload"], templates).problems
    assert {refusal for refusal, _ in problems} == {REFUSALS[case["refusal"]]}, problems
    assert sandbox.messages == []
    assert sandbox.pending_reports == 0
    assert reports.reports == []


def test_approved_templates_accept_what_fits_them(
    start_sandbox: SandboxFactory, client: httpx.Client
) -> None:
    _, server = start_sandbox(templates=book())
    payload = {
        "payloadversion": "0.1",
        "to": "+919812345678",
        "wabaNumber": "+919876543210",  # the config's business number, written with '+'
        "isTemplate": True,
        "msg_id": "1|2|3|4|5",
        "template": {"namespace": "order_update", "languageCode": "en"},
        "components": [
            {
                "type": "header",
                "header": {
                    "type": "text",
                    "text": {
                        "text": "Order 1234",
                        "parameters": [{"type": "text", "text": "1234"}],
                    },
                },
            },
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
            {"type": "button", "index": 0, "subType": "quickReply", "buttonText": "Track"},
        ],
    }
    response = post(client, server.url, json.dumps(payload).encode(), "http://127.0.0.1:9")
    assert response.json() == {"status": "success"}
    # the validation payload and freeform messages are no templates of the config
    for name in ("validation_wrapped_in_body", "freeform_text"):
        body = (REQUESTS / "accepted" / f"{name}.json").read_bytes()
        assert post(client, server.url, body, "http://127.0.0.1:9").json() == {"status": "success"}


def test_a_template_status_applies_to_its_language_only_when_one_is_given() -> None:
    everywhere = book(["paused_promo=paused"])
    assert everywhere.numbers["919876543210"][("paused_promo", "en")].status == "PAUSED"
    elsewhere = book(["order_update:en=REJECTED"])
    assert elsewhere.numbers["919876543210"][("order_update", "en")].status == "REJECTED"
    assert elsewhere.numbers["919876543210"][("paused_promo", "en")].status == "APPROVED"


@pytest.mark.parametrize(
    ("status", "words"),
    [
        ("festive_offer=PAUSED", "names no WhatsApp template"),
        ("order_update:hi=PAUSED", "order_update:hi"),
        ("order_update=GONE", "NAME[:LANG]=STATUS"),
        ("order_update", "NAME[:LANG]=STATUS"),
    ],
)
def test_a_template_status_must_name_a_template_and_a_status(status: str, words: str) -> None:
    with pytest.raises(UsageError) as error:
        book([status])
    assert words in error.value.message


def test_the_embedded_pair_approves_the_providers_templates(client: httpx.Client) -> None:
    """send-test --sandbox hands its provider to local_pair: that provider's templates are the
    approved set, so a template it does not have is refused."""
    from kctl.servers.sandbox import local_pair

    provider = load_account(EXAMPLE).provider(None)
    stranger = (REQUESTS / "accepted" / "template_video_header.json").read_bytes()
    with local_pair(provider=provider) as pair:
        refused = post(client, pair.sandbox_url, stranger, pair.listener_url)
    with local_pair() as pair:
        accepted = post(client, pair.sandbox_url, stranger, pair.listener_url)
    assert refused.json()["error"]["code"] == 2001
    assert (
        "'product_demo' (en) is not approved for 919876543210" in refused.json()["error"]["message"]
    )
    assert accepted.json() == {"status": "success"}
