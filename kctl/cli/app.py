"""The typer app: each command turns options into one call of core code and picks a renderer.

Imports of yaml, httpx, keyring and the rules happen inside the commands that need them, so
``kctl --help`` and ``render-callback-url`` start as fast as a bare typer app. No
``from __future__ import annotations`` here: typer would then eval() every option's annotation
string at start-up (about 16 ms for this app).
"""

import contextlib
import os
import signal
import sys
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from kctl import __version__
from kctl.cli.fast import COMPLETE_VAR
from kctl.cli.templates import templates_app
from kctl.contract.channels import Channel as InitChannel
from kctl.contract.whatsapp import TEMPLATE_STATUSES
from kctl.errors import Interrupted, KctlError, UsageError
from kctl.render.term import wants_color

if TYPE_CHECKING:
    from kctl.send.run import Finished

app = typer.Typer(
    name="kctl",
    help="Provision and test Kaleyra as a CleverTap Generic (Other) WhatsApp/SMS provider.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,
)
secrets_app = typer.Typer(
    help="Store, show (masked) and delete secrets in the OS keyring (service 'kctl').",
    no_args_is_help=True,
)
app.add_typer(secrets_app, name="secrets")
app.add_typer(templates_app, name="templates")


class Format(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    junit = "junit"
    sarif = "sarif"


def write_output(text: str, output_file: Path | None) -> None:
    """Machine output goes to stdout, or atomically to ``output_file``."""
    if output_file is None:
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    from kctl.files import write_atomic

    write_atomic(output_file, text)


def stderr(message: str) -> None:
    sys.stderr.write(message + "\n")
    sys.stderr.flush()


def _version(value: bool) -> None:
    if value:
        sys.stdout.write(f"kctl {__version__}\n")
        raise typer.Exit(0)


@app.callback()
def root(
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Show the version."),
    ] = False,
    traceback: Annotated[
        bool, typer.Option("--traceback", help="Show a Python traceback on errors (debugging).")
    ] = False,
) -> None:
    """Provision and test Kaleyra as a CleverTap Generic (Other) WhatsApp/SMS provider."""


