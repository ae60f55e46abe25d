"""kctl listen answers WhatsApp callbacks as CleverTap does, over real sockets on 127.0.0.1.

The callbacks are data: ``tests/cases/whatsapp_callbacks/accepted/*.json`` are status and
inbound callbacks in every variant CleverTap's page documents, each answered 200 with
CleverTap's success body; ``refused/*.json`` each lack (or break) a mandatory field and name it,
and get CleverTap's 400 body naming exactly that field. Adding a case is adding a file.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from kctl.contract import replies
from kctl.servers.http import HttpServer, ServerThread
from kctl.servers.listener import WHATSAPP_DLR, WHATSAPP_INBOUND, Listener
from tests.support import CASES, Lines

CALLBACKS = CASES / "whatsapp_callbacks"
ACCEPTED = sorted((CALLBACKS / "accepted").glob("*.json"))
REFUSED = sorted((CALLBACKS / "refused").glob("*.json"))


@pytest.fixture(scope="module")
def running() -> Iterator[tuple[Listener, ServerThread, Lines]]:
    lines = Lines()
    app = Listener(lines)
    with HttpServer(app).start_in_thread() as server:
        yield app, server, lines


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with httpx.Client(timeout=5.0, trust_env=False) as c:
        yield c


def load(path: Path) -> Any:
    return json.loads(path.read_text("utf-8"))


def kind_of(path: Path) -> str:
    return WHATSAPP_INBOUND if path.stem.startswith("inbound") else WHATSAPP_DLR


def test_the_accepted_set_covers_every_status_and_inbound_type() -> None:
    from kctl.contract import whatsapp as wa

    payloads = [load(p) for p in ACCEPTED]
    statuses = {e["status"] for p in payloads for e in p.get("statuses", [])}
    assert set(wa.STATUSES) <= statuses
    assert {s for s in statuses if s.lower() == "clicked"} == {"Clicked", "clicked", "CLICKED"}
    assert {p["type"] for p in payloads if "type" in p} == set(wa.INBOUND_TYPES)
    keys = {k for p in payloads for k in p}
    assert set(wa.PAYLOAD_VERSION_KEYS) <= keys
    assert "document" in keys


@pytest.mark.parametrize("path", ACCEPTED, ids=lambda p: p.stem)
def test_documented_callbacks_are_answered_200_with_the_success_body(
    running: tuple[Listener, ServerThread, Lines], client: httpx.Client, path: Path
) -> None:
    app, server, _ = running
    response = client.post(f"{server.url}/wa", content=path.read_bytes(), headers=_json())
    assert response.status_code == 200
    assert response.json() == {"status": "success", "message": "Callback processed successfully"}
    report = app.reports[-1]
    assert report.kind == kind_of(path)
    assert report.ok, report.problems


@pytest.mark.parametrize("path", REFUSED, ids=lambda p: p.stem)
def test_a_missing_or_malformed_field_is_answered_400_naming_it(
    running: tuple[Listener, ServerThread, Lines], client: httpx.Client, path: Path
) -> None:
    app, server, lines = running
    case = load(path)
    response = client.post(
        f"{server.url}/wa", content=json.dumps(case["payload"]).encode(), headers=_json()
    )
    assert response.status_code == 400
    answer = response.json()
    assert answer["status"] == "error"
    assert answer["message"] == replies.CALLBACK_BAD_REQUEST_MESSAGE
    assert answer["error_code"] == 400
    assert answer["details"]["missing_fields"] == case["missing_fields"]
    report = app.reports[-1]
    assert report.kind == kind_of(path)
    # what arrived and what it was answered are both printed
    printed = lines.items[-1]
    assert "answered 400" in printed
    assert case["missing_fields"][0] in printed


def test_the_printed_block_shows_a_200_answer(
    running: tuple[Listener, ServerThread, Lines], client: httpx.Client
) -> None:
    _, server, lines = running
    client.post(f"{server.url}/wa", content=ACCEPTED[0].read_bytes(), headers=_json())
    last = lines.items[-1].splitlines()
    assert last[-1] == (
        '  answered 200 {"status":"success","message":"Callback processed successfully"}'
    )


def _json() -> dict[str, str]:
    return {"Content-Type": "application/json"}
