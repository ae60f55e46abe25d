"""What a provider answers CleverTap (SPEC 4.3), and how long CleverTap waits for it."""

from __future__ import annotations

# CleverTap waits this long for the provider's answer, at provider save, template save and in
# campaigns alike; a later answer counts as a timeout.
DEADLINE_S = 1.0

SUCCESS = "success"
FAILURE = "failure"

# failure codes in ``{"status":"failure","error":{"code":N,...}}``: (label, what to check)
FAILURE_CODES: dict[int, tuple[str, str]] = {
    2000: (
        "invalid credentials",
        "the adapter could not authenticate with Kaleyra: check the api-key and sid headers "
        "(and kaleyra-host: a key only works in its own region)",
    ),
    2001: (
        "template parameters do not match",
        "the template name, language or number of --param values does not match the template "
        "approved for this number",
    ),
    2002: (
        "invalid phone number",
        "--to must be a full international number the channel can reach (country code, no trunk 0)",
    ),
    2003: (
        "recipient not subscribed",
        "the recipient has not opted in (or has opted out) for this channel; "
        "test with a number that has opted in",
    ),
    2004: (
        "other provider error",
        "see the error message; if it does not explain, send it with the msgId to Kaleyra support",
    ),
}
INVALID_CREDENTIALS = 2000
TEMPLATE_MISMATCH = 2001
INVALID_NUMBER = 2002
OTHER_ERROR = 2004

# --- what CleverTap answers a callback (SPEC 4.5, 4.7) ---------------------------------------
#
# CleverTap documents these answers for SMS callbacks only; its WhatsApp page says nothing about
# what a status or inbound callback gets back. kctl listen answers WhatsApp callbacks the same
# way, on the reading that both arrive at the same kind of per-customer callback endpoint.

CALLBACK_PROCESSED = {"status": "success", "message": "Callback processed successfully"}
CALLBACK_BAD_REQUEST_STATUS = 400
CALLBACK_BAD_REQUEST_MESSAGE = "Bad request. Some mandatory parameter was missing."


def callback_bad_request(missing_fields: list[str], timestamp: int) -> dict[str, object]:
    """The 400 body naming what is missing or malformed (the page's sample also carries the
    time it answered, in epoch seconds)."""
    return {
        "status": "error",
        "message": CALLBACK_BAD_REQUEST_MESSAGE,
        "error_code": CALLBACK_BAD_REQUEST_STATUS,
        "details": {"missing_fields": missing_fields, "timestamp": timestamp},
    }
