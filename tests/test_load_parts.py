"""kctl load's pure parts: the ramp, the statistics, the payload's sample values, the renderers."""

from __future__ import annotations

import asyncio
import io
import json

import pytest

from kctl.config.model import Button, Card, Header, WhatsAppProvider, WhatsAppTemplate, load_account
from kctl.errors import UsageError
from kctl.load.client import BODY_KEPT, BadReply, Connection, Endpoint, request_head
from kctl.load.client import Reply as ClientReply
from kctl.load.payload import BodyMaker, load_payloads
from kctl.load.plan import Ramp, between, parse_ramp, ramp_steps, step_requests
from kctl.load.run import (
    Finished,
    PayloadInfo,
    Started,
    StepFinished,
    StepProgress,
    StepStarted,
    Target,
)
from kctl.load.stats import EDGES, Tally, histogram, percentile
from kctl.render.load import LiveProgress, render_json, render_text
from kctl.send.build import Message, build_request, new_message_id
from kctl.send.samples import SAMPLE, template_samples
from kctl.send.wire import Via
from tests.servers import Reply, serve
from tests.support import REPO

# --- the ramp -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("low", "high", "step", "expected"),
    [
        (30, 1000, None, (30, 60, 120, 240, 480, 1000)),
        (30, 1500, None, (30, 60, 120, 240, 480, 960, 1500)),
        (100, 150, None, (100, 150)),
        (30, 1000, 250, (30, 280, 530, 780, 1000)),
    ],
)
def test_ramp_steps(low: int, high: int, step: int | None, expected: tuple[int, ...]) -> None:
    assert ramp_steps(low, high, step) == expected


def test_parse_ramp() -> None:
    assert parse_ramp("30..1500") == (30, 1500)
    assert parse_ramp(" 30 - 300 ") == (30, 300)
    for bad in ("30", "30..", "0..100", "30..1600", "300..30", "a..b"):
        with pytest.raises(UsageError):
            parse_ramp(bad)


def test_between_lands_on_round_numbers_and_stops_when_close() -> None:
    assert between(240, 480) == 360
    assert between(300, 360) == 330
    assert between(300, 330) is None  # within 10%
    assert between(90, 120) == 105
    assert between(90, 105) == 100
    assert between(30, 34) is None


def test_ramp_climbs_until_a_step_fails_then_bisects() -> None:
    limit = 300
    ramp = Ramp(ramp_steps(30, 1000))
    tried = []
    while (c := ramp.next()) is not None:
        tried.append(c)
        ramp.record(c, c <= limit)
    assert tried == [30, 60, 120, 240, 480, 360, 300, 330]
    assert ramp.held == 300
    assert ramp.failed == 330


def test_ramp_that_never_fails_ends_at_the_top() -> None:
    ramp = Ramp(ramp_steps(30, 100))
    tried = []
    while (c := ramp.next()) is not None:
        tried.append(c)
        ramp.record(c, True)
    assert tried == [30, 60, 100]
    assert ramp.held == 100


def test_ramp_whose_first_step_fails_stops() -> None:
    ramp = Ramp(ramp_steps(30, 1000))
    assert ramp.next() == 30
    ramp.record(30, False)
    assert ramp.next() is None


def test_step_requests() -> None:
    assert step_requests(None, 30) == 300
    assert step_requests(None, 1500) == 4500
    assert step_requests(10, 480) == 480  # a step always fills its concurrency
    assert step_requests(10**9, 10) == 100_000


# --- statistics ---------------------------------------------------------------------------------


def test_percentile_is_nearest_rank_and_none_on_unanswered() -> None:
    ordered = [0.1 * n for n in range(1, 11)]
    assert percentile(ordered, 0, 0.5) == pytest.approx(0.5)
    assert percentile(ordered, 0, 0.99) == pytest.approx(1.0)
    assert percentile(ordered, 10, 0.5) == pytest.approx(1.0)
    assert percentile(ordered, 10, 0.51) is None
    assert percentile([], 0, 0.5) is None


def test_histogram_bins_on_the_edges() -> None:
    bins = histogram([0.0005, 0.001, 0.2, 0.9, 1.0, 1.2, 60.0])
    counts = {b.upper: b.count for b in bins if b.count}
    assert counts == {0.001: 2, 0.25: 1, 1.0: 2, 1.5: 1, None: 1}
    assert len(bins) == len(EDGES) + 1


def test_tally_buckets_and_exit_codes() -> None:
    tally = Tally(concurrency=4, planned=8)
    tally.answered("2xx", 0.1)
    tally.answered("2xx", 0.2)
    tally.answered("timeout", 1.5, "answered after 1 s")
    tally.no_answer("no answer within 5 s")
    result = tally.result(elapsed=2.0, stopped="requests")
    assert result.within_deadline == 0.5
    assert result.late == 1
    assert result.throughput == 1.5  # three answers in two seconds
    assert result.exit_code == 4
    assert not result.holds  # p99 falls on the request without an answer
    tally.answered("429", 0.01)
    assert tally.result(2.0, "requests").exit_code == 6
    broken = Tally(1, 1)
    broken.broken("connection reset")
    assert broken.result(1.0, "requests").exit_code == 4  # a network failure, not a rejection
    rejected = Tally(1, 2)
    rejected.answered("other", 0.1, "rejected: 2001")
    rejected.answered("2xx", 0.1)
    done = rejected.result(1.0, "requests")
    assert done.exit_code == 5
    assert done.holds  # a rejection says nothing about load


