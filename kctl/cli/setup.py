"""The set-up commands: plan, render-callback-url, init, completion; and doctor.

Like app.py: no ``from __future__ import annotations`` (typer reads the annotations at start-up)
and nothing heavier than typer at import time.
"""

import sys
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any

import typer

from kctl.cli.base import (
    ConfigOption,
    JsonFlag,
    OptionalConfig,
    ProviderOption,
    _terminal_width,
    app,
    command,
)
from kctl.cli.exits import stderr, write_output
from kctl.cli.help import CHECK, SET_UP
from kctl.contract.channels import Channel as InitChannel
from kctl.errors import SecretUnavailable, UsageError
from kctl.render.term import wants_color


class PlanFormat(StrEnum):
    text = "text"
    json = "json"
    markdown = "markdown"


@command(
    app,
    "plan",
    panel=SET_UP,
    example="""
    kctl plan --config configs/account.yaml
    kctl plan --config configs/account.yaml --format markdown > set-up.md
    """,
)
def plan(
    config: ConfigOption,
    provider: ProviderOption = None,
    fmt: Annotated[
        PlanFormat,
        typer.Option(
            "--format",
            "-f",
            metavar="FORMAT",
            help="text, json, or markdown (a checklist to paste into a ticket).",
            case_sensitive=False,
        ),
    ] = PlanFormat.text,
    as_json: Annotated[bool, typer.Option("--json", help="Same as --format json.")] = False,
) -> None:
    """What to type where: CleverTap's provider form field by field, what Kaleyra needs, and
    the templates to create.

    For each provider (or --provider): the form's fields as the form names them, values as it
    wants them (the business number without '+'), secrets masked; the number's Incoming URL
    and the callback URLs to hand to Kaleyra support; the templates to create in CleverTap.
    """
    from kctl.config.model import load_account
    from kctl.config.plan import plan_account
    from kctl.render import plan as render

    result = plan_account(load_account(config), provider)
    if as_json or fmt is PlanFormat.json:
        text = render.render_json(result)
    elif fmt is PlanFormat.markdown:
        text = render.render_markdown(result)
    else:
        width = _terminal_width() if sys.stdout.isatty() else 100
        text = render.render_text(result, width=width, color=wants_color(sys.stdout))
    write_output(text, None)


@command(
    app,
    "render-callback-url",
    panel=SET_UP,
    example="""
    kctl render-callback-url --config configs/whatsapp.yaml
    kctl render-callback-url --incoming-url https://wa.kaleyra.example/in \\
        --inbound-callback-url https://in1.clevertap.example/wa/inbound/abc
    """,
)
def render_callback_url(
    config: OptionalConfig = None,
    provider: ProviderOption = None,
    incoming_url: Annotated[
        str | None,
        typer.Option(
            "--incoming-url", metavar="URL", help="Incoming URL base from Kaleyra support."
        ),
    ] = None,
    inbound_callback_url: Annotated[
        str | None,
        typer.Option(
            "--inbound-callback-url",
            metavar="URL",
            help="CleverTap's Inbound Message Callback URL.",
        ),
    ] = None,
    payload_version: Annotated[
        str | None,
        typer.Option("--payload-version", metavar="VERSION", help="Payload Version (default 0.1)."),
    ] = None,
    as_json: JsonFlag = False,
) -> None:
    """Build the Incoming URL to give Kaleyra for the number (for SMS: the delivery report
    callback URL): one line, or its parts with --json."""
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


@command(
    app,
    "doctor",
    panel=CHECK,
    example="""
    kctl doctor
    kctl doctor --config configs/account.yaml --online --json
    """,
)
def doctor(
    config: Annotated[
        str | None,
        typer.Option(
            "--config", "-c", metavar="FILE", help="Also check this config's secrets/hosts."
        ),
    ] = None,
    online: Annotated[
        bool, typer.Option("--online", help="Also try DNS, TCP and TLS to each host.")
    ] = False,
    timeout: Annotated[
        float,
        typer.Option(
            "--timeout", metavar="SECONDS", help="Seconds per network check.", min=0.1, max=60
        ),
    ] = 3.0,
    as_json: JsonFlag = False,
) -> None:
    """Check this machine: versions, keyring, secrets, proxy and CA settings, reachability."""
    from kctl.doctor import overall_exit_code, render_checks, run_doctor

    checks = run_doctor(config, online, timeout)
    width = _terminal_width() if sys.stdout.isatty() else 100
    write_output(render_checks(checks, as_json, width=width), None)
    code = overall_exit_code(checks)
    if code:
        raise typer.Exit(code)


