"""The config format, declared once.

The same declaration drives the structural checks (unknown key KC003, missing key KC004, wrong
type KC005, and enum values with their dedicated codes) and the JSON Schema that ``kctl schema``
prints, so the two cannot drift apart.
"""

from __future__ import annotations

import math
from collections.abc import Iterable

from kctl.config.findings import Finding, Severity
from kctl.config.loader import MAP, SCALAR, SEQ, Node
from kctl.contract import sms, whatsapp
from kctl.contract.channels import CHANNELS, Channel
from kctl.contract.forms import CONCURRENCY_MAX, CONCURRENCY_MIN
from kctl.contract.numbers import (
    DEFAULT_PAYLOAD_VERSION,
    DLT_ID_PATTERN,
    PAYLOAD_VERSION_PATTERN,
    PHONE_PATTERN,
    TEMPLATE_NAME_PATTERN,
)

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Any

URL_PATTERN = r"^https?://"

_PYTHON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "integer": (int,),
    "number": (int, float),
}


# The declarations are plain classes with slots rather than dataclasses: validate-config
# imports this module on every run, and the dataclasses module alone costs more to import
# than checking a config does. Equality is identity: each spec is one module constant.


class Scalar:
    __slots__ = (
        "accepted",
        "enum",
        "enum_code",
        "fold_case",
        "nullable",
        "phone",
        "schema",
        "settled",
        "type",
        "types",
    )

    def __init__(
        self,
        json_type: str,  # "string" | "integer" | "boolean" | "number" | "any"
        *,
        enum: tuple[str, ...] = (),
        enum_code: str = "KC005",  # the rule code for a value outside ``enum``
        phone: bool = False,  # an unquoted number here gets a "quote it" hint
        nullable: bool = False,  # an empty value is left to the rules (e.g. KC202)
        fold_case: bool = False,  # ``enum`` matches in any case (SMS message types)
        schema: dict[str, Any] | None = None,  # extra JSON Schema keywords
    ) -> None:
        self.type = json_type
        self.enum = enum
        self.enum_code = enum_code
        self.phone = phone
        self.nullable = nullable
        self.fold_case = fold_case
        self.schema: dict[str, Any] = schema or {}
        self.types = _PYTHON_TYPES.get(json_type, ())  # the Python types of a right value
        # What needs no further look, so the walk can pass it by without a call: values of
        # the spec's own types when there is no enum (less float: it must still be finite),
        # and the enum's values as written.
        self.settled: tuple[type, ...] = (
            () if enum else tuple(t for t in self.types if t is not float)
        )
        # with fold_case an enum value passes only if its upper case is one too
        self.accepted = frozenset(
            e for e in enum if str in self.types and (not fold_case or e.upper() in enum)
        )


class ListOf:
    __slots__ = ("item", "schema")

    def __init__(self, item: Spec, schema: dict[str, Any] | None = None) -> None:
        self.item = item
        self.schema: dict[str, Any] = schema or {}


class Field:
    __slots__ = (
        "accepted",
        "code",
        "default",
        "description",
        "missing_code",
        "required",
        "settled",
        "spec",
    )

    def __init__(
        self,
        spec: Spec,
        description: str,
        required: bool = False,
        *,
        default: Any = None,
        code: str = "KC005",  # rule code for a wrong type (and, when required, a missing key)
        missing_code: str = "KC004",
    ) -> None:
        self.spec = spec
        self.description = description
        self.required = required
        self.default = default
        self.code = code
        self.missing_code = missing_code
        # the spec's fast pass (see Scalar); nothing passes a list or mapping spec by
        self.settled, self.accepted = _fast_pass(spec)


