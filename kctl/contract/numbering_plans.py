"""Whether an E.164 number can exist in its country's numbering plan (KC108), read from
phonenumbers' own metadata without ``phonenumbers.phonenumberutil``.

phonenumbers answers the question with ``parse(number, None)`` then ``is_valid_number``, both in
``phonenumberutil``: about 16.5 ms to import (its module-level regexes, ``phonenumbers.data``,
``phonemetadata``, ``unicode_util``) and 4 ms more on the first check. kctl only ever asks it
about one shape of input, ``'+'`` and 7 to 15 digits, the first not 0 (``PHONE_PATTERN``). For
that shape ``parse`` and ``is_valid_number`` come down to a few steps, reproduced here over the
same metadata (``phonemetadata``, ``phonenumbers.data`` and the ``region_XX`` modules the
number needs), each naming the phonenumberutil function it stands for: the same answers
(tests/test_numbering_plans.py holds the two side by side), and a first check of an Indian
mobile number, imports included, in 11 ms instead of 20.5.
"""

from __future__ import annotations

import re

from kctl.lean import defer_package_init

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from phonenumbers.phonemetadata import PhoneMetadata, PhoneNumberDesc

__all__ = ["numbering_plan_verdict"]

# phonenumberutil's _MIN_LENGTH_FOR_NSN, _MAX_LENGTH_FOR_NSN and _MAX_LENGTH_COUNTRY_CODE
_MIN_NSN = 2
_MAX_NSN = 17
_MAX_COUNTRY_CODE = 3
_NON_GEOGRAPHIC = "001"  # phonemetadata's REGION_CODE_FOR_NON_GEO_ENTITY: +800, +882, ...


def numbering_plan_verdict(number: str) -> tuple[int, str, bool] | None:
    """(country code, its main region, valid?) for ``number``, written as ``PHONE_PATTERN``
    says; None where ``parse(number, None)`` raises: no assigned country code, or a national
    number too short or too long once its national prefix is stripped.

    The region is ``region_code_for_country_code``'s (the code's first region), the validity
    ``is_valid_number``'s.
    """
    plans, country_regions = _phonenumbers_metadata()
    parsed = _parse(number.removeprefix("+"), plans, country_regions)
    if parsed is None:
        return None
    code, national = parsed
    regions = country_regions[code]
    return code, regions[0], _is_valid_number(code, national, regions, plans)


def _parse(
    digits: str, plans: type[PhoneMetadata], country_regions: dict[int, tuple[str, ...]]
) -> tuple[int, str] | None:
    """(country code, national significant number), as ``parse`` gives them for ``+digits``."""
    # _extract_country_code: the first of 1, 2, 3 leading digits that is a known code
    for size in range(1, min(len(digits), _MAX_COUNTRY_CODE) + 1):
        code = int(digits[:size])
        if code in country_regions:
            break
    else:
        return None  # INVALID_COUNTRY_CODE, also when parse retries without the '+'
    national = digits[size:]
    if len(national) < _MIN_NSN:
        return None  # TOO_SHORT_NSN
    metadata = _metadata_for(plans, code, country_regions[code][0])
    if metadata is not None:
        # parse strips a national prefix written after the country code (+44 0 7911...), by
        # the rules of the code's main region (+1: the US's, never a Caribbean island's), and
        # keeps the shorter number only where it has a possible length, or is too long: a
        # number it made too short, or only locally diallable, may be a valid short number
        stripped = _strip_national_prefix(national, metadata)
        if _test_number_length(stripped, metadata) in {_IS_POSSIBLE, _TOO_LONG}:
            national = stripped
    if not _MIN_NSN <= len(national) <= _MAX_NSN:
        return None  # TOO_SHORT_NSN, TOO_LONG
    # parse keeps the national number as an int, with its leading zeros counted apart
    # (_set_italian_leading_zeros_for_phone_number; all of them but the last digit), and
    # national_significant_number writes them back: the same digits
    return code, national


def _strip_national_prefix(number: str, metadata: PhoneMetadata) -> str:
    """``_maybe_strip_national_prefix_carrier_code``'s number (its carrier code unused)."""
    prefix = metadata.national_prefix_for_parsing
    if not number or not prefix:
        return number
    pattern = _compiled(prefix)
    found = pattern.match(number)  # a prefix: match, not fullmatch
    if found is None:
        return number
    rule = metadata.national_prefix_transform_rule
    # the rule applies when the pattern's last group took part in the match (AR's 9 for a
    # mobile, the Caribbean's area code put back in front of a 7-digit local number)
    if not rule or found.groups()[-1] is None:
        stripped = number[found.end() :]
    else:
        stripped = pattern.sub(rule, number, count=1)
    # a number that matched the plan's pattern keeps its prefix if it would not match without
    general = metadata.general_desc
    if _matches_pattern(number, general) and not _matches_pattern(stripped, general):
        return number
    return stripped


# _test_number_length's ValidationResult, those parse tells apart
_IS_POSSIBLE, _IS_POSSIBLE_LOCAL_ONLY, _TOO_SHORT, _INVALID_LENGTH, _TOO_LONG = range(5)


