"""``Record``: the value classes of a send (requests, replies, events) without dataclasses.

Every send-test imports these modules before it sends, and a dataclass costs start-up time:
the dataclasses module takes about 12 ms to import (it imports ``inspect``), and each decorated
class about 0.7 ms more, as the decorator writes and compiles its methods. A ``Record`` subclass
lists its fields in ``__slots__``, declares their types in its body (``Final``, so mypy keeps
them unchanged after ``__init__``) and sets them in a hand-written ``__init__``; this base class
gives it what a frozen dataclass would: equality and a hash by field values, a repr,
``replace``, and fields that cannot be set again once ``__init__`` has set them.
"""

from __future__ import annotations

TYPE_CHECKING = False  # not typing's: importing typing costs start-up time
if TYPE_CHECKING:
    from typing import Any, Self


class Record:
    __slots__: tuple[str, ...] = ()

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self.__slots__)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self.__slots__)
        return f"{type(self).__qualname__}({fields})"

    def __setattr__(self, name: str, value: object) -> None:
        try:
            getattr(self, name)
        except AttributeError:  # not set yet: __init__ at work
            object.__setattr__(self, name, value)
            return
        raise AttributeError(
            f"cannot assign to field {name!r}: {type(self).__qualname__} is frozen"
        )

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"cannot delete field {name!r}: {type(self).__qualname__} is frozen")

    def replace(self, **changes: Any) -> Self:
        """A copy with ``changes`` (as ``dataclasses.replace``)."""
        unknown = changes.keys() - set(self.__slots__)
        if unknown:
            raise TypeError(f"{type(self).__qualname__} has no field {sorted(unknown)[0]!r}")
        copy = object.__new__(type(self))
        for name in self.__slots__:
            object.__setattr__(copy, name, changes.get(name, getattr(self, name)))
        return copy
