"""kctl listen as CleverTap's SMS callback endpoint (SPEC 4.5, 4.7) and as the receiver of
Kaleyra's own status callbacks, over real sockets on 127.0.0.1."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from kctl.contract import sms
from kctl.contract.replies import CALLBACK_OK, callback_error
from kctl.servers.http import ServerThread
from kctl.servers.listener import KALEYRA_STATUS, SMS_DLR, Listener

NOW = 1_700_000_000
META = "9999999999.1200000000.1654002362.20220531.0.wzrk_default.-1."

# one complete item per event, as CleverTap's samples show them
ITEMS: dict[str, dict[str, Any]] = {
    "delivered": {"ts": NOW, "meta": META, "description": "Delivered to handset"},
    "failed": {"ts": NOW, "meta": META, "code": "906", "description": "Sender blocked by DLT"},
    "clicked": {
        "ts": NOW,
        "meta": META,
        "url": "https://www.example.com/offer",
        "shorturl": "ct9.io/12345",
    },
    "replied": {"ts": NOW, "meta": META, "toPhone": "5555", "incomingText": "STOP"},
}
assert set(ITEMS) == set(sms.EVENTS)


def post(server: ServerThread, client: httpx.Client, body: Any) -> httpx.Response:
    return client.post(f"{server.url}/sms/dlr", json=body)


@pytest.mark.parametrize("event", sms.EVENTS)
def test_every_event_kind_is_accepted_with_clevertaps_success_answer(
    listener: tuple[Listener, ServerThread], client: httpx.Client, event: str
) -> None:
    app, server = listener
    response = post(server, client, [{"event": event, "data": [ITEMS[event]]}])
    assert response.status_code == 200
    assert response.json() == CALLBACK_OK
    [report] = app.reports
    assert (report.kind, report.ok) == (SMS_DLR, True)
    assert [(d.message_id, d.status) for d in report.deliveries] == [(META, event)]


def test_extra_keys_are_ignored_and_one_request_may_carry_every_event(
    listener: tuple[Listener, ServerThread], client: httpx.Client
) -> None:
    app, server = listener
    body = [
        {"event": event, "data": [{**item, "operator": "Airtel", "parts": 2}], "batch": 7}
        for event, item in ITEMS.items()
    ]
    response = post(server, client, body)
    assert response.status_code == 200
    assert app.reports[0].ok, app.reports[0].problems
    assert [d.status for d in app.reports[0].deliveries] == list(ITEMS)


MANDATORY = [
    (event, key)
    for event, item in ITEMS.items()
    for key in item
    if key in sms.COMMON_KEYS or key in sms.EVENT_KEYS[event]
]


@pytest.mark.parametrize(("event", "key"), MANDATORY, ids=[f"{e}-{k}" for e, k in MANDATORY])
def test_every_missing_mandatory_key_is_refused_with_400_naming_it(
    listener: tuple[Listener, ServerThread], client: httpx.Client, event: str, key: str
) -> None:
    app, server = listener
    item = {k: v for k, v in ITEMS[event].items() if k != key}
    response = post(server, client, [{"event": event, "data": [item]}])
    assert response.status_code == 400
    assert response.json() == callback_error([key])
    assert response.json()["message"] == "Bad request. Some mandatory parameter was missing."
    assert app.reports[0].kind == SMS_DLR  # shown all the same


@pytest.mark.parametrize(
    ("body", "missing"),
    [
        ([{"data": [ITEMS["delivered"]]}], ["event"]),
        ([{"event": "delivered"}], ["data"]),
        ([{"event": "failed", "data": [{**ITEMS["failed"], "code": 906}]}], ["code"]),
        ([{"event": "failed", "data": [{**ITEMS["failed"], "code": "950"}]}], ["code"]),
        ([{"event": "delivered", "data": [{**ITEMS["delivered"], "ts": "1700000000"}]}], ["ts"]),
        ([{"event": "clicked", "data": [{**ITEMS["clicked"], "url": ""}]}], ["url"]),
        ([{"event": "delivered", "data": [{"description": "x"}]}], ["ts", "meta"]),
        ([], []),
    ],
)
def test_a_wrong_format_is_refused_with_400_too(
    listener: tuple[Listener, ServerThread], client: httpx.Client, body: Any, missing: list[str]
) -> None:
    _, server = listener
    response = post(server, client, body)
    assert response.status_code == 400
    assert response.json() == callback_error(missing)


def test_shorturl_and_tophone_are_optional(
    listener: tuple[Listener, ServerThread], client: httpx.Client
) -> None:
    _, server = listener
    assert sms.OPTIONAL_KEYS["clicked"] == ("shorturl",)
    assert sms.OPTIONAL_KEYS["replied"] == ("toPhone",)
    click = {k: v for k, v in ITEMS["clicked"].items() if k != "shorturl"}
    reply = {k: v for k, v in ITEMS["replied"].items() if k != "toPhone"}
    body = [{"event": "clicked", "data": [click]}, {"event": "replied", "data": [reply]}]
    assert post(server, client, body).status_code == 200


# --- Kaleyra's own callbacks ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("word", "status"),
    [
        ("sent", "sent"),
        ("delivered", "delivered"),
        ("read", "read"),
        ("0", "failed"),
        ("FAILED", "failed"),
        ("NOT-SENT", "failed"),
        ("Delivered", "delivered"),
        ("Undelivered", "failed"),
    ],
)
def test_kaleyras_get_callback_is_its_own_kind_and_answered_200(
    listener: tuple[Listener, ServerThread], client: httpx.Client, word: str, status: str
) -> None:
    app, server = listener
    response = client.get(
        f"{server.url}/whatsapp/kaleyra", params={"id": "58f86fab-0000:0", "status": word}
    )
    assert response.status_code == 200
    assert response.json() == CALLBACK_OK
    [report] = app.reports
    assert (report.kind, report.method, report.ok) == (KALEYRA_STATUS, "GET", True)
    assert [(d.message_id, d.status) for d in report.deliveries] == [("58f86fab-0000:0", status)]


@pytest.mark.parametrize(
    "send",
    [
        lambda c, url: c.post(url, data={"id": "u:0", "status": "delivered"}),
        lambda c, url: c.post(url, files={"id": (None, "u:0"), "status": (None, "delivered")}),
        lambda c, url: c.post(url, json={"id": "u:0", "status": "delivered"}),
        # Kaleyra's v2 webhook names the id message_id and says more besides
        lambda c, url: c.post(
            url, json={"message_id": "u:0", "status": "DELIVERED", "extra_info": {"ref": "x"}}
        ),
    ],
    ids=["form", "multipart", "json", "v2-json"],
)
def test_kaleyras_post_callbacks_are_taken_in_every_body(
    listener: tuple[Listener, ServerThread], client: httpx.Client, send: Any
) -> None:
    app, server = listener
    response = send(client, f"{server.url}/sms/kaleyra")
    assert response.status_code == 200, response.text
    [report] = app.reports
    assert report.kind == KALEYRA_STATUS
    assert [(d.message_id, d.status) for d in report.deliveries] == [("u:0", "delivered")]


@pytest.mark.parametrize(
    ("params", "missing"),
    [
        ({"id": "u:0"}, ["status"]),
        ({"status": "read"}, ["id"]),
        ({}, ["id", "status"]),
        ({"id": "", "status": "read"}, ["id"]),
    ],
)
def test_a_kaleyra_callback_without_id_or_status_gets_400(
    listener: tuple[Listener, ServerThread],
    client: httpx.Client,
    params: dict[str, str],
    missing: list[str],
) -> None:
    app, server = listener
    response = client.get(f"{server.url}/kaleyra", params=params)
    assert response.status_code == 400
    assert response.json() == callback_error(missing)
    assert app.reports[0].deliveries == ()


def test_an_unknown_status_word_is_shown_as_a_problem_but_not_refused(
    listener: tuple[Listener, ServerThread], client: httpx.Client
) -> None:
    app, server = listener
    response = client.get(f"{server.url}/kaleyra", params={"id": "u:0", "status": "deleted"})
    # courier's handler answers an unknown status with 200 and ignores it: so does listen
    assert response.status_code == 200
    [report] = app.reports
    assert report.deliveries == ()
    assert [p.path for p in report.problems] == ["status"]
