"""kctl listen: classification and conformance checks, and the listener over real sockets."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from kctl.servers.http import HttpServer, ServerThread
from kctl.servers.listener import (
    FINAL_STATUSES,
    SMS_DLR,
    UNKNOWN,
    WHATSAPP_DLR,
    WHATSAPP_INBOUND,
    Listener,
    Report,
    build_report,
    format_report,
    stream_emitter,
)
from tests.support import Lines

NOW = 1_700_000_000


def report_for(payload: Any, media_type: str = "application/json") -> Report:
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
    return build_report("POST", "/cb", media_type, body, received_at=NOW)


def paths(report: Report) -> list[str]:
    return [p.path for p in report.problems]


def wa_status(**changes: Any) -> dict[str, Any]:
    entry = {"msgId": "kctl-1", "status": "delivered", "timestamp": str(NOW), **changes}
    return {k: v for k, v in entry.items() if v is not None}


def wa_dlr(*entries: dict[str, Any], **changes: Any) -> dict[str, Any]:
    body = {"payloadVersion": "0.1", "statuses": list(entries) or [wa_status()], **changes}
    return {k: v for k, v in body.items() if v is not None}


def sms_item(**changes: Any) -> dict[str, Any]:
    item = {"ts": NOW, "meta": "kctl-sms-1", "description": "Delivered", **changes}
    return {k: v for k, v in item.items() if v is not None}


def sms_click(**changes: Any) -> dict[str, Any]:
    item = {"ts": NOW, "meta": "kctl-sms-1", "url": "https://shop.example.com", **changes}
    return {k: v for k, v in item.items() if v is not None}


def sms_reply(**changes: Any) -> dict[str, Any]:
    item = {"ts": NOW, "meta": "kctl-sms-1", "incomingText": "STOP", **changes}
    return {k: v for k, v in item.items() if v is not None}


def inbound(**changes: Any) -> dict[str, Any]:
    body = {
        "payloadVersion": "0.1",
        "from": "919812345678",
        "wabaNumber": "919876543210",
        "timestamp": str(NOW),
        "type": "text",
        "text": {"body": "STOP"},
        **changes,
    }
    return {k: v for k, v in body.items() if v is not None}


# --- WhatsApp delivery reports ------------------------------------------------------------------


@pytest.mark.parametrize(
    "entry",
    [
        wa_status(status="sent"),
        wa_status(status="delivered"),
        wa_status(status="read", timestamp=NOW),
        wa_status(status="delivered", timestamp="2023-11-14T22:13:20Z"),
        wa_status(status="failed", error={"code": 1006, "message": "blacklisted"}),
        wa_status(status="failed", error={"code": 1010}),
        wa_status(status="failed", error={"code": "1006", "title": "blacklisted"}),
        wa_status(msgId="m" * 60),
        # the click sample on CleverTap's page: a scheme-less URL and no time at all but "ts"
        wa_status(status="Clicked", url="www.google.com/19nov", ts=NOW, timestamp=None),
    ],
)
def test_valid_whatsapp_delivery_reports_pass(entry: dict[str, Any]) -> None:
    report = report_for(wa_dlr(entry))
    assert report.kind == WHATSAPP_DLR
    assert report.ok, report.problems
    assert [(d.message_id, d.status) for d in report.deliveries] == [
        (entry["msgId"], entry["status"])
    ]


@pytest.mark.parametrize(
    ("payload", "path", "words"),
    [
        (wa_dlr(payloadVersion=None), "payloadVersion", "missing"),
        (wa_dlr(payloadVersion="one"), "payloadVersion", "0.1"),
        (wa_dlr(statuses=[]), "statuses", "non-empty"),
        (wa_dlr(wa_status(status="DELIVERED")), "statuses[0].status", "must be one of"),
        (wa_dlr(wa_status(status=None)), "statuses[0].status", "missing"),
        (wa_dlr(wa_status(msgId=None)), "statuses[0].msgId", "missing"),
        (wa_dlr(wa_status(msgId="m" * 61)), "statuses[0].msgId", "over 60"),
        (wa_dlr(wa_status(msgId=42)), "statuses[0].msgId", "must be a string"),
        (wa_dlr(wa_status(timestamp=None)), "statuses[0].timestamp", "missing"),
        (wa_dlr(wa_status(timestamp="1700000000000")), "statuses[0].timestamp", "milliseconds"),
        (wa_dlr(wa_status(timestamp=NOW * 1000)), "statuses[0].timestamp", "milliseconds"),
        (wa_dlr(wa_status(timestamp="yesterday")), "statuses[0].timestamp", "ISO 8601"),
        (wa_dlr(wa_status(timestamp="2023-11-14T22:13:20")), "statuses[0].timestamp", "zone"),
        (wa_dlr(wa_status(status="failed")), "statuses[0].error", "failed needs"),
        (wa_dlr(wa_status(status="failed", error={})), "statuses[0].error.code", "missing"),
        (
            wa_dlr(wa_status(status="failed", error={"code": "10O6"})),
            "statuses[0].error.code",
            "a number or a string",
        ),
        (
            wa_dlr(wa_status(status="failed", error={"code": 1006, "title": 7})),
            "statuses[0].error.title",
            "must be a string",
        ),
        (wa_dlr(wa_status(status="Clicked", url=None, ts=NOW)), "statuses[0].url", "missing"),
        (wa_dlr(wa_status(status="clicked", url="shop/x", ts=NOW)), "statuses[0].url", "http"),
        (
            wa_dlr(wa_status(status="failed", error={"code": 2002})),
            "statuses[0].error.code",
            "1000..1010",
        ),
        (wa_dlr(statuses=[wa_status(), "oops"]), "statuses[1]", "must be an object"),
    ],
)
def test_whatsapp_delivery_report_problems_are_flagged_field_by_field(
    payload: dict[str, Any], path: str, words: str
) -> None:
    report = report_for(payload)
    assert report.kind == WHATSAPP_DLR
    assert path in paths(report), report.problems
    assert any(words in p.message for p in report.problems if p.path == path)


# --- WhatsApp inbound ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        inbound(),
        inbound(context={"id": "kctl-1"}),
        inbound(
            type="image",
            text=None,
            image={"mediaURL": "https://m.example.com/1.jpg", "mimeType": "image/jpeg"},
        ),
        inbound(
            type="file",
            text=None,
            document={"mediaURL": "https://m.example.com/a.pdf", "mimeType": ".pdf"},
        ),
        inbound(type="location", text=None, location={"latitude": 19.07, "longitude": 72.87}),
        # the document sample on CleverTap's page writes its URL without a scheme
        inbound(
            type="file",
            text=None,
            document={"mediaURL": "www.example.com/document.pdf", "mimeType": "application/pdf"},
        ),
    ],
)
def test_valid_inbound_messages_pass(payload: dict[str, Any]) -> None:
    report = report_for(payload)
    assert report.kind == WHATSAPP_INBOUND
    assert report.ok, report.problems
    assert report.deliveries == ()


@pytest.mark.parametrize(
    ("payload", "path"),
    [
        (inbound(**{"from": "+919812345678"}), "from"),
        (inbound(wabaNumber=None), "wabaNumber"),
        (inbound(timestamp=None), "timestamp"),
        (inbound(payloadVersion=None), "payloadVersion"),
        (inbound(type="sticker"), "type"),
        (inbound(text={}), "text.body"),
        (inbound(text="hello"), "text"),
        (inbound(type="image", image={"mimeType": "image/jpeg"}), "image.mediaURL"),
        (
            inbound(type="image", image={"mediaURL": "https://m.example.com/1.jpg", "mimetype": 3}),
            "image.mimetype",
        ),
        (
            inbound(type="video", video={"mediaURL": "ftp://x/1", "mimeType": "video/mp4"}),
            "video.mediaURL",
        ),
        (inbound(type="audio"), "audio"),
        (inbound(type="location", location={"latitude": 200, "longitude": 0}), "location.latitude"),
        (inbound(type="location"), "location"),
        (inbound(type="button", button={"text": "Yes"}), "type"),
        (inbound(context={"id": ""}), "context.id"),
    ],
)
def test_inbound_message_problems_are_flagged(payload: dict[str, Any], path: str) -> None:
    report = report_for(payload)
    assert report.kind == WHATSAPP_INBOUND
    assert path in paths(report), report.problems


# --- SMS delivery reports -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "payload",
    [
        [{"event": "delivered", "data": [sms_item()]}],
        [{"event": "failed", "data": [sms_item(code="901", description="DND")]}],
        [{"event": "failed", "data": [sms_item(code="920")]}],
        [
            {"event": "clicked", "data": [sms_click()]},
            {"event": "replied", "data": [sms_reply()]},
        ],
    ],
)
def test_valid_sms_delivery_reports_pass(payload: list[Any]) -> None:
    report = report_for(payload)
    assert report.kind == SMS_DLR
    assert report.ok, report.problems
    assert [d.status for d in report.deliveries] == [e["event"] for e in payload]


@pytest.mark.parametrize(
    ("payload", "path", "words"),
    [
        ([], "(body)", "non-empty"),
        ([{"event": "DELIVERED", "data": [sms_item()]}], "[0].event", "must be one of"),
        ([{"event": "delivered", "data": []}], "[0].data", "non-empty"),
        ([{"event": "delivered", "data": [sms_item(ts=str(NOW))]}], "[0].data[0].ts", "integer"),
        ([{"event": "delivered", "data": [sms_item(ts=NOW * 1000)]}], "[0].data[0].ts", "milli"),
        ([{"event": "delivered", "data": [sms_item(ts=None)]}], "[0].data[0].ts", "missing"),
        ([{"event": "delivered", "data": [sms_item(meta=None)]}], "[0].data[0].meta", "missing"),
        (
            [{"event": "delivered", "data": [sms_item(description=None)]}],
            "[0].data[0].description",
            "missing",
        ),
        ([{"event": "failed", "data": [sms_item()]}], "[0].data[0].code", "missing"),
        ([{"event": "failed", "data": [sms_item(code=901)]}], "[0].data[0].code", "string"),
        ([{"event": "failed", "data": [sms_item(code="950")]}], "[0].data[0].code", "900"),
        ([{"event": "delivered", "data": ["x"]}], "[0].data[0]", "must be an object"),
        ({"event": "delivered", "data": [sms_item()]}, "(body)", "array"),
    ],
)
def test_sms_delivery_report_problems_are_flagged_field_by_field(
    payload: Any, path: str, words: str
) -> None:
    report = report_for(payload)
    assert report.kind == SMS_DLR
    assert path in paths(report), report.problems
    assert any(words in p.message for p in report.problems if p.path == path)


# --- anything else --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("body", "words"),
    [
        (b"", "empty body"),
        (b"status=delivered&id=1", "not JSON"),
        (b'{"hello": "world"}', "not a CleverTap"),
        (b"42", "not a CleverTap"),
    ],
)
def test_unrecognised_bodies_are_flagged(body: bytes, words: str) -> None:
    report = build_report("POST", "/x", "application/json", body, NOW)
    assert report.kind == UNKNOWN
    assert not report.ok
    assert words in report.problems[-1].message


def test_a_content_type_other_than_json_is_flagged() -> None:
    report = report_for(wa_dlr(), media_type="text/plain")
    assert report.kind == WHATSAPP_DLR
    assert paths(report) == ["(headers).content-type"]


def test_formats_text_block_and_json_line() -> None:
    report = report_for(wa_dlr(wa_status(status="failed", error={"code": 42})))
    block = format_report(report)
    first, *rest = block.splitlines()
    assert "POST /cb" in first
    assert "WhatsApp delivery report" in first
    assert "1 PROBLEM" in first
    assert "  kctl-1  failed  code 42" in rest
    assert any(line.startswith("  ! statuses[0].error.code:") for line in rest)
    line = format_report(report, json_lines=True)
    assert "\n" not in line
    data = json.loads(line)
    assert data["kind"] == "whatsapp-dlr"
    assert data["ok"] is False
    assert data["problems"][0]["path"] == "statuses[0].error.code"
    assert data["payload"] == report.payload
    assert data["received_at"].startswith("2023-11-14T22:13:20")


# --- the listener over HTTP -----------------------------------------------------------------------


@pytest.fixture
def running() -> Iterator[tuple[Listener, ServerThread, Lines]]:
    lines = Lines()
    app = Listener(lines, json_lines=True)
    with HttpServer(app).start_in_thread() as server:
        yield app, server, lines


def test_any_path_is_answered_success_and_emitted_as_it_arrives(
    running: tuple[Listener, ServerThread, Lines], client: httpx.Client
) -> None:
    app, server, lines = running
    first = client.post(f"{server.url}/wa/dlr?x=1", json=wa_dlr())
    second = client.post(f"{server.url}/anything/else", content=b"junk")

    assert first.status_code == 200
    assert first.json() == {"status": "success", "message": "Callback processed successfully"}
    # junk names no key CleverTap could use, and is refused all the same
    assert second.status_code == 400
    assert second.json()["details"]["missing_fields"] == []
    emitted = [json.loads(line) for line in lines.items]
    assert [(e["path"], e["kind"], e["ok"]) for e in emitted] == [
        ("/wa/dlr?x=1", "whatsapp-dlr", True),
        ("/anything/else", "unknown", False),
    ]
    assert [r.kind for r in app.reports] == ["whatsapp-dlr", "unknown"]


@pytest.mark.parametrize("method", ["PUT", "DELETE", "PATCH"])
def test_only_post_and_get_are_taken(
    running: tuple[Listener, ServerThread, Lines], client: httpx.Client, method: str
) -> None:
    app, server, lines = running
    response = client.request(method, f"{server.url}/wa/dlr")
    assert response.status_code == 405
    assert response.headers["allow"] == "POST, GET"
    assert app.reports == []
    assert lines.items == []


def test_await_report_finds_a_report_by_id_before_or_after_it_arrives(
    running: tuple[Listener, ServerThread, Lines], client: httpx.Client
) -> None:
    app, server, _ = running
    client.post(f"{server.url}/sms", json=[{"event": "delivered", "data": [sms_item()]}])
    early = app.await_report("kctl-sms-1", 0.0)
    assert early is not None
    assert early.kind == SMS_DLR

    def post_later() -> None:
        time.sleep(0.05)
        with httpx.Client(trust_env=False) as own:
            own.post(f"{server.url}/wa", json=wa_dlr(wa_status(msgId="late", status="sent")))
            own.post(f"{server.url}/wa", json=wa_dlr(wa_status(msgId="late", status="read")))

    poster = threading.Thread(target=post_later)
    poster.start()
    try:
        final = app.await_report("late", 5.0, FINAL_STATUSES)
    finally:
        poster.join()
    assert final is not None
    delivery = final.delivery("late")
    assert delivery is not None
    assert delivery.status == "read"
    assert app.await_report("late", 0.0, {"sent"}) is not None


def test_await_report_gives_none_after_the_timeout(
    running: tuple[Listener, ServerThread, Lines], client: httpx.Client
) -> None:
    app, server, _ = running
    client.post(f"{server.url}/wa", json=wa_dlr(wa_status(msgId="other")))
    started = time.monotonic()
    assert app.await_report("missing", 0.1) is None
    assert 0.09 <= time.monotonic() - started < 2.0
    assert app.await_report("other", 0.0, {"failed"}) is None


def test_wait_for_counts_reports(
    running: tuple[Listener, ServerThread, Lines], client: httpx.Client
) -> None:
    app, server, _ = running
    for n in range(3):
        client.post(f"{server.url}/n{n}", json=wa_dlr())
    assert len(app.wait_for(3, 5.0)) == 3
    assert len(app.wait_for(4, 0.05)) == 3


def test_a_broken_output_does_not_stop_the_listener(client: httpx.Client) -> None:
    logged: list[str] = []

    def broken(text: str) -> None:
        raise BrokenPipeError("closed")

    app = Listener(broken, log=logged.append)
    with HttpServer(app).start_in_thread() as server:
        for _ in range(2):
            assert client.post(f"{server.url}/x", json=wa_dlr()).status_code == 200
    assert len(app.reports) == 2
    assert len(logged) == 1
    assert "cannot print" in logged[0]


def test_with_a_count_serve_forever_returns_done_after_that_many_reports(
    capsys: pytest.CaptureFixture[str],
) -> None:
    import sys

    app = Listener(stream_emitter(sys.stdout), count=2)
    server = HttpServer(app)

    def post_when_ready(bound: HttpServer) -> None:
        def post() -> None:
            with httpx.Client(trust_env=False) as own:
                for n in range(2):
                    own.post(f"{bound.url}/r{n}", json=wa_dlr())

        threading.Thread(target=post, daemon=True).start()

    assert server.serve_forever(timeout=5.0, on_ready=post_when_ready) == "done"
    out = capsys.readouterr().out
    assert out.count("WhatsApp delivery report  OK") == 2
    assert len(app.reports) == 2
