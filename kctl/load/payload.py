"""What each load request carries: exactly what CleverTap sends, built by the send builder.

WhatsApp: a template's payload filled with its ``examples`` (values a template has no example
for are made up and marked ``kctl-sample``), or CleverTap's validation payload. SMS: the adapter
form for a template (``{#var#}`` filled with marked samples) or a marked sample text.

CleverTap gives every message its own id, and adapters may rely on it (deduplication, delivery
reports), so every load request gets a fresh one. Building a WhatsApp request takes about 90 us,
a real share of the CPU the client must keep for measuring, so the body is built once and the
fresh id is spliced into it; ``BodyMaker`` proves once, against the builder, that the splice
gives the builder's bytes, and falls back to building each body when it does not.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import assert_never
from urllib.parse import quote_plus

from kctl.config.model import (
    Provider,
    SmsProvider,
    WhatsAppProvider,
)
from kctl.contract import sms
from kctl.contract import whatsapp as wa
from kctl.contract.channels import JSON_TYPE
from kctl.errors import UsageError
from kctl.send.build import Message, build_request, new_message_id, whatsapp_json_request
from kctl.send.samples import SAMPLE, template_samples
from kctl.send.whatsapp import validation_payload
from kctl.send.wire import Request, Via

SAMPLE_TEXT = "kctl load test message"


@dataclass(frozen=True, slots=True)
class Payload:
    """The load's request for one recipient, and how to give it a fresh message id."""

    request: Request
    kind: str  # "template", "validation", "sms template", "sms text"
    name: str | None  # the template's name (with the language for WhatsApp)
    samples: tuple[str, ...]  # values kctl made up, as "what=value"
    fresh: Callable[[], bytes]  # the body with a new message id, as CleverTap would send it


def load_payloads(
    provider: Provider,
    recipients: tuple[str, ...],
    *,
    template: str | None = None,
    language: str | None = None,
    validation: bool = False,
) -> list[Payload]:
    """One Payload per recipient (E.164 numbers); UsageError when the options do not fit."""
    return [
        _payload(provider, to, template=template, language=language, validation=validation)
        for to in recipients
    ]


def _payload(
    provider: Provider, to: str, *, template: str | None, language: str | None, validation: bool
) -> Payload:
    match provider:
        case WhatsAppProvider():
            if validation:
                if template is not None:
                    raise UsageError("give --template or --validation, not both")
                return _validation(provider, to)
            if template is None and not provider.templates:
                return _validation(provider, to)
            chosen = (
                provider.find_template(template, language)
                if template is not None
                else provider.templates[0]
            )
            values, samples = template_samples(chosen)
            message = Message(
                to=to,
                template=chosen.name,
                language=chosen.language,
                params=values.params,
                values=values.replace(params=()),
                force=True,  # the recipients were checked by the caller, per target
            )
            return _built(provider, message, "template", chosen.label, samples)
        case SmsProvider():
            if validation or language is not None:
                raise UsageError(
                    "--validation and --lang are for WhatsApp providers;"
                    f" '{provider.nickname}' is SMS"
                )
            sms_template = (
                provider.find_template(template)
                if template is not None
                else (provider.templates[0] if provider.templates else None)
            )
            if sms_template is None:
                message = Message(to=to, body=SAMPLE_TEXT, force=True)
                return _built(provider, message, "sms text", None, (f"body={SAMPLE_TEXT}",))
            count = sms_template.body.count(sms.VARIABLE)
            params = tuple(f"{SAMPLE}-{n}" for n in range(1, count + 1))
            message = Message(to=to, template=sms_template.name, params=params, force=True)
            samples = tuple(f"{{#var#}} {n}={v}" for n, v in enumerate(params, 1))
            return _built(provider, message, "sms template", sms_template.name, samples)
        case _:
            assert_never(provider)


def _validation(provider: WhatsAppProvider, to: str) -> Payload:
    # CleverTap sends the validation payload with the same msgId every time
    request = whatsapp_json_request(
        provider, validation_payload(provider, to), wa.VALIDATION_MSG_ID
    )
    body = request.body
    return Payload(request, "validation", None, (), lambda: body)


def _built(
    provider: Provider, message: Message, kind: str, name: str | None, samples: tuple[str, ...]
) -> Payload:
    def build(message_id: str) -> Request:
        return build_request(provider, message, Via.ADAPTER, message_id)

    request = build(new_message_id(provider))
    maker = BodyMaker(request, build, lambda: new_message_id(provider))
    return Payload(request, kind, name, samples, maker)


class BodyMaker:
    """``maker()`` is the body of ``build(new_id())``, made by splicing where that is proven
    to give the same bytes."""

    def __init__(
        self, request: Request, build: Callable[[str], Request], new_id: Callable[[], str]
    ) -> None:
        self._build = build
        self._new_id = new_id
        self._encode = _encoder(request.content_type)
        self._parts: tuple[bytes, bytes] | None = None
        pieces = request.body.split(self._encode(request.message_id))
        if request.message_id and len(pieces) == 2:
            self._parts = (pieces[0], pieces[1])
            probe = new_id()
            if self._splice(probe) != build(probe).body:
                self._parts = None

    @property
    def splices(self) -> bool:
        return self._parts is not None

    def _splice(self, message_id: str) -> bytes:
        assert self._parts is not None
        return self._parts[0] + self._encode(message_id) + self._parts[1]

    def __call__(self) -> bytes:
        message_id = self._new_id()
        if self._parts is not None:
            return self._splice(message_id)
        return self._build(message_id).body


def _encoder(content_type: str) -> Callable[[str], bytes]:
    if content_type == JSON_TYPE:
        return lambda s: json.dumps(s, ensure_ascii=False)[1:-1].encode("utf-8")
    return lambda s: quote_plus(s).encode("ascii")


# --- sample values ------------------------------------------------------------------------------
