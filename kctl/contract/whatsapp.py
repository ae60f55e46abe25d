"""WhatsApp: templates (SPEC 1, Meta's limits), the adapter payload (4.1) and callbacks (4.4)."""

from __future__ import annotations

from kctl.lean import lazy_pattern

# --- templates ----------------------------------------------------------------------------------

BODY_LIMIT = 1024
BODY_LIMIT_WITH_OFFER = 600
FOOTER_LIMIT = 60
HEADER_TEXT_LIMIT = 60
OFFER_TITLE_LIMIT = 16
# what a send may fill in: a URL button's URL with its suffix, a copy-code button's code (Meta)
BUTTON_URL_LIMIT = 2000
COUPON_CODE_LIMIT = 15
MAX_BUTTONS = 10
# per button type, how many one template may have (types not named: up to MAX_BUTTONS)
BUTTON_LIMITS = {"copy_code": 1, "url": 2, "phone": 1}

HEADER_TYPES = ("text", "image", "video", "document", "location")
MEDIA_HEADER_TYPES = ("image", "video", "document")
# a text header carries at most this many placeholders ({{1}})
HEADER_PLACEHOLDER_LIMIT = 1
BUTTON_TYPES = ("quick_reply", "url", "phone", "copy_code")
CATEGORIES = ("utility", "marketing", "authentication")
DEFAULT_CATEGORY = "utility"
# the only category that may carry a limited time offer or a carousel
OFFER_CATEGORY = "marketing"
CAROUSEL_CATEGORY = "marketing"

# A URL button is dynamic when its URL ends in this placeholder; the send fills it with a suffix.
DYNAMIC_URL_PLACEHOLDER = "{{1}}"

# carousel templates: a body and 2 to 10 cards, each with an image or video header, a body
# and one or two buttons; every card has the same header type and the same buttons (Meta)
CAROUSEL_MIN_CARDS = 2
CAROUSEL_MAX_CARDS = 10
CARD_HEADER_TYPES = ("image", "video")
CARD_BODY_LIMIT = 160
CARD_MIN_BUTTONS = 1
CARD_MAX_BUTTONS = 2


def is_dynamic_url(url: str) -> bool:
    return url.endswith(DYNAMIC_URL_PLACEHOLDER)


# a body or header placeholder: {{1}}, {{2}}, ... (the rules report other contents of {{...}})
PLACEHOLDER = lazy_pattern(r"\{\{\s*([0-9]+)\s*\}\}")
# anything between double braces, for reporting malformed placeholders
ANY_PLACEHOLDER = lazy_pattern(r"\{\{(.*?)\}\}")


def placeholder_count(text: str) -> int:
    """The highest placeholder number in ``text`` (the rules make them run 1..n)."""
    return max((int(n) for n in PLACEHOLDER.findall(text)), default=0)


def fill_placeholders(text: str, values: tuple[str, ...]) -> str:
    """``text`` with {{n}} replaced by ``values[n-1]``."""
    return PLACEHOLDER.sub(lambda m: values[int(m.group(1)) - 1], text)


# Meta's template language codes (WhatsApp Cloud API "Supported Languages", May 2026).
LANGUAGES = frozenset(
    """
    af sq ar ar_EG ar_AE ar_LB ar_MA ar_QA az be_BY bn bn_IN bg ca zh_CN zh_HK zh_TW hr cs da
    prs_AF nl nl_BE en en_GB en_US en_AE en_AU en_CA en_GH en_IE en_IN en_JM en_MY en_NZ en_QA
    en_SG en_UG en_ZA et fil fi fr fr_BE fr_CA fr_CH fr_CI fr_MA ka de de_AT de_CH el gu ha he hi
    hu id ga it ja kn kk rw_RW ko ky_KG lo lv lt mk ms ml mr nb fa pl pt_BR pt_PT pa ro ru sr sk
    sl es es_AR es_CL es_CO es_CR es_DO es_EC es_ES es_HN es_MX es_PA es_PE es_UY sw sv ta te th
    tr uk ur uz vi zu
    """.split()
)

# --- adapter payload (4.1) ----------------------------------------------------------------------
#
# Where CleverTap's page spells a key two ways, the first spelling is what kctl sends and the
# sandbox and listen accept every one listed.

