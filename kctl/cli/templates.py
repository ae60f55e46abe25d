"""``kctl templates pull|diff|export|serve``: options in, one core call, a renderer out.

Kept out of app.py (which only mounts it) so the commands' options read in one place. Like
app.py, no ``from __future__ import annotations`` (typer reads the annotations) and nothing
heavier than typer at import time.
"""

import sys
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from kctl.cli.base import CaBundle, ConfigOption, OutputFile, PortOption, command, group
from kctl.cli.complete import complete_provider
from kctl.errors import KctlError, UsageError

if TYPE_CHECKING:
    from kctl.config.model import WhatsAppProvider
    from kctl.servers.template_import import ImportAuth
    from kctl.templates.remote import Fetched

templates_app = group(
    "Keep the config's WhatsApp templates and Kaleyra's approved ones in step, "
    "and serve them to CleverTap's template import.",
    """
    kctl templates diff --config kctl.yaml
    kctl templates pull --config kctl.yaml --dry-run
    """,
)


class Api(StrEnum):
    auto = "auto"
    v1 = "v1"
    v2 = "v2"


class DiffFormat(StrEnum):
    text = "text"
    json = "json"
    github = "github"
    sarif = "sarif"


class ExportFormat(StrEnum):
    clevertap = "clevertap"
    meta = "meta"


WhatsAppProviderOption = Annotated[
    str | None,
    typer.Option(
        "--provider",
        "-p",
        metavar="NICK",
        help="WhatsApp provider nickname (default: the only one).",
        autocompletion=complete_provider,
    ),
]
FromOption = Annotated[
    str | None,
    typer.Option(
        "--from",
        metavar="FILE|URL",
        help="Read Meta-format templates from a file, - (stdin) or a URL instead of Kaleyra: "
        "--from approved.json.",
    ),
]
ApiOption = Annotated[
    Api,
    typer.Option(
        "--api",
        metavar="auto|v1|v2",
        help="Kaleyra API: v2 message_templates (needs waba_id), v1 templates/status, or auto "
        "(v2 when the provider has a waba_id).",
        case_sensitive=False,
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout", metavar="SECONDS", help="Seconds per request to Kaleyra.", min=0.1, max=600
    ),
]


def _provider(config: str, nickname: str | None) -> "tuple[str, WhatsAppProvider]":
    from kctl.config.model import WhatsAppProvider, load_account
    from kctl.contract.channels import Channel

    account = load_account(config)
    chosen = account.provider(nickname, Channel.WHATSAPP)
    if not isinstance(chosen, WhatsAppProvider):
        raise UsageError(f"provider '{chosen.nickname}' is not a WhatsApp provider")
    return account.file, chosen


def _fetch(
    provider: "WhatsAppProvider",
    source: str | None,
    api: Api,
    timeout: float,
    ca_bundle: Path | None,
) -> "Fetched":
    from kctl.templates.remote import fetch

    return fetch(
        provider,
        source=source,
        api=api.value,
        timeout=timeout,
        verify=str(ca_bundle) if ca_bundle else True,
    )


def _remote_name(source: str | None) -> str:
    return "Kaleyra" if source is None else "the source"


@command(
    templates_app,
    "pull",
    example="""
    kctl templates pull --config kctl.yaml --provider Kaleyra --dry-run
    """,
)
def pull(
    config: ConfigOption,
    provider: WhatsAppProviderOption = None,
    source: FromOption = None,
    api: ApiOption = Api.auto,
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Write here (a new or empty file, or another config) instead.",
        ),
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="Replace templates that differ from the remote's.")
    ] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the change to the file; write nothing.")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print one JSON document.")] = False,
    timeout: TimeoutOption = 30.0,
    ca_bundle: CaBundle = None,
) -> None:
    """Write the remote's approved templates into the config, keeping its comments and order."""
    from kctl.cli.exits import stderr, write_output
    from kctl.render.templates import render_pull_json, render_pull_text
    from kctl.templates.pull import pull as run_pull

    file, chosen = _provider(config, provider)
    fetched = _fetch(chosen, source, api, timeout, ca_bundle)
    outcome = run_pull(
        file,
        chosen,
        fetched.templates,
        fetched.source,
        output=output,
        force=force,
        dry_run=dry_run,
    )
    text = render_pull_json(outcome) if as_json else render_pull_text(outcome, dry_run=dry_run)
    write_output(fetched.masker.mask_text(text), None)
    if not as_json:
        done = "would write" if dry_run and outcome.preview else "wrote"
        if outcome.written or (dry_run and outcome.preview):
            stderr(f"kctl: {done} {outcome.target} ({fetched.masker.mask_text(fetched.source)})")
        else:
            stderr(f"kctl: {outcome.target} already holds the remote's approved templates")
    if outcome.exit_code:
        raise typer.Exit(outcome.exit_code)


