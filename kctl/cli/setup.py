"""The set-up commands: render-callback-url, init, doctor.

Like app.py: no ``from __future__ import annotations`` (typer reads the annotations at start-up)
and nothing heavier than typer at import time.
"""

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from kctl.cli.base import ProviderOption, app, stderr, write_output
from kctl.contract.channels import Channel as InitChannel
from kctl.errors import UsageError


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
