"""The one exception hierarchy. Each class carries the exit code SPEC section 3 assigns it.

Only the CLI entry point catches these; it prints ``message`` (and ``hint``) on one line each
and exits with ``exit_code``. Third-party errors are wrapped where they enter (``raise ... from``).
"""

from __future__ import annotations


class KctlError(Exception):
    exit_code = 1

    def __init__(self, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ConfigInvalid(KctlError):
    """The config has error findings (or warnings under --strict)."""

    exit_code = 1

    def __init__(self, message: str, hint: str | None = None, *, report: object = None) -> None:
        super().__init__(message, hint)
        self.report = report  # the kctl.findings.Report, printed before the message


class UsageError(KctlError):
    """Bad option, unreadable file, unknown provider/template, refused recipient."""

    exit_code = 2


class DltRefused(UsageError):
    """An SMS to India that operators would drop: it does not match its registered DLT template,
    or its sender or entity is not the one registered with it."""


class SecretUnavailable(KctlError):
    """A secret reference could not be resolved (unset variable, missing entry, no backend)."""

    exit_code = 3


class NetworkFailure(KctlError):
    """DNS, connection, TLS or timeout: the request never got an answer."""

    exit_code = 4


class ProviderRejected(KctlError):
    """The provider answered 4xx or ``status: failure``."""

    exit_code = 5


class ProviderFailed(KctlError):
    """The provider answered 5xx, or 429 after all retries."""

    exit_code = 6


class DeliveryNotConfirmed(KctlError):
    """--wait-dlr: no delivery report in time, or the report says failed."""

    exit_code = 7


class Interrupted(BaseException):
    """SIGINT or SIGTERM arrived. Raised where the main thread was, like KeyboardInterrupt,
    so ``finally`` blocks and context managers clean up (servers stopped, reports written,
    temp files removed) before the entry point exits 130 or 143 (128 + the signal).

    A BaseException, as KeyboardInterrupt is: code that handles Exception must not swallow it.
    """

    def __init__(self, signum: int) -> None:
        import signal  # here, not at the top: every command imports this module

        terminated = signum == signal.SIGTERM
        self.signum = signum
        self.message = "terminated" if terminated else "interrupted"
        self.hint: str | None = None
        self.exit_code = 128 + signum
        super().__init__(self.message)


# SPEC section 3, in the words --help and the README use; the classes above carry the codes
EXIT_CODES: tuple[tuple[int, str], ...] = (
    (0, "success"),
    (1, "findings: config errors (warnings with --strict), template drift, malformed callbacks"),
    (2, "usage error: bad option, unreadable file, unknown provider or template, refused"),
    (3, "a secret could not be resolved (unset variable, missing entry, no keyring backend)"),
    (4, "network failure: DNS, connection, TLS, timeout (also CleverTap's 1-second deadline)"),
    (5, "the provider rejected the message (4xx, or status: failure)"),
    (6, "provider error: 5xx, or 429 after retries"),
    (7, "--wait-dlr: no delivery report in time, or the report says failed"),
    (130, "interrupted (143 on SIGTERM)"),
)
