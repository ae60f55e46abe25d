"""WhatsApp providers: KC109, KC401..KC409 (templates) and KC501/KC502 (the Incoming URL)."""

from __future__ import annotations

from kctl.config.loader import Node
from kctl.config.rules.base import Claims, Reporter, first_at
from kctl.config.rules.phones import check_phone
from kctl.config.rules.templates import check_template_name
from kctl.config.schema import suggestion
from kctl.contract import whatsapp as wa
from kctl.contract.numbers import is_payload_version
from kctl.urls import incoming_url_problem


def check_whatsapp(reporter: Reporter, p: Node, path: str) -> None:
    number = p.get("business_number")
    if number is not None:
        check_phone(reporter, number, f"{path}.business_number")
    version = p.get("payload_version")
    text = version.text() if version is not None else None
    if version is not None and text is not None and not is_payload_version(text):
        reporter.add(
            "KC109",
            version,
            f"{path}.payload_version",
            f"payload_version '{text}' is malformed",
            'copy the Payload Version from CleverTap\'s provider page, e.g. "0.1"',
        )
    incoming = p.get("incoming_url")
    if incoming is not None and incoming.text() is not None:
        problem = incoming_url_problem(incoming.value)
        if problem is not None:
            reporter.add(problem[0], incoming, f"{path}.incoming_url", problem[1])
    templates = p.get("templates")
    if templates is None:
        return
    seen = Claims()
    for j, template in enumerate(templates.items()):
        if not template.is_map:
            continue
        tpath = f"{path}.templates[{j}]"
        name, language = template.get("name"), template.get("language")
        if (
            name is not None
            and name.text()
            and language is not None
            and language.text()
            and (first := seen.earlier((name.value, language.value), name))
        ):
            reporter.add(
                "KC401",
                name,
                f"{tpath}.name",
                f"template '{name.value}' ({language.value}) is defined twice"
                f" {first_at(first, name)}",
            )
        if reporter.first_visit(template):
            check_template(reporter, template, tpath)


def check_template(reporter: Reporter, t: Node, path: str) -> None:
    check_template_name(reporter, t, path)
    language = t.get("language")
    if language is not None and language.text() is not None and language.value not in wa.LANGUAGES:
        code = language.value
        reporter.add(
            "KC409",
            language,
            f"{path}.language",
            f"'{code}' is not a WhatsApp template language code",
            suggestion(code.replace("-", "_"), sorted(wa.LANGUAGES)) or "e.g. en, en_US, pt_BR, hi",
        )
    offer = t.get("limited_time_offer")
    has_offer = offer is not None and offer.is_map
    header = t.get("header")
    if header is not None and header.is_map:
        htype, text = header.get("type"), header.get("text")
        lacks_text = text is None or not (text.text() or "").strip()
        if htype is not None and htype.value == "text" and lacks_text:
            reporter.add(
                "KC004", header, f"{path}.header.text", "a header of type text needs 'text'"
            )
        if text is not None and text.text() is not None:
            check_placeholders(reporter, text, f"{path}.header.text")
    body = t.get("body")
    if body is not None and body.text() is not None:
        limit = wa.BODY_LIMIT_WITH_OFFER if has_offer else wa.BODY_LIMIT
        if len(body.value) > limit:
            reporter.add(
                "KC403",
                body,
                f"{path}.body",
                f"template body is {len(body.value)} characters; the limit is {limit}"
                + (" with a limited time offer" if has_offer else ""),
            )
        check_placeholders(reporter, body, f"{path}.body")
    footer = t.get("footer")
    if footer is not None and footer.text() is not None and len(footer.value) > wa.FOOTER_LIMIT:
        reporter.add(
            "KC404",
            footer,
            f"{path}.footer",
            f"template footer is {len(footer.value)} characters; the limit is {wa.FOOTER_LIMIT}",
        )
    buttons = t.get("buttons")
    if buttons is not None and buttons.is_seq:
        check_buttons(reporter, buttons, f"{path}.buttons")
    if offer is not None and offer.is_map:
        check_offer(reporter, t, offer, path)


def check_offer(reporter: Reporter, t: Node, offer: Node, path: str) -> None:
    category = t.get("category")
    category_value = (category.text() if category is not None else None) or wa.DEFAULT_CATEGORY
    if category_value != wa.OFFER_CATEGORY and (category is None or category.text()):
        reporter.add(
            "KC407",
            offer,
            f"{path}.limited_time_offer",
            f"a limited time offer needs category {wa.OFFER_CATEGORY}, not {category_value}",
        )
    title = offer.get("title")
    if title is not None and title.text() and len(title.value) > wa.OFFER_TITLE_LIMIT:
        reporter.add(
            "KC407",
            title,
            f"{path}.limited_time_offer.title",
            f"offer title is {len(title.value)} characters; the limit is {wa.OFFER_TITLE_LIMIT}",
        )


def check_placeholders(reporter: Reporter, node: Node, path: str) -> None:
    found = wa.ANY_PLACEHOLDER.findall(node.value)
    if not found:
        return
    # ASCII digits only: str.isdigit() also accepts superscripts and other scripts
    bad = [f"{{{{{p}}}}}" for p in found if not (p.isascii() and p.isdigit())]
    if bad:
        reporter.add(
            "KC405",
            node,
            path,
            f"placeholder {bad[0]} is not a number",
            "placeholders are {{1}}, {{2}}, ... in order",
        )
        return
    numbers = {int(p) for p in found}
    expected = set(range(1, max(numbers) + 1))
    if numbers != expected:
        missing = sorted(expected - numbers)
        listing = ", ".join(f"{{{{{n}}}}}" for n in sorted(numbers))
        reporter.add(
            "KC405",
            node,
            path,
            f"placeholders must run {{{{1}}}}..{{{{n}}}} without gaps; found {listing}",
            "missing " + ", ".join(f"{{{{{n}}}}}" for n in missing) if missing else None,
        )


def check_buttons(reporter: Reporter, buttons: Node, path: str) -> None:
    items = [b for b in buttons.items() if b.is_map]
    if len(buttons.items()) > wa.MAX_BUTTONS:
        reporter.add(
            "KC406",
            buttons,
            path,
            f"{len(buttons.items())} buttons; a template has at most {wa.MAX_BUTTONS}",
        )
    counts: dict[str, int] = {}
    for j, button in enumerate(items):
        btype = button.get("type")
        kind = btype.text() if btype is not None else None
        if isinstance(kind, str):
            counts[kind] = counts.get(kind, 0) + 1
        needs = {"url": "url", "phone": "phone_number"}.get(kind or "")
        if needs is not None and button.get(needs) is None:
            reporter.add(
                "KC004", button, f"{path}[{j}].{needs}", f"a {kind} button needs '{needs}'"
            )
        phone = button.get("phone_number")
        if phone is not None:
            check_phone(reporter, phone, f"{path}[{j}].phone_number")
    for kind, limit in wa.BUTTON_LIMITS.items():
        if counts.get(kind, 0) > limit:
            reporter.add(
                "KC406",
                buttons,
                path,
                f"{counts[kind]} {kind} buttons; a template has at most {limit}",
            )
