"""Shapes of numbers and identifiers (SPEC 1, 1.2, 4.1, 4.2).

The patterns are plain strings so that the JSON Schema, the rules and the servers share them.
"""

from __future__ import annotations

import _thread
import re
import sys
from functools import lru_cache

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from types import ModuleType

# E.164 as the config writes it: '+', a country code that does not start with 0, 7 to 15
# digits in all. Whether the number exists in its country's numbering plan is KC108's business
# (phonenumbers), not this shape's.
PHONE_PATTERN = r"^\+[1-9][0-9]{6,14}$"
# the same number on the wire: CleverTap may send it with or without '+', kctl sends digits
WIRE_NUMBER_PATTERN = r"^\+?[1-9][0-9]{6,14}$"
# DLT template and entity ids (India): numeric, 12 to 19 digits
DLT_ID_PATTERN = r"^[0-9]{12,19}$"
# WhatsApp and SMS template names: lower-case letters, digits and underscores (Meta's rule)
TEMPLATE_NAME_PATTERN = r"^[a-z0-9_]+$"
# CleverTap's Payload Version as its provider page shows it: "0.1"
PAYLOAD_VERSION_PATTERN = r"^[0-9]+\.[0-9]+$"
DEFAULT_PAYLOAD_VERSION = "0.1"
# an SMS sender ID: alphanumeric header (up to 15 characters) or a long/short code
SENDER_PATTERN = r"^(?:[A-Za-z0-9]{1,15}|\+?[0-9]{4,15})$"

_PHONE = re.compile(PHONE_PATTERN)
_WIRE_NUMBER = re.compile(WIRE_NUMBER_PATTERN)
_DLT_ID = re.compile(DLT_ID_PATTERN)
_TEMPLATE_NAME = re.compile(TEMPLATE_NAME_PATTERN)
_PAYLOAD_VERSION = re.compile(PAYLOAD_VERSION_PATTERN)
_SENDER = re.compile(SENDER_PATTERN)


def is_e164(value: str) -> bool:
    return _PHONE.fullmatch(value) is not None


def is_wire_number(value: str) -> bool:
    """A recipient or business number as a payload may carry it (with or without '+')."""
    return _WIRE_NUMBER.fullmatch(value) is not None


def wire_number(e164: str) -> str:
    """How kctl sends a number: digits only, no '+'."""
    return e164.removeprefix("+")


def is_dlt_id(value: str) -> bool:
    return _DLT_ID.fullmatch(value) is not None


def is_template_name(value: str) -> bool:
    return _TEMPLATE_NAME.fullmatch(value) is not None


def is_payload_version(value: str) -> bool:
    return _PAYLOAD_VERSION.fullmatch(value) is not None


def is_sender(value: str) -> bool:
    return _SENDER.fullmatch(value) is not None


# --- KC108: the numbering plan --------------------------------------------------------------
# The shape (E.164) is checked first with the pattern; phonenumbers (Google's libphonenumber
# metadata, imported only when a number gets this far) then decides whether the number can
# exist, so +999123456789 (no such country code) and +91981234567 (a digit short for India)
# are refused although both look like E.164.


def phone_hint(value: str) -> str:
    compact = re.sub(r"[\s().-]", "", value)
    if compact != value and is_e164(compact):
        return f"write it without spaces or punctuation: {compact}"
    if compact.isdigit():
        return _digits_hint(compact)
    return "E.164: '+', the country code, then the number, 7 to 15 digits in all"


def _digits_hint(digits: str) -> str:
    """Digits without '+': an international number missing its '+', or a national one.

    Only a number that is valid as written gets '+' in front; a national number gets no
    guessed country (9812345678 is Indian, +9812345678 would be an Iranian prefix).
    """
    if digits.startswith("00") and _is_valid(f"+{digits[2:]}"):
        return f"write the international prefix 00 as '+': +{digits[2:]}"
    if _is_valid(f"+{digits}"):
        return f"if {digits} starts with its country code, add a leading '+': +{digits}"
    return (
        "add '+' and the country code in front of the national number (without its leading"
        " 0), e.g. +91 for India, +44 for the UK"
    )


