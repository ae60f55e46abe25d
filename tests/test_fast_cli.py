"""The entry point's fast lane prints exactly what the typer app prints, without typer."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

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
    ["validate-config", "tests/cases/invalid", "--format", "json"],
    ["validate-config", "-f", "github", "tests/cases/invalid"],
    ["validate-config", "--format=SARIF", "configs", "tests/cases/invalid"],
    ["validate-config", "--format", "junit", "--strict", "configs"],
    ["validate-config", "--format", "yaml", "configs"],
    ["validate-config", "-fjson", "configs"],
    ["validate-config", "--select", "KC1,KC205", "tests/cases/invalid"],
    ["validate-config", "--ignore", "KC204", "--ignore=KC205", "tests/cases/invalid"],
    ["validate-config", "--select", "KC999", "configs"],
    ["validate-config", "--ignore", "KC001", "configs"],
    ["validate-config", "--format", "json", "--select", "KC99x", "configs"],
    ["validate-config", "--dlt-registry", "configs/sms-india.csv", "configs/sms-india.yaml"],
    ["validate-config", "--dlt-registry", "no-such.csv", "configs/sms-india.yaml"],
    ["validate-config", "--strict"],
    ["validate-config", "--strict", "--strict", "configs"],
    ["validate-config", "configs", "--format"],
    ["validate-config", "configs", "--"],
    ["validate-config", "configs", "--color", "never"],
    ["validate-config", "no-such-file.yaml", "--format", "json"],
    ["validate-config", "--format=JSON", "no-such-file.yaml"],
    ["validate-config", "-f", "Json", "no-such-file.yaml"],
    ["validate-config", "./configs", "configs/", "configs/./whatsapp.yaml"],
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
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from kctl.cli import fast

    with pytest.raises(SystemExit) as done:  # the lane runs it and exits
        fast.answer(["validate-config", str(REPO / "configs" / "whatsapp.yaml")])
    assert (done.value.code, capsys.readouterr().out) == (0, "no problems found in 1 file\n")
    monkeypatch.setattr(help_pages, "DIGEST", help_pages.DIGEST + 1)
    assert fast.answer(["validate-config", "configs/whatsapp.yaml"]) is None  # typer's turn
    assert capsys.readouterr().out == ""
    assert fast.answer(["--help"]) is None


def test_the_output_file_is_written_alike(tmp_path: Path) -> None:
    outputs = []
    for code, name in ((FAST, "fast.sarif"), (TYPER, "typer.sarif")):
        target = tmp_path / name
        args = ["validate-config", "-o", str(target), "--format", "sarif", "tests/cases/invalid"]
        done = run(code, args)
        outputs.append((done.returncode, done.stdout, done.stderr, target.read_text()))
    assert outputs[0] == outputs[1]
    assert outputs[0][0] == 1
    assert outputs[0][2].startswith("kctl: ")


@pytest.mark.parametrize(
    "args",
    [
        ["configs", "--color", "never"],
        ["configs", "-fjson"],
        ["configs", "--format"],
        ["configs", "--format", "--strict"],
        ["configs", "--format", "yaml"],
        ["configs", "--strict", "--strict"],
        ["configs", "-o", "a", "-o", "b"],
        ["configs", "--"],
        ["configs", "-h"],
        ["--strict"],
    ],
    ids=" ".join,
)
def test_the_validate_lane_leaves_other_command_lines_to_typer(args: list[str]) -> None:
    from kctl.cli import fast

    assert fast.validate_config_options(args) is None


def test_the_validate_lane_reads_its_options_as_typer_does() -> None:
    from kctl.cli import fast

    options = fast.validate_config_options(
        ["a.yaml", "-", "--format=GitHub", "--select", "KC1", "--select=KC2", "--strict", "b"]
    )
    assert options == {
        "paths": ["a.yaml", "-", "b"],
        "fmt": "github",
        "select": ["KC1", "KC2"],
        "strict": True,
    }


def test_the_validate_lane_options_are_the_typer_commands() -> None:
    """Each option the lane takes is the typer command's, under the same name; values the
    lane passes as strings are strings there too, but --format's choice and --output-file's
    path, which the lane converts as click does."""
    import typer
    from typer._click.types import StringParamType

    from kctl.cli import fast
    from kctl.cli.app import app
    from kctl.render.findings import FORMATS

    command = typer.main.get_command(app).commands["validate-config"]  # type: ignore[attr-defined]
    by_flag = {opt: param for param in command.params for opt in param.opts}
    for flag, name in fast.VALIDATE_VALUES.items():
        param = by_flag[flag]
        assert (param.name, param.multiple) == (name, False), flag
    assert tuple(by_flag["--format"].type.choices) == FORMATS
    assert type(by_flag["--dlt-registry"].type) is StringParamType
    for flag, name in fast.VALIDATE_LISTS.items():
        param = by_flag[flag]
        assert (param.name, type(param.type), param.multiple) == (name, StringParamType, True)
    for flag, name in fast.VALIDATE_FLAGS.items():
        param = by_flag[flag]
        assert (param.name, param.is_flag, param.secondary_opts, param.default) == (
            name,
            True,
            [],
            False,
        )
    for param in command.params:
        assert (param.callback, param.envvar) == (None, None), param.name


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
