"""What every command module shares: the typer app, output helpers and common options.

The commands live in one module per group (check, send, servers, setup, secrets, templates);
app.py mounts them and holds the entry point. No ``from __future__ import annotations``: typer
would then eval() every option's annotation string at start-up.
"""

from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer

from kctl.cli.complete import complete_provider, complete_secret, complete_template
from kctl.cli.help import KctlCommand, KctlGroup

CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 120}

app = typer.Typer(
    name="kctl",
    cls=KctlGroup,
    help="Provision and test Kaleyra as a CleverTap Generic (Other) WhatsApp/SMS provider.",
    epilog="""
    kctl init whatsapp -o kctl.yaml          # a config, by prompts
    kctl validate-config kctl.yaml           # every finding at file:line:col
    kctl plan --config kctl.yaml             # what to type into CleverTap's form
    kctl send-test --sandbox -c kctl.yaml --to +919812345678 -t hello_world \\
        --wait-dlr 10                        # the whole round trip, on loopback
    """,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
    context_settings=CONTEXT,
)


def group(help_text: str, example: str) -> typer.Typer:
    """A command group (``secrets``, ``templates``) with kctl's help."""
    return typer.Typer(
        cls=KctlGroup,
        help=help_text,
        epilog=example,
        no_args_is_help=True,
        rich_markup_mode=None,
        context_settings=CONTEXT,
    )


def command(
    on: typer.Typer, name: str, *, example: str, panel: str | None = None
) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Register a command with its example(s), one per line, shown under Examples in --help."""
    return on.command(name, cls=KctlCommand, epilog=example, rich_help_panel=panel)


ConfigOption = Annotated[
    str,
    typer.Option(
        "--config", "-c", metavar="FILE", help="Provider config file (YAML).", show_default=False
    ),
]
OptionalConfig = Annotated[
    str | None,
    typer.Option("--config", "-c", metavar="FILE", help="Provider config file (YAML)."),
]
ProviderOption = Annotated[
    str | None,
    typer.Option(
        "--provider",
        "-p",
        metavar="NICK",
        help="Provider nickname (default: the only one, or the one the other options point to).",
        autocompletion=complete_provider,
    ),
]
TemplateOption = Annotated[
    str | None,
    typer.Option(
        "--template",
        "-t",
        metavar="NAME",
        help="Template name, as in the config.",
        autocompletion=complete_template,
    ),
]
SecretName = Annotated[
    str,
    typer.Argument(
        metavar="NAME",
        help="Entry name, as in ${keyring:NAME}: kaleyra/api-key.",
        autocompletion=complete_secret,
        show_default=False,
    ),
]
ShowSecrets = Annotated[
    bool, typer.Option("--show-secrets", help="Print secret values instead of ****last4.")
]
JsonFlag = Annotated[bool, typer.Option("--json", help="Print one JSON document on stdout.")]
YesFlag = Annotated[
    bool, typer.Option("--yes", "-y", help="Do not ask for confirmation (scripts).")
]
OutputFile = Annotated[
    Path | None,
    typer.Option(
        "--output-file", "-o", metavar="FILE", help="Write the report here instead of stdout."
    ),
]
CaBundle = Annotated[
    Path | None,
    typer.Option("--ca-bundle", metavar="FILE", help="CA certificates to trust (PEM file)."),
]
PortOption = Annotated[
    int,
    typer.Option(
        "--port", metavar="PORT", help="Loopback port (0: any free port).", min=0, max=65535
    ),
]

# what a message holds, where send-test and preview (and load, --lang) take the same value
LangOption = Annotated[
    str | None,
    typer.Option("--lang", metavar="CODE", help="WhatsApp template language code: --lang en."),
]
BodyOption = Annotated[
    str | None,
    typer.Option("--body", metavar="TEXT", help="SMS free text instead of --template."),
]
SenderOption = Annotated[
    str | None,
    typer.Option("--sender", metavar="ID", help="SMS sender ID (default: the provider's)."),
]
HeaderParamOption = Annotated[
    str | None,
    typer.Option(
        "--header-param",
        metavar="VALUE",
        help="Value of a text header's {{1}}: --header-param 1234.",
    ),
]
MediaUrlOption = Annotated[
    str | None,
    typer.Option(
        "--media-url",
        metavar="URL",
        help="Header media instead of the template's sample: --media-url https://cdn.example.com/a.png.",
    ),
]
LocationOption = Annotated[
    str | None,
    typer.Option(
        "--location", metavar="LAT,LONG", help="A location header: --location 12.9716,77.5946."
    ),
]
LocationNameOption = Annotated[
    str | None,
    typer.Option("--location-name", metavar="NAME", help="Its name: --location-name 'MG Road'."),
]
LocationAddressOption = Annotated[
    str | None,
    typer.Option(
        "--location-address", metavar="TEXT", help="Its address: --location-address 'Bengaluru'."
    ),
]
CouponCodeOption = Annotated[
    str | None,
    typer.Option(
        "--coupon-code", metavar="CODE", help="The copy-code button's code: --coupon-code SAVE10."
    ),
]
OfferExpiryOption = Annotated[
    str | None,
    typer.Option(
        "--offer-expiry",
        metavar="WHEN",
        help="Limited time offer expiry: epoch ms, ISO 8601, or +2h/+7d from now.",
    ),
]
UrlSuffixOption = Annotated[
    list[str] | None,
    typer.Option(
        "--url-suffix",
        metavar="SUFFIX",
        help="Suffix for each dynamic URL button, in order (repeatable): --url-suffix AB12.",
    ),
]
CardUrlSuffixOption = Annotated[
    list[str] | None,
    typer.Option(
        "--card-url-suffix",
        metavar="CARD=SUFFIX",
        help="Card's dynamic URL suffix, CARD=SUFFIX (repeatable): 2=boots.",
    ),
]
CardParamOption = Annotated[
    list[str] | None,
    typer.Option(
        "--card-param",
        metavar="CARD=VALUE",
        help="Carousel card body value, CARD=VALUE (repeatable): 1=Asha.",
    ),
]
CardMediaUrlOption = Annotated[
    list[str] | None,
    typer.Option(
        "--card-media-url",
        metavar="CARD=URL",
        help="Card header media, CARD=URL: 1=https://cdn.example.com/1.png.",
    ),
]


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns
