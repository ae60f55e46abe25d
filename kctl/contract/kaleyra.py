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
