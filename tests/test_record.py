"""kctl.lean.Record: what the value classes on the start-up path get in place of dataclasses."""

from __future__ import annotations

import re
from typing import Final

import pytest

from kctl.config.findings import Finding, Severity
from kctl.config.model import SmsProvider, WhatsAppProvider
from kctl.config.selection import Selection
from kctl.contract.dlt import Mismatch
from kctl.errors import UsageError
from kctl.lean import Record


def _finding(**changes: object) -> Finding:
    base = Finding("KC101", Severity.ERROR, "a.yaml", 3, 5, "providers[0]", "bad", "fix it")
    return base.replace(**changes)


def test_equal_values_are_equal_and_hash_alike() -> None:
    assert _finding() == _finding()
    assert hash(_finding()) == hash(_finding())
    assert len({_finding(), _finding(), _finding(line=4)}) == 2
    assert _finding() != _finding(hint=None)
    # a value of another class is never equal, even with the same fields
    assert Mismatch(1, 1, "a", "b") != _finding()


def test_replace_changes_only_the_fields_named() -> None:
    moved = _finding(line=9, message="worse")
    assert (moved.line, moved.message, moved.col, moved.hint) == (9, "worse", 5, "fix it")
    with pytest.raises(TypeError, match="no field 'colour'"):
        _finding(colour="red")


def test_repr_names_every_field() -> None:
    text = repr(Mismatch(1, 2, "a", "b", variable=3))
    assert text.startswith("Mismatch(")
    for part in ("position=1", "template_position=2", "expected='a'", "variable=3", "length=None"):
        assert part in text


def test_construction_checks_still_run() -> None:
    # Selection refused an unsilenceable --ignore in __post_init__; it still does in __init__
    with pytest.raises(UsageError, match="cannot be ignored"):
        Selection(ignore=frozenset({"KC001"}))
    assert Selection(select=frozenset({"KC1"})).keeps("KC108")


class _Base(Record):
    __slots__ = ("name", "size")
    name: Final[str]
    size: Final[int]

    def __init__(self, name: str, size: int = 0) -> None:
        self.name = name
        self.size = size


class _Child(_Base):
    __slots__ = ("colour",)
    colour: Final[str]

    def __init__(self, name: str, size: int = 0, colour: str = "red") -> None:
        super().__init__(name, size)
        self.colour = colour


def test_a_subclass_has_its_bases_fields_first() -> None:
    assert _Child._fields == ("name", "size", "colour")
    child = _Child("a", 2, "blue")
    assert repr(child) == "_Child(name='a', size=2, colour='blue')"
    # equality, hashing and replace see the base's fields too
    assert child != _Child("b", 2, "blue")
    assert child == _Child("a", 2, "blue")
    assert len({child, _Child("a", 3, "blue"), _Child("a", 2, "blue")}) == 2
    bigger = child.replace(size=5)
    assert (bigger.name, bigger.size, bigger.colour) == ("a", 5, "blue")
    assert child.replace(name="b") == _Child("b", 2, "blue")
    # a base value with the same fields is another class: never equal
    assert _Base("a", 2) != _Child("a", 2)


def test_a_subclass_is_frozen_in_its_bases_fields_too() -> None:
    child = _Child("a")
    with pytest.raises(AttributeError, match="frozen"):
        child.name = "b"  # type: ignore[misc]
    with pytest.raises(AttributeError, match="frozen"):
        del child.colour


def test_providers_compare_and_replace_on_every_field() -> None:
    base = SmsProvider(nickname="S", endpoint="http://h/sms", headers=(), parameters=())
    assert base.replace(nickname="T").nickname == "T"
    assert base.replace(nickname="T") != base
    assert base.replace(line=3) != base  # a base-class field
    assert base.replace(sender="ACME") != base  # the channel's own
    assert base.replace(nickname="T", sender="ACME").parameters == ()
    assert "nickname='S'" in repr(base)
    assert "sender=None" in repr(base)
    whatsapp = WhatsAppProvider(
        nickname="S", endpoint="http://h/sms", headers=(), business_number="1"
    )
    assert whatsapp.replace(headers=(("a", "b"),)).header("a") == "b"
    with pytest.raises(TypeError, match="no field 'sender'"):
        whatsapp.replace(sender="ACME")


def test_a_lazy_pattern_copies_and_pickles_as_the_pattern_it_stands_for() -> None:
    import copy
    import pickle

    from kctl.lean import lazy_pattern

    pattern = lazy_pattern(r"a+b", re.IGNORECASE)
    for twin in (pickle.loads(pickle.dumps(pattern)), copy.copy(pattern), copy.deepcopy(pattern)):
        assert twin.fullmatch("AaB") is not None
        assert (twin.pattern, twin.flags & re.IGNORECASE) == ("a+b", re.IGNORECASE)
    assert pattern.sub("-", "xaab") == "x-"


def _records() -> list[type[Record]]:
    import importlib
    import pkgutil

    import kctl

    for module in pkgutil.walk_packages(kctl.__path__, "kctl."):
        if not module.name.startswith("kctl.testing") and not module.name.endswith("__main__"):
            importlib.import_module(module.name)
    found, pending = [], [Record]
    while pending:
        for sub in pending.pop().__subclasses__():
            found.append(sub)
            pending.append(sub)
    return found


def test_every_record_takes_its_fields_in_init_so_replace_can_rebuild_it() -> None:
    import inspect

    records = [r for r in _records() if r.__module__.startswith("kctl.")]
    assert len(records) > 40
    for record in records:
        params = set(inspect.signature(record.__init__).parameters) - {"self"}
        assert params == set(record._fields), record.__qualname__


def test_replace_runs_the_checks_init_runs() -> None:
    with pytest.raises(UsageError, match="cannot be ignored"):
        Selection().replace(ignore=frozenset({"KC001"}))
