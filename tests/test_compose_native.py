"""The C composer (kctl.config._compose) against the Python one: the same tree, or it steps aside.

The loader hands each document to the C module first and to the Python composer when the C
module raises Fallback. Two things must hold for that to be invisible: every tree the C module
builds is the tree the Python composer builds (same nodes, kinds, places, text, values and
their types, key order), and the C module never accepts a document on which the Python
composer reports anything. Skipped where kctl was installed without its C accelerator.
"""

from __future__ import annotations

import tracemalloc
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kctl.config import loader
from kctl.config.loader import MAP, SCALAR, SEQ, Entry, Node
from tests.test_fuzz import TREES, _yaml, _yaml_with_aliases

native = loader._native()
pytestmark = pytest.mark.skipif(
    native is None, reason="kctl.config._compose is not built here (no C compiler or libyaml)"
)

TESTS = Path(__file__).resolve().parent
FILES = sorted(
    [*(TESTS / "cases").rglob("*.yaml"), *(TESTS.parent / "configs").glob("*.yaml")],
    key=str,
)


def _same(ours: Node | None, theirs: Node | None, path: str = "$") -> None:
    if ours is None or theirs is None:
        assert ours is theirs, path
        return
    assert type(ours) is Node
    assert type(theirs) is Node
    mine = (ours.kind, ours.line, ours.col, ours.raw, ours.shared)
    assert mine == (theirs.kind, theirs.line, theirs.col, theirs.raw, theirs.shared), path
    if ours.kind == SCALAR:
        assert type(ours.value) is type(theirs.value), path
        assert ours.value == theirs.value or ours.value != ours.value, path  # nan
        return
    if ours.kind == SEQ:
        assert len(ours.value) == len(theirs.value), path
        for i, (a, b) in enumerate(zip(ours.value, theirs.value, strict=True)):
            _same(a, b, f"{path}[{i}]")
        return
    assert ours.kind == MAP
    assert list(ours.value) == list(theirs.value), path
    for name, entry in ours.value.items():
        other: Entry = theirs.value[name]
        assert type(entry) is Entry
        assert (entry.key, entry.line, entry.col) == (other.key, other.line, other.col), path
        assert type(entry.key_value) is type(other.key_value), path
        assert entry.key_value == other.key_value or entry.key_value != entry.key_value
        _same(entry.key_node, other.key_node, f"{path}.{name} (key)")
        _same(entry.value, other.value, f"{path}.{name}")


def _native_or_none(text: str) -> tuple[bool, Node | None]:
    """(did the C module compose it, its root)"""
    try:
        return True, native.compose(text.encode("utf-8"))
    except native.Fallback:
        return False, None


def _check(text: str) -> bool:
    """The two composers agree on ``text``; True when the C module composed it."""
    python = loader.load_in_python("x.yaml", text)
    composed, root = _native_or_none(text)
    if composed:
        assert python.findings == [], "the C module accepted a document Python reports on"
        _same(root, python.root)
        assert loader.load_text("x.yaml", text).root is not None or root is None
    return composed


@pytest.mark.parametrize("path", FILES, ids=lambda p: f"{p.parent.name}/{p.name}")
def test_every_case_file_composes_alike_or_falls_back(path: Path) -> None:
    _check(path.read_text(encoding="utf-8"))


def test_the_shipped_configs_are_composed_in_c() -> None:
    shipped = sorted((TESTS.parent / "configs").glob("*.yaml"))
    assert shipped
    for path in shipped:
        assert _check(path.read_text(encoding="utf-8")), path


USUAL = [
    "",
    "# only a comment\n",
    "just a scalar\n",
    "- a\n- b\n",
    "a: 1\nb: [1, 2.5, true, null, ~, '', \"x\"]\nc: {d: e}\n",
    "name: héllo wörld 🚀\nnext: value\n  # indented comment\nlast: 'é'\n",
    "block: |\n  line one\n  line two\nfolded: >-\n  a\n  b\nafter: 1\n",
    "n: [0o17, 0x1F, 0b101, 017, 1_000, 1:30, -.inf, .NaN, 1e3, 6.8e+5, 2001-12-14]\n",
    "yes: no\non: off\nTrue: FALSE\n",
    "empty:\nnested:\n  - - - deep\n",
    "? plain\n: explicit key\n",
    "a: 1\n...\n",
    "---\na: 1\n",
    "%YAML 1.1\n---\na: 1\n",
]


@pytest.mark.parametrize("text", USUAL)
def test_usual_documents_are_composed_in_c(text: str) -> None:
    assert _check(text)


UNUSUAL = {
    "anchor": "a: &x 1\nb: 2\n",
    "alias": "a: &x 1\nb: *x\n",
    "anchored mapping": "a: &x {b: 1}\n",
    "standard tag": "a: !!str 12\n",
    "non-specific tag": "a: ! 12\n",
    "custom tag": "a: !python/object 12\n",
    "tagged mapping": "a: !!map {b: 1}\n",
    "merge key": "base: {x: 1}\nother:\n  <<: {y: 2}\n",
    "duplicate key": "a: 1\na: 2\n",
    "duplicate collection key": "a: [1]\na: {b: 2}\n",
    "mapping as key": "? {a: 1}\n: 2\n",
    "list as key": "? [a]\n: 2\n",
    "two documents": "a: 1\n---\nb: 2\n",
    "syntax error": "a: [1, 2\n",
    "tab indent": "a:\n\tb: 1\n",
    "unclosed quote": 'a: "open\n',
    "bad int": "a: 0b_\n",
    "bad hex": "a: 0x_\n",
    "control character": "a: b\x07c\n",
    # libyaml 0.2.5 (a system's, which the C module links) reads these as [{null: null}];
    # 0.2.6 (in PyYAML's wheels) reports a syntax error
    "explicit empty key closing a flow sequence": "[?]]\n",
    "the same, as a value": "a: [? ]]\n",
    "too deep": "a:" + "".join(f"\n{'  ' * i}- " for i in range(1, 70)) + "x\n",
}


