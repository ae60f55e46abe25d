"""Data-driven rule cases: adding a case is adding a YAML file under tests/cases/."""

from __future__ import annotations

import json
import re
from pathlib import Path

import jsonschema
import pytest
import yaml

from kctl.config.schema import json_schema
from kctl.config.validate import validate_paths
from kctl.contract.rules import RULES
from tests.support import CASES, REPO

# every case states where each finding is: "# expect: KCnnn:LINE:COL"
EXPECT = re.compile(r"^#\s*expect:\s*(KC\d{3}):(\d+):(\d+)\s*$", re.MULTILINE)
VALID = sorted((CASES / "valid").glob("*.yaml"))
INVALID = sorted((CASES / "invalid").glob("*.yaml"))
EXAMPLES = sorted((REPO / "configs").glob("*.yaml"))


def expected_findings(path: Path) -> set[tuple[str, int, int]]:
    return {
        (code, int(line), int(col)) for code, line, col in EXPECT.findall(path.read_text("utf-8"))
    }


def registry_of(path: Path) -> str | None:
    """A case is checked against the DLT registry beside it (same name, .csv), if it has one."""
    csv = path.with_suffix(".csv")
    return str(csv) if csv.exists() else None


def found(path: Path) -> set[tuple[str, int, int]]:
    report = validate_paths([str(path)], strict=True, dlt_registry=registry_of(path))
    return {(f.code, f.line, f.col) for f in report.findings}


@pytest.mark.parametrize("path", VALID + EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_clean_config_has_no_findings(path: Path) -> None:
    report = validate_paths([str(path)], strict=True, dlt_registry=registry_of(path))
    assert report.findings == []
    assert not report.failed


@pytest.mark.parametrize("path", INVALID, ids=lambda p: p.name)
def test_invalid_case_reports_exactly_its_findings(path: Path) -> None:
    expected = expected_findings(path)
    assert expected, f"{path.name} declares no '# expect: KCnnn:LINE:COL' lines"
    assert found(path) == expected


def test_every_rule_code_has_an_invalid_case() -> None:
    covered = {code for path in INVALID for code, _, _ in expected_findings(path)}
    assert set(RULES) - covered == set()


@pytest.mark.parametrize("path", VALID + EXAMPLES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_clean_configs_satisfy_the_published_json_schema(path: Path) -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    document = yaml.safe_load(path.read_text("utf-8"))
    jsonschema.Draft202012Validator(schema).validate(document)


def test_examples_reference_the_schema_for_editors() -> None:
    assert EXAMPLES, "configs/ has no example configs"
    for path in EXAMPLES:
        first = path.read_text("utf-8").splitlines()[0]
        assert first.startswith("# yaml-language-server: $schema="), path.name
        target = (path.parent / first.split("=", 1)[1]).resolve()
        assert json.loads(target.read_text("utf-8")) == json_schema(), (
            f"{target} is stale: run kctl schema -o {target.relative_to(REPO)}"
        )
