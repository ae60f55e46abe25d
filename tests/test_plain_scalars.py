"""kctl.config.plain against PyYAML: the same tag and the same value for every plain scalar.

The loader reads unquoted scalars with kctl.config.plain so that a config can be loaded
without importing PyYAML; whatever it decides must be what PyYAML's SafeLoader decides
(dates aside, which kctl keeps as text), down to the type: ``yes`` is True, not 1.
"""

from __future__ import annotations

import math
import subprocess
import sys

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from yaml.constructor import SafeConstructor
from yaml.nodes import ScalarNode
from yaml.resolver import Resolver

from kctl.config import plain
from tests.support import REPO

_resolver = Resolver()
_constructor = SafeConstructor()
_MAKERS = {
    plain.INT: _constructor.construct_yaml_int,
    plain.FLOAT: _constructor.construct_yaml_float,
    plain.BOOL: _constructor.construct_yaml_bool,
    plain.NULL: _constructor.construct_yaml_null,
}


def _theirs(tag: str, raw: str) -> tuple[str, object]:
    """("value", v) or ("error", exception class name), as PyYAML constructs ``raw``."""
    make = _MAKERS.get(tag)
    if make is None:
        return "value", raw
    try:
        return "value", make(ScalarNode(tag, raw))
    except Exception as e:  # whatever PyYAML raises, kctl must refuse the scalar too
        return "error", type(e).__name__


def _same(ours: object, theirs: object) -> bool:
    if isinstance(ours, float) and isinstance(theirs, float) and math.isnan(theirs):
        return math.isnan(ours)
    return type(ours) is type(theirs) and ours == theirs


def _check_plain(raw: str) -> None:
    tag = _resolver.resolve(ScalarNode, raw, (True, False))  # type: ignore[no-untyped-call]
    assert plain.implicit_tag(raw) == tag, raw
    if tag == "tag:yaml.org,2002:merge":
        assert plain.resolve(raw) is plain.MERGE
        return
    if tag == "tag:yaml.org,2002:timestamp":
        assert plain.resolve(raw) == raw  # dates stay text
        return
    outcome, theirs = _theirs(tag, raw)
    if outcome == "error":
        with pytest.raises(ValueError, match="is not a valid"):
            plain.resolve(raw)
        return
    ours = plain.resolve(raw)
    assert _same(ours, theirs), (raw, ours, theirs)


def _check_tagged(tag: str, raw: str) -> None:
    outcome, theirs = _theirs(tag, raw)
    if outcome == "error":
        with pytest.raises(ValueError, match="is not a valid"):
            plain.construct(tag, raw)
        return
    ours = plain.construct(tag, raw)
    assert _same(ours, theirs), (tag, raw, ours, theirs)


TRICKY = [
    # ints: signs, bases, underscores, sexagesimal
    "0",
    "-0",
    "+0",
    "7",
    "-12",
    "+12",
    "1_000",
    "0777",
    "017",
    "08",
    "0_7",
    "0b101",
    "-0b101",
    "0b102",
    "0b_",
    "0x1F",
    "+0x1F",
    "-0x_ff",
    "0x_",
    "0xG",
    "0o17",
    "1:30",
    "-1:30",
    "190:20:30",
    "1:60",
    "1:5:9",
    "0:30",
    "1_",
    "_1",
    "+",
    "-",
    "00",
    "0_",
    "-0b_",
    # floats
    "1.",
    ".5",
    "-.5",
    "1.0",
    "1.0e+3",
    "1.0e3",
    "1e3",
    "6.8523015e+5",
    "685.230_15e+03",
    "1:30.5",
    "-1:30.5",
    "190:20:30.15",
    ".inf",
    "-.inf",
    "+.Inf",
    ".INF",
    "-.INF",
    ".NaN",
    ".nan",
    ".NAN",
    ".Nan",
    "-.nan",
    "._",
    "1._",
    "1.e+1",
    ".",
    "..",
    "1..2",
    "1_.5",
    # bools and nulls, and near misses
    "yes",
    "Yes",
    "YES",
    "yEs",
    "no",
    "No",
    "NO",
    "true",
    "True",
    "TRUE",
    "tRUE",
    "false",
    "on",
    "On",
    "ON",
    "off",
    "Off",
    "OFF",
    "y",
    "n",
    "Y",
    "N",
    "~",
    "null",
    "Null",
    "NULL",
    "nULL",
    "nul",
    "",
    "None",
    "none",
    ":".join(["1"] * 180) + ".5",  # past a float's range (PyYAML: OverflowError)
    ":".join(["1"] * 180),  # an int has no such range
    # dates and timestamps (kept as text), merge, value, and plain text
    "2001-12-14",
    "2001-12-14t21:59:43.10-05:00",
    "2001-12-14 21:59:43.10 -5",
    "2001-12-15T02:59:43.1Z",
    "2001-1-1",
    "<<",
    "<",
    "<<<",
    "=",
    "==",
    "name",
    "https://example.com",
    "+14155550123",
    "919812345678",
    "Kaleyra_WA",
    "0.1",
    "v1",
]