def _test_number_length(number: str, metadata: PhoneMetadata) -> int:
    """``_test_number_length`` for PhoneNumberType.UNKNOWN: against ``general_desc``."""
    general = metadata.general_desc
    if general is None:
        return _INVALID_LENGTH
    lengths = general.possible_length
    length = len(number)
    if length in general.possible_length_local_only:
        return _IS_POSSIBLE_LOCAL_ONLY
    if lengths[0] == length:
        return _IS_POSSIBLE
    if lengths[0] > length:
        return _TOO_SHORT
    if lengths[-1] < length:
        return _TOO_LONG
    return _IS_POSSIBLE if length in lengths[1:] else _INVALID_LENGTH


def _is_valid_number(
    code: int, national: str, regions: tuple[str, ...], plans: type[PhoneMetadata]
) -> bool:
    """``is_valid_number``: the number's region (``region_code_for_number``), then
    ``is_valid_number_for_region``."""
    region = regions[0] if len(regions) == 1 else _region_among(national, regions, plans)
    if region is None:
        return False
    metadata = _metadata_for(plans, code, region)
    if metadata is None or (region != _NON_GEOGRAPHIC and metadata.country_code != code):
        return False
    return _has_a_number_type(national, metadata)


def _region_among(
    national: str, regions: tuple[str, ...], plans: type[PhoneMetadata]
) -> str | None:
    """``_region_code_for_number_from_list``: the first region (the main one first) whose
    leading digits start the number, or, for a region without any, whose plan has it."""
    for region in regions:
        metadata = plans.metadata_for_region(region, None)
        if metadata is None:
            continue
        if metadata.leading_digits is not None:
            if _compiled(metadata.leading_digits).match(national):
                return region
        elif _has_a_number_type(national, metadata):
            return region
    return None


def _has_a_number_type(national: str, metadata: PhoneMetadata) -> bool:
    """``_number_type_helper`` gives a type other than UNKNOWN.

    That is: the general description, then any of the types. phonenumbers tries them in an
    order that decides which type to name; any one will do here, so mobile (the numbers kctl
    sees most: WhatsApp's) goes first and a mobile number never pays for compiling the
    fixed-line pattern, often the plan's longest (India's: 2.4 ms).
    """
    if not _matches_desc(national, metadata.general_desc):
        return False
    # phonenumbers tries mobile only when its pattern differs from fixed_line's (the flag
    # compares the patterns, not the possible lengths)
    if not metadata.same_mobile_and_fixed_line_pattern and _matches_desc(national, metadata.mobile):
        return True
    others = (
        metadata.premium_rate,
        metadata.toll_free,
        metadata.shared_cost,
        metadata.voip,
        metadata.personal_number,
        metadata.pager,
        metadata.uan,
        metadata.voicemail,
        metadata.fixed_line,
    )
    return any(_matches_desc(national, desc) for desc in others)


def _matches_desc(national: str, desc: PhoneNumberDesc | None) -> bool:
    """``_is_number_matching_desc``: a missing type has no numbers; an empty list of lengths
    is the general description's, already checked; a type without numbers has the length -1."""
    if desc is None:
        return False
    lengths = desc.possible_length
    if lengths and len(national) not in lengths:
        return False
    return _matches_pattern(national, desc)


def _matches_pattern(national: str, desc: PhoneNumberDesc | None) -> bool:
    """``_match_national_number`` without prefix matches: the whole number matches."""
    if desc is None or not desc.national_number_pattern:
        return False
    return _compiled(desc.national_number_pattern).fullmatch(national) is not None


# The metadata's patterns, compiled once each: re's own cache (512 entries, shared with
# everyone) may let them go, and one plan's patterns cost up to a millisecond to compile.
_patterns: dict[str, re.Pattern[str]] = {}


def _compiled(pattern: str) -> re.Pattern[str]:
    compiled = _patterns.get(pattern)
    if compiled is None:
        compiled = _patterns[pattern] = re.compile(pattern)
    return compiled


def _metadata_for(plans: type[PhoneMetadata], code: int, region: str) -> PhoneMetadata | None:
    """``metadata_for_region_or_calling_code``: a region's plan, or a non-geographic code's.
    The first call for each loads its ``phonenumbers.data.region_XX`` module."""
    if region == _NON_GEOGRAPHIC:
        return plans.metadata_for_nongeo_region(code, None)
    return plans.metadata_for_region(region, None)


# --- phonenumbers' metadata, without the rest of the package --------------------------------


def _phonenumbers_metadata() -> tuple[type[PhoneMetadata], dict[int, tuple[str, ...]]]:
    """PhoneMetadata (with each region's loader registered) and the country code map.

    ``import phonenumbers`` runs the package's ``__init__``, which imports all of it
    (phonenumberutil, the as-you-type formatter, the number matcher and their regexes): about
    34 ms, none of it needed here. So the package goes into ``sys.modules`` with its
    ``__init__`` put off (``kctl.lean.defer_package_init``), and only
    ``phonenumbers.phonemetadata`` and ``phonenumbers.data`` are imported under it. The first
    time anyone asks the package for a name it does not hold yet (``import phonenumbers`` then
    ``phonenumbers.parse``, or ``from phonenumbers import ...``), its ``__init__`` runs, in the
    same module, and the package is whole, the submodules loaded here part of it (so the
    metadata loaded here is phonenumbers' own).
    """
    defer_package_init("phonenumbers")
    import phonenumbers.data
    import phonenumbers.phonemetadata

    return (
        phonenumbers.phonemetadata.PhoneMetadata,
        phonenumbers.data._COUNTRY_CODE_TO_REGION_CODE,  # phonenumberutil's own source
    )
