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
# Other statuses the page lists: 429 answers {"message": "Too many requests to process"}. The
# sandbox's 429 carries that "message" and also the failure object the rest of its answers
# carry, so a client reading either shape finds what it looks for.
TOO_MANY_REQUESTS = 429
TOO_MANY_REQUESTS_MESSAGE = "Too many requests to process"
TEMPLATE_MISMATCH = 2001
INVALID_NUMBER = 2002
OTHER_ERROR = 2004


# --- what CleverTap answers a callback (SPEC 4.5, 4.7) ------------------------------------------
#
# Only CleverTap's Generic SMS page documents these answers; its WhatsApp page says nothing, so
# listen gives WhatsApp callbacks the same ones. The page's fuller samples add
# "data": {"processed_events", "timestamp"} to the 200 and "timestamp" to the 400's details;
# listen sends the bodies below, which every sample contains.

CALLBACK_OK: dict[str, str] = {
    "status": "success",
    "message": "Callback processed successfully",
}
CALLBACK_BAD_REQUEST = 400
CALLBACK_BAD_REQUEST_MESSAGE = "Bad request. Some mandatory parameter was missing."


def callback_error(missing: list[str]) -> dict[str, object]:
    """CleverTap's 400 answer to a callback with mandatory keys missing (or malformed:
    CleverTap answers a wrong format the same way, naming the keys it could not use)."""
    return {
        "status": "error",
        "message": CALLBACK_BAD_REQUEST_MESSAGE,
        "error_code": CALLBACK_BAD_REQUEST,
        "details": {"missing_fields": list(missing)},
    }
