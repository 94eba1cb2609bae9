"""What the stored credentials are worth right now: the pure evaluation behind `codex login status`.

`evaluate` never touches the network or the disk; `read_status` adds the one read. Exit codes:
0 logged in, 1 not logged in, 7 store unreadable, 8 stored but unusable, 9 violates the policy.
"""

from __future__ import annotations

import time

from codexlogin.credentials import APIKEY, CHATGPT, PERSONAL_ACCESS_TOKEN
from codexlogin.credentials.files import InvalidAuthData, permission_problem
from codexlogin.credentials.store import EPHEMERAL, EPHEMERAL_NOTE, load_credentials
from codexlogin.errors import CredentialsUnusable, ExitCode, StorageFailed
from codexlogin.terminal import inline

# Logged out, `codex login status` needs none of the credential model, the JWT and timestamp
# readers or the policy: they load with the first stored credential (see evaluate).
TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from typing import Any

    from codexlogin.config import Settings
    from codexlogin.credentials.model import AuthDotJson

REFRESH_MARGIN_SECONDS = 5 * 60  # refresh when the access token expires within this
MAX_REFRESH_AGE_SECONDS = 8 * 24 * 3600  # ...or when the last refresh is older than this


def access_token_expiry(access_token: str | None, stored_expiry: str | None = None) -> float | None:
    """When the access token expires: its JWT `exp`, else (an opaque token) the expiry stored from
    the token reply's `expires_in` (tokens.access_token_expires_at), else None."""
    from codexlogin import rfc3339
    from codexlogin.oauth import jwt

    exp = jwt.expires_at(access_token)  # None also for an absurd one (10**400)
    return float(exp) if exp is not None else rfc3339.to_epoch(stored_expiry)


def refresh_due(
    access_token: str | None, last_refresh: str | None, now: float, *, stored_expiry: str | None = None
) -> str | None:
    """ "expiring" (JWT `exp`, else the stored `expires_in` expiry, within 5 minutes or past);
    without either, "stale" (last refresh over 8 days ago or unknown); else None. Codex CLI
    0.171's rule, plus `expires_in` for opaque access tokens (RFC 6749 §5.1)."""
    exp = access_token_expiry(access_token, stored_expiry)
    if exp is not None:
        return "expiring" if exp - now <= REFRESH_MARGIN_SECONDS else None
    from codexlogin import rfc3339

    last = rfc3339.to_epoch(last_refresh)
    if last is None or now - last > MAX_REFRESH_AGE_SECONDS:
        return "stale"
    return None


MASK = "***"
MASK_PREFIX = 8  # Codex CLI 0.171: the first 8 and the last 5 characters of a key over 13
MASK_SUFFIX = 5
MASK_SHARE = 4  # at most 1/MASK_SHARE of a key's secret part is ever shown
MASK_MIN_SECRET = 16  # a secret part shorter than this shows nothing (only the key's type tag)
#: From this length on a key shows exactly 0.171's `key[:8]***key[-5:]`, whatever its tag: a quarter
#: of any tag's secret part covers it. (The budget below gives the same for tags of 8 characters or
#: fewer; a longer tag, `sk-svcacct-`, would otherwise show whole.)
CODEX_SHAPE_LENGTH = 52
#: The public type tag of a key or token: shown as such, never counted as its secret.
KEY_TAG_PATTERN = r"(?:sk|at|rt|pk)-(?:proj-|svcacct-|admin-)?"


