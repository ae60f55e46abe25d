"""The sandbox's DLT scrubbing, as Indian operators do it after Kaleyra has taken the message.

Kaleyra (and CleverTap's adapter) accept an SMS whose text does not fit its DLT template: the
operator drops it later, and the delivery report says failed with 906 (header), 907 (entity)
or 908 (template or text). The sandbox does the same for recipients in India, against the
registrations of the config it serves (each template's ``dlt_text``, or ``--dlt-registry``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from kctl.contract import dlt
from kctl.contract.dlt import Registration

if TYPE_CHECKING:
    from kctl.config.model import Provider


@dataclass(frozen=True, slots=True)
class DltBook:
    """What the DLT platform holds for the account: templates by id, and its entities."""

    registrations: dict[str, Registration]
    entities: frozenset[str]
    # the registrations are all there are (a registry, or dlt_text on every template): a text
    # or an id they do not know is not registered, rather than unknown
    complete: bool = False


def dlt_book_for(providers: Iterable[Provider]) -> DltBook | None:
    """The registrations of the SMS providers that send under DLT; None when none does."""
    from kctl.config.model import SmsProvider

    registrations: dict[str, Registration] = {}
    entities: set[str] = set()
    dlt_providers = [p for p in providers if isinstance(p, SmsProvider) and p.is_dlt]
    for provider in dlt_providers:
        if provider.dlt_entity_id is not None:
            entities.add(provider.dlt_entity_id)
        for registration in provider.dlt_registrations:
            registrations.setdefault(registration.template_id, registration)
    if not dlt_providers:
        return None
    complete = all(p.dlt_complete for p in dlt_providers)
    return DltBook(registrations, frozenset(entities), complete)


def dlt_failure(fields: dict[str, str], book: DltBook) -> tuple[str, str] | None:
    """(failure code, description) an operator would report for this SMS; None when it passes
    or is not DLT's business (a recipient outside India, or nothing registered to hold it to)."""
    if not dlt.is_india_number(fields.get("to", "")):
        return None
    body = fields.get("body", "")
    template_id = fields.get("template_id", "")
    if template_id:
        registration = book.registrations.get(template_id)
        if registration is None:
            if not book.complete:
                return None
            return dlt.TEMPLATE_NOT_MATCHED, f"DLT template {template_id} is not registered"
    else:
        found = dlt.closest(body, book.registrations.values())
        if found is None:
            return None
        registration, mismatch = found
        if mismatch is not None and not book.complete:
            return None
        if mismatch is not None:
            return dlt.TEMPLATE_NOT_MATCHED, (
                "the text matches no registered DLT template; the closest is"
                f" {registration.template_id}: {mismatch.describe('the text')}"
            )
    chain = dlt.chain_problem(registration, entity_id=None, header=fields.get("sender"))
    if chain is not None:
        return chain
    owner = registration.entity_id
    if owner is not None and book.entities and owner not in book.entities:
        return dlt.ENTITY_NOT_REGISTERED, (
            f"DLT template {registration.template_id} is registered to entity {owner}, not to"
            f" this account's ({', '.join(sorted(book.entities))})"
        )
    if not body:
        return None  # Kaleyra fills the text in from the template id itself
    mismatch = dlt.mismatch(body, registration.text)
    if mismatch is not None:
        return dlt.TEMPLATE_NOT_MATCHED, (
            f"the text does not match DLT template {registration.template_id}:"
            f" {mismatch.describe('the text')}"
        )
    return None
