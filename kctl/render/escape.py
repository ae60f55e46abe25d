"""Make text that came from the network safe to print on a terminal.

A request target, a header value or a body that a stranger sent must never move the cursor,
retitle the window (OSC), clear the screen, or forge a line of kctl's own output. So every
character that a terminal may act on, rather than show, is replaced by a visible escape in
Python's notation (``\\x1b``, ``\\n``, ``\\u202e``):

* C0 controls (NUL, BEL, BS, TAB, LF, CR, ESC, ...), DEL and the C1 controls (CSI ``\\x9b``,
  OSC ``\\x9d`` and the rest), which some terminals obey as 8-bit escape sequences;
* U+2028/U+2029, which some terminals and viewers break lines on;
* the bidirectional controls, which can make a line read differently from what it says;
* lone surrogates, which cannot be encoded for output at all.

Everything else is kept, non-ASCII text and emoji (with their joiners) included: people read
this output. A backslash is not doubled, so ``\\x1b`` in the output may also be those four
characters as sent; the output is for reading, and JSON output keeps the exact data.
"""

from __future__ import annotations

import re

from kctl.lean import lazy_pattern

# compiled on first use (kctl.lean): a clean run prints nothing that needs escaping
# beyond C0: DEL, C1, the bidirectional controls, U+2028/9 and lone surrogates
_UNSAFE_ABOVE_C0 = "\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff"
_UNSAFE = lazy_pattern(f"[\x00-\x1f{_UNSAFE_ABOVE_C0}]")
_UNSAFE_IN_JSON = lazy_pattern(f"[{_UNSAFE_ABOVE_C0}]")
# the same, but a tab stays: a quoted source line keeps its tabs so a caret lines up under it
UNSAFE_EXCEPT_TAB = lazy_pattern(f"[\x00-\x08\x0a-\x1f{_UNSAFE_ABOVE_C0}]")


def _shown(match: re.Match[str]) -> str:
    return ascii(match.group())[1:-1]


def _json_escape(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


def escape_untrusted(text: str) -> str:
    """``text`` with every character a terminal could act on shown as a visible escape.

    Use it on each piece of network text, or on a whole line that kctl built around such
    pieces; a line break that the output format itself needs goes outside the call.
    """
    if text.isprintable():  # the usual case, told without the regex: every unsafe character
        return text  # is unprintable to str.isprintable (tests/test_escape.py checks)
    if _UNSAFE.search(text) is None:
        return text
    return _UNSAFE.sub(_shown, text)


def escape_untrusted_json(document: str) -> str:
    """A JSON document (from ``json.dumps(..., ensure_ascii=False)``) made terminal-safe.

    The same characters as ``escape_untrusted``, written as JSON ``\\uXXXX`` escapes, so the
    document still parses to exactly the same data. ``json.dumps`` already escapes C0 controls
    inside strings, so a C0 control left in the document is its own layout (``indent``'s line
    breaks) and stays; C1 controls, DEL and the rest, which it leaves raw, are escaped. Outside
    strings a JSON document holds none of those, so escaping the whole text is safe.
    """
    if _UNSAFE_IN_JSON.search(document) is None:
        return document
    return _UNSAFE_IN_JSON.sub(_json_escape, document)
