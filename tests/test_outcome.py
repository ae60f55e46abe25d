"""kctl.send.outcome: what a provider's reply means, for replies that really crossed a socket."""

from __future__ import annotations

import json

import pytest

from kctl.contract.replies import FAILURE_CODES as ADAPTER_CODES
from kctl.errors import ProviderFailed, ProviderRejected
from kctl.send.outcome import Outcome, classify, raise_for_outcome
from kctl.send.transport import send
from kctl.send.wire import Request, Response
from tests.servers import Reply, serve

HTML = "<!DOCTYPE html><html><body><h1>Bad Gateway</h1></body></html>"


@pytest.fixture(autouse=True)
def clean_network_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy"):
        monkeypatch.delenv(name, raising=False)


def roundtrip(reply: Reply, mode: str) -> Outcome:
    """Serve ``reply`` on loopback, send a request to it, and classify what came back."""
    with serve(None, reply) as srv:
        response = send(
            Request(
                method="POST",
                url=srv.url("/whatsapp"),
                headers=(("api-key", "k"), ("sid", "HX1")),
                body=b"{}",
                content_type="application/json",
            ),
            retries=0,
        )
    return classify(response, mode)


def failure(code: object, message: str | None = None) -> dict[str, object]:
    error: dict[str, object] = {"code": code}
    if message is not None:
        error["message"] = message
    return {"status": "failure", "error": error}


# --- adapter ------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reply", "exit_code", "verdict"),
    [
        (Reply.json({"status": "success"}), 0, "accepted (HTTP 200, status success)"),
        (Reply.json({"status": "success"}, status=202), 0, "accepted (HTTP 202, status success)"),
        (Reply.json(failure(2002, "Invalid number")), 5, "rejected: 2002 invalid phone number"),
        (Reply.json(failure("2001")), 5, "rejected: 2001 template parameters do not match"),
        (Reply.json(failure(2999, "Quota\nexhausted")), 5, "rejected: 2999 Quota exhausted"),
        (Reply.json({"status": "failure"}), 5, "rejected: status failure"),
        (Reply.json({"status": "failure", "error": "bad to"}), 5, "rejected: bad to"),
        (Reply(status=401), 5, "rejected: HTTP 401 Unauthorized"),
        (
            Reply.text(HTML, 403, "text/html"),
            5,
            "rejected: HTTP 403 Forbidden (body is not JSON: an HTML page)",
        ),
        (
            Reply.json(failure(2001, "expected 2 params"), status=400),
            5,
            "rejected: 2001 template parameters do not match (HTTP 400)",
        ),
        (
            Reply.text(HTML, 404, "text/html"),
            5,
            "rejected: HTTP 404 Not Found (body is not JSON: an HTML page)",
        ),
        (
            Reply.text('{"status": "fail', 422, "application/json"),
            5,
            "rejected: HTTP 422 Unprocessable Entity (body is not JSON)",
        ),
        (
            Reply.json({"error": {"message": "no such template"}}, status=400),
            5,
            "rejected: HTTP 400 Bad Request: no such template",
        ),
        (Reply(status=429), 6, "provider error: HTTP 429 too many requests"),
        (
            Reply.json(failure(2004, "upstream down"), status=500),
            6,
            "provider error: HTTP 500 Internal Server Error: 2004 other provider error",
        ),
        (
            Reply.text(HTML, 502, "text/html"),
            6,
            "provider error: HTTP 502 Bad Gateway (body is not JSON: an HTML page)",
        ),
        (Reply(status=503), 6, "provider error: HTTP 503 Service Unavailable"),
    ],
)
def test_adapter_replies(reply: Reply, exit_code: int, verdict: str) -> None:
    outcome = roundtrip(reply, "adapter")
    assert (outcome.exit_code, outcome.verdict) == (exit_code, verdict)
    assert outcome.accepted is (exit_code == 0)


@pytest.mark.parametrize("code", sorted(ADAPTER_CODES))
def test_every_known_failure_code_gets_its_plain_language_hint(code: int) -> None:
    outcome = roundtrip(Reply.json(failure(code, "from the adapter")), "adapter")
    label, hint = ADAPTER_CODES[code]
    assert outcome == Outcome(
        accepted=False,
        exit_code=5,
        verdict=f"rejected: {code} {label}",
        hint=hint,
        error_code=code,
        error_message="from the adapter",
    )


