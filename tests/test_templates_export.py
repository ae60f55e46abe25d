"""CleverTap's template import (SPEC 4.9): export writes it, serve answers its paged GETs, and
the sandbox's template routes page the same way."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
import pytest

from kctl.config.model import WhatsAppTemplate
from kctl.servers.http import HttpServer
from kctl.servers.sandbox import Sandbox
from kctl.servers.template_import import ImportAuth, ImportEndpoint
from kctl.servers.templates_api import TemplatesApi
from kctl.templates.export import entries_for
from tests.support import REPO, Kctl

EXAMPLE = REPO / "configs" / "whatsapp.yaml"
COMPONENT_TYPES = {"HEADER", "BODY", "FOOTER", "BUTTONS", "LIMITED_TIME_OFFER", "CAROUSEL"}
BUTTON_TYPES = {"QUICK_REPLY", "URL", "PHONE_NUMBER", "COPY_CODE"}


def check_spec_4_9_template(t: dict[str, Any]) -> None:
    """The keys SPEC 4.9 names, with the JSON types CleverTap's samples show."""
    assert set(t) == {
        "name",
        "language",
        "status",
        "category",
        "parameter_format",
        "components",
        "id",
    }
    assert isinstance(t["id"], str)
    assert t["id"]
    assert t["status"] == "APPROVED"
    assert t["parameter_format"] == "POSITIONAL"
    assert t["category"] in {"UTILITY", "MARKETING", "AUTHENTICATION"}
    for c in t["components"]:
        assert c["type"] in COMPONENT_TYPES
        if c["type"] == "BODY" and "example" in c:
            rows = c["example"]["body_text"]
            assert isinstance(rows, list)
            assert all(isinstance(v, str) for v in rows[0])
        if c["type"] == "HEADER" and c["format"] in {"IMAGE", "VIDEO", "DOCUMENT"}:
            assert isinstance(c["example"]["header_handle"][0], str)
        if c["type"] == "BUTTONS":
            assert {b["type"] for b in c["buttons"]} <= BUTTON_TYPES
        assert "kctl_sample" not in json.dumps(c)


def test_export_for_clevertap_text_offer_and_carousel(kctl: Kctl) -> None:
    done = kctl("templates", "export", "-c", str(EXAMPLE))
    assert done.exit_code == 0, done
    doc = json.loads(done.stdout)
    assert set(doc) == {"data", "paging"}
    assert set(doc["paging"]) == {"cursors"}  # one page: no next
    by_name = {t["name"]: t for t in doc["data"]}
    for t in doc["data"]:
        check_spec_4_9_template(t)

    text = by_name["order_update"]
    assert [c["type"] for c in text["components"]] == ["HEADER", "BODY", "FOOTER", "BUTTONS"]
    assert text["components"][1] == {
        "type": "BODY",
        "text": "Hi {{1}}, your order {{2}} has shipped.",
        "example": {"body_text": [["Asha", "1234"]]},
    }
    assert [b["type"] for b in text["components"][3]["buttons"]] == [
        "QUICK_REPLY",
        "URL",
        "PHONE_NUMBER",
    ]

    offer = by_name["festive_offer"]
    assert offer["category"] == "MARKETING"
    assert offer["components"][1] == {
        "type": "LIMITED_TIME_OFFER",
        "limited_time_offer": {"text": "Buy 1 Get 1", "has_expiration": True},
    }
    assert offer["components"][3]["buttons"][0] == {
        "type": "COPY_CODE",
        "text": "Copy code",
        "example": ["BOGO24"],
    }

    carousel = by_name["spring_picks"]
    assert [c["type"] for c in carousel["components"]] == ["BODY", "CAROUSEL"]
    cards = carousel["components"][1]["cards"]
    assert len(cards) == 2
    assert cards[0]["components"] == [
        {
            "type": "HEADER",
            "format": "IMAGE",
            "example": {"header_handle": ["https://cdn.example.com/sneakers.png"]},
        },
        {"type": "BODY", "text": "Sneakers from {{1}}", "example": {"body_text": [["1999"]]}},
        {
            "type": "BUTTONS",
            "buttons": [
                {
                    "type": "URL",
                    "text": "Shop",
                    "url": "https://shop.example.com/p/{{1}}",
                    "example": ["https://shop.example.com/p/sneakers"],
                }
            ],
        },
    ]