def mask_api_key(key: str | None) -> str:
    """`sk-proj-***abcde`, `at-AbCdE***vwxyz`: Codex CLI 0.171's shape (the first 8 and the last 5
    characters) for a real-length key, but never more than a quarter of the key's secret part (what
    follows its type tag `sk-`, `sk-proj-`, `at-`, …): a shorter key shows fewer characters, and one
    whose secret part is under 16 characters only its tag (`sk-***`). Personal access tokens are
    masked the same way. From 52 characters on this is exactly 0.171's `key[:8]***key[-5:]`."""
    if not key:
        return MASK
    if len(key) >= CODEX_SHAPE_LENGTH:
        return f"{key[:MASK_PREFIX]}{MASK}{key[-MASK_SUFFIX:]}"
    import re  # compiled only for a key to mask (re caches it)

    match = re.match(KEY_TAG_PATTERN, key)
    tag = match.group(0) if match else ""
    secret_length = len(key) - len(tag)
    if secret_length < MASK_MIN_SECRET:
        return f"{tag}{MASK}"
    budget = secret_length // MASK_SHARE
    suffix = min(MASK_SUFFIX, budget)
    prefix = min(max(0, MASK_PREFIX - len(tag)), budget - suffix)
    return f"{key[: len(tag) + prefix]}{MASK}{key[-suffix:]}"


class StatusReport:
    """What `status` says about the stored credentials. A plain class, not a dataclass: `codex
    login status` would pay for importing dataclasses and compiling its methods on every start."""

    __slots__ = (
        "status",
        "exit_code",
        "storage",
        "mode",
        "email",
        "plan",
        "account_id",
        "api_key",
        "personal_access_token",
        "issuer",
        "issuer_is_default",
        "expires_at",
        "last_refresh",
        "refresh_due",
        "problem",
        "check",
        "error",
        "notes",
        "logged_in",
        "warnings",
    )

    def __init__(
        self,
        status: str,
        exit_code: int,
        storage: str,
        mode: str | None = None,
        email: str | None = None,
        plan: str | None = None,
        account_id: str | None = None,
        api_key: str | None = None,
        personal_access_token: str | None = None,  # masked, like api_key
        issuer: str | None = None,  # where the stored tokens go (their provenance; ChatGPT and access-token modes)
        issuer_is_default: bool = True,
        expires_at: str | None = None,
        last_refresh: str | None = None,
        refresh_due: str | None = None,
        problem: str | None = None,
        check: dict[str, Any] | None = None,
        error: dict[str, Any] | None = None,
        notes: list[str] | None = None,
        logged_in: bool | None = None,
        warnings: list[str] | None = None,
    ) -> None:
        self.status = status
        self.exit_code = exit_code
        self.storage = storage
        self.mode = mode
        self.email = email
        self.plan = plan
        self.account_id = account_id
        self.api_key = api_key
        self.personal_access_token = personal_access_token
        self.issuer = issuer
        self.issuer_is_default = issuer_is_default
        self.expires_at = expires_at
        self.last_refresh = last_refresh
        self.refresh_due = refresh_due
        self.problem = problem
        self.check = check
        self.error = error
        self.notes: list[str] = [] if notes is None else notes
        #: Whether a login is stored and stands; None: as `status` says. A check that could not reach
        #: the issuer leaves the stored login standing (true); one the issuer rejected does not.
        self.logged_in = logged_in
        #: stderr `warning:` lines; the first also in `problem`.
        self.warnings: list[str] = [] if warnings is None else warnings

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return all(getattr(self, name) == getattr(other, name) for name in self.__slots__)

    __hash__ = None  # type: ignore[assignment]  # mutable, as the dataclass was

    def __repr__(self) -> str:
        return f"StatusReport({', '.join(f'{name}={getattr(self, name)!r}' for name in self.__slots__)})"

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "logged_in": self.status == "logged_in" if self.logged_in is None else self.logged_in,
            "mode": self.mode,
            "email": self.email,
            "plan": self.plan,
            "account_id": self.account_id,
            "api_key": self.api_key,
            "personal_access_token": self.personal_access_token,
            "expires_at": self.expires_at,
            "last_refresh": self.last_refresh,
            "refresh_due": self.refresh_due,
            "issuer": self.issuer,
            "storage": self.storage,
            "problem": self.problem,
        }
        if self.check is not None:
            data["check"] = self.check
        if self.error is not None:
            data["error"] = self.error
        return data

    def identity(self) -> str:
        """After "Logged in using ": 0.171's "ChatGPT" / "an API key - …" / "personal access token -
        …" (scripts/interop_codex.py pins those words), then who and which account."""
        if self.mode == APIKEY:
            return f"an API key - {self.api_key}"
        head = f"personal access token - {self.personal_access_token}" if self.mode == PERSONAL_ACCESS_TOKEN else "ChatGPT"
        name = who(self.email, self.plan)
        if name:
            head += f" as {name}"
        if self.account_id:
            head += f", account {self.account_id}"
        if self.issuer and not self.issuer_is_default:
            head += f", issuer {self.issuer}"
        return head

    def headline(self) -> list[str]:
        """The first line(s) of a logged-in status, in Codex CLI 0.171's words (scripts grep them):
        "API key configured - <mask>" and "Authentication is checked when you send a request." for
        an API key, "Logged in using ChatGPT …" / "Logged in using personal access token …"."""
        if self.mode == APIKEY:
            return [f"API key configured - {self.api_key}", API_KEY_CHECKED]
        return [f"Logged in using {self.identity()}"]

    def stored_login(self) -> str | None:
        """What is stored, in a few words ("the login of alice@example.com", "the API key
        sk-proj-***abcde"), or None when nothing usable is stored."""
        if self.status not in ("logged_in", "policy_violation", "check_failed"):
            return None
        if self.email:
            return f"the login of {self.email}"
        if self.mode == APIKEY:
            return f"the API key {self.api_key}"
        if self.mode == PERSONAL_ACCESS_TOKEN:
            return f"the personal access token {self.personal_access_token}"
        return "a ChatGPT login"

    def text(self) -> str:
        """`codex login status`'s human text (the JSON is `to_json`): what came from outside (an
        id_token's email, plan or account, an issuer's words in `problem`) cannot drive the
        terminal nor add a line: each line goes through terminal.inline, a newline in a value is shown
        as `\\n`."""
        return "\n".join(inline(line) for line in self._lines())

    def _lines(self) -> list[str]:
        if self.status == "not_logged_in":
            return [NOT_LOGGED_IN, *self.notes]
        if self.status in ("logged_in", "check_failed"):
            return [*self.headline(), *self.notes]
        if self.status == "policy_violation":  # 0.171 answers "Not logged in" (exit 1; ours: 9, with why)
            return [f"Not logged in: {self.stored_login()} is stored, but {self.problem}", *self.notes]
        if self.status == "storage_error":
            return [f"Cannot read the stored credentials: {self.problem}"]
        return [f"Credentials are stored but unusable: {self.problem}; run `codex login`"]


