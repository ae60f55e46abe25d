"""render-callback-url: the URL to hand to Kaleyra, from a config or from flags."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, assert_never

from kctl.contract.channels import CHANNELS, INBOUND_HEADER, Channel
from kctl.contract.numbers import DEFAULT_PAYLOAD_VERSION, is_payload_version
from kctl.errors import UsageError
from kctl.secrets import parse_reference, resolve_secret
from kctl.urls import render_incoming_url

if TYPE_CHECKING:
    from kctl.config.model import WhatsAppProvider


def _plain(value: str | None) -> str | None:
    if value is not None and parse_reference(value) is not None:
        return resolve_secret(value)
    return value


def callback_url_for(
    *,
    config: str | None,
    nickname: str | None,
    incoming_url: str | None,
    inbound_callback_url: str | None,
    payload_version: str | None,
) -> dict[str, Any]:
    """The URL and its parts. Flags override the config's values."""
    provider: WhatsAppProvider | None = None
    if config is not None:
        # the config model pulls in the YAML loader: only when there is a config to read
        from kctl.config.model import SmsProvider, WhatsAppProvider, load_account

        account = load_account(config)
        # without --provider, the Incoming URL is the WhatsApp provider's, when there is one
        has_whatsapp = any(p.channel is Channel.WHATSAPP for p in account.providers)
        channel = Channel.WHATSAPP if nickname is None and has_whatsapp else None
        chosen = account.provider(nickname, channel)
        match chosen:
            case WhatsAppProvider():
                provider = chosen
            case SmsProvider():
                if incoming_url or inbound_callback_url:
                    raise UsageError(
                        f"provider '{chosen.nickname}' is an SMS provider: it has no Incoming URL",
                        "an SMS provider's URL for Kaleyra is its delivery report callback_url",
                    )
                url = _plain(chosen.header(CHANNELS[chosen.channel].report_header)) or ""
                return {"provider": chosen.nickname, "channel": chosen.channel.value, "url": url}
            case _:
                assert_never(chosen)
    elif nickname is not None:
        raise UsageError("--provider needs --config")
    base = incoming_url or (provider.incoming_url if provider else None)
    inbound = inbound_callback_url or (
        _plain(provider.header(INBOUND_HEADER)) if provider else None
    )
    if payload_version is not None and not is_payload_version(payload_version):
        raise UsageError(
            f"--payload-version '{payload_version}' is malformed",
            'copy the Payload Version from CleverTap\'s provider page, e.g. "0.1"',
        )
    version = payload_version or (provider.payload_version if provider else None)
    if not base:
        where = f"provider '{provider.nickname}' has no incoming_url" if provider else None
        raise UsageError(
            (where + "; pass --incoming-url") if where else "--incoming-url is required",
            "the Incoming URL base comes from Kaleyra support",
        )
    if not inbound:
        raise UsageError(
            "--inbound-callback-url is required",
            "copy it from CleverTap's provider page (Inbound Message Callback URL)",
        )
    rendered = render_incoming_url(base, inbound, version or DEFAULT_PAYLOAD_VERSION)
    return {
        "provider": provider.nickname if provider else None,
        "channel": Channel.WHATSAPP.value,
        "url": rendered.url,
        "base": rendered.base,
        "inbound_message_callback_url": rendered.inbound_callback_url,
        "payload_version": rendered.payload_version,
    }


def callback_url_for_provider(provider: WhatsAppProvider) -> str:
    """The Incoming URL of ``provider``'s number, from its config alone (``kctl plan``)."""
    if not provider.incoming_url:
        raise UsageError(
            f"provider '{provider.nickname}' has no incoming_url",
            "add incoming_url: the URL Kaleyra support gives for the number",
        )
    inbound = _plain(provider.header(INBOUND_HEADER))
    if not inbound:
        raise UsageError(f"provider '{provider.nickname}' has no {INBOUND_HEADER} header")
    return render_incoming_url(provider.incoming_url, inbound, provider.payload_version).url
