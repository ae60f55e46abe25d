"""SMS encoding and parts against a table of known cases, and as send-test and preview show it."""

from __future__ import annotations

import json

import pytest

from kctl.contract.encoding import GSM7_BASIC, GSM7_EXTENSION, Encoding, sms_size
from tests.support import REPO, Kctl

GSM, UCS = Encoding.GSM7, Encoding.UCS2

# (text, encoding, units, parts): what a handset's counter shows for each
KNOWN = [
    ("Hello", GSM, 5, 1),
    ("a" * 160, GSM, 160, 1),
    ("a" * 161, GSM, 161, 2),
    ("a" * 306, GSM, 306, 2),  # 2 x 153
    ("a" * 307, GSM, 307, 3),
    ("Price: 5 €", GSM, 11, 1),  # the euro sign is in the extension table: 2 units
    ("€", GSM, 2, 1),
    ("[", GSM, 2, 1),
    ("[]{}^~|\\€", GSM, 18, 1),
    ("€" * 80, GSM, 160, 1),
    # 81 euro signs are 162 units: 76 fit a part of 153 (an escape is never split), then 5
    ("€" * 81, GSM, 162, 2),
    ("a" * 152 + "€" + "a" * 8, GSM, 162, 2),
    ("é à ñ Ü ß Δ", GSM, 11, 1),  # accented letters of the default alphabet stay GSM-7
    ("नमस्ते", UCS, 6, 1),  # Devanagari: each code point one UTF-16 unit
    ("न" * 70, UCS, 70, 1),
    ("न" * 71, UCS, 71, 2),
    ("न" * 134, UCS, 134, 2),  # 2 x 67
    ("न" * 135, UCS, 135, 3),
    ("வணக்கம்", UCS, 7, 1),  # Tamil
    ("😀", UCS, 2, 1),  # an emoji is a surrogate pair
    ("😀" * 35, UCS, 70, 1),
    ("😀" * 36, UCS, 72, 2),
    ("a" * 69 + "😀", UCS, 71, 2),  # one emoji turns 69 GSM-7 characters into 2 parts
    ("It\u2019s here", UCS, 9, 1),  # a curly apostrophe is not GSM-7
    ("á", UCS, 1, 1),  # á is not in the default alphabet (à is)
]


@pytest.mark.parametrize(
    ("text", "encoding", "units", "parts"), KNOWN, ids=[t[:12] for t, *_ in KNOWN]
)
def test_encoding_and_parts_match_the_known_cases(
    text: str, encoding: Encoding, units: int, parts: int
) -> None:
    size = sms_size(text)
    assert (size.encoding, size.units, size.parts) == (encoding, units, parts)


def test_the_alphabets_are_3gpp_default_and_extension_tables() -> None:
    # 128 code points in the default table, one of them the escape to the extension table
    assert len(GSM7_BASIC) == 127
    assert "\x1b" not in GSM7_BASIC
    assert set("\f^{}\\[~]|€") == GSM7_EXTENSION
    assert GSM7_BASIC.isdisjoint(GSM7_EXTENSION)


def test_what_forces_ucs2_is_named_once_each_in_order() -> None:
    size = sms_size("Hi 😀 नमस्ते 😀 \u2019")
    assert size.forcing[:2] == ("😀", "न")
    assert size.forcing.count("😀") == 1
    assert size.forcing[-1] == "\u2019"
    assert sms_size("100 € [net]").extended == ("€", "[", "]")


def test_send_test_shows_encoding_and_parts(kctl: Kctl) -> None:
    common = ("send-test", "-c", str(REPO / "configs" / "sms-india.yaml"), "--dry-run")
    gsm = kctl(*common, "--to", "+919812345678", "-t", "otp_login", "--param", "482913")
    assert gsm.exit_code == 0, gsm
    assert gsm.stdout.splitlines()[0] == "SMS: GSM-7, 32 of 160 units: 1 part"

    hindi = "आपका ऑर्डर भेज दिया गया है और जल्द ही पहुंचेगा। धन्यवाद! " * 2
    ucs = kctl(*common, "--to", "+14155550123", "--force", "--body", hindi, "--json")
    assert ucs.exit_code == 0, ucs
    doc = json.loads(ucs.stdout)["sms"]
    assert (doc["encoding"], doc["units"], doc["parts"], doc["units_per_part"]) == (
        "UCS-2",
        len(hindi),
        2,
        67,
    )
    assert doc["forcing_ucs2"][0] == "आ"
    assert doc["text"] == hindi
