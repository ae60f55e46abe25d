"""send-test: pick the provider, build the request, resolve secrets, send, classify.

Build, then send: the same ``Request`` value feeds --dry-run, --curl, --json and a real send.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from kctl.build import (
    Message,
    build_request,
    curl_command,
    literal_secrets,
    new_message_id,
    resolve_request,
)
from kctl.model import Account
from kctl.outcome import Outcome
from kctl.secrets import Masker
from kctl.wire import Request, Response


@dataclass(frozen=True, slots=True)
class SendOptions:
    via: str = "adapter"  # adapter | direct
    dry_run: bool = False
    timeout: float = 10.0
    retries: int = 2
    verify: bool | str = True  # or a CA bundle path
    show_secrets: bool = False
    message_id: str = field(default_factory=new_message_id)


@dataclass(frozen=True, slots=True)
class Prepared:
    """A request ready to go: what to show, what to send, and how to mask both."""

    shown: Request  # secrets resolved only when they will be sent
    to_send: Request | None  # None on a dry run
    masker: Masker
    curl: str


def prepare(
    account: Account, nickname: str | None, message: Message, options: SendOptions
) -> Prepared:
    provider = account.provider(nickname)
    request = build_request(provider, message, options.via, options.message_id)
    # the curl export keeps references, so it runs without printing any secret
    curl = curl_command(request, show_secrets=options.show_secrets)
    if options.dry_run:  # needs no secrets: references are shown as written
        masker = Masker() if options.show_secrets else Masker(literal_secrets(request))
        return Prepared(request, None, masker, curl)
    resolved, masker = resolve_request(request)
    if options.show_secrets:
        return Prepared(resolved, resolved, Masker(), curl_command(resolved, show_secrets=True))
    return Prepared(resolved, resolved, masker, curl)


def deliver(prepared: Prepared, options: SendOptions) -> tuple[Response, Outcome]:
    from kctl.outcome import classify
    from kctl.transport import send

    assert prepared.to_send is not None, "a dry run sends nothing"
    response = send(
        prepared.to_send, timeout=options.timeout, retries=options.retries, verify=options.verify
    )
    return response, classify(response, options.via)
