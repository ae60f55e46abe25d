"""What every command shares (SPEC 2, issue 15): help, one error style, --traceback and
--color anywhere, --json errors, exit codes, file modes."""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path

import pytest
import typer

from kctl.cli.app import app
from kctl.errors import EXIT_CODES
from tests.support import REPO, Kctl

WHATSAPP = str(REPO / "configs" / "whatsapp.yaml")
ACCOUNT = str(REPO / "configs" / "account.yaml")


def _command_paths() -> list[tuple[str, ...]]:
    paths: list[tuple[str, ...]] = [()]

    def walk(command: object, path: tuple[str, ...]) -> None:
        for name, sub in sorted((getattr(command, "commands", None) or {}).items()):
            paths.append((*path, name))
            walk(sub, (*path, name))

    walk(typer.main.get_command(app), ())
    return paths


COMMANDS = _command_paths()


@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("path", COMMANDS, ids=lambda p: " ".join(p) or "kctl")
def test_every_help_has_an_example_and_no_cut_or_python_words(
    kctl: Kctl, path: tuple[str, ...], columns: int
) -> None:
    result = kctl(*path, "-h", env={"COLUMNS": str(columns)})
    assert result.exit_code == 0, result
    text = result.stdout
    assert "Examples:" in text
    assert re.search(r"^  kctl ", text.split("Examples:", 1)[1], re.M), text
    assert "Exit codes" in text
    # typer's Python types as metavars, click's "..." for a description cut short
    assert not re.search(r"<(str|int|float|list|typer)", text), text
    assert "..." not in text.replace("PATH...", "").replace("[ARGS]...", ""), text
    assert "{" not in text.split("\n", 1)[0]  # usage line: NAME, not {name}
    if columns == 80:
        assert max(len(line) for line in text.splitlines()) <= 80, text
    assert result.stdout == kctl(*path, "--help", env={"COLUMNS": str(columns)}).stdout


def test_every_option_says_what_its_value_is() -> None:
    vague = []

    def walk(command: object, path: str) -> None:
        for name, sub in (getattr(command, "commands", None) or {}).items():
            walk(sub, f"{path} {name}")
        for param in getattr(command, "params", []):
            if getattr(param, "is_flag", False) or param.name in ("help",):
                continue
            if not param.metavar:
                vague.append(f"{path} {param.opts}")

    walk(typer.main.get_command(app), "kctl")
    assert vague == []


def test_commands_are_grouped_with_whole_descriptions(kctl: Kctl) -> None:
    text = kctl("--help", env={"COLUMNS": "200"}).stdout
    sections = re.findall(r"^(\w[\w ]*):$", text, re.M)
    assert sections[:6] == ["Options", "Check", "Test", "Set up", "Servers", "Examples"]
    assert "send-test  Send exactly what CleverTap would send to the provider" in text
    for code, meaning in EXIT_CODES:
        assert re.search(rf"^  {code} +{re.escape(meaning[:30])}", text, re.M), code


def test_readme_lists_every_exit_code() -> None:
    readme = (REPO / "README.md").read_text()
    table = readme.split("### Exit codes", 1)[1].split("\n\n", 2)[1]
    assert [int(row.split("|")[1]) for row in table.splitlines()[2:]] == [
        code for code, _ in EXIT_CODES
    ]
    assert "`listen` received a callback that breaks CleverTap's format" in table


@pytest.mark.parametrize(
    ("args", "message", "hint"),
    [
        (["validate-config", "--bogus", "x"], "unknown option --bogus",
         "kctl validate-config --help"),
        (["send-test", "-c", WHATSAPP], "missing option --to", "kctl send-test --help"),
        (["validate-config"], "missing PATH...", "kctl validate-config --help"),
        (["verify", "-c", WHATSAPP, "--timeout", "0"], "invalid value for --timeout", "--help"),
        (["nonsense"], "no such command 'nonsense'", "kctl --help"),
        (["send-test", "-c", WHATSAPP, "--to", "+1", "--timout", "3"], "unknown option --timout",
         "did you mean --timeout"),
        (["--color", "sometimes", "schema"], "--color 'sometimes'", "NO_COLOR"),
    ],
)  # fmt: skip
def test_one_error_style_for_option_parsing_too(
    kctl: Kctl, args: list[str], message: str, hint: str
) -> None:
    result = kctl(*args)
    assert result.exit_code == 2, result
    first, second = result.stderr.splitlines()[:2]
    assert first.startswith("kctl: error: "), result
    assert message in first, result
    assert second.startswith("  hint: "), result
    assert hint in second, result
    assert "Usage:" not in result.stderr
    assert "Error:" not in result.stderr


