"""Fields from a request body, whichever way a client sent them: urlencoded, multipart, JSON.

Kaleyra's pages send the messages API's fields with ``-d`` (urlencoded) and ``--form``
(multipart), some with ``Content-Type: application/json`` printed beside them; courier posts
urlencoded text and multipart media uploads; Kaleyra's v2 pages post JSON. The sandbox's Kaleyra
route and listen's Kaleyra-native callbacks read all of them through ``decode_fields``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Any
from urllib.parse import parse_qsl

from kctl.contract import kaleyra


class BodyError(ValueError):
    """The body does not hold fields in the format its Content-Type names."""


@dataclass(frozen=True, slots=True)
class Upload:
    """A file part of a multipart body."""

    name: str  # the form field's name ("media")
    filename: str
    content_type: str
    size: int


@dataclass(frozen=True, slots=True)
class Fields:
    pairs: list[tuple[str, str]]  # in order, as sent
    uploads: list[Upload]
    encoding: str  # "form", "multipart", "json" or "query"


def decode_fields(media_type: str, content_type: str, body: bytes) -> Fields:
    """The fields of ``body``; BodyError when it is not what ``media_type`` says, or a type
    that carries no fields."""
    match media_type:
        case kaleyra.FORM_TYPE:
            return Fields(_urlencoded(body), [], "form")
        case kaleyra.MULTIPART_TYPE:
            pairs, uploads = _multipart(content_type, body)
            return Fields(pairs, uploads, "multipart")
        case kaleyra.JSON_TYPE:
            return Fields(_json_fields(body), [], "json")
        case _:
            raise BodyError(
                f"Content-Type {media_type or '(none)'} carries no fields: use one of "
                + ", ".join(kaleyra.BODY_TYPES)
            )


def query_fields(query: str) -> Fields:
    try:
        return Fields(parse_qsl(query, keep_blank_values=True, errors="strict"), [], "query")
    except UnicodeDecodeError as e:
        raise BodyError("the query string is not UTF-8") from e


def _urlencoded(body: bytes) -> list[tuple[str, str]]:
    try:
        return parse_qsl(body.decode("utf-8"), keep_blank_values=True, errors="strict")
    except UnicodeDecodeError as e:
        raise BodyError("the form is not UTF-8") from e


def _multipart(content_type: str, body: bytes) -> tuple[list[tuple[str, str]], list[Upload]]:
    head = f"Content-Type: {content_type}\r\nMIME-Version: 1.0\r\n\r\n".encode("latin-1", "replace")
    message = BytesParser(policy=policy.HTTP).parsebytes(head + body)
    if not isinstance(message, EmailMessage) or not message.is_multipart():
        raise BodyError("multipart body without a boundary, or not multipart at all")
    if message.defects:
        raise BodyError(f"malformed multipart body: {type(message.defects[0]).__name__}")
    pairs: list[tuple[str, str]] = []
    uploads: list[Upload] = []
    for part in message.iter_parts():
        name = part.get_param("name", header="content-disposition")
        if not isinstance(name, str) or not name:
            raise BodyError("a multipart part has no form field name")
        data = part.get_payload(decode=True)
        raw = data if isinstance(data, bytes) else b""
        filename = part.get_filename()
        if filename is not None:
            uploads.append(Upload(name, filename, part.get_content_type(), len(raw)))
            continue
        try:
            pairs.append((name, raw.decode(part.get_content_charset() or "utf-8")))
        except (LookupError, UnicodeDecodeError) as e:
            raise BodyError(f"field {name} is not text in its charset") from e
    return pairs, uploads


def _json_fields(body: bytes) -> list[tuple[str, str]]:
    try:
        data = json.loads(body)
    except (ValueError, RecursionError) as e:
        raise BodyError("the body is not JSON") from e
    if not isinstance(data, dict):
        raise BodyError("the JSON body is not an object")
    return [(str(key), _as_text(value)) for key, value in data.items()]


def _as_text(value: Any) -> str:
    """A JSON value as the text a form would have carried."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if value is None:
        return ""
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        # a list of recipients or of template values: the comma-separated form of the field
        return kaleyra.join_params(tuple(str(v) for v in value))
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))
