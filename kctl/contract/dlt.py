"""India's DLT: the registered template an SMS is held against, and how operators hold it.

Every commercial SMS to an Indian number names a principal entity, a header (the sender ID) and
a content template, all registered on a DLT platform. Operators scrub each message against
them: the static text must match the registered template exactly, character for character, and
each ``{#var#}`` may be replaced by at most 30 characters. A message that fails is dropped and
reported failed with CleverTap's codes 906 (header), 907 (entity) or 908 (template), the failure
Kaleyra calls "template not found".
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterable
from functools import cache

from kctl.contract import sms
from kctl.lean import Record, lazy_pattern

VARIABLE = sms.VARIABLE
# what one {#var#} may be replaced by, in characters
VARIABLE_LIMIT = 30
COUNTRY_PREFIX = sms.DLT_COUNTRY_PREFIX

# CleverTap's SMS failure codes for DLT scrubbing (SPEC 4.5)
HEADER_NOT_REGISTERED = "906"
ENTITY_NOT_REGISTERED = "907"
TEMPLATE_NOT_MATCHED = "908"

# A DLT registrations export (--dlt-registry) names at least these columns in its header row;
# the platforms' exports carry more (status, category, dates), which are not needed here.
REGISTRY_COLUMNS = ("template_id", "entity_id", "header", "template_text")

# What people write when they mean {#var#}: another name ({#otp#}, {#var1#}), another case
# ({#Var#}), or a brace or hash missing (#VAR#, {var}). Only {#var#} itself is a variable to the
# DLT platforms; the others are static text that the filled message will never contain.
_LOOKALIKE = lazy_pattern(
    r"\{\s*#[^{}#\n]{0,30}#\s*\}"  # {#anything#}
    r"|\{#?\s*var\w*\s*#?\}"  # {var}, {#var}, {var1#}
    r"|#\s*var\w*\s*#",  # #var#, #VAR#
    re.IGNORECASE,
)


def lookalike_variables(text: str) -> list[tuple[int, str]]:
    """(index, token) of each would-be variable in ``text`` that is not exactly {#var#}."""
    return [(m.start(), m.group()) for m in _LOOKALIKE.finditer(text) if m.group() != VARIABLE]


def adjacent_variables(text: str) -> list[int]:
    """Index of each {#var#} that follows another with nothing but white space between them.

    The DLT platforms refuse to register such a template: with no static text between two
    variables, scrubbing cannot tell where one value ends and the next begins."""
    starts = [m.start() for m in re.finditer(re.escape(VARIABLE), text)]
    return [
        second
        for first, second in itertools.pairwise(starts)
        if not text[first + len(VARIABLE) : second].strip()
    ]


def longest(template: str) -> str:
    """``template`` with every variable at its longest (30 characters of plain text): what the
    message costs at most."""
    return template.replace(VARIABLE, "x" * VARIABLE_LIMIT)


def first_difference(a: str, b: str) -> int | None:
    """Index of the first character where ``a`` and ``b`` differ; None when they are equal."""
    if a == b:
        return None
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return min(len(a), len(b))


def is_india_number(number: str) -> bool:
    """Whether a recipient (E.164 or digits without '+') is an Indian number, which DLT covers."""
    return number.removeprefix("+").startswith(COUNTRY_PREFIX.removeprefix("+"))


def describe_char(char: str) -> str:
    """A character as a message names it: printable ones quoted, the others by name or code."""
    if char == " ":
        return "a space"
    if char == "\n":
        return "a line break"
    if char.isprintable():
        return f"'{char}'"
    return f"U+{ord(char):04X}"


def excerpt(text: str, index: int, before: int = 16, after: int = 12) -> str:
    """The part of ``text`` around ``index``, with an ellipsis where it is cut."""
    start, end = max(0, index - before), min(len(text), index + after)
    return ("…" if start else "") + text[start:end] + ("…" if end < len(text) else "")


# --- registrations ------------------------------------------------------------------------------


class Registration(Record):
    """One registered content template. The entity and header are None when unknown (a
    config's ``dlt_text`` names only the text)."""

    __slots__ = ("entity_id", "header", "source", "template_id", "text")
    template_id: str
    text: str
    entity_id: str | None
    header: str | None
    source: str  # where it comes from, for messages: "registry.csv line 4"

    def __init__(
        self,
        template_id: str,
        text: str,
        entity_id: str | None = None,
        header: str | None = None,
        source: str = "",
    ) -> None:
        self.template_id = template_id
        self.text = text
        self.entity_id = entity_id
        self.header = header
        self.source = source


def chain_problem(
    registration: Registration, *, entity_id: str | None, header: str | None
) -> tuple[str, str] | None:
    """(failure code, what is wrong) when the sender or the entity is not the one registered
    with the template; None when they are, or when either side is unknown."""
    wanted = registration.header
    if wanted is not None and header is not None and header != wanted:
        return (
            HEADER_NOT_REGISTERED,
            f"sender '{header}' is not the header registered with DLT template"
            f" {registration.template_id} ('{wanted}')",
        )
    owner = registration.entity_id
    if owner is not None and entity_id is not None and entity_id != owner:
        return (
            ENTITY_NOT_REGISTERED,
            f"DLT template {registration.template_id} is registered to entity {owner},"
            f" not {entity_id}",
        )
    return None


# --- scrubbing a text against a template ------------------------------------------------------


class Mismatch(Record):
    """Where a text first leaves its registered template."""

    __slots__ = ("expected", "found", "length", "position", "template_position", "variable")
    position: int  # index into the text (0-based)
    template_position: int  # where the template is at that point (0-based)
    expected: str  # the template's character there; "" when the template has ended
    found: str  # the text's character there; "" when the text has ended
    variable: int | None  # 1-based: this variable is longer than the limit
    length: int | None  # that variable's length, when known

    def __init__(  # noqa: PLR0917
        self,
        position: int,
        template_position: int,
        expected: str,
        found: str,
        variable: int | None = None,
        length: int | None = None,
    ) -> None:
        self.position = position
        self.template_position = template_position
        self.expected = expected
        self.found = found
        self.variable = variable
        self.length = length

    @property
    def code(self) -> str:
        return TEMPLATE_NOT_MATCHED

    def describe(self, subject: str = "the SMS") -> str:
        """One clause, such as "at character 26 the registered text has '.' where the SMS has a
        space"."""
        where = f"at character {self.position + 1}"
        if self.variable is not None:
            size = (
                f"is {self.length} characters, but DLT allows {VARIABLE_LIMIT}"
                if self.length
                else f"is longer than the {VARIABLE_LIMIT} characters DLT allows"
            )
            return (
                f"variable {self.variable} of {subject} {size} (character"
                f" {self.position + 1} is the first one too many)"
            )
        if not self.expected:
            return f"{where} the registered text has ended where {subject} goes on with" + (
                f" {describe_char(self.found)}"
            )
        if not self.found:
            return (
                f"{where} the registered text goes on with {describe_char(self.expected)} where"
                f" {subject} ends"
            )
        return (
            f"{where} the registered text has {describe_char(self.expected)} where {subject}"
            f" has {describe_char(self.found)}"
        )


def _parts(template: str) -> tuple[str, ...]:
    return tuple(template.split(VARIABLE))


def matches(text: str, template: str) -> bool:
    """Whether ``text`` is ``template`` with each {#var#} replaced by at most 30 characters."""
    parts = _parts(template)
    if len(parts) == 1:
        return text == template
    head, tail = parts[0], parts[-1]
    if not text.startswith(head) or not text.endswith(tail) or len(text) < len(head) + len(tail):
        return False
    return _fits(text[: len(text) - len(tail)], len(head), parts[1:-1])


def _fits(text: str, start: int, middle: tuple[str, ...]) -> bool:
    # Each variable tries each length it may have; a (position, part) pair that failed once
    # fails again, so the work is bounded by len(text) x parts x 31, whatever the input.
    @cache
    def rest(i: int, k: int) -> bool:
        if k == len(middle):
            return len(text) - i <= VARIABLE_LIMIT  # the last variable takes the rest
        part = middle[k]
        for j in range(i, min(i + VARIABLE_LIMIT, len(text)) + 1):
            if text.startswith(part, j) and rest(j + len(part), k + 1):
                return True
        return False

    return rest(start, 0)


# the alignment below is quadratic; a text and template this large are not an SMS anyway
_ALIGN_CELLS = 250_000


def mismatch(text: str, template: str) -> Mismatch | None:
    """Where ``text`` first leaves ``template``; None when it matches.

    The first difference is read off an alignment with the fewest edits, among those the one
    that agrees longest: so a missing full stop is reported where the full stop should be, not
    where a variable swallowing the rest of the text would run out."""
    if matches(text, template):
        return None
    parts = _parts(template)
    head = parts[0]
    at = first_difference(text, head)
    if at is not None and at < len(head):
        return Mismatch(at, at, head[at], text[at] if at < len(text) else "")
    tokens: list[str | None] = []  # None stands for a variable
    places: list[int] = []  # where each token starts in the template
    place = len(head)
    for part in parts[1:]:
        tokens.append(None)
        places.append(place)
        place += len(VARIABLE)
        tokens.extend(part)
        places.extend(range(place, place + len(part)))
        place += len(part)
    places.append(len(template))
    rest = text[len(head) :]
    if (len(rest) + 1) * (len(tokens) + 1) > _ALIGN_CELLS:
        found_char = rest[:1]
        return Mismatch(len(head), len(head), VARIABLE[0] if tokens else "", found_char)
    found = _first_edit(rest, tokens, len(head), places)
    if found.variable is None:
        return found
    return found.replace(length=_overflow_length(text, parts, found))


def _overflow_length(text: str, parts: tuple[str, ...], found: Mismatch) -> int | None:
    """How long the variable that runs over is, when the rest of the text fits the template."""
    assert found.variable is not None
    start = found.position - VARIABLE_LIMIT
    remainder = VARIABLE.join(parts[found.variable :])
    for end in range(found.position, len(text) + 1):
        if text.startswith(parts[found.variable], end) and matches(text[end:], remainder):
            return end - start
    return None


def _first_edit(rest: str, tokens: list[str | None], offset: int, places: list[int]) -> Mismatch:
    n, m = len(rest), len(tokens)
    # cost[p][i]: the fewest edits that align rest[i:] with tokens[p:]
    cost = [[0] * (n + 1) for _ in range(m + 1)]
    cost[m] = [n - i for i in range(n + 1)]
    for p in range(m - 1, -1, -1):
        token, row, nxt = tokens[p], cost[p], cost[p + 1]
        if token is None:
            row[n] = nxt[n]
            for i in range(n - 1, -1, -1):
                row[i] = min(*nxt[i : i + VARIABLE_LIMIT + 1], row[i + 1] + 1)
        else:
            row[n] = nxt[n] + 1
            for i in range(n - 1, -1, -1):
                same = nxt[i + 1] if rest[i] == token else nxt[i + 1] + 1
                row[i] = min(same, nxt[i] + 1, row[i + 1] + 1)
    i = p = 0
    variable = 0
    after_full: int | None = None  # the variable just taken, when it took all it may
    while p < m:
        token = tokens[p]
        if token is None:
            variable += 1
            here = cost[p][i]
            runs = [
                size
                for size in range(min(VARIABLE_LIMIT, n - i), -1, -1)
                if cost[p + 1][i + size] == here
            ]
            if not runs:  # only an extra character here is as cheap: the variable is too long
                return Mismatch(offset + i, places[p], "", rest[i], variable=variable)
            i += runs[0]
            p += 1
            after_full = variable if runs[0] == VARIABLE_LIMIT else None
            continue
        if i < n and rest[i] == token:
            i += 1
            p += 1
            after_full = None
            continue
        found = rest[i] if i < n else ""
        if after_full is not None and i < n and cost[p][i + 1] + 1 == cost[p][i]:
            return Mismatch(offset + i, places[p], token, found, variable=after_full)
        return Mismatch(offset + i, places[p], token, found)
    # the template has ended and the text goes on: past a full variable, that one is too long
    found = rest[i] if i < n else ""
    return Mismatch(offset + i, places[m], "", found, variable=after_full)


def closest(
    text: str, registrations: Iterable[Registration]
) -> tuple[Registration, Mismatch | None] | None:
    """The registration ``text`` matches (with None), else the one it agrees with longest and
    where it leaves it; None when there are no registrations."""
    best: tuple[Registration, Mismatch | None] | None = None
    for registration in registrations:
        found = mismatch(text, registration.text)
        if found is None:
            return registration, None
        if best is None or (best[1] is not None and found.position > best[1].position):
            best = (registration, found)
    return best
