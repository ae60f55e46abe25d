"""kctl verify: the checks CleverTap runs when a provider or a template is saved, replayed.

* provider save: CleverTap posts its validation payload (SPEC 4.1) to the endpoint and needs a
  success within one second;
* template save: it posts the template's own payload to a dummy number, with the same bar;
* SMS has no such check in CleverTap; kctl checks what it can without sending a real SMS (the
  form builds; the endpoint accepts a TCP and TLS connection; under India's DLT, each template
  fits its registration) unless asked to send one.

The core yields ``Started`` and ``Checked`` events; ``kctl.render.verify`` draws them.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import assert_never
from urllib.parse import urlsplit

from kctl.config.model import (
    Account,
    Provider,
    SmsProvider,
    SmsTemplate,
    WhatsAppProvider,
)
from kctl.contract import dlt, sms
from kctl.contract import whatsapp as wa
from kctl.errors import KctlError, NetworkFailure
from kctl.send.build import Message, build_request, whatsapp_json_request
from kctl.send.samples import SAMPLE, template_samples
from kctl.send.whatsapp import new_msg_id, template_payload
from kctl.send.wire import Request, Via

# CleverTap validates templates by sending them "to a dummy number" it does not publish; kctl
# uses this one. Like CleverTap's, it is exempt from test_recipients, and it ends in none of the
# sandbox's magic suffixes, so the sandbox accepts it.
DUMMY_NUMBER = "+919000000000"


@dataclass(frozen=True, slots=True)
class Check:
    provider: str
    kind: str  # provider-save, template-save, sms-form, sms-reachable, sms-dlt, sms-send
    name: str  # what is checked, for humans: "validation payload", "order_update (en)"
    line: int  # where in the config (the template's line, or the provider's)
    passed: bool
    exit_code: int  # SPEC 3; 0 when passed
    verdict: str
    hint: str | None = None
    seconds: float | None = None  # how long the endpoint took, when something was sent
    request: Request | None = None  # what was sent, secrets still as ${...} references
    samples: tuple[str, ...] = ()  # send-time values kctl made up (no example in the config)


@dataclass(frozen=True, slots=True)
class Started:
    provider: str
    name: str
    index: int  # 1-based
    total: int


@dataclass(frozen=True, slots=True)
class Checked:
    check: Check
    index: int
    total: int


Event = Started | Checked


@dataclass(frozen=True, slots=True)
class Plan:
    """One check to run: a request to send (None: a check that sends nothing)."""

    provider: Provider
    kind: str
    name: str
    line: int
    request: Request | None
    samples: tuple[str, ...] = ()
    # a check decided without sending anything: (exit code, verdict, hint)
    decided: tuple[int, str, str | None] | None = None


def plans(
    account: Account, nicknames: tuple[str, ...], send_to: str | None, *, force: bool = False
) -> list[Plan]:
    """Every check for the chosen providers (all when ``nicknames`` is empty), in config order.

    ``send_to``: also send one real SMS per SMS provider to this number, which must be in the
    provider's test_recipients unless ``force`` (the sandbox).
    """
    from kctl.errors import UsageError

    chosen = [p for p in account.providers if not nicknames or p.nickname in nicknames]
    unknown = set(nicknames) - {p.nickname for p in account.providers}
    if unknown:
        raise UsageError(
            f"{account.file} has no provider " + ", ".join(f"'{n}'" for n in sorted(unknown)),
            "providers: " + ", ".join(p.nickname for p in account.providers),
        )
    out: list[Plan] = []
    for provider in chosen:
        match provider:
            case WhatsAppProvider():
                out += _whatsapp_plans(provider)
            case SmsProvider():
                out += _sms_plans(provider, send_to, force)
            case _:
                assert_never(provider)
    return out


def _whatsapp_plans(provider: WhatsAppProvider) -> list[Plan]:
    from kctl.send.whatsapp import validation_payload

    payload = validation_payload(provider, DUMMY_NUMBER)
    request = whatsapp_json_request(provider, payload, wa.VALIDATION_MSG_ID)
    out = [Plan(provider, "provider-save", "validation payload", provider.line, request)]
    for template in provider.templates:
        values, samples = template_samples(template)
        msg_id = new_msg_id()
        payload = template_payload(provider, template, values, DUMMY_NUMBER, msg_id)
        request = whatsapp_json_request(provider, payload, msg_id)
        label = f"{template.name} ({template.language})"
        out.append(Plan(provider, "template-save", label, template.line, request, samples))
    return out


SMS_TEXT = "kctl verify: test message"


def _sms_message(provider: SmsProvider, to: str, sender: str | None, force: bool) -> Message:
    """What verify sends: free text, or under DLT (where free text is dropped) the first
    template with a registered text, filled with samples."""
    registered = [t for t in provider.templates if provider.registration(t.dlt_template_id)]
    if not provider.is_dlt or not registered:
        return Message(to, body=SMS_TEXT, sender=sender, force=force)
    template = registered[0]
    params = tuple(SAMPLE for _ in range(template.body.count(dlt.VARIABLE)))
    return Message(to, template=template.name, params=params, sender=sender, force=force)


def _sms_plans(provider: SmsProvider, send_to: str | None, force: bool) -> list[Plan]:
    sender = None if provider.sender else "KCTL"
    # the form must build: every replacement filled, a body or a template there
    build_request(provider, _sms_message(provider, DUMMY_NUMBER, sender, True), Via.ADAPTER)
    out = [
        Plan(provider, "sms-form", "form parameters", provider.line, None),
        Plan(provider, "sms-reachable", "endpoint reachable (TCP/TLS)", provider.line, None),
    ]
    if provider.is_dlt and not provider.dlt_registrations:
        note = (
            "not checked: no registered DLT text is known (give the templates dlt_text, or"
            " pass --dlt-registry)"
        )
        decided = (0, note, None)
        out.append(Plan(provider, "sms-dlt", "DLT registrations", provider.line, None, (), decided))
    elif provider.is_dlt:
        out += [_dlt_plan(provider, template, sender) for template in provider.templates]
    if send_to is not None:
        message = _sms_message(provider, send_to, sender, force)
        request = build_request(provider, message, Via.ADAPTER)
        out.append(Plan(provider, "sms-send", f"send to {send_to}", provider.line, request))
    return out


def _dlt_plan(provider: SmsProvider, template: SmsTemplate, sender: str | None) -> Plan:
    """The template, filled with samples, held against its DLT registration: the check an
    operator makes on every message sent from it."""
    from kctl.errors import DltRefused
    from kctl.send.dlt import dlt_verdict

    wanted = template.body.count(dlt.VARIABLE)
    params = tuple(SAMPLE for _ in range(wanted))
    text = sms.fill_variables(template.body, params)
    verdict = dlt_verdict(provider, text, template, sender or provider.sender, params=params)
    samples = tuple(f"{dlt.VARIABLE} {n}" for n in range(1, wanted + 1))
    name = f"{template.name} (DLT {template.dlt_template_id or 'no id'})"
    decided: tuple[int, str, str | None]
    if verdict is None or verdict.code is None:
        decided = (0, verdict.note if verdict else "not a DLT provider", None)
    else:
        hint = f"{verdict.hint}; " if verdict.hint else ""
        decided = (
            DltRefused.exit_code,
            f"{verdict.problem} (failure {verdict.code})",
            f"{hint}operators drop every message sent from it",
        )
    return Plan(provider, "sms-dlt", name, template.line, None, samples, decided)


def verify_account(
    account: Account,
    nicknames: tuple[str, ...],
    send_to: str | None,
    *,
    sandbox: bool,
    timeout: float,
    verify_tls: bool | str = True,
) -> Iterator[Event]:
    """Every check of ``plans``, run in order; with ``sandbox``, against an embedded sandbox
    and listener that approve exactly the config's templates, as Kaleyra would have."""
    with contextlib.ExitStack() as stack:
        if sandbox:
            from kctl.send.run import sandboxed
            from kctl.servers.sandbox import local_pair

            pair = stack.enter_context(local_pair(providers=account.providers))
            account = account.with_providers(
                sandboxed(p, pair.sandbox_url, pair.listener_url) for p in account.providers
            )
        chosen = plans(account, nicknames, send_to, force=sandbox)
        yield from run_verify(chosen, timeout=timeout, verify_tls=verify_tls)


