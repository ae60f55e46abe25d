"""kctl load: CleverTap-shaped requests at a concurrency, each answer judged by the 1 s deadline.

Every run here is bounded by a handful of requests per step; all traffic stays on 127.0.0.1
(the in-process sandbox, or the threaded server of tests/servers.py).
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from kctl.config.model import WhatsAppProvider, load_account
from kctl.contract.replies import DEADLINE_S
from kctl.send.samples import template_samples
from kctl.send.whatsapp import template_payload
from tests.servers import RecordedRequest, Reply, serve
from tests.support import REPO, Kctl

RECIPIENT = "+12025550123"

SMS_CONFIG = """\
version: 1
providers:
  - nickname: sms
    channel: sms
    endpoint: {endpoint}
    headers:
      api-key: ${{KCTL_LOAD_TEST_KEY}}
      sid: HXTEST
      kaleyra-host: https://api.kaleyra.io/
      callback_url: https://ct.example.com/sms/dlr
    parameters: {{to: $$To, sender: $$Sender, body: $$Body, message_id: $$MessageID}}
    sender: KLRHXA
    test_recipients: ["{recipient}"]
    templates:
      - name: shipped
        body: "Your order {{#var#}} has shipped"
"""

ENV: dict[str, str | None] = {"KCTL_LOAD_TEST_KEY": "load-secret-1234"}


def sms_config(tmp_path: Path, endpoint: str = "https://adapter.example.com/sms") -> str:
    path = tmp_path / "sms.yaml"
    path.write_text(SMS_CONFIG.format(endpoint=endpoint, recipient=RECIPIENT))
    return str(path)


def whatsapp_config(tmp_path: Path, endpoint: str) -> str:
    text = (REPO / "configs" / "whatsapp.yaml").read_text()
    text = text.replace("https://ct-adapter.example.com/whatsapp", endpoint)
    text = text.replace("${keyring:kaleyra/api-key}", "${KCTL_LOAD_TEST_KEY}")
    path = tmp_path / "wa.yaml"
    path.write_text(text)
    return str(path)


def load_json(kctl: Kctl, *args: str) -> tuple[int, dict[str, Any], str]:
    result = kctl("load", *args, "--json", env=dict(ENV))
    assert result.stdout, result
    return result.exit_code, json.loads(result.stdout), result.stderr


def success(_: RecordedRequest) -> Reply:
    return Reply.json({"status": "success"})


def slow(seconds: float) -> Reply:
    return replace(Reply.json({"status": "success"}), delay=seconds)


# --- against the sandbox ------------------------------------------------------------------------


def test_ramp_finds_the_sandbox_limit_and_shows_429s_above_it(kctl: Kctl, tmp_path: Path) -> None:
    code, doc, _ = load_json(
        kctl,
        "-c",
        sms_config(tmp_path),
        "--sandbox",
        "--sandbox-latency",
        "0.2",
        "--sandbox-max-concurrency",
        "300",
        "--ramp",
        "30..1000",
        "--requests",
        "300",
    )
    steps = {s["concurrency"]: s for s in doc["steps"]}
    rec = doc["recommendation"]
    assert 150 <= rec["max_concurrency"] <= 450, rec
    assert code == 0
    assert doc["ramp"] is True
    assert doc["target"]["kind"] == "sandbox"
    assert doc["target"]["sandbox"] == {"latency_s": 0.2, "max_concurrency": 300}
    # the climb doubles from 30, stops at the first step over the limit, then bisects
    assert list(steps)[:5] == [30, 60, 120, 240, 480]
    assert 1000 not in steps
    over = [s for c, s in steps.items() if c > 300]
    assert over
    assert all(s["counts"]["429"] > 0 and not s["holds"] for s in over)
    assert all(s["counts"]["429"] == 0 for c, s in steps.items() if c <= 300)
    assert steps[480]["counts"]["429"] >= 480 - 300  # at least everything past the limit
    assert "429" in rec["reason"]
    # the example config leaves max_concurrency empty: CleverTap would send up to 1500
    assert doc["config_max_concurrency"] is None
    assert "set max_concurrency" in rec["config_note"]


def test_text_report_has_the_step_table_and_a_histogram(kctl: Kctl, tmp_path: Path) -> None:
    result = kctl(
        "load", "-c", sms_config(tmp_path), "--sandbox", "-n", "20", "--requests", "60", env=ENV
    )
    assert result.exit_code == 0, result
    out = result.stdout
    assert "-> sandbox http://127.0.0.1:" in out
    assert "payload: sms template shipped, to +12025550123" in out
    assert "{#var#} 1=kctl-sample-1" in out  # a made-up value says so
    header = next(line for line in out.splitlines() if "in flight" in line)
    for column in ("req/s", "p50", "p95", "p99", "max", "<=1s", "2xx", "429", "5xx", "timeout"):
        assert column in header
    row = next(line for line in out.splitlines() if line.split()[:2] == ["20", "60"])
    assert "100.0%" in row
    assert "latency at 20 concurrent" in out
    assert "█" in out
    assert "\x1b[" not in out  # not a terminal: no colour
    assert result.stderr == ""  # no progress display when stderr is not a terminal


@pytest.mark.parametrize(
    ("recipient", "bucket", "code"),
    [("+12025550429", "429", 6), ("+12025550500", "5xx", 6), ("+12025552002", "other", 5)],
)
def test_failures_set_the_exit_code(
    kctl: Kctl, tmp_path: Path, recipient: str, bucket: str, code: int
) -> None:
    config = sms_config(tmp_path)
    got, doc, _ = load_json(
        kctl, "-c", config, "--sandbox", "-n", "5", "--requests", "10", "--to", recipient
    )
    step = doc["steps"][0]
    assert step["counts"][bucket] == 10
    assert got == code == doc["exit_code"] == step["exit_code"]
    if bucket == "other":
        assert "2002" in step["reasons"][0]["reason"]


# --- against a loopback server of our own -------------------------------------------------------


def test_answers_after_the_deadline_are_timeouts(kctl: Kctl, tmp_path: Path) -> None:
    with serve(lambda _: slow(1.5)) as server:
        code, doc, _ = load_json(
            kctl,
            "-c",
            sms_config(tmp_path, server.url("/sms")),
            "-n",
            "4",
            "--requests",
            "4",
            "--timeout",
            "4",
        )
    step = doc["steps"][0]
    assert code == 4 == doc["exit_code"]
    assert step["within_deadline"] == 0.0
    assert step["counts"] == {"2xx": 0, "429": 0, "5xx": 0, "timeout": 4, "other": 0}
    assert step["late"] == 4
    assert step["unanswered"] == 0
    assert step["latency_s"]["p50"] >= 1.4
    assert doc["target"]["kind"] == "loopback"
    assert sum(b["count"] for b in step["histogram"] if b["le_s"] and b["le_s"] <= DEADLINE_S) == 0


def test_no_answer_at_all_has_no_latency(kctl: Kctl, tmp_path: Path) -> None:
    with serve(lambda _: slow(1.6)) as server:
        code, doc, _ = load_json(
            kctl,
            "-c",
            sms_config(tmp_path, server.url("/sms")),
            "-n",
            "2",
            "--requests",
            "2",
            "--timeout",
            "1",
        )
    step = doc["steps"][0]
    assert code == 4
    assert step["unanswered"] == 2
    assert step["latency_s"] == {"p50": None, "p95": None, "p99": None, "max": None}
    assert step["reasons"] == [{"reason": "no answer within 1 s", "count": 2}]


def fake_reply(_: RecordedRequest) -> Reply:
    return slow(0.3)


def test_duration_bounds_a_step(kctl: Kctl, tmp_path: Path) -> None:
    with serve(fake_reply) as server:
        started = time.monotonic()
        code, doc, _ = load_json(
            kctl,
            "-c",
            sms_config(tmp_path, server.url("/sms")),
            "-n",
            "1",
            "--requests",
            "1000",
            "--duration",
            "1",
        )
        took = time.monotonic() - started
    step = doc["steps"][0]
    assert code == 0
    assert step["stopped"] == "duration"
    # one worker, and each answer takes at least 0.3 s: requests start at 0, >=0.3, >=0.6 and
    # >=0.9 s, and none at or after the 1 s deadline, so 4 at most however slow the machine is
    assert 1 <= step["requests_sent"] <= 4
    assert took < 20


def test_whatsapp_load_sends_clevertaps_payload(kctl: Kctl, tmp_path: Path) -> None:
    """Each request is the builder's template payload with its examples and a fresh msgId."""
    with serve(success) as server:
        config = whatsapp_config(tmp_path, server.url("/whatsapp"))
        code, doc, _ = load_json(kctl, "-c", config, "-n", "4", "--requests", "12")
        seen = server.requests
    assert code == 0, doc
    assert doc["steps"][0]["counts"]["2xx"] == 12
    assert len(seen) == 12
    provider = load_account(config).provider("Kaleyra")
    assert isinstance(provider, WhatsAppProvider)
    template = provider.templates[0]
    ids = set()
    for request in seen:
        payload = request.json()
        ids.add(payload["msgId"])
        assert payload["payloadVersion"] == 0.1  # a JSON number, as CleverTap sends it
        assert len(payload["msgId"].split("|")) == 4
        # what the builder makes of the template's examples, with this msgId
        values, _ = template_samples(template)
        assert payload == template_payload(
            provider, template, values, "+919812345678", payload["msgId"]
        )
        assert request.header("api-key") == "load-secret-1234"  # the secret, resolved
        assert request.header("content-type") == "application/json"
    assert len(ids) == 12
    # keep-alive: one connection to see the endpoint is up, then one per worker
    assert server.connections == 1 + 4
    assert "load-secret-1234" not in json.dumps(doc)