def many(n: int) -> list[WhatsAppTemplate]:
    return [WhatsAppTemplate(name=f"t_{i:03d}", language="en", body=f"Body {i}") for i in range(n)]


def get(url: str, headers: dict[str, str] | None = None) -> tuple[int, Any]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=5) as reply:  # loopback only
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_serve_pages_120_templates_by_50() -> None:
    endpoint = ImportEndpoint(entries_for(many(120)))
    with HttpServer(endpoint).start_in_thread() as server:
        url: str | None = f"{server.url}/import?limit=50"
        names: list[str] = []
        pages = []
        while url:
            status, doc = get(url)
            assert status == 200, doc
            pages.append(len(doc["data"]))
            names += [t["name"] for t in doc["data"]]
            cursors = doc["paging"]["cursors"]
            assert set(cursors) == {"before", "after"}
            url = doc["paging"].get("next")
            if url:
                split = urlsplit(url)
                assert f"{split.scheme}://{split.netloc}" == server.url
                assert split.path == "/import"
                query = parse_qs(split.query)
                assert query["limit"] == ["50"]
                assert query["after"] == [cursors["after"]]
    assert pages == [50, 50, 20]
    assert names == [f"t_{i:03d}" for i in range(120)]


@pytest.mark.parametrize(
    ("query", "status"),
    [("limit=0", 400), ("limit=abc", 400), ("after=bm90LWpzb24", 400), ("limit=5000", 200)],
)
def test_serve_refuses_what_it_cannot_page(query: str, status: int) -> None:
    with HttpServer(ImportEndpoint(entries_for(many(3)))).start_in_thread() as server:
        got, doc = get(f"{server.url}/?{query}")
    assert got == status, doc
    if status == 400:
        assert doc["error"]["code"] == 400


@pytest.mark.parametrize("kind", ["basic", "token", "custom header"])
def test_serve_with_auth_needs_the_credentials(kind: str) -> None:
    if kind == "basic":
        auth = ImportAuth("basic", "s3cret-pass", username="clevertap")
        good = {"Authorization": "Basic " + base64.b64encode(b"clevertap:s3cret-pass").decode()}
        bad = {"Authorization": "Basic " + base64.b64encode(b"clevertap:nope").decode()}
    elif kind == "token":
        auth = ImportAuth("token", "tok-123456789")
        good, bad = {"Authorization": "Bearer tok-123456789"}, {"Authorization": "Bearer x"}
    else:
        auth = ImportAuth("token", "tok-123456789", header="X-Import-Token")
        good, bad = {"X-Import-Token": "tok-123456789"}, {"Authorization": "Bearer tok-123456789"}
    with HttpServer(ImportEndpoint(entries_for(many(3)), auth=auth)).start_in_thread() as server:
        assert get(f"{server.url}/?limit=50")[0] == 401
        assert get(f"{server.url}/?limit=50", bad)[0] == 401
        status, doc = get(f"{server.url}/?limit=50", good)
    assert status == 200
    assert len(doc["data"]) == 3


def test_serve_command_prints_its_url_first_and_answers(tmp_path: Path) -> None:
    env = {**os.environ, "CT_IMPORT_TOKEN": "tok-abcdef123456"}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "kctl",
            "templates",
            "serve",
            "-c",
            str(EXAMPLE),
            "--port",
            "0",
            "--auth-token",
            "${CT_IMPORT_TOKEN}",
            "--timeout",
            "20",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline().strip()
        assert first.startswith("http://127.0.0.1:")
        assert first.rsplit(":", 1)[1].isdigit()
        status, doc = get(f"{first}/?limit=50", {"Authorization": "Bearer tok-abcdef123456"})
        assert status == 200
        assert [t["name"] for t in doc["data"]][:2] == ["order_update", "shipment_tracking"]
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=10)
    assert "tok-abcdef123456" not in err
    assert "6 template(s) of provider Kaleyra" in err


def test_serve_refuses_a_literal_secret(kctl: Kctl) -> None:
    done = kctl("templates", "serve", "-c", str(EXAMPLE), "--auth-token", "plain-token-value")
    assert done.exit_code == 2
    assert "reference" in done.stderr
    assert "plain-token-value" not in done.stderr


# --- the sandbox's template routes ----------------------------------------------------------