@pytest.mark.parametrize("text", list(UNUSUAL.values()), ids=list(UNUSUAL))
def test_unusual_documents_fall_back_to_python(text: str) -> None:
    assert not _check(text)


def test_more_nodes_than_the_limit_fall_back() -> None:
    text = "[" + ", ".join(["1"] * (loader.MAX_NODES + 1)) + "]\n"
    assert not _check(text)
    assert (
        loader.load_text("x.yaml", text)
        .findings[0]
        .message.startswith("the document has more than")
    )


def test_depth_at_the_limit_is_composed_in_c() -> None:
    text = "[" * (loader.MAX_DEPTH) + "]" * (loader.MAX_DEPTH) + "\n"
    assert _check(text)
    assert not _check("[" + text.rstrip("\n") + "]\n")


def test_a_byte_order_mark_is_skipped_as_python_skips_it() -> None:
    data = b"\xef\xbb\xbfa: 1\nb: x\n"
    doc = loader.load_bytes("x.yaml", data)
    python = loader.load_in_python("x.yaml", data.decode("utf-8-sig"))
    _same(doc.root, python.root)


@pytest.mark.parametrize(
    "text",
    ["\ufeffa: 1\n", "\ufeff{a: [1]}\n", "\ufeff\ufeffa: 1\n", "\ufeff\ufeff{\n", "\ufeff...\n"],
)
def test_a_byte_order_mark_given_to_compose_is_read_as_pyyaml_reads_it(text: str) -> None:
    """load_text keeps a leading U+FEFF, load_bytes the second of two byte order marks."""
    _check(text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES)
def test_config_shaped_trees_compose_alike(tree: object) -> None:
    _check(_yaml(tree))


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(TREES, st.data())
def test_trees_with_anchors_and_aliases_fall_back_alike(tree: object, data: st.DataObject) -> None:
    _check(_yaml_with_aliases(tree, data.draw))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab1.:-?[]{},&*!|>'\"#\n \t<~é")), max_size=40))
def test_arbitrary_text_composes_alike_or_falls_back(text: str) -> None:
    _check(text)


def test_composing_leaks_nothing() -> None:
    """Every path through the C module, finished or given up half-way, frees what it made."""
    texts = [
        (FILES[0].read_text(encoding="utf-8")),
        "a: 1\nb: [1, {c: d}]\nb: dup\n",  # gives up after building part of the tree
        "a:\n  b:\n    - c: &x 1\n",  # gives up inside nested collections
        "a: [1, 2\n",  # a syntax error after a partial tree
        "a: 0b_\n",
    ]
    for text in texts:
        _native_or_none(text)  # warm up caches (plain values, interned strings)
    tracemalloc.start()
    try:
        for text in texts:
            _native_or_none(text)
        before = tracemalloc.get_traced_memory()[0]
        for _ in range(300):
            for text in texts:
                _native_or_none(text)
        grown = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert grown < 20_000, f"{grown} bytes still held after 1,500 compositions"


def test_count_events_counts_what_pyyaml_parses() -> None:
    import yaml

    for path in FILES[:20]:
        text = path.read_text(encoding="utf-8")
        try:
            expected = len(list(yaml.parse(text, Loader=yaml.CSafeLoader)))
        except yaml.YAMLError:
            expected = -1
        assert native.count_events(text.encode("utf-8")) == expected, path


def test_configure_refuses_what_compose_could_not_build_with() -> None:
    args = list(loader.native_configuration())
    try:
        for at, wrong in ((9, -1), (10, -1)):  # max_depth, max_nodes
            bad = list(args)
            bad[at] = wrong
            with pytest.raises(ValueError, match="cannot be negative"):
                native.configure(*bad)

        class Wider:  # a slot compose() would leave unset
            __slots__ = ("col", "extra", "kind", "line", "raw", "shared", "value")

        with pytest.raises(TypeError, match="exactly the 6 slots"):
            native.configure(Wider, *args[1:])
    finally:
        native.configure(*args)
    assert _check("a: [1, {b: c}]\n")  # configured as the loader configures it


def test_configure_is_refused_while_a_composition_runs() -> None:
    args = list(loader.native_configuration())
    refused: list[str] = []

    def resolve(raw: str) -> object:
        try:  # a larger depth would let compose() write past the stack it allocated
            native.configure(*args[:9], 10_000, args[10])
        except RuntimeError as e:
            refused.append(str(e))
        return raw

    mine = [*args[:5], resolve, {}, *args[7:]]
    try:
        native.configure(*mine)
        root = native.compose(b"a: x\nb: y\n")
    finally:
        native.configure(*args)
    assert root is not None
    assert list(root.value) == ["a", "b"]
    assert refused == ["configure() while compose() runs"] * 4  # a, x, b, y