def test_hints_name_what_to_check() -> None:
    assert "--to" in (roundtrip(Reply.json(failure(2002)), "adapter").hint or "")
    assert "api-key" in (roundtrip(Reply(status=401), "adapter").hint or "")
    assert "sid" in (roundtrip(Reply(status=403), "adapter").hint or "")
    busy = roundtrip(Reply(status=429, headers=(("Retry-After", "30"),)), "adapter")
    assert "max_concurrency" in (busy.hint or "")
    assert "Retry-After 30" in (busy.hint or "")
    assert "final URL" in (roundtrip(Reply(status=302), "adapter").hint or "")


@pytest.mark.parametrize(
    ("reply", "verdict", "hint_says"),
    [
        (Reply(), "accepted (HTTP 200, empty body)", '{"status":"success"}'),
        (Reply.text("OK"), "accepted (HTTP 200, body is not JSON)", '{"status":"success"}'),
        (
            Reply.text(HTML, 200, "text/html"),
            "accepted (HTTP 200, body is not JSON: an HTML page)",
            '{"status":"success"}',
        ),
        (Reply.json(["ok"]), "accepted (HTTP 200, body is JSON but not an object)", "success"),
        (Reply.json({"status": "queued"}), 'accepted (HTTP 200, status "queued")', "neither"),
        (Reply.json({"id": "x"}), "accepted (HTTP 200, no status)", "neither"),
    ],
)
def test_adapter_2xx_without_a_failure_is_accepted_with_a_hint_when_off_contract(
    reply: Reply, verdict: str, hint_says: str
) -> None:
    outcome = roundtrip(reply, "adapter")
    assert (outcome.accepted, outcome.exit_code, outcome.verdict) == (True, 0, verdict)
    assert hint_says in (outcome.hint or "")


def test_a_redirect_that_was_not_followed_is_a_rejection_that_says_where() -> None:
    reply = Reply(status=302, headers=(("Location", "https://other.example/hook"),))
    outcome = roundtrip(reply, "adapter")
    assert outcome.exit_code == 5
    assert (
        outcome.verdict
        == "rejected: HTTP 302 redirect to https://other.example/hook (not followed)"
    )


# --- direct (Kaleyra API) ----------------------------------------------------------------------


KALEYRA_OK = {
    "id": "9b2f6c1e-3c1a-4a8e-9a5e-0f1e2d3c4b5a",
    "data": [{"message_id": "9b2f6c1e-3c1a-4a8e-9a5e-0f1e2d3c4b5a:0", "recipient": "919812345678"}],
    "error": {},
}


@pytest.mark.parametrize(
    ("reply", "exit_code", "verdict", "error_code", "error_message"),
    [
        (
            Reply.json(KALEYRA_OK, status=202),
            0,
            "accepted (HTTP 202, message id 9b2f6c1e-3c1a-4a8e-9a5e-0f1e2d3c4b5a,"
            " data[0].message_id 9b2f6c1e-3c1a-4a8e-9a5e-0f1e2d3c4b5a:0)",
            None,
            None,
        ),
        (
            Reply.json({"id": "x", "error": None}),
            0,
            "accepted (HTTP 200, message id x)",
            None,
            None,
        ),
        (Reply.json({"id": "x"}), 0, "accepted (HTTP 200, message id x)", None, None),
        (Reply.json({"error": {}}, status=202), 0, "accepted (HTTP 202, no error)", None, None),
        (
            Reply.json({"data": [{"message_id": "u:0"}], "error": {}}, status=202),
            0,
            "accepted (HTTP 202, message id u:0)",
            None,
            None,
        ),
        (
            Reply.json({"data": [], "error": {"code": "E413", "message": "Invalid number"}}),
            5,
            "rejected: E413 Invalid number",
            None,
            "Invalid number",
        ),
        (
            Reply.json({"error": {"code": 1002, "message": "Invalid phone"}}),
            5,
            "rejected: 1002 Invalid phone",
            1002,
            "Invalid phone",
        ),
        (
            Reply.json({"error": {"to": "Invalid number", "sender": "Not approved"}}),
            5,
            "rejected: to: Invalid number; sender: Not approved",
            None,
            "to: Invalid number; sender: Not approved",
        ),
        (
            Reply.json(
                {"code": "RBC001", "message": "Authentication failed", "data": [], "error": {}},
                status=401,
            ),
            5,
            "rejected: HTTP 401 Unauthorized: RBC001 Authentication failed",
            None,
            "Authentication failed",
        ),
        (
            Reply.text(HTML, 404, "text/html"),
            5,
            "rejected: HTTP 404 Not Found (body is not JSON: an HTML page)",
            None,
            None,
        ),
        (Reply(status=429), 6, "provider error: HTTP 429 too many requests", None, None),
        (Reply(status=500), 6, "provider error: HTTP 500 Internal Server Error", None, None),
    ],
)
def test_direct_replies(
    reply: Reply,
    exit_code: int,
    verdict: str,
    error_code: int | None,
    error_message: str | None,
) -> None:
    outcome = roundtrip(reply, "direct")
    assert (outcome.exit_code, outcome.verdict) == (exit_code, verdict)
    assert (outcome.error_code, outcome.error_message) == (error_code, error_message)


