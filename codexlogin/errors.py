"""Every user-facing outcome is one named type mapped to one exit code, here and nowhere else.

Stdlib only: the basics every layer may import.

A failure carries two texts: `detail` is for the terminal (and may hold the issuer's raw reply,
which an operator needs), `str(failure)` is the scrubbed summary that may reach codex-login.log.
"""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    SUCCESS = 0
    NOT_LOGGED_IN = 1
    USAGE = 2
    DENIED = 3
    TOKEN_EXCHANGE_FAILED = 4
    TIMED_OUT = 5
    PORT_UNAVAILABLE = 6
    STORAGE_FAILED = 7
    CREDENTIALS_UNUSABLE = 8
    POLICY_VIOLATION = 9
    NETWORK_ERROR = 10
    INTERNAL_ERROR = 70  # EX_SOFTWARE: a bug of ours, reported as one line rather than a traceback
    CANCELLED = 130
    OUTPUT_CLOSED = 141  # 128 + SIGPIPE: our reader went away; the command ends quietly
    TERMINATED = 143


class LoginFailure(Exception):
    """Base of every expected failure: one exit code, one outcome name, two texts."""

    exit_code: ExitCode = ExitCode.USAGE
    outcome: str = "failed"
    reference: str | None = None  # the logged run's reference (diagnostics.run), once it left the run

    def __init__(
        self,
        summary: str,
        *,
        detail: str | None = None,
        error_code: str | None = None,
        fields: dict[str, object] | None = None,
    ):
        super().__init__(summary)
        self.summary = summary
        self.detail = detail if detail is not None else summary
        self.error_code = error_code
        self.fields = fields or {}  # scrubbed facts for the log (e.g. an issuer error's status and kind)

    def log_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {**self.fields, "outcome": self.outcome, "exit_code": int(self.exit_code)}
        if self.error_code:
            fields["error_code"] = self.error_code
        return fields


class UsageError(LoginFailure):
    exit_code = ExitCode.USAGE
    outcome = "usage_error"


class NotLoggedIn(LoginFailure):
    exit_code = ExitCode.NOT_LOGGED_IN
    outcome = "not_logged_in"


class RemovedFlag(LoginFailure):
    """A flag Codex CLI 0.171 no longer takes (`--api-key X`): its words and its exit code 1."""

    exit_code = ExitCode.NOT_LOGGED_IN
    outcome = "usage_error"


class Denied(LoginFailure):
    exit_code = ExitCode.DENIED
    outcome = "denied"


class TokenExchangeFailed(LoginFailure):
    exit_code = ExitCode.TOKEN_EXCHANGE_FAILED
    outcome = "token_exchange_failed"


class TimedOut(LoginFailure):
    exit_code = ExitCode.TIMED_OUT
    outcome = "timed_out"


class PortUnavailable(LoginFailure):
    exit_code = ExitCode.PORT_UNAVAILABLE
    outcome = "port_unavailable"


class StorageFailed(LoginFailure):
    exit_code = ExitCode.STORAGE_FAILED
    outcome = "storage_failed"


class CredentialsUnusable(LoginFailure):
    exit_code = ExitCode.CREDENTIALS_UNUSABLE
    outcome = "credentials_unusable"


class PolicyViolation(LoginFailure):
    exit_code = ExitCode.POLICY_VIOLATION
    outcome = "policy_violation"


class NetworkError(LoginFailure):
    exit_code = ExitCode.NETWORK_ERROR
    outcome = "network_error"


class InternalError(LoginFailure):
    exit_code = ExitCode.INTERNAL_ERROR
    outcome = "internal_error"


class Cancelled(LoginFailure):
    exit_code = ExitCode.CANCELLED
    outcome = "cancelled"


class Terminated(Cancelled):
    exit_code = ExitCode.TERMINATED
    outcome = "cancelled"
