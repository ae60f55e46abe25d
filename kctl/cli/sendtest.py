"""send-test's options to one core call and its renderers, without typer.

The typer command (``kctl.cli.send.send_test``) turns the command line into these arguments;
the fast lane (``kctl.cli.fast``) does the same for the usual calls without importing typer.
Both call ``send_test`` here, so a send makes the same calls and prints the same bytes on
either path. Errors are raised, as from any command, for the entry point to report.
"""

from __future__ import annotations

import contextlib
import sys

from kctl.errors import Interrupted, KctlError, UsageError

TYPE_CHECKING = False  # not typing's: the fast lane would pay for importing it
if TYPE_CHECKING:
    from pathlib import Path
    from typing import Any

    from kctl.contract.channels import Channel
    from kctl.send.run import Finished, SendFailed

# the defaults the command line shows (kctl.cli.send declares its options with these)
TIMEOUT = 10.0  # seconds per attempt
RETRIES = 2
VIA = "adapter"


def send_test(
    config: str,
    to: str,
    *,
    provider: str | None = None,
    template: str | None = None,
    lang: str | None = None,
    param: list[str] | None = None,
    header_param: str | None = None,
    media_url: str | None = None,
    location: str | None = None,
    location_name: str | None = None,
    location_address: str | None = None,
    url_suffix: list[str] | None = None,
    coupon_code: str | None = None,
    offer_expiry: str | None = None,
    card_param: list[str] | None = None,
    card_url_suffix: list[str] | None = None,
    card_media_url: list[str] | None = None,
    prop: list[str] | None = None,
    text: str | None = None,
    image: str | None = None,
    video: str | None = None,
    audio: str | None = None,
    document: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
    body: str | None = None,
    sender: str | None = None,
    message_type: str | None = None,
    var: list[str] | None = None,
    via: str = VIA,
    dry_run: bool = False,
    curl: bool = False,
    as_json: bool = False,
    timeout: float = TIMEOUT,
    retries: int = RETRIES,
    verbose: bool = False,
    show_secrets: bool = False,
    force: bool = False,
    ca_bundle: Path | None = None,
    sandbox: bool = False,
    wait_dlr: float | None = None,
    listen_url: str | None = None,
    listen_port: int = 0,
    junit: Path | None = None,
    dlt_registry: str | None = None,
) -> int:
    """Run one send-test, rendering its events as they come; the exit code. A send that got
    no reply raises its error (except with --json, whose document holds it)."""
    from kctl.config.model import load_account
    from kctl.send.build import Message, parse_variables
    from kctl.send.run import Finished, SendFailed, SendOptions, run_send_test
    from kctl.send.values import freeform, template_values
    from kctl.send.wire import Via

    message = Message(
        to=to,
        template=template,
        language=lang,
        params=tuple(param or ()),
        body=body,
        sender=sender,
        type=message_type,
        # the sandbox sends nothing anywhere: its magic recipients need no --force
        force=force or sandbox,
        variables=parse_variables(var or []),
        values=template_values(
            header_param=header_param,
            media_url=media_url,
            location=location,
            location_name=location_name,
            location_address=location_address,
            url_suffixes=url_suffix,
            coupon_code=coupon_code,
            offer_expiry=offer_expiry,
            card_params=card_param,
            card_url_suffixes=card_url_suffix,
            card_media_urls=card_media_url,
            props=prop,
        ),
        freeform=freeform(
            text=text,
            image=image,
            video=video,
            audio=audio,
            document=document,
            caption=caption,
            filename=filename,
        ),
    )
    options = SendOptions(
        via=Via(via),
        dry_run=dry_run,
        timeout=timeout,
        retries=retries,
        verify=str(ca_bundle) if ca_bundle else True,
        show_secrets=show_secrets,
    )
    if wait_dlr is not None and dry_run:
        raise UsageError("--wait-dlr goes with a real send, not --dry-run")
    if (listen_url or listen_port) and wait_dlr is None:
        raise UsageError("--listen-url and --listen-port go with --wait-dlr")
    channel = _channel_of_options(
        sms=(body, sender, message_type, var),
        whatsapp=(
            lang, header_param, media_url, location, location_name, location_address,
            url_suffix, coupon_code, offer_expiry, card_param, card_url_suffix, card_media_url,
            prop, text, image, video, audio, document, caption, filename,
        ),
    )  # fmt: skip
    chosen = load_account(config, dlt_registry).provider(provider, channel, template)
    junit_name = f"{chosen.nickname} {chosen.channel} to {to}" if junit is not None else None
    renderers = _renderers(
        as_json=as_json, curl=curl, dry_run=dry_run, verbose=verbose, junit=junit_name
    )
    failed: SendFailed | None = None
    code = 0
    events = run_send_test(
        chosen,
        message,
        options,
        sandbox=sandbox,
        wait_dlr=wait_dlr,
        listen_url=listen_url,
        listen_port=listen_port,
    )
    try:
        # closing: an interruption while a renderer writes still stops the embedded servers
        with contextlib.closing(events):
            for event in events:
                for render in renderers:
                    render(event)
                if isinstance(event, SendFailed):
                    failed = event
                elif isinstance(event, Finished):
                    code = event.exit_code
    except (KctlError, Interrupted) as e:
        # CI reads the JUnit file: a run cut short (SIGTERM at a job's timeout) says so there
        if junit is not None:
            _write_junit(junit, renderers, Finished(e.exit_code, e.message))
        raise
    if junit is not None:
        _write_junit(junit, renderers)
    if failed is not None and not as_json:
        raise failed.error
    return code


def _write_junit(path: Path, renderers: list[Any], ending: Finished | None = None) -> None:
    from kctl.files import write_atomic
    from kctl.render.sendtest import JunitRenderer

    report = next(r for r in renderers if isinstance(r, JunitRenderer))
    if ending is not None and report.finished is None:
        report(ending)
    write_atomic(path, report.document())


def _channel_of_options(sms: tuple[object, ...], whatsapp: tuple[object, ...]) -> Channel | None:
    """The channel the options belong to, when they name one: picks the provider of an
    account with both channels without --provider."""
    from kctl.contract.channels import Channel

    for_sms = any(v is not None for v in sms)
    for_whatsapp = any(v is not None for v in whatsapp)
    if for_sms == for_whatsapp:
        return None  # none, or both: build_request refuses the options that do not fit
    return Channel.SMS if for_sms else Channel.WHATSAPP


def _renderers(
    *, as_json: bool, curl: bool, dry_run: bool, verbose: bool, junit: str | None
) -> list[Any]:
    from kctl.render.sendtest import CurlRenderer, JsonRenderer, JunitRenderer, TextRenderer
    from kctl.render.term import wants_color

    renderers: list[Any] = []
    if as_json:
        renderers.append(JsonRenderer(sys.stdout, curl=curl))
    elif curl:
        # stdout is the curl command alone; a real send still shows what came back, on stderr
        renderers.append(CurlRenderer(sys.stdout))
        if not dry_run:
            color = wants_color(sys.stderr)
            renderers.append(TextRenderer(sys.stderr, color=color, verbose=verbose))
    else:
        color = wants_color(sys.stdout)
        renderers.append(TextRenderer(sys.stdout, color=color, verbose=verbose, curl=curl))
    if junit is not None:
        renderers.append(JunitRenderer(junit))
    return renderers
