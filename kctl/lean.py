"""What the start-up path uses in place of ``dataclasses`` and ``typing``.

``import dataclasses`` costs about 12 ms (it imports ``inspect``, and with it ``ast``, ``dis``
and ``tokenize``), and each decorated class about 0.7 ms more while the decorator writes and
compiles its methods. The classes ``validate-config`` and ``send-test`` load before their first
output are written out instead: ``__slots__`` name the fields, ``__init__`` is written by hand
(so type checkers see it) and takes them positionally too, as the dataclasses did (hence its
PLR0917 exemptions), and this base gives them what ``@dataclass(frozen=True)`` gave: equality,
a hash and a repr over the fields, fields that cannot be set again once ``__init__`` has set
them, and ``replace``. A subclass adds its own fields in its own ``__slots__``: a value's
fields are the ``__slots__`` of each class along its MRO, base first (``_fields``, worked out
once per class). ruff keeps ``__slots__`` sorted, so a repr lists each class's fields in that
order; code that needs another order (a file format's) declares it where it is used.

``import typing`` costs about 4 ms. The modules on that path name types only in annotations
(strings, under ``from __future__ import annotations``) and import them under
``TYPE_CHECKING``, which they set to False themselves; ``assert_never`` is the one name they
call, so it is here.

Compiling a regex costs 0.1 to 1 ms (a character class with Unicode ranges is at the top of
that); ``lazy_pattern`` puts that off to the first match, so a run that never uses a pattern
(a clean file needs no escaping and no redaction) never compiles it.

A package's ``__init__`` may import far more than the one submodule a command needs
(phonenumbers' imports all of phonenumbers, about 34 ms; httptools' imports ``typing`` for a
Protocol class): ``defer_package_init`` lets the submodule be imported with the ``__init__`` put
off until somebody asks the package for a name, and ``import_without`` imports a module that
takes a name from a module the start-up path does without (httptools' C parser takes
``typing.Optional``, for annotations it keeps as strings) without importing that one.
"""

from __future__ import annotations

import _thread
import sys

TYPE_CHECKING = False  # not typing's: the start-up path need not import typing for this
if TYPE_CHECKING:
    import re
    from types import ModuleType
    from typing import Any, ClassVar, NoReturn, Self

__all__ = ["Record", "assert_never", "defer_package_init", "import_without", "lazy_pattern"]


class Record:
    """A value: ``__slots__`` lists the fields its class adds; ``__init__`` sets each once, then
    it is frozen."""

    __slots__: tuple[str, ...] = ()
    # every field, base classes' first: a class's __slots__ holds only the fields it adds
    _fields: ClassVar[tuple[str, ...]] = ()

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        fields: dict[str, None] = {}
        for klass in reversed(cls.__mro__):
            slots = klass.__dict__.get("__slots__", ())
            for name in (slots,) if isinstance(slots, str) else slots:
                if name not in {"__dict__", "__weakref__"}:
                    fields[name] = None
        cls._fields = tuple(fields)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields)

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        assert isinstance(other, Record)
        return self._values() == other._values()

    def __hash__(self) -> int:
        return hash(self._values())

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields)
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
        """A copy with ``changes``, made by ``__init__`` (whose parameters are the fields) as
        ``dataclasses.replace`` made it, so its checks and defaults apply to the copy too."""
        unknown = changes.keys() - set(self._fields)
        if unknown:
            raise TypeError(f"{type(self).__qualname__} has no field {sorted(unknown)[0]!r}")
        return type(self)(**{name: changes.get(name, getattr(self, name)) for name in self._fields})


def assert_never(value: NoReturn) -> NoReturn:
    """``typing.assert_never``: a type checker proves the call unreachable (every member of a
    closed set was matched); at run time it fails loudly if that proof was wrong."""
    raise AssertionError(f"unhandled value: {value!r}")


class _LazyPattern:
    """Stands in for a compiled pattern and compiles it on first use. Only a pattern's methods
    and attributes are there: it is no ``re.Pattern`` to ``isinstance``, nor to ``re.sub``."""

    def __init__(self, pattern: str, flags: int) -> None:
        self._args = (pattern, flags)

    def __getattr__(self, name: str) -> Any:
        # called only for what the instance does not hold yet: compile once, then keep each
        # method asked for on the instance, so later calls cost a plain attribute lookup
        if name.startswith("__") or name == "_args":  # copy and pickle probing, half-made
            raise AttributeError(name)
        import re

        value = getattr(re.compile(*self._args), name)
        setattr(self, name, value)
        return value

    def __reduce__(self) -> tuple[Any, ...]:
        return lazy_pattern, self._args


def lazy_pattern(pattern: str, flags: int = 0) -> re.Pattern[str]:
    """``re.compile(pattern, flags)``, compiled when first used."""
    return _LazyPattern(pattern, flags)  # type: ignore[return-value]  # duck-typed Pattern


# --- modules with their code put off ----------------------------------------------------------

# Held while a deferred __init__ runs and while a module is imported without another: one lock
# for all of them, since one such import may set off another (a deferred __init__ importing
# a module imported without typing, say), and a thread's own RLock lets it through again.
_deferring = _thread.RLock()