# --- what each request carries ------------------------------------------------------------------


def whatsapp() -> WhatsAppProvider:
    provider = load_account(str(REPO / "configs" / "whatsapp.yaml")).provider("Kaleyra")
    assert isinstance(provider, WhatsAppProvider)
    return provider


def test_samples_use_examples_and_mark_what_they_make_up() -> None:
    template = WhatsAppTemplate(
        name="t",
        language="en",
        body="Hi {{1}}, {{2}}",
        examples=("Asha",),
        header=Header(type="text", text="Order {{1}}"),
        buttons=(
            Button(type="url", text="Go", url="https://a.example.com/{{1}}", example="x1"),
            Button(type="url", text="Also", url="https://b.example.com/{{1}}"),
            Button(type="copy_code", text="Copy"),
        ),
        carousel=(Card(header=Header(type="image"), body="Card {{1}}", examples=("c1",)),),
    )
    values, made_up = template_samples(template)
    assert values.params == ("Asha", f"{SAMPLE}-2")
    assert values.header_param == SAMPLE
    assert values.url_suffixes == ("x1", SAMPLE)
    assert values.cards[0].params == ("c1",)
    assert values.cards[0].media_url is not None
    assert set(made_up) == {
        f"body {{{{2}}}}={SAMPLE}-2",
        f"header {{{{1}}}}={SAMPLE}",
        f"button 'Also'={SAMPLE}",
        "button 'Copy'=KCTLSAMPLE",
        "card 1 media=https://cdn.example.com/kctl-sample.png",
    }


@pytest.mark.parametrize(
    "name", ["order_update", "shipment_tracking", "festive_offer", "spring_picks"]
)
def test_every_example_template_builds(name: str) -> None:
    payload = load_payloads(whatsapp(), ("+919812345678",), template=name)[0]
    body = json.loads(payload.fresh())
    assert body["template"]["namespace"] == name
    assert payload.kind == "template"


def test_fresh_bodies_are_the_builders_bytes_with_a_new_id() -> None:
    provider = whatsapp()
    payload = load_payloads(provider, ("+919812345678",))[0]
    first, second = json.loads(payload.fresh()), json.loads(payload.fresh())
    assert first["msgId"] != second["msgId"]
    assert {**first, "msgId": ""} == {**second, "msgId": ""}
    maker = payload.fresh
    assert isinstance(maker, BodyMaker)
    assert maker.splices  # the fast path, proven equal to the builder when it was made


def test_body_maker_falls_back_to_building_when_the_id_is_not_unique() -> None:
    provider = whatsapp()
    message = Message(to="+919812345678", template="order_update", params=("0", "0"), force=True)
    ids = iter(["1"])
    request = build_request(provider, message, Via.ADAPTER, "0")
    maker = BodyMaker(
        request,
        lambda mid: build_request(provider, message, Via.ADAPTER, mid),
        lambda: next(ids),
    )
    assert not maker.splices  # "0" is in the body more than once
    assert json.loads(maker())["msgId"] == "1"


def test_sms_without_templates_sends_marked_text() -> None:
    provider = load_account(str(REPO / "configs" / "sms-india.yaml")).provider(None)
    payload = load_payloads(provider, ("+919812345678",))[0]
    assert payload.kind == "sms template"
    assert b"kctl-sample-1" in payload.fresh()
    assert new_message_id(provider)  # SMS ids come from the builder too


# --- renderers ----------------------------------------------------------------------------------


def events() -> tuple[Started, Finished]:
    tally = Tally(10, 10)
    for n in range(8):
        tally.answered("2xx", 0.05 * (n + 1))
    tally.answered("timeout", 2.0, "answered after 1 s")
    tally.no_answer("no answer within 5 s")
    step = tally.result(1.0, "requests")
    started = Started(
        provider="p",
        channel="sms",
        target=Target("http://127.0.0.1:1/sms", "loopback"),
        payload=PayloadInfo("sms text", None, ("body=x",), ("+12025550123",), "to=1"),
        climb=(10,),
        ramp=False,
        timeout=5.0,
        duration=30.0,
    )
    return started, Finished((step,), None, None, step.exit_code, False)


def test_text_report_marks_the_deadline_in_the_histogram() -> None:
    started, finished = events()
    text = render_text(started, finished, color=False, width=100)
    lines = text.splitlines()
    deadline = next(i for i, line in enumerate(lines) if "CleverTap's 1 s deadline" in line)
    assert any("<= 250ms" in line for line in lines[:deadline])
    assert any("> 1.00s" in line or "<= 2.50s" in line for line in lines[deadline:])
    assert any("no answer" in line for line in lines[deadline:])
    assert "80.0%" in text  # 8 of 10 within the second


