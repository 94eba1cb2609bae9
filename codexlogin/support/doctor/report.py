"""What a doctor check ends with (`Check`: status, detail, hint, duration) and the whole run's
`Report` (its JSON form is `--json`'s), the status words, the check names in the order shown, and
the words and helpers several checks share.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from codexlogin import __version__
from codexlogin.diagnostics import names
from codexlogin.errors import ExitCode, LoginFailure

OK, WARN, FAIL = "ok", "warn", "fail"
# In the order they are shown; each is logged as the declared codex:doctor:<name> action.
CHECK_NAMES = names.DOCTOR_CHECK_NAMES
NETWORK_TIMEOUT = 5.0  # per network check; lowered further by a smaller exchange_timeout
DEVICE_AUTH_HINT = "use `codex login --device-auth` (sign in on any device with a code)"

#: Exit code when a check failed: 1, the generic "no" shared with `status` and `log`.
CHECKS_FAILED_EXIT = ExitCode.NOT_LOGGED_IN


@dataclass
class Check:
    name: str
    status: str  # OK | WARN | FAIL
    detail: str
    hint: str | None = None
    duration_ms: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "status": self.status,
            "detail": self.detail,
            "hint": self.hint,
            "duration_ms": self.duration_ms,
        }


@dataclass
class Report:
    checks: list[Check] = field(default_factory=list)

    @property
    def failed(self) -> list[Check]:
        return [check for check in self.checks if check.status == FAIL]

    @property
    def ok(self) -> bool:
        return not self.failed

    @property
    def exit_code(self) -> int:
        return int(ExitCode.SUCCESS) if self.ok else int(CHECKS_FAILED_EXIT)

    def to_json(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "exit_code": self.exit_code,
            "version": __version__,
            "checks": [check.to_json() for check in self.checks],
        }


class CheckFailed(LoginFailure):
    """Ends one check's `codex:doctor:<name>` action as failed (caught at once, never shown)."""

    exit_code = CHECKS_FAILED_EXIT
    outcome = "check_failed"

    def __init__(self, check: Check):
        super().__init__(check.detail)
        self.check = check

    def log_fields(self) -> dict[str, object]:
        return {"status": FAIL, "hint": self.check.hint, "duration_ms": self.check.duration_ms}


class ChecksFailed(LoginFailure):
    """At least one check failed: the run's outcome, exit code 1."""

    exit_code = CHECKS_FAILED_EXIT
    outcome = "checks_failed"


Result = tuple[str, str, str | None]  # (status, detail, hint)


def format_ms(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms"
