"""CleverTap's provider forms and Kaleyra's set-up, as their set-up guides name things (SPEC,
background): the labels ``kctl plan`` prints, so a reader finds each field on the page.
"""

from __future__ import annotations

from kctl.contract.channels import Channel

# what the Provider drop-down says for a generic provider, per channel
PROVIDER_CHOICE = {Channel.WHATSAPP: "Generic (Other)", Channel.SMS: "Other (Generic)"}

NICKNAME = "Nickname"
PROVIDER = "Provider"
BUSINESS_NUMBER = "WhatsApp Business Number"
REQUEST_TYPE = "Request Type"
ENDPOINT = {Channel.WHATSAPP: "HTTP End Point", Channel.SMS: "HTTP Endpoint"}
AUTHENTICATION = "Authentication"
USERNAME = "Username"
PASSWORD = "Password"
HEADERS = "Headers"
PARAMETERS = "Parameters"
MAX_CONCURRENCY = "Maximum Concurrent API requests"
DEFAULT = "Mark as default"
AUTO_REPLY = "Auto-reply for users not tracked"
CALLBACK_URL = "Callback URL"
PAYLOAD_VERSION = "Payload Version"

# the values the Maximum Concurrent API requests field takes (KC106)
CONCURRENCY_MIN, CONCURRENCY_MAX = 30, 1000
# CleverTap sends at up to this many concurrent requests when the field is left empty
UNLIMITED_CONCURRENCY = 1500
