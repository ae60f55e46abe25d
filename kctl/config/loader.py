"""YAML to a tree of positioned nodes, without constructing or executing anything.

We compose our own tree from libyaml's event stream instead of calling ``yaml.compose``:
iterating keeps deep nesting from touching the Python stack, and composing ourselves lets us
catch duplicate keys (which every stock loader silently overwrites), refuse tags, count
aliases, and stop on absurd input with a finding instead of a hang or a traceback.

libyaml's own composer (``CParser.get_single_node``) is no way round the event stream: it
builds PyYAML nodes that would still have to become ours (together slower than composing
from events), it recurses in C however deep the input nests, it refuses an anchor that is
defined twice, and an alias comes back as its anchor's node with no trace of where the alias
is written, which the alias limits report.

For the usual config (one document of mappings, lists and untagged scalars) a C module,
``kctl.config._compose``, drives libyaml itself and builds the same tree about four times
faster than this composer, without importing PyYAML at all; any other document it hands back,
and this composer reads it and reports what is unusual. Installs without a C compiler or
libyaml's headers have no such module and compose everything here.
"""

from __future__ import annotations

from kctl.config import plain
from kctl.config.findings import Finding, Severity

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Any

    from yaml import MarkedYAMLError

MAX_DEPTH = 64  # a config is about 6 levels deep; anything near this is not a config
MAX_NODES = 200_000
MAX_ALIASES = 1_000
# What the checkers, the model and the renderers walk is the document with every alias
# replaced by its anchor's subtree. A few aliases nested three deep can turn a 1 KB file into
# millions of nodes, so the expanded document is held to the same node bound as a written
# one, and its text to a bit more than the largest file validate-config reads.
MAX_EXPANDED_NODES = MAX_NODES
MAX_EXPANDED_CHARS = 16 * 1024 * 1024

MAP, SEQ, SCALAR = "mapping", "sequence", "scalar"

_ALLOWED_TAGS = {
    plain.STR,
    plain.INT,
    plain.FLOAT,
    plain.BOOL,
    plain.NULL,
    plain.TAG_PREFIX + "map",
    plain.TAG_PREFIX + "seq",
    "!",
}

# Plain scalars repeat across a config and across files (every key is one): resolve each
# spelling once. Values are immutable (str, int, float, bool, None), so sharing is safe.
_PLAIN_CACHE: dict[str, Any] = {}
# bounded low: unique values (nicknames, URLs) would otherwise grow it with the number of files
_PLAIN_CACHE_LIMIT = 8_192
_MISSING = object()


class Node:
    """One node of a loaded document, where it is written and what it holds.

    A plain class with slots and a hand-written ``__init__`` rather than a dataclass: the
    composer makes one per YAML node (about 300 for a config), and importing ``dataclasses``
    alone would cost the one-file run more than composing does.
    """

    __slots__ = ("col", "kind", "line", "raw", "shared", "value")

    def __init__(self, kind: str, line: int, col: int, value: Any, raw: str = "") -> None:
        self.kind = kind  # MAP, SEQ or SCALAR
        self.line = line  # 1-based
        self.col = col  # 1-based
        # SCALAR: the resolved value (str, int, float, bool or None)
        # SEQ: list[Node]; MAP: dict[str, Entry] in document order
        self.value = value
        self.raw = raw  # SCALAR: the text as written (for hints such as "quote it")
        # Reachable along more than one path (an alias, or an entry a merge key copied):
        # walkers check such a node once, so its findings appear once, at the first path
        # (the anchor's).
        self.shared = False

    def __repr__(self) -> str:
        shown = self.raw if self.kind == SCALAR else f"{len(self.value)} items"
        return f"Node({self.kind} at {self.line}:{self.col}, {shown!r})"

    @property
    def is_map(self) -> bool:
        return self.kind == MAP

    @property
    def is_seq(self) -> bool:
        return self.kind == SEQ

    @property
    def is_scalar(self) -> bool:
        return self.kind == SCALAR

    def get(self, key: str) -> Node | None:
        """The value node under ``key`` when this is a mapping that has it."""
        if self.kind != MAP:
            return None
        entry = self.value.get(key)
        return entry.value if entry is not None else None

    def entries(self) -> list[Entry]:
        return list(self.value.values()) if self.kind == MAP else []

    def items(self) -> list[Node]:
        return self.value if self.kind == SEQ else []

    def text(self) -> str | None:
        """The value when it is a string scalar, else None."""
        value = self.value
        return value if type(value) is str else None  # a collection holds a dict or a list


