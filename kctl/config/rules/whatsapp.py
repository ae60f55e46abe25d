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
            check_header_placeholders(reporter, text, f"{path}.header.text")
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
        check_examples(reporter, t, body, path)
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
    carousel = t.get("carousel")
    if carousel is not None and carousel.is_seq:
        check_carousel(reporter, t, carousel, f"{path}.carousel")


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


# {{1}}, {{2}}, ... as written in order: the usual placeholders, right with nothing to count
_IN_ORDER = [str(n) for n in range(1, 101)]


def check_placeholders(reporter: Reporter, node: Node, path: str) -> None:
    if "{{" not in node.value:
        return  # no placeholder: no regex to run
    found = wa.ANY_PLACEHOLDER.findall(node.value)
    if not found or found == _IN_ORDER[: len(found)]:
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


# what a button of each kind needs besides its type and text
_BUTTON_NEEDS = {"url": "url", "phone": "phone_number"}


def check_buttons(reporter: Reporter, buttons: Node, path: str) -> None:
    listed = buttons.items()
    items = [b for b in listed if b.is_map]
    if len(listed) > wa.MAX_BUTTONS:
        reporter.add(
            "KC406",
            buttons,
            path,
            f"{len(listed)} buttons; a template has at most {wa.MAX_BUTTONS}",
        )
    counts: dict[str, int] = {}
    for j, button in enumerate(items):
        kind = _kind(button)
        if isinstance(kind, str):
            counts[kind] = counts.get(kind, 0) + 1
        needs = _BUTTON_NEEDS.get(kind or "")
        if needs is not None and button.get(needs) is None:
            reporter.add(
                "KC004", button, f"{path}[{j}].{needs}", f"a {kind} button needs '{needs}'"
            )
        phone = button.get("phone_number")
        if phone is not None:
            check_phone(reporter, phone, f"{path}[{j}].phone_number")
        url = button.get("url")
        if kind == "url" and url is not None and url.text() is not None:
            check_dynamic_url(reporter, url, f"{path}[{j}].url")
    for kind, limit in wa.BUTTON_LIMITS.items():
        if counts.get(kind, 0) > limit:
            reporter.add(
                "KC406",
                buttons,
                path,
                f"{counts[kind]} {kind} buttons; a template has at most {limit}",
            )


def check_header_placeholders(reporter: Reporter, text: Node, path: str) -> None:
    if "{{" not in text.value:
        return
    numbers = {int(n) for n in wa.PLACEHOLDER.findall(text.value)}
    if len(numbers) > wa.HEADER_PLACEHOLDER_LIMIT:
        reporter.add(
            "KC413",
            text,
            path,
            f"a text header has {len(numbers)} placeholders; WhatsApp allows"
            f" {wa.HEADER_PLACEHOLDER_LIMIT} ({{{{1}}}})",
            "move the other values into the body",
        )


def check_dynamic_url(reporter: Reporter, url: Node, path: str) -> None:
    value: str = url.value
    if "{{" not in value and "}}" not in value:
        return  # a static URL
    if wa.is_dynamic_url(value) and value.count("{{") == 1 and value.count("}}") == 1:
        return
    reporter.add(
        "KC410",
        url,
        path,
        f"URL button '{value}': a dynamic URL has one placeholder, {{{{1}}}}, at its very end",
        "write the fixed part, then {{1}}: https://shop.example.com/track/{{1}}",
    )


def check_examples(reporter: Reporter, holder: Node, body: Node, path: str) -> None:
    examples = holder.get("examples")
    if examples is None or not examples.is_seq:
        return
    wanted = wa.placeholder_count(body.value) if "{{" in body.value else 0
    given = len(examples.items())
    if given != wanted:
        reporter.add(
            "KC414",
            examples,
            f"{path}.examples",
            f"{given} example value(s) for a body with {wanted} placeholder(s)",
            "give one sample value per placeholder, in order",
        )


def check_carousel(reporter: Reporter, t: Node, carousel: Node, path: str) -> None:
    cards = carousel.items()
    if not wa.CAROUSEL_MIN_CARDS <= len(cards) <= wa.CAROUSEL_MAX_CARDS:
        reporter.add(
            "KC411",
            carousel,
            path,
            f"a carousel has {wa.CAROUSEL_MIN_CARDS} to {wa.CAROUSEL_MAX_CARDS} cards, not"
            f" {len(cards)}",
        )
    category = t.get("category")
    category_value = (category.text() if category is not None else None) or wa.DEFAULT_CATEGORY
    if category_value != wa.CAROUSEL_CATEGORY and (category is None or category.text()):
        reporter.add(
            "KC411",
            carousel,
            path,
            f"a carousel needs category {wa.CAROUSEL_CATEGORY}, not {category_value}",
        )
    for key in ("header", "buttons", "limited_time_offer"):
        other = t.get(key)
        if other is not None:
            reporter.add(
                "KC411",
                other,
                path.rsplit(".", 1)[0] + f".{key}",
                f"a carousel template has a body and cards; '{key}' belongs on the cards",
                "move it into each card (cards have a header, a body and buttons)",
            )
    shapes: list[tuple[str | None, tuple[str | None, ...]]] = []
    for i, card in enumerate(cards):
        if card.is_map:
            shapes.append(check_card(reporter, card, f"{path}[{i}]"))
    if len(set(shapes)) > 1:
        reporter.add(
            "KC412",
            carousel,
            path,
            "every card must have the same header type and the same buttons, in the same order",
        )


def check_card(
    reporter: Reporter, card: Node, path: str
) -> tuple[str | None, tuple[str | None, ...]]:
    """Check one card; return its shape (header type, button types) for the sameness check."""
    header = card.get("header")
    htype = None
    if header is not None and header.is_map:
        htype = _kind(header)
        if htype is not None and htype not in wa.CARD_HEADER_TYPES:
            reporter.add(
                "KC412",
                header.get("type") or header,
                f"{path}.header.type",
                f"a card header is an image or a video, not {htype}",
            )
        if htype in wa.CARD_HEADER_TYPES and header.get("url") is None:
            reporter.add("KC004", header, f"{path}.header.url", "a card header needs 'url'")
    body = card.get("body")
    if body is not None and body.text() is not None:
        if len(body.value) > wa.CARD_BODY_LIMIT:
            reporter.add(
                "KC412",
                body,
                f"{path}.body",
                f"a card body is {len(body.value)} characters; the limit is {wa.CARD_BODY_LIMIT}",
            )
        check_placeholders(reporter, body, f"{path}.body")
        check_examples(reporter, card, body, path)
    buttons = card.get("buttons")
    items = buttons.items() if buttons is not None and buttons.is_seq else []
    if not wa.CARD_MIN_BUTTONS <= len(items) <= wa.CARD_MAX_BUTTONS:
        reporter.add(
            "KC412",
            buttons or card,
            f"{path}.buttons",
            f"a card has {wa.CARD_MIN_BUTTONS} or {wa.CARD_MAX_BUTTONS} buttons, not {len(items)}",
        )
    if buttons is not None and buttons.is_seq:
        check_buttons(reporter, buttons, f"{path}.buttons")
    return htype, tuple(_kind(b) for b in items if b.is_map)


def _kind(node: Node) -> str | None:
    type_node = node.get("type")
    return type_node.text() if type_node is not None else None
