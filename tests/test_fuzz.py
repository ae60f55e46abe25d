"""Fuzzing: whatever bytes arrive, validation ends in findings, never an exception."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kctl.config.findings import Report
from kctl.config.loader import MAX_EXPANDED_NODES, load_bytes
from kctl.config.quoted import redact_secret_lines
from kctl.config.validate import check_document

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


def _yaml_with_aliases(value: object, draw: Callable[[st.SearchStrategy[Any]], Any]) -> str:
    """``value`` as block YAML where any node may carry an anchor and any value may be an
    alias to an anchor written before it, the node it sits in included (a cycle)."""
    anchors: list[str] = []

    def render(value: object, depth: int) -> str:
        if anchors and draw(st.integers(0, 3)) == 0:
            return f"*{draw(st.sampled_from(anchors))}"
        prefix = ""
        if draw(st.integers(0, 2)) == 0:
            name = f"a{len(anchors)}"
            anchors.append(name)
            prefix = f"&{name} "
        pad = "  " * depth
        if isinstance(value, dict):
            inner = "".join(f"\n{pad}{k}: {render(v, depth + 1)}" for k, v in value.items())
            return prefix + (inner or "{}")
        if isinstance(value, list):
            inner = "".join(f"\n{pad}- {render(v, depth + 1)}" for v in value)
            return prefix + (inner or "[]")
        return prefix + repr(value)

    return render(value, 1)


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
    # A node reached through several aliases is still reported once, where it is written.
    # Once per role: a node used both as a provider and as headers is checked as both, and
    # the key names along its path (indices aside) tell the roles apart.
    said = [
        (
            f.code,
            f.line,
            f.col,
            _role(f.path),
            f.message.replace(f.path, "") if f.path else f.message,
        )
        for f in findings
    ]
    assert len(said) == len(set(said)), findings


def _role(path: str) -> str:
    return re.sub(r"\[\d+\]", "[]", path)


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


@settings(max_examples=300, deadline=None)
@given(TREES, st.data())
def test_config_shaped_trees_with_anchors_and_aliases(tree: object, data: st.DataObject) -> None:
    _validate(("version: 1\nproviders:" + _yaml_with_aliases(tree, data.draw)).encode())


@settings(max_examples=100, deadline=None)
@given(st.integers(2, 40), st.integers(1, 4), st.sampled_from(["x", "[x, y]", "{k: v}"]))
def test_nested_aliases_are_refused_once_they_expand_too_far(
    fanout: int, levels: int, leaf: str
) -> None:
    """Each level repeats the one below ``fanout`` times: up to 40**4 leaves once expanded."""
    lines = [f"l0: &l0 {leaf}"]
    size = 1 if leaf == "x" else 3
    for n in range(1, levels + 1):
        lines.append(f"l{n}: &l{n} [" + ", ".join([f"*l{n - 1}"] * fanout) + "]")
        size = 1 + fanout * size
    text = "version: 1\n" + "\n".join(lines) + "\nproviders:\n  - nickname: n\n    headers:\n"
    data = f"{text}      api-key: *l{levels}\n".encode()
    _validate(data)
    doc = load_bytes("fuzz.yaml", data)
    refused = any(f.code == "KC001" for f in doc.findings)
    expanded = 2 * size  # the anchored tree as written, and again under api-key
    if expanded > 2 * MAX_EXPANDED_NODES:
        assert refused
    elif expanded < MAX_EXPANDED_NODES // 2:
        assert not refused
