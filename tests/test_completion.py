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


def _bash_complete(words: str, cword: int) -> list[str]:
    bash = shutil.which("bash")
    if bash is None:  # pragma: no cover - every CI image here has bash
        pytest.fail("bash is needed to test completion")
    script = REPO / "completions" / "kctl.bash"
    shim = Path(sys.executable).parent
    env = {**os.environ, "PATH": f"{shim}{os.pathsep}{os.environ.get('PATH', '')}"}
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
