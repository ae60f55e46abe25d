"""Secrets in one place: references (SPEC 1.1), resolution, keyring storage and masking.

``keyring`` is imported inside the functions that need it: it loads backend plugins at import
time, which would slow down every kctl command, most of which never touch a secret.
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from functools import lru_cache

from kctl.errors import SecretUnavailable, UsageError
from kctl.lean import Record

TYPE_CHECKING = False  # not typing's: kctl.lean says why
if TYPE_CHECKING:
    from typing import Literal, NoReturn

    from keyring.backend import KeyringBackend

SERVICE = "kctl"

_ENV_NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_KEYRING_NAME = r"[A-Za-z0-9_.\-/:@]+"
_ENV_REF = re.compile(r"\$\{(" + _ENV_NAME + r")\}")
_KEYRING_REF = re.compile(r"\$\{keyring:(" + _KEYRING_NAME + r")\}")
_KEYRING_NAME_RE = re.compile(_KEYRING_NAME)
_BARE_REF = re.compile(r"\$(?:" + _ENV_NAME + r"|keyring:" + _KEYRING_NAME + r")")

_REFERENCE_FORMS = (
    "write ${NAME} for an environment variable or ${keyring:NAME} for a keyring entry"
)
_KEYRING_NAME_HINT = "entry names use letters, digits and _ . - / : @, e.g. kaleyra/api-key"
# Headless Linux (CI, servers, containers) has no OS keyring: environment variables are the
# answer there, not a plain-text file backend that looks like a keyring.
ENV_INSTEAD = (
    "write the value as an ${ENV} reference instead, e.g. api-key: ${KALEYRA_API_KEY}, and"
    " export KALEYRA_API_KEY"
)
_NO_BACKEND_HINT = (
    f"{ENV_INSTEAD}; or, on a desktop, run a Secret Service (GNOME Keyring, KWallet) or use"
    " macOS Keychain or Windows Credential Manager"
)
# backends that keep secrets readable by anyone who can read the file (base64 is no cipher)
_PLAINTEXT_BACKENDS = frozenset(
    {"keyrings.alt.file.PlaintextKeyring", "keyrings.alt.pyfs.PlaintextKeyring"}
)
INDEX_ENTRY = "#names"  # '#' is no entry name a user can give: the index cannot be clobbered

MASK = "****"


class Reference(Record):
    """A parsed secret reference: ``${NAME}`` (env) or ``${keyring:NAME}`` (keyring)."""

    __slots__ = ("kind", "name")
    kind: Literal["env", "keyring"]
    name: str

    def __init__(self, kind: Literal["env", "keyring"], name: str) -> None:
        self.kind = kind
        self.name = name

    def __str__(self) -> str:
        return f"${{{self.name}}}" if self.kind == "env" else f"${{keyring:{self.name}}}"


@lru_cache(maxsize=4096)  # validate-config asks about every header of every file
def parse_reference(value: str) -> Reference | None:
    """The reference ``value`` is, or None for a literal (or a malformed reference)."""
    if m := _ENV_REF.fullmatch(value):
        return Reference("env", m.group(1))
    if m := _KEYRING_REF.fullmatch(value):
        return Reference("keyring", m.group(1))
    return None


@lru_cache(maxsize=4096)
def reference_problem(value: str) -> str | None:
    """Why ``value`` is a malformed attempt at a reference (rule KC206), or None.

    None means the value is either a valid reference or a plain literal. Messages never quote
    the value: a literal secret that happens to contain ``${`` must not end up in a report.
    """
    if parse_reference(value) is not None:
        return None
    if _BARE_REF.fullmatch(value):
        return f"secret reference without braces: {_REFERENCE_FORMS}"
    start = value.find("${")
    if start < 0:
        return None
    end = value.find("}", start)
    if end < 0:
        return f"unclosed secret reference: '${{' without '}}'; {_REFERENCE_FORMS}"
    inner = value[start + 2 : end]
    if start > 0 or end != len(value) - 1:
        # Either text around one reference ("Bearer ${TOKEN}") or several references.
        return (
            "a secret reference must be the whole value, with nothing before or after it; "
            f"{_REFERENCE_FORMS}"
        )
    if inner == "":
        return f"empty secret reference '${{}}'; {_REFERENCE_FORMS}"
    if inner.startswith("keyring:"):
        if inner == "keyring:":
            return "keyring reference without an entry name: write ${keyring:NAME}"
        return f"invalid keyring entry name in secret reference; {_KEYRING_NAME_HINT}"
    return (
        "invalid environment variable name in secret reference: names are letters, digits "
        "and _, not starting with a digit"
    )


# --- keyring access -------------------------------------------------------------------------


def _no_backend(detail: str | None = None) -> SecretUnavailable:
    message = "no usable keyring backend"
    if detail:
        message = f"{message} ({detail})"
    chosen = os.environ.get("PYTHON_KEYRING_BACKEND")
    if chosen:
        # naming another backend here would only loop: say which setting is in the way
        return SecretUnavailable(
            message,
            f"PYTHON_KEYRING_BACKEND={chosen} is set: unset it, or install the package that"
            f" provides that backend; or {ENV_INSTEAD}",
        )
    return SecretUnavailable(message, _NO_BACKEND_HINT)


# Nothing below shows a backend's own error text. Backends are plugins that read stores of
# secrets, and their errors quote what they read: keyrings.alt's file backend, given a file
# whose continuation lines lost their indent, raises configparser's ParsingError with those
# lines, which are the base64 of stored passwords. Messages say what failed and where instead.


def plaintext_store(backend: KeyringBackend) -> str | None:
    """Where ``backend`` keeps secrets in plain text (its file, or its name), or None when it
    is not known to. A chainer counts when any backend it writes through does."""
    chained = getattr(backend, "backends", None)
    for inner in chained if isinstance(chained, list) else [backend]:
        name = f"{type(inner).__module__}.{type(inner).__name__}"
        if name in _PLAINTEXT_BACKENDS or "plaintext" in type(inner).__name__.lower():
            path = _backend_file(inner)
            return path if path is not None else name
    return None


def keyring_backend() -> KeyringBackend:
    """The configured keyring backend, refusing the ones that cannot store anything."""
    try:
        import keyring
        from keyring.backends import fail, null

        backend = keyring.get_keyring()
    # A bad PYTHON_KEYRING_BACKEND or keyringrc.cfg surfaces as ImportError, AttributeError
    # or RuntimeError (backend not viable) from inside keyring's start-up.
    except Exception as e:
        chosen = os.environ.get("PYTHON_KEYRING_BACKEND")
        source = f"PYTHON_KEYRING_BACKEND={chosen}" if chosen else "the backend keyring chose"
        raise _no_backend(f"{source} could not be loaded: {type(e).__name__}") from e
    # The null backend "succeeds" at storing and then returns nothing: as useless as fail.
    if isinstance(backend, (fail.Keyring, null.Keyring)):
        raise _no_backend(f"{type(backend).__module__}.{type(backend).__name__} is in use")
    return backend


def backend_name(backend: KeyringBackend) -> str:
    """The backend's class, the ones it chains, and the file it keeps secrets in, if any."""
    kind = type(backend)
    name = f"{kind.__module__}.{kind.__name__}"
    chained = getattr(backend, "backends", None)
    if isinstance(chained, list) and chained:
        name += " of " + ", ".join(f"{type(b).__module__}.{type(b).__name__}" for b in chained)
    path = _backend_file(backend)
    if path is not None:
        name += f" (file {path})"
    return name


def _backend_file(backend: KeyringBackend) -> str | None:
    try:
        path = getattr(backend, "file_path", None)
    except Exception:  # a property of a plugin, computed in its own way
        return None
    return path if isinstance(path, str) else None


def _backend_failed(e: Exception, backend: KeyringBackend, action: str) -> NoReturn:
    from keyring.errors import NoKeyringError

    if isinstance(e, NoKeyringError):
        raise _no_backend() from e
    # Backends are plugins (D-Bus, macOS Keychain, files, ...) and fail in their own ways;
    # any failure means the secret is unavailable, which is exit 3, not a traceback.
    path = _backend_file(backend)
    where = f"the keyring file {path}" if path is not None else "the keyring"
    raise SecretUnavailable(
        f"no usable keyring backend: {backend_name(backend)} failed {action} ({type(e).__name__})",
        f"check {where}: its own error text is not shown, as it can quote stored secrets;"
        " or use an ${ENV} reference instead",
    ) from e


def _check_name(name: str) -> None:
    if _KEYRING_NAME_RE.fullmatch(name):
        return
    ref = parse_reference(name)
    if ref is not None and ref.kind == "keyring":
        hint = f"pass the entry name alone: {ref.name}"
    else:
        hint = _KEYRING_NAME_HINT
    raise UsageError(f"invalid keyring entry name {name!r}", hint)


def _get_password(name: str) -> str | None:
    backend = keyring_backend()
    try:
        return backend.get_password(SERVICE, name)
    except Exception as e:
        _backend_failed(e, backend, f"reading entry {name}")


def store_secret(name: str, value: str) -> None:
    """Write keyring entry ``name`` (service ``kctl``); backs ``kctl secrets set``."""
    _check_name(name)
    if not value:
        raise UsageError("refusing to store an empty secret", f"kctl secrets set {name}")
    backend = keyring_backend()
    try:
        backend.set_password(SERVICE, name, value)
    except Exception as e:
        _backend_failed(e, backend, f"storing entry {name}")
    _update_index(backend, add=name)


def secret_exists(name: str) -> bool:
    _check_name(name)
    return _get_password(name) is not None


def _read_index(backend: KeyringBackend) -> list[str]:
    try:
        raw = backend.get_password(SERVICE, INDEX_ENTRY)
    except Exception as e:
        _backend_failed(e, backend, "reading kctl's list of entries")
    import json  # the keyring's index only: validate-config imports this module too

    try:
        names = json.loads(raw) if raw else []
    except ValueError:
        return []  # a damaged index only loses the list, never an entry
    return [n for n in names if isinstance(n, str)] if isinstance(names, list) else []


def _update_index(
    backend: KeyringBackend, *, add: str | None = None, drop: str | None = None
) -> None:
    # keyring has no "list" call; kctl remembers the names it stored, next to them
    import json

    names = [n for n in _read_index(backend) if n != drop]
    if add is not None and add not in names:
        names.append(add)
    try:
        backend.set_password(SERVICE, INDEX_ENTRY, json.dumps(sorted(names)))
    except Exception as e:
        _backend_failed(e, backend, "updating kctl's list of entries")


def stored_names() -> list[str]:
    """Names of the entries kctl stored that are still there (another tool may have deleted
    one), sorted."""
    backend = keyring_backend()
    present = []
    for name in _read_index(backend):
        try:
            if backend.get_password(SERVICE, name) is not None:
                present.append(name)
        except Exception as e:
            _backend_failed(e, backend, f"reading entry {name}")
    return sorted(present)


def load_secret(name: str) -> str:
    """Read keyring entry ``name``; a missing entry is SecretUnavailable (exit 3)."""
    _check_name(name)
    value = _get_password(name)
    if value is None:
        raise SecretUnavailable(f"no keyring entry {name}", f"kctl secrets set {name}")
    return value


def delete_secret(name: str) -> None:
    """Remove keyring entry ``name``; a missing entry is a UsageError (exit 2)."""
    _check_name(name)
    # Asked first because backends signal "not found" and real failures with the same
    # PasswordDeleteError.
    if _get_password(name) is None:
        raise UsageError(
            f"no keyring entry {name}",
            f"check the name; kctl stores entries under service {SERVICE}",
        )
    backend = keyring_backend()
    try:
        backend.delete_password(SERVICE, name)
    except Exception as e:
        _backend_failed(e, backend, f"deleting entry {name}")
    _update_index(backend, drop=name)


def resolve_secret(value: str) -> str:
    """The secret ``value`` stands for: a literal as is, or what its reference points to.

    Raises SecretUnavailable (exit 3) for an unset or empty variable, a missing keyring entry,
    no usable keyring backend, or a malformed reference (which validation reports as KC206;
    sending "${FOO" as an API key would only fail later and more confusingly).
    """
    ref = parse_reference(value)
    if ref is None:
        problem = reference_problem(value)
        if problem is not None:
            raise SecretUnavailable(problem, "fix the reference; kctl validate-config shows where")
        return value
    if ref.kind == "env":
        resolved = os.environ.get(ref.name)
        if resolved is None:
            raise SecretUnavailable(
                f"environment variable {ref.name} is not set", f"export {ref.name}=…"
            )
        if not resolved:
            raise SecretUnavailable(
                f"environment variable {ref.name} is empty", f"export {ref.name}=…"
            )
        return resolved
    stored = _get_password(ref.name)
    if stored is None:
        raise SecretUnavailable(f"no keyring entry {ref.name}", f"kctl secrets set {ref.name}")
    if not stored:
        raise SecretUnavailable(
            f"keyring entry {ref.name} is empty", f"kctl secrets set {ref.name}"
        )
    return stored


# --- masking --------------------------------------------------------------------------------


def mask(secret: str) -> str:
    """``****`` plus the last 4 characters, or just ``****`` for 8 characters or fewer.

    The cut-off is deliberate: SPEC's "last 4" on a 6-character PIN or password would print
    two thirds of it, so short secrets show nothing at all.
    """
    if len(secret) <= 8:
        return MASK
    return MASK + secret[-4:]


def _encoded_forms(secret: str) -> set[str]:
    """The ways ``secret`` is spelt in kctl's outputs: raw, URL/form-encoded, JSON, shell."""
    import json
    from urllib.parse import quote, quote_plus

    forms = {
        secret,
        json.dumps(secret)[1:-1],
        json.dumps(secret, ensure_ascii=False)[1:-1],
        # curl export single-quotes whole arguments, so a ' inside reads '"'"'
        secret.replace("'", "'\"'\"'"),
    }
    # Lone surrogates (undecodable bytes from the environment) have no UTF-8 spelling.
    with contextlib.suppress(UnicodeEncodeError):
        forms |= {quote(secret, safe=""), quote(secret), quote_plus(secret, safe="")}
    return {f for f in forms if f}


class Masker:
    """Replaces every known secret, in every spelling kctl outputs, with its mask.

    All output paths (text, JSON, curl export, error messages) go through one Masker, so
    adding a new output cannot forget a secret. ``basic_auth`` pairs also hide the base64
    ``user:pass`` of an ``Authorization: Basic`` header. An empty Masker (``--show-secrets``)
    returns text unchanged.
    """

    def __init__(
        self, secrets: Iterable[str] = (), *, basic_auth: Iterable[tuple[str, str]] = ()
    ) -> None:
        replacements: dict[str, str] = {}
        for secret in secrets:
            if secret:
                for form in _encoded_forms(secret):
                    replacements.setdefault(form, mask(secret))
        for username, password in basic_auth:
            import base64  # here: few requests carry basic auth

            for encoding in ("utf-8", "latin-1"):  # httpx uses UTF-8; curl passes bytes
                try:
                    raw = f"{username}:{password}".encode(encoding)
                except UnicodeEncodeError:
                    continue
                replacements.setdefault(base64.b64encode(raw).decode("ascii"), mask(password))
            if password:
                for form in _encoded_forms(password):
                    replacements.setdefault(form, mask(password))
        self._replacements = replacements

    def __bool__(self) -> bool:
        return bool(self._replacements)

    def mask_text(self, text: str) -> str:
        """``text`` with every occurrence of every secret replaced by its mask.

        Overlapping occurrences (one secret ending where another begins, or a secret inside
        another) are merged into one masked span, so no fragment of either survives.
        """
        if not self._replacements or not text:
            return text
        masked = self._substitute(text, show_tails=True)
        # A shown tail next to ordinary text could, in contrived cases, spell out another
        # secret; then hide every tail rather than reason about which one did it.
        if any(form in masked for form in self._replacements):
            masked = self._substitute(text, show_tails=False)
        return masked

    def _substitute(self, text: str, *, show_tails: bool) -> str:
        # (start, end, replacement) of every occurrence, overlapping ones included.
        spans: list[tuple[int, int, str]] = []
        for form, tailed in self._replacements.items():
            replacement = tailed if show_tails else MASK
            start = text.find(form)
            while start >= 0:
                spans.append((start, start + len(form), replacement))
                start = text.find(form, start + 1)
        if not spans:
            return text
        # Longest first among spans starting at the same place, so the outer secret's mask wins.
        spans.sort(key=lambda s: (s[0], -s[1]))
        out: list[str] = []
        pos = 0
        cur_start, cur_end, cur_mask = spans[0]
        for start, end, replacement in spans[1:]:
            if start < cur_end:
                if end > cur_end:
                    # The merged span now ends with this secret, so its mask is the one shown.
                    cur_end, cur_mask = end, replacement
                continue
            out += [text[pos:cur_start], cur_mask]
            pos = cur_end
            cur_start, cur_end, cur_mask = start, end, replacement
        out += [text[pos:cur_start], cur_mask, text[cur_end:]]
        return "".join(out)