# The page's samples send payloadVersion as the number 0.1 (its table says "Float"); callbacks
# carry the string "0.1", and some samples and tables write the key in lower case.
PAYLOAD_VERSION_KEYS = ("payloadVersion", "payloadversion")
# The value is a JSON number in every request sample and a string in every callback sample:
# kctl sends the number 0.1 in requests and the string "0.1" in reports; the consumers take
# either type in either direction.
REPORT_PAYLOAD_VERSION = "0.1"
# "msgId" in template samples, the validation payload and the tables; "msg_id" in the freeform
# samples and the "Payload Essentials" notes.
MSG_ID_KEYS = ("msgId", "msg_id")
# "footer" in the table and most samples; the first footer sample writes "footertext".
FOOTER_KEYS = ("footer", "footertext")
# the page shows the validation payload wrapped in {"body": {...}} and nothing else wrapped:
# the sandbox accepts it either way; kctl sends it bare, like every other payload
VALIDATION_WRAPPER = "body"
# "customProps" is a typeless last element of "components" in the sample (what kctl sends);
# the page's table lists it among the top-level keys, so the sandbox takes it there too. Each
# custom key-value is its own one-key object: [{"tier": "gold"}, {"city": "Pune"}].
CUSTOM_PROPS_KEY = "customProps"

# CleverTap's message ids: digits joined by "|", such as 25596363|1639561857|20220227|25596363
# (4 fields in the samples, 5 in the table's i|campaignID|batchID|j|campaign_variant); at most
# 60 characters.
MSG_ID_LIMIT = 60

# the config's header types as the payload names them: a document header is "file"
WIRE_HEADER_TYPES = {
    "text": "text",
    "image": "image",
    "video": "video",
    "document": "file",
    "location": "location",
}
WIRE_MEDIA_HEADER_TYPES = ("image", "video", "file")
# carousel cards: an image or video header, as the payload names them
WIRE_CARD_HEADER_TYPES = ("image", "video")
# a location header's coordinates: strings in the page's table ("12.97"); numbers are taken too
LOCATION_COORDINATES = (("latitude", 90.0), ("longitude", 180.0))
# A location header's "name" and "address": the page's table lists both, its payload notes say
# CleverTap does not support name, address or url in the location object. The sandbox takes
# them or not; kctl sends them only when the config gives them (SPEC 4.1), so a config without
# them sends exactly what the notes describe.
LOCATION_TEXT_KEYS = ("name", "address")
# a media header's or message's URL key, and a document's file name
MEDIA_URL_KEY = "mediaURL"
FILENAME_KEY = "filename"
# URLs in the pages' samples are written both ways: "https://..." and scheme-less
# ("www.google.com/19nov" in a click callback, "www.example.com/document.pdf" in an inbound
# message). listen takes both (``is_web_url``): what CleverTap's own samples carry, CleverTap
# takes. The sandbox, standing in for the adapter that hands a media header to Kaleyra to fetch,
# asks for an absolute http(s) URL, the only kind that can be fetched ("example.com/image.png"
# in the media template sample is a placeholder); kctl sends the config's URL unchanged.
_SCHEMELESS_WEB_URL = lazy_pattern(r"[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+(:[0-9]+)?(/\S*)?")


def is_http_url(value: object) -> bool:
    """An absolute http(s) URL with something after the scheme (a media or button URL: the
    sandbox does not judge where it points)."""
    return (
        isinstance(value, str)
        and value.startswith(("https://", "http://"))
        and len(value) > len("https://")
    )


def is_web_url(url: str) -> bool:
    """An absolute http(s) URL, or a scheme-less one whose host is a dotted name."""
    return is_http_url(url) or _SCHEMELESS_WEB_URL.fullmatch(url) is not None


# the config's button types as the payload's subType; a URL button is static or dynamic.
# (camelCase except copy_code, exactly as CleverTap's samples write them)
QUICK_REPLY, STATIC_URL, DYNAMIC_URL, CALL_PHONE, COPY_CODE = (
    "quickReply",
    "staticUrl",
    "dynamicUrl",
    "callPhone",
    "copy_code",
)
SUBTYPES = (QUICK_REPLY, STATIC_URL, DYNAMIC_URL, CALL_PHONE, COPY_CODE)
URL_SUBTYPES = (STATIC_URL, DYNAMIC_URL)
# a copy-code button's parameter: {"type": "coupon_code", "coupon_code": CODE}
COUPON_PARAMETER = "coupon_code"
# Button "index" counts from 0 in the samples (the table's example says "1, 2", and one sample
# gives two buttons index 0): the consumers take any index >= 0 and do not ask for uniqueness.
# A dynamicUrl parameter is the suffix that fills {{1}} in what kctl sends; the samples also
# carry a whole URL or a URL still ending in {{1}}, and the consumers take any non-empty text.
# limited time offer: {"type": "limited_time_offer", "text": title, "parameters": [{"type":
# "limited_time_offer", "limited_time_offer": {"expiration_time_ms": N}}]}; kctl leaves the
# parameters out when the offer does not expire
OFFER_TYPE = "limited_time_offer"
OFFER_EXPIRY_KEY = "expiration_time_ms"
COMPONENT_TYPES = ("header", "body", "footer", "limited_time_offer", "button", "carousel")

