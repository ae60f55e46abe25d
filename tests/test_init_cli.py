"""kctl init: from flags, from real prompts in a pseudo-terminal, and never clobbering a file."""

from __future__ import annotations

import os
import pty
import select
import shutil
import signal
import sys
import time
from pathlib import Path

import pytest

from kctl.config.validate import validate_paths
from tests.support import Kctl

WHATSAPP_FLAGS = (
    "--endpoint",
    "https://adapter.example.com/wa",
    "--business-number",
    "+919876543210",
    "--incoming-url",
    "https://wa-incoming.example.com/clevertap",
    "--sid",
    "HXIN1",
    "--inbound-callback-url",
    "https://ct.example.com/in",
    "--dlr-callback-url",
    "https://ct.example.com/dlr",
)


def test_from_flags_writes_a_clean_config_and_its_schema(kctl: Kctl, tmp_path: Path) -> None:
    target = tmp_path / "wa.yaml"
    result = kctl("init", "whatsapp", "--no-input", "-o", str(target), *WHATSAPP_FLAGS)
    assert result.exit_code == 0, result
    report = validate_paths([str(target)], strict=True)
    assert report.findings == []
    text = target.read_text()
    assert 'api-key: "${keyring:kaleyra/api-key}"' in text
    assert (tmp_path / "kctl.schema.json").exists()
    assert "kctl secrets set kaleyra/api-key" in result.stderr


def test_sms_from_flags(kctl: Kctl, tmp_path: Path) -> None:
    target = tmp_path / "sms.yaml"
    result = kctl(
        "init",
        "sms",
        "--no-input",
        "-o",
        str(target),
        "--endpoint",
        "https://a.example.com/s",
        "--sid",
        "HX",
        "--callback-url",
        "https://ct.example.com/s",
        "--sender",
        "KLRHXA",
    )
    assert result.exit_code == 0, result
    assert validate_paths([str(target)], strict=True).findings == []
    assert "message_id: $$MessageID" in target.read_text()


def test_never_overwrites_without_force(kctl: Kctl, tmp_path: Path) -> None:
    target = tmp_path / "wa.yaml"
    target.write_text("precious: true\n")
    refused = kctl("init", "whatsapp", "--no-input", "-o", str(target), *WHATSAPP_FLAGS)
    assert refused.exit_code == 2
    assert target.read_text() == "precious: true\n"
    forced = kctl("init", "whatsapp", "--no-input", "-o", str(target), "--force", *WHATSAPP_FLAGS)
    assert forced.exit_code == 0
    assert "precious" not in target.read_text()


def test_missing_and_invalid_answers_are_usage_errors(kctl: Kctl, tmp_path: Path) -> None:
    target = tmp_path / "x.yaml"
    missing = kctl("init", "whatsapp", "--no-input", "-o", str(target))
    assert missing.exit_code == 2
    assert "--endpoint" in missing.stderr
    assert "--business-number" in missing.stderr
    bad = kctl("init", "whatsapp", "--no-input", "-o", str(target), "--endpoint", "ftp://x")
    assert bad.exit_code == 2
    assert "--endpoint: must be an absolute https URL" in bad.stderr
    assert not target.exists()


def _run_in_terminal(args: list[str], answers: list[str], env: dict[str, str]) -> tuple[int, str]:
    """Run kctl on a real pseudo-terminal, typing each answer when the previous prompt shows."""
    pid, fd = pty.fork()
    if pid == 0:  # child: the pty is its controlling terminal, as in a shell
        os.execve(sys.executable, [sys.executable, "-m", "kctl", *args], env)
    output = b""
    pending = list(answers)
    answered_at = 0  # answer only a prompt that appeared after the previous answer
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if not ready:
            continue
        try:
            chunk = os.read(fd, 4096)
        except OSError:  # the child closed the terminal
            break
        if not chunk:
            break
        output += chunk
        # the hidden prompt flushes typed-ahead input, so never type before a prompt shows
        fresh = output[answered_at:]
        if pending and fresh.strip() and fresh.endswith(b": "):
            os.write(fd, pending.pop(0).encode() + b"\r")
            answered_at = len(output)
    else:
        os.kill(pid, signal.SIGKILL)
    _, status = os.waitpid(pid, 0)
    os.close(fd)
    return os.waitstatus_to_exitcode(status), output.decode("utf-8", "replace")


