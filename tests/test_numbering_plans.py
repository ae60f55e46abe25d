"""KC108's numbering-plan check gives phonenumbers' own answers.

``numbering_plan_problem`` reads phonenumbers' metadata without its ``phonenumberutil``
(kctl.contract.numbering_plans); ``reference_problem`` below is the check as kctl first wrote
it, with phonenumbers' ``parse`` and ``is_valid_number``. The two must agree on every number
kctl asks about: every example number phonenumbers carries, those numbers a digit short, a
digit long, with another last digit or with the national prefix written after the country code,
thousands of random E.164 strings, and the numbers that made the check hard to get right.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Iterator

import phonenumbers
from phonenumbers import PhoneMetadata

from kctl.contract.numbers import is_e164, numbering_plan_problem, phone_problem

NO_COUNTRY = (
    "does not start with an assigned country code",
    "after '+' comes the country code: +91 India, +1 US/Canada, +44 UK, ...",
)
NOT_IN_PLAN_HINT = "check the digits: the number must exist in its country's numbering plan"


Answer = tuple[str, str] | None  # (problem, hint), or None for a number that can exist


def reference_problem(number: str) -> Answer:
    """KC108 as phonenumbers' own API answers it (kctl's implementation before the lean one)."""
    try:
        parsed = phonenumbers.parse(number, None)
    except phonenumbers.NumberParseException:
        parsed = None
    country = parsed.country_code if parsed is not None else None
    if country is None or phonenumbers.region_code_for_country_code(country) in (None, "ZZ"):
        return NO_COUNTRY
    if parsed is not None and phonenumbers.is_valid_number(parsed):
        return None
    region = phonenumbers.region_code_for_country_code(country)
    return f"is not a valid number in {region} (+{country})", NOT_IN_PLAN_HINT


# every PhoneNumberDesc of a plan that may carry an example number
DESCS = (
    "general_desc",
    "fixed_line",
    "mobile",
    "toll_free",
    "premium_rate",
    "shared_cost",
    "personal_number",
    "voip",
    "pager",
    "uan",
    "voicemail",
    "no_international_dialling",
)


def _plans() -> list[PhoneMetadata]:
    regions = (PhoneMetadata.metadata_for_region(r) for r in sorted(phonenumbers.SUPPORTED_REGIONS))
    codes = sorted(phonenumbers.COUNTRY_CODES_FOR_NON_GEO_REGIONS)
    entities = (PhoneMetadata.metadata_for_nongeo_region(code) for code in codes)
    return [plan for plan in (*regions, *entities) if plan is not None]


def _examples(plan: PhoneMetadata) -> Iterator[str]:
    for name in DESCS:
        desc = getattr(plan, name)
        if desc is not None and desc.example_number:
            yield f"+{plan.country_code}{desc.example_number}"


def _variants(number: str, code: int, national_prefix: str | None) -> Iterator[str]:
    """``number`` a digit short, a digit long, with each last digit, with its national prefix."""
    digits = number[1:]
    for at in range(1, len(digits)):
        yield "+" + digits[:at] + digits[at + 1 :]
    for at in range(1, len(digits) + 1):
        yield "+" + digits[:at] + str(at % 10) + digits[at:]
    for last in "0123456789":
        yield "+" + digits[:-1] + last
    if national_prefix:
        split = len(str(code))
        yield "+" + digits[:split] + national_prefix + digits[split:]


def _e164(numbers: Iterable[str]) -> list[str]:
    # numbering_plan_problem is only ever asked about numbers of this shape
    return sorted({number for number in numbers if is_e164(number)})


def _disagreements(numbers: Iterable[str]) -> list[tuple[str, Answer, Answer]]:
    """(number, kctl's answer, phonenumbers') wherever the two differ."""
    found = []
    for number in numbers:
        lean, reference = numbering_plan_problem(number), reference_problem(number)
        if lean != reference:
            found.append((number, lean, reference))
    return found


EXAMPLES = _e164(number for plan in _plans() for number in _examples(plan))


def test_every_example_number_of_every_plan() -> None:
    assert len(EXAMPLES) > 1000  # 245 regions and 9 non-geographic entities, several types each
    assert _disagreements(EXAMPLES) == []
    # and each is valid, as phonenumbers holds them
    assert [number for number in EXAMPLES if numbering_plan_problem(number) is not None] == []


def test_example_numbers_changed_a_little() -> None:
    numbers = _e164(
        variant
        for plan in _plans()
        for number in _examples(plan)
        for variant in _variants(number, plan.country_code or 0, plan.national_prefix)
    )
    assert len(numbers) > 25_000
    assert _disagreements(numbers) == []
    answers = {numbering_plan_problem(number) is None for number in numbers}
    assert answers == {True, False}


def test_random_e164_strings() -> None:
    rng = random.Random(20_240_611)
    numbers = []
    for _ in range(10_000):  # anything of the shape: mostly no such number
        size = rng.randint(7, 15)
        numbers.append("+" + str(rng.randint(1, 9)) + _random_digits(rng, size - 1))
    codes = sorted(phonenumbers.COUNTRY_CODE_TO_REGION_CODE)
    for _ in range(10_000):  # an assigned country code, then anything
        code = str(rng.choice(codes))
        size = rng.randint(max(7, len(code) + 1), 15)
        numbers.append("+" + code + _random_digits(rng, size - len(code)))
    for _ in range(10_000):  # an example number with its last digits drawn anew: often valid
        example = rng.choice(EXAMPLES)
        keep = rng.randint(3, len(example) - 1)
        numbers.append(example[:keep] + _random_digits(rng, len(example) - keep))
    numbers = _e164(numbers)
    assert len(numbers) > 25_000
    assert _disagreements(numbers) == []


def _random_digits(rng: random.Random, size: int) -> str:
    return "".join(rng.choice("0123456789") for _ in range(size))


HAND_PICKED = [
    "+999123456789",  # no such country code
    "+91981234567",  # India, a digit short
    "+919812345678",
    "+14155550123",
    "+4407911123456",  # the national prefix written after the country code
    "+447911123456",  # a Guernsey mobile: GB's own patterns do not hold 79111
    "+390612345678",  # Italy: the leading zero is part of the national number
    "+39612345678",
    "+390669812345",  # Vatican City, inside Italy's numbers (leading digits 06698)
    "+79123456789",  # +7: Russia (leading digits 3, 4, 8, 9) ...
    "+74951234567",
    "+77012345678",  # ... and Kazakhstan (7)
    "+77172123456",
    "+76123456789",  # ... and neither
    "+78123456789",
    "+16135550123",  # +1: Canada, the US, the Caribbean
    "+15062345678",
    "+12025550123",
    "+12684601234",
    "+18765551234",
    "+18095551234",
    "+17875551234",
    "+14412951234",
    "+1268460123",  # a digit short
    "+12684601234567",
    "+442079460958",  # +44: the UK, Guernsey, the Isle of Man, Jersey
    "+441481256789",
    "+447781123456",
    "+441624756789",
    "+447924123456",
    "+441534456789",
    "+447797712345",
    "+4401481256789",
    "+80012345678",  # non-geographic: international freephone, ...
    "+8001234567",
    "+800123456789",
    "+8823421234",  # ... and international networks
    "+882390123456789",
    "+88234212345",
    "+262262161234",  # +262: Réunion and Mayotte
    "+262692123456",
    "+262269601234",
    "+262639012345",
    "+2626912345",
    "+590590201234",  # +590: Guadeloupe, Saint Barthélemy, Saint Martin
    "+590590271234",
    "+590690001234",
    "+5901234567",
    "+5491123456789",  # Argentina: a mobile's 9, its 0 and 15 (national prefix transform)
    "+54011151234567",
    "+5401112345678",
    "+54911234567890",
    "+551101234567890",  # Brazil: carrier codes in the national prefix
    "+5509011123456789",
    "+550151123456789",
    "+810312345678",  # Japan
    "+3780549123456",  # San Marino
    "+672312345",  # Norfolk Island: a 5-digit local number gets its 3
    "+67212345",
    "+6125912345",  # Cocos and Christmas Islands, inside Australia's numbers
    "+6108912345",
    "+2610201234567",  # Madagascar
    "+2410111234567",  # Gabon
    "+12684601234",
]


def test_hand_picked_numbers() -> None:
    assert _disagreements(_e164(HAND_PICKED)) == []


def test_what_a_config_author_is_told() -> None:
    assert phone_problem("+919812345678") is None
    assert phone_problem("+4407911123456") is None  # phonenumbers drops the written 0
    assert phone_problem("+390612345678") is None
    assert phone_problem("+999123456789") == ("'+999123456789' " + NO_COUNTRY[0], NO_COUNTRY[1])
    assert phone_problem("+91981234567") == (
        "'+91981234567' is not a valid number in IN (+91)",
        NOT_IN_PLAN_HINT,
    )
    # a shared code names its main region, whichever region the number was tried for
    assert phone_problem("+76123456789") == (
        "'+76123456789' is not a valid number in RU (+7)",
        NOT_IN_PLAN_HINT,
    )
    assert phone_problem("+8001234567") == (
        "'+8001234567' is not a valid number in 001 (+800)",
        NOT_IN_PLAN_HINT,
    )