# freeform (session) messages: the object named by "type" and what it holds. The page shows no
# text sample; kctl sends {"type": "text", "text": {"body": ...}}, the shape of the inbound text
# message and of Meta's API, and the sandbox asks for text.body.
FREEFORM_TYPES = ("text", "image", "video", "audio", "file")
FREEFORM_MEDIA_TYPES = ("image", "video", "audio", "file")
# audio carries no caption in the samples (image, video and file do)
FREEFORM_CAPTIONED_TYPES = ("image", "video", "file")

# the payload CleverTap sends when a provider is saved (SPEC 4.1)
VALIDATION_NAMESPACE = "whatsapp:hsm:technology:generic:verify"
VALIDATION_LANGUAGE = "en"
VALIDATION_TEXT = "1 code: 2.Valid for 3 minutes."
VALIDATION_PARAMETERS = ("1", "2", "3")
VALIDATION_MSG_ID = "0|0|0|0"

# --- callbacks (4.4) ----------------------------------------------------------------------------

SENT, DELIVERED, READ, FAILED = "sent", "delivered", "read", "failed"
STATUSES = (SENT, DELIVERED, READ, FAILED)
# what settles a message: --wait-dlr waits for one of these, not for "sent"
FINAL_STATUSES = frozenset({DELIVERED, READ, FAILED})
DELIVERED_STATUSES = frozenset({DELIVERED, READ})
# A click on a tracked URL button. The samples write "Clicked", the table "clicked": the
# consumers take any case and kctl sends "Clicked". It carries "url", "shortUrl", "userAgent"
# and "ts" (a JSON number of epoch seconds in the sample) instead of "timestamp"; one sample
# has no time at all, but it is not valid JSON either, so listen asks for "ts".
CLICKED = "Clicked"
CLICK_TIME_KEY = "ts"
CLICK_KEYS = ("url", "shortUrl", "userAgent")
# a failed status's error: {"code": C, "title": text}; C is a number in the sample and a
# quoted placeholder in the template. kctl sends a number and "title"; listen takes "message"
# for the text as well.
ERROR_TEXT_KEYS = ("title", "message")

# inbound messages: "type" and the object it names
INBOUND_TYPES = ("text", "image", "video", "audio", "file", "location")
INBOUND_MEDIA_TYPES = ("image", "video", "audio", "file")
# a file arrives as "type": "file" with its object named "file" (the table) or "document" (the
# sample)
INBOUND_OBJECT_KEYS: dict[str, tuple[str, ...]] = {"file": ("file", "document")}
# "mimetype" in the table, "mimeType" in the sample; its examples are extensions (".pdf"), not
# MIME types, so any text is taken
MIME_TYPE_KEYS = ("mimeType", "mimetype")
# latitude and longitude as the sample writes them (strings), and as the table does
# ("lattitude", "Longitude", numbers)
INBOUND_LOCATION_KEYS = {
    "latitude": ("latitude", "lattitude"),
    "longitude": ("longitude", "Longitude"),
}

# delivery failure codes of a ``failed`` status, with what each means
FAILURE_CODES: dict[int, str] = {
    1000: "invalid credentials",
    1001: "template parameters do not match",
    1002: "invalid phone number",
    1003: "number not active on WhatsApp",
    1004: "too many messages sent to this user",
    1005: "temporarily unavailable",
    1006: "recipient is blacklisted",
    1007: "device cannot receive this message",
    1008: "outside the 24-hour customer service window",
    1009: "other error",
    1010: "blocked by Meta",
}
BLACKLISTED = 1006

# --- template approval (Kaleyra's template status, Meta's words) ----------------------------------

# Only an approved template can be sent; the sandbox refuses the others with 2001.
APPROVED = "APPROVED"
TEMPLATE_STATUSES = (APPROVED, "PENDING", "REJECTED", "PAUSED", "DISABLED")
