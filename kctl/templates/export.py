"""Templates as Meta-format pages: CleverTap's import response (SPEC 4.9), served by
``kctl templates serve`` and written by ``kctl templates export``, and the sandbox's v2 list.

A cursor names the template a page starts or ends with (its name and language, base64url), not
an offset, so a client paging through a list that changed in between neither skips nor repeats
the templates it already has.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, urlencode

from kctl.contract import meta

Key = tuple[str, str]


class PagingError(ValueError):
    """A request's limit or cursor that cannot be served (answered with 400)."""


def cursor_of(key: Key) -> str:
    raw = json.dumps(list(key), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


def key_of(cursor: str) -> Key:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        value = json.loads(raw)
    except (binascii.Error, ValueError) as e:
        raise PagingError(f"invalid cursor {cursor[:40]!r}") from e
    if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
        raise PagingError(f"invalid cursor {cursor[:40]!r}")
    return (value[0], value[1])


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int = meta.DEFAULT_PAGE_SIZE
    after: str | None = None
    before: str | None = None


def page_request(query: str, *, default_limit: int = meta.DEFAULT_PAGE_SIZE) -> PageRequest:
    """``limit``, ``after`` and ``before`` from a query string; other parameters are ignored."""
    values = parse_qs(query, keep_blank_values=True)
    limit = default_limit
    if "limit" in values:
        text = values["limit"][-1].strip()
        if not text.isascii() or not text.isdigit() or int(text) < 1:
            raise PagingError(f"limit must be a whole number from 1, not {text[:20]!r}")
        # larger pages are served MAX_PAGE_SIZE at a time, with a next link, as the Graph API does
        limit = min(int(text), meta.MAX_PAGE_SIZE)
    after = values.get("after", [None])[-1] or None
    before = values.get("before", [None])[-1] or None
    if after and before:
        raise PagingError("give after or before, not both")
    return PageRequest(limit, after, before)


@dataclass(frozen=True, slots=True)
class Page:
    start: int  # index of the first template of the page
    items: list[dict[str, Any]]
    keys: list[Key]
    total: int

    @property
    def has_next(self) -> bool:
        return self.start + len(self.items) < self.total

    @property
    def has_previous(self) -> bool:
        return self.start > 0


def page_of(entries: Sequence[tuple[Key, dict[str, Any]]], request: PageRequest) -> Page:
    keys = [k for k, _ in entries]
    if request.after is not None:
        start = _index(keys, request.after) + 1
    elif request.before is not None:
        start = max(0, _index(keys, request.before) - request.limit)
    else:
        start = 0
    end = start + request.limit
    if request.before is not None:
        end = min(end, _index(keys, request.before))
    chosen = entries[start:end]
    return Page(start, [d for _, d in chosen], [k for k, _ in chosen], len(entries))


def _index(keys: list[Key], cursor: str) -> int:
    key = key_of(cursor)
    try:
        return keys.index(key)
    except ValueError:
        raise PagingError("the cursor names a template that is no longer listed") from None


def page_document(page: Page, base_url: str, request: PageRequest) -> dict[str, Any]:
    """``{"data", "paging"}``; ``next`` (and ``previous``) only where there is such a page."""
    paging: dict[str, Any] = {}
    if page.keys:
        first, last = cursor_of(page.keys[0]), cursor_of(page.keys[-1])
        paging["cursors"] = {"before": first, "after": last}
        if page.has_next:
            paging["next"] = _link(base_url, request.limit, "after", last)
        if page.has_previous:
            paging["previous"] = _link(base_url, request.limit, "before", first)
    else:
        paging["cursors"] = {"before": "", "after": ""}
    return {"data": page.items, "paging": paging}


def _link(base_url: str, limit: int, name: str, cursor: str) -> str:
    return f"{base_url}?{urlencode({'limit': limit, name: cursor})}"


def whole_document(entries: Sequence[tuple[Key, dict[str, Any]]]) -> dict[str, Any]:
    """Every template on one page: what ``kctl templates export --format clevertap`` writes."""
    request = PageRequest(limit=max(len(entries), 1))
    return page_document(page_of(entries, request), "", request)


def entries_for(
    templates: Sequence[Any], *, samples: bool = False
) -> list[tuple[Key, dict[str, Any]]]:
    """The config's templates in Meta's format, keyed for paging; ``status`` APPROVED, as the
    config lists the templates meant to be live (``kctl templates diff`` checks they are)."""
    from kctl.templates.meta import template_key, to_meta

    return [(template_key(t), to_meta(t, samples=samples)) for t in templates]
