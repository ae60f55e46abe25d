"""The rule catalog (SPEC 1.2): every finding code with its title, severity and explanation.

``validate-config``'s renderers (SARIF rule titles), ``kctl explain``, the README's table and
the tests read this catalog; the checks in ``kctl.config`` report codes declared here. An
existing code never changes meaning; new codes take the free numbers of their group.
"""

from __future__ import annotations

from enum import StrEnum

from kctl.contract import dlt, forms, sms
from kctl.contract import whatsapp as wa
from kctl.contract.channels import CHANNELS, Channel
from kctl.contract.kaleyra import HOSTS
from kctl.lean import Record


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class Scope(StrEnum):
    """Where a rule's example fragments belong in a config.

    ``kctl explain`` says it beside the example, and the tests use it to embed each fragment
    into a valid config and check that the bad one really triggers the rule.
    """

    FILE = "file"  # a whole file, as written (syntax, duplicate keys)
    CONFIG = "config"  # top-level keys, merged into a valid config
    PROVIDERS = "providers"  # the providers list; each item's other keys are left out
    WHATSAPP = "whatsapp"  # keys of a WhatsApp provider, merged into a valid one
    SMS = "sms"  # keys of an SMS provider, merged into a valid one
    # the complete mapping, not a part of it: what is missing from it is the point
    SMS_HEADERS = "sms-headers"
    SMS_PARAMETERS = "sms-parameters"
    WHATSAPP_TEMPLATE = "whatsapp-template"  # keys of a template, merged into a valid one


class Rule(Record):
    __slots__ = ("bad", "code", "explanation", "good", "registry", "scope", "severity", "title")
    code: str
    title: str
    severity: Severity
    # what the rule checks and why it matters, in a few sentences (kctl explain)
    explanation: str
    # a config fragment that triggers it, and the same fragment fixed
    bad: str
    good: str
    scope: Scope
    # a DLT registry (CSV) the example is checked against, as with --dlt-registry FILE
    registry: str

    def __init__(  # noqa: PLR0917
        self,
        code: str,
        title: str,
        severity: Severity,
        explanation: str = "",
        bad: str = "",
        good: str = "",
        scope: Scope = Scope.FILE,
        registry: str = "",
    ) -> None:
        self.code = code
        self.title = title
        self.severity = severity
        self.explanation = explanation
        self.bad = bad
        self.good = good
        self.scope = scope
        self.registry = registry


E, W = Severity.ERROR, Severity.WARNING


def _yaml(*lines: str) -> str:
    return "\n".join(lines)


_WA_HEADERS = ", ".join(CHANNELS[Channel.WHATSAPP].headers)
_SMS_HEADERS = ", ".join(CHANNELS[Channel.SMS].headers)
_BUTTON_LIMITS = ", ".join(f"{kind} {n}" for kind, n in wa.BUTTON_LIMITS.items())
# Meta's limit is only visible on a body that really is that long
_LONG_BODY = 'body: "Hi {{1}}, ' + "your order has shipped and is on its way. " * 25 + '"'
_VAR = dlt.VARIABLE
_REGISTRY_COLUMNS = ",".join(dlt.REGISTRY_COLUMNS)


def _sms_template(body: str, *extra: str, name: str = "otp_login") -> str:
    return _yaml("templates:", f"  - name: {name}", f'    body: "{body}"', *extra)


def _carousel(*cards: tuple[str, str]) -> str:
    """A marketing carousel's keys, one (header, body) a card, each card with one button."""
    lines = ["category: marketing", "carousel:"]
    for header, body in cards:
        lines += [
            f"  - header: {header}",
            f"    body: {body}",
            "    buttons: [{type: quick_reply, text: More}]",
        ]
    return _yaml(*lines)


_SNEAKERS = ("{type: image, url: https://cdn.example.com/1.png}", "Sneakers")
_BOOTS = ("{type: image, url: https://cdn.example.com/2.png}", "Boots")


