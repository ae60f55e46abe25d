"""SMS: the provider form's parameters and replacements (SPEC 1, 4.2) and callbacks (4.5)."""

from __future__ import annotations

import re

from kctl.lean import lazy_pattern

# --- the provider form (1.2, 4.2) ---------------------------------------------------------------

# Form parameters every configuration has (KC301), by the names Kaleyra's set-up gives them.
REQUIRED_PARAMETERS = ("to", "message_id")
# ... and at least one of these: the text itself, or (India, DLT) the registered template's id.
CONTENT_PARAMETERS = ("body", "template_id")

TO = "$$To"
BODY = "$$Body"
TEMPLATE_ID = "$$TemplateID"
TEMPLATE_VARIABLES = "$$TemplateVariables"
CAMPAIGN_ID = "$$CampaignID"
MESSAGE_ID = "$$MessageID"
SENDER = "$$Sender"
TYPE = "$$TYPE"
LONG_URL = "$$LongURL"

# CleverTap's Generic SMS page lists six system replacements (its text says "five").
CLEVERTAP_REPLACEMENTS = (TO, BODY, TEMPLATE_ID, TEMPLATE_VARIABLES, CAMPAIGN_ID, MESSAGE_ID)
# Only SPEC 4.2 (from Kaleyra's CleverTap set-up guide, which no readable source shows) adds
# these; kctl fills them like system replacements, since the guide's form uses them.
KALEYRA_REPLACEMENTS = (SENDER, TYPE, LONG_URL)
REPLACEMENTS = CLEVERTAP_REPLACEMENTS + KALEYRA_REPLACEMENTS

# What CleverTap refuses to save without (CT-SMS): the recipient, and the text or a template id.
NEEDED_REPLACEMENTS = (TO,)
CONTENT_REPLACEMENTS = (BODY, TEMPLATE_ID)

# Any other "$$name" is a custom replacement ($$hid, $$uid in CleverTap's examples): CleverTap
# asks for its value when a campaign is created, send-test takes it as --var name=value.
# CleverTap never says what a name may hold. kctl takes a letter then letters, digits and
# underscores: wide enough for every example, narrow enough that "$$" before a price or a digit
# ("$$5") is reported instead of silently becoming a replacement nobody can fill.
TOKEN = re.compile(r"\$\$[A-Za-z0-9_]*")
CUSTOM_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
_SYSTEM_BY_FOLDED = {r.lower(): r for r in REPLACEMENTS}


def token_problem(token: str) -> tuple[str, str] | None:
    """(what is wrong, hint) when ``token`` (a TOKEN match) is not a usable replacement.

    A name that differs from a system replacement only in case ($$LongUrl) is refused too: as a
    custom replacement it would silently ask for a value of its own instead of being filled.
    """
    if token in REPLACEMENTS:
        return None
    name = token[2:]
    if not name:
        return "'$$' has no name after it", "write a replacement such as $$Body, or $$name"
    system = _SYSTEM_BY_FOLDED.get(token.lower())
    if system is not None:
        return (
            f"'{token}' differs from the system replacement '{system}' only in case",
            f"write {system}: replacement names are case-sensitive",
        )
    if CUSTOM_NAME.fullmatch(name) is None:
        return (
            f"'{token}' is not a well-formed replacement: a name starts with a letter",
            "custom replacements are $$ then a letter, then letters, digits or '_' ($$hid)",
        )
    return None


def custom_names(text: str) -> list[str]:
    """The custom replacements ``text`` uses, by name without "$$", in order of appearance."""
    return [
        token[2:]
        for token in TOKEN.findall(text)
        if token not in REPLACEMENTS and token_problem(token) is None
    ]


def fill(text: str, values: dict[str, str]) -> str:
    """``text`` with each replacement that ``values`` knows (keys with "$$") filled in."""
    return TOKEN.sub(lambda m: values.get(m.group(0), m.group(0)), text)


# $$TemplateVariables: CleverTap's page names it ("the template variables") and shows no value;
# Kaleyra's v1 SMS API has no such field (its v2 API takes a "template_data" object). kctl
# sends the --param values of the DLT template, in order, as a compact JSON array of strings
# (["482913","Friday"]): unlike values joined by "|" or ",", it stays unambiguous whatever the
# values hold, and an adapter parses it with one call.
def encode_template_variables(values: tuple[str, ...]) -> str:
    import json  # only a send with template variables needs it

    return json.dumps(list(values), ensure_ascii=False, separators=(",", ":")) if values else ""