class Obj:
    __slots__ = ("extra", "extra_field", "fields", "name", "noun", "required", "schema")

    def __init__(
        self,
        name: str,  # definition name in the JSON Schema
        fields: dict[str, Field],
        # free-form mappings (headers, parameters): the spec of any key not in ``fields``
        extra: Scalar | None = None,
        noun: str = "key",  # what a missing entry is called in messages: key, header, parameter
        schema: dict[str, Any] | None = None,  # extra JSON Schema keywords
    ) -> None:
        self.name = name
        self.fields = fields
        self.extra = extra
        # what the walk checks a key not in ``fields`` against; its code is that of no field
        self.extra_field = Field(extra, "") if extra is not None else None
        self.noun = noun
        self.schema: dict[str, Any] = schema or {}
        self.required = tuple(name for name, f in fields.items() if f.required)


Spec = Scalar | ListOf | Obj


def _fast_pass(spec: Spec) -> tuple[tuple[type, ...], frozenset[str]]:
    """What under ``spec`` needs no further check (see Scalar): types, and values as written."""
    if isinstance(spec, Scalar):
        return spec.settled, spec.accepted
    return (), frozenset()


ANYTHING = Scalar("any")  # not checked (JSON Schema: true)
STRING = Scalar("string")
NONEMPTY = Scalar("string", schema={"minLength": 1})
BOOL = Scalar("boolean")
PHONE = Scalar("string", phone=True, schema={"pattern": PHONE_PATTERN})
URL = Scalar("string", schema={"pattern": URL_PATTERN, "format": "uri"})
DLT_ID = Scalar("string", schema={"pattern": DLT_ID_PATTERN})
TEMPLATE_NAME = Scalar("string", schema={"pattern": TEMPLATE_NAME_PATTERN})
MESSAGE_TYPE = Scalar("string", enum=sms.MESSAGE_TYPES, enum_code="KC303", fold_case=True)

HEADER = Obj(
    "TemplateHeader",
    {
        "type": Field(
            Scalar("string", enum=whatsapp.HEADER_TYPES, enum_code="KC402"),
            "Header type",
            required=True,
        ),
        "text": Field(STRING, "Header text (type text)"),
        "url": Field(URL, "Sample media URL (image, video, document)"),
        "filename": Field(STRING, "Document file name"),
        "latitude": Field(Scalar("number"), "Location latitude"),
        "longitude": Field(Scalar("number"), "Location longitude"),
        "name": Field(STRING, "Location name"),
        "address": Field(STRING, "Location address"),
    },
)

BUTTON = Obj(
    "TemplateButton",
    {
        "type": Field(
            Scalar("string", enum=whatsapp.BUTTON_TYPES),
            "quick_reply, url, phone or copy_code",
            True,
        ),
        "text": Field(NONEMPTY, "Button label", required=True),
        "url": Field(URL, "Target URL (url buttons)"),
        "phone_number": Field(PHONE, "E.164 number to call (phone buttons)"),
        "example": Field(
            STRING, "Sample value: the coupon code (copy_code), the URL suffix (dynamic url)"
        ),
    },
)

CARD = Obj(
    "CarouselCard",
    {
        "header": Field(HEADER, "Card header: image or video", required=True),
        "body": Field(STRING, "Card body text", required=True),
        "examples": Field(ListOf(STRING), "Sample values for the card body's placeholders"),
        "buttons": Field(ListOf(BUTTON), "One or two buttons, the same on every card"),
    },
)

LIMITED_TIME_OFFER = Obj(
    "LimitedTimeOffer",
    {
        "title": Field(
            Scalar("string", schema={"maxLength": whatsapp.OFFER_TITLE_LIMIT}),
            "Offer title",
            required=True,
        ),
        "expires": Field(BOOL, "Whether the offer shows an expiry countdown", default=False),
    },
)

