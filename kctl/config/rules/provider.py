"""The document and each provider: KC006, KC101, KC105..KC107, then the channel's own rules."""

from __future__ import annotations

from kctl.config.loader import Node
from kctl.config.rules import headers, sms, whatsapp
from kctl.config.rules.base import Claims, Reporter, first_at, shown
from kctl.config.rules.phones import check_phone
from kctl.contract.channels import Channel, channel_of
from kctl.contract.forms import CONCURRENCY_MAX, CONCURRENCY_MIN
from kctl.lean import assert_never
from kctl.urls import HOST_NAME_RULE, has_invalid_host, https_url_problem


def check_account(reporter: Reporter, root: Node) -> None:
    version = root.get("version")
    if version is not None and type(version.value) is int and version.value != 1:
        reporter.add(
            "KC006",
            version,
            "version",
            f"unsupported config version {version.value}; kctl reads version 1",
        )
    providers = root.get("providers")
    if providers is None or not providers.is_seq:
        return
    nicknames, defaults = Claims(), Claims()
    for i, provider in enumerate(providers.items()):
        if not provider.is_map:
            continue
        path = f"providers[{i}]"
        nick = provider.get("nickname")
        if nick is not None and nick.text() and (first := nicknames.earlier(nick.value, nick)):
            reporter.add(
                "KC101",
                nick,
                f"{path}.nickname",
                f"duplicate provider nickname '{nick.value}' {first_at(first, nick)}",
            )
        channel_node = provider.get("channel")
        channel = channel_of(channel_node.text() or "") if channel_node is not None else None
        default = provider.get("default")
        if (
            channel is not None
            and default is not None
            and default.value is True
            and (first := defaults.earlier(channel, default))
            and first is not default  # the same provider again: KC101 says so already
        ):
            reporter.add(
                "KC107",
                default,
                f"{path}.default",
                f"more than one default {channel} provider (first at line {first.line})",
                "mark only one provider per channel as default",
            )
        if reporter.first_visit(provider):
            check_provider(reporter, provider, path, channel)


def check_provider(reporter: Reporter, p: Node, path: str, channel: Channel | None) -> None:
    endpoint = p.get("endpoint")
    url = endpoint.text() if endpoint is not None else None
    problem = https_url_problem(url) if url is not None else None
    if endpoint is not None and url is not None and problem is not None:
        reporter.add(
            "KC105",
            endpoint,
            f"{path}.endpoint",
            f"endpoint '{shown(url)}' {problem}",
            HOST_NAME_RULE
            if has_invalid_host(url)
            else "CleverTap calls https only; http:// is accepted for 127.0.0.1/localhost",
        )
    concurrency = p.get("max_concurrency")
    if (
        concurrency is not None
        and type(concurrency.value) is int
        and not CONCURRENCY_MIN <= concurrency.value <= CONCURRENCY_MAX
    ):
        reporter.add(
            "KC106",
            concurrency,
            f"{path}.max_concurrency",
            f"max_concurrency {concurrency.value} is outside {CONCURRENCY_MIN}..{CONCURRENCY_MAX}",
            "leave it out to use CleverTap's default",
        )
    recipients = p.get("test_recipients")
    if recipients is not None:
        for j, number in enumerate(recipients.items()):
            check_phone(reporter, number, f"{path}.test_recipients[{j}]")
    provider_headers = p.get("headers")
    if provider_headers is not None and provider_headers.is_map:
        headers.check_headers(reporter, provider_headers, f"{path}.headers", channel)
    match channel:
        case None:
            return  # KC102 (or KC004) already says what is wrong with the channel
        case Channel.WHATSAPP:
            whatsapp.check_whatsapp(reporter, p, path)
        case Channel.SMS:
            sms.check_sms(reporter, p, path)
        case _:
            assert_never(channel)
