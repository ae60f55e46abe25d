"""The source lines a report quotes under its findings, masked and redacted, and only those.

validate-config used to keep every file's whole text and run the secret redaction over all of
it, although only the lines findings point at are ever printed, and only for files that have
findings: on 1,000 files that was the whole of the memory growth (4.4 KB a file) and a
case-insensitive regex over 8 MB. Here only the quoted lines are kept, each masked (literal
secrets the loader found) and then redacted (any ``api-key:`` or ``password:`` assignment,
so a secret stays hidden where the file does not parse), as the whole text was before.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from kctl.lean import lazy_pattern
from kctl.secrets import MASK, Masker, mask

# The patterns compile on first use (kctl.lean): only a file with findings quotes lines.
# Line breaks as PyYAML counts them (and kctl.render.findings splits by), so line N here is
# the line N a finding names.
LINE_BREAK = lazy_pattern(r"\r\n|[\n\r\x85\u2028\u2029]")

# A line that assigns a secret key, in block or flow style, quoted or not. A value ends at
# any of YAML's line breaks (not only \n), so redacting never joins two lines into one and a
# line keeps the number findings give it.
_SECRET_ASSIGNMENT = lazy_pattern(
    r"""(?ix)
    (["']?(?:api[-_]?key|password)["']?\s*:[ \t]*)
    ( "(?:[^"\\\n\r\x85\u2028\u2029]|\\[^\n\r\x85\u2028\u2029])*"?
    | '(?:[^'\n\r\x85\u2028\u2029]|'')*'?
    | [^\s,}\]\#][^,}\]\n\r\x85\u2028\u2029\#]* )
    """
)
# The key of an assignment, cheap to look for before the regex above
_SECRET_KEY = lazy_pattern(r"(?i)api[-_]?key|password")


def redact_secret_lines(text: str) -> str:
    """``text`` with the value of every secret assignment replaced by its mask."""

    def hide(match: re.Match[str]) -> str:
        value = match.group(2)
        inner = value.strip().strip("\"'")
        if not inner or inner.startswith(("${", MASK)):
            return match.group(0)  # a reference is no secret (showing it helps), or masked
        return match.group(1) + mask(inner)

    return _SECRET_ASSIGNMENT.sub(hide, text)


def quoted_source(text: str, lines: Iterable[int], masker: Masker | None = None) -> str:
    """A text whose line N (1-based) is line N of ``text`` masked and redacted when N is in
    ``lines``, and empty otherwise: what a renderer may quote, and nothing else.

    Each line is redacted together with the lines before it back to the last one that holds
    more than whitespace: the assignment regex lets whitespace (line breaks too) stand between
    a key and its colon, so a key written lines above still hides its value here. Redacting that
    window gives line N what redacting the whole text gives it, or hides more, never less: a
    word the whole text used up as one assignment's value may here be read as the next key.
    """
    wanted = sorted({n for n in lines if n >= 1})
    if not wanted:
        return ""
    starts = [0]  # where each line starts, up to the last line wanted
    ends = []  # where each line's text ends (its break excluded)
    for match in LINE_BREAK.finditer(text):
        ends.append(match.start())
        starts.append(match.end())
        if len(starts) > wanted[-1]:
            break
    ends.append(len(text))
    out = [""] * min(wanted[-1], len(starts))
    for n in wanted:
        if n > len(starts):
            break
        first = n - 2  # the line before N, then back over blank ones to one with text
        while first > 0 and not text[starts[first] : ends[first]].strip():
            first -= 1
        first = max(first, 0)
        window = text[starts[first] : ends[n - 1]]
        if masker:
            window = masker.mask_text(window)
        if _SECRET_KEY.search(window):
            window = redact_secret_lines(window)
        out[n - 1] = LINE_BREAK.split(window)[-1]
    return "\n".join(out)