WHATSAPP_TEMPLATE = Obj(
    "WhatsAppTemplate",
    {
        "name": Field(TEMPLATE_NAME, "Template name", required=True),
        "language": Field(STRING, "WhatsApp language code (en, en_US, pt_BR, ...)", True),
        "category": Field(
            Scalar("string", enum=whatsapp.CATEGORIES),
            "Template category",
            default=whatsapp.DEFAULT_CATEGORY,
        ),
        "header": Field(HEADER, "Template header"),
        "body": Field(
            Scalar("string", schema={"maxLength": whatsapp.BODY_LIMIT}), "Body text", required=True
        ),
        "footer": Field(
            Scalar("string", schema={"maxLength": whatsapp.FOOTER_LIMIT}), "Footer text"
        ),
        "buttons": Field(
            ListOf(BUTTON, {"maxItems": whatsapp.MAX_BUTTONS}), "Quick reply / call to action"
        ),
        "limited_time_offer": Field(LIMITED_TIME_OFFER, "Limited time offer (marketing only)"),
        "carousel": Field(ListOf(CARD), "Carousel cards (marketing only, 2 to 10)"),
        "examples": Field(
            ListOf(STRING), "Sample values for the body's placeholders (verify, preview, export)"
        ),
    },
)

SMS_TEMPLATE = Obj(
    "SmsTemplate",
    {
        "name": Field(TEMPLATE_NAME, "Template name", required=True),
        "body": Field(STRING, "Template text; {#var#} marks a variable", required=True),
        "dlt_template_id": Field(DLT_ID, "DLT template id (India)"),
        "dlt_text": Field(
            STRING,
            "The template text exactly as registered on the DLT platform ({#var#} for each"
            " variable); the body must match it",
        ),
        "type": Field(MESSAGE_TYPE, "Message type"),
    },
)

AUTH = Obj(
    "SmsAuth",
    {
        "type": Field(Scalar("string", enum=("none", "basic")), "none or basic", default="none"),
        "username": Field(STRING, "Basic auth user (literal or secret reference)"),
        "password": Field(STRING, "Basic auth password (secret reference)"),
    },
)

DLT = Obj(
    "Dlt",
    {"entity_id": Field(DLT_ID, "DLT principal entity id", required=True)},
)

_COMMON: dict[str, Field] = {
    "nickname": Field(NONEMPTY, "Provider nickname, unique within the file", required=True),
    "channel": Field(
        Scalar("string", enum=tuple(c.value for c in Channel), enum_code="KC102"),
        "whatsapp or sms",
        required=True,
    ),
    "provider": Field(
        Scalar("string", enum=("generic",), enum_code="KC103"), "Always generic", default="generic"
    ),
    "request_type": Field(
        Scalar("string", enum=("POST",), enum_code="KC104"), "Always POST", default="POST"
    ),
    "endpoint": Field(URL, "HTTP End Point (absolute https URL)", required=True),
    "default": Field(BOOL, "Default provider for its channel", default=False),
    "max_concurrency": Field(
        Scalar("integer", schema={"minimum": CONCURRENCY_MIN, "maximum": CONCURRENCY_MAX}),
        f"Maximum concurrent API requests ({CONCURRENCY_MIN}..{CONCURRENCY_MAX})",
    ),
    "test_recipients": Field(ListOf(PHONE), "Allow-list of E.164 numbers for send-test"),
}


_FREE_TEXT = Scalar("string", nullable=True)


def _free_map(
    names: tuple[str, ...],
    noun: str,
    missing_code: str,
    schema: dict[str, Any] | None = None,
) -> Obj:
    """Headers and form parameters: any name allowed, the channel's own names required."""
    fields = {
        name: Field(_FREE_TEXT, f"{name} {noun}", required=True, missing_code=missing_code)
        for name in names
    }
    return Obj("", fields, extra=_FREE_TEXT, noun=noun, schema=schema or {})


WHATSAPP_PROVIDER = Obj(
    "WhatsAppProvider",
    {
        **_COMMON,
        "business_number": Field(PHONE, "WhatsApp Business Number (E.164)", required=True),
        "auto_reply_untracked": Field(BOOL, "Auto-reply for users not tracked", default=False),
        "payload_version": Field(
            Scalar("string", schema={"pattern": PAYLOAD_VERSION_PATTERN}),
            "Payload Version from CleverTap's provider page",
            default=DEFAULT_PAYLOAD_VERSION,
        ),
        "incoming_url": Field(URL, "Incoming URL base from Kaleyra support"),
        "waba_id": Field(
            Scalar("string", schema={"pattern": r"^[0-9]+$"}),
            "WhatsApp Business Account id, for Kaleyra's v2 template API (kctl templates)",
        ),
        "headers": Field(
            _free_map(CHANNELS[Channel.WHATSAPP].headers, "header", "KC201"),
            "Provider headers",
            required=True,
        ),
        "templates": Field(ListOf(WHATSAPP_TEMPLATE), "WhatsApp templates"),
    },
)

