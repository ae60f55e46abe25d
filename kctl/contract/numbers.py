"""Shapes of numbers and identifiers (SPEC 1, 1.2, 4.1, 4.2).

The patterns are plain strings so that the JSON Schema, the rules and the servers share them.
"""

from __future__ import annotations

import re
from functools import lru_cache

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
# The shape (E.164) is checked first with the pattern; phonenumbers' metadata (Google's
# libphonenumber, loaded only when a number gets this far, and read the way phonenumbers
# reads it by kctl.contract.numbering_plans) then decides whether the number can exist, so
# +999123456789 (no such country code) and +91981234567 (a digit short for India) are
# refused although both look like E.164.


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


@lru_cache(maxsize=4096)
def numbering_plan_problem(number: str) -> tuple[str, str] | None:
    """(what is wrong, hint) for an E.164-shaped ``number`` that cannot exist, else None."""
    from kctl.contract.numbering_plans import numbering_plan_verdict

    verdict = numbering_plan_verdict(number)
    if verdict is None:
        return (
            "does not start with an assigned country code",
            "after '+' comes the country code: +91 India, +1 US/Canada, +44 UK, ...",
        )
    country, region, is_valid = verdict
    if is_valid:
        return None
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
