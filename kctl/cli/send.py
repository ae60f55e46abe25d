"""The test commands: send-test, verify, load.

Like app.py: no ``from __future__ import annotations`` (typer reads the annotations at start-up)
and nothing heavier than typer at import time.
"""

import os
import signal
import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from kctl.cli.base import (
    BodyOption,
    CaBundle,
    CardMediaUrlOption,
    CardParamOption,
    CardUrlSuffixOption,
    ConfigOption,
    CouponCodeOption,
    HeaderParamOption,
    JsonFlag,
    LangOption,
    LocationAddressOption,
    LocationNameOption,
    LocationOption,
    MediaUrlOption,
    OfferExpiryOption,
    OutputFile,
    ProviderOption,
    SenderOption,
    ShowSecrets,
    TemplateOption,
    UrlSuffixOption,
    _terminal_width,
    app,
    command,
)
from kctl.cli.complete import complete_provider, complete_template
from kctl.cli.dlt import DltRegistryOption
from kctl.cli.exits import write_output
from kctl.cli.help import TEST
from kctl.cli.sendtest import RETRIES, TIMEOUT, VIA
from kctl.errors import UsageError
from kctl.render.term import wants_color


class Via(StrEnum):
    adapter = "adapter"
    direct = "direct"


DEFAULT_VIA = Via(VIA)


