"""What an unquoted scalar means, as PyYAML's SafeLoader reads it (YAML 1.1), without PyYAML.

The loader needs the value of every plain scalar (``3`` is an int, ``yes`` a bool, ``~`` null)
and of the few explicitly tagged ones it accepts (``!!int "12"``). PyYAML's resolver and
constructor give them, but importing PyYAML costs a one-file validate-config about 23 ms,
and the C composer (kctl.config._compose) needs nothing else from it. So the rules are
written out here: PyYAML's implicit resolvers, tried in its order for the scalar's first
character, and its constructors for int, float, bool and null. tests/test_plain_scalars.py
holds both to PyYAML's own, on hand-picked and on generated scalars.

Most plain scalars of a config are names (``nickname``, ``channel``, ``whatsapp``): their
first character is one no resolver is registered for, so they are text without a pattern
being compiled; each pattern is compiled the first time a scalar needs it.
"""

from __future__ import annotations

import re

from kctl.lean import lazy_pattern

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import TypeVar

    T = TypeVar("T", int, float)

TAG_PREFIX = "tag:yaml.org,2002:"  # YAML's standard tags: !!int is TAG_PREFIX + "int"
STR, INT, FLOAT, BOOL, NULL = (
    f"{TAG_PREFIX}{name}" for name in ("str", "int", "float", "bool", "null")
)
_MERGE_TAG, _TIMESTAMP, _VALUE, _YAML = (
    f"{TAG_PREFIX}{name}" for name in ("merge", "timestamp", "value", "yaml")
)


class _Merge:
    """The value of the merge key ``<<``."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "MERGE"

    def __reduce__(self) -> str:
        return "MERGE"  # a copy or an unpickled one is this module's MERGE itself


MERGE = _Merge()

# YAML 1.1's implicit types, as PyYAML's Resolver declares them. Its patterns for bool, null,
# the merge key and the value key match a fixed list of words: here they are sets of those
# words. The others are its patterns (ending in '$' and tried with match(), as here). A '$'
# also matches before a final line break, but a plain scalar never ends in one (the parser
# folds it away), so the sets and the patterns answer alike for every scalar a file can hold.
_BOOLS = {"yes": True, "no": False, "true": True, "false": False, "on": True, "off": False}
_BOOL_WORDS = frozenset(f(word) for word in _BOOLS for f in (str.lower, str.capitalize, str.upper))
_NULL_WORDS = frozenset({"~", "null", "Null", "NULL", ""})
_FLOAT = lazy_pattern(
    r"^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+][0-9]+)?"
    r"|\.[0-9][0-9_]*(?:[eE][-+][0-9]+)?"
    r"|[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+\.[0-9_]*"
    r"|[-+]?\.(?:inf|Inf|INF)"
    r"|\.(?:nan|NaN|NAN))$"
)
_INT = lazy_pattern(
    r"^(?:[-+]?0b[0-1_]+"
    r"|[-+]?0[0-7_]+"
    r"|[-+]?(?:0|[1-9][0-9_]*)"
    r"|[-+]?0x[0-9a-fA-F_]+"
    r"|[-+]?[1-9][0-9_]*(?::[0-5]?[0-9])+)$"
)
_TIMESTAMP_PATTERN = lazy_pattern(
    r"""^(?:[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]
    |[0-9][0-9][0-9][0-9] -[0-9][0-9]? -[0-9][0-9]?
    (?:[Tt]|[ \t]+)[0-9][0-9]?
    :[0-9][0-9] :[0-9][0-9] (?:\.[0-9]*)?
    (?:[ \t]*(?:Z|[-+][0-9][0-9]?(?::[0-9][0-9])?))?)$""",
    re.VERBOSE,
)


def _matches(pattern: re.Pattern[str]) -> Callable[[str], bool]:
    return lambda raw: pattern.match(raw) is not None


# first character -> (tag, test) in the order PyYAML tries them ('' is the empty scalar)
_RESOLVERS: dict[str, list[tuple[str, Callable[[str], bool]]]] = {}
for _tag, _test, _firsts in (
    (BOOL, _BOOL_WORDS.__contains__, "yYnNtTfFoO"),
    (FLOAT, _matches(_FLOAT), "-+0123456789."),
    (INT, _matches(_INT), "-+0123456789"),
    (_MERGE_TAG, "<<".__eq__, "<"),
    (NULL, _NULL_WORDS.__contains__, ["~", "n", "N", ""]),
    (_TIMESTAMP, _matches(_TIMESTAMP_PATTERN), "0123456789"),
    (_VALUE, "=".__eq__, "="),
    (_YAML, frozenset("!&*").__contains__, "!&*"),  # no parser gives these as plain scalars
):
    for _first in _firsts:
        _RESOLVERS.setdefault(_first, []).append((_tag, _test))


def implicit_tag(raw: str) -> str:
    """The tag PyYAML's resolver gives the plain scalar ``raw``."""
    for tag, test in _RESOLVERS.get(raw[:1], ()):
        if test(raw):
            return tag
    return STR


