"""The pytest plugin kctl ships (entry point pytest11): a user's tests, run by pytester."""

from __future__ import annotations

import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

# What a team's own test module would hold: a stdlib client, and a tiny "adapter" that turns
# CleverTap's SMS form into a call of Kaleyra's messages API, as a real adapter would.
HELPERS = '''
import json
import threading
import urllib.error
import urllib.parse
import urllib.request

import pytest

OPENER = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def post(url, fields, headers):
    body = urllib.parse.urlencode(fields).encode()
    request = urllib.request.Request(
        url,
        data=body,
        method="POST",
        headers={**headers, "Content-Type": "application/x-www-form-urlencoded"},
    )
    try:
        with OPENER.open(request, timeout=5) as reply:
            return reply.status, json.loads(reply.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def clevertap_sms(pair, to, message_id):
    fields = {"to": to.lstrip("+"), "sender": "KLRHXA", "body": "Hi", "message_id": message_id}
    return post(pair.sandbox.sms_url, fields, pair.sms_headers())


def my_adapter(form, kaleyra_host, api_key, sid):
    """The code under test: forwards CleverTap's form to Kaleyra's API."""
    fields = {"to": "+" + form["to"], "sender": form["sender"], "body": form["body"]}
    return post(f"{kaleyra_host}v1/{sid}/messages", fields, {"api-key": api_key})
'''


def run(pytester: pytest.Pytester, tests: str) -> pytest.RunResult:
    pytester.makepyfile(test_user=HELPERS + tests)
    # pytester puts sys.modules back after each in-process run, so hypothesis's plugin would
    # import hypothesis afresh (2 to 3 s) for every run; these runs have no use for it
    return pytester.runpytest(
        "-W", "error", "-p", "no:cacheprovider", "-p", "no:hypothesispytest", "-p", "no:anyio"
    )


def test_users_tests_see_requests_messages_and_reports(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_accepted_then_reported(kctl_pair):
    to = kctl_pair.sandbox.recipient("ok")
    assert clevertap_sms(kctl_pair, to, "m-1") == (200, {"status": "success"})
    seen = kctl_pair.sandbox.wait_for_requests(1)
    assert seen[0].status == 200
    assert seen[0].form()["message_id"] == "m-1"
    assert seen[0].request.header("api-key") == "sandbox-api-key"
    assert [m.message_id for m in kctl_pair.sandbox.wait_for_messages(1)] == ["m-1"]
    report = kctl_pair.wait_for_report("m-1")
    assert report.ok
    assert report.deliveries[0].status == "delivered"
    assert kctl_pair.listener.reports == [report]


def test_my_adapter_reaches_kaleyra(kctl_sandbox):
    status, reply = my_adapter(
        {"to": "919812340000", "sender": "KLRHXA", "body": "Hi"},
        kctl_sandbox.url + "/",
        "key",
        "HX1",
    )
    assert status == 202  # Kaleyra's API accepts with 202
    assert reply["error"] == {}
    (message,) = kctl_sandbox.wait_for_messages(1)
    assert (message.route, message.to) == ("direct sms", "919812340000")
    assert kctl_sandbox.requests[0].request.path == "/v1/HX1/messages"
""",
    )
    result.assert_outcomes(passed=2)


def test_injected_failures_answer_as_the_contract_says(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
@pytest.mark.parametrize(
    ("outcome", "status", "code"),
    [("rate_limited", 429, 2004), ("server_error", 500, 2004), ("invalid_number", 200, 2002)],
)
def test_outcome(kctl_pair, outcome, status, code):
    to = kctl_pair.sandbox.recipient(outcome)
    assert to.endswith({"rate_limited": "0429", "server_error": "0500"}.get(outcome, "2002"))
    got, reply = clevertap_sms(kctl_pair, to, "m-" + outcome)
    assert got == status
    assert reply["status"] == "failure"
    assert reply["error"]["code"] == code
    assert kctl_pair.sandbox.messages == []
    assert kctl_pair.sandbox.wait_for_requests(1)[0].status == status


def test_blacklisted_is_accepted_then_fails(kctl_pair):
    to = kctl_pair.sandbox.recipient("blacklisted")
    assert clevertap_sms(kctl_pair, to, "m-b")[0] == 200
    delivery = kctl_pair.wait_for_report("m-b").delivery("m-b")
    assert (delivery.status, delivery.code) == ("failed", "901")


def test_unknown_outcome(kctl_sandbox):
    with pytest.raises(ValueError, match="rate_limited"):
        kctl_sandbox.recipient("slow")
""",
    )
    result.assert_outcomes(passed=5)


def test_marker_sets_the_sandbox_limits(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
@pytest.mark.kctl_sandbox(max_concurrency=1, latency=0.5, api_key="k1", sid="S1")
def test_second_request_in_flight_gets_429(kctl_pair):
    assert kctl_pair.sms_headers()["api-key"] == "k1"
    first = []
    thread = threading.Thread(
        target=lambda: first.append(clevertap_sms(kctl_pair, "+919812340000", "m-1"))
    )
    thread.start()
    assert kctl_pair.sandbox.app.wait_in_flight(1)
    status, _ = clevertap_sms(kctl_pair, "+919812340001", "m-2")
    thread.join()
    assert status == 429
    assert first[0][0] == 200


@pytest.mark.kctl_sandbox(colour="blue")
def test_bad_marker(kctl_sandbox):
    pass
""",
    )
    result.assert_outcomes(passed=1, errors=1)
    result.stdout.fnmatch_lines(["*kctl_sandbox takes keyword settings only*"])


def test_a_wait_that_times_out_fails_the_users_test(pytester: pytest.Pytester) -> None:
    result = run(
        pytester,
        """
def test_nothing_arrives(kctl_pair):
    kctl_pair.sandbox.wait_for_requests(1, timeout=0.2)


def test_no_report(kctl_listener):
    kctl_listener.wait_for_report("never", timeout=0.2)
""",
    )
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(
        [
            "*0 requests answered within 0.2 s, expected 1*",
            "*no delivery report for never within 0.2 s*",
        ]
    )


def test_the_plugin_is_registered_and_light() -> None:
    assert any(e.value == "kctl.testing.pytest_plugin" for e in entry_points(group="pytest11"))
    probe = (
        "import json, sys, kctl.testing.pytest_plugin\n"
        "print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    loaded = set(json.loads(done.stdout))
    assert loaded.isdisjoint({"httpx", "yaml", "rich", "keyring", "typer", "asyncio"})
    assert "pytest" in loaded
