"""Every output format of validate-config, parsed back the way its consumer would read it."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from typing import Any

import jsonschema
import pytest

from kctl import __version__
from kctl.config.findings import Finding, Report, Severity
from kctl.contract.rules import RULES
from kctl.errors import UsageError
from kctl.render.findings import FORMATS, render_report

E = Severity.ERROR
W = Severity.WARNING

NASTY = "value <&\"'> is 100%, a:b\nnext line ünïcødé 日本"

SOURCE_A = (
    "version: 1\n"
    "providers:\n"
    "  - nickname: Kaleyra\n"
    "\tendpoint: http://ct.example.com\n"
    "    sid: 日本x\n"
)


def finding(
    code: str,
    severity: Severity,
    file: str,
    line: int,
    col: int,
    message: str = "msg",
    hint: str | None = None,
    path: str = "providers[0]",
) -> Finding:
    return Finding(code, severity, file, line, col, path, message, hint)


def sample_report(*, strict: bool = False) -> Report:
    """Three files (one clean, one stdin), findings deliberately out of order."""
    findings = [
        finding("KC001", E, "<stdin>", 1, 1, "YAML syntax error", path=""),
        finding("KC205", W, "a.yaml", 5, 12, NASTY, path="providers[0].headers.sid"),
        finding(
            "KC105",
            E,
            "a.yaml",
            4,
            12,
            "endpoint is not https",
            "use https://",
            "providers[0].endpoint",
        ),
        finding("KC003", E, "a.yaml", 4, 2, "unknown key", "did you mean 'endpoint'?"),
    ]
    return Report(
        files=["a.yaml", "clean.yaml", "<stdin>"],
        findings=findings,
        sources={"a.yaml": SOURCE_A, "clean.yaml": "version: 1\n"},
        strict=strict,
    )


# --- all formats --------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format_is_one_document_ending_in_a_newline(fmt: str) -> None:
    out = render_report(sample_report(), fmt)
    assert out.endswith("\n")
    assert not out.endswith("\n\n")
    assert "\x1b" not in out


def test_unknown_format_is_a_usage_error() -> None:
    with pytest.raises(UsageError) as excinfo:
        render_report(sample_report(), "yaml")
    assert excinfo.value.exit_code == 2
    assert excinfo.value.hint is not None
    assert "sarif" in excinfo.value.hint


# --- text ---------------------------------------------------------------------------------------


def test_text_exact_output() -> None:
    expected = (
        "a.yaml:4:2: KC003 unknown key\n"
        "    \tendpoint: http://ct.example.com\n"
        "    \t^\n"
        "    hint: did you mean 'endpoint'?\n"
        "a.yaml:4:12: KC105 endpoint is not https\n"
        "    \tendpoint: http://ct.example.com\n"
        "    \t          ^\n"
        "    hint: use https://\n"
        "a.yaml:5:12: KC205 warning: value <&\"'> is 100%, a:b\\nnext line ünïcødé 日本\n"
        "        sid: 日本x\n"
        # 日 and 本 are double-width: the caret sits under the x, not under 本.
        "                 ^\n"
        "<stdin>:1:1: KC001 YAML syntax error\n"
        "3 errors, 1 warning in 3 files\n"
    )
    assert render_report(sample_report(), "text") == expected


def test_text_caret_past_end_of_line_and_line_outside_source() -> None:
    report = Report(
        files=["f.yaml"],
        findings=[
            finding("KC004", E, "f.yaml", 1, 10, "value missing"),
            finding("KC004", E, "f.yaml", 99, 1, "past the end"),
        ],
        sources={"f.yaml": "key:\r\nother: 1\r\n"},
    )
    assert render_report(report, "text") == (
        "f.yaml:1:10: KC004 value missing\n"
        "    key:\n"
        "             ^\n"
        "f.yaml:99:1: KC004 past the end\n"
        "2 errors in 1 file\n"
    )


def test_text_escapes_control_characters_so_a_finding_stays_on_its_lines() -> None:
    report = Report(
        files=["f.yaml"],
        findings=[finding("KC005", E, "f.yaml", 1, 6, "bad \x1b[31mred\x1b[0m", "x\ny")],
        sources={"f.yaml": "a: \x1b b\n"},
    )
    assert render_report(report, "text") == (
        "f.yaml:1:6: KC005 bad \\x1b[31mred\\x1b[0m\n"
        "    a: \\x1b b\n"
        "            ^\n"
        "    hint: x\\ny\n"
        "1 error in 1 file\n"
    )


def test_text_escapes_bidi_controls_and_keeps_the_caret_under_the_column() -> None:
    report = Report(
        files=["f.yaml"],
        findings=[finding("KC005", E, "f.yaml", 1, 6, "name \u202eexe.txt", None)],
        sources={"f.yaml": "a: \u202e b\n"},
    )
    assert render_report(report, "text") == (
        "f.yaml:1:6: KC005 name \\u202eexe.txt\n"
        "    a: \\u202e b\n"
        "              ^\n"
        "1 error in 1 file\n"
    )


@pytest.mark.parametrize(
    ("errors", "warnings", "files", "summary"),
    [
        (0, 0, 1, "no problems found in 1 file"),
        (0, 0, 3, "no problems found in 3 files"),
        (1, 0, 2, "1 error in 2 files"),
        (0, 1, 1, "1 warning in 1 file"),
        (0, 2, 1, "2 warnings in 1 file"),
        (2, 1, 3, "2 errors, 1 warning in 3 files"),
        (1, 3, 1, "1 error, 3 warnings in 1 file"),
    ],
)
def test_text_summary_pluralisation(errors: int, warnings: int, files: int, summary: str) -> None:
    names = [f"f{i}.yaml" for i in range(files)]
    findings = [finding("KC105", E, "f0.yaml", i + 1, 1) for i in range(errors)]
    findings += [finding("KC205", W, "f0.yaml", 50 + i, 1) for i in range(warnings)]
    out = render_report(Report(files=names, findings=findings, sources={}), "text")
    assert out.splitlines()[-1] == summary
    # no source available: only the finding lines and the summary
    assert len(out.splitlines()) == errors + warnings + 1


def test_text_with_color_marks_errors_red_and_warnings_yellow() -> None:
    out = render_report(sample_report(), "text", color=True)
    lines = out.splitlines()
    assert lines[0].startswith("a.yaml:4:2: ")
    assert "\x1b[31m" in lines[0]  # red
    assert "\x1b[1m" in lines[0]  # bold code
    assert "KC003" in lines[0]
    assert "\x1b[31m" not in lines[1]  # the source line itself is not coloured
    warning = next(line for line in lines if "KC205" in line)
    assert "\x1b[33m" in warning
    assert "\x1b[31m" not in warning
    assert "warning:" in warning
    assert (
        out.splitlines()[-1]
        == "\x1b[1m\x1b[31m3 errors\x1b[0m, \x1b[1m\x1b[33m1 warning\x1b[0m in 3 files"
    )


# --- json ---------------------------------------------------------------------------------------


def test_json_document() -> None:
    doc = json.loads(render_report(sample_report(), "json"))
    assert doc["version"] == 1
    assert doc["tool"] == {"name": "kctl", "version": __version__}
    assert doc["strict"] is False
    assert doc["summary"] == {"files": 3, "errors": 3, "warnings": 1, "failed": True, "ignored": 0}
    assert doc["files"] == ["a.yaml", "clean.yaml", "<stdin>"]
    assert [(f["file"], f["line"], f["column"], f["code"]) for f in doc["findings"]] == [
        ("a.yaml", 4, 2, "KC003"),
        ("a.yaml", 4, 12, "KC105"),
        ("a.yaml", 5, 12, "KC205"),
        ("<stdin>", 1, 1, "KC001"),
    ]
    assert doc["findings"][1] == {
        "code": "KC105",
        "severity": "error",
        "file": "a.yaml",
        "line": 4,
        "column": 12,
        "path": "providers[0].endpoint",
        "message": "endpoint is not https",
        "hint": "use https://",
    }
    warning = doc["findings"][2]
    assert warning["severity"] == "warning"
    assert warning["message"] == NASTY
    assert warning["hint"] is None


def test_json_strict_warnings_fail_the_run() -> None:
    report = Report(files=["a.yaml"], findings=[finding("KC205", W, "a.yaml", 1, 1)], sources={})
    assert json.loads(render_report(report, "json"))["summary"]["failed"] is False
    report.strict = True
    doc = json.loads(render_report(report, "json"))
    assert doc["strict"] is True
    assert doc["summary"] == {"files": 1, "errors": 0, "warnings": 1, "failed": True, "ignored": 0}


def test_json_clean_run() -> None:
    doc = json.loads(render_report(Report(files=["a.yaml"], findings=[], sources={}), "json"))
    assert doc["summary"] == {"files": 1, "errors": 0, "warnings": 0, "failed": False, "ignored": 0}
    assert doc["findings"] == []


# --- github -------------------------------------------------------------------------------------


def test_github_workflow_commands_exact() -> None:
    assert render_report(sample_report(), "github").splitlines() == [
        "::error file=a.yaml,line=4,col=2,title=KC003::"
        "unknown key (hint: did you mean 'endpoint'?)",
        "::error file=a.yaml,line=4,col=12,title=KC105::endpoint is not https (hint: use https://)",
        "::warning file=a.yaml,line=5,col=12,title=KC205::"
        "value <&\"'> is 100%25, a:b%0Anext line ünïcødé 日本",
        "::error file=<stdin>,line=1,col=1,title=KC001::YAML syntax error",
    ]


def test_github_escapes_property_values() -> None:
    report = Report(
        files=["dir,1/a:b%.yaml"],
        findings=[finding("KC005", E, "dir,1/a:b%.yaml", 2, 3, "a\r\nb", "50%")],
        sources={},
    )
    assert render_report(report, "github") == (
        "::error file=dir%2C1/a%3Ab%25.yaml,line=2,col=3,title=KC005::a%0D%0Ab (hint: 50%25)\n"
    )


def test_github_strict_keeps_warnings_as_warnings() -> None:
    lines = render_report(sample_report(strict=True), "github").splitlines()
    assert [line.split(" ", 1)[0] for line in lines] == [
        "::error",
        "::error",
        "::warning",
        "::error",
    ]


def test_github_clean_run_emits_nothing() -> None:
    assert render_report(Report(files=["a.yaml"], findings=[], sources={}), "github") == ""


# --- junit --------------------------------------------------------------------------------------


def parse_junit(text: str) -> ET.Element:
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n')
    return ET.fromstring(text.encode("utf-8"))


def test_junit_suite_per_file() -> None:
    root = parse_junit(render_report(sample_report(), "junit"))
    assert root.tag == "testsuites"
    assert root.get("name") == "kctl validate-config"
    assert (root.get("tests"), root.get("failures")) == ("5", "3")

    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["a.yaml", "clean.yaml", "<stdin>"]
    assert [(s.get("tests"), s.get("failures")) for s in suites] == [
        ("3", "2"),
        ("1", "0"),
        ("1", "1"),
    ]

    clean_cases = suites[1].findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in clean_cases] == [
        ("kctl.validate-config", "clean.yaml")
    ]
    assert list(clean_cases[0]) == []

    cases = suites[0].findall("testcase")
    assert [(c.get("classname"), c.get("name")) for c in cases] == [
        ("a.yaml", "KC003 line 4 col 2"),
        ("a.yaml", "KC105 line 4 col 12"),
        ("a.yaml", "KC205 line 5 col 12"),
    ]
    failure = cases[1].find("failure")
    assert failure is not None
    assert failure.get("type") == "KC105"
    assert failure.get("message") == "endpoint is not https"
    assert failure.text == (
        "a.yaml:4:12 providers[0].endpoint: endpoint is not https\nhint: use https://"
    )

    # a warning passes (no failure) but its text is still reported
    assert cases[2].find("failure") is None
    out = cases[2].find("system-out")
    assert out is not None
    assert out.text == f"a.yaml:5:12 providers[0].headers.sid: {NASTY}"

    stdin_failure = suites[2].find("testcase/failure")
    assert stdin_failure is not None
    assert stdin_failure.text == "<stdin>:1:1: YAML syntax error"


def test_junit_strict_makes_warnings_failures() -> None:
    root = parse_junit(render_report(sample_report(strict=True), "junit"))
    assert root.get("failures") == "4"
    a_yaml = root.find("testsuite[@name='a.yaml']")
    assert a_yaml is not None
    assert a_yaml.get("failures") == "3"
    warning = a_yaml.find("testcase[@name='KC205 line 5 col 12']/failure")
    assert warning is not None
    assert warning.get("type") == "KC205"
    assert warning.get("message") == NASTY
    assert a_yaml.find("testcase/system-out") is None


def test_junit_is_well_formed_with_characters_xml_forbids() -> None:
    message = 'bell\x07 nul\x00 esc\x1b <tag attr="x"> & \ud800 \ufffe ok\té'
    report = Report(
        files=['we<ird>&"name.yaml'],
        findings=[finding("KC005", E, 'we<ird>&"name.yaml', 1, 1, message, "h\x0bint")],
        sources={},
    )
    root = parse_junit(render_report(report, "junit"))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == 'bell nul esc <tag attr="x"> &   ok\té'
    assert failure.text == (
        'we<ird>&"name.yaml:1:1 providers[0]: bell nul esc <tag attr="x"> &   ok\té\nhint: hint'
    )
    suite = root.find("testsuite")
    assert suite is not None
    assert suite.get("name") == 'we<ird>&"name.yaml'


# --- sarif --------------------------------------------------------------------------------------

# The parts of SARIF 2.1.0 that code-scanning uploads rely on; the full schema is not fetched.
SARIF_ESSENTIALS: dict[str, Any] = {
    "type": "object",
    "required": ["$schema", "version", "runs"],
    "properties": {
        "version": {"const": "2.1.0"},
        "runs": {
            "type": "array",
            "minItems": 1,
            "maxItems": 1,
            "items": {
                "type": "object",
                "required": ["tool", "results"],
                "properties": {
                    "tool": {
                        "type": "object",
                        "required": ["driver"],
                        "properties": {
                            "driver": {
                                "type": "object",
                                "required": ["name", "version", "informationUri", "rules"],
                                "properties": {
                                    "rules": {
                                        "type": "array",
                                        "items": {
                                            "type": "object",
                                            "required": ["id", "shortDescription"],
                                            "properties": {
                                                "shortDescription": {
                                                    "type": "object",
                                                    "required": ["text"],
                                                    "properties": {
                                                        "text": {"type": "string", "minLength": 1}
                                                    },
                                                }
                                            },
                                        },
                                    }
                                },
                            }
                        },
                    },
                    "results": {
                        "type": "array",
                        "items": {
                            "type": "object",
                            "required": ["ruleId", "ruleIndex", "level", "message", "locations"],
                            "properties": {
                                "level": {"enum": ["error", "warning"]},
                                "ruleIndex": {"type": "integer", "minimum": 0},
                                "message": {
                                    "type": "object",
                                    "required": ["text"],
                                    "properties": {"text": {"type": "string"}},
                                },
                                "locations": {
                                    "type": "array",
                                    "minItems": 1,
                                    "items": {
                                        "type": "object",
                                        "required": ["physicalLocation"],
                                        "properties": {
                                            "physicalLocation": {
                                                "type": "object",
                                                "required": ["artifactLocation", "region"],
                                                "properties": {
                                                    "artifactLocation": {
                                                        "type": "object",
                                                        "required": ["uri"],
                                                    },
                                                    "region": {
                                                        "type": "object",
                                                        "required": ["startLine", "startColumn"],
                                                        "properties": {
                                                            "startLine": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                            "startColumn": {
                                                                "type": "integer",
                                                                "minimum": 1,
                                                            },
                                                        },
                                                    },
                                                },
                                            }
                                        },
                                    },
                                },
                            },
                        },
                    },
                },
            },
        },
    },
}


def test_sarif_document() -> None:
    doc = json.loads(render_report(sample_report(), "sarif"))
    jsonschema.Draft7Validator(SARIF_ESSENTIALS).validate(doc)
    assert doc["$schema"] == "https://json.schemastore.org/sarif-2.1.0.json"
    assert doc["version"] == "2.1.0"

    driver = doc["runs"][0]["tool"]["driver"]
    assert (driver["name"], driver["version"]) == ("kctl", __version__)
    assert driver["informationUri"] == "https://github.com/kctl/kctl"
    rule_ids = [rule["id"] for rule in driver["rules"]]
    assert sorted(rule_ids) == ["KC001", "KC003", "KC105", "KC205"]

    results = doc["runs"][0]["results"]
    assert [r["ruleId"] for r in results] == ["KC003", "KC105", "KC205", "KC001"]
    for result in results:
        assert driver["rules"][result["ruleIndex"]]["id"] == result["ruleId"]

    endpoint = results[1]
    assert endpoint["level"] == "error"
    assert endpoint["message"]["text"] == "endpoint is not https (hint: use https://)"
    assert endpoint["locations"][0]["physicalLocation"] == {
        "artifactLocation": {"uri": "a.yaml"},
        "region": {"startLine": 4, "startColumn": 12},
    }
    assert endpoint["properties"] == {"path": "providers[0].endpoint"}

    assert results[2]["level"] == "warning"
    assert results[2]["message"]["text"] == NASTY
    stdin = results[3]["locations"][0]["physicalLocation"]["artifactLocation"]
    assert stdin["uri"] == "<stdin>"


def test_sarif_strict_keeps_warning_level() -> None:
    doc = json.loads(render_report(sample_report(strict=True), "sarif"))
    levels = [r["level"] for r in doc["runs"][0]["results"]]
    assert levels == ["error", "error", "warning", "error"]


def test_sarif_clean_run() -> None:
    doc = json.loads(render_report(Report(files=["a.yaml"], findings=[], sources={}), "sarif"))
    jsonschema.Draft7Validator(SARIF_ESSENTIALS).validate(doc)
    assert doc["runs"][0]["results"] == []
    assert doc["runs"][0]["tool"]["driver"]["rules"] == []


SPEC_CODES = (
    [f"KC00{i}" for i in range(1, 7)]
    + [f"KC10{i}" for i in range(1, 10)]
    + [f"KC20{i}" for i in range(1, 8)]
    + [f"KC30{i}" for i in range(1, 7)]
    + [f"KC3{i:02d}" for i in range(7, 12)]  # issue 14: DLT content rules
    + [f"KC40{i}" for i in range(1, 10)]
    + [f"KC41{i}" for i in range(5)]  # issue 10: carousel, dynamic URL and example rules
    + ["KC501", "KC502"]
)


def test_sarif_rule_titles_cover_every_spec_code() -> None:
    assert set(RULES) == set(SPEC_CODES)
    report = Report(
        files=["a.yaml"],
        findings=[finding(code, E, "a.yaml", 1, 1) for code in SPEC_CODES],
        sources={},
    )
    rules = json.loads(render_report(report, "sarif"))["runs"][0]["tool"]["driver"]["rules"]
    assert [rule["id"] for rule in rules] == SPEC_CODES
    titles = [rule["shortDescription"]["text"] for rule in rules]
    assert all(title and not title.startswith("KC") for title in titles)
    assert len(set(titles)) == len(titles)
    assert titles[SPEC_CODES.index("KC105")] == "Endpoint not an absolute https URL"


# --- scale --------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_thousands_of_findings_in_order(fmt: str) -> None:
    files = [f"f{i}.yaml" for i in range(20)]
    findings = [
        finding("KC105" if i % 3 else "KC205", E if i % 3 else W, files[i % 20], i % 97 + 1, 3)
        for i in range(3000)
    ]
    sources = {name: "k: v\n" * 100 for name in files}
    out = render_report(Report(files=files, findings=findings, sources=sources), fmt)
    assert out.count("KC105") >= 2000
    if fmt == "github":
        lines = out.splitlines()
        assert len(lines) == 3000
        assert lines[0].startswith("::error file=f0.yaml,line=1,")
        assert "file=f19.yaml,line=97," in lines[-1]
