"""India's DLT at send time: the SMS about to go out, held against its registered template.

send-test, verify, load and preview build an SMS the same way; before it leaves, the filled
text is scrubbed as an operator would: the registered template is found (the one the template
names, or for free text the one it matches), the sender and the entity must be the ones
registered with it, and the text must match it with each variable at most 30 characters. A
message to an Indian number that fails is refused (``DltRefused``, exit 2) with the character
where it first differs; preview shows the same verdict without refusing anything.
"""

from __future__ import annotations

from kctl.config.model import SmsProvider, SmsTemplate
from kctl.contract import dlt
from kctl.contract.dlt import Mismatch, Registration
from kctl.errors import DltRefused
from kctl.lean import Record

TYPE_CHECKING = False  # not typing's: every send imports this module
if TYPE_CHECKING:
    from typing import Final


class DltVerdict(Record):
    """How a DLT provider's SMS fares against the registrations kctl knows."""

    __slots__ = ("code", "hint", "mismatch", "note", "problem", "registration")
    note: Final[str]  # one line for humans: what it was held against, and how that went
    registration: Final[Registration | None]  # the template it was held against
    code: Final[str | None]  # 906, 907 or 908 when operators would drop it
    problem: Final[str | None]  # why, one clause
    mismatch: Final[Mismatch | None]  # where the text first differs, for a 908 on the text
    hint: Final[str | None]

    def __init__(  # noqa: PLR0917 - positional, as the dataclass it replaces
        self,
        note: str,
        registration: Registration | None = None,
        code: str | None = None,
        problem: str | None = None,
        mismatch: Mismatch | None = None,
        hint: str | None = None,
    ) -> None:
        self.note = note
        self.registration = registration
        self.code = code
        self.problem = problem
        self.mismatch = mismatch
        self.hint = hint

    @property
    def checked(self) -> bool:
        return self.registration is not None

    @property
    def passed(self) -> bool:
        return self.checked and self.code is None


def _label(registration: Registration, template: SmsTemplate | None) -> str:
    name = f" ({template.name})" if template is not None else ""
    return f"DLT template {registration.template_id}{name}"


def dlt_verdict(
    provider: SmsProvider,
    text: str,
    template: SmsTemplate | None,
    sender: str | None,
    *,
    params: tuple[str, ...] = (),
) -> DltVerdict | None:
    """The verdict on ``text`` (from ``template`` filled with ``params``, or free text) sent as
    ``sender``; None when the provider does not send under DLT."""
    if not provider.is_dlt:
        return None
    if template is not None:
        registration = provider.registration(template.dlt_template_id)
        if registration is None:
            what = (
                f"DLT template {template.dlt_template_id}"
                if template.dlt_template_id
                else f"template '{template.name}' (it has no dlt_template_id)"
            )
            return DltVerdict(
                f"not checked: the registered text of {what} is unknown"
                " (give the template dlt_text, or pass --dlt-registry)"
            )
    else:
        found = dlt.closest(text, provider.dlt_registrations)
        if found is None:
            return DltVerdict(
                "not checked: no registered DLT text is known to hold free text against"
                " (give templates dlt_text, or pass --dlt-registry)"
            )
        registration, off = found
        if off is not None and not provider.dlt_complete:
            return DltVerdict(
                f"not checked: the text matches none of the {len(provider.dlt_registrations)}"
                " registered DLT text(s) kctl knows, but others may be registered (pass"
                " --dlt-registry to hold it against them all)"
            )
    label = _label(registration, template)
    chain = dlt.chain_problem(registration, entity_id=provider.dlt_entity_id, header=sender)
    if chain is not None:
        code, problem = chain
        hint = f"registered: entity {registration.entity_id}, header {registration.header}"
        if registration.source:
            hint += f" ({registration.source})"
        note = f"operators would drop it (failure {code}): {problem}"
        return DltVerdict(note, registration, code, problem, hint=hint)
    found_mismatch = dlt.mismatch(text, registration.text)
    if found_mismatch is None:
        how = "" if template is not None else ", by its text"
        return DltVerdict(f"matches {label}{how}", registration)
    where = found_mismatch.describe("the SMS")
    if template is not None:
        problem = f"does not match {label}: {where}"
    else:
        problem = f"matches no registered DLT template; the closest is {label}: {where}"
    hint = (
        f'registered "{dlt.excerpt(registration.text, found_mismatch.template_position)}",'
        f' sending "{dlt.excerpt(text, found_mismatch.position)}"'
    )
    if found_mismatch.variable is not None and len(params) >= found_mismatch.variable:
        hint = f"shorten --param {found_mismatch.variable} to {dlt.VARIABLE_LIMIT} characters"
    return DltVerdict(
        f"operators would drop it (failure {dlt.TEMPLATE_NOT_MATCHED}): {problem}",
        registration,
        dlt.TEMPLATE_NOT_MATCHED,
        problem,
        found_mismatch,
        hint,
    )


def refuse_unmatched(verdict: DltVerdict | None, to: str) -> None:
    """Raise DltRefused when ``verdict`` says operators would drop an SMS to ``to``."""
    if verdict is None or verdict.code is None or not dlt.is_india_number(to):
        return
    hint = f"{verdict.hint}; " if verdict.hint else ""
    raise DltRefused(
        f"the SMS to {to} {verdict.problem}"
        if verdict.code == dlt.TEMPLATE_NOT_MATCHED
        else f"the SMS to {to} would be dropped: {verdict.problem}",
        f"{hint}operators drop it (CleverTap failure {verdict.code})",
    )