def test_prompts_check_each_answer_and_store_the_key_in_the_keyring(tmp_path: Path) -> None:
    if shutil.which("kctl", path=str(Path(sys.executable).parent)) is None:
        pytest.fail("kctl is not installed")
    env = {
        **os.environ,
        "PYTHON_KEYRING_BACKEND": "keyrings.alt.file.PlaintextKeyring",
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "NO_COLOR": "1",
    }
    target = tmp_path / "sms.yaml"
    answers = [
        "",  # nickname: take the default
        "http://not-https.example.com/sms",  # refused, asked again
        "https://adapter.example.com/sms",
        "HXIN42",
        "",  # kaleyra host default
        "https://ct.example.com/sms/dlr",
        "KLRHXA",
        "",  # keyring entry name default
        "y",  # the test's keyring is a plain file: kctl asks before it stores anything there
        "terminal-secret-9a8b",  # the api-key, typed at a hidden prompt
    ]
    code, output = _run_in_terminal(["init", "sms", "-o", str(target)], answers, env)
    assert code == 0, output
    assert "must be an absolute https URL" in output
    assert "terminal-secret-9a8b" not in output  # hidden input is not echoed
    text = target.read_text()
    assert "terminal-secret" not in text
    assert 'endpoint: "https://adapter.example.com/sms"' in text
    stored = list((tmp_path / "data").rglob("*.cfg"))
    assert stored, "nothing was written to the file keyring"
    assert "stored the api-key in the keyring as 'kaleyra/api-key'" in output
    # the key is asked for (and stored) before the config that refers to it is written
    assert output.index("stored the api-key") < output.index(f"wrote {target}")


@pytest.mark.usefixtures("no_keyring")
def test_without_a_keyring_it_stops_before_asking_and_points_at_env(
    kctl: Kctl, tmp_path: Path
) -> None:
    target = tmp_path / "wa.yaml"
    refused = kctl("init", "whatsapp", "--no-input", "-o", str(target), *WHATSAPP_FLAGS)
    assert refused.exit_code == 3, refused
    assert "no usable keyring backend" in refused.stderr
    assert "--api-key-env" in refused.stderr
    assert not target.exists()
    assert not (tmp_path / "kctl.schema.json").exists()
    done = kctl(
        "init", "whatsapp", "--no-input", "-o", str(target), "--api-key-env", "KALEYRA_API_KEY",
        *WHATSAPP_FLAGS,
    )  # fmt: skip
    assert done.exit_code == 0, done
    assert 'api-key: "${KALEYRA_API_KEY}"' in target.read_text()
    assert "export KALEYRA_API_KEY=" in done.stderr
    assert validate_paths([str(target)], strict=True).findings == []


def test_an_unwritable_output_is_refused_before_any_question(kctl: Kctl, tmp_path: Path) -> None:
    result = kctl("init", "sms", "-o", str(tmp_path / "missing" / "sms.yaml"))
    assert result.exit_code == 2
    assert "folder" in result.stderr
    assert "does not exist" in result.stderr


@pytest.mark.usefixtures("no_keyring")
@pytest.mark.parametrize("channel", ["whatsapp", "sms"])
def test_the_config_it_writes_is_one_send_test_sandbox_takes(
    kctl: Kctl, tmp_path: Path, channel: str
) -> None:
    target = tmp_path / f"{channel}.yaml"
    flags = (
        WHATSAPP_FLAGS
        if channel == "whatsapp"
        else ("--endpoint", "https://a.example.com/s", "--sid", "HX",
              "--callback-url", "https://ct.example.com/s", "--sender", "KLRHXA")
    )  # fmt: skip
    made = kctl("init", channel, "--no-input", "-o", str(target), "--api-key-env", "K", *flags)
    assert made.exit_code == 0, made
    message = ("-t", "hello_world") if channel == "whatsapp" else ("--body", "hi")
    sent = kctl(
        "send-test", "--sandbox", "-c", str(target), "--to", "+14155550123", *message,
        "--wait-dlr", "10",
    )  # fmt: skip
    assert sent.exit_code == 0, sent
    if channel == "whatsapp":  # and the next set-up step has what it needs
        url = kctl("render-callback-url", "-c", str(target))
        assert url.exit_code == 0, url
        assert url.stdout.startswith("https://wa-incoming.example.com/clevertap?")


def test_written_files_follow_the_umask(kctl: Kctl, tmp_path: Path) -> None:
    import stat

    old = os.umask(0o022)
    try:
        target = tmp_path / "wa.yaml"
        done = kctl(
            "init", "whatsapp", "--no-input", "-o", str(target), "--api-key-env", "K",
            *WHATSAPP_FLAGS,
        )  # fmt: skip
    finally:
        os.umask(old)
    assert done.exit_code == 0, done
    # a config and a schema meant for the repository, holding no secret: not 0600
    assert stat.S_IMODE(target.stat().st_mode) == 0o644
    assert stat.S_IMODE((tmp_path / "kctl.schema.json").stat().st_mode) == 0o644
