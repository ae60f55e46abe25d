"""The server commands: sandbox (stands in for Kaleyra) and listen (for CleverTap).

Like app.py: no ``from __future__ import annotations`` (typer reads the annotations at start-up)
and nothing heavier than typer at import time.
"""

import signal
import sys
from typing import Annotated

import typer

from kctl.cli.base import PortOption, app, command
from kctl.cli.dlt import DltRegistryOption
from kctl.cli.exits import stderr
from kctl.cli.help import SERVERS
from kctl.contract.whatsapp import TEMPLATE_STATUSES
from kctl.errors import Interrupted, UsageError


@command(
    app,
    "sandbox",
    panel=SERVERS,
    example="""
    kctl sandbox --port 8080
    kctl sandbox --port 0 --config configs/whatsapp.yaml \\
        --template-status festive_offer=PAUSED
    """,
)
def sandbox_command(
    port: PortOption = 8080,
    max_concurrency: Annotated[
        int | None,
        typer.Option(
            "--max-concurrency",
            metavar="N",
            help="Answer 429 beyond this many in-flight requests.",
        ),
    ] = None,
    api_key: Annotated[
        str | None,
        typer.Option("--api-key", metavar="KEY", help="Require this api-key (default: any)."),
    ] = None,
    sid: Annotated[
        str | None, typer.Option("--sid", metavar="SID", help="Require this sid (default: any).")
    ] = None,
    latency: Annotated[
        float,
        typer.Option(
            "--latency", metavar="SECONDS", help="Seconds each answer takes.", min=0, max=60
        ),
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
            metavar="FILE",
            help="Take this config's WhatsApp templates as the approved ones, for each"
            " provider's business number.",
        ),
    ] = None,
    template_status: Annotated[
        list[str] | None,
        typer.Option(
            "--template-status",
            metavar="NAME[:LANG]=STATUS",
            help="With --config: give a template another status than APPROVED, NAME[:LANG]=STATUS"
            f" (repeatable; STATUS one of {', '.join(TEMPLATE_STATUSES)}):"
            " --template-status festive_offer=PAUSED.",
        ),
    ] = None,
    dlt_registry: DltRegistryOption = None,
) -> None:
    """Stand in for Kaleyra on loopback: adapter routes, the messages API, delivery reports.

    POST /whatsapp takes every payload shape CleverTap documents and refuses, with HTTP 200
    and status failure, what a real adapter refuses: 2002 a missing or malformed recipient;
    2001 no template namespace, a dynamic-URL or copy-code button without its value, a media
    header without mediaURL, body parameters that do not fill the body; 2004 anything else
    malformed. With --config it also refuses (2001) a template the config does not have for
    the business number, one whose status is not APPROVED, and one whose parameters, header,
    buttons or cards differ from the config's. POST /sms with --config accepts an SMS to
    India that does not fit its DLT template (the templates' dlt_text, or --dlt-registry) and
    then reports it failed, 906, 907 or 908, as the operator would.

    Prints its base URL, http://127.0.0.1:PORT, as the first line on stdout (the log goes to
    stderr), so a script can start it with --port 0 and read where it is.
    """
    from kctl.servers.http import HttpServer, LoopLog
    from kctl.servers.sandbox import Sandbox

    # a line per request and per delivery report: written a loop pass at a time
    log = LoopLog(stderr)
    templates = None
    dlt_book = None
    templates_api = None
    if config is not None:
        from kctl.config.model import load_account
        from kctl.servers.sms_dlt import dlt_book_for
        from kctl.servers.templates_api import TemplatesApi, store_for
        from kctl.servers.whatsapp_adapter import template_book

        providers = load_account(config, dlt_registry).providers
        dlt_book = dlt_book_for(providers)
        templates = template_book(providers, template_status or ())
        # the same templates, with their statuses, on Kaleyra's template APIs (templates pull
        # and diff read them); a status changed there applies to the next send too
        store = store_for(providers, template_status or ())
        templates_api = TemplatesApi(store, api_key=api_key, sid=sid, log=log)
    elif template_status or dlt_registry:
        raise UsageError(
            f"{'--template-status' if template_status else '--dlt-registry'} goes with --config",
            "the config's templates are the ones it applies to",
        )
    app_ = Sandbox(
        api_key,
        sid,
        max_concurrency=max_concurrency,
        allow_external_callbacks=allow_external_callbacks,
        latency=latency,
        log=log,
        templates=templates,
        dlt=dlt_book,
    )
    app_.templates_api = templates_api
    server = HttpServer(app_, port=port, log=log)

    def ready(s: HttpServer) -> None:
        sys.stdout.write(f"{s.url}\n")
        sys.stdout.flush()
        log(f"kctl sandbox listening on {s.url}  (POST /whatsapp, /sms, /v1/{{sid}}/messages)")

    try:
        reason = server.serve_forever(on_ready=ready)
    finally:
        log.flush()
    _raise_if_signalled(reason)


def _raise_if_signalled(reason: str) -> None:
    """After a server's graceful shutdown, end the command as the signal asked."""
    if reason == "interrupted":
        raise Interrupted(signal.SIGINT)
    if reason == "terminated":
        raise Interrupted(signal.SIGTERM)


@command(
    app,
    "listen",
    panel=SERVERS,
    example="""
    kctl listen --port 9090
    kctl listen --port 0 --count 1 --timeout 30 --json
    """,
)
def listen_command(
    port: PortOption = 9090,
    as_json: Annotated[
        bool, typer.Option("--json", help="After the URL line, one JSON object per callback.")
    ] = False,
    count: Annotated[
        int | None,
        typer.Option("--count", metavar="N", help="Exit after this many reports.", min=1),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", metavar="SECONDS", help="Exit after this many seconds.", min=0),
    ] = None,
) -> None:
    """Receive callbacks as CleverTap's endpoints do: answer 200, or 400 naming the missing fields.

    Takes WhatsApp delivery reports and inbound messages, SMS events and Kaleyra's own status
    callbacks on any path, checks each against CleverTap's formats and prints it. Prints its
    base URL, http://127.0.0.1:PORT, as the first line on stdout.

    Exits 0 when every callback met CleverTap's format, 1 when one did not (it was answered
    400), 7 when --count reports did not arrive within --timeout, 130 on Ctrl-C.
    """
    from kctl.servers.http import HttpServer
    from kctl.servers.listener import Listener, stream_emitter

    # reports go out through a writer thread: a stdout nobody reads must not stall the server
    emit = stream_emitter(sys.stdout, log=stderr)
    listener = Listener(emit, json_lines=as_json, count=count, log=stderr)
    server = HttpServer(listener, port=port, log=stderr)

    def ready(s: HttpServer) -> None:
        sys.stdout.write(f"{s.url}\n")
        sys.stdout.flush()
        stderr(f"kctl listen on {s.url}  (any path; Ctrl-C to stop)")

    _raise_if_signalled(server.serve_forever(timeout=timeout, on_ready=ready))
    if count is not None and len(listener.reports) < count:
        stderr(f"kctl: {len(listener.reports)} of {count} reports before the timeout")
        raise typer.Exit(7)
    broken = sum(not r.ok for r in listener.reports)
    if broken:
        stderr(
            f"kctl: {broken} of {len(listener.reports)} callback(s) broke CleverTap's format"
            " (answered 400); exit 1"
        )
        raise typer.Exit(1)