_RULES = (
    Rule(
        "KC001",
        "YAML syntax error, or YAML kctl refuses",
        E,
        scope=Scope.FILE,
        explanation=(
            "The file must be YAML that kctl can read: UTF-8 text, one document, indented"
            " with spaces. To stay safe on any input, kctl also refuses YAML tags (such as"
            " !!python/object), nesting deeper than 64 levels, more than 200,000 nodes,"
            " more than 1,000 aliases, aliases that would take the document past those"
            " bounds (or past 16 MiB of text) once each is replaced by what it stands for,"
            " and an alias inside the node it refers to, so a hostile file can neither run"
            " code nor exhaust memory. Nothing else is checked in a file with this error,"
            " since its structure is unknown."
        ),
        bad=_yaml("version: 1", " providers: []"),
        good=_yaml("version: 1", "providers: []"),
    ),
    Rule(
        "KC002",
        "Duplicate key in a mapping",
        E,
        scope=Scope.FILE,
        explanation=(
            "A key appears twice in one mapping. Ordinary YAML loaders silently keep one of"
            " the two values, so what reaches CleverTap or Kaleyra may not be the value you"
            " edited. kctl keeps the first, reports the second, and leaves it to you to"
            " remove or rename one of them."
        ),
        bad=_yaml("version: 1", "providers: []", "version: 2"),
        good=_yaml("version: 1", "providers: []"),
    ),
    Rule(
        "KC003",
        "Unknown key",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "Every key of the config format (header and parameter names aside) is known in"
            " advance, lower-case and spelt exactly; any other key is an error, with the"
            " closest known key as a hint. A"
            " misspelt optional key would otherwise be ignored without a word, and the"
            " setting it was meant to carry would never reach the provider form."
        ),
        bad="max_concurency: 100",
        good="max_concurrency: 100",
    ),
    Rule(
        "KC004",
        "Required key missing",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "A key the format requires is missing. Every provider needs nickname, channel,"
            " endpoint and headers; a WhatsApp provider also needs business_number, an SMS"
            " provider parameters; every template needs name and body, and a WhatsApp"
            " template language. Some keys are required by others: a url button needs url, a"
            " phone button phone_number, a text header text, and an SMS provider with a +91"
            " test recipient needs dlt."
        ),
        bad=_yaml(
            "templates:",
            "  - name: order_update",
            "    language: en",
        ),
        good=_yaml(
            "templates:",
            "  - name: order_update",
            "    language: en",
            '    body: "Hi {{1}}, your order has shipped."',
        ),
    ),
    Rule(
        "KC005",
        "Wrong type or value",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "A value has the wrong YAML type, or is not one of the values its key allows"
            " (button type, template category, auth type). The classic case is a phone"
            " number without quotes: YAML reads +919876543210 as an integer, losing the '+',"
            ' so phone numbers and DLT ids must be quoted. In the same way a quoted "true"'
            " is text, not a boolean."
        ),
        bad="business_number: +919876543210",
        good='business_number: "+919876543210"',
    ),
    Rule(
        "KC006",
        "Unsupported or missing version",
        E,
        scope=Scope.CONFIG,
        explanation=(
            "A config starts with version: 1, the only format this kctl reads; a missing"
            " version and an empty file are reported here too. The version lets a later"
            " kctl tell an old file from a new one instead of misreading it."
        ),
        bad="version: 2",
        good="version: 1",
    ),
    Rule(
        "KC101",
        "Duplicate provider nickname",
        E,
        scope=Scope.PROVIDERS,
        explanation=(
            "Each provider's nickname must be unique within a file, whatever its channel."
            " The nickname is how CleverTap's provider list and kctl's --provider option"
            " tell providers apart, so a shared one makes both ambiguous."
        ),
        bad=_yaml(
            "- nickname: Kaleyra",
            "  channel: whatsapp",
            "- nickname: Kaleyra",
            "  channel: sms",
        ),
        good=_yaml(
            "- nickname: Kaleyra",
            "  channel: whatsapp",
            "- nickname: Kaleyra SMS",
            "  channel: sms",
        ),
    ),
    Rule(
        "KC102",
        "Channel not whatsapp or sms",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "channel must be whatsapp or sms, in lower case. It decides which headers, keys"
            " and rules apply, so until it is one of the two kctl cannot check anything"
            " specific to the channel."
        ),
        bad="channel: WhatsApp",
        good="channel: whatsapp",
    ),
    Rule(
        "KC103",
        "Provider not generic",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "provider must be generic. Kaleyra is connected to CleverTap through the"
            ' provider "Generic (Other)" ("Other (Generic)" on the SMS form), not through a'
            " built-in integration, and the rest of the config describes that form."
        ),
        bad="provider: kaleyra",
        good="provider: generic",
    ),
    Rule(
        "KC104",
        "Request type not POST",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "request_type must be POST, in capitals. CleverTap's generic providers send"
            " every message as a POST request (a JSON body for WhatsApp, a form for SMS), and"
            " the adapter behind the endpoint expects exactly that."
        ),
        bad="request_type: GET",
        good="request_type: POST",
    ),
    Rule(
        "KC105",
        "Endpoint not an absolute https URL",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "endpoint, the HTTP End Point CleverTap calls for every message, must be an"
            " absolute https URL with a host and without spaces. CleverTap calls providers"
            " over https only; http:// is accepted solely for 127.0.0.1, ::1 and localhost,"
            " so that kctl's sandbox can stand in for the adapter."
        ),
        bad="endpoint: http://ct-adapter.example.com/whatsapp",
        good="endpoint: https://ct-adapter.example.com/whatsapp",
    ),
    Rule(
        "KC106",
        f"max_concurrency outside {forms.CONCURRENCY_MIN}..{forms.CONCURRENCY_MAX}",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            f'max_concurrency, the form\'s "{forms.MAX_CONCURRENCY}", must be an integer from'
            f" {forms.CONCURRENCY_MIN} to {forms.CONCURRENCY_MAX}, the range CleverTap accepts."
            " Leave it out to use CleverTap's default of up to"
            f" {forms.UNLIMITED_CONCURRENCY} concurrent requests; set it when the adapter"
            " or your Kaleyra plan cannot take that many."
        ),
        bad="max_concurrency: 2000",
        good=f"max_concurrency: {forms.CONCURRENCY_MAX}",
    ),
    Rule(
        "KC107",
        "More than one default provider for a channel",
        E,
        scope=Scope.PROVIDERS,
        explanation=(
            "At most one provider per channel may be marked default (CleverTap's \"Mark as"
            ' default"); it is the provider CleverTap uses when a campaign does not name'
            " one. A default WhatsApp provider and a default SMS provider may coexist."
        ),
        bad=_yaml(
            "- nickname: Kaleyra India",
            "  default: true",
            "- nickname: Kaleyra Global",
            "  default: true",
        ),
        good=_yaml(
            "- nickname: Kaleyra India",
            "  default: true",
            "- nickname: Kaleyra Global",
            "  default: false",
        ),
    ),
    Rule(
        "KC108",
        "Phone number not valid for its country",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "Phone numbers in the config (business_number, test_recipients, a phone"
            " button's phone_number) must be E.164: '+', a country code that does not start"
            " with 0, then the number, 7 to 15 digits in all, without spaces. Each number is"
            " then checked against its country's numbering plan (Google's libphonenumber"
            " data, through phonenumbers), so an unassigned country code, a digit too many"
            " or too few, or a reserved range is refused even when the shape is right."
            " Kaleyra and Meta reject such a number as invalid."
        ),
        bad='business_number: "+91981234567"',
        good='business_number: "+919812345678"',
    ),
    Rule(
        "KC109",
        "payload_version malformed",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "payload_version is the Payload Version shown on CleverTap's provider page,"
            ' written MAJOR.MINOR such as "0.1" and quoted (unquoted, YAML reads 0.1 as a'
            " number). kctl appends it to Kaleyra's Incoming URL, where it tells Kaleyra"
            " which payload format to post to CleverTap."
        ),
        bad='payload_version: "v1"',
        good='payload_version: "0.1"',
    ),
    Rule(
        "KC201",
        "Required header missing for the channel",
        E,
        scope=Scope.SMS_HEADERS,
        explanation=(
            "Each channel's provider form has a fixed set of headers, all required:"
            f" {_WA_HEADERS} for WhatsApp; {_SMS_HEADERS} for SMS. The adapter takes"
            " Kaleyra's credentials and API host from them, and the callback URLs say where"
            " delivery reports (and inbound WhatsApp messages) go, so without one of them"
            " sending or reporting breaks."
        ),
        bad=_yaml(
            "headers:",
            "  api-key: ${keyring:kaleyra/api-key}",
            "  sid: HXIN1234567890",
            "  kaleyra-host: https://api.kaleyra.io/",
        ),
        good=_yaml(
            "headers:",
            "  api-key: ${keyring:kaleyra/api-key}",
            "  sid: HXIN1234567890",
            "  kaleyra-host: https://api.kaleyra.io/",
            "  callback_url: https://in1.example-clevertap.com/sms/dlr/abc",
        ),
    ),
    Rule(
        "KC202",
        "Header value empty",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "A header is present but its value is empty or only spaces. CleverTap sends"
            " header values as they are, so an empty sid, api-key or callback URL reaches"
            " the adapter as nothing and the message or its delivery report fails."
        ),
        bad=_yaml("headers:", '  sid: ""'),
        good=_yaml("headers:", "  sid: HXIN1234567890"),
    ),
    Rule(
        "KC203",
        "URL header not an absolute https URL",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "The headers that hold URLs (kaleyra-host and the callback URLs) must be"
            " absolute https URLs with a host. The adapter calls Kaleyra's API at"
            " kaleyra-host, and Kaleyra posts delivery reports and inbound messages to"
            " CleverTap's callback URLs, all over https; http:// is accepted only for"
            " 127.0.0.1, ::1 and localhost."
        ),
        bad=_yaml("headers:", "  kaleyra-host: api.kaleyra.io"),
        good=_yaml("headers:", "  kaleyra-host: https://api.kaleyra.io/"),
    ),
    Rule(
        "KC204",
        "kaleyra-host not a known Kaleyra API domain",
        W,
        scope=Scope.WHATSAPP,
        explanation=(
            "kaleyra-host is not one of the Kaleyra API domains kctl knows"
            f" ({', '.join(HOSTS)}); loopback hosts pass, for the sandbox. The adapter sends"
            " your api-key to this host, so a typo either fails every message or hands the"
            " key to someone else. It is a warning because Kaleyra may open a domain kctl"
            " does not know yet."
        ),
        bad=_yaml("headers:", "  kaleyra-host: https://api.us.kaleyra.io/"),
        good=_yaml("headers:", "  kaleyra-host: https://api.kaleyra.io/"),
    ),
    Rule(
        "KC205",
        "Secret written as a literal",
        W,
        scope=Scope.WHATSAPP,
        explanation=(
            "A secret (the api-key header or auth.password) is written into the file."
            " Config files get committed, shared and pasted into tickets; refer to the"
            " secret instead, with ${NAME} for an environment variable or ${keyring:NAME}"
            " for the OS keyring (stored with kctl secrets set NAME). kctl masks secrets in"
            " all its output either way, but only a reference keeps one out of the file."
        ),
        bad=_yaml("headers:", "  api-key: Ab12cd34Ef56gh78"),
        good=_yaml("headers:", "  api-key: ${keyring:kaleyra/api-key}"),
    ),
    Rule(
        "KC206",
        "Malformed secret reference",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "A value that looks like a secret reference is malformed: no braces, an"
            " unclosed ${, an empty or invalid name, an unknown scheme, or text around the"
            " reference. Only ${NAME} (an environment variable: letters, digits and _, not"
            " starting with a digit) and ${keyring:NAME} exist, each as the whole value;"
            " anything else would be taken as the secret itself."
        ),
        bad=_yaml("headers:", "  api-key: $KALEYRA_API_KEY"),
        good=_yaml("headers:", "  api-key: ${KALEYRA_API_KEY}"),
    ),
    Rule(
        "KC207",
        "Header not used by this channel",
        W,
        scope=Scope.WHATSAPP,
        explanation=(
            "The header is not one of this channel's provider headers: WhatsApp has"
            " inbound-message-callback-url and delivery-report-callback-url where SMS has"
            " callback_url. An extra header does no harm by itself, hence a warning, but it"
            " is usually the other channel's name or a typo for one that is then missing."
        ),
        bad=_yaml("headers:", "  callback_url: https://in1.example-clevertap.com/wa/dlr/abc"),
        good=_yaml(
            "headers:",
            "  delivery-report-callback-url: https://in1.example-clevertap.com/wa/dlr/abc",
        ),
    ),
    Rule(
        "KC301",
        "Required SMS parameter missing or empty",
        E,
        scope=Scope.SMS_PARAMETERS,
        explanation=(
            "An SMS provider's form parameters must include"
            f" {' and '.join(sms.REQUIRED_PARAMETERS)}, and"
            f" {' or '.join(sms.CONTENT_PARAMETERS)}, each with a value. to carries the"
            f" recipient ({sms.TO}) and message_id CleverTap's message id ({sms.MESSAGE_ID}),"
            " which the provider echoes as meta in every delivery report so that CleverTap can"
            f" match the report to its message. The text comes as {sms.BODY}, or, for India's"
            f" DLT, as the registered template's id ({sms.TEMPLATE_ID}): CleverTap does not"
            " save a configuration that has neither."
        ),
        bad=_yaml(
            "parameters:",
            "  to: $$To",
            "  sender: $$Sender",
            "  body: $$Body",
        ),
        good=_yaml(
            "parameters:",
            "  to: $$To",
            "  sender: $$Sender",
            "  body: $$Body",
            "  message_id: $$MessageID",
        ),
    ),
    Rule(
        "KC302",
        "Malformed $$ replacement",
        E,
        scope=Scope.SMS,
        explanation=(
            "A $$ token in a parameter value is neither one of the system replacements"
            f" ({' '.join(sms.REPLACEMENTS)}) nor a well-formed custom one. A custom"
            " replacement is $$ followed by a letter, then letters, digits or underscores"
            " ($$hid); CleverTap asks for its value when a campaign is created, and send-test"
            " takes it as --var hid=VALUE. A bare $$, a name starting with a digit, or a"
            " system name in the wrong case ($$body) is reported: names are case-sensitive,"
            " and such a token would reach Kaleyra as literal text or wait for a value nobody"
            " gives."
        ),
        bad=_yaml("parameters:", "  long_url: $$LongUrl"),
        good=_yaml("parameters:", "  long_url: $$LongURL"),
    ),
    Rule(
        "KC303",
        "Message type not OTP/MKT/TXN/DEFAULT",
        E,
        scope=Scope.SMS,
        explanation=(
            "An SMS message type (a provider's message_type or a template's type) must be"
            f" one of {', '.join(sms.MESSAGE_TYPES)}, in any case (Default is DEFAULT); kctl"
            " sends it in capitals. Kaleyra picks the route by the type (one-time password,"
            " marketing, transactional), and a message on the wrong route can be delayed or"
            " refused."
        ),
        bad="message_type: PROMO",
        good="message_type: MKT",
    ),
    Rule(
        "KC304",
        "SMS template lacks dlt_template_id",
        E,
        scope=Scope.SMS,
        explanation=(
            "In India (DLT), every SMS must name the registered template it was sent from;"
            " operators drop a message whose template is not registered or whose text does"
            " not match it (failure 908). So when a provider has a dlt block or any +91"
            " test recipient, each of its templates needs dlt_template_id. A +91 test"
            " recipient without a dlt block is KC004."
        ),
        bad=_yaml(
            'dlt: {entity_id: "1201159543210987654"}',
            "templates:",
            "  - name: otp_login",
            '    body: "Your login OTP is {#var#}. - ACME"',
        ),
        good=_yaml(
            'dlt: {entity_id: "1201159543210987654"}',
            "templates:",
            "  - name: otp_login",
            '    body: "Your login OTP is {#var#}. - ACME"',
            '    dlt_template_id: "1207161234567890123"',
        ),
    ),
    Rule(
        "KC305",
        "DLT id not 12..19 digits",
        E,
        scope=Scope.SMS,
        explanation=(
            "DLT entity ids and template ids, issued by India's DLT platforms, are numbers"
            " of 12 to 19 digits; operators refuse messages that carry anything else. Write"
            " them quoted: unquoted, YAML reads them as integers (KC005)."
        ),
        bad='dlt: {entity_id: "12011595"}',
        good='dlt: {entity_id: "1201159543210987654"}',
    ),
    Rule(
        "KC306",
        "Basic auth without username or password",
        E,
        scope=Scope.SMS,
        explanation=(
            "With auth type basic, CleverTap sends an Authorization header built from"
            " username and password, so both must be set. Give the password as a secret"
            " reference (${keyring:NAME} or ${NAME}); a literal username is fine."
        ),
        bad=_yaml("auth:", "  type: basic", "  username: ctuser"),
        good=_yaml(
            "auth:",
            "  type: basic",
            "  username: ctuser",
            "  password: ${keyring:kaleyra/sms-pass}",
        ),
    ),
    Rule(
        "KC307",
        "DLT variable not written {#var#}",
        E,
        scope=Scope.SMS,
        explanation=(
            f"The DLT platforms mark each variable of a template {_VAR}: lower case, braces"
            " and hashes, nothing else. Whatever else looks like one ({#var1#}, {#Var#}, #VAR#,"
            " {#otp#}) is static text to them, which a filled message never contains, so every"
            f" message from the template fails scrubbing (failure {dlt.TEMPLATE_NOT_MATCHED})."
            f" kctl, like CleverTap, fills only {_VAR} with the values sent."
        ),
        bad=_sms_template("Your login OTP is {#otp#}. - ACME"),
        good=_sms_template(f"Your login OTP is {_VAR}. - ACME"),
    ),
    Rule(
        "KC308",
        "Two DLT variables in a row",
        E,
        scope=Scope.SMS,
        explanation=(
            f"A DLT template needs static text between two variables: the platforms do not"
            f" register {_VAR}{_VAR} or {_VAR} {_VAR}, because scrubbing could not tell where"
            " one value ends and the next begins. Join them into one variable of up to"
            f" {dlt.VARIABLE_LIMIT} characters, or put words between them."
        ),
        bad=_sms_template(f"Dear {_VAR} {_VAR}, your bill is due. - ACME", name="bill_due"),
        good=_sms_template(f"Dear {_VAR}, your bill of Rs {_VAR} is due. - ACME", name="bill_due"),
    ),
    Rule(
        "KC309",
        "Template body differs from its registered DLT text",
        E,
        scope=Scope.SMS,
        explanation=(
            "Operators drop an SMS to India whose static text differs from its registered DLT"
            " template by a single character: a missing full stop, a double space, a changed"
            f" brand name (failure {dlt.TEMPLATE_NOT_MATCHED}). So the body of a template with"
            " dlt_text, or whose dlt_template_id is in the --dlt-registry file, must be that"
            " text exactly. kctl points at the first character that differs."
        ),
        bad=_sms_template(
            f"Your login OTP is {_VAR} - ACME",
            '    dlt_template_id: "1207161234567890123"',
            f'    dlt_text: "Your login OTP is {_VAR}. - ACME"',
        ),
        good=_sms_template(
            f"Your login OTP is {_VAR}. - ACME",
            '    dlt_template_id: "1207161234567890123"',
            f'    dlt_text: "Your login OTP is {_VAR}. - ACME"',
        ),
    ),
    Rule(
        "KC310",
        "DLT entity, header and template not a registered chain",
        E,
        scope=Scope.SMS,
        explanation=(
            "With --dlt-registry, each template's dlt_template_id must be in the registry,"
            " registered to the provider's dlt.entity_id with the provider's sender as its"
            " header. Operators check that chain before the text: a sender that is not the"
            f" template's header fails with {dlt.HEADER_NOT_REGISTERED}, another entity's"
            f" template with {dlt.ENTITY_NOT_REGISTERED}, an unknown template with"
            f" {dlt.TEMPLATE_NOT_MATCHED}."
        ),
        registry=_yaml(
            _REGISTRY_COLUMNS,
            f"1207161234567890123,1201159543210987654,ACMEIN,Your login OTP is {_VAR}. - ACME",
        ),
        bad=_yaml(
            "sender: ACMEXX",
            'dlt: {entity_id: "1201159543210987654"}',
            _sms_template(
                f"Your login OTP is {_VAR}. - ACME", '    dlt_template_id: "1207161234567890123"'
            ),
        ),
        good=_yaml(
            "sender: ACMEIN",
            'dlt: {entity_id: "1201159543210987654"}',
            _sms_template(
                f"Your login OTP is {_VAR}. - ACME", '    dlt_template_id: "1207161234567890123"'
            ),
        ),
    ),
    Rule(
        "KC311",
        "SMS template longer than one part at its longest",
        W,
        scope=Scope.SMS,
        explanation=(
            "One SMS holds 160 GSM-7 characters, or 70 when a single character is outside"
            " GSM-7 (Hindi or Tamil script, an emoji, a curly quote) and the text goes out as"
            " UCS-2; a longer text is split into parts of 153 or 67, each billed as an SMS."
            f" kctl measures the template at its longest, every {_VAR} at"
            f" {dlt.VARIABLE_LIMIT} characters, counting € [ ] {{ }} ^ ~ | and \\ as two."
            " A long message may be worth its parts, but it should be a choice, hence a"
            " warning."
        ),
        bad=_sms_template(
            f"Order {_VAR} ships by {_VAR}. We\u2019ll text you when it\u2019s out. - ACME",
            name="order_shipped",
        ),
        good=_sms_template(
            f"Order {_VAR} ships by {_VAR}. We'll text you when it's out. - ACME",
            name="order_shipped",
        ),
    ),
    Rule(
        "KC401",
        "Template name (and language) not unique",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "A WhatsApp template is identified by its name and language, so the pair must"
            " be unique within a provider; an SMS template by its name alone. CleverTap"
            " keeps one template per name and language, so a second definition would"
            " silently stand in for the first."
        ),
        bad=_yaml(
            "templates:",
            "  - name: order_update",
            "    language: en",
            '    body: "Hi {{1}}, your order has shipped."',
            "  - name: order_update",
            "    language: en",
            '    body: "Olá {{1}}, seu pedido foi enviado."',
        ),
        good=_yaml(
            "templates:",
            "  - name: order_update",
            "    language: en",
            '    body: "Hi {{1}}, your order has shipped."',
            "  - name: order_update",
            "    language: pt_BR",
            '    body: "Olá {{1}}, seu pedido foi enviado."',
        ),
    ),
    Rule(
        "KC402",
        "Template header type invalid",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            f"A template header's type must be one of {', '.join(wa.HEADER_TYPES)}, in"
            " lower case. Meta's own template format writes them in capitals (IMAGE), but"
            " the config follows CleverTap's form; the type decides which header component"
            " CleverTap sends."
        ),
        bad="header: {type: IMAGE, url: https://cdn.example.com/banner.png}",
        good="header: {type: image, url: https://cdn.example.com/banner.png}",
    ),
    Rule(
        "KC403",
        "Template body too long",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            f"A WhatsApp template body holds at most {wa.BODY_LIMIT} characters, or"
            f" {wa.BODY_LIMIT_WITH_OFFER} when the template has a limited time offer. These"
            " are Meta's limits, counted in characters rather than bytes; Meta refuses a"
            " longer template, so CleverTap could never send it."
        ),
        bad=_LONG_BODY,
        good='body: "Hi {{1}}, your order has shipped and is on its way."',
    ),
    Rule(
        "KC404",
        f"Template footer over {wa.FOOTER_LIMIT} characters",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            f"A template footer holds at most {wa.FOOTER_LIMIT} characters, Meta's limit."
            " Keep opt-out and contact lines short and move longer text into the body."
        ),
        bad='footer: "Reply STOP to opt out. Call +91 98123 45678 for help, 9am-6pm."',
        good='footer: "Reply STOP to opt out"',
    ),
    Rule(
        "KC405",
        "Placeholders not numbered 1..n without gaps",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            "Placeholders in the body and in a text header are {{1}}, {{2}} ... {{n}}:"
            " numbers only, starting at 1, without gaps. Meta rejects templates whose"
            " variables skip a number, and CleverTap fills them by number from a campaign's"
            " values (kctl from --param), so a gap leaves a value with nowhere to go."
        ),
        bad='body: "Hi {{1}}, your order {{3}} has shipped."',
        good='body: "Hi {{1}}, your order {{2}} has shipped."',
    ),
    Rule(
        "KC406",
        "Buttons over the limits",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            f"A template has at most {wa.MAX_BUTTONS} buttons, and at most so many of each"
            f" type: {_BUTTON_LIMITS}. These are Meta's limits; a template over them is not"
            " approved, so CleverTap cannot send it."
        ),
        bad=_yaml(
            "buttons:",
            '  - {type: url, text: Track, url: "https://shop.example.com/track"}',
            '  - {type: url, text: Shop, url: "https://shop.example.com"}',
            '  - {type: url, text: Help, url: "https://shop.example.com/help"}',
        ),
        good=_yaml(
            "buttons:",
            '  - {type: url, text: Track, url: "https://shop.example.com/track"}',
            '  - {type: url, text: Shop, url: "https://shop.example.com"}',
            "  - {type: quick_reply, text: Help}",
        ),
    ),
    Rule(
        "KC407",
        "Limited time offer not allowed or title too long",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            "A limited time offer is allowed only on a marketing template (category:"
            f" marketing; the default is {wa.DEFAULT_CATEGORY}), and its title holds at most"
            f" {wa.OFFER_TITLE_LIMIT} characters. Both are Meta's rules; with an offer the"
            f" body limit also drops to {wa.BODY_LIMIT_WITH_OFFER} characters (KC403)."
        ),
        bad='limited_time_offer: {title: "Buy 1 Get 1"}',
        good=_yaml("category: marketing", 'limited_time_offer: {title: "Buy 1 Get 1"}'),
    ),
    Rule(
        "KC408",
        "Template name not lower-case letters, digits and underscores",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            "Template names hold only lower-case letters, digits and underscores, as Meta"
            " requires; the rule applies to SMS templates too. The name is the template"
            " namespace CleverTap sends, so it must match the approved template exactly."
        ),
        bad="name: OrderUpdate",
        good="name: order_update",
    ),
    Rule(
        "KC409",
        "Unknown WhatsApp language code",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            "language must be one of Meta's template language codes, such as en, en_US,"
            " pt_BR or hi, with an underscore before the region. CleverTap sends it as the"
            " template's languageCode and Meta looks the approved template up by name and"
            " language, so an unknown code never matches."
        ),
        bad="language: en-US",
        good="language: en_US",
    ),
    Rule(
        "KC410",
        "Dynamic URL button placeholder not {{1}} at the end",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            "A URL button is dynamic when its URL ends in {{1}}: each send appends a suffix"
            " there, which CleverTap sends as the dynamicUrl button's parameter. WhatsApp allows"
            " one placeholder per URL button and only at the very end, so a {{1}} in the middle,"
            " a {{2}} or a second placeholder is refused when the template is submitted."
        ),
        bad=_yaml(
            "buttons:",
            '  - {type: url, text: Track, url: "https://shop.example.com/{{1}}/track"}',
        ),
        good=_yaml(
            "buttons:",
            '  - {type: url, text: Track, url: "https://shop.example.com/track/{{1}}"}',
        ),
    ),
    Rule(
        "KC411",
        "Carousel card count, category or template shape",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            f"A carousel template is a {wa.CAROUSEL_CATEGORY} template made of a body and"
            f" {wa.CAROUSEL_MIN_CARDS} to {wa.CAROUSEL_MAX_CARDS} cards. The header, the buttons"
            " and a limited time offer belong on each card, not on the template itself."
        ),
        bad=_carousel(_SNEAKERS),
        good=_carousel(_SNEAKERS, _BOOTS),
    ),
    Rule(
        "KC412",
        "Carousel card shape",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            f"Each carousel card has an image or video header, a body of at most"
            f" {wa.CARD_BODY_LIMIT} characters and {wa.CARD_MIN_BUTTONS} or {wa.CARD_MAX_BUTTONS}"
            " buttons. Every card has the same header type and the same buttons in the same"
            " order; Meta refuses carousels whose cards differ."
        ),
        bad=_carousel(
            ("{type: text, text: Sneakers}", "Sneakers"), ("{type: text, text: Boots}", "Boots")
        ),
        good=_carousel(_SNEAKERS, _BOOTS),
    ),
    Rule(
        "KC413",
        "Text header with more than one placeholder",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            "A text header may carry one placeholder, {{1}}, filled at send time; CleverTap sends"
            " its value as the header's parameter. Meta refuses a header with more than one."
        ),
        bad='header: {type: text, text: "Order {{1}} for {{2}}"}',
        good='header: {type: text, text: "Order {{1}}"}',
    ),
    Rule(
        "KC414",
        "Examples do not match the placeholders",
        E,
        scope=Scope.WHATSAPP_TEMPLATE,
        explanation=(
            "examples gives one sample value per body placeholder, in order. kctl verify sends"
            " the template with them, as CleverTap's template-save check does, and Meta's review"
            " needs them; a count that differs from the placeholders fills the wrong ones."
        ),
        bad='examples: ["Asha", "1234"]',
        good='examples: ["Asha"]',
    ),
    Rule(
        "KC501",
        "incoming_url not an absolute https URL, or has a fragment",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "incoming_url, the base of the Incoming URL that Kaleyra support gives you, must"
            " be an absolute https URL without a fragment ('#...'). kctl appends CleverTap's"
            " callback parameters to it, and a fragment is never sent to a server, so"
            " parameters behind one would never reach Kaleyra."
        ),
        bad="incoming_url: http://wa-incoming.example.com/clevertap",
        good="incoming_url: https://wa-incoming.example.com/clevertap",
    ),
    Rule(
        "KC502",
        "incoming_url already carries a callback parameter",
        E,
        scope=Scope.WHATSAPP,
        explanation=(
            "incoming_url already has inbound_message_callback_url or payload_version in"
            " its query. kctl appends both itself when it renders the Incoming URL for"
            " Kaleyra (from the inbound-message-callback-url header and payload_version),"
            " so give the base URL alone and each parameter appears exactly once."
        ),
        bad="incoming_url: https://wa-incoming.example.com/clevertap?payload_version=0.1",
        good=_yaml(
            "incoming_url: https://wa-incoming.example.com/clevertap",
            'payload_version: "0.1"',
        ),
    ),
)

RULES: dict[str, Rule] = {rule.code: rule for rule in _RULES}


def rule(code: str) -> Rule:
    """The catalog entry of ``code``; KeyError for a code the catalog does not declare."""
    return RULES[code]
