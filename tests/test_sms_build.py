"""The SMS request and direct-mode fields, as pure builds (SPEC 4.2, 4.8): replacements, message
ids, message types, Kaleyra's params quoting, media templates and callbacks."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qsl

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kctl.config.model import Account, SmsProvider, WhatsAppProvider, load_account
from kctl.contract import kaleyra, sms
from kctl.errors import UsageError
from kctl.send.build import Message, build_request, new_sms_message_id, parse_variables
from kctl.send.whatsapp import Location, TemplateValues
from kctl.send.wire import Via

TO = "+919812345678"
HEADERS = """\
    headers:
      api-key: ${KALEYRA_API_KEY}
      sid: HXIN1234567890
      kaleyra-host: https://api.kaleyra.io/
"""
SMS_CONFIG = (
    """\
version: 1
providers:
  - nickname: custom
    channel: sms
    endpoint: https://ct-adapter.example.com/sms
"""
    + HEADERS
    + """\
      callback_url: https://in1.example-clevertap.com/sms/dlr/abc
    parameters:
      to: $$To
      sender: $$Sender
      body: $$Body
      template_id: $$TemplateID
      variables: $$TemplateVariables
      message_id: $$MessageID
      hid: $$hid
      ref: "tier-$$user_tier"
      type: $$TYPE
    sender: ACMEIN
    message_type: Default
    templates:
      - name: order_shipped
        body: "Order {#var#} ships {#var#}. - ACME"
        dlt_template_id: "1207161234567890124"
        type: txn
      - name: no_dlt
        body: "Hello {#var#}"
  - nickname: dlt_only
    channel: sms
    endpoint: https://ct-adapter.example.com/sms
"""
    + HEADERS
    + """\
      callback_url: https://in1.example-clevertap.com/sms/dlr/abc
    parameters:
      to: $$To
      template_id: $$TemplateID
      message_id: $$MessageID
    templates:
      - name: order_shipped
        body: "Order {#var#} ships {#var#}. - ACME"
        dlt_template_id: "1207161234567890124"
      - name: no_dlt
        body: "Hello {#var#}"
  - nickname: wa
    channel: whatsapp
    endpoint: https://ct-adapter.example.com/whatsapp
    business_number: "+919876543210"
"""
    + HEADERS
    + """\
      inbound-message-callback-url: https://in1.example-clevertap.com/wa/inbound/abc
      delivery-report-callback-url: https://in1.example-clevertap.com/wa/dlr/abc
    templates:
      - name: plain
        language: en
        body: "Hi {{1}}, order {{2}} shipped."
      - name: banner
        language: en
        header: {type: image, url: "https://cdn.example.com/banner.png"}
        body: "Hi {{1}}."
      - name: parcel
        language: en
        header: {type: text, text: "Parcel {{1}}"}
        body: "On its way."
        buttons:
          - {type: url, text: Follow, url: "https://shop.example.com/t/{{1}}"}
      - name: store
        language: en
        header: {type: location, latitude: 12.97, longitude: 77.59}
        body: "Open until 9."
      - name: offer
        language: en
        category: marketing
        body: "Sale."
        limited_time_offer: {title: "Sale"}
        buttons:
          - {type: copy_code, text: Copy}