# a double-quoted escape's length in the source, by the letter after the backslash
_ESCAPE_WIDTH = {"x": 4, "u": 6, "U": 10}


def scalar_position(text: str, node: Node, index: int) -> tuple[int, int]:
    """Line and column in ``text`` of character ``index`` of the string ``node`` holds.

    A finding can then point at the one character that is wrong inside a long value. Exact for
    what a config holds in practice (plain and quoted scalars on their first line, literal
    blocks); anything else (folded lines) falls back to where the scalar starts.
    """
    lines = text.split("\n")
    value = node.value if isinstance(node.value, str) else ""
    if node.kind != SCALAR or not 0 < node.line <= len(lines) or not 0 <= index <= len(value):
        return node.line, node.col
    source = lines[node.line - 1]
    start = node.col - 1
    opener = source[start : start + 1]
    if opener in ("'", '"'):
        return _quoted_position(source, node, index, opener)
    if opener == "|":
        return _literal_position(lines, node, value, index)
    if opener != ">" and source[start : start + index + 1] == value[: index + 1]:
        return node.line, node.col + index
    return node.line, node.col


def _quoted_position(source: str, node: Node, index: int, quote: str) -> tuple[int, int]:
    i = node.col  # just after the opening quote (0-based)
    count = 0
    while i < len(source):
        char = source[i]
        width = 1
        if char == quote:
            if quote == "'" and source[i + 1 : i + 2] == "'":
                width = 2
            elif count == index:
                return node.line, i + 1  # the closing quote: just past the last character
            else:
                break
        elif quote == '"' and char == "\\":
            width = _ESCAPE_WIDTH.get(source[i + 1 : i + 2], 2)
        if count == index:
            return node.line, i + 1
        count += 1
        i += width
    return node.line, node.col


def _literal_position(lines: list[str], node: Node, value: str, index: int) -> tuple[int, int]:
    offset = index
    pieces = value.split("\n")
    if index == len(value) and len(pieces) > 1 and not pieces[-1]:
        pieces.pop()  # the end of a block that ends in a line break: the end of its last line
        offset = len(value) - 1
    for k, piece in enumerate(pieces):
        if offset <= len(piece):
            line = node.line + 1 + k
            source = lines[line - 1] if line <= len(lines) else ""
            indent = len(source) - len(source.lstrip(" "))
            if source[indent : indent + len(piece)] != piece:
                break
            return line, indent + offset + 1
        offset -= len(piece) + 1
    return node.line, node.col


class Entry:
    """A mapping's entry: its key as written, where the key is, and the value's node.

    The key's own node is made only when something asks for it (a finding about the key):
    a config has as many keys as values, and most keys are never reported on.
    """

    __slots__ = ("_key_node", "col", "key", "key_value", "line", "value")

    def __init__(
        self,
        key: str,
        line: int,
        col: int,
        key_value: Any,
        value: Node | None = None,
        *,
        key_node: Node | None = None,
    ) -> None:
        self.key = key
        self.line = line  # the key's, 1-based
        self.col = col
        self.key_value = key_value  # the key resolved as a scalar ("1" is 1)
        # None only while the composer waits for the value
        self.value: Node = value  # type: ignore[assignment]
        self._key_node = key_node

    @property
    def key_node(self) -> Node:
        """The key as a node (the same one each time)."""
        node = self._key_node
        if node is None:
            node = self._key_node = Node(SCALAR, self.line, self.col, self.key_value, self.key)
        return node


class Document:
    """One loaded file: its root (None when it could not be read) and the loader's findings."""

    __slots__ = ("file", "findings", "root", "text")

    def __init__(
        self, file: str, text: str, root: Node | None, findings: list[Finding] | None = None
    ) -> None:
        self.file = file
        self.text = text
        self.root = root
        self.findings: list[Finding] = [] if findings is None else findings


class _Stop(Exception):
    """Raised inside the composer to end loading with a finding already recorded."""


def _position(text: str, index: int) -> tuple[int, int]:
    line = text.count("\n", 0, index) + 1
    col = index - (text.rfind("\n", 0, index) + 1) + 1
    return line, col


def decode(data: bytes) -> tuple[str, tuple[int, int] | None]:
    """Text of a file, or where its first byte that is not UTF-8 sits (line, col)."""
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as e:
        head = data[: e.start].decode("utf-8-sig", errors="replace")
        return "", _position(head, len(head))


