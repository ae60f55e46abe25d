"""SMS: the provider form's parameters and replacements (SPEC 1, 4.2) and callbacks (4.5)."""

from __future__ import annotations

import re

# the form parameters a configuration must have (KC301)
REQUIRED_PARAMETERS = ("to", "sender", "body", "message_id")
# CleverTap's system replacements and those Kaleyra's set-up guide adds
REPLACEMENTS = (
    "$$To",
    "$$Sender",
    "$$Body",
    "$$TemplateID",
    "$$MessageID",
    "$$CampaignID",
    "$$TYPE",
    "$$LongURL",
)
# how a replacement is written inside a parameter value
REPLACEMENT = re.compile(r"\$\$[A-Za-z]+")
# what the rules look at when judging a $$ token (an empty name is reported too)
ANY_REPLACEMENT = re.compile(r"\$\$[A-Za-z]*")

MESSAGE_TYPES = ("OTP", "MKT", "TXN", "DEFAULT")
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

# failure codes of a ``failed`` event (strings on the wire), with what each means
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
DND = "901"
