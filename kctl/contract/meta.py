"""Meta's WhatsApp template format (SPEC 4.9), and CleverTap's import of it.

Kaleyra's v2 template API and CleverTap's template import both speak it: a template is
``{name, language, status, category, parameter_format, components, id}``, each component
``{"type": HEADER | BODY | FOOTER | BUTTONS | LIMITED_TIME_OFFER | CAROUSEL, ...}``. Lists come
in pages: ``{"data": [...], "paging": {"cursors": {"before", "after"}, "next": URL}}``, where
``next`` is left out on the last page (Meta's Graph API convention).
"""

from __future__ import annotations

# --- templates --------------------------------------------------------------------------------

HEADER, BODY, FOOTER, BUTTONS = "HEADER", "BODY", "FOOTER", "BUTTONS"
LIMITED_TIME_OFFER, CAROUSEL = "LIMITED_TIME_OFFER", "CAROUSEL"
# the order kctl writes them in: Meta's examples put the offer between header and body
COMPONENT_ORDER = (HEADER, LIMITED_TIME_OFFER, BODY, FOOTER, BUTTONS, CAROUSEL)

POSITIONAL = "POSITIONAL"  # {{1}}, {{2}}: the only parameter format the config can express
NAMED = "NAMED"

# config header type <-> Meta header format
HEADER_FORMATS = {
    "text": "TEXT",
    "image": "IMAGE",
    "video": "VIDEO",
    "document": "DOCUMENT",
    "location": "LOCATION",
}
# config button type <-> Meta button type
BUTTON_TYPES = {
    "quick_reply": "QUICK_REPLY",
    "url": "URL",
    "phone": "PHONE_NUMBER",
    "copy_code": "COPY_CODE",
}
# config category <-> Meta category
CATEGORIES = {
    "utility": "UTILITY",
    "marketing": "MARKETING",
    "authentication": "AUTHENTICATION",
}

# Template statuses. Only APPROVED templates can be sent; Kaleyra's pages list the first six
# (PAUSED for 3 h, then 6 h, then DISABLED, after low-quality ratings); Meta adds the rest.
APPROVED = "APPROVED"
STATUSES = (
    APPROVED,
    "PENDING",
    "REJECTED",
    "SUBMISSION_REJECTED",
    "PAUSED",
    "DISABLED",
    "IN_APPEAL",
    "PENDING_DELETION",
    "DELETED",
    "LIMIT_EXCEEDED",
    "ARCHIVED",
)


def status_name(word: str) -> str:
    """A status as kctl names it: "Submission Rejected" and "submission_rejected" alike become
    SUBMISSION_REJECTED."""
    return "_".join(word.strip().upper().replace("-", " ").split())


# --- pages (Kaleyra v2 and CleverTap's import alike) ---------------------------------------------

DEFAULT_PAGE_SIZE = 25  # Graph API's default when a request gives no limit
# CleverTap recommends 50 to 500 templates a page; larger requests are served 500 at a time
MAX_PAGE_SIZE = 500