def load_bytes(file: str, data: bytes) -> Document:
    text, bad_at = decode(data)
    if bad_at is not None:
        doc = Document(file, data.decode("utf-8", errors="replace"), None)
        doc.findings.append(
            _syntax(file, *bad_at, "the file is not UTF-8 text", "save it as UTF-8")
        )
        return doc
    return _load(file, text, data)


def load_text(file: str, text: str) -> Document:
    try:
        data = text.encode("utf-8")
    except UnicodeEncodeError as e:  # a lone surrogate (JSON's "\ud800" decodes to one)
        doc = Document(file, text, None)
        line, col = _position(text, e.start)
        message = f"the text holds U+{ord(text[e.start]):04X}, half of a surrogate pair"
        doc.findings.append(_syntax(file, line, col, message, "it is no character: remove it"))
        return doc
    return _load(file, text, data)


def _load(file: str, text: str, data: bytes) -> Document:
    """``text``, and ``data`` its UTF-8 bytes (a byte order mark or not: libyaml drops one, as
    decoding ``text`` did)."""
    native = _native()
    if native is not None:
        try:
            return Document(file, text, native.compose(data))
        except native.Fallback:
            pass  # something only the Python composer reads or reports
    return load_in_python(file, text)


def load_in_python(file: str, text: str) -> Document:
    """``text`` composed from PyYAML's events: every document, and every finding about it."""
    import yaml

    doc = Document(file, text, None)
    try:
        doc.root = _Composer(file, doc.findings).compose(text)
    except _Stop:
        doc.root = None
    except yaml.MarkedYAMLError as e:
        doc.findings.append(_syntax_finding(file, text, e))
        doc.root = None
    except yaml.reader.ReaderError as e:
        # libyaml counts bytes of the UTF-8 text, not characters
        index = len(text.encode("utf-8")[: e.position].decode("utf-8", "ignore"))
        line, col = _position(text, index)
        doc.findings.append(_syntax(file, line, col, f"YAML syntax error: {e.reason}"))
        doc.root = None
    except yaml.YAMLError as e:  # any other parser complaint, without a position
        doc.findings.append(_syntax(file, 1, 1, f"YAML syntax error: {e}"))
        doc.root = None
    return doc


_native_module: list[Any] = []  # [the configured C module, or None], once looked for


def _native() -> Any:
    """kctl.config._compose, configured to build this module's nodes; None when not built."""
    if not _native_module:
        try:
            from kctl.config import _compose  # type: ignore[attr-defined]
        except ImportError:
            _compose = None
        else:
            _compose.configure(*native_configuration())
        _native_module.append(_compose)
    return _native_module[0]


def native_configuration() -> tuple[Any, ...]:
    """What kctl.config._compose builds with: this module's classes, kinds, plain-scalar
    resolution and limits (``configure``'s arguments, in order)."""
    return (
        Node,
        Entry,
        MAP,
        SEQ,
        SCALAR,
        _resolve_for_native,
        _PLAIN_CACHE,
        plain.MERGE,
        _GIVE_UP,
        MAX_DEPTH,
        MAX_NODES,
    )


_GIVE_UP = object()  # what _resolve_for_native returns for a scalar only Python reports on


def _resolve_for_native(raw: str) -> Any:
    try:
        value = plain.resolve(raw)
    except ValueError:
        return _GIVE_UP
    _cache_plain(raw, value)
    return value


def _cache_plain(raw: str, value: Any) -> None:
    if len(_PLAIN_CACHE) >= _PLAIN_CACHE_LIMIT:
        _PLAIN_CACHE.clear()
    _PLAIN_CACHE[raw] = value


def _syntax_finding(file: str, text: str, e: MarkedYAMLError) -> Finding:
    problem = e.problem or "invalid YAML"
    context = e.context or ""
    mark = e.problem_mark or e.context_mark
    # an unclosed quote is found at the end of the file; where it opened is what helps
    if e.context_mark is not None and "quoted scalar" in context:
        mark = e.context_mark
    line, col = (mark.line + 1, mark.column + 1) if mark else (1, 1)
    message = f"YAML syntax error: {problem}" + (f" ({context})" if context else "")
    source = text.splitlines()[line - 1] if 0 < line <= len(text.splitlines()) else ""
    hint = None
    if "\t" in source[: max(col, 1)] or "'\\t'" in problem:
        hint = "YAML indents with spaces, not tabs"
    elif "${" in source and ("{" in source.split("${", 1)[0] or "flow" in context):
        hint = 'inside {...} quote values holding ${...}: password: "${keyring:NAME}"'
    elif "quoted scalar" in context:
        hint = "close the quote that opens here"
    return _syntax(file, line, col, message, hint)