def _is_valid(number: str) -> bool:
    return is_e164(number) and numbering_plan_problem(number) is None


_loading = _thread.RLock()


def _phonenumberutil() -> ModuleType:
    """phonenumbers' parse and validity checks, without the rest of the package.

    ``import phonenumbers`` runs the package's ``__init__``, which also loads the as-you-type
    formatter, the number matcher and their regexes: about a third of its 34 ms import, none
    of it needed here. So the package goes into ``sys.modules`` with its ``__init__`` not yet
    run, and only ``phonenumbers.phonenumberutil`` is imported under it. The first time anyone
    asks the package for a name it does not hold yet (``import phonenumbers`` then
    ``phonenumbers.parse``, or ``from phonenumbers import ...``), its ``__init__`` runs, in the
    same module, and the package is whole, the submodule loaded here part of it.
    """
    with _loading:
        if "phonenumbers" not in sys.modules:
            _defer_package_init()
        import phonenumbers.phonenumberutil

        return phonenumbers.phonenumberutil


def _defer_package_init() -> None:
    from importlib.machinery import PathFinder  # already loaded: the import system's own

    spec = PathFinder.find_spec("phonenumbers")
    if spec is None or spec.loader is None or spec.submodule_search_locations is None:
        return  # not an ordinary package here: the import system loads it as usual
    package = type(sys)("phonenumbers")
    package.__spec__, package.__loader__ = spec, spec.loader
    package.__path__ = list(spec.submodule_search_locations)
    package.__file__ = spec.origin
    package.__dict__["__cached__"] = spec.cached
    package.__package__ = "phonenumbers"
    init = spec.loader

    state = {"running": False}

    def complete(name: str) -> object:
        # PEP 562: called for a name the package does not hold. The hook stays in place until
        # __init__ has run to its end: another thread waits on the lock rather than seeing a
        # package without the hook and half its names; __init__ itself (same thread, running)
        # gets a plain AttributeError; a failed __init__ leaves the hook to try again.
        with _loading:
            hooks = package.__dict__
            if hooks.get("__getattr__") is complete:
                if state["running"]:
                    raise AttributeError(f"partly initialised module 'phonenumbers': no {name!r}")
                state["running"] = True
                try:
                    init.exec_module(package)
                finally:
                    state["running"] = False
                hooks.pop("__getattr__", None)
                hooks.pop("__dir__", None)
        try:
            return package.__dict__[name]
        except KeyError:
            raise AttributeError(f"module 'phonenumbers' has no attribute {name!r}") from None

    def listing() -> list[str]:
        complete("__name__")
        return sorted(package.__dict__)

    package.__dict__["__getattr__"] = complete  # PEP 562: the module's hook for missing names
    package.__dict__["__dir__"] = listing
    sys.modules["phonenumbers"] = package


@lru_cache(maxsize=4096)
def numbering_plan_problem(number: str) -> tuple[str, str] | None:
    """(what is wrong, hint) for an E.164-shaped ``number`` that cannot exist, else None."""
    phonenumbers = _phonenumberutil()

    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        parsed = None
    country = parsed.country_code if parsed is not None else None
    if country is None or phonenumbers.region_code_for_country_code(country) in (None, "ZZ"):
        return (
            "does not start with an assigned country code",
            "after '+' comes the country code: +91 India, +1 US/Canada, +44 UK, ...",
        )
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        return None
    region = phonenumbers.region_code_for_country_code(country)
    return (
        f"is not a valid number in {region} (+{country})",
        "check the digits: the number must exist in its country's numbering plan",
    )


def phone_problem(value: str) -> tuple[str, str] | None:
    """(message, hint) when ``value`` is not a valid phone number, else None."""
    if not is_e164(value):
        return f"'{value}' is not an E.164 phone number", phone_hint(value)
    problem = numbering_plan_problem(value)
    if problem is not None:
        return f"'{value}' {problem[0]}", problem[1]
    return None