def test_direct_credentials_hint_mentions_sid_and_region() -> None:
    hint = roundtrip(Reply(status=401), "direct").hint or ""
    assert "sid" in hint
    assert "kaleyra-host" in hint


def test_direct_2xx_that_is_not_json_is_accepted_with_a_hint() -> None:
    outcome = roundtrip(Reply.text(HTML, 200, "text/html"), "direct")
    assert outcome.accepted
    assert "kaleyra-host" in (outcome.hint or "")


# --- hostile bodies ---------------------------------------------------------------------------


def response(status: int, body: bytes, *, truncated: bool = False, reason: str = "") -> Response:
    return Response(status, reason, "HTTP/1.1", (), body, truncated, 0.01)


@pytest.mark.parametrize(
    "body",
    [
        b"[" * 100_000,  # nesting deeper than the recursion limit
        b"\xff\xfe\x00garbage",
        b'{"status": "failure", "error": {"code": 1e400}}',
        b'{"status": "failure", "error": {"code": true, "message": ["a"]}}',
        b'{"status": "failure", "error": []}',
        b'{"status": ["failure"]}',
        json.dumps({"status": "failure", "error": {"message": "x" * 10_000}}).encode(),
    ],
)
@pytest.mark.parametrize("mode", ["adapter", "direct"])
@pytest.mark.parametrize("status", [200, 400, 503])
def test_odd_bodies_classify_without_raising(body: bytes, mode: str, status: int) -> None:
    outcome = classify(response(status, body), mode)
    assert outcome.exit_code in (0, 5, 6)
    assert "\n" not in outcome.verdict
    assert len(outcome.verdict) < 300


def test_a_truncated_body_says_so() -> None:
    outcome = classify(response(200, b'{"status": "succ', truncated=True), "adapter")
    assert outcome.verdict == "accepted (HTTP 200, body is not JSON, truncated)"


def test_an_unknown_mode_is_a_programming_error() -> None:
    with pytest.raises(ValueError, match="mode"):
        classify(response(200, b""), "adapters")


# --- raise_for_outcome ------------------------------------------------------------------------


def test_raise_for_outcome_returns_when_accepted() -> None:
    raise_for_outcome(classify(response(200, b'{"status":"success"}'), "adapter"))


@pytest.mark.parametrize(
    ("status", "body", "error"),
    [
        (200, b'{"status":"failure","error":{"code":2000}}', ProviderRejected),
        (404, b"", ProviderRejected),
        (429, b"", ProviderFailed),
        (502, b"", ProviderFailed),
    ],
)
def test_raise_for_outcome_raises_the_error_with_the_outcome_exit_code(
    status: int, body: bytes, error: type[ProviderRejected | ProviderFailed]
) -> None:
    outcome = classify(response(status, body), "adapter")
    with pytest.raises(error) as caught:
        raise_for_outcome(outcome)
    assert caught.value.exit_code == outcome.exit_code
    assert caught.value.message == outcome.verdict
    assert caught.value.hint == outcome.hint