@pytest.fixture
def sandbox_url() -> Iterator[tuple[str, TemplatesApi]]:
    api = TemplatesApi([(t, "APPROVED") for t in many(60)], sid="HXIN1", waba_id="77")
    sandbox = Sandbox()
    sandbox.templates_api = api
    with HttpServer(sandbox).start_in_thread() as server:
        yield server.url, api


def test_sandbox_v2_pages_and_v1_lists_statuses(sandbox_url: tuple[str, TemplatesApi]) -> None:
    url, api = sandbox_url
    key = {"api-key": "any-key-will-do"}
    api.store.set_status("t_001", "en", "submission rejected")
    status, first = get(f"{url}/v2/HXIN1/whatsapp/77/message_templates", key)
    assert status == 200
    assert len(first["data"]) == 25
    assert first["data"][1]["status"] == "SUBMISSION_REJECTED"
    status, second = get(first["paging"]["next"], key)
    assert next(t["name"] for t in second["data"]) == "t_025"

    status, v1 = get(f"{url}/v1/HXIN1/whatsapp/templates/status?name=t_001", key)
    assert status == 200
    assert [(t["name"], t["status"]) for t in v1["data"]] == [("t_001", "Submission Rejected")]


@pytest.mark.parametrize(
    ("path", "headers", "status"),
    [
        ("/v2/HXIN1/whatsapp/77/message_templates", {}, 401),
        ("/v2/OTHER/whatsapp/77/message_templates", {"api-key": "k"}, 401),
        ("/v2/HXIN1/whatsapp/78/message_templates", {"api-key": "k"}, 404),
        ("/v2/HXIN1/whatsapp/77/message_templates?limit=-1", {"api-key": "k"}, 400),
        ("/v1/HXIN1/whatsapp/templates/status", {}, 401),
    ],
)
def test_sandbox_template_routes_refuse_like_kaleyra(
    sandbox_url: tuple[str, TemplatesApi], path: str, headers: dict[str, str], status: int
) -> None:
    url, _ = sandbox_url
    got, doc = get(url + path, headers)
    assert got == status
    assert doc["error"]["message"]


def test_sandbox_without_template_api_keeps_its_404(kctl: Kctl) -> None:
    with HttpServer(Sandbox()).start_in_thread() as server:
        got, doc = get(f"{server.url}/v1/HXIN1/whatsapp/templates/status", {"api-key": "k"})
    assert got == 404
    assert "no route" in doc["error"]["message"]


def test_a_template_paused_on_the_template_api_fails_its_next_send(tmp_path: Path) -> None:
    """One approved set: the status Kaleyra's template APIs show is the one a send meets."""
    from kctl.config.model import WhatsAppProvider, load_account
    from kctl.send.build import Message, build_request
    from kctl.send.wire import Via
    from kctl.servers.http import HttpServer
    from kctl.servers.sandbox import Sandbox
    from kctl.servers.templates_api import TemplatesApi, store_for
    from kctl.servers.whatsapp_adapter import template_book

    providers = load_account(str(REPO / "configs" / "whatsapp.yaml")).providers
    wa = providers[0]
    assert isinstance(wa, WhatsAppProvider)
    store = store_for(providers)
    app = Sandbox(dlr_delay=60, templates=template_book(providers))
    app.templates_api = TemplatesApi(store)
    message = Message("+919812345678", "order_update", params=("Asha", "1234"))
    with HttpServer(app).start_in_thread() as running, httpx.Client(trust_env=False) as client:

        def send() -> Any:
            request = build_request(wa, message, Via.ADAPTER)
            headers = {
                "api-key": "k",
                "sid": "HXIN1234567890",
                "kaleyra-host": "https://api.kaleyra.io/",
                "inbound-message-callback-url": f"{running.url}/in",
                "delivery-report-callback-url": f"{running.url}/dlr",
                "Content-Type": request.content_type,
            }
            return client.post(f"{running.url}/whatsapp", headers=headers, content=request.body)

        assert send().json() == {"status": "success"}
        store.set_status("order_update", "en", "PAUSED")
        paused = client.get(
            f"{running.url}/v1/HXIN1234567890/whatsapp/templates/status",
            params={"name": "order_update"},
            headers={"api-key": "k"},
        )
        assert "Paused" in paused.text
        refused = send().json()
        assert refused["error"]["code"] == 2001
        assert "PAUSED" in refused["error"]["message"]