@command(
    templates_app,
    "diff",
    example="""
    kctl templates diff --config kctl.yaml --format github
    """,
)
def diff(
    config: ConfigOption,
    provider: WhatsAppProviderOption = None,
    source: FromOption = None,
    api: ApiOption = Api.auto,
    fmt: Annotated[
        DiffFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text, json, github or sarif.",
            case_sensitive=False,
        ),
    ] = DiffFormat.text,
    output_file: OutputFile = None,
    ignore_extra: Annotated[
        bool,
        typer.Option(
            "--ignore-extra", help="Do not count templates that exist only on the remote."
        ),
    ] = False,
    timeout: TimeoutOption = 30.0,
    ca_bundle: CaBundle = None,
) -> None:
    """Compare the config's templates with the remote's: exit 0 no drift, 1 drift, >1 error."""
    from kctl.cli.exits import write_output
    from kctl.render.templates import render_diff
    from kctl.render.term import wants_color
    from kctl.templates.diff import diff_templates

    try:
        file, chosen = _provider(config, provider)
        fetched = _fetch(chosen, source, api, timeout, ca_bundle)
    except KctlError as e:
        # as with kubectl diff and terraform plan, 1 means drift: every error is above it
        e.exit_code = max(e.exit_code, 2)
        raise
    result = diff_templates(
        file, chosen, fetched.templates, fetched.source, ignore_extra=ignore_extra
    )
    color = fmt is DiffFormat.text and output_file is None and wants_color(sys.stdout)
    text = render_diff(result, fmt.value, remote_name=_remote_name(source), color=color)
    write_output(fetched.masker.mask_text(text), output_file)
    if result.exit_code:
        raise typer.Exit(result.exit_code)


@command(
    templates_app,
    "export",
    example="""
    kctl templates export --config kctl.yaml -o templates.json
    """,
)
def export(
    config: ConfigOption,
    provider: WhatsAppProviderOption = None,
    fmt: Annotated[
        ExportFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="clevertap: CleverTap's import response (SPEC 4.9); meta: a list in Meta's "
            "format with kctl's sample values, which pull --from reads back.",
            case_sensitive=False,
        ),
    ] = ExportFormat.clevertap,
    output_file: Annotated[
        Path | None,
        typer.Option("--output-file", "-o", metavar="FILE", help="Write here instead of stdout."),
    ] = None,
) -> None:
    """Write the config's templates in the format CleverTap imports."""
    import json

    from kctl.cli.exits import write_output
    from kctl.templates.export import entries_for, whole_document

    _, chosen = _provider(config, provider)
    match fmt:
        case ExportFormat.clevertap:
            doc: object = whole_document(entries_for(chosen.templates))
        case ExportFormat.meta:
            doc = {"data": [d for _, d in entries_for(chosen.templates, samples=True)]}
    write_output(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", output_file)


@command(
    templates_app,
    "serve",
    example="""
    kctl templates serve --config kctl.yaml --port 8088 --auth-token '${CT_TOKEN}'
    """,
)
def serve(
    config: ConfigOption,
    provider: WhatsAppProviderOption = None,
    port: PortOption = 8088,
    auth_user: Annotated[
        str | None,
        typer.Option("--auth-user", metavar="USER", help="Require basic auth with this user name."),
    ] = None,
    auth_password: Annotated[
        str | None,
        typer.Option(
            "--auth-password",
            metavar="REF",
            help="Its password, as a secret reference: --auth-password '${keyring:ct-import}'.",
        ),
    ] = None,
    auth_token: Annotated[
        str | None,
        typer.Option(
            "--auth-token",
            metavar="REF",
            help="Require this bearer token, as a secret reference: --auth-token '${CT_TOKEN}'.",
        ),
    ] = None,
    auth_header: Annotated[
        str,
        typer.Option(
            "--auth-header",
            metavar="HEADER",
            help="Header carrying the token (default: Authorization).",
        ),
    ] = "Authorization",
    public_url: Annotated[
        str | None,
        typer.Option(
            "--public-url",
            metavar="URL",
            help="The URL CleverTap uses (a tunnel's), for paging.next links.",
        ),
    ] = None,
    timeout: Annotated[
        float | None,
        typer.Option("--timeout", metavar="SECONDS", help="Stop after this many seconds.", min=0),
    ] = None,
) -> None:
    """Answer CleverTap's template import GETs (limit, after, paging.next) from the config.

    Prints its URL, http://127.0.0.1:PORT, as the first line on stdout.
    """
    from kctl.cli.exits import stderr
    from kctl.servers.http import HttpServer
    from kctl.servers.template_import import ImportEndpoint
    from kctl.templates.export import entries_for

    auth = _import_auth(auth_user, auth_password, auth_token, auth_header)
    _, chosen = _provider(config, provider)
    endpoint = ImportEndpoint(
        entries_for(chosen.templates), auth=auth, public_url=public_url, log=stderr
    )
    server = HttpServer(endpoint, port=port, log=stderr)

    def ready(s: HttpServer) -> None:
        sys.stdout.write(f"{s.url}\n")
        sys.stdout.flush()
        guarded = f", {auth.kind} auth" if auth else ", no auth"
        stderr(
            f"kctl templates serve: {len(endpoint.entries)} template(s) of provider"
            f" {chosen.nickname} at {s.url}/?limit=50{guarded} (Ctrl-C to stop)"
        )

    reason = server.serve_forever(timeout=timeout, on_ready=ready)
    if reason == "interrupted":
        raise typer.Exit(130)


def _import_auth(
    user: str | None, password: str | None, token: str | None, header: str
) -> "ImportAuth | None":
    from kctl.secrets import parse_reference, resolve_secret
    from kctl.servers.template_import import ImportAuth

    if token is not None and (user is not None or password is not None):
        raise UsageError("choose basic auth (--auth-user/--auth-password) or --auth-token")
    if (user is None) != (password is None):
        raise UsageError("--auth-user and --auth-password go together")
    secret = token if token is not None else password
    if secret is None:
        return None
    if parse_reference(secret) is None:
        raise UsageError(
            "give the secret as a reference, never its value on the command line",
            "--auth-token '${CT_TOKEN}' or '${keyring:NAME}' (kctl secrets set NAME)",
        )
    resolved = resolve_secret(secret)
    if token is not None:
        return ImportAuth("token", resolved, header=header)
    assert user is not None
    return ImportAuth("basic", resolved, username=user)