# $$MessageID in CleverTap's dotted shape, with its trailing dot. The request sample on CT-SMS is
# 9999999999.1200000000.1654002362.20220531.0.wzrk_default.-1. and the callback samples have
# 165263328 (9 digits) in the third field and 1 in the seventh: digits are not counted and the
# variant may be signed. The provider must echo it unchanged as "meta", so nothing about its
# shape is checked on the way back; the pattern describes what kctl makes.
MESSAGE_ID_PATTERN = r"^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]{8}\.[0-9]+\.[A-Za-z0-9_]+\.-?[0-9]+\.$"
MESSAGE_ID_EXAMPLE = "9999999999.1200000000.1654002362.20220531.0.wzrk_default.-1."
DEFAULT_VARIANT = "wzrk_default"
_MESSAGE_ID = lazy_pattern(MESSAGE_ID_PATTERN)


def message_id(account: int, campaign: int, epoch: int, day: str, variant: int = -1) -> str:
    """A $$MessageID in CleverTap's shape; ``day`` is yyyymmdd."""
    return f"{account}.{campaign}.{epoch}.{day}.0.{DEFAULT_VARIANT}.{variant}."


def is_message_id(value: str) -> bool:
    return _MESSAGE_ID.fullmatch(value) is not None


# Message types. Kaleyra's pages write them in capitals (MKT, DEFAULT); a form or a config may
# write any case ("Default"), so the rules, the sandbox and listen fold the case and kctl sends
# the capitals.
MESSAGE_TYPES = ("OTP", "MKT", "TXN", "DEFAULT")


def message_type(value: str) -> str | None:
    """The canonical spelling of message type ``value`` (any case), or None when unknown."""
    upper = value.strip().upper()
    return upper if upper in MESSAGE_TYPES else None


# a DLT template marks each variable like this; the sent text replaces each one
VARIABLE = "{#var#}"
# the campaign id send-test puts in $$CampaignID
TEST_CAMPAIGN_ID = "kctl-test"
# India's country code: recipients there need DLT registration
DLT_COUNTRY_PREFIX = "+91"


def fill_variables(text: str, values: tuple[str, ...]) -> str:
    """A DLT template's text with each {#var#} replaced by the next value (as many as there are)."""
    parts = text.split(VARIABLE)
    out = [parts[0]]
    for value, rest in zip(values, parts[1:], strict=True):
        out.extend((value, rest))
    return "".join(out)


# --- callbacks (4.5) ----------------------------------------------------------------------------

EVENTS = ("delivered", "failed", "clicked", "replied")
FINAL_EVENTS = frozenset({"delivered", "failed"})

# CT-SMS marks event, ts and meta mandatory for every event; the other starred keys belong to
# one event each. Whether "description" is mandatory on "delivered" is ambiguous on the page
# ("in case of failure or successful delivery"): SPEC 4.5 says it is, and so does kctl.
COMMON_KEYS = ("ts", "meta")
EVENT_KEYS: dict[str, tuple[str, ...]] = {
    "delivered": ("description",),
    "failed": ("code", "description"),
    "clicked": ("url",),
    "replied": ("incomingText",),
}
# optional keys with a meaning (anything else is ignored, as CleverTap ignores it; it trims
# incomingText at 512 characters rather than refusing a longer one)
OPTIONAL_KEYS: dict[str, tuple[str, ...]] = {
    "delivered": (),
    "failed": (),
    "clicked": ("shorturl",),
    "replied": ("toPhone",),
}

# failure codes of a ``failed`` event (strings on the wire; the page's table shows them bare,
# which is a table's way of writing a value, and every JSON sample quotes them, so listen asks
# for a string), with what each means. 911 is not in CleverTap's list.
FAILURE_CODES: dict[str, str] = {
    "900": "any other error",
    "901": "DND: recipient is on the do-not-disturb list",
    "902": "spam",
    "903": "blacklisted",
    "904": "system error",
    "905": "subscriber error",
    "906": "DLT header (sender) not registered",
    "907": "DLT entity not registered",
    "908": "DLT template not registered or text does not match",
    "909": "DLT consent missing",
    "910": "invalid subscriber",
    "912": "inbox full",
    "913": "NDNC",
    "914": "undelivered",
    "915": "dropped",
    "916": "expired",
    "917": "force expired",
    "918": "duplicate",
    "919": "DLT failure",
    "920": "URL not whitelisted",
}
# SPEC 4.5 names the range 900..920; 911 is inside it though CleverTap lists no meaning for it
FAILURE_CODE_RANGE = range(900, 921)
DND = "901"