@command(
    app,
    "send-test",
    panel=TEST,
    example="""
    kctl send-test --sandbox -c configs/whatsapp.yaml --to +919812345678 \\
        -t order_update --param Asha --param 1234 --wait-dlr 10
    kctl send-test -c configs/sms-india.yaml --to +919812345678 \\
        -t otp_login --param 482913 --dry-run --curl > send.sh
    kctl send-test -c configs/account.yaml --to +14155550123 --body hello --json
    """,
)
def send_test(
    config: ConfigOption,
    to: Annotated[
        str,
        typer.Option(
            "--to", metavar="NUMBER", help="Recipient, E.164 (+919812345678).", show_default=False
        ),
    ],
    provider: ProviderOption = None,
    template: TemplateOption = None,
    lang: LangOption = None,
    param: Annotated[
        list[str] | None,
        typer.Option(
            "--param", metavar="VALUE", help="Template placeholder value, in order (repeatable)."
        ),
    ] = None,
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
    prop: Annotated[
        list[str] | None,
        typer.Option(
            "--prop",
            metavar="KEY=VALUE",
            help="Custom key-value (customProps, repeatable): --prop tier=gold.",
        ),
    ] = None,
    text: Annotated[
        str | None,
        typer.Option("--text", metavar="TEXT", help="WhatsApp session text message: --text 'Hi'."),
    ] = None,
    image: Annotated[
        str | None,
        typer.Option("--image", metavar="URL", help="Session image message: --image URL."),
    ] = None,
    video: Annotated[
        str | None,
        typer.Option("--video", metavar="URL", help="Session video message: --video URL."),
    ] = None,
    audio: Annotated[
        str | None,
        typer.Option("--audio", metavar="URL", help="Session audio message: --audio URL."),
    ] = None,
    document: Annotated[
        str | None,
        typer.Option("--document", metavar="URL", help="Session document message: --document URL."),
    ] = None,
    caption: Annotated[
        str | None,
        typer.Option("--caption", metavar="TEXT", help="Caption of an image, video or document."),
    ] = None,
    filename: Annotated[
        str | None,
        typer.Option("--filename", metavar="NAME", help="File name of a --document: Invoice.pdf."),
    ] = None,
    body: BodyOption = None,
    sender: SenderOption = None,
    message_type: Annotated[
        str | None,
        typer.Option(
            "--type", metavar="TYPE", help="SMS message type, any case: OTP, MKT, TXN, DEFAULT."
        ),
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            metavar="NAME=VALUE",
            help="Value of an SMS custom replacement, NAME=VALUE (repeatable): --var hid=123"
            " fills $$hid.",
        ),
    ] = None,
    via: Annotated[
        Via,
        typer.Option(
            "--via",
            metavar="adapter|direct",
            help="adapter: as CleverTap sends it; direct: Kaleyra's API.",
        ),
    ] = DEFAULT_VIA,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Build and print; send nothing, resolve no secrets.")
    ] = False,
    curl: Annotated[
        bool,
        typer.Option(
            "--curl",
            help="Print only an equivalent curl command on stdout (secrets stay references).",
        ),
    ] = False,
    as_json: JsonFlag = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Seconds per attempt, all told: connect, send, and the whole reply.",
            min=0.1,
            max=3600,
        ),
    ] = TIMEOUT,
    retries: Annotated[
        int,
        typer.Option(
            "--retries", metavar="N", help="Retries when nothing can be sent twice.", min=0, max=10
        ),
    ] = RETRIES,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show response headers.")
    ] = False,
    show_secrets: ShowSecrets = False,
    force: Annotated[
        bool,
        typer.Option(
            "--force", help="Send to a number outside test_recipients (--sandbox needs none)."
        ),
    ] = False,
    ca_bundle: CaBundle = None,
    sandbox: Annotated[
        bool,
        typer.Option("--sandbox", help="Send to kctl's embedded Kaleyra sandbox (no secrets)."),
    ] = False,
    wait_dlr: Annotated[
        float | None,
        typer.Option(
            "--wait-dlr",
            metavar="SECONDS",
            help="Wait this many seconds for the delivery report. Points the callback URLs at"
            " kctl's listener for this send (--listen-url when the sender is not on this machine).",
            min=0,
            max=3600,
        ),
    ] = None,
    listen_url: Annotated[
        str | None,
        typer.Option(
            "--listen-url",
            metavar="URL",
            help="Public URL that reaches the local listener (with --wait-dlr).",
        ),
    ] = None,
    listen_port: Annotated[
        int,
        typer.Option(
            "--listen-port", metavar="PORT", help="Loopback port of the listener (0: any)."
        ),
    ] = 0,
    junit: Annotated[
        Path | None,
        typer.Option("--junit", metavar="FILE", help="Also write a JUnit XML report (CI)."),
    ] = None,
    dlt_registry: DltRegistryOption = None,
) -> None:
    """Send exactly what CleverTap would send to the provider (or call Kaleyra's API, --via
    direct), show request and reply, and judge the reply as CleverTap does.

    Without --provider, the provider is the only one, or the one the options point to: --body
    or --type mean SMS, --text or --header-param WhatsApp, a --template name the provider that
    has it.
    """
    from kctl.cli.sendtest import send_test as run

    code = run(
        config,
        to,
        provider=provider,
        template=template,
        lang=lang,
        param=param,
        header_param=header_param,
        media_url=media_url,
        location=location,
        location_name=location_name,
        location_address=location_address,
        url_suffix=url_suffix,
        coupon_code=coupon_code,
        offer_expiry=offer_expiry,
        card_param=card_param,
        card_url_suffix=card_url_suffix,
        card_media_url=card_media_url,
        prop=prop,
        text=text,
        image=image,
        video=video,
        audio=audio,
        document=document,
        caption=caption,
        filename=filename,
        body=body,
        sender=sender,
        message_type=message_type,
        var=var,
        via=via.value,
        dry_run=dry_run,
        curl=curl,
        as_json=as_json,
        timeout=timeout,
        retries=retries,
        verbose=verbose,
        show_secrets=show_secrets,
        force=force,
        ca_bundle=ca_bundle,
        sandbox=sandbox,
        wait_dlr=wait_dlr,
        listen_url=listen_url,
        listen_port=listen_port,
        junit=junit,
        dlt_registry=dlt_registry,
    )
    if code:
        raise typer.Exit(code)


class VerifyFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"
    sarif = "sarif"