def _answer(flag: str, text: str, metavar: str) -> Any:
    return typer.Option(flag, metavar=metavar, help=text, show_default=False)


@command(
    app,
    "init",
    panel=SET_UP,
    example="""
    kctl init whatsapp -o kctl.yaml
    kctl init sms --no-input --api-key-env KALEYRA_API_KEY --sid HXIN1 \\
        --sender KLRHXA --endpoint https://adapter.example/sms \\
        --callback-url https://ct.example/sms/dlr
    """,
)
def init(
    channel: Annotated[InitChannel, typer.Argument(metavar="whatsapp|sms", help="The channel.")],
    output: Annotated[
        Path | None,
        typer.Option(
            "--output",
            "-o",
            metavar="FILE",
            help="Config file to write (default kctl-CHANNEL.yaml).",
        ),
    ] = None,
    nickname: Annotated[str | None, _answer("--nickname", "Provider nickname.", "NICK")] = None,
    endpoint: Annotated[
        str | None, _answer("--endpoint", "HTTP End Point, from Kaleyra support.", "URL")
    ] = None,
    business_number: Annotated[
        str | None,
        _answer("--business-number", "WhatsApp Business Number: +919876543210.", "NUMBER"),
    ] = None,
    incoming_url: Annotated[
        str | None,
        _answer("--incoming-url", "The number's Incoming URL base, from Kaleyra support.", "URL"),
    ] = None,
    sid: Annotated[str | None, _answer("--sid", "Kaleyra SID.", "SID")] = None,
    kaleyra_host: Annotated[
        str | None, _answer("--kaleyra-host", "Kaleyra API host (default api.kaleyra.io).", "URL")
    ] = None,
    inbound_callback_url: Annotated[
        str | None,
        _answer("--inbound-callback-url", "CleverTap's Inbound Message Callback URL.", "URL"),
    ] = None,
    dlr_callback_url: Annotated[
        str | None,
        _answer("--dlr-callback-url", "CleverTap's Delivery Report Callback URL.", "URL"),
    ] = None,
    callback_url: Annotated[
        str | None, _answer("--callback-url", "CleverTap's SMS Callback URL.", "URL")
    ] = None,
    sender: Annotated[str | None, _answer("--sender", "Default SMS sender ID.", "ID")] = None,
    api_key_name: Annotated[
        str | None,
        _answer(
            "--api-key-name", "Keyring entry for the api-key (default kaleyra/api-key).", "NAME"
        ),
    ] = None,
    api_key_env: Annotated[
        str | None,
        _answer(
            "--api-key-env",
            "Read the api-key from this environment variable instead of the keyring"
            " (headless machines, CI): --api-key-env KALEYRA_API_KEY.",
            "VAR",
        ),
    ] = None,
    no_input: Annotated[
        bool, typer.Option("--no-input", help="Never prompt; fail on missing answers.")
    ] = False,
    force: Annotated[bool, typer.Option("--force", help="Overwrite an existing file.")] = False,
) -> None:
    """Create a provider config from flags, or by prompts that check each answer.

    Checks the output path and the keyring before asking anything, asks for the api-key
    before writing (and stores it in the keyring), and writes a config that validates and
    that send-test --sandbox accepts. Without a usable keyring, or with --api-key-env, the
    config reads the api-key from an environment variable.
    """
    from kctl.config.scaffold import API_KEY_ENV, SCHEMA_FILE, questions_for, render_config
    from kctl.files import check_writable, write_atomic

    if api_key_name is not None and api_key_env is not None:
        raise UsageError("--api-key-name and --api-key-env exclude each other")
    target = output or Path(f"kctl-{channel.value}.yaml")
    if target.exists() and not force:
        raise UsageError(f"{target} exists; not overwriting it", "pass --force to replace it")
    check_writable(target)
    interactive = not no_input and sys.stdin.isatty()
    from_env = api_key_env is not None or _keyring_unusable(interactive, api_key_name)
    given = {
        "nickname": nickname,
        "endpoint": endpoint,
        "business_number": business_number,
        "incoming_url": incoming_url,
        "sid": sid,
        "kaleyra_host": kaleyra_host,
        "inbound_callback_url": inbound_callback_url,
        "dlr_callback_url": dlr_callback_url,
        "callback_url": callback_url,
        "sender": sender,
        "api_key_name": api_key_name,
        "api_key_env": api_key_env,
    }
    answers: dict[str, str] = {}
    missing: list[str] = []
    for q in questions_for(channel, api_key_from_env=from_env):
        flag = "--" + q.key.replace("_", "-")
        value = given[q.key]
        if value is not None:
            problem = q.check(value)
            if problem:
                raise UsageError(f"{flag}: {problem}")
            answers[q.key] = value
        elif interactive:
            while True:
                value = typer.prompt(q.prompt, default=q.default, err=True)
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
    _check_scaffold(str(target), text)
    stored = _ask_and_store_api_key(answers) if interactive and not from_env else False
    write_atomic(target, text)
    stderr(f"wrote {target}")
    schema_path = target.parent / SCHEMA_FILE
    if not schema_path.exists():
        import json

        from kctl.config.schema import json_schema

        write_atomic(schema_path, json.dumps(json_schema(), indent=2) + "\n")
        stderr(f"wrote {schema_path} (editor support)")
    if from_env:
        var = answers[API_KEY_ENV.key]
        stderr(f"next: export {var}=...   (the config reads the api-key from ${{{var}}})")
    elif not stored:
        key = answers["api_key_name"]
        stderr(f"next: kctl secrets set {key}   (the file refers to it, never holds it)")
    stderr(f"then: kctl plan --config {target}   (what to type into CleverTap's form)")


