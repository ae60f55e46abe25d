"""validate-config as a user runs it: paths, stdin, formats, exit codes, output file."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.support import REPO, Kctl, Result

CLEAN = REPO / "configs" / "whatsapp.yaml"

BROKEN = """\
version: 1
providers:
  - nickname: Kaleyra
    channel: whatsapp
    endpoint: http://adapter.example.com/wa
    business_number: +919876543210
    headers:
      api-key: literal-secret-value
      sid: HX1
      kaleyra-host: https://api.kaleyra.io/
      inbound-message-callback-url: https://in.example.com/i
      delivery-report-callback-url: https://in.example.com/d
"""

WARN_ONLY = BROKEN.replace("http://adapter", "https://adapter").replace(
    "+919876543210", '"+919876543210"'
)


@pytest.fixture
def broken(tmp_path: Path) -> Path:
    path = tmp_path / "broken.yaml"
    path.write_text(BROKEN)
    return path


def test_clean_file_exits_zero_and_says_so(kctl: Kctl) -> None:
    result = kctl("validate-config", str(CLEAN))
    assert result.exit_code == 0, result
    assert result.stdout == "no problems found in 1 file\n"


def test_text_output_points_at_file_line_col_with_caret(kctl: Kctl, broken: Path) -> None:
    result = kctl("validate-config", str(broken))
    assert result.exit_code == 1, result
    lines = result.stdout.splitlines()
    i = lines.index(
        f"{broken}:5:15: KC105 endpoint 'http://adapter.example.com/wa' is not an"
        " absolute https URL"
    )
    assert lines[i + 1] == "        endpoint: http://adapter.example.com/wa"
    assert lines[i + 2] == " " * 18 + "^"
    assert f"{broken}:6:22: KC005 providers[0].business_number is an unquoted phone number" in (
        result.stdout
    )
    assert 'hint: quote the number so YAML keeps it as text: "+919876543210"' in result.stdout
    assert f"{broken}:8:16: KC205 warning:" in result.stdout
    assert lines[-1] == "2 errors, 1 warning in 1 file"


def test_warnings_pass_unless_strict(kctl: Kctl, tmp_path: Path) -> None:
    path = tmp_path / "warn.yaml"
    path.write_text(WARN_ONLY)
    assert kctl("validate-config", str(path)).exit_code == 0
    strict = kctl("validate-config", "--strict", str(path))
    assert strict.exit_code == 1, strict
    assert "KC205" in strict.stdout


def test_stdin_is_read_with_dash(kctl: Kctl) -> None:
    result = kctl("validate-config", "-", input=BROKEN)
    assert result.exit_code == 1
    assert "<stdin>:5:15: KC105" in result.stdout


def test_directory_checks_every_yaml_below_in_one_run(kctl: Kctl, tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "one.yml").write_text(BROKEN)
    (tmp_path / "two.yaml").write_text(CLEAN.read_text())
    (tmp_path / "notes.txt").write_text("not yaml")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / ".hidden" / "skip.yaml").write_text("::: not even yaml")
    result = kctl("validate-config", "--format", "json", str(tmp_path))
    assert result.exit_code == 1
    doc = json.loads(result.stdout)
    assert sorted(doc["files"]) == sorted(
        [str(tmp_path / "a" / "one.yml"), str(tmp_path / "two.yaml")]
    )
    assert {f["file"] for f in doc["findings"]} == {str(tmp_path / "a" / "one.yml")}


def test_json_is_one_document_with_counts(kctl: Kctl, broken: Path) -> None:
    result = kctl("validate-config", "--format", "json", str(broken), str(CLEAN))
    doc = json.loads(result.stdout)
    assert doc["summary"] == {
        "files": 2,
        "errors": 2,
        "warnings": 1,
        "failed": True,
        "ignored": 0,
    }
    first = doc["findings"][0]
    assert (first["code"], first["line"], first["column"]) == ("KC105", 5, 15)
    assert first["path"] == "providers[0].endpoint"
    assert "2 error(s), 1 warning(s) in 2 file(s)" in result.stderr


def test_github_annotations(kctl: Kctl, broken: Path) -> None:
    result = kctl("validate-config", "--format", "github", str(broken))
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"::error file={broken},line=5,col=15,title=KC105::endpoint")
    assert any(line.startswith("::warning ") and "title=KC205" in line for line in lines)


def test_junit_has_a_suite_per_file(kctl: Kctl, broken: Path) -> None:
    result = kctl("validate-config", "--format", "junit", str(broken), str(CLEAN))
    root = ET.fromstring(result.stdout)
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == [str(broken), str(CLEAN)]
    assert suites[0].get("failures") == "2"
    assert suites[1].get("failures") == "0"


def test_sarif_output_file(kctl: Kctl, broken: Path, tmp_path: Path) -> None:
    out = tmp_path / "report.sarif"
    result = kctl("validate-config", "--format", "sarif", "-o", str(out), str(broken))
    assert result.exit_code == 1
    assert result.stdout == ""
    sarif = json.loads(out.read_text())
    assert sarif["version"] == "2.1.0"
    rule_ids = [r["ruleId"] for r in sarif["runs"][0]["results"]]
    assert rule_ids == ["KC105", "KC005", "KC205"]


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["does-not-exist.yaml"], "does-not-exist.yaml: no such file or directory"),
        (["--format", "xml", "x.yaml"], "kctl: error: invalid value for --format"),
        ([], "kctl: error: missing PATH..."),
    ],
)
def test_usage_errors_exit_2_without_traceback(kctl: Kctl, args: list[str], message: str) -> None:
    result = kctl("validate-config", *args)
    assert result.exit_code == 2, result
    assert message in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_directory_without_yaml_is_a_usage_error(kctl: Kctl, tmp_path: Path) -> None:
    result = kctl("validate-config", str(tmp_path))
    assert result.exit_code == 2
    assert result.stderr.startswith(f"kctl: error: no *.yaml or *.yml files under {tmp_path}")


def test_symlink_loop_is_a_usage_error(kctl: Kctl, tmp_path: Path) -> None:
    loop = tmp_path / "loop.yaml"
    loop.symlink_to(loop)
    result = kctl("validate-config", str(loop))
    assert result.exit_code == 2
    assert result.stderr == f"kctl: error: {loop}: too many levels of symbolic links\n"


def test_directory_path_given_as_file_argument_is_read_as_config(
    kctl: Kctl, tmp_path: Path
) -> None:
    (tmp_path / "dir.yaml").mkdir()
    (tmp_path / "dir.yaml" / "inner.yaml").write_text(CLEAN.read_text())
    result = kctl("validate-config", str(tmp_path / "dir.yaml"))
    assert result.exit_code == 0, result


def test_schema_command_prints_the_json_schema(kctl: Kctl) -> None:
    result = kctl("schema")
    schema = json.loads(result.stdout)
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert set(schema["properties"]) == {"version", "providers"}


def test_version(kctl: Kctl) -> None:
    result = kctl("--version")
    assert result.exit_code == 0
    assert result.stdout.startswith("kctl ")


CANARY = "sk-live-CANARY-9f8e7d6c5b4a"


@pytest.mark.parametrize("fmt", ["text", "json", "github", "junit", "sarif"])
def test_literal_secrets_in_a_config_never_reach_the_output(
    kctl: Kctl, tmp_path: Path, fmt: str
) -> None:
    path = tmp_path / "leaky.yaml"
    path.write_text(BROKEN.replace("literal-secret-value", CANARY))
    # an unquoted numeric api-key would otherwise be echoed in the "quote it" hint
    number_path = tmp_path / "numeric.yaml"
    number_path.write_text(BROKEN.replace("literal-secret-value", "98765432101234567"))
    result = kctl("validate-config", "--format", fmt, str(path), str(number_path))
    assert result.exit_code == 1, result
    output = result.stdout + result.stderr
    assert CANARY not in output
    assert "98765432101234567" not in output
    if fmt == "text":
        assert "api-key: ****5b4a" in output  # the quoted source line, masked
        assert 'quote it: "****4567"' in output


def _warned(tmp_path: Path, comment: str = "", above: str = "") -> Path:
    """The clean config with a literal api-key (KC205) and an unknown Kaleyra host (KC204)."""
    text = CLEAN.read_text()
    text = text.replace(
        "      api-key: ${keyring:kaleyra/api-key}",
        f"{above}      api-key: literal-key-0001{comment}",
    )
    text = text.replace("https://api.kaleyra.io/", "https://api.kaleyra.example/")
    path = tmp_path / "warned.yaml"
    path.write_text(text)
    return path


def _codes(result: Result) -> list[str]:
    return sorted(f["code"] for f in json.loads(result.stdout)["findings"])


def test_select_and_ignore_pick_the_rules(kctl: Kctl, tmp_path: Path) -> None:
    path = str(_warned(tmp_path))
    assert _codes(kctl("validate-config", "-f", "json", path)) == ["KC204", "KC205"]
    assert _codes(kctl("validate-config", "-f", "json", path, "--ignore", "KC204")) == ["KC205"]
    assert _codes(kctl("validate-config", "-f", "json", path, "--select", "KC205")) == ["KC205"]
    # prefixes and comma lists
    assert _codes(kctl("validate-config", "-f", "json", path, "--ignore", "KC2")) == []
    strict = kctl("validate-config", "--strict", path, "--ignore", "KC204,KC205")
    assert strict.exit_code == 0, strict
    assert "(2 findings ignored)" in strict.stdout


@pytest.mark.parametrize(
    ("flag", "words"),
    [("KC999", "no rule 'KC999'"), ("KC20X", "no rule"), ("KC001", "cannot be ignored")],
)
def test_unknown_or_structural_codes_are_refused(
    kctl: Kctl, tmp_path: Path, flag: str, words: str
) -> None:
    result = kctl("validate-config", str(_warned(tmp_path)), "--ignore", flag)
    assert result.exit_code == 2
    assert words in result.stderr


@pytest.mark.parametrize(
    ("comment", "above", "left"),
    [
        ("  # kctl: ignore[KC205]", "", ["KC204"]),
        ("", "      # kctl: ignore[KC205]\n", ["KC204"]),
        ("  # kctl: ignore[KC204]", "", ["KC204", "KC205"]),  # KC204 is on another line
        ("  # kctl: ignore[kc205, KC207]", "", ["KC204"]),
    ],
)
def test_inline_comments_silence_the_codes_they_name(
    kctl: Kctl, tmp_path: Path, comment: str, above: str, left: list[str]
) -> None:
    path = str(_warned(tmp_path, comment, above))
    assert _codes(kctl("validate-config", "-f", "json", path)) == left


@pytest.mark.parametrize("spelling", ["configs", "./configs", "configs/", "configs//", "configs/."])
def test_a_folder_names_its_files_alike_however_it_is_written(
    kctl: Kctl, monkeypatch: pytest.MonkeyPatch, spelling: str
) -> None:
    monkeypatch.chdir(REPO)
    done = kctl("validate-config", "--format", "json", spelling, "./configs")
    names = json.loads(done.stdout)["files"]
    expected = sorted(str(p.relative_to(REPO)) for p in (REPO / "configs").glob("*.yaml"))
    assert names == expected  # named as the folder's files, each checked once