def test_json_report_round_trips() -> None:
    started, finished = events()
    doc = json.loads(render_json(started, finished))
    step = doc["steps"][0]
    assert doc["exit_code"] == 4
    assert step["counts"]["timeout"] == 2
    assert step["latency_s"]["p99"] is None
    assert step["latency_s"]["p50"] == pytest.approx(0.25)
    assert sum(b["count"] for b in step["histogram"]) == 9  # answered ones; one never was


def test_live_progress_draws_on_a_terminal() -> None:
    stream = io.StringIO()
    live = LiveProgress(stream, color=False)
    started, finished = events()
    live(started)
    live(StepStarted(1, 10, 10))
    live(StepProgress(1, 10, 5, 10, 0.5, {"2xx": 5, "429": 0, "5xx": 0, "timeout": 0, "other": 0}))
    live(StepFinished(1, finished.steps[0]))
    live(finished)
    drawn = stream.getvalue()
    assert "step 1: 10 concurrent" in drawn
    assert "5/10" in drawn
    assert "10 concurrent: 10 requests" in drawn  # the line that stays after the bar


# --- the client ---------------------------------------------------------------------------------


def exchange(reply: Reply, requests: int = 1) -> list[ClientReply | BaseException]:
    """``requests`` POSTs over one connection to a server that answers ``reply``."""

    async def go(url: str) -> list[ClientReply | BaseException]:
        endpoint = Endpoint.parse(url)
        before, after = request_head("POST", endpoint, [(b"Content-Type", b"text/plain")])
        conn = await Connection.open("127.0.0.1", endpoint, None)
        got: list[ClientReply | BaseException] = []
        try:
            for _ in range(requests):
                try:
                    got.append(await conn.exchange(before + b"2" + after + b"hi"))
                except (OSError, BadReply, asyncio.IncompleteReadError) as e:
                    got.append(e)
                    break
        finally:
            conn.close()
            await conn.wait_closed()
        return got

    with serve(lambda _: reply) as server:
        return asyncio.run(go(server.url("/sms")))


def test_client_keeps_the_connection_for_the_next_request() -> None:
    first, second = exchange(Reply.json({"status": "success"}), requests=2)
    assert isinstance(first, ClientReply)
    assert isinstance(second, ClientReply)
    assert first.status == 200
    assert first.keep_alive
    assert json.loads(second.body) == {"status": "success"}


def test_client_reads_chunked_replies() -> None:
    chunked = Reply(
        headers=(("Transfer-Encoding", "chunked"),),
        chunks=(b'5\r\n{"sta\r\n', b'f;x=1\r\ntus":"success"}\r\n', b"0\r\n\r\n"),
    )
    (got,) = exchange(chunked)
    assert isinstance(got, ClientReply)
    assert json.loads(got.body) == {"status": "success"}
    assert got.keep_alive


def test_client_reads_to_the_end_without_a_length() -> None:
    untold = Reply(headers=(("Transfer-Encoding", "identity"),), body=b"ok", keep_alive=False)
    (got,) = exchange(untold)
    assert isinstance(got, ClientReply)
    assert (got.body, got.keep_alive) == (b"ok", False)


def test_client_caps_a_huge_body_and_drops_the_connection() -> None:
    (got,) = exchange(Reply(stream_size=3 * 1024 * 1024))
    assert isinstance(got, ClientReply)
    assert got.truncated
    assert not got.keep_alive
    assert len(got.body) == BODY_KEPT


def test_client_reports_a_connection_closed_without_a_reply() -> None:
    (got,) = exchange(Reply(cut_before_head=True, cut="close"))
    assert isinstance(got, ConnectionResetError)
    assert str(got) == "connection closed before a reply"


@pytest.mark.parametrize(
    ("url", "host", "port", "target", "host_header"),
    [
        ("http://127.0.0.1:8080/sms?x=1", "127.0.0.1", 8080, "/sms?x=1", "127.0.0.1:8080"),
        (
            "https://Adapter.Example.com/wa",
            "adapter.example.com",
            443,
            "/wa",
            "adapter.example.com",
        ),
        ("http://[::1]:9/", "::1", 9, "/", "[::1]:9"),
        ("https://bücher.example/", "bücher.example", 443, "/", "xn--bcher-kva.example"),
    ],
)
def test_endpoint_is_parsed_from_the_text(
    url: str, host: str, port: int, target: str, host_header: str
) -> None:
    endpoint = Endpoint.parse(url)
    assert (endpoint.host, endpoint.port, endpoint.target) == (host, port, target)
    assert endpoint.host_header == host_header


@pytest.mark.parametrize(
    "url", ["ftp://x/", "http:///x", "https://u:p@x.example/", "http://x:99999/"]
)
def test_endpoint_refuses_what_it_cannot_load(url: str) -> None:
    with pytest.raises(UsageError):
        Endpoint.parse(url)
