"""The entry point's fast lane prints exactly what the typer app prints, without typer."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from kctl.cli import help_pages
from kctl.cli.fast import generate_pages, sources_digest
from tests.support import REPO

FAST = "import sys; from kctl.cli import main; main(sys.argv[1:])"
TYPER = "import sys; from kctl.cli.app import main; main(sys.argv[1:])"
MODULES = "import sys, json; sys.stderr.write(json.dumps(sorted(sys.modules)))"
RENDER = [
    "render-callback-url",
    "--incoming-url",
    "https://wa.example.com/in",
    "--inbound-callback-url",
    "https://ct.example.com/in?a=1&b=x y",
]


def run(
    code: str, args: list[str], columns: str | None = None, **extra: str
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "NO_COLOR", "FORCE_COLOR")}
    env.update(extra)
    if columns is not None:
        env["COLUMNS"] = columns
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO,
        env=env,
    )


def test_the_help_pages_are_current() -> None:
    assert sources_digest() == help_pages.DIGEST, "run: python -m kctl.cli.fast"
    assert generate_pages() == help_pages.PAGES, "run: python -m kctl.cli.fast"


CASES = [
    ["--version"],
    ["--help"],
    ["validate-config", "--help"],
    ["templates", "--help"],
    ["templates", "pull", "--help"],
    ["secrets", "set", "--help"],
    ["no-such-command", "--help"],
    RENDER,
    [*RENDER, "--json"],
    [*RENDER, "--payload-version", "0.2", "--json"],
    ["render-callback-url", "--incoming-url=https://wa.example.com/in", "--inbound-callback-url="],
    [*RENDER, "--payload-version", "x y"],
    ["render-callback-url", "--incoming-url", "http://wa.example.com/in"],
    ["render-callback-url", "--incoming-url", "--json"],
    [*RENDER, "--json", "--json"],
    [*RENDER, "--incoming-url", "https://other.example.com/"],
    ["render-callback-url", "--provider", "x", *RENDER[1:]],
    ["validate-config", "configs/whatsapp.yaml"],
    ["validate-config", "configs", "tests/cases/valid"],
    ["validate-config", "tests/cases/invalid"],
    ["validate-config", "configs/whatsapp.yaml", "no-such-file.yaml"],
    ["validate-config", "configs/whatsapp.yaml", "-"],
    ["validate-config", "--strict", "configs/whatsapp.yaml"],
]


@pytest.mark.parametrize("args", CASES, ids=lambda a: " ".join(a)[:60])
@pytest.mark.parametrize("columns", [None, "60", "200"])
def test_the_fast_lane_answers_as_typer_does(args: list[str], columns: str | None) -> None:
    fast, slow = run(FAST, args, columns), run(TYPER, args, columns)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        slow.returncode,
        slow.stdout,
        slow.stderr,
    )


@pytest.mark.parametrize("env", [{"FORCE_COLOR": "1"}, {"NO_COLOR": "1", "FORCE_COLOR": "1"}])
def test_the_fast_lane_colours_as_typer_does(env: dict[str, str]) -> None:
    args = ["validate-config", "tests/cases/invalid", "configs"]
    fast, slow = run(FAST, args, **env), run(TYPER, args, **env)
    assert (fast.returncode, fast.stdout, fast.stderr) == (
        slow.returncode,
        slow.stdout,
        slow.stderr,
    )
    assert ("\x1b[" in fast.stdout) is ("NO_COLOR" not in env)


def test_validate_config_takes_the_fast_lane_only_while_kctl_cli_is_unchanged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from kctl.cli import fast

    assert fast.answer(["validate-config", "configs/whatsapp.yaml"]) is not None
    monkeypatch.setattr(help_pages, "DIGEST", help_pages.DIGEST + 1)
    assert fast.answer(["validate-config", "configs/whatsapp.yaml"]) is None
    assert fast.answer(["--help"]) is None


@pytest.mark.parametrize(
    "args", [["--version"], ["--help"], ["validate-config", "--help"], RENDER], ids=str
)
def test_the_fast_lane_imports_no_typer(args: list[str]) -> None:
    done = run(
        "import sys, json\n"
        "from kctl.cli import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n" + MODULES,
        args,
    )
    loaded = {m.split(".")[0] for m in json.loads(done.stderr.strip().splitlines()[-1])}
    assert done.stdout
    assert loaded.isdisjoint({"typer", "click", "yaml", "rich", "httpx", "pydantic"})


def test_validate_config_of_plain_paths_imports_no_typer() -> None:
    done = run(
        "import sys, json\n"
        "from kctl.cli import main\n"
        "try:\n    main(sys.argv[1:])\n"
        "except SystemExit:\n    pass\n" + MODULES,
        ["validate-config", "configs/whatsapp.yaml"],
    )
    loaded = {m.split(".")[0] for m in json.loads(done.stderr.strip().splitlines()[-1])}
    assert "no problems found" in done.stdout
    assert loaded.isdisjoint({"typer", "click", "rich", "httpx", "pydantic"})