NOT_LOGGED_IN = "Not logged in — run `codex login`"
#: Codex CLI 0.171's second line for an API key (status) and its `--with-api-key` reply: nothing checks the key until it is used.
API_KEY_CHECKED = "Authentication is checked when you send a request."


def who(email: str | None, plan: str | None) -> str | None:
    """ "alice@example.com (plus)": a ChatGPT account as a person names it (None: no email known)."""
    if not email:
        return None
    return f"{email} ({plan})" if plan else email


def replaced_note(before: StatusReport, after: StatusReport) -> str | None:
    """ "replaced the login of bob@example.com" when a login replaced another account's (None when
    nothing was stored, or it was the same account)."""
    old, new = before.stored_login(), after.stored_login()
    if old is None or old == new:
        return None
    return f"replaced {old}"


def evaluate(settings: Settings, auth: AuthDotJson | None, backend: str, *, now: float | None = None) -> StatusReport:
    """Pure: the report and exit code for stored credentials (None = nothing stored)."""
    now = time.time() if now is None else now
    if auth is None:
        return StatusReport("not_logged_in", int(ExitCode.NOT_LOGGED_IN), backend)
    report = StatusReport("logged_in", int(ExitCode.SUCCESS), backend, mode=auth.auth_mode, last_refresh=auth.last_refresh)

    def unusable(problem: str) -> StatusReport:
        report.status, report.exit_code, report.problem = "unusable", int(ExitCode.CREDENTIALS_UNUSABLE), problem
        return report

    if auth.auth_mode in (CHATGPT, PERSONAL_ACCESS_TOKEN):
        from codexlogin.oauth.issuer import credential_issuer, issuer_conflict  # only with tokens stored

        try:  # where the tokens belong, whatever the settings say now (oauth.issuer)
            issuer = credential_issuer(auth.origin())
        except CredentialsUnusable as failure:
            return unusable(failure.summary.partition("; ")[0])
        report.issuer, report.issuer_is_default = issuer.base, issuer.issued(None)
        conflict = issuer_conflict(settings, issuer)
        if conflict is not None:
            report.notes.append(
                f"Note: {conflict}; the stored tokens go only to their own issuer (`status --check` refuses"
                " while the setting is there; `codex login` signs in at the new one)."
            )

    from codexlogin import rfc3339
    from codexlogin.credentials.policy import stored_login_problem
    from codexlogin.oauth import jwt

    if auth.auth_mode == APIKEY:
        report.api_key = mask_api_key(auth.openai_api_key)
        if not (auth.openai_api_key or "").strip():
            return unusable("the stored API key is empty")
    elif auth.auth_mode == PERSONAL_ACCESS_TOKEN:
        # Offline, as for API keys: whether the issuer still accepts it is `--check`'s question.
        report.personal_access_token = mask_api_key(auth.personal_access_token)
        if not (auth.personal_access_token or "").strip():
            return unusable("the stored personal access token is empty")
    elif auth.auth_mode == CHATGPT:
        token_data = auth.tokens
        if token_data is None or not (token_data.access_token or token_data.refresh_token):
            return unusable("the stored ChatGPT login has no tokens")
        report.email = jwt.email(token_data.id_token)
        report.plan = jwt.plan_type(token_data.id_token)
        report.account_id = token_data.account_id or jwt.account_id(token_data.id_token)
        exp = access_token_expiry(token_data.access_token, token_data.access_token_expires_at)
        report.expires_at = rfc3339.from_epoch(exp)
        access_expired = not token_data.access_token or (exp is not None and exp <= now)
        if not token_data.refresh_token and access_expired:
            return unusable("the access token has expired and there is no refresh token to renew it")
        report.refresh_due = refresh_due(
            token_data.access_token, auth.last_refresh, now, stored_expiry=token_data.access_token_expires_at
        )
        if not token_data.refresh_token:
            report.notes.append("The issuer gave no refresh token: this login ends when the access token expires.")
    else:
        return unusable(f"unknown auth_mode {auth.auth_mode!r} in the stored credentials")
    problem = stored_login_problem(settings, auth)
    if problem is not None:
        report.status, report.exit_code, report.problem = "policy_violation", int(ExitCode.POLICY_VIOLATION), problem
    return report


