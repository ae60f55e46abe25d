"""Kaleyra's own API (SPEC 4.8): hosts and routes, for direct mode and the sandbox."""

from __future__ import annotations

import re

# Kaleyra's API domains, one per pod (KC204 warns about any other kaleyra-host)
HOSTS = ("api.kaleyra.io", "api.in.kaleyra.io", "api.eu.kaleyra.io", "api.ap.kaleyra.io")

# POST {kaleyra-host}/v1/{sid}/messages
MESSAGES_PATH = re.compile(r"/v1/([^/]+)/messages/?")


def messages_url(host: str, sid: str) -> str:
    """The messages URL for ``host`` (a URL) and an already path-safe ``sid``."""
    return f"{host.rstrip('/')}/v1/{sid}/messages"


# Template APIs (SPEC 4.8; KAL whatsapp-api-get-whatsapp-template-status and
# whatsapp-message-api-v2-get-templates). Both are GETs with the api-key header.
# v1: GET {kaleyra-host}/v1/{sid}/whatsapp/templates/status[?name=NAME]
TEMPLATE_STATUS_PATH = re.compile(r"/v1/([^/]+)/whatsapp/templates/status/?")
# v2: GET {kaleyra-host}/v2/{sid}/whatsapp/{waba-id}/message_templates (a WABA on API v2)
MESSAGE_TEMPLATES_PATH = re.compile(r"/v2/([^/]+)/whatsapp/([^/]+)/message_templates/?")
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
