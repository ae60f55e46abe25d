"""The template model to Meta's format and back, and to config YAML and back: lossless for
everything the config can express (hypothesis over the model), strict about broken shapes."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kctl.config.loader import load_text
from kctl.config.model import (
    Button,
    Card,
    Header,
    Offer,
    WhatsAppProvider,
    WhatsAppTemplate,
    provider_from_node,
)
from kctl.contract import whatsapp as wa
from kctl.templates.meta import SAMPLE_KEY, MetaFormatError, from_meta, stable_id, to_meta
from kctl.templates.yamlout import template_lines

# any text a YAML file can hold (no lone surrogates: UTF-8 has no spelling for them)
text = st.text(st.characters(exclude_categories=["Cs"]), max_size=40)
maybe_text = st.none() | text
coordinate = st.none() | st.floats(allow_nan=False, allow_infinity=False, width=64)


@st.composite
def headers(draw: st.DrawFn, types: tuple[str, ...] = wa.HEADER_TYPES) -> Header:
    return Header(
        type=draw(st.sampled_from(types)),
        text=draw(maybe_text),
        url=draw(maybe_text),
        filename=draw(maybe_text),
        latitude=draw(coordinate),
        longitude=draw(coordinate),
        name=draw(maybe_text),
        address=draw(maybe_text),
    )


@st.composite
def buttons(draw: st.DrawFn) -> Button:
    kind = draw(st.sampled_from(wa.BUTTON_TYPES))
    url = draw(st.none() | text | text.map(lambda s: s + wa.DYNAMIC_URL_PLACEHOLDER))
    return Button(
        type=kind,
        text=draw(text),
        url=url,
        phone_number=draw(maybe_text),
        example=draw(maybe_text),
    )


@st.composite
def cards(draw: st.DrawFn) -> Card:
    return Card(
        header=draw(headers(wa.CARD_HEADER_TYPES) | st.just(Header(type=""))),
        body=draw(text),
        examples=tuple(draw(st.lists(text, max_size=3))),
        buttons=tuple(draw(st.lists(buttons(), max_size=2))),
    )


@st.composite
def templates(draw: st.DrawFn) -> WhatsAppTemplate:
    return WhatsAppTemplate(
        name=draw(st.from_regex(r"[a-z0-9_]{1,20}", fullmatch=True)),
        language=draw(st.sampled_from(sorted(wa.LANGUAGES))),
        body=draw(text),
        category=draw(st.sampled_from(wa.CATEGORIES)),
        header=draw(st.none() | headers()),
        footer=draw(maybe_text),
        buttons=tuple(draw(st.lists(buttons(), max_size=4))),
        offer=draw(st.none() | st.builds(Offer, title=text, expires=st.booleans())),
        carousel=tuple(draw(st.lists(cards(), max_size=3))),
        examples=tuple(draw(st.lists(text, max_size=4))),
    )


@settings(max_examples=300, deadline=None)
@given(templates())
def test_config_to_meta_and_back_is_lossless(t: WhatsAppTemplate) -> None:
    wire = json.loads(json.dumps(to_meta(t)))  # what crosses the network, not the dict
    assert from_meta(wire).template == t


@settings(max_examples=300, deadline=None)
@given(templates())
def test_meta_to_config_and_back_is_lossless(t: WhatsAppTemplate) -> None:
    once = to_meta(t, status="PAUSED", template_id="42")
    again = from_meta(once)
    assert to_meta(again.template, status=again.status, template_id=again.id) == once


PROVIDER = """version: 1
providers:
  - nickname: wa
    channel: whatsapp
    endpoint: https://x.example.com/whatsapp
    business_number: "+919876543210"
    headers: {api-key: k, sid: s, kaleyra-host: https://api.kaleyra.io}
    templates:
"""


@settings(max_examples=300, deadline=None)
@given(templates())
def test_yaml_written_for_a_template_reads_back_as_the_same_template(t: WhatsAppTemplate) -> None:
    doc = load_text("t.yaml", PROVIDER + "\n".join(template_lines(t, 6)) + "\n")
    assert doc.findings == [], doc.findings
    assert doc.root is not None
    node = doc.root.get("providers")
    assert node is not None
    provider = provider_from_node(node.items()[0])
    assert isinstance(provider, WhatsAppProvider)
    assert [x.replace(line=0) for x in provider.templates] == [t]


def test_bare_format_for_clevertap_has_no_kctl_keys() -> None:
    t = WhatsAppTemplate(
        name="invoice",
        language="en",
        body="Invoice {{1}}",
        header=Header(type="document", url="https://cdn.example.com/i.pdf", filename="I.pdf"),
        buttons=(Button(type="quick_reply", text="OK", example="x"),),
    )
    full, bare = to_meta(t), to_meta(t, samples=False)
    assert full["components"][0][SAMPLE_KEY] == {"filename": "I.pdf"}
    assert SAMPLE_KEY not in json.dumps(bare)
    assert bare["components"][0] == {
        "type": "HEADER",
        "format": "DOCUMENT",
        "example": {"header_handle": ["https://cdn.example.com/i.pdf"]},
    }
    # read back without the samples, only they are gone
    back = from_meta(bare).template
    assert back.header == Header(type="document", url="https://cdn.example.com/i.pdf")


def test_dynamic_url_example_is_the_whole_url_on_the_wire_and_the_suffix_in_the_config() -> None:
    b = Button(type="url", text="Track", url="https://s.example.com/t/{{1}}", example="AB12")
    t = WhatsAppTemplate(name="t", language="en", body="b", buttons=(b,))
    wire = to_meta(t)["components"][1]["buttons"][0]
    assert wire == {
        "type": "URL",
        "text": "Track",
        "url": "https://s.example.com/t/{{1}}",
        "example": ["https://s.example.com/t/AB12"],
    }
    assert from_meta(to_meta(t)).template.buttons == (b,)


def test_clevertap_import_sample_reads_into_the_model() -> None:
    # the shape of CleverTap's import sample (contract notes A.9), with a stray key of Meta's
    sample: dict[str, Any] = {
        "name": "summer_sale",
        "message_send_ttl_seconds": 3600,
        "parameter_format": "POSITIONAL",
        "language": "en_US",
        "status": "APPROVED",
        "category": "MARKETING",
        "id": "1234567890",
        "components": [
            {
                "type": "HEADER",
                "format": "VIDEO",
                "example": {"header_handle": ["https://v/x.mp4"]},
            },
            {
                "type": "LIMITED_TIME_OFFER",
                "limited_time_offer": {"text": "Sale", "has_expiration": True},
            },
            {"type": "BODY", "text": "Hi {{1}}", "example": {"body_text": [["Asha"]]}},
            {
                "type": "BUTTONS",
                "buttons": [
                    {
                        "type": "URL",
                        "text": "Shop",
                        "url": "https://s/{{1}}",
                        "example": ["https://s/x"],
                    },
                    {"type": "COPY_CODE", "text": "Copy", "example": ["SAVE10"]},
                    {"type": "PHONE_NUMBER", "text": "Call", "phone_number": "+15550051310"},
                    {"type": "QUICK_REPLY", "text": "Stop"},
                ],
            },
        ],
    }
    remote = from_meta(sample)
    t = remote.template
    assert (remote.status, remote.id, remote.unsupported) == ("APPROVED", "1234567890", ())
    assert (t.category, t.header, t.offer) == (
        "marketing",
        Header(type="video", url="https://v/x.mp4"),
        Offer(title="Sale", expires=True),
    )
    assert [(b.type, b.example) for b in t.buttons] == [
        ("url", "x"),
        ("copy_code", "SAVE10"),
        ("phone", None),
        ("quick_reply", None),
    ]
    again = to_meta(t, template_id="1234567890", samples=False)
    assert again["components"] == sample["components"]


def test_meta_spellings_kaleyra_and_meta_use_are_read() -> None:
    remote = from_meta(
        {
            "name": "otp",
            "language": {"code": "en"},
            "status": "Submission Rejected",
            "category": "authentication",
            "components": [
                {"type": "body", "text": "Code {{1}}"},
                {"type": "buttons", "buttons": [{"type": "COPY_CODE", "example": "123456"}]},
            ],
        }
    )
    assert remote.status == "SUBMISSION_REJECTED"
    assert remote.template.language == "en"
    assert remote.template.category == "authentication"
    assert remote.template.buttons == (
        Button(type="copy_code", text="Copy offer code", example="123456"),
    )


def test_what_the_config_cannot_express_is_named() -> None:
    remote = from_meta(
        {
            "name": "flow",
            "language": "en",
            "parameter_format": "NAMED",
            "components": [
                {"type": "HEADER", "format": "GIF"},
                {"type": "BODY", "text": "Hi {{first_name}}"},
                {"type": "BUTTONS", "buttons": [{"type": "FLOW", "text": "Open"}]},
                {"type": "CALL_PERMISSION_REQUEST"},
            ],
        }
    )
    assert remote.unsupported == (
        "named parameters",
        "a GIF header",
        "a FLOW button",
        "a CALL_PERMISSION_REQUEST component",
    )


@pytest.mark.parametrize(
    ("doc", "message"),
    [
        ([], "template must be an object, not a list"),
        ({"language": "en"}, "template.name is missing"),
        ({"name": "x"}, "template.language must be a language code"),
        ({"name": "x", "language": "en", "components": {}}, "components must be a list"),
        (
            {"name": "x", "language": "en", "components": [{"type": "BODY", "text": 5}]},
            "template.components[0].text must be a string, not a number",
        ),
        (
            {
                "name": "x",
                "language": "en",
                "components": [{"type": "BUTTONS", "buttons": [{"type": "URL", "url": 1}]}],
            },
            "template.components[0].buttons[0].url must be a string, not a number",
        ),
        ({"name": "x", "language": "en", "id": True}, "template.id must be a string"),
    ],
)
def test_broken_shapes_name_the_place(doc: Any, message: str) -> None:
    with pytest.raises(MetaFormatError, match=message.replace("[", r"\[").replace("]", r"\]")):
        from_meta(doc)


def test_stable_id_depends_on_name_and_language_only() -> None:
    a = WhatsAppTemplate(name="a", language="en", body="x")
    assert stable_id(a) == stable_id(a.replace(body="y"))
    assert stable_id(a) != stable_id(a.replace(language="en_US"))
    assert stable_id(a).isdigit()
