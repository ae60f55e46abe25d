"""The curl export runs: printed by send-test --curl, executed by a real shell and curl, it
reaches the sandbox with the secret read from the environment at run time."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from kctl.servers.http import HttpServer, ServerThread
from kctl.servers.sandbox import Sandbox
from tests.support import Kctl

API_KEY = "k-curl-export-123456789"
pytestmark = pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl binary")


@pytest.fixture
def sandbox() -> Iterator[tuple[Sandbox, ServerThread]]:
    app = Sandbox(api_key=API_KEY, dlr_delay=60)
    with HttpServer(app).start_in_thread() as running:
        yield app, running


def _config(tmp_path: Path, url: str) -> Path:
    path = tmp_path / "kctl.yaml"
    path.write_text(
        f"""\
version: 1
providers:
  - nickname: wa
    channel: whatsapp
    endpoint: {url}/whatsapp
    business_number: "+919876543210"
    headers:
      api-key: ${{KCTL_CURL_KEY}}
      sid: HXIN1234567890
      kaleyra-host: {url}/
      inbound-message-callback-url: {url}/wa/inbound
      delivery-report-callback-url: {url}/wa/dlr
    templates:
      - name: order_update
        language: en
        body: "Hi {{{{1}}}}, it's order {{{{2}}}} (\\"quoted\\") & more."
  - nickname: sms
    channel: sms
    endpoint: {url}/sms
    auth: {{type: basic, username: ct, password: "${{KCTL_CURL_PASSWORD}}"}}
    headers:
      api-key: ${{KCTL_CURL_KEY}}
      sid: HXIN1234567890
      kaleyra-host: {url}/
      callback_url: {url}/sms/dlr
    parameters: {{to: $$To, sender: $$Sender, body: $$Body, message_id: $$MessageID}}
    sender: KLRHXA
"""
    )
    return path


def _curl_from_dry_run(kctl: Kctl, config: Path, *args: str) -> str:
    result = kctl(
        "send-test", "--config", str(config), "--to", "+919812345678", "--dry-run", "--json",
        "--curl", *args,
    )  # fmt: skip
    assert result.exit_code == 0, result
    curl = json.loads(result.stdout)["curl"]
    assert isinstance(curl, str)
    assert API_KEY not in curl
    return curl


@pytest.mark.parametrize(
    "args",
    [
        ("--provider", "wa", "--template", "order_update", "--param", "Asha's", "--param", "$(x)"),
        ("--provider", "sms", "--body", "It's shipped; `echo no` & $HOME stays text"),
    ],
    ids=["whatsapp", "sms-basic-auth"],
)
def test_printed_curl_command_reaches_the_sandbox(
    kctl: Kctl, tmp_path: Path, sandbox: tuple[Sandbox, ServerThread], args: tuple[str, ...]
) -> None:
    app, running = sandbox
    curl = _curl_from_dry_run(kctl, _config(tmp_path, running.url), *args)
    env = {"PATH": os.environ["PATH"], "KCTL_CURL_KEY": API_KEY, "KCTL_CURL_PASSWORD": "pw-1"}
    done = subprocess.run(
        ["bash", "-c", curl], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["status"] == "success", done.stdout
    assert len(app.messages) == 1
    assert app.messages[0].to == "919812345678"


def test_without_the_secret_the_sandbox_refuses_it(
    kctl: Kctl, tmp_path: Path, sandbox: tuple[Sandbox, ServerThread]
) -> None:
    app, running = sandbox
    curl = _curl_from_dry_run(
        kctl, _config(tmp_path, running.url), "--provider", "sms", "--body", "hello"
    )
    env = {"PATH": os.environ["PATH"], "KCTL_CURL_KEY": "wrong-key", "KCTL_CURL_PASSWORD": "x"}
    done = subprocess.run(
        ["bash", "-c", curl], env=env, capture_output=True, text=True, timeout=30, check=False
    )
    assert json.loads(done.stdout)["error"]["code"] == 2000
    assert app.messages == []