@pytest.mark.parametrize("raw", TRICKY)
def test_tricky_plain_scalars_resolve_as_pyyaml_does(raw: str) -> None:
    _check_plain(raw)


TAGS = [plain.INT, plain.FLOAT, plain.BOOL, plain.NULL]


@pytest.mark.parametrize("tag", TAGS)
@pytest.mark.parametrize("raw", [*TRICKY, "abc", " 12", "12 ", "maybe", "0o17", "1e3", "0x"])
def test_explicit_tags_construct_as_pyyaml_does(tag: str, raw: str) -> None:
    _check_tagged(tag, raw)


SCALARISH = st.text(
    alphabet=st.sampled_from(list("0123456789+-._:eExXbBoO<~=yYnNtTfFlLuUaAsS !&*"))
)


@settings(max_examples=3000, deadline=None)
@given(SCALARISH.filter(lambda s: s == s.strip()))
def test_generated_plain_scalars_resolve_as_pyyaml_does(raw: str) -> None:
    _check_plain(raw)


def _from_pyyaml_patterns() -> st.SearchStrategy[str]:
    """Scalars that PyYAML's own patterns match (so every branch of each gets drawn)."""
    compiled = {
        p.pattern: p
        for resolvers in _resolver.yaml_implicit_resolvers.values()
        for _, p in resolvers
    }
    drawn = [st.from_regex(p, fullmatch=True) for _, p in sorted(compiled.items())]
    return st.one_of(*drawn).filter(lambda s: s == s.strip() and "\n" not in s)


@settings(max_examples=400, deadline=None)
@given(_from_pyyaml_patterns())
def test_scalars_drawn_from_pyyaml_patterns_resolve_alike(raw: str) -> None:
    _check_plain(raw)
    _check_tagged(plain.FLOAT, raw)
    _check_tagged(plain.INT, raw)


@settings(max_examples=1000, deadline=None)
@given(st.sampled_from(TAGS), SCALARISH)
def test_generated_tagged_scalars_construct_as_pyyaml_does(tag: str, raw: str) -> None:
    _check_tagged(tag, raw)


def test_the_merge_marker_survives_copy_and_pickle() -> None:
    import copy
    import pickle

    assert copy.copy(plain.MERGE) is plain.MERGE
    assert pickle.loads(pickle.dumps(plain.MERGE)) is plain.MERGE


def test_values_in_a_document_match_pyyaml() -> None:
    text = "a: [1, 0x1F, 1:30, 1.5, .inf, yes, Off, ~, null, text, 2001-12-14, '12']\n"
    from kctl.config.loader import load_text

    doc = load_text("x.yaml", text)
    assert doc.root is not None
    ours = [n.value for n in doc.root.value["a"].value.value]
    theirs = yaml.safe_load(text)["a"]
    theirs[10] = "2001-12-14"  # a date stays text in kctl
    assert all(_same(a, b) for a, b in zip(ours, theirs, strict=True)), (ours, theirs)


def test_a_bad_explicit_tag_is_a_finding_not_a_crash() -> None:
    from kctl.config.loader import load_text

    for text, shown in (
        ("a: !!bool maybe\n", "'maybe' is not a valid !!bool"),
        ('a: !!int ""\n', "'' is not a valid !!int"),
        ("a: !!float x\n", "'x' is not a valid !!float"),
        ("a: 0b_\n", "'0b_' is not a valid !!int"),
    ):
        findings = load_text("x.yaml", text).findings
        assert [f.code for f in findings] == ["KC001"], text
        assert findings[0].message.startswith(shown), findings[0].message


def test_names_need_no_pattern_and_no_pyyaml() -> None:
    code = """
import sys
from kctl.config import plain
assert [plain.resolve(s) for s in ("nickname", "whatsapp", "https://x")] == [
    "nickname", "whatsapp", "https://x"]
def compiled():
    patterns = (plain._FLOAT, plain._INT, plain._TIMESTAMP_PATTERN)
    return {p.pattern for p in patterns if "match" in vars(p)}
assert not compiled(), compiled()
assert plain.resolve("3") == 3 and plain.resolve("yes") is True
assert not compiled(), compiled()  # a decimal int needs no pattern either
assert plain.resolve("3.5") == 3.5
assert compiled(), "the lazy patterns are not what this test looks at"
assert "yaml" not in sys.modules and "typing" not in sys.modules
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=False, cwd=REPO
    )
    assert done.stdout.strip() == "ok", done.stderr