SMS_PROVIDER = Obj(
    "SmsProvider",
    {
        **_COMMON,
        "auth": Field(AUTH, "Authentication"),
        "headers": Field(
            _free_map(CHANNELS[Channel.SMS].headers, "header", "KC201"),
            "Provider headers",
            required=True,
        ),
        "parameters": Field(
            # "body or template_id" is KC301's rule (kctl.config.rules.sms); the schema says it
            # for editors
            _free_map(
                sms.REQUIRED_PARAMETERS,
                "parameter",
                "KC301",
                {"anyOf": [{"required": [name]} for name in sms.CONTENT_PARAMETERS]},
            ),
            "Form fields CleverTap sends ($$ placeholders)",
            required=True,
        ),
        "sender": Field(STRING, "Default sender ID for send-test"),
        "message_type": Field(MESSAGE_TYPE, "OTP, MKT, TXN or DEFAULT"),
        "dlt": Field(DLT, "India DLT registration"),
        "templates": Field(ListOf(SMS_TEMPLATE), "SMS templates"),
    },
)

PROVIDERS: dict[str, Obj] = {Channel.WHATSAPP: WHATSAPP_PROVIDER, Channel.SMS: SMS_PROVIDER}
# What a provider with a missing or unknown channel is checked against: every key either
# channel knows, none of the channel-specific ones required, so one typo does not cascade.
ANY_PROVIDER = Obj(
    "Provider",
    {
        **{
            name: Field(f.spec, f.description)
            for spec in PROVIDERS.values()
            for name, f in spec.fields.items()
        },
        **_COMMON,
        "headers": Field(_free_map((), "header", "KC201"), "Provider headers", required=True),
        "parameters": Field(_free_map((), "parameter", "KC301"), "Form fields"),
        # which template shape applies depends on the channel, which is unknown here
        "templates": Field(ANYTHING, "Templates"),
    },
)

CONFIG = Obj(
    "Config",
    {
        "version": Field(
            Scalar("integer", schema={"const": 1}),
            "Config format version",
            required=True,
            code="KC006",
            missing_code="KC006",
        ),
        "providers": Field(ListOf(ANY_PROVIDER), "Providers of one CleverTap account", True),
    },
)


# --- structural checks ---------------------------------------------------------------------

_TYPE_NAMES = {
    str: "a string",
    bool: "a boolean",
    int: "an integer",
    float: "a number",
    type(None): "nothing (an empty value)",
}


def describe(node: Node) -> str:
    if node.is_map:
        return "a mapping"
    if node.is_seq:
        return "a list"
    return _TYPE_NAMES.get(type(node.value), "a value")


def did_you_mean(word: str, choices: list[str]) -> str | None:
    lowered = {c.lower().replace("_", "-"): c for c in choices}
    folded = word.lower().replace("_", "-")
    if folded in lowered:
        return lowered[folded]
    import difflib  # only for a finding's hint: most runs have none to make

    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return close[0] if close else None


def suggestion(word: str, choices: Iterable[str]) -> str | None:
    """A "did you mean" hint naming the closest choice, or None when nothing is close."""
    guess = did_you_mean(word, list(choices))
    return f"did you mean '{guess}'?" if guess is not None else None


