"""The rule catalog (SPEC 1.2): every finding code with its title, severity and explanation.

``validate-config``'s renderers (SARIF rule titles), ``kctl explain``, the README's table and
the tests read this catalog; the checks in ``kctl.config`` report codes declared here. An
existing code never changes meaning; new codes take the free numbers of their group.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    title: str
    severity: Severity
    # what the rule checks and why it matters, in a few sentences (kctl explain)
    explanation: str = ""
    # a config fragment that triggers it, and the same fragment fixed
    bad: str = ""
    good: str = ""


E, W = Severity.ERROR, Severity.WARNING

_RULES = (
    Rule("KC001", "YAML syntax error", E),
    Rule("KC002", "Duplicate key in a mapping", E),
    Rule("KC003", "Unknown key", E),
    Rule("KC004", "Required key missing", E),
    Rule("KC005", "Wrong type", E),
    Rule("KC006", "Unsupported or missing version", E),
    Rule("KC101", "Duplicate provider nickname", E),
    Rule("KC102", "Channel not whatsapp or sms", E),
    Rule("KC103", "Provider not generic", E),
    Rule("KC104", "Request type not POST", E),
    Rule("KC105", "Endpoint not an absolute https URL", E),
    Rule("KC106", "max_concurrency outside 30..1000", E),
    Rule("KC107", "More than one default provider for a channel", E),
    Rule("KC108", "Phone number not a valid E.164 number", E),
    Rule("KC109", "payload_version malformed", E),
    Rule("KC201", "Required header missing for the channel", E),
    Rule("KC202", "Header value empty", E),
    Rule("KC203", "URL header not an absolute https URL", E),
    Rule("KC204", "kaleyra-host not a known Kaleyra API domain", W),
    Rule("KC205", "Secret written as a literal", W),
    Rule("KC206", "Malformed secret reference", E),
    Rule("KC207", "Header not used by this channel", W),
    Rule("KC301", "Required SMS parameter missing", E),
    Rule("KC302", "Unknown $$ placeholder", E),
    Rule("KC303", "Message type not OTP/MKT/TXN/DEFAULT", E),
    Rule("KC304", "Template lacks dlt_template_id", E),
    Rule("KC305", "DLT id not 12..19 digits", E),
    Rule("KC306", "Basic auth without username or password", E),
    Rule("KC401", "Template name and language not unique", E),
    Rule("KC402", "Template header type invalid", E),
    Rule("KC403", "Template body too long", E),
    Rule("KC404", "Template footer over 60 characters", E),
    Rule("KC405", "Placeholders not numbered 1..n without gaps", E),
    Rule("KC406", "Buttons over the limits", E),
    Rule("KC407", "Limited time offer not allowed or title too long", E),
    Rule("KC408", "Template name not lower-case letters, digits and underscores", E),
    Rule("KC409", "Unknown WhatsApp language code", E),
    Rule(
        "KC410",
        "Dynamic URL button placeholder not {{1}} at the end",
        E,
        "A URL button is dynamic when its URL ends in {{1}}: each send appends a suffix there "
        "(CleverTap's dynamicUrl parameter). WhatsApp allows exactly one placeholder per URL "
        "button, and only at the very end, so a {{1}} in the middle, a {{2}} or a second "
        "placeholder is refused when the template is submitted.",
        'url: "https://shop.example.com/{{1}}/track"',
        'url: "https://shop.example.com/track/{{1}}"',
    ),
    Rule(
        "KC411",
        "Carousel card count, category or template shape",
        E,
        "A carousel template is a marketing template made of a body and 2 to 10 cards. The "
        "header, buttons and limited time offer belong on each card, not on the template itself.",
        "category: utility\ncarousel: [{header: {type: image, url: https://cdn.example.com/a.png}, "
        "body: Card, buttons: [{type: quick_reply, text: More}]}]",
        "category: marketing\ncarousel: [<card 1>, <card 2>]",
    ),
    Rule(
        "KC412",
        "Carousel card shape",
        E,
        "Each carousel card has an image or video header, a body of at most 160 characters and "
        "one or two buttons, and every card has the same header type and the same buttons in "
        "the same order. Meta refuses carousels whose cards differ.",
        "header: {type: text, text: Card one}",
        "header: {type: image, url: https://cdn.example.com/card1.png}",
    ),
    Rule(
        "KC413",
        "Text header with more than one placeholder",
        E,
        "A text header may carry one placeholder, {{1}}, filled at send time (CleverTap sends "
        "its value as the header parameter). Meta refuses headers with more.",
        'header: {type: text, text: "Order {{1}} for {{2}}"}',
        'header: {type: text, text: "Order {{1}}"}',
    ),
    Rule(
        "KC414",
        "Examples do not match the placeholders",
        E,
        "examples gives one sample value per body placeholder, in order. kctl verify and "
        "preview send and draw the template with them, and Meta's template review needs them; "
        "a count that differs from the placeholders would fill the wrong ones.",
        'body: "Hi {{1}}, order {{2}} shipped."\nexamples: ["Asha"]',
        'body: "Hi {{1}}, order {{2}} shipped."\nexamples: ["Asha", "1234"]',
    ),
    Rule("KC501", "incoming_url not an absolute https URL, or has a fragment", E),
    Rule("KC502", "incoming_url already carries a callback parameter", E),
)

RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}


def rule(code: str) -> Rule:
    """The catalog entry of ``code``; KeyError for a code the catalog does not declare."""
    return RULES[code]
