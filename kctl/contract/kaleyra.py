"""Kaleyra's own API (SPEC 4.8): hosts, the messages route, its fields, ids and callbacks.

Direct mode sends what is declared here and the sandbox's Kaleyra route accepts it. Where
Kaleyra's pages, nyaruka/courier's Kaleyra handler (a real client) and SPEC differ, the sandbox
and listen accept every variant and kctl sends the one named canonical.
"""

from __future__ import annotations

import re

from kctl.contract import channels
from kctl.contract.channels import Channel
from kctl.lean import assert_never, lazy_pattern

# Kaleyra's API domains, one per pod (KC204 warns about any other kaleyra-host). SG is written
# api.ap.kaleyra.io on some pages and api.kaleyra.io on others; NA is api.na.kaleyra.ai on most
# pages and api.na.kaleyra.io on one: all are listed.
HOSTS = (
    "api.kaleyra.io",
    "api.in.kaleyra.io",
    "api.eu.kaleyra.io",
    "api.ap.kaleyra.io",
    "api.na.kaleyra.ai",
    "api.na.kaleyra.io",
)

# POST {kaleyra-host}/v1/{sid}/messages
MESSAGES_PATH = lazy_pattern(r"/v1/([^/]+)/messages/?")


def messages_url(host: str, sid: str) -> str:
    """The messages URL for ``host`` (a URL) and an already path-safe ``sid``."""
    return f"{host.rstrip('/')}/v1/{sid}/messages"


# Kaleyra's pages send the key as a header; courier sends it as a form field and no header.
API_KEY = "api-key"

# Kaleyra's pages show -d (urlencoded) and --form (multipart) bodies, and print
# "Content-Type: application/json" beside --form; courier sends urlencoded text and multipart
# media. kctl sends urlencoded; the sandbox takes all three.
FORM_TYPE = channels.FORM_TYPE
MULTIPART_TYPE = "multipart/form-data"
JSON_TYPE = channels.JSON_TYPE
BODY_TYPES = (FORM_TYPE, MULTIPART_TYPE, JSON_TYPE)

# Kaleyra answers an accepted message with 202 (SPEC; a third-party SMS client checks for 202,
# courier's mocks answer 200 and courier takes any 2xx).
ACCEPTED = 202


# "channel" as Kaleyra's samples write it (whatsapp, sms); courier and one Kaleyra page write
# WhatsApp. Compared without case; kctl sends the lower case.
def channel_of(value: str) -> Channel | None:
    try:
        return Channel(value.strip().lower())
    except ValueError:
        return None


# WhatsApp message types on the messages route: session text and media (courier uploads the
# file as a multipart "media" part; Kaleyra's page also takes "media_url"), and templates.
TEXT, MEDIA, TEMPLATE, MEDIA_TEMPLATE = "text", "media", "template", "mediatemplate"
WHATSAPP_TYPES = (TEXT, MEDIA, TEMPLATE, MEDIA_TEMPLATE)
# a media template's header media: a URL, or an uploaded file part
MEDIA_FIELDS = ("media_url", "media")


# --- params: the body's values in one field -----------------------------------------------------
#
# The text-template page sends params=param1,param2 and the media-template page sends "A","B":
# no page states a rule. kctl sends the plain form unless a value holds a comma, a double
# quote or a line break, and then quotes every value, doubling a quote inside one (CSV's rule,
# RFC 4180). The sandbox reads either form with the same rule.
_NEEDS_QUOTES = re.compile(r'[,"\r\n]')


def join_params(values: tuple[str, ...]) -> str:
    if not any(_NEEDS_QUOTES.search(v) for v in values):
        return ",".join(values)
    return ",".join('"' + v.replace('"', '""') + '"' for v in values)


def split_params(text: str) -> list[str] | None:
    """The values of a params field, or None when its quoting is broken."""
    if not text:
        return []
    import csv  # here: every send imports this module, few read a params field

    try:
        rows = list(csv.reader([text], strict=True))
    except csv.Error:
        return None
    return rows[0] if len(rows) == 1 else None


# --- ids ------------------------------------------------------------------------------------------
#
# An accepted request gets an id "<uuid>:<n>" (courier's tests: 58f86fab-...-9c323248afc4:0)
# and, per recipient, data[].message_id; Kaleyra's status callbacks carry the id back as "id".
# The sandbox gives recipient n of a request the id "<uuid>:<n>", answers it as that
# recipient's data[].message_id, makes the top-level "id" the first recipient's (courier keeps
# only the top-level id, so for one recipient the two must agree), and reports each recipient
# under its own id.
MESSAGE_ID_PATTERN = r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}:[0-9]+$"