class StructureChecker:
    """Walks a document against the declaration: KC003/KC004/KC005 and the enum codes.

    Findings are appended to one list rather than yielded through nested generators: the walk
    visits every node of every file, and generator frames per level cost more than the checks.
    A node that aliases or merge keys make reachable along several paths is checked once per
    spec, at the first path (the anchor's, in document order), so a shared block that is wrong
    is reported once, where it is written.
    """

    def __init__(self, file: str) -> None:
        self.file = file
        self.out: list[Finding] = []
        self.visited: set[tuple[int, int]] = set()

    def add(self, code: str, node: Node, path: str, message: str, hint: str | None = None) -> None:
        self.out.append(
            Finding(code, Severity.ERROR, self.file, node.line, node.col, path, message, hint)
        )

    def check(self, root: Node) -> list[Finding]:
        if not root.is_map:
            self.add(
                "KC005",
                root,
                "",
                "the config must be a mapping with 'version' and 'providers',"
                f" not {describe(root)}",
            )
        else:
            self.check_obj(root, CONFIG, "")
        return self.out

    def check_node(self, node: Node, spec: Spec, f: Field | None, path: str) -> None:
        if node.shared:
            seen = (id(node), id(spec))
            if seen in self.visited:
                return
            self.visited.add(seen)
        if isinstance(spec, Scalar):
            self.check_scalar(node, spec, f, path)
        elif isinstance(spec, Obj):
            if node.kind != MAP:
                self.wrong_type(node, "a mapping", f, path)
            else:
                self.check_obj(node, spec, path)
        elif node.kind != SEQ:
            self.wrong_type(node, "a list", f, path)
        else:
            item = spec.item
            settled, accepted = _fast_pass(item)
            for i, child in enumerate(node.value):
                value = child.value
                # as in check_obj: a right item (a phone number, an example) needs no call
                if not child.shared and (
                    type(value) in settled or (type(value) is str and value in accepted)
                ):
                    continue
                self.check_node(child, item, None, f"{path}[{i}]")

    def check_obj(self, node: Node, spec: Obj, path: str) -> None:
        if spec is ANY_PROVIDER:
            channel = node.get("channel")
            spec = PROVIDERS.get(channel.text() or "", spec) if channel else spec
        fields = spec.fields
        extra = spec.extra_field
        present = node.value
        for key, entry in present.items():
            child = entry.value
            f = fields.get(key)
            if f is None:
                if extra is None:
                    self.unknown_key(entry.key_node, key, spec, f"{path}.{key}" if path else key)
                    continue
                f = extra
            value = child.value
            # Most values are scalars of the right type with nothing more to check (the
            # field's fast pass, see Scalar): they pass here, without a call and without
            # building their key path, which took most of the walk's time on many files.
            if not child.shared and (
                type(value) in f.settled or (type(value) is str and value in f.accepted)
            ):
                continue
            self.check_node(
                child, f.spec, f if f is not extra else None, f"{path}.{key}" if path else key
            )
        for name in spec.required:
            if name not in present:
                self.add(
                    fields[name].missing_code,
                    # a key missing from the whole document is reported at its top
                    node if path else Node(node.kind, 1, 1, None),
                    f"{path}.{name}" if path else name,
                    f"missing required {spec.noun} '{name}'" + (f" in {path}" if path else ""),
                )

    def unknown_key(self, key_node: Node, key: str, spec: Obj, path: str) -> None:
        hint = suggestion(key, spec.fields)
        if hint is None and spec in PROVIDERS.values():
            other = next(ch for ch, s in PROVIDERS.items() if s is not spec)
            if key in PROVIDERS[other].fields:
                hint = f"'{key}' belongs to {other} providers"
        if hint is None and spec.fields:
            hint = "known keys: " + ", ".join(spec.fields)
        self.add("KC003", key_node, path, f"unknown key '{key}'", hint)

    def wrong_type(self, node: Node, expected: str, f: Field | None, path: str) -> None:
        code = f.code if f is not None else "KC005"
        self.add(code, node, path, f"{path} must be {expected}, not {describe(node)}")

    def check_scalar(self, node: Node, spec: Scalar, f: Field | None, path: str) -> None:
        value = node.value
        if node.kind == SCALAR and type(value) in _PYTHON_TYPES.get(spec.type, ()):
            if spec.enum and (value.upper() if spec.fold_case else value) not in spec.enum:
                self.bad_enum(node, spec, path)
            elif type(value) is float and not math.isfinite(value):
                self.add("KC005", node, path, f"{path} must be a finite number, not {node.raw}")
            return  # the common case: the right type
        if spec.type == "any" or (value is None and spec.nullable and node.kind == SCALAR):
            return
        code = f.code if f is not None else "KC005"
        if node.kind != SCALAR:
            self.add(code, node, path, f"{path} must be {_a(spec.type)}, not {describe(node)}")
            return
        hint = None
        message = f"{path} must be {_a(spec.type)}, not {describe(node)}"
        if spec.phone and isinstance(value, int):
            message = f"{path} is an unquoted phone number, read as an integer"
            hint = f'quote the number so YAML keeps it as text: "{node.raw}"'
        elif spec.type == "string" and isinstance(value, int | float | bool):
            hint = f'quote it: "{node.raw}"'
        self.add(code, node, path, message, hint)

    def bad_enum(self, node: Node, spec: Scalar, path: str) -> None:
        choices = ("one of " if len(spec.enum) > 1 else "") + ", ".join(spec.enum)
        self.add(
            spec.enum_code,
            node,
            path,
            f"{path} is '{node.value}'; expected {choices}",
            suggestion(str(node.value), spec.enum),
        )


