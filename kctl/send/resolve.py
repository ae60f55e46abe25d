"""Secrets, resolved once right before a request is sent, and masked everywhere after."""

from __future__ import annotations

import re
from urllib.parse import quote

from kctl.contract.channels import SECRET_HEADERS
from kctl.secrets import Masker, parse_reference, resolve_secret
from kctl.send.wire import Request

_REFERENCE = re.compile(r"\$\{[^}]*\}")


def literal_secrets(request: Request) -> list[str]:
    """Secret values written literally (an api-key in the file) that output must still hide."""
    found = [v for k, v in request.headers if k.lower() in SECRET_HEADERS and v]
    if request.basic_auth is not None and request.basic_auth[1]:
        found.append(request.basic_auth[1])
    return [v for v in found if parse_reference(v) is None]


def resolve_request(request: Request) -> tuple[Request, Masker]:
    """Resolve every ${...} reference; the Masker hides each secret value in all output."""
    secrets = literal_secrets(request)

    def resolve(value: str) -> str:
        if parse_reference(value) is None:
            return value
        resolved = resolve_secret(value)
        secrets.append(resolved)
        return resolved

    def resolve_in_url(match: re.Match[str]) -> str:
        value = resolve(match.group(0))
        # the host part is a URL itself; anything later (the sid) is one path segment
        return value if match.start() == 0 else quote(value, safe="")

    url = _REFERENCE.sub(resolve_in_url, request.url)
    headers = tuple((name, resolve(value)) for name, value in request.headers)
    auth = request.basic_auth
    if auth is not None:
        auth = (resolve(auth[0]), resolve(auth[1]))
    resolved = request.replace(url=url, headers=headers, basic_auth=auth)
    return resolved, Masker(secrets, basic_auth=[auth] if auth is not None else [])