def defer_package_init(name: str) -> None:
    """Put package ``name`` into ``sys.modules`` with its ``__init__`` not run yet, so that its
    submodules can be imported without it; nothing when ``name`` is imported already, or is no
    ordinary package here (the import system then imports it as usual).

    A dotted name is a subpackage: its spec is found under its parent's ``__path__``, the parent
    deferred first if it is not imported yet, and the subpackage set on the parent as an import
    sets it. The first time anyone asks the package for a name it does not hold (``import
    phonenumbers`` then ``phonenumbers.parse``, ``from httptools import HttpRequestParser``,
    ``dir()``), its ``__init__`` runs, in the same module object: the package is then whole, the
    submodules imported before part of it, as they would be after an ordinary import.
    """
    with _deferring:
        if name in sys.modules:
            return
        from importlib.machinery import PathFinder  # the import system's own finder

        parent_name, _, child = name.rpartition(".")
        path = None
        if parent_name:
            defer_package_init(parent_name)
            # absent: no ordinary package (left to the import system); no __path__: a module
            path = getattr(sys.modules.get(parent_name), "__path__", None)
            if path is None:
                return
        spec = PathFinder.find_spec(name, path)
        if spec is None or spec.loader is None or spec.submodule_search_locations is None:
            return
        package = type(sys)(name)
        package.__spec__, package.__loader__ = spec, spec.loader
        package.__path__ = list(spec.submodule_search_locations)
        package.__file__ = spec.origin
        package.__dict__["__cached__"] = spec.cached
        package.__package__ = name
        _hook_init(package, spec.loader)
        sys.modules[name] = package
        if parent_name:
            setattr(sys.modules[parent_name], child, package)


def _hook_init(package: ModuleType, loader: Any) -> None:
    """PEP 562 hooks that run ``package``'s ``__init__`` when it is first asked for a name."""
    running = [False]

    def complete(attr: str) -> object:
        # called for a name the package does not hold. The hook stays in place until __init__
        # has run to its end: another thread waits on the lock rather than seeing a package
        # without the hook and half its names; __init__ itself (same thread, running) gets a
        # plain AttributeError; a failed __init__ leaves the hook to try again on the next name.
        with _deferring:
            names = package.__dict__
            if names.get("__getattr__") is complete:
                if running[0]:
                    raise AttributeError(
                        f"partly initialised module {package.__name__!r}: no {attr!r}"
                    )
                running[0] = True
                try:
                    loader.exec_module(package)
                finally:
                    running[0] = False
                names.pop("__getattr__", None)
                names.pop("__dir__", None)
        try:
            return package.__dict__[attr]
        except KeyError:
            raise AttributeError(f"module {package.__name__!r} has no attribute {attr!r}") from None

    def listing() -> list[str]:
        complete("__name__")
        return sorted(package.__dict__)

    package.__dict__["__getattr__"] = complete
    package.__dict__["__dir__"] = listing


def import_without(name: str, absent: str, *taken: str) -> ModuleType:
    """Import module ``name``, which takes the names ``taken`` from module ``absent`` (``from
    absent import ...``) but does not use them while it is imported, without importing
    ``absent``; just import it where ``absent`` is imported already.

    While ``name`` is imported, a stand-in holds ``absent``'s place in ``sys.modules``: it gives
    this import placeholders for ``taken`` and makes any other use of it import the real module
    (so a later version of ``name`` that takes more is slower, not broken). It is gone when the
    import is done, and ``name``'s placeholders with it: ``name`` looks those up in the real
    ``absent`` the first time it is asked for them (a PEP 562 hook), so ``absent`` is imported
    by whoever uses them, and only then. A thread that meets the stand-in meanwhile waits for
    the import to end, then gets the real module's names through it.
    """
    with _deferring:
        if name in sys.modules or absent in sys.modules:
            return _imported(name)
        placeholder = object()
        importing = [True]  # while name is imported, under the lock

        def stand_in_names(attr: str) -> object:
            with _deferring:  # another thread waits for the import to end
                if importing[0] and attr in taken:
                    return placeholder
                if importing[0] and attr.startswith("__"):  # the import machinery's probing
                    raise AttributeError(attr)
                return getattr(_real(absent, stand_in), attr)

        stand_in = type(sys)(absent)
        stand_in.__dict__["__getattr__"] = stand_in_names
        sys.modules[absent] = stand_in
        try:
            module = _imported(name)
        finally:
            importing[0] = False
            if sys.modules.get(absent) is stand_in:
                del sys.modules[absent]
        _look_up_later(module, absent, [t for t in taken if module.__dict__.get(t) is placeholder])
        return module


def _imported(name: str) -> ModuleType:
    __import__(name)
    return sys.modules[name]


def _real(name: str, stand_in: ModuleType) -> ModuleType:
    if sys.modules.get(name) is stand_in:  # asked for more while the stand-in is in place
        del sys.modules[name]
    return _imported(name)


def _look_up_later(module: ModuleType, source: str, names: list[str]) -> None:
    """Take ``names`` out of ``module``; the first time it is asked for one, import ``source``
    and keep the name's value from there in ``module``, as an import would have."""
    if not names:
        return
    for attr in names:
        del module.__dict__[attr]
    previous = module.__dict__.get("__getattr__")

    def look_up(attr: str) -> object:
        if attr in names:
            value = getattr(_imported(source), attr)
            module.__dict__[attr] = value
            return value
        if previous is not None:
            return previous(attr)
        raise AttributeError(f"module {module.__name__!r} has no attribute {attr!r}")

    module.__dict__["__getattr__"] = look_up
