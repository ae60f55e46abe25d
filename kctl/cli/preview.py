"""``kctl preview``: a template filled in, as the recipient will see it (registered on the app in
``kctl.cli.app``). Options in, one call of ``kctl.send.preview``, one renderer out.

No ``from __future__ import annotations``: typer reads the annotations at start-up (see app).
"""

from enum import StrEnum
from pathlib import Path
from typing import Annotated

import typer

from kctl.cli.dlt import DltRegistryOption


class PreviewFormat(StrEnum):
    text = "text"
    html = "html"
    json = "json"


def preview(
    config: Annotated[
        str,
        typer.Option(
            "--config",
            "-c",
            metavar="FILE",
            help="Provider config file (YAML).",
            show_default=False,
        ),
    ],
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
    lang: Annotated[
        str | None,
        typer.Option("--lang", metavar="CODE", help="WhatsApp template language code: --lang en."),
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param",
            metavar="VALUE",
            help="Placeholder value, in order (repeatable; default: the template's examples).",
        ),
    ] = None,
    body: Annotated[
        str | None,
        typer.Option("--body", metavar="TEXT", help="SMS free text instead of --template."),
    ] = None,
    sender: Annotated[
        str | None,
        typer.Option("--sender", metavar="ID", help="SMS sender ID (default: the provider's)."),
    ] = None,
    header_param: Annotated[
        str | None,
        typer.Option(
            "--header-param",
            metavar="VALUE",
            help="Value of a text header's {{1}}: --header-param 1234.",
        ),
    ] = None,
    media_url: Annotated[
        str | None,
        typer.Option(
            "--media-url",
            metavar="URL",
            help="Header media: --media-url https://cdn.example.com/a.png.",
        ),
    ] = None,
    location: Annotated[
        str | None,
        typer.Option(
            "--location", metavar="LAT,LONG", help="A location header: --location 12.9716,77.5946."
        ),
    ] = None,
    location_name: Annotated[
        str | None,
        typer.Option(
            "--location-name", metavar="NAME", help="Its name: --location-name 'MG Road'."
        ),
    ] = None,
    location_address: Annotated[
        str | None,
        typer.Option(
            "--location-address",
            metavar="TEXT",
            help="Its address: --location-address 'Bengaluru'.",
        ),
    ] = None,
    url_suffix: Annotated[
        list[str] | None,
        typer.Option(
            "--url-suffix",
            metavar="VALUE",
            help="Suffix for each dynamic URL button, in order: --url-suffix AB12.",
        ),
    ] = None,
    coupon_code: Annotated[
        str | None,
        typer.Option(
            "--coupon-code",
            metavar="CODE",
            help="The copy-code button's code: --coupon-code SAVE10.",
        ),
    ] = None,
    offer_expiry: Annotated[
        str | None,
        typer.Option(
            "--offer-expiry",
            metavar="WHEN",
            help="Offer expiry: epoch ms, ISO 8601, or +2h/+7d from now.",
        ),
    ] = None,
    card_param: Annotated[
        list[str] | None,
        typer.Option(
            "--card-param",
            metavar="CARD=VALUE",
            help="Card body value, CARD=VALUE (repeatable): 1=Asha.",
        ),
    ] = None,
    card_url_suffix: Annotated[
        list[str] | None,
        typer.Option(
            "--card-url-suffix",
            metavar="CARD=VALUE",
            help="Card's dynamic URL suffix, CARD=VALUE: 2=boots.",
        ),
    ] = None,
    card_media_url: Annotated[
        list[str] | None,
        typer.Option(
            "--card-media-url",
            metavar="CARD=URL",
            help="Card header media, CARD=URL: 1=https://cdn.example.com/1.png.",
        ),
    ] = None,
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

    from kctl.cli.base import wants_color, write_output
    from kctl.config.model import load_account
    from kctl.render import preview as render
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