def read_status(settings: Settings) -> StatusReport:
    """Load the stored credentials and evaluate them; storage failures become a report too."""
    try:
        auth, backend = load_credentials(settings)
    except StorageFailed as failure:
        backend = "keyring" if settings.cli_auth_credentials_store == "keyring" else "file"
        if isinstance(failure, InvalidAuthData):  # read, but the content is not usable auth.json
            return StatusReport("unusable", int(ExitCode.CREDENTIALS_UNUSABLE), backend, problem=failure.detail)
        # could not be read at all (EACCES, EIO, a directory, no keyring): a storage failure
        return StatusReport("storage_error", int(ExitCode.STORAGE_FAILED), backend, problem=failure.detail)
    report = evaluate(settings, auth, backend)
    if backend == EPHEMERAL:
        report.notes.append(f"Note: {EPHEMERAL_NOTE}.")
    usable = backend == "file" and auth is not None and report.status != "unusable"  # an unusable file: one problem at a time
    unsafe = permission_problem(settings.auth_file_text) if usable else None
    if unsafe is not None:  # never used silently: say what is wrong and what to do
        report.warnings.append(f"{unsafe[1]}; {unsafe[2]}")
        report.problem = report.problem or report.warnings[0]  # scripts read `problem` of --json too
    return report
