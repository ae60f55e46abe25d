"""send-test's WhatsApp options, checked and turned into the values a payload is built from."""

from __future__ import annotations

import re
import time

from kctl.contract import whatsapp as wa
from kctl.errors import UsageError
from kctl.send.whatsapp import CardValues, Freeform, Location, TemplateValues

_DURATION = r"\+([0-9]+)([smhd])"  # compiled on first use (re caches it): few sends set it
_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_expiry(text: str, now: float | None = None) -> int:
    """An offer expiry as epoch milliseconds, from epoch ms, ISO 8601 with a zone, or +DURATION
    (+30m, +2h, +7d)."""
    text = text.strip()
    if text.isascii() and text.isdigit():
        return int(text)
    duration = re.fullmatch(_DURATION, text)
    if duration is not None:
        start = time.time() if now is None else now
        return int((start + int(duration.group(1)) * _SECONDS[duration.group(2)]) * 1000)
    from datetime import UTC, datetime  # here: few sends set an expiry

    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise UsageError(
            f"--offer-expiry '{text}' is not a time",
            "give epoch milliseconds, ISO 8601 with a zone (2026-12-31T23:59:00+05:30),"
            " or a duration from now (+2h, +7d)",
        )
    return int(moment.astimezone(UTC).timestamp() * 1000)


def _numbered(flag: str, items: list[str]) -> dict[int, list[str]]:
    """``N=VALUE`` options, grouped by card number N (1-based), values in the order given."""
    out: dict[int, list[str]] = {}
    for item in items:
        number, sep, value = item.partition("=")
        if not sep or not number.strip().isdigit() or int(number) < 1:
            raise UsageError(
                f"{flag} '{item}' is not CARD=VALUE", f"e.g. {flag} 1=Asha (cards count from 1)"
            )
        out.setdefault(int(number), []).append(value)
    return out


def _location(text: str, name: str | None, address: str | None) -> Location:
    latitude, sep, longitude = text.partition(",")
    try:
        lat, lon = float(latitude), float(longitude)
    except ValueError:
        lat = lon = float("nan")
    if not sep or not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise UsageError(f"--location '{text}' is not LAT,LONG", "e.g. --location 12.9716,77.5946")
    return Location(latitude.strip(), longitude.strip(), name, address)


def template_values(
    *,
    header_param: str | None = None,
    media_url: str | None = None,
    location: str | None = None,
    location_name: str | None = None,
    location_address: str | None = None,
    url_suffixes: list[str] | None = None,
    coupon_code: str | None = None,
    offer_expiry: str | None = None,
    card_params: list[str] | None = None,
    card_url_suffixes: list[str] | None = None,
    card_media_urls: list[str] | None = None,
    props: list[str] | None = None,
) -> TemplateValues:
    params = _numbered("--card-param", card_params or [])
    suffixes = _numbered("--card-url-suffix", card_url_suffixes or [])
    media = _numbered("--card-media-url", card_media_urls or [])
    for number, urls in media.items():
        if len(urls) > 1:
            raise UsageError(f"--card-media-url {number}=... given {len(urls)} times")
    last = max([*params, *suffixes, *media], default=0)
    cards = tuple(
        CardValues(
            tuple(params.get(n, [])),
            tuple(suffixes.get(n, [])),
            media.get(n, [None])[0],
        )
        for n in range(1, last + 1)
    )
    pairs: list[tuple[str, str]] = []
    for prop in props or []:
        key, sep, value = prop.partition("=")
        if not sep or not key:
            raise UsageError(f"--prop '{prop}' is not KEY=VALUE", "e.g. --prop campaign=diwali")
        pairs.append((key, value))
    if location is None and (location_name or location_address):
        raise UsageError("--location-name and --location-address go with --location LAT,LONG")
    return TemplateValues(
        header_param=header_param,
        media_url=media_url,
        location=_location(location, location_name, location_address) if location else None,
        url_suffixes=tuple(url_suffixes or ()),
        coupon_code=coupon_code,
        offer_expiry_ms=parse_expiry(offer_expiry) if offer_expiry is not None else None,
        cards=cards,
        props=tuple(pairs),
    )


def freeform(
    *,
    text: str | None = None,
    image: str | None = None,
    video: str | None = None,
    audio: str | None = None,
    document: str | None = None,
    caption: str | None = None,
    filename: str | None = None,
) -> Freeform | None:
    """The session message the options ask for, or None when they ask for none."""
    given = [
        (kind, value)
        for kind, value in (
            ("text", text),
            ("image", image),
            ("video", video),
            ("audio", audio),
            ("file", document),
        )
        if value is not None
    ]
    if len(given) > 1:
        raise UsageError("give one of --text, --image, --video, --audio, --document")
    if not given:
        if caption is not None or filename is not None:
            raise UsageError("--caption and --filename go with --image, --video or --document")
        return None
    kind, value = given[0]
    assert kind in wa.FREEFORM_TYPES
    if kind == "text":
        if not value.strip():
            raise UsageError("--text is empty")
        if caption is not None or filename is not None:
            raise UsageError("--caption and --filename go with a media message, not --text")
        return Freeform("text", text=value)
    if caption is not None and kind == "audio":
        raise UsageError("WhatsApp audio messages have no caption")
    if filename is not None and kind != "file":
        raise UsageError("--filename goes with --document")
    return Freeform(kind, media_url=value, caption=caption, filename=filename)