def _a(type_name: str) -> str:
    return {"string": "a string", "integer": "an integer", "boolean": "a boolean"}.get(
        type_name, "a number"
    )


# --- JSON Schema export ----------------------------------------------------------------------

SCHEMA_ID = "https://kctl.dev/schema/config-v1.json"


def json_schema() -> dict[str, Any]:
    """The config format as a JSON Schema (draft 2020-12), for editors and other validators."""
    defs: dict[str, Any] = {}

    def scalar(spec: Scalar) -> dict[str, Any]:
        if spec.type == "any":
            return {}
        out: dict[str, Any] = {"type": spec.type}
        if spec.nullable:
            out["type"] = [spec.type, "null"]
        if spec.enum and spec.fold_case:
            # JSON Schema has no case-insensitive enum, and ECMA regexes no inline (?i)
            letters = ("".join(f"[{c.upper()}{c.lower()}]" for c in e) for e in spec.enum)
            out["pattern"] = "^(?:" + "|".join(letters) + ")$"
        elif spec.enum:
            out["enum"] = list(spec.enum)
        out.update(spec.schema)
        return out

    def convert(spec: Spec, description: str = "") -> dict[str, Any]:
        if isinstance(spec, Scalar):
            out = scalar(spec)
        elif isinstance(spec, ListOf):
            out = {"type": "array", "items": convert(spec.item), **spec.schema}
        else:
            out = obj(spec)
        if description:
            out["description"] = description
        return out

    def obj(spec: Obj) -> dict[str, Any]:
        if spec is ANY_PROVIDER:
            return {"oneOf": [obj(WHATSAPP_PROVIDER), obj(SMS_PROVIDER)]}
        body: dict[str, Any] = {
            "type": "object",
            "properties": {},
            "additionalProperties": scalar(spec.extra) if spec.extra else False,
        }
        for name, f in spec.fields.items():
            prop = convert(f.spec, f.description)
            if f.default is not None:
                prop["default"] = f.default
            body["properties"][name] = prop
        required = [name for name, f in spec.fields.items() if f.required]
        if required:
            body["required"] = required
        body.update(spec.schema)
        if spec in PROVIDERS.values():
            channel = next(ch for ch, s in PROVIDERS.items() if s is spec)
            body["properties"]["channel"] = {"const": channel, "description": "Channel"}
        if not spec.name:
            return body
        defs[spec.name] = body
        return {"$ref": f"#/$defs/{spec.name}"}

    obj(CONFIG)
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": SCHEMA_ID,
        "title": "kctl provider config (version 1)",
        **defs.pop("Config"),
        "$defs": dict(sorted(defs.items())),
    }
