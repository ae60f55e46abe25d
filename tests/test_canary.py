"""One canary test over every command and mode: no secret in any output or written file.

Secrets come from all three places a config can hold them: an environment variable, the
keyring, and a literal in the file. --show-secrets is the positive control.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import keyring
import pytest
from keyrings.alt.file import PlaintextKeyring

from tests.servers import Reply, TestServer, serve
from tests.support import Kctl

ENV_SECRET = "canary-ENV-7c1d9e2f"
KEYRING_SECRET = "canary-KEYRING-4b8a"
LITERAL_SECRET = "canary-LITERAL-5e6f"
SECRETS = (ENV_SECRET, KEYRING_SECRET, LITERAL_SECRET)

CONFIG = """\
version: 1
providers:
  - nickname: WA
    channel: whatsapp
    endpoint: {origin}/whatsapp
    business_number: "+919876543210"
    headers:
      api-key: ${{CANARY_KEY}}
      sid: HXIN1
      kaleyra-host: {origin}/
      inbound-message-callback-url: {origin}/in
      delivery-report-callback-url: {origin}/dlr
    templates:
      - {{name: hello, language: en, body: "Hi {{{{1}}}}"}}
  - nickname: SMS
    channel: sms
    endpoint: {origin}/sms
    auth: {{type: basic, username: ct, password: "${{keyring:canary/pass}}"}}
    headers:
      api-key: {literal}
      sid: HXIN1
      kaleyra-host: {origin}/
      callback_url: {origin}/sms-dlr
    parameters: {{to: $$To, sender: $$Sender, body: $$Body, message_id: $$MessageID}}
    sender: ACME
"""


@pytest.fixture
def world(
    tmp_path: Path, file_keyring: PlaintextKeyring
) -> Iterator[tuple[Path, TestServer, dict[str, str | None]]]:
    keyring.set_password("kctl", "canary/pass", KEYRING_SECRET)
    replies = {
        "/whatsapp": Reply.json({"status": "success"}),
        "/sms": Reply.json({"status": "failure", "error": {"code": 2000, "message": "bad"}}),
    }
    with serve(lambda r: replies.get(r.path, Reply.json({"m": "x"}, status=500))) as server:
        config = tmp_path / "canary.yaml"
        config.write_text(CONFIG.format(origin=server.origin, literal=LITERAL_SECRET))
        yield config, server, {"CANARY_KEY": ENV_SECRET}


def runs(config: Path, out: Path) -> list[list[str]]:
    c = str(config)
    wa = ["send-test", "-c", c, "-p", "WA", "--to", "+14155550123", "-t", "hello", "--param", "x"]
    sms = ["send-test", "-c", c, "-p", "SMS", "--to", "+14155550123", "--body", "hi"]
    return [
        ["validate-config", c],
        *(["validate-config", "--format", f, c] for f in ("json", "github", "junit", "sarif")),
        ["validate-config", "--format", "sarif", "-o", str(out / "report.sarif"), c],
        ["render-callback-url", "-c", c, "-p", "SMS"],
        wa,
        [*wa, "--verbose"],
        [*wa, "--json", "--curl"],
        [*wa, "--dry-run", "--curl"],
        [*wa, "--via", "direct"],  # the server answers 500 there: a failure path
        sms,  # rejected 2000: a failure path
        [*sms, "--json", "--curl", "--junit", str(out / "junit.xml")],
        [*sms, "--dry-run", "--curl", "--json"],
        [*sms, "--to", "+1", "--json"],  # a usage error
        ["secrets", "get", "canary/pass"],
        ["doctor", "--config", c],
        ["doctor", "--config", c, "--json"],
    ]


def test_no_command_prints_or_writes_a_secret(
    kctl: Kctl, tmp_path: Path, world: tuple[Path, TestServer, dict[str, str | None]]
) -> None:
    config, server, env = world
    out = tmp_path / "out"
    out.mkdir()
    for args in runs(config, out):
        result = kctl(*args, env=env)
        assert "Traceback" not in result.stderr, (args, result)
        for secret in SECRETS:
            assert secret not in result.stdout + result.stderr, (args, secret, str(result))
    assert sorted(p.name for p in out.iterdir()) == ["junit.xml", "report.sarif"]
    for written in out.iterdir():
        for secret in SECRETS:
            assert secret not in written.read_text(), (written.name, secret)
    # the secrets did travel where they belong: on the wire
    assert any(r.header("api-key") == ENV_SECRET for r in server.requests)
    assert any(r.header("api-key") == LITERAL_SECRET for r in server.requests)


def test_show_secrets_is_the_positive_control(
    kctl: Kctl, world: tuple[Path, TestServer, dict[str, str | None]]
) -> None:
    config, _, env = world
    wa = kctl(
        "send-test",
        "-c",
        str(config),
        "-p",
        "WA",
        "--to",
        "+14155550123",
        "-t",
        "hello",
        "--param",
        "x",
        "--show-secrets",
        env=env,
    )
    assert ENV_SECRET in wa.stdout
    got = kctl("secrets", "get", "canary/pass", "--show-secrets", env=env)
    assert got.stdout.strip() == KEYRING_SECRET


# Only the lines findings quote are masked and redacted now (kctl.config.quoted): each of these
# puts a literal secret on a quoted line, in a layout where a line-by-line redaction could miss it.
QUOTED_SECRET_CONFIGS = {
    "literal header": CONFIG.format(origin="https://h.example.com", literal=LITERAL_SECRET),
    "key lines above its value": (
        "version: 1\nproviders:\n  - nickname: S\n    channel: sms\n"
        "    endpoint: https://h.example.com/sms\n"
        "    auth:\n      type: basic\n      username: u\n      ? password\n\n\n"
        f"      : {LITERAL_SECRET}\n"
    ),
    "unclosed quote": (
        "version: 1\nproviders:\n  - nickname: S\n"
        f'    auth: {{type: basic, password: "{LITERAL_SECRET}\n'
    ),
    "lone carriage returns": (
        "version: 1\rproviders:\r  - nickname: S\r    channel: sms\r"
        f"    endpoint: https://h.example.com/sms\r    headers:\r      api-key: {LITERAL_SECRET}\r"
    ),
}


@pytest.mark.parametrize("name", list(QUOTED_SECRET_CONFIGS))
def test_quoted_lines_never_show_a_literal_secret(
    kctl: Kctl, tmp_path: Path, name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    from kctl.cli.fast import answer

    config = tmp_path / "secret.yaml"
    config.write_bytes(QUOTED_SECRET_CONFIGS[name].encode())
    typer_lane = kctl("validate-config", str(config))
    with pytest.raises(SystemExit) as fast_lane:  # the lane prints and exits
        answer(["validate-config", str(config)])
    assert (capsys.readouterr().out, fast_lane.value.code) == (
        typer_lane.stdout,
        typer_lane.exit_code,
    )
    assert "****" in typer_lane.stdout  # the secret's line was quoted, masked
    for output in (typer_lane.stdout, typer_lane.stderr):
        assert LITERAL_SECRET not in output
        assert LITERAL_SECRET[-8:] not in output