def run_verify(
    plans_to_run: list[Plan], *, timeout: float, verify_tls: bool | str = True
) -> Iterator[Event]:
    """Run each plan in order, yielding Started before and Checked after each."""
    total = len(plans_to_run)
    for index, plan in enumerate(plans_to_run, 1):
        yield Started(plan.provider.nickname, plan.name, index, total)
        yield Checked(_run(plan, timeout, verify_tls), index, total)


def _result(
    plan: Plan,
    exit_code: int,
    verdict: str,
    *,
    hint: str | None = None,
    seconds: float | None = None,
    request: Request | None = None,
) -> Check:
    return Check(
        plan.provider.nickname,
        plan.kind,
        plan.name,
        plan.line,
        passed=exit_code == 0,
        exit_code=exit_code,
        verdict=verdict,
        hint=hint,
        seconds=seconds,
        request=request,
        samples=plan.samples,
    )


def _run(plan: Plan, timeout: float, verify_tls: bool | str) -> Check:
    from kctl.send.outcome import classify
    from kctl.send.resolve import resolve_request
    from kctl.send.transport import send

    if plan.decided is not None:
        code, verdict, hint = plan.decided
        return _result(plan, code, verdict, hint=hint)
    if plan.kind == "sms-form":
        return _result(plan, 0, "every parameter builds")
    if plan.kind == "sms-reachable":
        try:
            seconds = reach(plan.provider.endpoint, timeout, verify_tls)
        except KctlError as e:  # a network failure, or a CA bundle that cannot be used
            return _result(plan, e.exit_code, e.message, hint=e.hint)
        return _result(plan, 0, f"connected in {seconds * 1000:.0f} ms", seconds=seconds)
    assert plan.request is not None, "a sending check has a request"
    request = plan.request
    try:
        # CleverTap sends once: no retries, so the time shown is the one CleverTap would see
        resolved, _ = resolve_request(request)
        response = send(resolved, timeout=timeout, retries=0, verify=verify_tls)
    except KctlError as e:
        return _result(plan, e.exit_code, e.message, hint=e.hint, request=request)
    outcome = classify(response, Via.ADAPTER)
    verdict = outcome.verdict
    said = outcome.error_message
    if said and said not in verdict:
        verdict += f": {said}"
    return _result(
        plan,
        0 if outcome.accepted else outcome.exit_code,
        verdict,
        hint=outcome.hint,
        seconds=response.elapsed,
        request=request,
    )