def test_validation_payload(kctl: Kctl, tmp_path: Path) -> None:
    with serve(success) as server:
        config = whatsapp_config(tmp_path, server.url("/whatsapp"))
        code, doc, _ = load_json(kctl, "-c", config, "--validation", "-n", "2", "--requests", "2")
        seen = server.requests
    assert code == 0
    assert doc["payload"]["kind"] == "validation"
    bodies = [r.json() for r in seen]
    assert {b["template"]["namespace"] for b in bodies} == {
        "whatsapp:hsm:technology:generic:verify"
    }
    assert {b["msgId"] for b in bodies} == {"0|0|0|0"}


def test_rejections_say_why(kctl: Kctl, tmp_path: Path) -> None:
    def refuse(_: RecordedRequest) -> Reply:
        return Reply.json(
            {"status": "failure", "error": {"code": 2001, "message": "no such \x1b[31mtemplate"}}
        )

    with serve(refuse) as server:
        result = kctl(
            "load",
            "-c",
            sms_config(tmp_path, server.url("/sms")),
            "-n",
            "2",
            "--requests",
            "4",
            env=ENV,
        )
    assert result.exit_code == 5, result
    assert "4 x rejected: 2001 template parameters do not match" in result.stdout
    assert "\x1b[31m" not in result.stdout  # the provider's words are escaped
    assert "\\x1b[31m" in result.stdout


