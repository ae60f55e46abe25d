"""Shell completions: generated from the app, not stale, and working in a real bash."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from kctl.cli.completion import SHELLS, completion_script
from tests.support import REPO


@pytest.mark.parametrize("shell", sorted(SHELLS))
def test_committed_completion_scripts_are_current(shell: str) -> None:
    committed = (REPO / "completions" / SHELLS[shell]).read_text("utf-8")
    assert committed == completion_script(shell), "run: python -m kctl.cli.completion completions"


def _bash_complete(words: str, cword: int, extra_env: dict[str, str] | None = None) -> list[str]:
    bash = shutil.which("bash")
    if bash is None:  # pragma: no cover - every CI image here has bash
        pytest.fail("bash is needed to test completion")
    script = REPO / "completions" / "kctl.bash"
    shim = Path(sys.executable).parent
    env = {
        **os.environ,
        **(extra_env or {}),
        "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    program = (
        f"source {script}; COMP_WORDS=({words}); COMP_CWORD={cword}; "
        '_kctl_completion kctl; printf "%s\\n" "${COMPREPLY[@]}"'
    )
    done = subprocess.run(
        [bash, "--norc", "-c", program],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


def test_bash_completes_commands_and_option_values() -> None:
    assert shutil.which("kctl", path=str(Path(sys.executable).parent)), "kctl is not installed"
    assert _bash_complete("kctl val", 1) == ["validate-config"]
    assert _bash_complete("kctl validate-config --format j", 3) == ["json", "junit"]


def test_bash_completes_provider_and_template_names_from_the_config() -> None:
    account = REPO / "configs" / "account.yaml"
    line = f"kctl send-test -c {account} --provider Kal"
    assert _bash_complete(line, 5) == ["Kaleyra_WA", "Kaleyra_SMS"]
    line = f"kctl send-test -c {account} -t app"
    assert _bash_complete(line, 5) == ["appointment_reminder"]
    # a config that does not load completes nothing, quietly
    assert _bash_complete("kctl send-test -c /no/such.yaml --provider K", 5) == []


def test_bash_completes_secret_names_kctl_stored(tmp_path: Path) -> None:
    backend = "keyrings.alt.file.PlaintextKeyring"
    env = {"PYTHON_KEYRING_BACKEND": backend, "XDG_DATA_HOME": str(tmp_path)}
    for name in ("kaleyra/api-key", "kaleyra/sms-pass", "other"):
        done = subprocess.run(
            [sys.executable, "-m", "kctl", "secrets", "set", name, "--yes"],
            input="value-123456\n",
            env={**os.environ, **env},
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert _bash_complete("kctl secrets get kal", 3, env) == ["kaleyra/api-key", "kaleyra/sms-pass"]