def _keyring_unusable(interactive: bool, api_key_name: str | None) -> bool:
    """Whether the api-key must come from the environment: there is no keyring to put it in.
    Decided before the first question, so no answer is typed in vain."""
    from kctl.secrets import keyring_backend

    try:
        keyring_backend()
    except SecretUnavailable as e:
        if api_key_name is not None or not interactive:
            raise SecretUnavailable(
                e.message, "pass --api-key-env VAR: the config then reads ${VAR}"
            ) from e
        stderr(f"kctl: {e.message}; the config will read the api-key from the environment")
        return True
    return False


def _check_scaffold(name: str, text: str) -> None:
    from kctl.config.loader import load_bytes
    from kctl.config.validate import check_document

    errors = [f for f in check_document(load_bytes(name, text.encode())) if f.is_error]
    if errors:  # an answer the questions let through: say which, write nothing
        first = errors[0]
        raise UsageError(f"the config would not validate: {first.code} {first.message}", first.hint)


def _ask_and_store_api_key(answers: dict[str, str]) -> bool:
    """Ask for the api-key and store it, before the config that refers to it is written."""
    from kctl.secrets import (
        backend_name,
        keyring_backend,
        plaintext_store,
        secret_exists,
        store_secret,
    )

    key = answers["api_key_name"]
    backend = keyring_backend()
    where = plaintext_store(backend)
    if where is not None:
        stderr(
            f"kctl: warning: the keyring backend {backend_name(backend)} keeps secrets in plain"
            f" text: {where}"
        )
        if not typer.confirm("Store the api-key there anyway?", default=False, err=True):
            return False
    if secret_exists(key) and not typer.confirm(
        f"The keyring has {key} already. Replace it?", default=False, err=True
    ):
        return True
    secret = typer.prompt(
        f"api-key (stored in the keyring as {key}; empty to skip)",
        default="",
        hide_input=True,
        show_default=False,
        err=True,
    )
    if not secret:
        return False
    store_secret(key, secret)
    stderr(f"stored the api-key in the keyring as '{key}'")
    return True


class Shell(StrEnum):
    bash = "bash"
    zsh = "zsh"
    fish = "fish"


@command(
    app,
    "completion",
    panel=SET_UP,
    example="""
    kctl completion bash > ~/.local/share/bash-completion/completions/kctl
    kctl completion zsh > "${fpath[1]}/_kctl"
    kctl completion fish > ~/.config/fish/completions/kctl.fish
    """,
)
def completion(
    shell: Annotated[Shell, typer.Argument(metavar="bash|zsh|fish", help="The shell.")],
) -> None:
    """Print the shell completion script: commands, options, and provider, template and
    secret names."""
    from kctl.cli.completion import completion_script

    write_output(completion_script(shell.value), None)
