"""The sandbox's ``POST /whatsapp``: CleverTap's Generic WhatsApp request (SPEC 4.1) checked the
way a real adapter takes it, and the templates approved for each business number.

Every shape CleverTap's page documents is accepted, variants included (they are declared in
``kctl.contract.whatsapp``): ``payloadVersion`` or ``payloadversion``, a number or a string;
``msgId`` or ``msg_id``, any text up to 60 characters; numbers with or without ``+``; any
namespace and language code; ``footer`` or ``footertext``; ``customProps`` as the typeless last
component or at the top level; the validation payload bare or wrapped in ``{"body": {...}}``;
freeform text, image, video, audio and file messages.

What it refuses, and the failure code of each, is the table ``REFUSALS`` below. When the
sandbox knows the approved templates (``kctl sandbox --config``, ``send-test --sandbox``) it
also refuses a template it does not know, one that is not APPROVED, and a payload that does
not fit the approved template.

Pure: no I/O. The sandbox turns the problems into its answer and the result into reports.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeGuard, assert_never

from kctl.config.model import Button, Provider, SmsProvider, WhatsAppProvider, WhatsAppTemplate
from kctl.contract import replies
from kctl.contract import whatsapp as wa
from kctl.contract.numbers import is_payload_version, is_wire_number
from kctl.errors import UsageError

# --- the refusals ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Refusal:
    """One reason to refuse a payload: the failure code CleverTap reads (SPEC 4.3), and what
    it covers."""

    code: int
    covers: str


RECIPIENT = Refusal(replies.INVALID_NUMBER, "no recipient, or a recipient that is not a number")
NAMESPACE = Refusal(replies.TEMPLATE_MISMATCH, "no template namespace or language code")
BUTTON_VALUE = Refusal(
    replies.TEMPLATE_MISMATCH, "a dynamic-URL or copy-code button without its value"
)
MEDIA_URL = Refusal(replies.TEMPLATE_MISMATCH, "a media header without an http(s) mediaURL")
BODY_PARAMETERS = Refusal(
    replies.TEMPLATE_MISMATCH,
    "body (or text header) parameters that do not fill its text: a placeholder left over, a"
    " value missing from the text",
)
COMPONENT = Refusal(
    replies.TEMPLATE_MISMATCH,
    "a template component CleverTap does not send: no body, an unknown type or subType, a"
    " header or button without its parts, text over its limit",
)
UNKNOWN_TEMPLATE = Refusal(
    replies.TEMPLATE_MISMATCH, "a template (name + language) not approved for the business number"
)
NOT_APPROVED = Refusal(replies.TEMPLATE_MISMATCH, "a template whose status is not APPROVED")
APPROVED_MISMATCH = Refusal(
    replies.TEMPLATE_MISMATCH,
    "a payload that does not fit the approved template: parameter count, header, buttons,"
    " offer or cards",
)
FREEFORM = Refusal(
    replies.OTHER_ERROR, "a freeform message of an unknown type, or without its text or media"
)
ENVELOPE = Refusal(
    replies.OTHER_ERROR,
    "a malformed envelope: payloadVersion, msgId, wabaNumber, isTemplate, components, customProps",
)
# every refusal, most specific first (the tests hold each to a case)
REFUSALS = (
    RECIPIENT,
    NAMESPACE,
    BUTTON_VALUE,
    MEDIA_URL,
    BODY_PARAMETERS,
    COMPONENT,
    UNKNOWN_TEMPLATE,
    NOT_APPROVED,
    APPROVED_MISMATCH,
    FREEFORM,
    ENVELOPE,
)

Problem = tuple[Refusal, str]

_HEADER_KINDS = tuple(wa.WIRE_HEADER_TYPES.values())


# --- approved templates ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ApprovedButton:
    subtype: str  # as the payload names it: quickReply, staticUrl, dynamicUrl, ...
    url: str | None = None  # a URL button's URL; a dynamic one ends in {{1}}


@dataclass(frozen=True, slots=True)
class ApprovedCard:
    body_parameters: int
    buttons: tuple[ApprovedButton, ...] = ()


@dataclass(frozen=True, slots=True)
class ApprovedTemplate:
    """What the sandbox compares a template payload with: the parts a send must fill."""

    name: str
    language: str
    status: str = wa.APPROVED
    header: str | None = None  # the payload's header type: text, image, video, file, location
    header_parameters: int = 0
    body_parameters: int = 0
    has_offer: bool = False
    buttons: tuple[ApprovedButton, ...] = ()
    cards: tuple[ApprovedCard, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.name} ({self.language})"


@dataclass(frozen=True, slots=True)
class TemplateBook:
    """The templates approved for each business number (digits, no '+')."""

    numbers: Mapping[str, Mapping[tuple[str, str], ApprovedTemplate]] = field(default_factory=dict)

    def for_number(self, number: str) -> Mapping[tuple[str, str], ApprovedTemplate] | None:
        return self.numbers.get(number.removeprefix("+"))


def _approved_buttons(template_buttons: Iterable[Button]) -> tuple[ApprovedButton, ...]:
    out = []
    for button in template_buttons:
        match button.type:
            case "quick_reply":
                out.append(ApprovedButton(wa.QUICK_REPLY))
            case "url":
                subtype = wa.DYNAMIC_URL if button.is_dynamic else wa.STATIC_URL
                out.append(ApprovedButton(subtype, button.url))
            case "phone":
                out.append(ApprovedButton(wa.CALL_PHONE))
            case "copy_code":
                out.append(ApprovedButton(wa.COPY_CODE))
            case _:
                raise AssertionError(f"validated button type {button.type!r}")
    return tuple(out)


def approved_template(template: WhatsAppTemplate, status: str = wa.APPROVED) -> ApprovedTemplate:
    header = template.header
    return ApprovedTemplate(
        name=template.name,
        language=template.language,
        status=status,
        header=wa.WIRE_HEADER_TYPES[header.type] if header is not None else None,
        header_parameters=header.placeholders if header is not None else 0,
        body_parameters=wa.placeholder_count(template.body),
        has_offer=template.offer is not None,
        buttons=_approved_buttons(template.buttons),
        cards=tuple(
            ApprovedCard(wa.placeholder_count(card.body), _approved_buttons(card.buttons))
            for card in template.carousel
        ),
    )


def parse_template_status(text: str) -> tuple[str, str | None, str]:
    """``NAME[:LANG]=STATUS`` as (name, language or None for every language, STATUS)."""
    target, sep, status = text.partition("=")
    name, _, language = target.partition(":")
    status = status.strip().upper()
    if not sep or not name.strip() or status not in wa.TEMPLATE_STATUSES:
        raise UsageError(
            f"--template-status '{text}' is not NAME[:LANG]=STATUS",
            "e.g. --template-status festive_offer=PAUSED; STATUS is one of "
            + ", ".join(wa.TEMPLATE_STATUSES),
        )
    return name.strip(), language.strip() or None, status


def template_book(providers: Iterable[Provider], statuses: Iterable[str] = ()) -> TemplateBook:
    """The WhatsApp providers' templates, approved unless ``statuses`` (``NAME[:LANG]=STATUS``
    items) say otherwise; UsageError for a status naming no template."""
    marks = [parse_template_status(item) for item in statuses]
    used: set[int] = set()
    numbers: dict[str, dict[tuple[str, str], ApprovedTemplate]] = {}
    for provider in providers:
        match provider:
            case WhatsAppProvider():
                book = numbers.setdefault(provider.business_number.removeprefix("+"), {})
                for template in provider.templates:
                    status = wa.APPROVED
                    for n, (name, language, marked) in enumerate(marks):
                        if name == template.name and language in (None, template.language):
                            status = marked
                            used.add(n)
                    book[(template.name, template.language)] = approved_template(template, status)
            case SmsProvider():
                pass
            case _:
                assert_never(provider)
    unused = [f"{m[0]}:{m[1]}" if m[1] else m[0] for n, m in enumerate(marks) if n not in used]
    if unused:
        raise UsageError(
            f"--template-status names no WhatsApp template of the config: {', '.join(unused)}",
            "give the template's name (and language) as the config writes them",
        )
    return TemplateBook(numbers)


# --- the checks -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Checked:
    """A checked payload: its problems (none: accepted) and what its reports need."""

    problems: tuple[Problem, ...]
    msg_id: str = ""
    to: str = ""  # digits, no '+'
    payload_version: str = wa.REPORT_PAYLOAD_VERSION  # as text, for the reports
    clicked_url: str | None = None  # the first URL button's URL: a Clicked report follows


@dataclass(frozen=True, slots=True)
class _Button:
    subtype: str
    value: str | None  # its parameter: a URL, suffix, number or coupon code


@dataclass
class _Walk:
    """Problems found so far and the template's parts as the payload gives them."""

    problems: list[Problem] = field(default_factory=list)
    header: str | None = None
    header_parameters: int = 0
    body_parameters: int | None = None
    has_offer: bool = False
    buttons: list[_Button] = field(default_factory=list)
    cards: list[tuple[int, list[_Button]]] = field(default_factory=list)

    def add(self, refusal: Refusal, message: str) -> None:
        self.problems.append((refusal, message))


