"""The CI examples shipped in configs/ci and .pre-commit-hooks.yaml run as written."""

from __future__ import annotations

import json
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
    assert len(steps) == 2
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


ACTION = REPO / "action.yml"


def test_the_example_workflow_uses_the_action_with_inputs_it_declares() -> None:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    uses = [
        s for s in workflow["jobs"]["provider-configs"]["steps"] if "kctl/" in s.get("uses", "")
    ]
    (step,) = uses
    declared = yaml.safe_load(ACTION.read_text())["inputs"]
    assert set(step["with"]) <= set(declared)


def _inputs(**given: str) -> dict[str, str]:
    declared = yaml.safe_load(ACTION.read_text())["inputs"]
    return {
        name: given.get(name.replace("-", "_"), spec["default"]) for name, spec in declared.items()
    }


def _expand(value: str, inputs: dict[str, str], outputs: dict[str, str]) -> str:
    """The ${{ ... }} expressions the action uses, as GitHub would fill them in."""
    out = value
    for name, given in inputs.items():
        out = out.replace("${{ inputs." + name + " }}", given)
    for name, given in outputs.items():
        out = out.replace("${{ steps.validate.outputs." + name + " }}", given)
    return out


def run_action(tmp_path: Path, **given: str) -> list[int]:
    """Each shell step of action.yml (after the install, done by the test's own venv), as
    written, in the order it runs; the exit code of each."""
    inputs = _inputs(**given)
    steps = yaml.safe_load(ACTION.read_text())["runs"]["steps"]
    github_output = tmp_path / "github-output"
    github_output.touch()
    bin_dir = str(Path(sys.executable).parent)
    codes: list[int] = []
    for step in steps:
        if "run" not in step or "pip install" in step["run"]:
            continue
        condition = step.get("if", "")
        if "verify-config != ''" in condition and not inputs["verify-config"]:
            continue
        outputs = dict(
            line.split("=", 1) for line in github_output.read_text().splitlines() if "=" in line
        )
        env = {
            "PATH": bin_dir + os.pathsep + os.environ["PATH"],
            "HOME": str(tmp_path),
            "GITHUB_OUTPUT": str(github_output),
            **{k: _expand(str(v), inputs, outputs) for k, v in step.get("env", {}).items()},
        }
        done = subprocess.run(
            ["bash", "-c", step["run"]], cwd=tmp_path, env=env, capture_output=True,
            text=True, timeout=120, check=False,
        )  # fmt: skip
        codes.append(done.returncode)
    return codes


def test_the_action_passes_clean_configs_and_writes_its_reports(tmp_path: Path) -> None:
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    codes = run_action(tmp_path, verify_config="configs/whatsapp.yaml")
    assert codes == [0, 0, 0]
    sarif = json.loads((tmp_path / "kctl.sarif").read_text())
    assert sarif["runs"][0]["results"] == []
    assert "<failure" not in (tmp_path / "kctl-verify.xml").read_text()


def test_the_action_fails_on_findings_after_writing_the_sarif(tmp_path: Path) -> None:
    shutil.copytree(REPO / "configs", tmp_path / "configs")
    broken = tmp_path / "configs" / "whatsapp.yaml"
    broken.write_text(broken.read_text().replace('"+919876543210"', '"919876543210"'))
    codes = run_action(tmp_path)
    assert codes == [0, 1]  # validate records its exit code; the last step fails the job
    results = json.loads((tmp_path / "kctl.sarif").read_text())["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["KC108"]


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


def test_the_pre_commit_hook_leaves_other_yaml_alone() -> None:
    import re

    (hook,) = yaml.safe_load((REPO / ".pre-commit-hooks.yaml").read_text())
    pattern = re.compile(hook["files"])  # pre-commit matches with re.search on the path
    taken = ["kctl/whatsapp.yaml", "config/kctl/sms.yml", "whatsapp.kctl.yaml", "a/b.kctl.yml"]
    left = ["docker-compose.yml", ".github/workflows/ci.yml", "charts/values.yaml", "kctl.yaml"]
    assert [p for p in taken if pattern.search(p)] == taken
    assert [p for p in left if pattern.search(p)] == []


def _quick_start() -> list[str]:
    readme = (REPO / "README.md").read_text()
    block = readme.split("## Quick start", 1)[1].split("```sh\n", 1)[1].split("```", 1)[0]
    return block.strip().splitlines()


def test_ci_runs_the_readme_quick_start_second_command() -> None:
    first, second = _quick_start()
    ci = (REPO / ".ci" / "run").read_text().splitlines()
    assert second in ci
    # the test dependencies get an environment of their own: keyrings.alt, installed for the
    # keyring tests, would otherwise become the user's keyring (plain text)
    assert ".venv-test" in second
    assert "[test]" not in first


def test_every_install_instruction_names_this_project() -> None:
    import re

    texts = {
        path: path.read_text()
        for path in [REPO / "README.md", WORKFLOW, ACTION, REPO / ".ci" / "run"]
    }
    for path, text in texts.items():
        # `pip install kctl` installs an unrelated project of that name
        assert not re.search(r"pip install\s+['\"]?kctl\b", text), path
    assert "pip install kaleyra-clevertap-kctl" in texts[REPO / "README.md"]
    pyproject = (REPO / "pyproject.toml").read_text()
    assert 'name = "kaleyra-clevertap-kctl"' in pyproject
    assert 'kctl = "kctl.cli:main"' in pyproject  # the command keeps its name