@command(
    app,
    "verify",
    panel=TEST,
    example="""
    kctl verify --config configs/whatsapp.yaml --sandbox
    kctl verify --config kctl.yaml --format junit -o verify.xml
    """,
)
def verify(
    config: ConfigOption,
    provider: Annotated[
        list[str] | None,
        typer.Option(
            "--provider",
            "-p",
            metavar="NICK",
            help="Only this provider (repeatable).",
            autocompletion=complete_provider,
        ),
    ] = None,
    sandbox: Annotated[
        bool,
        typer.Option("--sandbox", help="Run every check against the embedded Kaleyra sandbox."),
    ] = False,
    send_sms: Annotated[
        bool, typer.Option("--send", help="SMS: also send one real test SMS (with --to).")
    ] = False,
    to: Annotated[
        str | None,
        typer.Option("--to", metavar="NUMBER", help="Recipient of --send, from test_recipients."),
    ] = None,
    fmt: Annotated[
        VerifyFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text, json, junit or sarif.",
            case_sensitive=False,
        ),
    ] = VerifyFormat.text,
    output_file: OutputFile = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Seconds to wait for each answer (CleverTap counts more than 1 s as a failure).",
            min=0.1,
            max=600,
        ),
    ] = 5.0,
    ca_bundle: CaBundle = None,
    dlt_registry: DltRegistryOption = None,
) -> None:
    """Replay CleverTap's save-time checks: provider save, template save, SMS reachability."""
    from kctl.config.model import load_account
    from kctl.render import verify as render
    from kctl.send.verify import exit_code, verify_account

    if send_sms != (to is not None):
        raise UsageError("--send and --to go together: --send --to +919812345678")
    account = load_account(config, dlt_registry)
    progress = render.Progress(sys.stderr, fmt is VerifyFormat.text and sys.stderr.isatty())
    events = []
    for event in verify_account(
        account,
        tuple(provider or ()),
        to,
        sandbox=sandbox,
        timeout=timeout,
        verify_tls=str(ca_bundle) if ca_bundle else True,
    ):
        progress(event)
        events.append(event)
    progress.clear()
    checks = render.checks_of(events)
    code = exit_code(checks)
    match fmt:
        case VerifyFormat.text:
            color = output_file is None and wants_color(sys.stdout)
            width = _terminal_width() if output_file is None and sys.stdout.isatty() else 120
            text = render.render_text(checks, color=color, width=width)
        case VerifyFormat.json:
            text = render.render_json(checks, account.file, code)
        case VerifyFormat.junit:
            text = render.render_junit(checks)
        case VerifyFormat.sarif:
            text = render.render_sarif(checks, account.file)
    write_output(text, output_file)
    if code:
        raise typer.Exit(code)


