"""The errors IDSync raises, each tied to the exit code the CLI reports for it.

Errors are classified by *whose move it is*: the operator's (configuration, unknown id, a rule
refused), the remote API's (unreachable, throttled, failing), or ours (a bug). Messages say what
to do next and never contain a secret.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Documented exit codes of the ``idsync`` command (see the README)."""

    OK = 0
    INTERNAL = 1
    USAGE = 2
    CONFIGURATION = 3
    NOT_FOUND = 4
    REFUSED = 5
    API = 6
    PARTIAL = 7
    BUSY = 8
    CANCELLED = 130  # Ctrl-C, as shells report SIGINT (128 + 2)


class IdsyncError(Exception):
    """Base of every error IDSync reports to the operator."""

    exit_code: ExitCode = ExitCode.INTERNAL

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if not self.hint else f"{self.message}\n  hint: {self.hint}"


class ConfigurationError(IdsyncError):
    """Settings are missing or wrong, or the API refused the credentials."""

    exit_code = ExitCode.CONFIGURATION


class PluginError(ConfigurationError):
    """A connector cannot be loaded or two connectors claim one name."""


class NotFoundError(IdsyncError):
    """An id the operator gave does not exist (in the PSA, at the provider or in the store)."""

    exit_code = ExitCode.NOT_FOUND


class MissingRecordError(NotFoundError):
    """The API has no record under the id a request named (an HTTP 404, or an empty answer for
    an id). Raised where the request is made, which does not know what the id stood for; the
    facade that asked (``idsync_core.plugins``) says "company 250 does not exist at
    ConnectWise" instead of the request's path."""


class RefusedError(IdsyncError):
    """A linking rule or a safety check refused the operation; nothing was changed."""

    exit_code = ExitCode.REFUSED


class DryRunWriteRefused(RefusedError):
    """A write reached a connection during a dry run and was refused: a bug to report, never a
    problem of one link (the run stops)."""


class ConfirmationRequired(RefusedError):
    """The operation needs an explicit confirmation (``--yes`` or an interactive answer)."""


class LockBusyError(IdsyncError):
    """Another IDSync run holds the lock for this tenant."""

    exit_code = ExitCode.BUSY


class ApiError(IdsyncError):
    """A remote API failed in a way retries did not cure."""

    exit_code = ExitCode.API

    def __init__(
        self, message: str, *, status: int | None = None, hint: str | None = None
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status


class UnreachableError(ApiError):
    """The API could not be reached at all (connection refused, DNS, timeouts) after retries.

    This is a failure of the whole connection, not of one request: a sync stops at the first
    one instead of trying every link against a dead host.
    """


class RateLimitedError(ApiError):
    """The API kept answering "too many requests" past the wait we are willing to do.

    Like :class:`UnreachableError`, it stops a sync: every further request would be throttled.
    """


class RejectedError(ApiError):
    """The API understood the request and refused it (a validation error, a 400)."""


class OutcomeUnknownError(ApiError):
    """A write was sent and no answer came back: it may or may not have been applied.

    Never retried blindly; the engine re-reads the PSA to decide.
    """


class PartialFailure(IdsyncError):
    """Some postings of a run failed; the others went through."""

    exit_code = ExitCode.PARTIAL
