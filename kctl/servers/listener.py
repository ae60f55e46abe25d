"""``kctl listen``: stand in for CleverTap's callback endpoints and check what arrives.

Every POST and GET, on any path, is classified and checked against CleverTap's formats (SPEC 4.4,
4.5) or Kaleyra's own callbacks, answered as CleverTap answers, then emitted with its answer: a
readable block, or one JSON object per line. The answer is 200 with CleverTap's success body when
the callback is acceptable, else 400 with its bad-request body naming the keys it could not use
in ``details.missing_fields`` (``kctl.contract.replies``). Every report is kept and printed
either way: a listener that hid odd reports would hide the very problems it is there to show.

Kinds: ``whatsapp-dlr`` (an object with ``statuses``), ``whatsapp-inbound`` (an object with
``from``/``type``/``wabaNumber``), ``sms-dlr`` (a JSON array of events, or a lone event object,
which is flagged), ``kaleyra-status`` (Kaleyra's own status callback to a direct send's
``callback_url``: a GET, a form POST or a JSON object with ``id`` and ``status``), ``unknown``.

Every variant CleverTap's WhatsApp page documents passes (``kctl.contract.whatsapp`` lists
them): ``payloadVersion`` or ``payloadversion``, a string or a number; ``msgId`` or ``msg_id``;
``Clicked`` in any case, with ``url`` and ``ts``; a failure code 1000..1010 as a number or a
string, its text as ``title`` or ``message``; an inbound file's object named ``file`` or
``document``; ``mimeType`` or ``mimetype`` (any text: the page's examples are extensions);
coordinates as numbers or strings. Judgement calls where the page is vague: a WhatsApp
``timestamp`` may be epoch seconds (integer or digit string) or ISO 8601 with a zone; 13 digits
is flagged as milliseconds.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import IO, Any
from urllib.parse import urlsplit

from kctl.contract import kaleyra, sms
from kctl.contract import whatsapp as wa
from kctl.contract.numbers import is_payload_version, is_wire_number
from kctl.contract.replies import CALLBACK_BAD_REQUEST, CALLBACK_OK, callback_error
from kctl.render.escape import escape_untrusted, escape_untrusted_json
from kctl.servers.http import App, HttpRequest, HttpResponse

WHATSAPP_DLR = "whatsapp-dlr"
WHATSAPP_INBOUND = "whatsapp-inbound"
SMS_DLR = "sms-dlr"
KALEYRA_STATUS = "kaleyra-status"
UNKNOWN = "unknown"
KIND_LABELS = {
    WHATSAPP_DLR: "WhatsApp delivery report",
    WHATSAPP_INBOUND: "WhatsApp inbound message",
    SMS_DLR: "SMS delivery report",
    KALEYRA_STATUS: "Kaleyra status callback",
    UNKNOWN: "unrecognised body",
}

WHATSAPP_STATUSES = wa.STATUSES
SMS_EVENTS = sms.EVENTS
# what --wait-dlr waits for: the report that settles a message, not "sent"
FINAL_STATUSES = wa.FINAL_STATUSES
WHATSAPP_FAILURE_CODES = frozenset(wa.FAILURE_CODES)
SMS_FAILURE_CODES = sms.FAILURE_CODE_RANGE
INBOUND_TYPES = wa.INBOUND_TYPES
MSG_ID_LIMIT = wa.MSG_ID_LIMIT

_EPOCH_DIGITS = re.compile(r"[0-9]{1,12}")
_MILLIS_FROM = 10**11  # an epoch-seconds value this large is the year 5138: milliseconds
_SHOWN_PAYLOAD = 2000  # characters of a payload a text block shows
# seconds the output thread waits, once woken, for more reports to print with the first
LINGER = 0.005


@dataclass(frozen=True, slots=True)
class Problem:
    path: str  # where in the body: "statuses[0].error.code", "[0].data[0].ts", "(body)"
    message: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """One message's status as a report tells it."""

    message_id: str  # msgId (WhatsApp) or meta (SMS)
    status: str  # sent, delivered, read, failed; SMS also clicked, replied
    code: str | None = None  # the failure code, as sent
    description: str | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """One request the listener received, with its verdict."""

    received_at: float  # epoch seconds
    method: str
    path: str  # with the query string
    kind: str
    payload: Any  # the parsed JSON, or the body as text when it is not JSON
    problems: tuple[Problem, ...]
    deliveries: tuple[Delivery, ...]

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def missing(self) -> list[str] | None:
        """The keys CleverTap's 400 would name, or None when CleverTap answers 200. A
        Kaleyra-native callback is refused only without id or status, as courier's Kaleyra
        handler does: an unknown status word is shown, not refused."""
        if self.kind == KALEYRA_STATUS:
            fields = self.payload if isinstance(self.payload, dict) else {}
            return kaleyra_missing(fields) or None
        return None if self.ok else self.missing_fields()

    @property
    def answer_status(self) -> int:
        """The HTTP status CleverTap answers this callback with."""
        return 200 if self.missing is None else CALLBACK_BAD_REQUEST

    @property
    def answer(self) -> dict[str, Any]:
        """The body CleverTap answers this callback with."""
        missing = self.missing
        return dict(CALLBACK_OK) if missing is None else callback_error(missing)

    def missing_fields(self) -> list[str]:
        """The keys the problems are about (CleverTap's 400 names them "missing_fields"),
        each once, in order; problems with the body or headers as a whole name none."""
        return list(dict.fromkeys(f for p in self.problems if (f := _field_of(p.path))))

    def delivery(self, message_id: str, statuses: Collection[str] | None = None) -> Delivery | None:
        """The first delivery for ``message_id`` (with a status in ``statuses``, if given)."""
        return next(
            (
                d
                for d in self.deliveries
                if d.message_id == message_id and (statuses is None or d.status in statuses)
            ),
            None,
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "received_at": _iso(self.received_at),
            "method": self.method,
            "path": self.path,
            "kind": self.kind,
            "ok": self.ok,
            "problems": [{"path": p.path, "message": p.message} for p in self.problems],
            "deliveries": [
                {k: v for k, v in _delivery_json(d).items() if v is not None}
                for d in self.deliveries
            ],
            "payload": self.payload,
            "answer": {"status": self.answer_status, "body": self.answer},
        }