def resolve(raw: str) -> object:
    """The value of the plain scalar ``raw``: str, int, float, bool, None, or MERGE for '<<'.

    Dates and timestamps stay text (no config field is a date). ValueError when ``raw`` looks
    like a number but holds none ('0b_', '0x_').
    """
    if raw[:1] not in _RESOLVERS:
        return raw  # the common case: a name, a URL, a sentence
    if raw.isascii() and raw.isdigit() and (raw[0] != "0" or raw == "0"):
        return int(raw)  # a decimal int (version: 1), without compiling the float and int patterns
    tag = implicit_tag(raw)
    if tag == _MERGE_TAG:
        return MERGE
    return construct(tag, raw)


def construct(tag: str, raw: str) -> object:
    """The value of ``raw`` under ``tag`` (int, float, bool and null as PyYAML's safe constructor
    makes them; any other tag keeps the text). ValueError when ``raw`` is not of that type."""
    make = _CONSTRUCTORS.get(tag)
    if make is None:
        return raw
    try:
        return make(raw)
    # what PyYAML's constructors raise: OverflowError for a float of 175 sexagesimal parts
    except (ValueError, IndexError, KeyError, OverflowError) as e:
        raise ValueError(f"{raw!r} is not a valid {tag}") from e


def _sign(text: str) -> tuple[int, str]:
    if text[0] == "-":
        return -1, text[1:]
    return 1, text[1:] if text[0] == "+" else text


def _int(raw: str) -> int:
    sign, digits = _sign(raw.replace("_", ""))
    if digits == "0":
        return 0
    if digits.startswith("0b"):
        return sign * int(digits[2:], 2)
    if digits.startswith("0x"):
        return sign * int(digits[2:], 16)
    if digits[0] == "0":
        return sign * int(digits, 8)
    if ":" in digits:  # sexagesimal: 1:30 is 90
        return sign * _base60([int(part) for part in digits.split(":")], 0)
    return sign * int(digits)


def _float(raw: str) -> float:
    sign, digits = _sign(raw.replace("_", "").lower())
    if digits == ".inf":
        return sign * float("inf")
    if digits == ".nan":
        return float("nan")
    if ":" in digits:  # sexagesimal: 1:30.5 is 90.5
        return sign * _base60([float(part) for part in digits.split(":")], 0.0)
    return sign * float(digits)


def _base60(parts: list[T], total: T) -> T:
    # summed from the last part up, as PyYAML sums them: a float's rounding depends on the order
    base = 1
    for part in reversed(parts):
        total += part * base
        base *= 60
    return total


def _bool(raw: str) -> bool:
    return _BOOLS[raw.lower()]


def _null(raw: str) -> None:
    return None


_CONSTRUCTORS: dict[str, Callable[[str], object]] = {
    INT: _int,
    FLOAT: _float,
    BOOL: _bool,
    NULL: _null,
}