def _first_key(obj: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    return next((k for k in keys if k in obj), None)


def _is_text(value: Any) -> TypeGuard[str]:
    return isinstance(value, str) and bool(value.strip())


def _version_text(value: Any) -> str | None:
    """The payload version as reports write it, or None when it is not one."""
    if isinstance(value, str):
        return value if is_payload_version(value) else None
    if isinstance(value, int | float) and not isinstance(value, bool):
        text = repr(float(value))
        return text if math.isfinite(value) and value > 0 and is_payload_version(text) else None
    return None


def unwrap(payload: Any) -> tuple[Any, str | None]:
    """The payload without the validation wrapper, and a problem with the wrapping if any."""
    if not (isinstance(payload, dict) and payload.keys() == {wa.VALIDATION_WRAPPER}):
        return payload, None
    inner = payload[wa.VALIDATION_WRAPPER]
    template = inner.get("template") if isinstance(inner, dict) else None
    if isinstance(template, dict) and template.get("namespace") == wa.VALIDATION_NAMESPACE:
        return inner, None
    return inner, (
        f'only the validation payload comes wrapped in {{"{wa.VALIDATION_WRAPPER}": ...}};'
        " send every other payload bare"
    )


StatusOf = Callable[[str, str], str | None]


def check_payload(
    payload: Any, book: TemplateBook | None = None, status_of: StatusOf | None = None
) -> Checked:
    """Check one request body (parsed JSON) as a Generic WhatsApp adapter does.

    ``status_of(name, language)`` gives a template's status as it is now (the sandbox's
    template APIs can change it while it runs), overriding the book's."""
    payload, wrapping = unwrap(payload)
    if wrapping is not None:
        return Checked(((ENVELOPE, wrapping),))
    if not isinstance(payload, dict):
        return Checked(((ENVELOPE, "body must be a JSON object"),))
    walk = _Walk()
    to = _recipient(walk, payload)
    msg_id = _envelope_text(walk, payload, wa.MSG_ID_KEYS, limit=wa.MSG_ID_LIMIT)
    version = _payload_version(walk, payload)
    if not isinstance(payload.get("wabaNumber"), str) or not is_wire_number(payload["wabaNumber"]):
        walk.add(ENVELOPE, "wabaNumber must be the business number (country code and number)")
    _custom_props(walk, payload.get(wa.CUSTOM_PROPS_KEY), wa.CUSTOM_PROPS_KEY)
    clicked: str | None = None
    match payload.get("isTemplate"):
        case True:
            clicked = _template_message(walk, payload, book, status_of)
        case False:
            _freeform(walk, payload)
        case _:
            walk.add(ENVELOPE, "isTemplate must be true or false")
    # a bad number decides the code: nothing else matters for a message nobody can receive
    problems = sorted(walk.problems, key=lambda p: p[0] is not RECIPIENT)
    return Checked(tuple(problems), msg_id or "", to or "", version or "", clicked)


def _recipient(walk: _Walk, payload: Mapping[str, Any]) -> str | None:
    to = payload.get("to")
    if "to" not in payload or to in ("", None):
        walk.add(RECIPIENT, "to is missing: the recipient's number")
        return None
    if not isinstance(to, str) or not is_wire_number(to):
        walk.add(RECIPIENT, "to must be the recipient's number: country code and number")
        return None
    return to.removeprefix("+")


def _envelope_text(
    walk: _Walk, payload: Mapping[str, Any], keys: tuple[str, ...], limit: int
) -> str | None:
    key = _first_key(payload, keys)
    value = payload.get(key) if key is not None else None
    if not _is_text(value):
        walk.add(ENVELOPE, f"{keys[0]} is missing")
        return None
    if len(value) > limit:
        walk.add(ENVELOPE, f"{key} is over {limit} characters")
        return None
    return value


def _payload_version(walk: _Walk, payload: Mapping[str, Any]) -> str | None:
    key = _first_key(payload, wa.PAYLOAD_VERSION_KEYS)
    if key is None:
        walk.add(ENVELOPE, "payloadVersion is missing")
        return None
    text = _version_text(payload[key])
    if text is None:
        walk.add(ENVELOPE, f'{key} must be a version such as 0.1 or "0.1"')
    return text


def _custom_props(walk: _Walk, props: Any, where: str) -> None:
    if props is None:
        return
    pairs_ok = isinstance(props, list) and all(
        isinstance(pair, dict)
        and len(pair) == 1
        and all(isinstance(v, str | int | float) and not isinstance(v, bool) for v in pair.values())
        for pair in props
    )
    if not pairs_ok:
        walk.add(ENVELOPE, f'{where} must be a list of one-key objects: [{{"key": "value"}}]')


# --- template messages ----------------------------------------------------------------------------


def _template_message(
    walk: _Walk, payload: Mapping[str, Any], book: TemplateBook | None, status_of: StatusOf | None
) -> str | None:
    template = payload.get("template")
    name = language = None
    if not isinstance(template, dict):
        walk.add(NAMESPACE, "template must be an object with namespace and languageCode")
    else:
        name, language = template.get("namespace"), template.get("languageCode")
        if not _is_text(name):
            walk.add(NAMESPACE, "template.namespace is missing: the template's name")
        if not _is_text(language):
            walk.add(NAMESPACE, "template.languageCode is missing")
    components = payload.get("components")
    if not isinstance(components, list):
        walk.add(ENVELOPE, "components must be a list")
        return None
    _components(walk, components)
    if name == wa.VALIDATION_NAMESPACE or not (_is_text(name) and _is_text(language)):
        return _clicked_url(walk, None)
    approved = _approved(walk, book, payload.get("wabaNumber"), name, language, status_of=status_of)
    return _clicked_url(walk, approved)


def _components(walk: _Walk, components: list[Any]) -> None:
    seen: dict[str, int] = {}
    for i, component in enumerate(components):
        where = f"components[{i}]"
        if not isinstance(component, dict):
            walk.add(COMPONENT, f"{where} must be an object")
            continue
        kind = component.get("type")
        if kind is None and wa.CUSTOM_PROPS_KEY in component:
            _custom_props(walk, component[wa.CUSTOM_PROPS_KEY], f"{where}.{wa.CUSTOM_PROPS_KEY}")
            continue
        seen[str(kind)] = seen.get(str(kind), 0) + 1
        match kind:
            case "header":
                found = _header(walk, component.get("header"), f"{where}.header", _HEADER_KINDS)
                if found is not None:
                    walk.header, walk.header_parameters = found
            case "body":
                walk.body_parameters = _body(walk, component.get("body"), f"{where}.body")
            case "footer":
                _footer(walk, component, where)
            case wa.OFFER_TYPE:
                walk.has_offer = True
                _offer(walk, component, where)
            case "button":
                walk.buttons.append(_button(walk, component, where))
            case "carousel":
                _carousel(walk, component.get("cards"), f"{where}.cards")
            case _:
                walk.add(COMPONENT, f"{where}.type {kind!r} is not a component CleverTap sends")
    if "body" not in seen:
        walk.add(COMPONENT, "components has no body")
    for kind in ("header", "body", "footer", wa.OFFER_TYPE, "carousel"):
        if seen.get(kind, 0) > 1:
            walk.add(COMPONENT, f"components has more than one {kind}")


def _header(walk: _Walk, header: Any, where: str, types: Iterable[str]) -> tuple[str, int] | None:
    """Check one header; its type and parameter count, when it has both."""
    allowed = sorted(set(types))
    kind = header.get("type") if isinstance(header, dict) else None
    if kind not in allowed:
        walk.add(COMPONENT, f"{where}.type must be one of {', '.join(allowed)}")
        return None
    assert isinstance(header, dict)
    content = header.get(kind)
    if not isinstance(content, dict):
        walk.add(COMPONENT, f'{where}.{kind} must be an object ({{"{kind}": {{...}}}})')
        return None
    parameters = 0
    match kind:
        case "text":
            parameters = _header_text(walk, content, f"{where}.text")
        case "image" | "video" | "file":
            url = content.get(wa.MEDIA_URL_KEY)
            if not wa.is_http_url(url):
                missing = "is missing" if not _is_text(url) else "is not an http(s) URL"
                walk.add(MEDIA_URL, f"{where}.{kind}.{wa.MEDIA_URL_KEY} {missing}")
            name = content.get(wa.FILENAME_KEY)
            if name is not None and not isinstance(name, str):
                walk.add(COMPONENT, f"{where}.{kind}.{wa.FILENAME_KEY} must be text")
        case "location":
            _coordinates(walk, content, f"{where}.location")
        case _:
            raise AssertionError(f"header type {kind!r} passed the check above")
    return kind, parameters


def _header_text(walk: _Walk, content: Mapping[str, Any], where: str) -> int:
    text = content.get("text")
    if not _is_text(text):
        walk.add(COMPONENT, f"{where}.text is missing")
        return 0
    if len(text) > wa.HEADER_TEXT_LIMIT:
        walk.add(COMPONENT, f"{where}.text is over {wa.HEADER_TEXT_LIMIT} characters")
    count = _parameters_fill(walk, text, content.get("parameters", []), where)
    if count > wa.HEADER_PLACEHOLDER_LIMIT:
        walk.add(BODY_PARAMETERS, f"{where} has {count} parameters; a header takes at most 1")
    return count


def _coordinates(walk: _Walk, content: Mapping[str, Any], where: str) -> None:
    for key, bound in wa.LOCATION_COORDINATES:
        value = content.get(key)
        number = math.nan
        if isinstance(value, int | float | str) and not isinstance(value, bool):
            with contextlib.suppress(ValueError):  # text that is not a number stays NaN
                number = float(value)
        if not -bound <= number <= bound:
            walk.add(COMPONENT, f"{where}.{key} must be a number within ±{bound:g}")
    for key in wa.LOCATION_TEXT_KEYS:
        if key in content and not isinstance(content[key], str):
            walk.add(COMPONENT, f"{where}.{key} must be text")


def _body(walk: _Walk, body: Any, where: str, limit: int = wa.BODY_LIMIT) -> int | None:
    if not isinstance(body, dict):
        walk.add(COMPONENT, f"{where} must be an object with text and parameters")
        return None
    text = body.get("text")
    if not _is_text(text):
        walk.add(COMPONENT, f"{where}.text is missing")
        return None
    if len(text) > limit:
        walk.add(COMPONENT, f"{where}.text is over {limit} characters")
    return _parameters_fill(walk, text, body.get("parameters", []), where)


def _parameters_fill(walk: _Walk, text: str, parameters: Any, where: str) -> int:
    """Check that the text parameters fill ``text`` (which arrives filled in); their count."""
    left = wa.PLACEHOLDER.search(text)
    if left is not None:
        walk.add(BODY_PARAMETERS, f"{where}.text still has {left.group(0)}: a parameter is missing")
    if not isinstance(parameters, list):
        walk.add(BODY_PARAMETERS, f"{where}.parameters must be a list")
        return 0
    for n, parameter in enumerate(parameters):
        spot = f"{where}.parameters[{n}]"
        if not isinstance(parameter, dict) or parameter.get("type") != "text":
            walk.add(BODY_PARAMETERS, f'{spot} must be {{"type": "text", "text": ...}}')
            continue
        value = parameter.get("text")
        if not isinstance(value, str) or not value:
            walk.add(BODY_PARAMETERS, f"{spot}.text is missing")
        # case aside: the page's own samples fill "This is sample body" with "Sample"
        elif value.casefold() not in text.casefold():
            walk.add(BODY_PARAMETERS, f"{spot}.text does not appear in the text")
    return len(parameters)


def _footer(walk: _Walk, component: Mapping[str, Any], where: str) -> None:
    key = _first_key(component, wa.FOOTER_KEYS)
    text = component.get(key) if key is not None else None
    if not _is_text(text):
        walk.add(COMPONENT, f"{where}.{wa.FOOTER_KEYS[0]} is missing")
    elif len(text) > wa.FOOTER_LIMIT:
        walk.add(COMPONENT, f"{where}.{key} is over {wa.FOOTER_LIMIT} characters")


def _offer(walk: _Walk, component: Mapping[str, Any], where: str) -> None:
    title = component.get("text")
    if not _is_text(title):
        walk.add(COMPONENT, f"{where}.text is missing: the offer's title")
    elif len(title) > wa.OFFER_TITLE_LIMIT:
        walk.add(COMPONENT, f"{where}.text is over {wa.OFFER_TITLE_LIMIT} characters")
    parameters = component.get("parameters")
    if parameters is None:
        return
    expiry = None
    if isinstance(parameters, list) and len(parameters) == 1 and isinstance(parameters[0], dict):
        offer = parameters[0].get(wa.OFFER_TYPE)
        if parameters[0].get("type") == wa.OFFER_TYPE and isinstance(offer, dict):
            expiry = offer.get(wa.OFFER_EXPIRY_KEY)
    if isinstance(expiry, bool) or not isinstance(expiry, int) or expiry <= 0:
        walk.add(
            COMPONENT,
            f'{where}.parameters must be [{{"type": "{wa.OFFER_TYPE}", "{wa.OFFER_TYPE}":'
            f' {{"{wa.OFFER_EXPIRY_KEY}": epoch milliseconds}}}}]',
        )


def _button(walk: _Walk, component: Mapping[str, Any], where: str) -> _Button:
    index, subtype = component.get("index"), component.get("subType")
    if isinstance(index, bool) or not isinstance(index, int) or index < 0:
        walk.add(COMPONENT, f"{where}.index must be a number from 0")
    if not isinstance(component.get("buttonText"), str):
        walk.add(COMPONENT, f"{where}.buttonText is missing: the button's label")
    if subtype not in wa.SUBTYPES:
        walk.add(COMPONENT, f"{where}.subType must be one of {', '.join(wa.SUBTYPES)}")
        return _Button(str(subtype), None)
    parameters = component.get("parameters")
    first = parameters[0] if isinstance(parameters, list) and parameters else None
    value: Any = None
    if isinstance(first, dict):
        wanted = wa.COUPON_PARAMETER if subtype == wa.COPY_CODE else "text"
        value = first.get(wanted) if first.get("type") == wanted else None
    if subtype == wa.DYNAMIC_URL and not _is_text(value):
        walk.add(
            BUTTON_VALUE,
            f'{where}: a dynamicUrl button needs parameters [{{"type": "text", "text": suffix}}]',
        )
    if subtype == wa.COPY_CODE and not _is_text(value):
        walk.add(
            BUTTON_VALUE,
            f'{where}: a copy_code button needs parameters [{{"type": "{wa.COUPON_PARAMETER}",'
            f' "{wa.COUPON_PARAMETER}": code}}]',
        )
    return _Button(subtype, value if isinstance(value, str) else None)


def _carousel(walk: _Walk, cards: Any, where: str) -> None:
    if not isinstance(cards, list) or not cards:
        walk.add(COMPONENT, f"{where} must be a non-empty list of cards")
        return
    if len(cards) > wa.CAROUSEL_MAX_CARDS:
        walk.add(COMPONENT, f"{where} has {len(cards)} cards; at most {wa.CAROUSEL_MAX_CARDS}")
    for n, card in enumerate(cards):
        spot = f"{where}[{n}].components"
        parts = card.get("components") if isinstance(card, dict) else None
        if not isinstance(parts, list):
            walk.add(COMPONENT, f"{spot} must be a list: header, body, buttons")
            continue
        kinds = [p.get("type") if isinstance(p, dict) else None for p in parts]
        if kinds.count("header") != 1 or kinds.count("body") != 1:
            walk.add(COMPONENT, f"{spot} needs one header and one body")
        parameters: int | None = 0
        buttons: list[_Button] = []
        for m, part in enumerate(parts):
            at = f"{spot}[{m}]"
            match kinds[m]:
                case "header":
                    _header(walk, part.get("header"), f"{at}.header", wa.WIRE_CARD_HEADER_TYPES)
                case "body":
                    parameters = _body(walk, part.get("body"), f"{at}.body", wa.CARD_BODY_LIMIT)
                case "button":
                    buttons.append(_button(walk, part, at))
                case other:
                    walk.add(COMPONENT, f"{at}.type {other!r} does not belong in a card")
        walk.cards.append((parameters or 0, buttons))


# --- against the approved template ----------------------------------------------------------------


def _approved(
    walk: _Walk,
    book: TemplateBook | None,
    number: Any,
    name: Any,
    language: Any,
    *,
    status_of: StatusOf | None,
) -> ApprovedTemplate | None:
    if book is None or not isinstance(number, str):
        return None
    approved = book.for_number(number)
    if approved is None:
        known = ", ".join(sorted(book.numbers)) or "none"
        walk.add(
            UNKNOWN_TEMPLATE,
            f"no templates are approved for business number {number} (numbers known: {known})",
        )
        return None
    template = approved.get((name, language))
    if template is None:
        labels = ", ".join(sorted(t.label for t in approved.values())) or "none"
        walk.add(
            UNKNOWN_TEMPLATE,
            f"template '{name}' ({language}) is not approved for {number}; approved: {labels}",
        )
        return None
    status = (status_of(name, language) if status_of else None) or template.status
    if status != wa.APPROVED:
        walk.add(NOT_APPROVED, f"template {template.label} is {status}, not APPROVED")
        return None
    _compare(walk, template)
    return template


def _compare(walk: _Walk, template: ApprovedTemplate) -> None:
    differences: list[str] = []
    if walk.body_parameters is not None and walk.body_parameters != template.body_parameters:
        differences.append(
            f"the body has {walk.body_parameters} parameter(s), the approved template"
            f" {template.body_parameters}"
        )
    if walk.header != template.header:
        differences.append(
            f"the header is {walk.header or 'absent'}, the approved template's"
            f" {template.header or 'absent'}"
        )
    elif walk.header_parameters != template.header_parameters:
        differences.append(
            f"the header has {walk.header_parameters} parameter(s), the approved template"
            f" {template.header_parameters}"
        )
    if walk.has_offer != template.has_offer:
        differences.append(
            "a limited time offer the approved template does not have"
            if walk.has_offer
            else "no limited time offer, which the approved template has"
        )
    sent = [b.subtype for b in walk.buttons]
    wanted = [b.subtype for b in template.buttons]
    if sent != wanted:
        differences.append(f"buttons {sent or 'none'}, the approved template {wanted or 'none'}")
    if len(walk.cards) != len(template.cards):
        differences.append(
            f"{len(walk.cards)} card(s), the approved template {len(template.cards)}"
        )
    else:
        for n, ((parameters, buttons), card) in enumerate(
            zip(walk.cards, template.cards, strict=True)
        ):
            if parameters != card.body_parameters:
                differences.append(
                    f"card {n + 1}'s body has {parameters} parameter(s), the approved template"
                    f" {card.body_parameters}"
                )
            if [b.subtype for b in buttons] != [b.subtype for b in card.buttons]:
                differences.append(f"card {n + 1}'s buttons differ from the approved template")
    for difference in differences:
        walk.add(APPROVED_MISMATCH, f"template {template.label}: {difference}")


def _clicked_url(walk: _Walk, template: ApprovedTemplate | None) -> str | None:
    """The URL a click on the message's first URL button opens, when the sandbox can know it:
    a static URL, a dynamic one whose parameter is a whole URL, or one whose approved URL the
    suffix fills. A bare suffix of a template it does not know names no URL: no click then."""
    approved_urls: list[str | None] = []
    if template is not None:
        approved_urls = [b.url for b in template.buttons] + [
            b.url for card in template.cards for b in card.buttons
        ]
    pressed = [*walk.buttons, *(b for _, buttons in walk.cards for b in buttons)]
    for n, button in enumerate(pressed):
        if button.subtype not in wa.URL_SUBTYPES or not button.value:
            continue
        if wa.is_http_url(button.value):
            return button.value
        base = approved_urls[n] if n < len(approved_urls) else None
        if button.subtype == wa.DYNAMIC_URL and base:
            return wa.fill_placeholders(base, (button.value,))
    return None


# --- freeform messages ----------------------------------------------------------------------------


def _freeform(walk: _Walk, payload: Mapping[str, Any]) -> None:
    kind = payload.get("type")
    if kind not in wa.FREEFORM_TYPES:
        walk.add(FREEFORM, f"type must be one of {', '.join(wa.FREEFORM_TYPES)}")
        return
    content = payload.get(kind)
    if not isinstance(content, dict):
        walk.add(FREEFORM, f'{kind} must be an object ({{"{kind}": {{...}}}})')
        return
    if kind == "text":
        if not _is_text(content.get("body")):
            walk.add(FREEFORM, "text.body is missing")
        return
    url = content.get(wa.MEDIA_URL_KEY)
    if not wa.is_http_url(url):
        missing = "is missing" if not _is_text(url) else "is not an http(s) URL"
        walk.add(FREEFORM, f"{kind}.{wa.MEDIA_URL_KEY} {missing}")
    for key in ("caption", wa.FILENAME_KEY):
        if key in content and not isinstance(content[key], str):
            walk.add(FREEFORM, f"{kind}.{key} must be text")