def reach(url: str, timeout: float, verify_tls: bool | str = True) -> float:
    """Seconds to open a TCP connection to ``url``'s host, with a TLS handshake for https;
    NetworkFailure (exit 4) when that fails. Nothing is sent."""
    import socket
    import ssl

    from kctl.send.transport import tls_trust

    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout) as raw:
            if parts.scheme == "https":
                # the trust a send uses (SSL_CERT_FILE, --ca-bundle), as kctl doctor reports it
                trust = tls_trust(verify_tls)
                context = trust if not isinstance(trust, bool) else ssl.create_default_context()
                if trust is False:
                    context.check_hostname = False
                    context.verify_mode = ssl.CERT_NONE
                with contextlib.closing(context.wrap_socket(raw, server_hostname=host)):
                    pass
    except ssl.SSLError as e:
        raise NetworkFailure(
            f"TLS handshake with {host}:{port} failed: {e.reason or type(e).__name__}",
            "check the endpoint's certificate (kctl doctor --online)",
        ) from e
    except OSError as e:
        raise NetworkFailure(
            f"cannot connect to {host}:{port}: {e.strerror or type(e).__name__}",
            "check the endpoint URL and that it is reachable from here",
        ) from e
    return time.monotonic() - started


def exit_code(checks: list[Check]) -> int:
    """0 when all passed, else the highest exit code among the failures (SPEC 3)."""
    return max((c.exit_code for c in checks if not c.passed), default=0)