def _syntax(file: str, line: int, col: int, message: str, hint: str | None = None) -> Finding:
    return Finding("KC001", Severity.ERROR, file, line, col, "", message, hint)


class _Composer:
    def __init__(self, file: str, findings: list[Finding]) -> None:
        self.file = file
        self.findings = findings
        self.anchors: dict[str, Node] = {}
        self.aliases = 0
        # expanded (nodes, characters, levels of nesting) of each finished anchored
        # collection; one not in here yet is still open, and an alias to it is a cycle.
        # Keyed by the node itself (nodes hash by identity), not by id(): that keeps it alive,
        # and a node the tree does not hold (a merge value, a refused key) could otherwise
        # be freed and its id reused by a new node.
        self.weights: dict[Node, tuple[int, int, int]] = {}
        # what the aliases add on top of the document as written
        self.extra_nodes = 0
        self.extra_chars = 0
        self.text_chars = 0
        self.bad_merges: set[Node] = set()  # merge values reported (by identity, as above)

    def stop(self, event: Any, message: str, hint: str | None = None) -> _Stop:
        mark = event.start_mark
        self.findings.append(_syntax(self.file, mark.line + 1, mark.column + 1, message, hint))
        return _Stop()

    def compose(self, text: str) -> Node | None:
        self.text_chars = len(text)  # bounds the characters of the scalars as written
        import yaml

        parser: Any
        try:  # libyaml's parser is several times faster than the pure-Python one
            from yaml._yaml import CParser as parser
        except ImportError:  # pragma: no cover - depends on how PyYAML was built
            parser = yaml.SafeLoader
        get_event: Any = parser(text).get_event
        scalar_event, alias_event = yaml.ScalarEvent, yaml.AliasEvent
        map_start, seq_start = yaml.MappingStartEvent, yaml.SequenceStartEvent
        map_end, seq_end = yaml.MappingEndEvent, yaml.SequenceEndEvent
        document_start = yaml.DocumentStartEvent
        allowed, cache, missing, merge_key = _ALLOWED_TAGS, _PLAIN_CACHE, _MISSING, plain.MERGE
        anchors, node_class, entry_class = self.anchors, Node, Entry
        roots: list[Node] = []
        documents = 0
        # Running totals: nodes as written (collections, scalars, aliases) and characters of
        # the scalars as written. A collection's expanded weight is their difference between
        # its end and its start, plus what the aliases inside it added (self.extra_*).
        count = chars = 0
        # The loop below runs once per event (about 300,000 for 1,000 configs). The state of
        # the innermost open collection lives in locals, and opening a collection pushes them
        # as one tuple (an object per collection cost more); the common cases, a scalar that
        # is a list item, a key or a value, are written out inline rather than as calls.
        # The document itself is the outermost "collection": a list whose one item is the root.
        node_open: Node | None = None  # the innermost open collection
        container: Any = roots  # its dict or list
        is_seq = True  # it is a list (or the document)
        # it is a mapping whose key waits for its value: the entry of a plain key, or the
        # node of any other (an anchored or aliased scalar, a collection, the merge key)
        key: Entry | Node | None = None
        merges: list[Node] | None = None  # values of its merge keys ('<<'), applied at its end
        anchored = False
        start_nodes = start_chars = 0  # the running totals (with aliases) when it opened
        levels = 1  # levels of nesting below and with it, aliases expanded
        stack: list[tuple[Any, ...]] = []  # the same state of each collection around it
        while (event := get_event()) is not None:
            etype = type(event)  # ordered by how often each kind occurs
            if etype is scalar_event:
                raw: str = event.value
                tag = event.tag
                if tag is None:
                    if event.implicit[0]:  # plain: resolved once per spelling
                        value = cache.get(raw, missing)
                        if value is missing:
                            value = self.resolve_plain(event, raw)
                    else:  # quoted or a block: text
                        value = raw
                elif tag in ("!", plain.STR):
                    value = raw
                else:  # an explicit standard tag such as !!int "12", or one we refuse
                    if tag not in allowed:
                        self.check_tag(event)
                    value = self.construct(event, tag, raw)
                count += 1
                chars += len(raw)
                if count > MAX_NODES:
                    raise self.stop(event, f"the document has more than {MAX_NODES} nodes")
                mark = event.start_mark
                anchor = event.anchor
                if not is_seq and key is None and anchor is None and value is not merge_key:
                    # a mapping's plain key (nearly every key is one): its entry, which waits
                    # for the value; the key's node is made only if a finding needs it
                    key = entry_class(raw, mark.line + 1, mark.column + 1, value)
                    continue
                node = node_class(SCALAR, mark.line + 1, mark.column + 1, value, raw)
                if anchor is not None:
                    anchors[anchor] = node
                if is_seq:
                    container.append(node)
                elif key is None:  # a key with an anchor, or the merge key
                    key = node
                elif type(key) is entry_class and key.key not in container:
                    key.value = node
                    container[key.key] = key
                    key = None
                else:
                    merges = self.attach(container, key, node, merges)
                    key = None
                continue
            if etype is map_end or etype is seq_end:
                if merges is not None:
                    self.merge(container, merges)
                if anchored and node_open is not None:  # (the document is never anchored)
                    self.weights[node_open] = (
                        count + self.extra_nodes - start_nodes,
                        chars + self.extra_chars - start_chars,
                        levels,
                    )
                inner = levels
                (
                    node_open,
                    container,
                    is_seq,
                    key,
                    merges,
                    anchored,
                    start_nodes,
                    start_chars,
                    levels,
                ) = stack.pop()
                if inner >= levels:
                    levels = inner + 1
                continue
            if etype is map_start or etype is seq_start:
                tag = event.tag
                if tag is not None and tag not in allowed:
                    self.check_tag(event)
                mark = event.start_mark
                items: Any = {} if etype is map_start else []
                node = node_class(
                    MAP if etype is map_start else SEQ, mark.line + 1, mark.column + 1, items
                )
                anchor = event.anchor
                if anchor is not None:
                    anchors[anchor] = node
                if len(stack) >= MAX_DEPTH:
                    raise self.stop(event, f"the document nests deeper than {MAX_DEPTH} levels")
                opened_at = count + self.extra_nodes
                count += 1
                if count > MAX_NODES:
                    raise self.stop(event, f"the document has more than {MAX_NODES} nodes")
                # attached when opened, so keys and values pair up in document order
                if is_seq:
                    container.append(node)
                elif key is None:
                    key = node
                else:
                    merges = self.attach(container, key, node, merges)
                    key = None
                stack.append(
                    (
                        node_open,
                        container,
                        is_seq,
                        key,
                        merges,
                        anchored,
                        start_nodes,
                        start_chars,
                        levels,
                    )
                )
                node_open, container, is_seq = node, items, etype is seq_start
                key = merges = None
                anchored, levels = anchor is not None, 1
                start_nodes, start_chars = opened_at, chars + self.extra_chars
                continue
            if etype is alias_event:
                node, reach = self.alias(event, len(stack), count)
                if reach >= levels:
                    levels = reach + 1
                count += 1
                if count > MAX_NODES:
                    raise self.stop(event, f"the document has more than {MAX_NODES} nodes")
                if is_seq:
                    container.append(node)
                elif key is None:
                    key = node
                else:
                    merges = self.attach(container, key, node, merges)
                    key = None
            elif etype is document_start:
                documents += 1
                if documents > 1:
                    raise self.stop(
                        event,
                        "the file holds more than one YAML document",
                        "kctl reads one document per file; remove the extra '---'",
                    )
            # anything else: stream start and end, document end
        return roots[0] if roots else None

    def attach(
        self,
        mapping: dict[str, Entry],
        key: Entry | Node,
        node: Node,
        merges: list[Node] | None,
    ) -> list[Node] | None:
        """Hang ``node`` on ``mapping`` as the value of ``key``; returns the mapping's merge
        values (``merges``), with ``node`` added when ``key`` is the merge key."""
        if isinstance(key, Entry):  # a plain key
            name = key.key
            if name not in mapping:
                key.value = node
                mapping[name] = key
                return merges
            self.duplicate(name, key.line, key.col, mapping[name])
            return merges
        if key.kind != SCALAR:
            self.findings.append(
                Finding(
                    "KC005",
                    Severity.ERROR,
                    self.file,
                    key.line,
                    key.col,
                    "",
                    f"a {key.kind} cannot be a key; keys are plain names",
                )
            )
            return merges
        if key.value is plain.MERGE:
            return [*(merges or ()), node]
        name = key.raw
        if name not in mapping:
            mapping[name] = Entry(name, key.line, key.col, key.value, node, key_node=key)
        else:
            self.duplicate(name, key.line, key.col, mapping[name])
        return merges

    def duplicate(self, name: str, line: int, col: int, seen: Entry) -> None:
        self.findings.append(
            Finding(
                "KC002",
                Severity.ERROR,
                self.file,
                line,
                col,
                name,
                f"duplicate key '{name}' (first at line {seen.line})",
                "YAML keeps only one of them; remove or rename the other",
            )
        )

    def alias(self, event: Any, depth: int, written: int) -> tuple[Node, int]:
        """The anchored node, and the levels of nesting it adds; ``written`` is the count of
        nodes as written so far, ``depth`` how many collections are open."""
        self.aliases += 1
        if self.aliases > MAX_ALIASES:
            raise self.stop(event, f"the document uses more than {MAX_ALIASES} aliases")
        node = self.anchors.get(event.anchor)
        if node is None:  # libyaml rejects these itself; kept for the pure-Python parser
            raise self.stop(event, f"alias *{event.anchor} has no anchor before it")
        if node.kind == SCALAR:
            nodes, chars, levels = 1, len(node.raw), 0
        else:
            weight = self.weights.get(node)
            if weight is None:
                raise self.stop(
                    event,
                    f"alias *{event.anchor} refers to a node that contains it",
                    "a config cannot hold itself; point the alias at an anchor outside it",
                )
            nodes, chars, levels = weight
        node.shared = True
        self.extra_nodes += nodes - 1
        self.extra_chars += chars
        if written + self.extra_nodes > MAX_EXPANDED_NODES:
            raise self.stop(
                event,
                f"with its aliases expanded the document has more than {MAX_EXPANDED_NODES} nodes",
                _EXPANSION_HINT,
            )
        if self.text_chars + self.extra_chars > MAX_EXPANDED_CHARS:
            raise self.stop(
                event,
                "with its aliases expanded the document holds more than"
                f" {MAX_EXPANDED_CHARS // (1024 * 1024)} MiB of text",
                _EXPANSION_HINT,
            )
        if depth + levels > MAX_DEPTH:
            raise self.stop(
                event,
                f"with its aliases expanded the document nests deeper than {MAX_DEPTH} levels",
                _EXPANSION_HINT,
            )
        return node, levels

    def check_tag(self, event: Any) -> None:
        tag = event.tag
        if tag is not None and tag not in _ALLOWED_TAGS:
            raise self.stop(
                event,
                f"YAML tag {_short_tag(tag)} is not allowed in a config",
                "remove the tag; kctl reads plain strings, numbers, lists and mappings",
            )

    def resolve_plain(self, event: Any, raw: str) -> Any:
        try:
            value = plain.resolve(raw)
        except ValueError as e:
            raise self.stop(event, *_not_valid(raw, plain.implicit_tag(raw))) from e
        _cache_plain(raw, value)
        return value

    def construct(self, event: Any, tag: str, raw: str) -> Any:
        try:
            return plain.construct(tag, raw)
        except ValueError as e:
            raise self.stop(event, *_not_valid(raw, tag)) from e

    def merge(self, own: dict[str, Entry], merges: list[Node]) -> None:
        """``<<: *defaults`` copies the keys a mapping does not set itself (YAML merge key)."""
        sources: list[Node] = []
        for merge in merges:
            sources.extend(merge.value if merge.kind == SEQ else [merge])
        for source in sources:
            if source.kind != MAP:
                if source in self.bad_merges:
                    continue  # one alias merged into many mappings is one mistake
                self.bad_merges.add(source)
                self.findings.append(
                    Finding(
                        "KC005",
                        Severity.ERROR,
                        self.file,
                        source.line,
                        source.col,
                        "",
                        "a merge key '<<' needs a mapping (or a list of mappings) to merge",
                    )
                )
                continue
            for name, entry in source.value.items():
                if name not in own:
                    own[name] = entry
                    entry.value.shared = True


_EXPANSION_HINT = (
    "an alias repeats its anchor's whole subtree, and aliases inside that subtree repeat"
    " with it; share fewer or smaller blocks"
)


def _not_valid(raw: str, tag: str) -> tuple[str, str]:
    shown = raw if len(raw) <= 40 else raw[:40] + "…"
    return (
        f"'{shown}' is not a valid {_short_tag(tag)} ({len(raw)} characters)",
        "quote it if it is text",
    )


def _short_tag(tag: str) -> str:
    prefix = plain.TAG_PREFIX
    return "!!" + tag[len(prefix) :] if tag.startswith(prefix) else tag