def message_id(batch: str, n: int) -> str:
    return f"{batch}:{n}"


# --- callbacks ------------------------------------------------------------------------------------
#
# WhatsApp: "callback_url" on the request; Kaleyra calls it with GET and the query parameters
# id and status (courier's handler, the only readable source: Kaleyra's page on it was not).
# SMS: Kaleyra's pages show no callback_url for SMS, only "callback", a JSON object as text
# ({"url": ..., "method": "GET" or "POST", optional "header" and "retry"}), and
# "callback_profile_id" for a profile set up in Kaleyra's console. kctl sends "callback" with
# method GET, so both channels report the same way; the sandbox also takes callback_url (SPEC)
# and a POST callback, which it sends as a JSON object with id and status.
CALLBACK_URL = "callback_url"
SMS_CALLBACK = "callback"
CALLBACK_PROFILE = "callback_profile_id"
CALLBACK_METHODS = ("GET", "POST")
CALLBACK_ID, CALLBACK_STATUS = "id", "status"


def sms_callback(url: str, method: str = "GET") -> str:
    import json  # a WhatsApp send's callback only

    return json.dumps({"url": url, "method": method}, separators=(",", ":"))


# Kaleyra's status words, by source, and what each means in kctl's terms (sent, delivered,
# read, failed). Courier (v1 WhatsApp GET): sent, delivered, read, and "0" for failed. v2
# WhatsApp: SENT, DELIVERED, READ, FAILED, NOT-SENT. SMS: Sent, Delivered, Failed,
# Undelivered. Compared without case.
STATUS_WORDS: dict[str, str] = {
    "sent": "sent",
    "delivered": "delivered",
    "read": "read",
    "failed": "failed",
    "0": "failed",
    "not-sent": "failed",
    "undelivered": "failed",
}


def status_of(word: str) -> str | None:
    """kctl's status for one of Kaleyra's status words, or None when it is not one."""
    return STATUS_WORDS.get(word.strip().lower())


def reported_status(channel: Channel, status: str) -> str:
    """The word the sandbox sends for ``status`` (sent, delivered, failed) on ``channel``:
    for WhatsApp, courier's reading of v1 (a failure is "0"); for SMS, the capitalised words of
    Kaleyra's SMS callback page."""
    match channel:
        case Channel.WHATSAPP:
            return "0" if status == "failed" else status
        case Channel.SMS:
            return status.capitalize()
        case _:
            assert_never(channel)


# Template APIs (SPEC 4.8; KAL whatsapp-api-get-whatsapp-template-status and
# whatsapp-message-api-v2-get-templates). Both are GETs with the api-key header.
# v1: GET {kaleyra-host}/v1/{sid}/whatsapp/templates/status[?name=NAME]
TEMPLATE_STATUS_PATH = lazy_pattern(r"/v1/([^/]+)/whatsapp/templates/status/?")
# v2: GET {kaleyra-host}/v2/{sid}/whatsapp/{waba-id}/message_templates (a WABA on API v2)
MESSAGE_TEMPLATES_PATH = lazy_pattern(r"/v2/([^/]+)/whatsapp/([^/]+)/message_templates/?")
# v1 spells statuses as words ("Submission Rejected"); kctl keeps Meta's upper-case names
V1_STATUS_WORDS = {
    "APPROVED": "Approved",
    "PENDING": "Pending",
    "REJECTED": "Rejected",
    "SUBMISSION_REJECTED": "Submission Rejected",
    "PAUSED": "Paused",
    "DISABLED": "Disabled",
}


def is_template_api_path(path: str) -> bool:
    return bool(TEMPLATE_STATUS_PATH.fullmatch(path) or MESSAGE_TEMPLATES_PATH.fullmatch(path))


def template_status_url(host: str, sid: str) -> str:
    return f"{host.rstrip('/')}/v1/{sid}/whatsapp/templates/status"


def message_templates_url(host: str, sid: str, waba_id: str) -> str:
    return f"{host.rstrip('/')}/v2/{sid}/whatsapp/{waba_id}/message_templates"
