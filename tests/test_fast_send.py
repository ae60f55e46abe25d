"""send-test's fast lane prints, sends and exits exactly as the typer command does.

Each command line runs twice, through the console script's entry (``kctl.cli.main``, the lane
first) and through the typer app's (``kctl.cli.app.main``), against a real HTTP server on
127.0.0.1; stdout, stderr and the exit code must be the same, but for what differs from one
send to the next (the message id, the time the reply took).
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kctl.cli import fast, help_pages
from tests.servers import RecordedRequest, Reply, TestServer, serve
from tests.support import REPO

FAST = "import sys; from kctl.cli import main; main(sys.argv[1:])"
# FAST, and whether typer ran after all, in the file PROBE names
FAST_PROBE = """
import os, sys
from kctl.cli import main
try:
    main(sys.argv[1:])
finally:
    with open(os.environ["PROBE"], "w") as fh:
        fh.write("typer" if "typer" in sys.modules else "lane")
"""
TYPER = "import sys; from kctl.cli.app import main; main(sys.argv[1:])"
API_KEY = "CANARY-fast-lane-key-77a1"

SMS = """\
version: 1
providers:
  - nickname: {nick}
    channel: sms
    endpoint: {origin}{path}
    headers:
      api-key: ${{KCTL_TEST_API_KEY}}
      sid: HXIN1234567890
      kaleyra-host: https://api.kaleyra.io/
      callback_url: {origin}/sms/dlr
    parameters:
      to: $$To
      sender: $$Sender
      body: $$Body
      message_id: $$MessageID
      type: $$TYPE
    sender: KLRHXA
    message_type: TXN
    templates:
      - name: otp_login
        body: "Your login OTP is {{#var#}}. - ACME"
"""

WHATSAPP = """\
  - nickname: WA
    channel: whatsapp
    endpoint: {origin}/whatsapp
    business_number: "+919876543210"
    headers:
      api-key: ${{KCTL_TEST_API_KEY}}
      sid: HXIN1234567890
      kaleyra-host: https://api.kaleyra.io/
      inbound-message-callback-url: {origin}/wa/inbound
      delivery-report-callback-url: {origin}/wa/dlr
    templates:
      - name: order_update
        language: en
        body: "Hi {{{{1}}}}, your order {{{{2}}}} has shipped."
