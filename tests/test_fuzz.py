"""Fuzzing: whatever bytes arrive, validation ends in findings, never an exception."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kctl.config.findings import Report
from kctl.config.loader import load_bytes
from kctl.config.validate import check_document, redact_secret_lines

YAMLISH = st.text(
    alphabet=st.sampled_from(list("abcdefkpv0123456789 :-\n\t[]{},'\"&*!|>#%@`$+._")),
    max_size=400,
)
KEYS = st.sampled_from(
    [
        "version",
        "providers",
        "nickname",
        "channel",
        "endpoint",
        "headers",
        "api-key",
        "templates",
        "buttons",
        "body",
        "<<",
        "type",
        "parameters",
        "auth",
        "password",
    ]
)
SCALARS = st.one_of(
    st.integers(),
    st.floats(allow_nan=True),
    st.booleans(),
    st.none(),
    st.text(max_size=30),
)


def _yaml(value: object, depth: int = 0) -> str:
    pad = "  " * depth
    if isinstance(value, dict):
        return "".join(f"\n{pad}{k}: {_yaml(v, depth + 1)}" for k, v in value.items()) or "{}"
    if isinstance(value, list):
        return "".join(f"\n{pad}- {_yaml(v, depth + 1)}" for v in value) or "[]"
    return repr(value)


TREES = st.recursive(
    SCALARS,
    lambda children: st.one_of(
        st.lists(children, max_size=4), st.dictionaries(KEYS, children, max_size=5)
    ),
    max_leaves=25,
)


def _validate(data: bytes) -> None:
    doc = load_bytes("fuzz.yaml", data)
    findings = check_document(doc)
    report = Report(["fuzz.yaml"], findings, {"fuzz.yaml": redact_secret_lines(doc.text)})
    for f in findings:
        assert f.code.startswith("KC")
        assert f.line >= 1
        assert f.col >= 1
    from kctl.render.findings import render_report

    for fmt in ("text", "json", "github", "junit", "sarif"):
        render_report(report, fmt)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=300))
def test_arbitrary_bytes(data: bytes) -> None:
    _validate(data)


@settings(max_examples=300, deadline=None)
@given(YAMLISH)
def test_yaml_punctuation_soup(text: str) -> None:
    _validate(text.encode())


@settings(max_examples=300, deadline=None)
@given(TREES)
def test_config_shaped_trees(tree: object) -> None:
    _validate(("version: 1\nproviders:" + _yaml(tree, 1)).encode())