def _delivery_json(d: Delivery) -> dict[str, str | None]:
    return {
        "message_id": d.message_id,
        "status": d.status,
        "code": d.code,
        "description": d.description,
    }


def _field_of(path: str) -> str | None:
    """The key a problem path ends in: "[0].data[0].meta" -> "meta"."""
    if path.startswith("("):
        return None
    last = path.rsplit(".", 1)[-1]
    name = last.split("[", 1)[0]
    return name or None


def _iso(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds")


# --- checks (pure) ------------------------------------------------------------------------------


class _Check:
    """Collects problems and deliveries while walking one body."""

    def __init__(self) -> None:
        self.problems: list[Problem] = []
        self.deliveries: list[Delivery] = []

    def add(self, path: str, message: str) -> None:
        self.problems.append(Problem(path or "(body)", message))

    def text(self, obj: dict[str, Any], key: str, path: str, *, limit: int | None = None) -> Any:
        """obj[key] must be a non-empty string (of at most ``limit`` characters)."""
        where = _join(path, key)
        value = obj.get(key)
        if key not in obj:
            self.add(where, "missing")
        elif not isinstance(value, str):
            self.add(where, f"must be a string, not {_type_name(value)}")
        elif not value.strip():
            self.add(where, "is empty")
        elif limit is not None and len(value) > limit:
            self.add(where, f"over {limit} characters ({len(value)})")
        return value

    def payload_version(self, obj: dict[str, Any]) -> None:
        key = next((k for k in wa.PAYLOAD_VERSION_KEYS if k in obj), None)
        if key is None:
            self.add(wa.PAYLOAD_VERSION_KEYS[0], "missing")
            return
        value = obj[key]
        if isinstance(value, int | float) and not isinstance(value, bool):
            value = repr(float(value))  # the number 0.1, as CleverTap's requests write it
        if not isinstance(value, str):
            self.add(key, f'must be "0.1", not {_type_name(value)}')
        elif not is_payload_version(value):
            self.add(key, f'must look like "0.1", not {value!r}')

    def number(self, obj: dict[str, Any], key: str, path: str) -> None:
        value = self.text(obj, key, path)
        if isinstance(value, str) and value.strip() and not _is_digits_number(value):
            self.add(_join(path, key), "must be digits with the country code, no '+' or spaces")

    def timestamp(self, obj: dict[str, Any], key: str, path: str) -> None:
        where = _join(path, key)
        if key not in obj:
            self.add(where, "missing")
            return
        value = obj[key]
        if isinstance(value, bool) or not isinstance(value, int | str):
            self.add(where, f"must be epoch seconds or ISO 8601, not {_type_name(value)}")
            return
        if isinstance(value, str) and not _EPOCH_DIGITS.fullmatch(value):
            if len(value) >= 13 and value.isdigit():
                self.add(where, "looks like epoch milliseconds; use epoch seconds")
            elif not _is_iso_datetime(value):
                self.add(where, f"must be epoch seconds or ISO 8601 with a zone, not {value!r}")
            return
        seconds = int(value)
        if seconds <= 0:
            self.add(where, "must be a positive epoch time in seconds")
        elif seconds >= _MILLIS_FROM:
            self.add(where, "looks like epoch milliseconds; use epoch seconds")


def _is_digits_number(value: str) -> bool:
    return is_wire_number(value) and not value.startswith("+")


def _is_iso_datetime(value: str) -> bool:
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        return False
    return parsed.tzinfo is not None


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"the number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _code_text(value: Any) -> str | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | str):
        return str(value)
    return None


def check_whatsapp_report(data: dict[str, Any]) -> tuple[list[Problem], list[Delivery]]:
    """Problems in a WhatsApp delivery report, and the deliveries it tells of."""
    check = _Check()
    check.payload_version(data)
    statuses = data.get("statuses")
    if not isinstance(statuses, list) or not statuses:
        check.add("statuses", "must be a non-empty list")
        return check.problems, check.deliveries
    for i, entry in enumerate(statuses):
        path = f"statuses[{i}]"
        if not isinstance(entry, dict):
            check.add(path, f"must be an object, not {_type_name(entry)}")
            continue
        id_key = next((k for k in wa.MSG_ID_KEYS if k in entry), wa.MSG_ID_KEYS[0])
        msg_id = check.text(entry, id_key, path, limit=MSG_ID_LIMIT)
        status = entry.get("status")
        clicked = isinstance(status, str) and status.lower() == wa.CLICKED.lower()
        if not clicked and status not in WHATSAPP_STATUSES:
            shown = "missing" if "status" not in entry else f"not {status!r}"
            named = ", ".join((*WHATSAPP_STATUSES, wa.CLICKED))
            check.add(f"{path}.status", f"must be one of {named}; {shown}")
        code: str | None = None
        text: str | None = None
        error = entry.get("error")
        if clicked:
            _check_click(check, entry, path)
        else:
            check.timestamp(entry, "timestamp", path)
        if status == wa.FAILED:
            code, text = _check_whatsapp_error(check, error, f"{path}.error")
        elif isinstance(error, dict):
            code, text = _code_text(error.get("code")), _error_text(error)
        if isinstance(msg_id, str) and msg_id and isinstance(status, str):
            check.deliveries.append(Delivery(msg_id, status, code, text))
    return check.problems, check.deliveries


def _check_click(check: _Check, entry: dict[str, Any], path: str) -> None:
    url = check.text(entry, "url", path)
    if isinstance(url, str) and url.strip() and not wa.is_web_url(url):
        check.add(_join(path, "url"), "must be the http(s) URL that was clicked")
    time_key = wa.CLICK_TIME_KEY if wa.CLICK_TIME_KEY in entry or "timestamp" not in entry else None
    check.timestamp(entry, time_key or "timestamp", path)
    for key in wa.CLICK_KEYS[1:]:
        if key in entry and not isinstance(entry[key], str):
            check.add(_join(path, key), f"must be a string, not {_type_name(entry[key])}")


def _error_text(error: dict[str, Any]) -> str | None:
    key = next((k for k in wa.ERROR_TEXT_KEYS if k in error), None)
    return _str_or_none(error.get(key)) if key is not None else None


def _check_whatsapp_error(check: _Check, error: Any, path: str) -> tuple[str | None, str | None]:
    if not isinstance(error, dict):
        check.add(path, "failed needs an error object with code 1000..1010 and title")
        return None, None
    code = error.get("code")
    number = int(code) if isinstance(code, str) and code.isascii() and code.isdigit() else code
    if "code" not in error:
        check.add(f"{path}.code", "missing (failed needs a code 1000..1010)")
    elif isinstance(number, bool) or not isinstance(number, int):
        shown = repr(code) if isinstance(code, str) else _type_name(code)
        check.add(f"{path}.code", f"must be 1000..1010, as a number or a string, not {shown}")
    elif number not in WHATSAPP_FAILURE_CODES:
        check.add(f"{path}.code", f"must be 1000..1010, not {code!r}")
    for key in wa.ERROR_TEXT_KEYS:
        if key in error and not isinstance(error[key], str):
            check.add(f"{path}.{key}", f"must be a string, not {_type_name(error[key])}")
    return _code_text(code), _error_text(error)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def check_whatsapp_inbound(data: dict[str, Any]) -> list[Problem]:
    """Problems in a WhatsApp inbound message callback."""
    check = _Check()
    check.payload_version(data)
    check.number(data, "from", "")
    check.number(data, "wabaNumber", "")
    check.timestamp(data, "timestamp", "")
    kind = data.get("type")
    if kind not in INBOUND_TYPES:
        shown = "missing" if "type" not in data else f"not {kind!r}"
        check.add("type", f"must be one of {', '.join(INBOUND_TYPES)}; {shown}")
    elif kind == "text":
        _check_part(check, data, "text", ("body",))
    elif kind == "location":
        _check_location(check, data.get("location"))
    else:
        _check_media(check, data, kind)
    context = data.get("context")
    if context is not None:
        if not isinstance(context, dict):
            check.add("context", f"must be an object, not {_type_name(context)}")
        else:
            check.text(context, "id", "context", limit=MSG_ID_LIMIT)
    return check.problems


def _check_part(check: _Check, data: dict[str, Any], key: str, fields: tuple[str, ...]) -> None:
    part = data.get(key)
    if not isinstance(part, dict):
        check.add(key, f"must be an object with {', '.join(fields)}")
        return
    for field in fields:
        check.text(part, field, key)


def _check_location(check: _Check, location: Any) -> None:
    if not isinstance(location, dict):
        check.add("location", "must be an object with latitude and longitude")
        return
    for name, bound in wa.LOCATION_COORDINATES:
        spellings = wa.INBOUND_LOCATION_KEYS[name]
        key = next((k for k in spellings if k in location), spellings[0])
        value = location.get(key)
        number = _coordinate(value)
        if number is None:
            check.add(
                f"location.{key}", f"must be a number (or one as a string), not {_type_name(value)}"
            )
        elif not -bound <= number <= bound:
            check.add(f"location.{key}", f"must be within -{bound:g}..{bound:g}")
    for key in ("name", "address", "url"):
        if key in location and not isinstance(location[key], str):
            check.add(f"location.{key}", f"must be a string, not {_type_name(location[key])}")


def _coordinate(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _check_media(check: _Check, data: dict[str, Any], kind: str) -> None:
    names = wa.INBOUND_OBJECT_KEYS.get(kind, (kind,))
    path = next((k for k in names if k in data), names[0])
    holder = data.get(path)
    if not isinstance(holder, dict):
        check.add(path, f"must be an object with {wa.MEDIA_URL_KEY}")
        return
    url = check.text(holder, wa.MEDIA_URL_KEY, path)
    if isinstance(url, str) and url.strip() and not wa.is_web_url(url):
        check.add(_join(path, wa.MEDIA_URL_KEY), "must be an http(s) URL")
    for key in (*wa.MIME_TYPE_KEYS, "caption"):
        if key in holder and not isinstance(holder[key], str):
            check.add(_join(path, key), f"must be a string, not {_type_name(holder[key])}")


def check_sms_report(data: list[Any]) -> tuple[list[Problem], list[Delivery]]:
    """Problems in an SMS delivery report (a JSON array of events), and its deliveries.

    Per SPEC 4.5: every event has ``event`` and ``data``, every item ``ts`` (integer epoch
    seconds) and ``meta``, and each event its own mandatory keys (``sms.EVENT_KEYS``). Other
    keys are ignored, as CleverTap ignores them.
    """
    check = _Check()
    if not data:
        check.add("(body)", "must be a non-empty array of events")
    for i, event in enumerate(data):
        path = f"[{i}]"
        if not isinstance(event, dict):
            check.add(path, f"must be an object, not {_type_name(event)}")
            continue
        name = event.get("event")
        if name not in SMS_EVENTS:
            shown = "missing" if "event" not in event else f"not {name!r}"
            check.add(f"{path}.event", f"must be one of {', '.join(SMS_EVENTS)}; {shown}")
        items = event.get("data")
        if not isinstance(items, list) or not items:
            check.add(f"{path}.data", "must be a non-empty list")
            continue
        for j, item in enumerate(items):
            _check_sms_item(check, item, f"{path}.data[{j}]", name)
    return check.problems, check.deliveries


def _check_sms_item(check: _Check, item: Any, path: str, event: Any) -> None:
    if not isinstance(item, dict):
        check.add(path, f"must be an object, not {_type_name(item)}")
        return
    ts = item.get("ts")
    if "ts" not in item:
        check.add(f"{path}.ts", "missing")
    elif isinstance(ts, bool) or not isinstance(ts, int):
        check.add(f"{path}.ts", f"must be an integer (epoch seconds), not {_type_name(ts)}")
    elif ts <= 0:
        check.add(f"{path}.ts", "must be a positive epoch time in seconds")
    elif ts >= _MILLIS_FROM:
        check.add(f"{path}.ts", "looks like epoch milliseconds; use epoch seconds")
    meta = check.text(item, "meta", path)
    wanted = sms.EVENT_KEYS.get(event, ()) if isinstance(event, str) else ()
    code = item.get("code")
    if "code" in wanted:
        if "code" not in item:
            check.add(f"{path}.code", 'missing (failed needs a code "900".."920")')
        elif not isinstance(code, str):
            check.add(f"{path}.code", f'must be a string such as "901", not {_type_name(code)}')
        elif not code.isascii() or not code.isdigit() or int(code) not in SMS_FAILURE_CODES:
            check.add(f"{path}.code", f'must be "900".."920", not {code!r}')
    description = item.get("description")
    if "description" in wanted:
        if "description" not in item:
            check.add(f"{path}.description", "missing")
        elif not isinstance(description, str):
            check.add(f"{path}.description", f"must be a string, not {_type_name(description)}")
    for key in ("url", "incomingText"):
        if key in wanted:
            check.text(item, key, path)
    if isinstance(meta, str) and meta and isinstance(event, str):
        check.deliveries.append(Delivery(meta, event, _code_text(code), _str_or_none(description)))


# a Kaleyra-native callback names its message by "id" ("message_id" in Kaleyra's v2 JSON)
_KALEYRA_ID_KEYS = (kaleyra.CALLBACK_ID, "message_id")


def _kaleyra_id(fields: dict[str, str]) -> str:
    return next((fields[k] for k in _KALEYRA_ID_KEYS if fields.get(k)), "")


def kaleyra_missing(fields: dict[str, str]) -> list[str]:
    """The mandatory keys of a Kaleyra-native callback that are missing or empty: the
    message's ``id`` and its ``status``."""
    return [
        key
        for key, value in (
            (kaleyra.CALLBACK_ID, _kaleyra_id(fields)),
            (kaleyra.CALLBACK_STATUS, fields.get(kaleyra.CALLBACK_STATUS) or ""),
        )
        if not value.strip()
    ]


def check_kaleyra_callback(fields: dict[str, str]) -> tuple[list[Problem], list[Delivery]]:
    """Problems in a callback in Kaleyra's own format (a direct send's ``callback_url``), and
    the delivery it tells of."""
    check = _Check()
    missing = kaleyra_missing(fields)
    for key in missing:
        check.add(key, "missing or empty")
    message_id = _kaleyra_id(fields)
    word = fields.get(kaleyra.CALLBACK_STATUS) or ""
    status = kaleyra.status_of(word)
    if kaleyra.CALLBACK_STATUS not in missing and status is None:
        known = ", ".join(kaleyra.STATUS_WORDS)
        check.add(kaleyra.CALLBACK_STATUS, f"{word!r} is none of Kaleyra's words ({known})")
    if not missing and status is not None:
        check.deliveries.append(Delivery(message_id, status, None, None))
    return check.problems, check.deliveries


def _field_text(value: Any) -> str:
    """A JSON value as a form field would carry it (null as nothing)."""
    if value is None:
        return ""
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def _is_kaleyra_status(payload: dict[str, Any]) -> bool:
    return kaleyra.CALLBACK_STATUS in payload and bool(payload.keys() & set(_KALEYRA_ID_KEYS))


def _kaleyra_report(
    when: float, method: str, path: str, fields: dict[str, str], problems: list[Problem]
) -> Report:
    found, deliveries = check_kaleyra_callback(fields)
    problems = [*problems, *found]
    return Report(when, method, path, KALEYRA_STATUS, fields, tuple(problems), tuple(deliveries))


def _form_report(
    when: float, method: str, path: str, body: bytes, *, media_type: str, content_type: str
) -> Report:
    """A GET (its query) or a form POST: only Kaleyra calls back that way."""
    from kctl.servers.forms import BodyError, decode_fields, query_fields

    try:
        if method == "GET":
            submitted = query_fields(urlsplit(path).query)
        else:
            submitted = decode_fields(media_type, content_type or media_type, body)
    except BodyError as e:
        return Report(when, method, path, KALEYRA_STATUS, "", (Problem("(body)", str(e)),), ())
    fields = dict(submitted.pairs)
    problems = []
    if len(fields) < len(submitted.pairs):
        problems.append(Problem("(body)", "a field is given more than once; the first counts"))
        fields = {}
        for name, value in submitted.pairs:
            fields.setdefault(name, value)
    return _kaleyra_report(when, method, path, fields, problems)


def build_report(
    method: str,
    path: str,
    media_type: str,
    body: bytes,
    received_at: float | None = None,
    *,
    content_type: str = "",
) -> Report:
    """Classify and check one received request (pure apart from the clock); ``path`` has the
    query string, ``content_type`` the whole header (a multipart boundary)."""
    when = time.time() if received_at is None else received_at
    if method == "GET" or media_type in (kaleyra.FORM_TYPE, kaleyra.MULTIPART_TYPE):
        return _form_report(
            when, method, path, body, media_type=media_type, content_type=content_type
        )
    problems: list[Problem] = []
    deliveries: list[Delivery] = []
    try:
        payload: Any = json.loads(body)
    except (ValueError, RecursionError):
        text = body.decode("utf-8", "replace")
        reason = "empty body" if not body.strip() else "body is not JSON"
        return Report(when, method, path, UNKNOWN, text, (Problem("(body)", reason),), ())
    if media_type != "application/json":
        shown = media_type or "missing"
        problems.append(Problem("(headers).content-type", f"must be application/json; {shown}"))
    kind = UNKNOWN
    if isinstance(payload, list):
        kind = SMS_DLR
        found, deliveries = check_sms_report(payload)
        problems += found
    elif isinstance(payload, dict) and "statuses" in payload:
        kind = WHATSAPP_DLR
        found, deliveries = check_whatsapp_report(payload)
        problems += found
    elif isinstance(payload, dict) and _is_kaleyra_status(payload):
        fields = {k: _field_text(v) for k, v in payload.items()}
        return _kaleyra_report(when, method, path, fields, problems)
    elif isinstance(payload, dict) and {"from", "type", "wabaNumber"} & payload.keys():
        kind = WHATSAPP_INBOUND
        problems += check_whatsapp_inbound(payload)
    elif isinstance(payload, dict) and "event" in payload and "data" in payload:
        kind = SMS_DLR
        found, deliveries = check_sms_report([payload])
        problems.append(Problem("(body)", "must be a JSON array of events, not one object"))
        problems += found
    else:
        problems.append(Problem("(body)", "not a CleverTap delivery report or inbound message"))
    return Report(when, method, path, kind, payload, tuple(problems), tuple(deliveries))


# --- output -------------------------------------------------------------------------------------


def format_report(report: Report, json_lines: bool = False) -> str:
    """One JSON line, or a readable block (no trailing newline either way), safe to print."""
    if json_lines:
        line = json.dumps(report.to_json(), ensure_ascii=False, separators=(",", ":"))
        return escape_untrusted_json(line)
    clock = datetime.fromtimestamp(report.received_at).strftime("%H:%M:%S")
    count = len(report.problems)
    verdict = "OK" if report.ok else f"{count} PROBLEM{'S' if count > 1 else ''}"
    lines = [f"{clock} {report.method} {report.path}  {KIND_LABELS[report.kind]}  {verdict}"]
    for d in report.deliveries:
        extra = "".join(
            f"  {part}" for part in (d.code and f"code {d.code}", d.description) if part
        )
        lines.append(f"  {d.message_id}  {d.status}{extra}")
    lines += [f"  ! {p.path}: {p.message}" for p in report.problems]
    if isinstance(report.payload, str):
        shown = report.payload
    else:
        shown = json.dumps(report.payload, ensure_ascii=False, separators=(",", ":"))
    if len(shown) > _SHOWN_PAYLOAD:
        shown = shown[:_SHOWN_PAYLOAD] + f"... ({len(shown)} characters)"
    lines.append(f"  {shown}" if shown else "  (empty body)")
    answer = json.dumps(report.answer, ensure_ascii=False, separators=(",", ":"))
    lines.append(f"  answered {report.answer_status} {answer}")
    # each line quotes what the network sent; only the breaks between them are kctl's own
    return "\n".join(escape_untrusted(line) for line in lines)


class StreamEmitter:
    """An ``emit`` that never blocks its caller, for a stream nobody may be reading.

    ``kctl listen`` prints from its event loop. A blocking write there to a pipe that nobody
    reads stops everything once the pipe is full: answering, timeouts, even SIGTERM. So each
    item goes into a bounded queue that a writer thread drains into the stream. While the reader
    stalls and the queue is full, new items are dropped and counted; the count is logged
    ("N reports not shown") once output flows again, and on close.

    Where the stream has a descriptor the thread writes to it directly: a thread stuck in a
    write inside the stream object would hold the stream's lock, and the interpreter could not
    flush it at exit.
    """

    def __init__(
        self,
        stream: IO[str],
        *,
        log: Callable[[str], None] | None = None,
        capacity: int = 1000,
        max_chars: int = 4 * 1024 * 1024,
        linger: float = LINGER,
    ) -> None:
        self._stream = stream
        self._log = log or (lambda _line: None)
        self._capacity = capacity
        self._max_chars = max_chars
        self._encoding = getattr(stream, "encoding", None) or "utf-8"
        try:
            stream.flush()  # what was written through the stream object goes out first
            self._fd: int | None = stream.fileno()
        except (OSError, ValueError, AttributeError):  # io.UnsupportedOperation is both
            self._fd = None
        self._state = threading.Condition()
        self._queue: deque[str] = deque()
        self._queued_chars = 0
        self._dropped = 0  # since last logged
        self._writing = 0  # items in the write under way
        self._idle = False  # the writer waits for an item
        self._linger = linger
        self._closed = False
        self._broken = False
        self._thread = threading.Thread(target=self._drain, name="kctl-output", daemon=True)
        self._thread.start()

    def __call__(self, text: str) -> None:
        with self._state:
            if self._closed or self._broken:
                return
            full = len(self._queue) >= self._capacity
            if self._queue and (full or self._queued_chars + len(text) > self._max_chars):
                self._dropped += 1
                return
            self._queue.append(text)
            self._queued_chars += len(text)
            if self._idle:  # only the first item of a batch wakes the writer
                self._idle = False
                self._state.notify_all()

    def close(self, timeout: float = 1.0) -> None:
        """Stop taking items; wait up to ``timeout`` s for the queue to drain; log what is lost.

        Bounded on purpose: with a stalled reader the queue never drains, and Ctrl-C or SIGTERM
        must still end the process promptly. The writer thread is a daemon and ends with it.
        """
        with self._state:
            self._closed = True
            self._state.notify_all()
            self._state.wait_for(lambda: not (self._queue or self._writing), timeout)
            lost = 0 if self._broken else self._dropped + len(self._queue) + self._writing
            self._dropped = 0
            self._queue.clear()
        if lost:
            self._log(f"{lost} reports not shown: the output was not being read")

    def _drain(self) -> None:
        while True:
            with self._state:
                self._idle = not self._queue
                self._state.wait_for(lambda: self._queue or self._closed)
                self._idle = False
                closed = self._closed
            if not closed:
                # Let the burst this item opened gather first. Every wake-up of this thread
                # takes the GIL from the server's loop at its next system call and makes it wait
                # to get it back: woken per report, at thousands a second, that hand-over cost
                # more than answering the reports did.
                time.sleep(self._linger)
            with self._state:
                if not self._queue:
                    return
                batch = list(self._queue)
                self._queue.clear()
                self._queued_chars = 0
                self._writing = len(batch)
            try:
                self._write("".join(f"{text}\n" for text in batch))
            except (OSError, ValueError) as e:  # a closed pipe or stream
                with self._state:
                    self._broken = True
                    self._writing = 0
                    self._queue.clear()
                    self._state.notify_all()
                self._log(f"cannot print reports any more: {e}")
                return
            with self._state:
                self._writing = 0
                dropped, self._dropped = self._dropped, 0
                self._state.notify_all()
            if dropped:
                self._log(f"{dropped} reports not shown: the output was not being read")

    def _write(self, text: str) -> None:
        if self._fd is None:
            self._stream.write(text)
            self._stream.flush()
            return
        data = memoryview(text.encode(self._encoding, "backslashreplace"))
        while data:
            data = data[os.write(self._fd, data) :]


def stream_emitter(stream: IO[str], log: Callable[[str], None] | None = None) -> StreamEmitter:
    """An ``emit`` that prints each item and a newline to ``stream`` without ever blocking."""
    return StreamEmitter(stream, log=log)


# --- the server app -----------------------------------------------------------------------------


class Listener(App):
    """Receives callbacks on any path. Serve it with ``HttpServer(Listener(...))``.

    ``emit`` gets each report, formatted, as it arrives (it should flush). With ``count``, the
    server is asked to stop after that many reports. ``reports``, ``wait_for`` and
    ``await_report`` may be used from any thread.
    """

    def __init__(
        self,
        emit: Callable[[str], None] | None = None,
        *,
        json_lines: bool = False,
        count: int | None = None,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self._emit = emit
        self.json_lines = json_lines
        self.count = count
        self._log = log or (lambda _line: None)
        self._state = threading.Condition()
        self._reports: list[Report] = []
        self._emit_broken = False

    @property
    def reports(self) -> list[Report]:
        with self._state:
            return list(self._reports)

    def wait_for(self, count: int, timeout: float) -> list[Report]:
        """Wait until ``count`` reports have arrived (or ``timeout`` s); return all so far."""
        with self._state:
            self._state.wait_for(lambda: len(self._reports) >= count, timeout)
            return list(self._reports)

    def await_report(
        self,
        message_id: str,
        timeout: float,
        statuses: Collection[str] | None = None,
    ) -> Report | None:
        """The first report (already received or arriving within ``timeout`` s) that tells of
        ``message_id`` (a msgId or meta), with a status in ``statuses`` when given; else None.

        For ``--wait-dlr`` pass ``statuses=FINAL_STATUSES`` so a WhatsApp ``sent`` does not
        count as the answer. Blocks the calling thread; never call it on the server's loop.
        """

        def find() -> Report | None:
            return next(
                (r for r in self._reports if r.delivery(message_id, statuses) is not None), None
            )

        found: list[Report] = []

        def ready() -> bool:
            report = find()
            if report is not None:
                found.append(report)
            return report is not None

        with self._state:
            self._state.wait_for(ready, timeout)
        return found[0] if found else None

    async def handle(self, request: HttpRequest) -> HttpResponse:
        if request.method not in ("POST", "GET"):
            return HttpResponse.json(
                405,
                {"status": "failure", "error": {"message": "kctl listen takes POST and GET"}},
                (("Allow", "POST, GET"),),
            )
        report = build_report(
            request.method,
            request.target,
            request.media_type,
            request.body,
            content_type=request.header("content-type") or "",
        )
        with self._state:
            self._reports.append(report)
            received = len(self._reports)
            self._state.notify_all()
        self._output(report)
        if self.count is not None and received >= self.count:
            self.request_stop()
        return HttpResponse.json(report.answer_status, report.answer)

    async def shutdown(self) -> None:
        if isinstance(self._emit, StreamEmitter):
            # off the loop: closing waits (briefly) for the output to catch up
            await asyncio.to_thread(self._emit.close)

    def _output(self, report: Report) -> None:
        if self._emit is None or self._emit_broken:
            return
        try:
            self._emit(format_report(report, self.json_lines))
        except (OSError, ValueError) as e:  # a closed pipe or stream: keep answering anyway
            self._emit_broken = True
            self._log(f"cannot print reports any more: {e}")