def test_connection_refused_is_a_network_failure(kctl: Kctl, tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = sms_config(tmp_path, f"http://127.0.0.1:{port}/sms")
    result = kctl("load", "-c", config, "-n", "2", env=ENV)
    assert result.exit_code == 4
    assert "cannot connect to 127.0.0.1" in result.stderr
    assert "connection refused" in result.stderr


# --- refusals -----------------------------------------------------------------------------------


@pytest.fixture
def no_dns(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Records (and refuses) every name lookup the test makes."""
    lookups: list[Any] = []

    def refuse(*args: Any, **kwargs: Any) -> Any:
        lookups.append(args)
        raise OSError("no DNS in this test")

    monkeypatch.setattr(socket, "getaddrinfo", refuse)
    return lookups


def test_remote_endpoint_is_refused_before_any_lookup(
    kctl: Kctl, tmp_path: Path, no_dns: list[Any]
) -> None:
    config = sms_config(tmp_path, "https://adapter.invalid/sms")
    result = kctl("load", "-c", config, "-n", "10", env=ENV)
    assert result.exit_code == 2, result
    assert "refusing to load adapter.invalid" in result.stderr
    assert "--allow-remote" in result.stderr
    assert no_dns == []


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "--allow-remote needs --to"),
        (["--to", "+12025550199"], "+12025550199 not in test_recipients"),
    ],
)
def test_allow_remote_needs_test_recipients(
    kctl: Kctl, tmp_path: Path, no_dns: list[Any], extra: list[str], message: str
) -> None:
    config = sms_config(tmp_path, "https://adapter.invalid/sms")
    result = kctl("load", "-c", config, "--allow-remote", *extra, env=ENV)
    assert result.exit_code == 2, result
    assert message in result.stderr
    assert no_dns == []


def test_allowed_remote_goes_as_far_as_the_lookup(
    kctl: Kctl, tmp_path: Path, no_dns: list[Any]
) -> None:
    config = sms_config(tmp_path, "https://adapter.invalid/sms")
    result = kctl("load", "-c", config, "--allow-remote", "--to", RECIPIENT, "-n", "1", env=ENV)
    assert result.exit_code == 4, result
    assert "cannot resolve adapter.invalid" in result.stderr
    assert no_dns  # it did try, once allowed


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sandbox", "-n", "30", "--ramp", "30..100"], "not both"),
        (["--sandbox", "--ramp", "100..30"], "LOW must be below HIGH"),
        (["--sandbox", "--ramp", "30"], "is not LOW..HIGH"),
        (["--sandbox", "-n", "2000"], "outside 1..1500"),
        (["--sandbox", "--step", "10"], "--step goes with --ramp"),
        (["--sandbox", "--ramp", "1..1500", "--step", "1"], "at most 20"),
        (["--sandbox-latency", "0.2"], "go with --sandbox"),
        (["--sandbox", "--timeout", "0.5"], "--timeout must be"),
        (["--sandbox", "--requests", "1000000"], "--requests must be"),
        (["--sandbox", "--duration", "9999"], "--duration must be"),
        (["--sandbox", "--lang", "en"], "are for WhatsApp providers"),
        (["--sandbox", "--to", "12345"], "--to"),
    ],
)
def test_usage_errors(kctl: Kctl, tmp_path: Path, args: list[str], message: str) -> None:
    result = kctl("load", "-c", sms_config(tmp_path), *args, env=ENV)
    assert result.exit_code == 2, result
    assert message in result.stderr


def test_json_error_is_one_document(kctl: Kctl, tmp_path: Path) -> None:
    result = kctl("load", "-c", sms_config(tmp_path), "--json", env=ENV)
    assert result.exit_code == 2
    assert json.loads(result.stdout)["error"]["message"].startswith("refusing to load")


# --- a real process: Ctrl-C keeps what was measured -----------------------------------------------


def test_interrupt_reports_what_was_measured(tmp_path: Path) -> None:
    with serve(fake_reply) as server:
        config = sms_config(tmp_path, server.url("/sms"))
        child = subprocess.Popen(
            [sys.executable, "-m", "kctl", "load", "-c", config, "-n", "2", "--requests", "500"],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env={**os.environ, "KCTL_LOAD_TEST_KEY": "load-secret-1234"},
        )
        server.wait_for_requests(4, timeout=20)
        child.send_signal(signal.SIGINT)
        out, err = child.communicate(timeout=20)
    assert child.returncode == 130, err
    assert "interrupted" in out
    row = next(line for line in out.splitlines() if line.split()[:1] == ["2"])
    assert int(row.split()[1]) >= 2  # the requests answered before Ctrl-C are in the report


def test_help_imports_nothing_heavy() -> None:
    probe = (
        "import json, sys\n"
        "from kctl.cli.app import main\n"
        "try:\n    main(['load', '--help'])\nexcept SystemExit:\n    pass\n"
        "sys.__stderr__.write(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=False
    )
    loaded = set(json.loads(done.stderr.strip().splitlines()[-1]))
    assert "--ramp" in done.stdout
    assert loaded.isdisjoint({"httpx", "httpcore", "yaml", "rich", "keyring"})