"""


def answer(request: RecordedRequest) -> Reply:
    match request.path:
        case "/reject":
            return Reply.json({"status": "failure", "error": {"code": "E413"}}, status=400)
        case "/broken":
            return Reply.json({"status": "error"}, status=500)
        case "/reset":
            return Reply(body=b'{"status":"success"}', cut_after=3)
        case "/slow":
            return Reply(body=b'{"status":"success"}', delay=2.0)
        case _:
            return Reply.json({"status": "success"})


@pytest.fixture(scope="module")
def server() -> Iterator[TestServer]:
    with serve(answer) as running:
        yield running


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture(scope="module")
def configs(server: TestServer, tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("configs")
    origin = server.origin
    files = {
        "sms": SMS.format(nick="SMS", origin=origin, path="/sms"),
        "reject": SMS.format(nick="SMS", origin=origin, path="/reject"),
        "broken": SMS.format(nick="SMS", origin=origin, path="/broken"),
        "reset": SMS.format(nick="SMS", origin=origin, path="/reset"),
        "slow": SMS.format(nick="SMS", origin=origin, path="/slow"),
        "refused": SMS.format(nick="SMS", origin=f"http://127.0.0.1:{closed_port()}", path="/"),
        "both": SMS.format(nick="SMS", origin=origin, path="/sms") + WHATSAPP.format(origin=origin),
        "invalid": SMS.format(nick="SMS", origin=origin, path="/sms").replace(
            "channel: sms", "channel: fax"
        ),
    }
    paths = {}
    for name, text in files.items():
        path = folder / f"{name}.yaml"
        path.write_text(text)
        paths[name] = str(path)
    paths["missing"] = str(folder / "no-such-file.yaml")
    return paths


TO = "+14155550123"
BODY = ("--body", "Your order 1234 has shipped. - ACME")

# (config, arguments after it); every one runs through both entries
CASES: list[tuple[str, tuple[str, ...]]] = [
    ("sms", ("--to", TO, *BODY)),
    ("sms", ("--to", TO, *BODY, "--json")),
    ("sms", ("--to", TO, "--body=ünïcødé ✓ text", "-v")),
    ("sms", ("--to", TO, *BODY, "--dry-run")),
    ("sms", ("--to", TO, *BODY, "--curl")),
    ("sms", ("--to", TO, "-t", "otp_login", "--param", "482913")),
    ("sms", ("--to", TO, "--template=otp_login", "--param=1", "--param=2")),
    ("sms", ("--to", TO, *BODY, "--sender", "ACMEIN", "--type", "otp", "--force")),
    ("sms", ("--to", TO, *BODY, "--var", "hid=1")),
    ("both", ("--to", TO, "-p", "WA", "-t", "order_update", "--param", "Asha", "--param", "12")),
    ("both", ("--to", TO, "-t", "order_update", "--param", "Asha", "--param", "12", "--json")),
    ("both", ("--to", TO, *BODY)),
    ("both", ("--to", TO, "-p", "WA", *BODY)),
    ("both", ("--to", TO, "--provider", "NOPE", *BODY, "--json")),
    ("reject", ("--to", TO, *BODY)),
    ("reject", ("--to", TO, *BODY, "--json")),
    ("broken", ("--to", TO, *BODY)),
    ("reset", ("--to", TO, *BODY)),
    ("refused", ("--to", TO, *BODY)),
    ("refused", ("--to", TO, *BODY, "--json")),
    ("slow", ("--to", TO, *BODY, "--timeout", "0.5")),  # not the lane's: typer's on both sides
    ("sms", ("--to", "+999123", *BODY)),
    ("sms", ("--to", TO)),
    ("sms", ("--to", TO, *BODY, "--body", "twice")),
    ("sms", ("--to", TO, "--body", "-starts-with-a-dash")),
    ("sms", ("--to", TO, *BODY, "--bogus")),
    ("sms", ("--to", TO, *BODY, "extra-argument")),
    ("sms", (*BODY,)),
    ("sms", ("--to", TO, *BODY, "--color", "never")),
    ("sms", ("--to", TO, *BODY, "--json", "--traceback")),
    ("missing", ("--to", TO, *BODY)),
    ("missing", ("--to", TO, *BODY, "--json")),
    ("invalid", ("--to", TO, *BODY)),
    ("invalid", ("--to", TO, *BODY, "--json")),
]

# what differs between two sends of the same command line
_VARYING = [
    (re.compile(r"\d{10}\.\d{10}\.\d+\.\d{8}\.0\.wzrk_default\.-1\."), "SMS-ID"),
    (re.compile(r"\d{8}\|\d+\|\d{8}\|\d{8}"), "WA-ID"),
    (re.compile(r"\(\d+ ms\)"), "(N ms)"),
    (re.compile(r'"elapsed_ms": [0-9.]+'), '"elapsed_ms": N'),
]


def normalized(text: str) -> str:
    for pattern, fixed in _VARYING:
        text = pattern.sub(fixed, text)
    return text


def environment(**extra: str) -> dict[str, str]:
    drop = ("COLUMNS", "NO_COLOR", "FORCE_COLOR", "KCTL_TEST_API_KEY")
    env = {
        k: v for k, v in os.environ.items() if k not in drop and not k.lower().endswith("_proxy")
    }
    env["KCTL_TEST_API_KEY"] = API_KEY
    env.update(extra)
    return env


def run(code: str, args: list[str], **extra: str) -> tuple[int, str, str]:
    done = subprocess.run(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=environment(**extra),
    )
    assert API_KEY not in done.stdout + done.stderr
    return done.returncode, normalized(done.stdout), normalized(done.stderr)


def command_line(configs: dict[str, str], config: str, rest: tuple[str, ...]) -> list[str]:
    return ["send-test", "-c" if len(rest) % 2 else "--config", configs[config], *rest]


@pytest.mark.parametrize(("config", "rest"), CASES, ids=lambda c: " ".join(c)[:70])
def test_the_lane_sends_and_answers_as_typer_does(
    configs: dict[str, str],
    server: TestServer,
    tmp_path: Path,
    config: str,
    rest: tuple[str, ...],
) -> None:
    args = command_line(configs, config, rest)
    before = len(server.requests)
    probe = tmp_path / "probe"
    lane = run(FAST_PROBE, args, PROBE=str(probe))
    sent_by_lane = server.requests[before:]
    taken = fast.send_test_options(args[1:]) is not None
    assert probe.read_text() == ("lane" if taken else "typer")
    typer = run(TYPER, args)
    assert lane == typer
    # each side sent what it said it sent, once: the lane never hands a send to typer
    assert len(server.requests) - before == 2 * len(sent_by_lane)


@pytest.mark.parametrize("env", [{"FORCE_COLOR": "1"}, {"NO_COLOR": "1"}])
def test_the_lane_colours_as_typer_does(configs: dict[str, str], env: dict[str, str]) -> None:
    for config in ("sms", "reject"):
        args = command_line(configs, config, ("--to", TO, *BODY))
        lane, typer = run(FAST, args, **env), run(TYPER, args, **env)
        assert lane == typer
        assert ("\x1b[" in lane[1]) is ("NO_COLOR" not in env)


def test_an_unset_secret_is_reported_as_typer_does(configs: dict[str, str]) -> None:
    args = command_line(configs, "sms", ("--to", TO, *BODY))
    env = environment()
    del env["KCTL_TEST_API_KEY"]
    outcomes = []
    for code in (FAST, TYPER):
        done = subprocess.run(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            check=False,
            cwd=REPO,
            env=env,
        )
        outcomes.append((done.returncode, done.stdout, done.stderr))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == 3
    assert "KCTL_TEST_API_KEY" in outcomes[0][2]


def test_sigterm_while_waiting_for_the_reply_ends_as_typer_does(
    configs: dict[str, str], server: TestServer
) -> None:
    args = command_line(configs, "slow", ("--to", TO, *BODY))
    outcomes = []
    for code in (FAST, TYPER):
        before = len(server.requests)
        process = subprocess.Popen(
            [sys.executable, "-c", code, *args],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
            env=environment(),
        )
        server.wait_for_requests(before + 1, timeout=10)
        time.sleep(0.1)  # the request has arrived; the reply is 2 s away
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=10)
        outcomes.append((process.returncode, normalized(stdout), normalized(stderr)))
    assert outcomes[0] == outcomes[1]
    assert outcomes[0][0] == 143
    assert outcomes[0][2].endswith("kctl: terminated\n")


def test_the_lane_stands_aside_while_kctl_cli_is_changed(
    configs: dict[str, str], server: TestServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = len(server.requests)
    monkeypatch.setattr(help_pages, "DIGEST", help_pages.DIGEST + 1)
    fast.send_test(["--config", configs["sms"], "--to", TO, *BODY])  # returns: typer's turn
    assert len(server.requests) == before


@pytest.mark.parametrize(
    "args",
    [
        ["--to", TO, "--timeout", "1"],
        ["--to", TO, "-c"],
        ["--to", TO, "--to", TO, "-c", "x"],
        ["--to", TO, "-cx"],
        ["--to", TO, "-c=x"],
        ["--to", TO, "-c", "x", "--json=1"],
        ["--to", TO, "-c", "x", "--"],
        ["--to", TO, "-c", "x", "--help"],
        ["--to", TO, "-c", "x", "-h"],
        ["--to", TO, "-c", "x", "--json", "--json"],
        ["--config", "x"],
    ],
    ids=" ".join,
)
def test_the_lane_leaves_other_command_lines_to_typer(args: list[str]) -> None:
    assert fast.send_test_options(args) is None


def test_the_lane_reads_its_options_as_typer_does() -> None:
    assert fast.send_test_options(
        ["-c", "a.yaml", "--to=+1", "--param", "x", "--param=y=z", "--json", "-v", "--body="]
    ) == {
        "config": "a.yaml",
        "to": "+1",
        "param": ["x", "y=z"],
        "as_json": True,
        "verbose": True,
        "body": "",
    }


def test_the_lane_options_are_the_typer_commands() -> None:
    """Each option the lane takes is the typer command's, under the same name, and one click
    takes as it is: a string (no conversion), a list of them, or a flag."""
    import typer
    from typer._click.types import StringParamType

    from kctl.cli.app import app

    command = typer.main.get_command(app).commands["send-test"]  # type: ignore[attr-defined]
    by_flag = {opt: param for param in command.params for opt in param.opts}
    for flag, name in fast.SEND_VALUES.items():
        param = by_flag[flag]
        assert (param.name, type(param.type), param.multiple) == (name, StringParamType, False)
    for flag, name in fast.SEND_LISTS.items():
        param = by_flag[flag]
        assert (param.name, type(param.type), param.multiple) == (name, StringParamType, True)
    for flag, name in fast.SEND_FLAGS.items():
        param = by_flag[flag]
        assert (param.name, param.is_flag, param.secondary_opts) == (name, True, []), flag
        assert param.default is False
    for param in command.params:
        if param.name in {*fast.SEND_VALUES.values(), *fast.SEND_LISTS.values()}:
            assert param.default is None or param.required, param.name
            assert param.callback is None, param.name
            assert param.envvar is None, param.name


def test_the_json_document_of_a_lane_send_is_one_document(configs: dict[str, str]) -> None:
    code, stdout, _ = run(FAST, command_line(configs, "sms", ("--to", TO, *BODY, "--json")))
    document = json.loads(stdout.replace('"elapsed_ms": N', '"elapsed_ms": 0'))
    assert (code, document["exit_code"], document["response"]["status"]) == (0, 0, 200)


def test_configs_in_the_repository_dry_run_alike(tmp_path: Path) -> None:
    # the example configs (keyring references, DLT, WhatsApp) through both entries, dry runs
    args = ["send-test", "-c", "configs/whatsapp.yaml", "--to", "+919812345678"]
    args += ["-t", "order_update", "--param", "Asha", "--param", "1234", "--dry-run"]
    lane, typer = run(FAST, args), run(TYPER, args)
    assert lane == typer


@pytest.mark.parametrize("code", [FAST, TYPER], ids=["lane", "typer"])
def test_a_failure_while_reporting_a_failure_never_sends_twice(
    configs: dict[str, str], server: TestServer, code: str
) -> None:
    """The reply never comes (reset) and stderr is a pipe nobody reads any more: writing the
    error fails too. The lane must end there, as the typer app does, and not hand the command
    to typer, which would send the message a second time."""
    args = command_line(configs, "reset", ("--to", TO, *BODY))
    before = len(server.requests)
    process = subprocess.Popen(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        cwd=REPO,
        env=environment(),
    )
    assert process.stderr is not None
    process.stderr.close()  # the read end: every write to stderr now fails
    process.communicate(timeout=20)
    assert process.returncode != 0
    assert len(server.requests) - before == 1