"""
)


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Account:
    path = Path(tmp_path_factory.mktemp("cfg")) / "sms.yaml"
    path.write_text(SMS_CONFIG, "utf-8")
    return load_account(str(path))


def sms_provider(account: Account, name: str = "custom") -> SmsProvider:
    provider = account.provider(name)
    assert isinstance(provider, SmsProvider)
    return provider


def wa_provider(account: Account) -> WhatsAppProvider:
    provider = account.provider("wa")
    assert isinstance(provider, WhatsAppProvider)
    return provider


def form(body: bytes) -> dict[str, str]:
    pairs = parse_qsl(body.decode("utf-8"), keep_blank_values=True)
    assert len({k for k, _ in pairs}) == len(pairs), pairs
    return dict(pairs)


VARS = (("hid", "123"), ("user_tier", "gold"))


# --- $$MessageID ----------------------------------------------------------------------------------


def test_message_ids_have_clevertaps_dotted_shape_and_are_unique() -> None:
    ids = {new_sms_message_id() for _ in range(2000)}
    assert len(ids) == 2000
    for message_id in ids:
        assert sms.is_message_id(message_id), message_id
        fields = message_id.split(".")
        assert fields[4:] == ["0", "wzrk_default", "-1", ""]


@pytest.mark.parametrize(
    "example",
    [
        sms.MESSAGE_ID_EXAMPLE,
        # the callback sample's variant: 9 digits in the third field, variant 1
        "9999999999.1200000000.165263328.20220606.0.wzrk_default.1.",
    ],
)
def test_the_pattern_takes_clevertaps_own_examples(example: str) -> None:
    assert sms.is_message_id(example)


def test_the_adapter_request_carries_the_id_it_reports(account: Account) -> None:
    message = Message(TO, "order_shipped", params=("A1", "today"), variables=VARS)
    request = build_request(sms_provider(account), message, Via.ADAPTER)
    assert sms.is_message_id(request.message_id)
    assert form(request.body)["message_id"] == request.message_id


# --- system and custom replacements ---------------------------------------------------------------


def test_every_replacement_is_filled(account: Account) -> None:
    message = Message(TO, "order_shipped", params=("A-1042", "Friday, 5 pm"), variables=VARS)
    fields = form(build_request(sms_provider(account), message, Via.ADAPTER, "m.1").body)
    assert fields == {
        "to": "919812345678",
        "sender": "ACMEIN",
        "body": "Order A-1042 ships Friday, 5 pm. - ACME",
        "template_id": "1207161234567890124",
        "variables": '["A-1042","Friday, 5 pm"]',
        "message_id": "m.1",
        "hid": "123",
        "ref": "tier-gold",
        "type": "TXN",
    }
    assert json.loads(fields["variables"]) == ["A-1042", "Friday, 5 pm"]


def test_free_text_leaves_out_the_template_variables_and_id(account: Account) -> None:
    message = Message(TO, body="Hello", variables=VARS)
    fields = form(build_request(sms_provider(account), message, Via.ADAPTER, "m.1").body)
    assert "variables" not in fields
    assert "template_id" not in fields
    assert fields["type"] == "DEFAULT"  # the provider's "Default", sent in capitals


def test_a_missing_custom_value_is_refused_naming_each_one(account: Account) -> None:
    with pytest.raises(UsageError) as caught:
        build_request(sms_provider(account), Message(TO, body="Hello"), Via.ADAPTER)
    assert "$$hid, $$user_tier" in caught.value.message
    assert caught.value.hint == "give each one: --var hid=VALUE --var user_tier=VALUE"


def test_a_custom_value_no_parameter_uses_is_refused(account: Account) -> None:
    message = Message(TO, body="Hello", variables=(*VARS, ("uid", "9")))
    with pytest.raises(UsageError, match=r"uses \$\$uid"):
        build_request(sms_provider(account), message, Via.ADAPTER)


def test_var_options_are_parsed_and_checked() -> None:
    assert parse_variables(["hid=123", "$$uid=a=b", "empty="]) == (
        ("hid", "123"),
        ("uid", "a=b"),
        ("empty", ""),
    )
    for bad in (["hid"], ["1x=2"], ["=2"], ["Body=x"], ["hid=1", "hid=2"]):
        with pytest.raises(UsageError):
            parse_variables(bad)


@pytest.mark.parametrize("given_type", ["otp", "Otp", "OTP"])
def test_a_message_type_in_any_case_is_sent_in_capitals(account: Account, given_type: str) -> None:
    message = Message(TO, body="Hi", type=given_type, variables=VARS)
    assert form(build_request(sms_provider(account), message, Via.ADAPTER).body)["type"] == "OTP"


def test_an_unknown_message_type_is_refused(account: Account) -> None:
    with pytest.raises(UsageError, match="--type promo is not a message type"):
        build_request(sms_provider(account), Message(TO, body="Hi", type="promo"), Via.ADAPTER)


def test_a_template_id_only_provider_sends_no_body_and_needs_no_sender(account: Account) -> None:
    provider = sms_provider(account, "dlt_only")
    message = Message(TO, "order_shipped", params=("A1", "today"))
    fields = form(build_request(provider, message, Via.ADAPTER, "m.1").body)
    assert fields == {
        "to": "919812345678",
        "template_id": "1207161234567890124",
        "message_id": "m.1",
    }


@pytest.mark.parametrize(
    ("message", "words"),
    [
        (Message(TO, body="Hello"), "free text has nowhere to go"),
        (Message(TO, "no_dlt", params=("x",)), "has no dlt_template_id"),
    ],
)
def test_a_template_id_only_provider_refuses_what_it_cannot_carry(
    account: Account, message: Message, words: str
) -> None:
    with pytest.raises(UsageError, match=words):
        build_request(sms_provider(account, "dlt_only"), message, Via.ADAPTER)


def test_var_is_refused_where_it_has_no_place(account: Account) -> None:
    with pytest.raises(UsageError, match="only the adapter gets"):
        build_request(sms_provider(account), Message(TO, body="Hi", variables=VARS), Via.DIRECT)
    with pytest.raises(UsageError, match="WhatsApp"):
        build_request(
            wa_provider(account),
            Message(TO, "plain", params=("a", "b"), variables=VARS),
            Via.ADAPTER,
        )


# --- direct mode ----------------------------------------------------------------------------------


def test_direct_sms_asks_kaleyra_for_a_get_callback(account: Account) -> None:
    message = Message(TO, "order_shipped", params=("A1", "today"))
    request = build_request(
        sms_provider(account), message, Via.DIRECT, callback_url="http://127.0.0.1:1/sms/k"
    )
    fields = form(request.body)
    assert json.loads(fields["callback"]) == {"url": "http://127.0.0.1:1/sms/k", "method": "GET"}
    assert "callback_url" not in fields
    assert fields["type"] == "TXN"
    assert request.message_id == ""  # Kaleyra makes the id; send-test reads it from the reply


def test_direct_whatsapp_without_a_callback_asks_for_none(account: Account) -> None:
    request = build_request(
        wa_provider(account), Message(TO, "plain", params=("a", "b")), Via.DIRECT
    )
    assert "callback_url" not in form(request.body)


def test_direct_params_with_commas_or_quotes_are_quoted_and_read_back(account: Account) -> None:
    params = ("Asha, Rao", 'box "B", shelf 2')
    request = build_request(
        wa_provider(account),
        Message(TO, "plain", params=params),
        Via.DIRECT,
        callback_url="http://127.0.0.1:1/k",
    )
    fields = form(request.body)
    assert fields["params"] == '"Asha, Rao","box ""B"", shelf 2"'
    assert kaleyra.split_params(fields["params"]) == list(params)
    assert fields["callback_url"] == "http://127.0.0.1:1/k"


def test_plain_params_stay_plain_as_on_kaleyras_text_template_page(account: Account) -> None:
    request = build_request(
        wa_provider(account), Message(TO, "plain", params=("a", "b")), Via.DIRECT
    )
    assert form(request.body)["params"] == "a,b"


@given(st.lists(st.text(st.characters(exclude_categories=["Cs"]), max_size=12), max_size=6))
def test_params_round_trip_whatever_they_hold(values: list[str]) -> None:
    joined = kaleyra.join_params(tuple(values))
    read = kaleyra.split_params(joined)
    if values == [""]:
        assert read == []  # one empty value and no value at all look alike
    else:
        assert read == values


def test_a_media_header_makes_a_media_template(account: Account) -> None:
    provider = wa_provider(account)
    sample = form(build_request(provider, Message(TO, "banner", params=("Asha",)), Via.DIRECT).body)
    assert (sample["type"], sample["media_url"]) == (
        "mediatemplate",
        "https://cdn.example.com/banner.png",
    )
    given_url = Message(
        TO,
        "banner",
        params=("Asha",),
        values=TemplateValues(media_url="https://cdn.example.com/x.png"),
    )
    assert form(build_request(provider, given_url, Via.DIRECT).body)["media_url"] == (
        "https://cdn.example.com/x.png"
    )


def test_header_parameter_and_url_suffix_go_in_their_own_fields(account: Account) -> None:
    message = Message(
        TO, "parcel", values=TemplateValues(header_param="AB12", url_suffixes=("track/AB12",))
    )
    fields = form(build_request(wa_provider(account), message, Via.DIRECT).body)
    assert fields["type"] == "template"
    assert (fields["param_header"], fields["param_url"]) == ("AB12", "track/AB12")
    assert "params" not in fields  # the body has no placeholders


def test_missing_send_time_values_are_refused_all_at_once(account: Account) -> None:
    with pytest.raises(UsageError) as caught:
        build_request(wa_provider(account), Message(TO, "parcel"), Via.DIRECT)
    assert "--header-param" in caught.value.message
    assert "--url-suffix" in caught.value.message


@pytest.mark.parametrize(
    ("message", "words"),
    [
        (Message(TO, "store"), "a location header"),
        (Message(TO, "offer"), "a limited time offer, a copy-code button"),
        (
            Message(TO, "plain", params=("a", "b"), values=TemplateValues(props=(("k", "v"),))),
            "custom key-values",
        ),
    ],
)
def test_what_kaleyras_api_has_no_field_for_is_refused(
    account: Account, message: Message, words: str
) -> None:
    with pytest.raises(UsageError, match=words) as caught:
        build_request(wa_provider(account), message, Via.DIRECT)
    assert caught.value.hint is not None
    assert "drop --via direct" in caught.value.hint


@pytest.mark.parametrize(
    ("values", "flag"),
    [
        (TemplateValues(header_param="x"), "--header-param"),
        (TemplateValues(media_url="https://cdn.example.com/a.png"), "--media-url"),
        (TemplateValues(url_suffixes=("x",)), "--url-suffix"),
        (TemplateValues(location=Location("1", "2")), "--location"),
    ],
)
def test_values_a_template_has_no_place_for_are_refused(
    account: Account, values: TemplateValues, flag: str
) -> None:
    message = Message(TO, "plain", params=("a", "b"), values=values)
    with pytest.raises(UsageError, match=f"no place for {flag}"):
        build_request(wa_provider(account), message, Via.DIRECT)