@command(
    app,
    "load",
    panel=TEST,
    example="""
    kctl load -c configs/whatsapp.yaml --sandbox --sandbox-max-concurrency 300 \\
        --ramp 30..1000
    kctl load -c adapter-dev.yaml -n 500 --json > load.json
    """,
)
def load(
    config: ConfigOption,
    provider: ProviderOption = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-n",
            metavar="N",
            help="Requests in flight at once (default: the provider's max_concurrency, else"
            " CleverTap's 1500): -n 300.",
        ),
    ] = None,
    ramp: Annotated[
        str | None,
        typer.Option(
            "--ramp",
            metavar="LOW..HIGH",
            help="Climb from LOW to HIGH concurrency, doubling, and recommend max_concurrency:"
            " --ramp 30..1000.",
        ),
    ] = None,
    step: Annotated[
        int | None,
        typer.Option(
            "--step", metavar="N", help="Climb by this much instead of doubling: --step 100."
        ),
    ] = None,
    requests: Annotated[
        int | None,
        typer.Option(
            "--requests",
            metavar="N",
            help="Requests per step, at most 100000 (default: 3 per connection, 300 at least).",
        ),
    ] = None,
    duration: Annotated[
        float,
        typer.Option("--duration", metavar="SECONDS", help="Seconds per step at most (cap 300)."),
    ] = 30.0,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            metavar="SECONDS",
            help="Seconds a request may wait for any answer (CleverTap waits 1).",
        ),
    ] = 5.0,
    to: Annotated[
        list[str] | None,
        typer.Option(
            "--to",
            metavar="NUMBER",
            help="Recipient, repeatable (default: the first test recipient); with"
            " --allow-remote only numbers from test_recipients: --to +919812345678.",
        ),
    ] = None,
    allow_remote: Annotated[
        bool,
        typer.Option(
            "--allow-remote",
            help="Load a non-loopback endpoint: every request is a real message (needs --to).",
        ),
    ] = False,
    sandbox: Annotated[
        bool, typer.Option("--sandbox", help="Load kctl's sandbox, started in-process.")
    ] = False,
    sandbox_latency: Annotated[
        float | None,
        typer.Option(
            "--sandbox-latency",
            metavar="SECONDS",
            help="Seconds the sandbox takes per answer: 0.2.",
            min=0,
            max=60,
        ),
    ] = None,
    sandbox_max_concurrency: Annotated[
        int | None,
        typer.Option(
            "--sandbox-max-concurrency",
            metavar="N",
            help="The sandbox answers 429 beyond this: 300.",
            min=1,
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            metavar="NAME",
            help="Template to send (default: the provider's first one).",
            autocompletion=complete_template,
        ),
    ] = None,
    lang: LangOption = None,
    validation: Annotated[
        bool,
        typer.Option(
            "--validation", help="Send CleverTap's provider-save validation payload (WhatsApp)."
        ),
    ] = False,
    ca_bundle: CaBundle = None,
    as_json: JsonFlag = False,
) -> None:
    """Load an endpoint as CleverTap does and judge each answer by its 1-second deadline;
    with --ramp, recommend max_concurrency."""
    from functools import partial

    from kctl.config.model import load_account
    from kctl.load.plan import parse_ramp
    from kctl.load.run import Finished, LoadOptions, run_load
    from kctl.render.load import LiveProgress, Report, render_json, render_text

    live = sys.stderr.isatty() and os.environ.get("TERM") != "dumb"
    options = LoadOptions(
        concurrency=concurrency,
        ramp=parse_ramp(ramp) if ramp is not None else None,
        step=step,
        requests=requests,
        duration=duration,
        timeout=timeout,
        recipients=tuple(to or ()),
        allow_remote=allow_remote,
        sandbox=sandbox,
        sandbox_latency=sandbox_latency,
        sandbox_max_concurrency=sandbox_max_concurrency,
        template=template,
        language=lang,
        validation=validation,
        ca_bundle=str(ca_bundle) if ca_bundle else None,
        progress=live,
    )
    # like send-test: a --template name says which provider, when only one has it
    chosen = load_account(config).provider(provider, None, template)
    renderers: list[Any] = []
    progress = LiveProgress(sys.stderr, color=wants_color(sys.stderr)) if live else None
    if progress is not None:
        renderers.append(progress)
    if as_json:
        renderers.append(Report(sys.stdout, render_json))
    else:
        color = wants_color(sys.stdout)
        width = os.get_terminal_size(sys.stdout.fileno()).columns if sys.stdout.isatty() else None
        renderers.append(Report(sys.stdout, partial(render_text, color=color, width=width)))
    code = 0
    # Ctrl-C goes to asyncio's own handler while load runs: it cancels the requests in flight
    # and the step reports what it measured, where an exception raised mid-loop would not
    try:
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    except ValueError:  # not the main thread: leave signals alone
        previous = None
    try:
        for event in run_load(chosen, options):
            for render in renderers:
                render(event)
            if isinstance(event, Finished):
                code = 130 if event.interrupted else event.exit_code
    finally:
        if previous is not None:
            signal.signal(signal.SIGINT, previous)
        if progress is not None:
            progress.close()
    if code:
        raise typer.Exit(code)