@app.command("validate-config")
def validate_config(
    paths: Annotated[
        list[str],
        typer.Argument(
            help="Config files, directories (all *.yaml/*.yml below) or - for stdin.",
            show_default=False,
        ),
    ],
    fmt: Annotated[
        Format, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = Format.text,
    strict: Annotated[bool, typer.Option("--strict", help="Fail on warnings too.")] = False,
    output_file: Annotated[
        Path | None,
        typer.Option("--output-file", "-o", help="Write the report here instead of stdout."),
    ] = None,
) -> None:
    """Check provider configs: every finding with its code at file:line:col."""
    from kctl.config.validate import validate_paths
    from kctl.render.findings import render_report

    report = validate_paths(paths, strict=strict)
    color = fmt is Format.text and output_file is None and wants_color(sys.stdout)
    write_output(render_report(report, fmt.value, color=color), output_file)
    if fmt is not Format.text or output_file is not None:
        stderr(
            f"kctl: {report.error_count} error(s), {report.warning_count} warning(s)"
            f" in {len(report.files)} file(s)"
        )
    if report.failed:
        raise typer.Exit(1)


@app.command("schema")
def schema(
    output_file: Annotated[
        Path | None, typer.Option("--output-file", "-o", help="Write the schema here.")
    ] = None,
) -> None:
    """Print the JSON Schema of the config format (for editors and other validators)."""
    import json

    from kctl.config.schema import json_schema

    write_output(json.dumps(json_schema(), indent=2) + "\n", output_file)


@app.command("explain")
def explain(
    code: Annotated[
        str | None, typer.Argument(help="Rule code, such as KC108.", show_default=False)
    ] = None,
    list_rules: Annotated[
        bool, typer.Option("--list", help="List every rule: code, severity, title.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """What a validate-config rule checks, why, and an example fix: kctl explain KC108."""
    from kctl.render import explain as render

    if list_rules and code is not None:
        raise UsageError("give a rule code or --list, not both")
    if not list_rules and code is None:
        raise UsageError("give a rule code", "kctl explain KC108, or kctl explain --list")
    rule = render.find_rule(code) if code is not None else None
    if as_json:
        text = render.render_json(rule)
    elif rule is None:
        text = render.render_list()
    else:
        import shutil

        width = shutil.get_terminal_size().columns if sys.stdout.isatty() else render.DEFAULT_WIDTH
        text = render.render_rule(rule, width=width, color=wants_color(sys.stdout))
    write_output(text, None)


class Via(StrEnum):
    adapter = "adapter"
    direct = "direct"


ConfigOption = Annotated[
    str, typer.Option("--config", "-c", help="Provider config file (YAML).", show_default=False)
]
ProviderOption = Annotated[
    str | None,
    typer.Option("--provider", "-p", help="Provider nickname (default: the only/default one)."),
]
ShowSecrets = Annotated[
    bool, typer.Option("--show-secrets", help="Print secret values instead of ****last4.")
]


@app.command("render-callback-url")
def render_callback_url(
    config: Annotated[
        str | None, typer.Option("--config", "-c", help="Provider config file (YAML).")
    ] = None,
    provider: ProviderOption = None,
    incoming_url: Annotated[
        str | None, typer.Option("--incoming-url", help="Incoming URL base from Kaleyra support.")
    ] = None,
    inbound_callback_url: Annotated[
        str | None,
        typer.Option("--inbound-callback-url", help="CleverTap's Inbound Message Callback URL."),
    ] = None,
    payload_version: Annotated[
        str | None, typer.Option("--payload-version", help="Payload Version (default 0.1).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the parts as JSON.")] = False,
) -> None:
    """Build the Incoming URL to give Kaleyra (for SMS: the delivery report callback URL)."""
    from kctl.config.incoming import callback_url_for

    result = callback_url_for(
        config=config,
        nickname=provider,
        incoming_url=incoming_url,
        inbound_callback_url=inbound_callback_url,
        payload_version=payload_version,
    )
    if as_json:
        import json

        sys.stdout.write(json.dumps(result, indent=2) + "\n")
    else:
        sys.stdout.write(result["url"] + "\n")


@app.command("send-test")
def send_test(
    config: ConfigOption,
    to: Annotated[
        str, typer.Option("--to", help="Recipient, E.164 (+919812345678).", show_default=False)
    ],
    provider: ProviderOption = None,
    template: Annotated[str | None, typer.Option("--template", "-t", help="Template name.")] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="WhatsApp template language code.")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", help="Template placeholder value, in order (repeatable)."),
    ] = None,
    header_param: Annotated[
        str | None,
        typer.Option("--header-param", help="Value of a text header's {{1}}: --header-param 1234."),
    ] = None,
    media_url: Annotated[
        str | None,
        typer.Option(
            "--media-url",
            help="Header media instead of the template's sample: --media-url https://cdn.example.com/a.png.",
        ),
    ] = None,
    location: Annotated[
        str | None,
        typer.Option("--location", help="A location header: --location 12.9716,77.5946."),
    ] = None,
    location_name: Annotated[
        str | None, typer.Option("--location-name", help="Its name: --location-name 'MG Road'.")
    ] = None,
    location_address: Annotated[
        str | None,
        typer.Option("--location-address", help="Its address: --location-address 'Bengaluru'."),
    ] = None,
    url_suffix: Annotated[
        list[str] | None,
        typer.Option(
            "--url-suffix",
            help="Suffix for each dynamic URL button, in order (repeatable): --url-suffix AB12.",
        ),
    ] = None,
    coupon_code: Annotated[
        str | None,
        typer.Option("--coupon-code", help="The copy-code button's code: --coupon-code SAVE10."),
    ] = None,
    offer_expiry: Annotated[
        str | None,
        typer.Option(
            "--offer-expiry",
            help="Limited time offer expiry: epoch ms, ISO 8601, or +2h/+7d from now.",
        ),
    ] = None,
    card_param: Annotated[
        list[str] | None,
        typer.Option(
            "--card-param", help="Carousel card body value, CARD=VALUE (repeatable): 1=Asha."
        ),
    ] = None,
    card_url_suffix: Annotated[
        list[str] | None,
        typer.Option("--card-url-suffix", help="Card's dynamic URL suffix, CARD=VALUE: 2=boots."),
    ] = None,
    card_media_url: Annotated[
        list[str] | None,
        typer.Option(
            "--card-media-url", help="Card header media, CARD=URL: 1=https://cdn.example.com/1.png."
        ),
    ] = None,
    prop: Annotated[
        list[str] | None,
        typer.Option(
            "--prop", help="Custom key-value (customProps, repeatable): --prop tier=gold."
        ),
    ] = None,
    text: Annotated[
        str | None, typer.Option("--text", help="WhatsApp session text message: --text 'Hi'.")
    ] = None,
    image: Annotated[
        str | None, typer.Option("--image", help="Session image message: --image URL.")
    ] = None,
    video: Annotated[
        str | None, typer.Option("--video", help="Session video message: --video URL.")
    ] = None,
    audio: Annotated[
        str | None, typer.Option("--audio", help="Session audio message: --audio URL.")
    ] = None,
    document: Annotated[
        str | None, typer.Option("--document", help="Session document message: --document URL.")
    ] = None,
    caption: Annotated[
        str | None, typer.Option("--caption", help="Caption of an image, video or document.")
    ] = None,
    filename: Annotated[
        str | None, typer.Option("--filename", help="File name of a --document: Invoice.pdf.")
    ] = None,
    body: Annotated[
        str | None, typer.Option("--body", help="SMS text (instead of --template).")
    ] = None,
    sender: Annotated[str | None, typer.Option("--sender", help="SMS sender ID.")] = None,
    message_type: Annotated[
        str | None,
        typer.Option("--type", help="SMS message type, any case: OTP, MKT, TXN, DEFAULT."),
    ] = None,
    var: Annotated[
        list[str] | None,
        typer.Option(
            "--var",
            help="Value of an SMS custom replacement, NAME=VALUE (repeatable): --var hid=123"
            " fills $$hid.",
        ),
    ] = None,
    via: Annotated[
        Via, typer.Option("--via", help="adapter: as CleverTap sends it; direct: Kaleyra's API.")
    ] = Via.adapter,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Build and print; send nothing, resolve no secrets.")
    ] = False,
    curl: Annotated[
        bool, typer.Option("--curl", help="Also print an equivalent curl command.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            help="Seconds per attempt, all told: connect, send, and the whole reply.",
            min=0.1,
            max=3600,
        ),
    ] = 10.0,
    retries: Annotated[
        int,
        typer.Option("--retries", help="Retries when nothing can be sent twice.", min=0, max=10),
    ] = 2,
    verbose: Annotated[
        bool, typer.Option("--verbose", "-v", help="Show response headers.")
    ] = False,
    show_secrets: ShowSecrets = False,
    force: Annotated[
        bool, typer.Option("--force", help="Send to a number outside test_recipients.")
    ] = False,
    ca_bundle: Annotated[
        Path | None, typer.Option("--ca-bundle", help="CA certificates to trust (PEM file).")
    ] = None,
    sandbox: Annotated[
        bool,
        typer.Option("--sandbox", help="Send to kctl's embedded Kaleyra sandbox (no secrets)."),
    ] = False,
    wait_dlr: Annotated[
        float | None,
        typer.Option(
            "--wait-dlr", help="Wait this many seconds for the delivery report.", min=0, max=3600
        ),
    ] = None,
    listen_url: Annotated[
        str | None,
        typer.Option(
            "--listen-url", help="Public URL that reaches the local listener (with --wait-dlr)."
        ),
    ] = None,
    listen_port: Annotated[
        int, typer.Option("--listen-port", help="Loopback port of the listener (0: any).")
    ] = 0,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write a JUnit XML report (CI).")
    ] = None,
) -> None:
    """Send the request CleverTap would send (or Kaleyra's API, --via direct) and show the reply."""
    from kctl.config.model import load_account
    from kctl.send.build import Message, parse_variables
    from kctl.send.run import Finished, SendFailed, SendOptions, run_send_test
    from kctl.send.values import freeform, template_values
    from kctl.send.wire import Via as SendVia

    message = Message(
        to=to,
        template=template,
        language=lang,
        params=tuple(param or ()),
        body=body,
        sender=sender,
        type=message_type,
        force=force,
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
        via=SendVia(via.value),
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
    chosen = load_account(config).provider(provider)
    junit_name = f"{chosen.nickname} {chosen.channel} to {to}" if junit is not None else None
    renderers = _send_test_renderers(as_json=as_json, curl=curl, verbose=verbose, junit=junit_name)
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
    if code:
        raise typer.Exit(code)


def _write_junit(path: Path, renderers: list[Any], ending: "Finished | None" = None) -> None:
    from kctl.files import write_atomic
    from kctl.render.sendtest import JunitRenderer

    report = next(r for r in renderers if isinstance(r, JunitRenderer))
    if ending is not None and report.finished is None:
        report(ending)
    write_atomic(path, report.document())


def _send_test_renderers(
    *, as_json: bool, curl: bool, verbose: bool, junit: str | None
) -> list[Any]:
    from kctl.render.sendtest import JsonRenderer, JunitRenderer, TextRenderer

    renderers: list[Any] = []
    if as_json:
        renderers.append(JsonRenderer(sys.stdout, curl=curl))
    else:
        color = wants_color(sys.stdout)
        renderers.append(TextRenderer(sys.stdout, color=color, verbose=verbose, curl=curl))
    if junit is not None:
        renderers.append(JunitRenderer(junit))
    return renderers


class VerifyFormat(StrEnum):
    text = "text"
    json = "json"
    junit = "junit"
    sarif = "sarif"


@app.command("verify")
def verify(
    config: ConfigOption,
    provider: Annotated[
        list[str] | None,
        typer.Option("--provider", "-p", help="Only this provider (repeatable)."),
    ] = None,
    sandbox: Annotated[
        bool,
        typer.Option("--sandbox", help="Run every check against the embedded Kaleyra sandbox."),
    ] = False,
    send_sms: Annotated[
        bool, typer.Option("--send", help="SMS: also send one real test SMS (with --to).")
    ] = False,
    to: Annotated[
        str | None, typer.Option("--to", help="Recipient of --send, from test_recipients.")
    ] = None,
    fmt: Annotated[
        VerifyFormat, typer.Option("--format", "-f", help="Output format.", case_sensitive=False)
    ] = VerifyFormat.text,
    output_file: Annotated[
        Path | None, typer.Option("--output-file", "-o", help="Write the report here.")
    ] = None,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout",
            help="Seconds to wait for each answer (CleverTap counts more than 1 s as a failure).",
            min=0.1,
            max=600,
        ),
    ] = 5.0,
    ca_bundle: Annotated[
        Path | None, typer.Option("--ca-bundle", help="CA certificates to trust (PEM file).")
    ] = None,
) -> None:
    """Replay CleverTap's save-time checks: provider save, template save, SMS reachability.

    Example: kctl verify --config configs/whatsapp.yaml --sandbox
    """
    import contextlib

    from kctl.config.model import load_account
    from kctl.render import verify as render
    from kctl.send.verify import exit_code, plans, run_verify

    if send_sms != (to is not None):
        raise UsageError("--send and --to go together: --send --to +919812345678")
    account = load_account(config)
    progress = render.Progress(sys.stderr, fmt is VerifyFormat.text and sys.stderr.isatty())
    with contextlib.ExitStack() as stack:
        if sandbox:
            from kctl.send.run import sandboxed
            from kctl.servers.sandbox import local_pair

            # the sandbox approves exactly the config's templates, as Kaleyra would have
            pair = stack.enter_context(local_pair(providers=account.providers))
            account = account.with_providers(
                sandboxed(p, pair.sandbox_url, pair.listener_url) for p in account.providers
            )
        chosen = plans(account, tuple(provider or ()), to, force=sandbox)
        events = []
        for event in run_verify(
            chosen, timeout=timeout, verify_tls=str(ca_bundle) if ca_bundle else True
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


def _terminal_width() -> int:
    import shutil

    return shutil.get_terminal_size((100, 24)).columns


@app.command("load")
def load(
    config: ConfigOption,
    provider: ProviderOption = None,
    concurrency: Annotated[
        int | None,
        typer.Option(
            "--concurrency",
            "-n",
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
        typer.Option("--step", help="Climb by this much instead of doubling: --step 100."),
    ] = None,
    requests: Annotated[
        int | None,
        typer.Option(
            "--requests",
            help="Requests per step, at most 100000 (default: 3 per connection, 300 at least).",
        ),
    ] = None,
    duration: Annotated[
        float, typer.Option("--duration", help="Seconds per step at most (cap 300).")
    ] = 30.0,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", help="Seconds a request may wait for any answer (CleverTap waits 1)."
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
            "--sandbox-latency", help="Seconds the sandbox takes per answer: 0.2.", min=0, max=60
        ),
    ] = None,
    sandbox_max_concurrency: Annotated[
        int | None,
        typer.Option(
            "--sandbox-max-concurrency", help="The sandbox answers 429 beyond this: 300.", min=1
        ),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template", "-t", help="Template to send (default: the provider's first one)."
        ),
    ] = None,
    lang: Annotated[
        str | None, typer.Option("--lang", help="WhatsApp template language code.")
    ] = None,
    validation: Annotated[
        bool,
        typer.Option(
            "--validation", help="Send CleverTap's provider-save validation payload (WhatsApp)."
        ),
    ] = False,
    ca_bundle: Annotated[
        Path | None, typer.Option("--ca-bundle", help="CA certificates to trust (PEM file).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Load an endpoint as CleverTap does and judge each answer by its 1 s deadline:
    kctl load -c wa.yaml --sandbox --sandbox-max-concurrency 300 --ramp 30..1000."""
    from kctl.config.model import load_account
    from kctl.load.plan import parse_ramp
    from kctl.load.run import Finished, LoadOptions, run_load
    from kctl.render.load import JsonReport, LiveProgress, TextReport

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
    chosen = load_account(config).provider(provider)
    renderers: list[Any] = []
    progress = LiveProgress(sys.stderr, color=wants_color(sys.stderr)) if live else None
    if progress is not None:
        renderers.append(progress)
    if as_json:
        renderers.append(JsonReport(sys.stdout))
    else:
        color = wants_color(sys.stdout)
        width = os.get_terminal_size(sys.stdout.fileno()).columns if sys.stdout.isatty() else None
        renderers.append(TextReport(sys.stdout, color=color, width=width))
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


PortOption = Annotated[
    int, typer.Option("--port", help="Loopback port (0: any free port).", min=0, max=65535)
]


@app.command("sandbox")
def sandbox_command(
    port: PortOption = 8080,
    max_concurrency: Annotated[
        int | None,
        typer.Option("--max-concurrency", help="Answer 429 beyond this many in-flight requests."),
    ] = None,
    api_key: Annotated[
        str | None, typer.Option("--api-key", help="Require this api-key (default: any).")
    ] = None,
    sid: Annotated[
        str | None, typer.Option("--sid", help="Require this sid (default: any).")
    ] = None,
    latency: Annotated[
        float, typer.Option("--latency", help="Seconds each answer takes.", min=0, max=60)
    ] = 0.0,
    allow_external_callbacks: Annotated[
        bool,
        typer.Option(
            "--allow-external-callbacks", help="Also post delivery reports to non-loopback URLs."
        ),
    ] = False,
    config: Annotated[
        str | None,
        typer.Option(
            "--config",
            "-c",
            help="Take this config's WhatsApp templates as the approved ones, for each"
            " provider's business number.",
        ),
    ] = None,
    template_status: Annotated[
        list[str] | None,
        typer.Option(
            "--template-status",
            help="With --config: give a template another status than APPROVED, NAME[:LANG]=STATUS"
            f" (repeatable; STATUS one of {', '.join(TEMPLATE_STATUSES)}):"
            " --template-status festive_offer=PAUSED.",
        ),
    ] = None,
) -> None:
    """Stand in for Kaleyra on loopback: adapter routes, the messages API, delivery reports.

    POST /whatsapp takes every payload shape CleverTap documents and refuses, with HTTP 200
    and status failure, what a real adapter refuses: 2002 a missing or malformed recipient;
    2001 no template namespace, a dynamic-URL or copy-code button without its value, a media
    header without mediaURL, body parameters that do not fill the body; 2004 anything else
    malformed. With --config it also refuses (2001) a template the config does not have for
    the business number, one whose status is not APPROVED, and one whose parameters, header,
    buttons or cards differ from the config's.

    \b
    Example:
      kctl sandbox --config configs/whatsapp.yaml --template-status festive_offer=PAUSED
    """
    from kctl.servers.http import HttpServer
    from kctl.servers.sandbox import Sandbox

    templates = None
    templates_api = None
    if config is not None:
        from kctl.config.model import load_account
        from kctl.servers.templates_api import TemplatesApi, store_for
        from kctl.servers.whatsapp_adapter import template_book

        providers = load_account(config).providers
        templates = template_book(providers, template_status or ())
        # the same templates, with their statuses, on Kaleyra's template APIs (templates pull
        # and diff read them); a status changed there applies to the next send too
        store = store_for(providers, template_status or ())
        templates_api = TemplatesApi(store, api_key=api_key, sid=sid, log=stderr)
    elif template_status:
        raise UsageError(
            "--template-status goes with --config", "the config's templates are the ones it marks"
        )
    app_ = Sandbox(
        api_key,
        sid,
        max_concurrency=max_concurrency,
        allow_external_callbacks=allow_external_callbacks,
        latency=latency,
        log=stderr,
        templates=templates,
    )
    app_.templates_api = templates_api
    server = HttpServer(app_, port=port, log=stderr)

    def ready(s: HttpServer) -> None:
        stderr(f"kctl sandbox listening on {s.url}  (POST /whatsapp, /sms, /v1/{{sid}}/messages)")
        sys.stdout.write(f"{s.port}\n")
        sys.stdout.flush()

    _raise_if_signalled(server.serve_forever(on_ready=ready))


def _raise_if_signalled(reason: str) -> None:
    """After a server's graceful shutdown, end the command as the signal asked."""
    if reason == "interrupted":
        raise Interrupted(signal.SIGINT)
    if reason == "terminated":
        raise Interrupted(signal.SIGTERM)


@app.command("listen")
def listen_command(
    port: PortOption = 9090,
    as_json: Annotated[bool, typer.Option("--json", help="One JSON object per line.")] = False,
    count: Annotated[
        int | None, typer.Option("--count", help="Exit after this many reports.", min=1)
    ] = None,
    timeout: Annotated[
        float | None, typer.Option("--timeout", help="Exit after this many seconds.", min=0)
    ] = None,
) -> None:
    """Receive callbacks (CleverTap's formats, Kaleyra's own); answer as CleverTap does (200, or
    400 naming the missing fields) and flag what breaks its formats."""
    from kctl.servers.http import HttpServer
    from kctl.servers.listener import Listener, stream_emitter

    # reports go out through a writer thread: a stdout nobody reads must not stall the server
    emit = stream_emitter(sys.stdout, log=stderr)
    listener = Listener(emit, json_lines=as_json, count=count, log=stderr)
    server = HttpServer(listener, port=port, log=stderr)

    def ready(s: HttpServer) -> None:
        stderr(f"kctl listen on {s.url}  (any path; Ctrl-C to stop)")

    _raise_if_signalled(server.serve_forever(timeout=timeout, on_ready=ready))
    if count is not None and len(listener.reports) < count:
        stderr(f"kctl: {len(listener.reports)} of {count} reports before the timeout")
        raise typer.Exit(7)
    if any(not r.ok for r in listener.reports):
        raise typer.Exit(1)


@app.command("doctor")
def doctor(
    config: Annotated[
        str | None, typer.Option("--config", "-c", help="Also check this config's secrets/hosts.")
    ] = None,
    online: Annotated[
        bool, typer.Option("--online", help="Also try DNS, TCP and TLS to each host.")
    ] = False,
    timeout: Annotated[
        float, typer.Option("--timeout", help="Seconds per network check.", min=0.1, max=60)
    ] = 3.0,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
) -> None:
    """Check this machine: versions, keyring, secrets, proxy and CA settings, reachability."""
    from kctl.doctor import overall_exit_code, render_checks, run_doctor

    checks = run_doctor(config, online, timeout)
    write_output(render_checks(checks, as_json), None)
    code = overall_exit_code(checks)
    if code:
        raise typer.Exit(code)


@secrets_app.command("set")
def secrets_set(
    name: Annotated[str, typer.Argument(help="Entry name, as in ${keyring:NAME}.")],
) -> None:
    """Store a secret, typed at a hidden prompt or piped on stdin (never on the command line)."""
    from kctl.secrets import store_secret

    if sys.stdin.isatty():
        value = typer.prompt(f"Value for {name}", hide_input=True, confirmation_prompt=True)
    else:
        raw = sys.stdin.buffer.read(64 * 1024 + 1)
        if len(raw) > 64 * 1024:
            raise UsageError("the value on stdin is longer than 64 KiB; not a secret")
        try:
            value = raw.decode("utf-8").rstrip("\r\n")
        except UnicodeDecodeError as e:
            raise UsageError("the value on stdin is not UTF-8 text") from e
        if not value or any(c in value for c in "\r\n\x00"):
            raise UsageError("a secret is one non-empty line of text")
    store_secret(name, value)
    stderr(f"stored '{name}' in the keyring (service 'kctl'); use it as ${{keyring:{name}}}")


@secrets_app.command("get")
def secrets_get(
    name: Annotated[str, typer.Argument(help="Entry name.")], show_secrets: ShowSecrets = False
) -> None:
    """Print a secret, masked unless --show-secrets."""
    from kctl.secrets import load_secret, mask

    value = load_secret(name)
    sys.stdout.write((value if show_secrets else mask(value)) + "\n")


@secrets_app.command("delete")
def secrets_delete(name: Annotated[str, typer.Argument(help="Entry name.")]) -> None:
    """Delete a secret from the keyring."""
    from kctl.secrets import delete_secret

    delete_secret(name)
    stderr(f"deleted '{name}' from the keyring")


def _answer_option(flag: str, text: str) -> Any:
    return typer.Option(flag, help=text, show_default=False)


@app.command("init")
def init(
    channel: Annotated[InitChannel, typer.Argument(help="whatsapp or sms.")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Config file to write.")
    ] = None,
    nickname: Annotated[str | None, _answer_option("--nickname", "Provider nickname.")] = None,
    endpoint: Annotated[str | None, _answer_option("--endpoint", "HTTP End Point.")] = None,
    business_number: Annotated[
        str | None, _answer_option("--business-number", "WhatsApp Business Number.")
    ] = None,
    sid: Annotated[str | None, _answer_option("--sid", "Kaleyra SID.")] = None,
    kaleyra_host: Annotated[str | None, _answer_option("--kaleyra-host", "API host.")] = None,
    inbound_callback_url: Annotated[
        str | None, _answer_option("--inbound-callback-url", "CleverTap inbound URL.")
    ] = None,
    dlr_callback_url: Annotated[
        str | None, _answer_option("--dlr-callback-url", "CleverTap delivery report URL.")
    ] = None,
    callback_url: Annotated[
        str | None, _answer_option("--callback-url", "CleverTap SMS callback URL.")
    ] = None,
    sender: Annotated[str | None, _answer_option("--sender", "Default SMS sender ID.")] = None,
    api_key_name: Annotated[
        str | None, _answer_option("--api-key-name", "Keyring entry for the api-key.")
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt; fail on missing answers.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Create a provider config: from flags, or by prompts that check each answer."""
    from kctl.config.scaffold import SCHEMA_FILE, questions_for, render_config
    from kctl.files import write_atomic

    target = output or Path(f"kctl-{channel.value}.yaml")
    if target.exists() and not force:
        raise UsageError(f"{target} exists; not overwriting it", "pass --force to replace it")
    given = {
        "nickname": nickname,
        "endpoint": endpoint,
        "business_number": business_number,
        "sid": sid,
        "kaleyra_host": kaleyra_host,
        "inbound_callback_url": inbound_callback_url,
        "dlr_callback_url": dlr_callback_url,
        "callback_url": callback_url,
        "sender": sender,
        "api_key_name": api_key_name,
    }
    interactive = not no_input and sys.stdin.isatty()
    answers: dict[str, str] = {}
    missing: list[str] = []
    for q in questions_for(channel):
        flag = "--" + q.key.replace("_", "-")
        value = given[q.key]
        if value is not None:
            problem = q.check(value)
            if problem:
                raise UsageError(f"{flag}: {problem}")
            answers[q.key] = value
        elif interactive:
            while True:
                value = typer.prompt(q.prompt, default=q.default)
                problem = q.check(value)
                if problem is None:
                    break
                stderr(f"  {problem}")
            answers[q.key] = value
        elif q.default is not None:
            answers[q.key] = q.default
        else:
            missing.append(flag)
    if missing:
        raise UsageError(
            "missing answers: " + " ".join(missing), "pass them as flags, or run in a terminal"
        )
    text = render_config(channel, answers)
    write_atomic(target, text)
    stderr(f"wrote {target}")
    schema_path = target.parent / SCHEMA_FILE
    if not schema_path.exists():
        import json

        from kctl.config.schema import json_schema

        write_atomic(schema_path, json.dumps(json_schema(), indent=2) + "\n")
        stderr(f"wrote {schema_path} (editor support)")
    key_name = answers["api_key_name"]
    if interactive:
        secret = typer.prompt(
            f"api-key (stored in the keyring as {key_name}; empty to skip)",
            default="",
            hide_input=True,
            show_default=False,
        )
        if secret:
            from kctl.secrets import store_secret

            store_secret(key_name, secret)
            stderr(f"stored the api-key in the keyring as '{key_name}'")
            return
    stderr(f"next: kctl secrets set {key_name}   (the file refers to it, never holds it)")


def _fail(error: KctlError | Interrupted, *, as_json: bool = False) -> NoReturn:
    report = getattr(error, "report", None)
    if as_json:  # --json promises one document on stdout, failures included
        import json

        doc: dict[str, object] = {
            "version": 1,
            "error": {"kind": type(error).__name__, "message": error.message, "hint": error.hint},
            "exit_code": error.exit_code,
        }
        if report is not None:
            from kctl.render.findings import findings_data

            doc["findings"] = findings_data(report)
        sys.stdout.write(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    if report is not None:  # a config with errors: show its findings first
        from kctl.render.findings import render_report

        sys.stderr.write(render_report(report, "text", color=wants_color(sys.stderr)))
    interrupted = isinstance(error, Interrupted)  # not an error: what the user asked for
    stderr(f"kctl: {error.message}" if interrupted else f"kctl: error: {error.message}")
    if error.hint:
        stderr(f"  hint: {error.hint}")
    sys.exit(error.exit_code)


@contextlib.contextmanager
def _signals_raise_interrupted() -> Iterator[None]:
    """SIGINT and SIGTERM raise Interrupted in the main thread while a command runs.

    SIGTERM would otherwise kill the process on the spot (no JUnit file, servers not shut
    down, temp files left), and SIGINT's KeyboardInterrupt is turned by typer into a silent
    exit 130. The servers put their own handlers in place while they serve, and ours back.
    A signal the process was started with ignored stays ignored (``nohup``, or ``&`` in a
    shell script), as Python itself leaves SIGINT then.
    """
    previous: dict[signal.Signals, Any] = {}

    def interrupt(signum: int, _frame: object) -> None:
        raise Interrupted(signum)

    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            if signal.getsignal(signum) is not signal.SIG_IGN:
                previous[signum] = signal.signal(signum, interrupt)
    except ValueError:  # not the main thread (an embedding program): leave signals alone
        pass
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv: list[str] | None = None) -> NoReturn:
    """Entry point: the only place that catches errors, prints one line and picks the exit code."""
    from typer.exceptions import TyperException

    args = sys.argv[1:] if argv is None else argv
    if COMPLETE_VAR in os.environ:  # a shell asking for completions (see completions/)
        from typer._completion_classes import completion_init

        completion_init()
    show_traceback = "--traceback" in args
    command = typer.main.get_command(app)
    try:
        with _signals_raise_interrupted():
            result = command.main(args=args, prog_name="kctl", standalone_mode=False)
    except (KctlError, Interrupted) as e:
        if show_traceback:
            raise
        _fail(e, as_json="--json" in args)
    except typer.Abort:
        stderr("kctl: interrupted")
        sys.exit(130)
    except TyperException as e:  # click's usage errors: bad option, missing argument
        show = getattr(e, "show", None)
        if show is not None:
            show()
        else:
            stderr(f"kctl: error: {e.format_message()}")
        sys.exit(UsageError.exit_code)
    except KeyboardInterrupt:
        stderr("kctl: interrupted")
        sys.exit(130)
    except BrokenPipeError:
        # the reader went away (e.g. `| head`); nothing left to say to it
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    except Exception as e:
        if show_traceback:
            raise
        stderr(f"kctl: internal error: {type(e).__name__}: {e}")
        stderr("  hint: run again with --traceback and report it")
        sys.exit(70)
    sys.exit(result if isinstance(result, int) else 0)