@pytest.mark.parametrize(
    ("args", "code"),
    [
        (["validate-config", "/no/such/file.yaml"], 2),
        (["send-test", "-c", WHATSAPP, "--to", "9812345678", "-t", "order_update"], 2),
        (["explain", "KC999"], 2),
        (["secrets", "get", "x"], 3),
    ],
)
@pytest.mark.usefixtures("no_keyring")
def test_traceback_anywhere_keeps_the_exit_code(kctl: Kctl, args: list[str], code: int) -> None:
    plain = kctl(*args)
    assert plain.exit_code == code
    assert "Traceback" not in plain.stderr
    for where in (0, 1, len(args)):  # before the command, after it, at the end
        shown = kctl(*args[:where], "--traceback", *args[where:])
        assert shown.exit_code == code, shown
        assert "Traceback (most recent call last)" in shown.stderr
        # the traceback first, then the same one-line error
        after = shown.stderr.split("Traceback (most recent call last)", 1)[1]
        assert plain.stderr.splitlines()[0] in after


def test_usage_error_with_traceback_keeps_exit_2(kctl: Kctl) -> None:
    result = kctl("validate-config", "--bogus", "x", "--traceback")
    assert result.exit_code == 2
    assert "kctl: error: unknown option --bogus" in result.stderr


@pytest.mark.parametrize(
    "args",
    [
        ["validate-config", "-f", "json", "/no/such/file.yaml"],
        ["validate-config", "--format=json", "/no/such/file.yaml"],
        ["verify", "-c", "/no/such/file.yaml", "--format", "json"],
        ["plan", "-c", "/no/such/file.yaml", "--json"],
        ["send-test", "-c", WHATSAPP, "--to", "9812345678", "--json"],
        ["doctor", "--json", "--timeout", "0"],
        ["secrets", "list", "--json", "--bogus"],
    ],
)
def test_a_json_command_fails_with_one_json_document(kctl: Kctl, args: list[str]) -> None:
    result = kctl(*args)
    assert result.exit_code == 2, result
    doc = json.loads(result.stdout)
    assert doc["exit_code"] == 2
    assert doc["error"]["kind"] == "UsageError"
    assert doc["error"]["message"] in result.stderr


def _painted(text: str) -> bool:
    return "\x1b[" in text


@pytest.mark.parametrize(
    ("flags", "env", "painted"),
    [
        ([], {}, False),  # not a terminal
        (["--color", "always"], {}, True),
        (["--color=always"], {"NO_COLOR": "1"}, True),  # the flag beats the environment
        ([], {"FORCE_COLOR": "1"}, True),  # CI logs render colour but are no terminal
        ([], {"FORCE_COLOR": "0"}, False),
        ([], {"FORCE_COLOR": "1", "NO_COLOR": "1"}, False),
        (["--color", "never"], {"FORCE_COLOR": "1"}, False),
    ],
)
def test_colour_is_chosen_by_flag_then_environment(
    kctl: Kctl, flags: list[str], env: dict[str, str | None], painted: bool
) -> None:
    base: dict[str, str | None] = {"NO_COLOR": None, "FORCE_COLOR": None}
    # --color after the command works too
    result = kctl("explain", "KC108", *flags, env={**base, **env})
    assert result.exit_code == 0, result
    assert _painted(result.stdout) == painted


def test_written_files_follow_the_umask(kctl: Kctl, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        schema = tmp_path / "kctl.schema.json"
        assert kctl("schema", "-o", str(schema)).exit_code == 0
        report = tmp_path / "report.sarif"
        kctl("validate-config", WHATSAPP, "-f", "sarif", "-o", str(report))
    finally:
        os.umask(old)
    # meant to be committed and shared: not 0600
    assert stat.S_IMODE(schema.stat().st_mode) == 0o644
    assert stat.S_IMODE(report.stat().st_mode) == 0o644


def test_a_replaced_file_keeps_its_mode(kctl: Kctl, tmp_path: Path) -> None:
    schema = tmp_path / "kctl.schema.json"
    schema.write_text("{}")
    schema.chmod(0o640)
    assert kctl("schema", "-o", str(schema)).exit_code == 0
    assert stat.S_IMODE(schema.stat().st_mode) == 0o640
    assert json.loads(schema.read_text())["$schema"]


def test_completion_prints_the_committed_scripts(kctl: Kctl) -> None:
    for shell, name in [("bash", "kctl.bash"), ("zsh", "_kctl"), ("fish", "kctl.fish")]:
        result = kctl("completion", shell)
        assert result.exit_code == 0
        assert result.stdout == (REPO / "completions" / name).read_text()
    assert kctl("completion", "tcsh").exit_code == 2
