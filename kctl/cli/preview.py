"""``kctl preview``: a template filled in, as the recipient will see it (registered on the app in
``kctl.cli.app``). Options in, one call of ``kctl.send.preview``, one renderer out.

No ``from __future__ import annotations``: typer reads the annotations at start-up (see app).
"""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kctl.cli.base import (
    BodyOption,
    CardMediaUrlOption,
    CardParamOption,
    CardUrlSuffixOption,
    ConfigOption,
    CouponCodeOption,
    HeaderParamOption,
    LangOption,
    LocationAddressOption,
    LocationNameOption,
    LocationOption,
    MediaUrlOption,
    OfferExpiryOption,
    SenderOption,
    UrlSuffixOption,
)
from kctl.cli.dlt import DltRegistryOption


class PreviewFormat(StrEnum):
    text = "text"
    html = "html"
    json = "json"


def preview(
    config: ConfigOption,
    template: Annotated[
        str | None,
        typer.Option(
            "--template", "-t", metavar="NAME", help="Template name: --template order_update."
        ),
    ] = None,
    provider: Annotated[
        str | None,
        typer.Option(
            "--provider",
            "-p",
            metavar="NICK",
            help="Provider nickname (default: the only/default one).",
        ),
    ] = None,
    lang: LangOption = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="VALUE",
            help="Placeholder value, in order (repeatable; default: the template's examples).",
        ),
    ] = None,
    body: BodyOption = None,
    sender: SenderOption = None,
    header_param: HeaderParamOption = None,
    media_url: MediaUrlOption = None,
    location: LocationOption = None,
    location_name: LocationNameOption = None,
    location_address: LocationAddressOption = None,
    url_suffix: UrlSuffixOption = None,
    coupon_code: CouponCodeOption = None,
    offer_expiry: OfferExpiryOption = None,
    card_param: CardParamOption = None,
    card_url_suffix: CardUrlSuffixOption = None,
    card_media_url: CardMediaUrlOption = None,
    fmt: Annotated[
        PreviewFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text (a bubble in the terminal), html or json.",
            case_sensitive=False,
        ),
    ] = PreviewFormat.text,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
    output_file: Annotated[
        Path | None,
        typer.Option(
            "--output-file", "-o", metavar="FILE", help="Write the preview here: -o preview.html."
        ),
    ] = None,
    dlt_registry: DltRegistryOption = None,
) -> None:
    """Show a message as it will appear: WhatsApp header, body, footer, buttons and cards; SMS
    text with its encoding, parts and DLT match. Exit 1 when the filled message breaks a limit
    or DLT would drop it."""
    import sys

    from kctl.cli.exits import write_output
    from kctl.config.model import load_account
    from kctl.render import preview as render
    from kctl.render.term import wants_color
    from kctl.send.preview import Request
    from kctl.send.preview import preview as build_preview
    from kctl.send.values import template_values

    request = Request(
        template=template,
        language=lang,
        params=tuple(param or ()),
        body=body,
        sender=sender,
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
        ),
    )
    chosen = load_account(config, dlt_registry).provider(provider)
    view = build_preview(chosen, request)
    chosen_format = PreviewFormat.json if as_json else fmt
    match chosen_format:
        case PreviewFormat.text:
            import shutil

            terminal = output_file is None and sys.stdout.isatty()
            width = shutil.get_terminal_size((80, 24)).columns if terminal else 80
            color = output_file is None and wants_color(sys.stdout)
            text = render.render_text(view, color=color, width=width)
        case PreviewFormat.html:
            text = render.render_html(view)
        case PreviewFormat.json:
            text = render.render_json(view)
    write_output(text, output_file)
    if view.problems:
        raise typer.Exit(1)
