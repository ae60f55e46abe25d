"""How an SMS is encoded and split into parts: GSM-7 or UCS-2 (3GPP TS 23.038 and 23.040).

Operators bill per part, so one character outside GSM-7 (a Tamil letter, an emoji, a curly
quote) more than doubles the parts of a long text. The counts here are what a handset shows.
"""

from __future__ import annotations

from enum import StrEnum

from kctl.lean import Record


class Encoding(StrEnum):
    GSM7 = "GSM-7"
    UCS2 = "UCS-2"


# The GSM 03.38 default alphabet, in table order, without 0x1B (the escape to the extension
# table, which is not a character of its own).
GSM7_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅå"
    "Δ_ΦΓΛΩΠΨΣΘΞÆæßÉ"
    " !\"#¤%&'()*+,-./"
    "0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNO"
    "PQRSTUVWXYZÄÖÑÜ§"
    "¿abcdefghijklmno"
    "pqrstuvwxyzäöñüà"
)
# The extension table: each is sent as the escape plus one septet, so it counts 2.
GSM7_EXTENSION = frozenset("\f^{}\\[~]|€")

# A text that fits one SMS carries this many units; a longer one is split into parts that each
# give up room for the concatenation header (6 bytes: 7 septets, or 3 UCS-2 units).
SINGLE_LIMIT = {Encoding.GSM7: 160, Encoding.UCS2: 70}
PART_LIMIT = {Encoding.GSM7: 153, Encoding.UCS2: 67}


class SmsSize(Record):
    """What a text costs: its encoding, its length in units of that encoding, and its parts."""

    __slots__ = ("encoding", "extended", "forcing", "parts", "units")
    encoding: Encoding
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    parts: int
    # the characters that force UCS-2, each once, in order of appearance
    forcing: tuple[str, ...]
    # GSM-7 characters from the extension table (2 units each), each once
    extended: tuple[str, ...]

    def __init__(
        self,
        encoding: Encoding,
        units: int,
        parts: int,
        forcing: tuple[str, ...] = (),
        extended: tuple[str, ...] = (),
    ) -> None:
        self.encoding = encoding
        self.units = units
        self.parts = parts
        self.forcing = forcing
        self.extended = extended

    @property
    def limit(self) -> int:
        """Units per part at this size: one message's worth, or a concatenated part's."""
        return SINGLE_LIMIT[self.encoding] if self.parts <= 1 else PART_LIMIT[self.encoding]

    @property
    def single_limit(self) -> int:
        return SINGLE_LIMIT[self.encoding]


def is_gsm7(char: str) -> bool:
    return char in GSM7_BASIC or char in GSM7_EXTENSION


def _ucs2_units(char: str) -> int:
    # a character beyond the Basic Multilingual Plane (most emoji) is a surrogate pair
    return 2 if ord(char) > 0xFFFF else 1


def _gsm7_units(char: str) -> int:
    return 2 if char in GSM7_EXTENSION else 1


def _parts(costs: list[int], encoding: Encoding) -> int:
    """Parts for characters of these unit costs. A character is never split between parts (an
    escape and its septet, or the two halves of a surrogate pair, travel together), so a part
    may end a unit short of its limit."""
    total = sum(costs)
    if total == 0:
        return 1  # an empty text still goes out as one (empty) message
    if total <= SINGLE_LIMIT[encoding]:
        return 1
    limit = PART_LIMIT[encoding]
    parts, used = 1, 0
    for cost in costs:
        if used + cost > limit:
            parts, used = parts + 1, 0
        used += cost
    return parts


def sms_size(text: str) -> SmsSize:
    """The encoding, length in units and number of parts of ``text`` as one SMS."""
    forcing = tuple(dict.fromkeys(c for c in text if not is_gsm7(c)))
    if forcing:
        costs = [_ucs2_units(c) for c in text]
        return SmsSize(Encoding.UCS2, sum(costs), _parts(costs, Encoding.UCS2), forcing)
    costs = [_gsm7_units(c) for c in text]
    extended = tuple(dict.fromkeys(c for c in text if c in GSM7_EXTENSION))
    return SmsSize(Encoding.GSM7, sum(costs), _parts(costs, Encoding.GSM7), (), extended)
