"""escape_untrusted's shortcut: text that str.isprintable passes holds nothing to escape."""

from __future__ import annotations

import re

from kctl.render.escape import _UNSAFE_ABOVE_C0, escape_untrusted


def test_every_character_to_escape_is_unprintable() -> None:
    # escape_untrusted returns printable text as it is, without its regex: that is right only
    # while no character the regex escapes counts as printable
    unsafe = re.compile(f"[\x00-\x1f{_UNSAFE_ABOVE_C0}]")
    printable_but_unsafe = [
        hex(c) for c in range(0x110000) if chr(c).isprintable() and unsafe.match(chr(c))
    ]
    assert printable_but_unsafe == []


def test_printable_text_is_kept_and_controls_are_shown() -> None:
    assert escape_untrusted("Your order 1234 has shipped. - ACME ✓ नमस्ते") == (
        "Your order 1234 has shipped. - ACME ✓ नमस्ते"
    )
    assert escape_untrusted("a\x1b[2Jb\u202ec\n") == "a\\x1b[2Jb\\u202ec\\n"
    # unprintable, but nothing a terminal acts on: kept as it is
    assert escape_untrusted("soft\u00adhyphen") == "soft\u00adhyphen"
