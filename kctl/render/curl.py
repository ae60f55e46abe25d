"""A request as a curl command that runs as printed and never contains a secret."""

from __future__ import annotations

import re
import shlex

from kctl.contract.channels import SECRET_HEADERS
from kctl.secrets import mask, parse_reference
from kctl.send.wire import Request

_REFERENCE = re.compile(r"\$\{[^}]*\}")


def shell_word(text: str) -> str:
    """``text`` as one shell word, each ${...} reference produced by the shell at run time.

    ``${ENV}`` stays an environment expansion, ``${keyring:NAME}`` becomes a command
    substitution reading the keyring, so the command runs without containing the secret.
    """
    parts: list[str] = []
    last = 0
    for match in _REFERENCE.finditer(text):
        ref = parse_reference(match.group(0))
        if ref is None:
            continue
        if match.start() > last:
            parts.append(shlex.quote(text[last : match.start()]))
        if ref.kind == "env":
            parts.append(f'"${{{ref.name}}}"')
        else:
            parts.append(f'"$(kctl secrets get {shlex.quote(ref.name)} --show-secrets)"')
        last = match.end()
    if last < len(text) or not parts:
        parts.append(shlex.quote(text[last:]))
    return "".join(parts)  # adjacent quoted words are one word to the shell


def curl_command(request: Request, *, show_secrets: bool = False) -> str:
    """An equivalent curl command: references are read at run time, literal secrets masked."""

    def secret(text: str) -> str:
        hidden = not show_secrets and parse_reference(text) is None
        return mask(text) if hidden else text

    parts = ["curl -sS -X " + request.method + " " + shell_word(request.url)]
    for name, value in request.headers:
        shown = secret(value) if name.lower() in SECRET_HEADERS else value
        parts.append("-H " + shell_word(f"{name}: {shown}"))
    parts.append("-H " + shlex.quote(f"Content-Type: {request.content_type}"))
    if request.basic_auth is not None:
        user, password = request.basic_auth
        parts.append("-u " + shell_word(f"{user}:{secret(password)}"))
    parts.append("--data-binary " + shlex.quote(request.body.decode("utf-8", "replace")))
    return " \\\n  ".join(parts)
