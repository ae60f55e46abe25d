"""The channels kctl provisions, and what each one's provider form asks for (SPEC 1, 4.1, 4.2).

``Channel`` is a closed set: code that chooses by channel matches on it (or on the typed
provider of ``kctl.config.model``) and ends with ``assert_never``, so a new channel makes the
type checker point at every branch still missing.
"""

from __future__ import annotations

from enum import StrEnum

from kctl.lean import Record


class Channel(StrEnum):
    WHATSAPP = "whatsapp"
    SMS = "sms"


class ChannelSpec(Record):
    __slots__ = ("adapter_path", "channel", "content_type", "headers", "label", "report_header")
    channel: Channel
    label: str  # how people write it: "WhatsApp", "SMS"
    headers: tuple[str, ...]  # the provider form's headers, all required
    # the header that carries the delivery report URL CleverTap gives the provider
    report_header: str
    # the sandbox route standing in for the adapter, and the body CleverTap posts to it
    adapter_path: str
    content_type: str

    def __init__(  # noqa: PLR0917
        self,
        channel: Channel,
        label: str,
        headers: tuple[str, ...],
        report_header: str,
        adapter_path: str,
        content_type: str,
    ) -> None:
        self.channel = channel
        self.label = label
        self.headers = headers
        self.report_header = report_header
        self.adapter_path = adapter_path
        self.content_type = content_type


JSON_TYPE = "application/json"
FORM_TYPE = "application/x-www-form-urlencoded"

WHATSAPP = ChannelSpec(
    Channel.WHATSAPP,
    "WhatsApp",
    headers=(
        "api-key",
        "sid",
        "kaleyra-host",
        "inbound-message-callback-url",
        "delivery-report-callback-url",
    ),
    report_header="delivery-report-callback-url",
    adapter_path="/whatsapp",
    content_type=JSON_TYPE,
)
SMS = ChannelSpec(
    Channel.SMS,
    "SMS",
    headers=("api-key", "sid", "kaleyra-host", "callback_url"),
    report_header="callback_url",
    adapter_path="/sms",
    content_type=FORM_TYPE,
)

CHANNELS: dict[Channel, ChannelSpec] = {WHATSAPP.channel: WHATSAPP, SMS.channel: SMS}

# the WhatsApp header for inbound messages (only WhatsApp has inbound through the adapter)
INBOUND_HEADER = "inbound-message-callback-url"
# headers whose value is a URL (checked as https, KC203)
URL_HEADERS = frozenset(
    {"kaleyra-host", "inbound-message-callback-url", "delivery-report-callback-url", "callback_url"}
)
# headers whose value is a secret: masked in all output, a literal value is KC205
SECRET_HEADERS = frozenset({"api-key"})


def channel_of(name: str) -> Channel | None:
    """The channel called ``name``, or None when kctl does not know it."""
    try:
        return Channel(name)
    except ValueError:
        return None
