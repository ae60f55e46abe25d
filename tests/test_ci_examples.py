"""The CI examples shipped in configs/ci and .pre-commit-hooks.yaml run as written."""

from __future__ import annotations

import os
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import yaml

from tests.support import REPO

WORKFLOW = REPO / "configs" / "ci" / ".github" / "workflows" / "kctl.yml"


def kctl_steps() -> list[str]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["provider-configs"]["steps"]
    return [s["run"] for s in steps if str(s.get("run", "")).startswith("kctl ")]


def test_every_kctl_step_of_the_example_workflow_passes(tmp_path: Path) -> None:
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    steps = kctl_steps()
    assert len(steps) == 3
    env = {k: v for k, v in os.environ.items() if k != "KALEYRA_API_KEY"}  # no credentials
    for step in steps:
        argv = shlex.split(step)
        done = subprocess.run(
            [sys.executable, "-m", "kctl", *argv[1:]],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, f"{step}\n{done.stdout}\n{done.stderr}"
    assert (tmp_path / "kctl-smoke.xml").read_text().count("<failure") == 0


def test_pre_commit_hook_entry_runs(tmp_path: Path) -> None:
    hooks = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    (hook,) = hooks
    argv = shlex.split(hook["entry"])
    assert argv[0] == "kctl"
    done = subprocess.run(
        [sys.executable, "-m", "kctl", *argv[1:], str(REPO / "configs" / "whatsapp.yaml")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
