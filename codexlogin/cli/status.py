"""`codex login status [--json] [--check]`: what is stored, and (with --check) whether it still works.

The offline path (no --check) reads the credentials and prints; it imports no trio, httpx,
hypercorn, eliot or rich, and writes nothing to codex-login.log (it changes nothing and must start
fast; `--check` runs as a logged flow). `--check` refreshes the ChatGPT tokens when due (access
token expiring within 5 minutes, or last refresh older than 8 days) through refresh.py — the same
lock-protected refresh library users get — and reports failures by kind.

Exit codes: 0 logged in; 1 not logged in; 7 the credential store cannot be read (I/O error,
auth.json unreadable or a directory, no keyring); 8 credentials stored but unusable (corrupt
content, no usable token, refresh rejected or expired); 9 stored credentials
violate forced_login_method / forced_chatgpt_workspace_id; with --check also 10 (issuer
unreachable or unavailable: retry later) and 4 (the issuer's reply was not usable).

`--json` prints one object on stdout (never a token; an API key only masked):
  status        "logged_in" | "not_logged_in" | "unusable" | "policy_violation" | "storage_error"
                | "check_failed"
  logged_in     bool (true only for status "logged_in")
  mode          "chatgpt" | "apikey" | null
  email, plan, account_id            from the id_token (ChatGPT mode), else null
  api_key       masked key (API-key mode), else null
  expires_at    access token expiry, RFC 3339 UTC, or null
  last_refresh  as stored (RFC 3339), or null
  refresh_due   null | "expiring" | "stale" (ChatGPT mode: when the next use would refresh)
  storage       "file" | "keyring"
  problem       null or a one-line reason (unusable / policy_violation / storage_error)
  check         (with --check) {"refreshed": bool, "reason": str|null, "online": bool}
  error         (check_failed) {"kind": str, "message": str, "exit_code": int}
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated, Any

from cyclopts import Parameter

from codexlogin.oauth import jwt as tokens
from codexlogin.errors import ExitCode, LoginFailure, StorageFailed
from codexlogin.credentials.files import AuthDotJson

MASK = "***"
MASK_PREFIX = 8
MASK_SUFFIX = 5
MASK_MIN_LENGTH = 13  # keys this short or shorter are masked completely


def mask_api_key(key: str | None) -> str:
    """`sk-proj-***abcde`: a short prefix and the last 5 characters; ≤13 characters → `***`."""
    if not key or len(key) <= MASK_MIN_LENGTH:
        return MASK
    return f"{key[:MASK_PREFIX]}{MASK}{key[-MASK_SUFFIX:]}"


def _rfc3339(epoch: int | None) -> str | None:
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


@dataclass
class StatusReport:
    status: str
    exit_code: int
    storage: str
    mode: str | None = None
    email: str | None = None
    plan: str | None = None
    account_id: str | None = None
    api_key: str | None = None
    expires_at: str | None = None
    last_refresh: str | None = None
    refresh_due: str | None = None
    problem: str | None = None
    check: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {
            "status": self.status,
            "logged_in": self.status == "logged_in",
            "mode": self.mode,
            "email": self.email,
            "plan": self.plan,
            "account_id": self.account_id,
            "api_key": self.api_key,
            "expires_at": self.expires_at,
            "last_refresh": self.last_refresh,
            "refresh_due": self.refresh_due,
            "storage": self.storage,
            "problem": self.problem,
        }
        if self.check is not None:
            data["check"] = self.check
        if self.error is not None:
            data["error"] = self.error
        return data

    def identity(self) -> str:
        if self.mode == "apikey":
            return f"an API key - {self.api_key}"
        details = ", ".join(part for part in (self.email, self.plan, self.account_id) if part)
        return f"ChatGPT ({details})" if details else "ChatGPT"

    def text(self) -> str:
        if self.status == "not_logged_in":
            return "Not logged in"
        if self.status in ("logged_in", "check_failed"):
            lines = [f"Logged in using {self.identity()}", *self.notes]
            return "\n".join(lines)
        if self.status == "policy_violation":
            return f"Logged in using {self.identity()}, but {self.problem}"
        if self.status == "storage_error":
            return f"Cannot read the stored credentials: {self.problem}"
        return f"Credentials are stored but unusable: {self.problem}; run `codex login`"


def _policy_problem(settings: Any, auth: AuthDotJson) -> str | None:
    forced = settings.forced_login_method
    if forced == "api" and auth.auth_mode != "apikey":
        return "forced_login_method = api requires an API key login (`codex login --with-api-key`)"
    if forced == "chatgpt" and auth.auth_mode != "chatgpt":
        return "forced_login_method = chatgpt requires a ChatGPT login (`codex login`)"
    allowed = settings.forced_chatgpt_workspace_id
    if allowed and auth.auth_mode == "chatgpt":
        account = (auth.tokens.account_id if auth.tokens else None) or tokens.account_id(
            auth.tokens.id_token if auth.tokens else None
        )
        if account not in allowed:
            return (
                f"forced_chatgpt_workspace_id allows only {', '.join(allowed)}, and this login is for"
                f" workspace {account or '(none)'}; run `codex login` again"
            )
    return None


def evaluate(settings: Any, auth: AuthDotJson | None, backend: str, *, now: float | None = None) -> StatusReport:
    """Pure: the report and exit code for stored credentials (None = nothing stored)."""
    now = time.time() if now is None else now
    if auth is None:
        return StatusReport("not_logged_in", int(ExitCode.NOT_LOGGED_IN), backend)
    report = StatusReport("logged_in", int(ExitCode.SUCCESS), backend, mode=auth.auth_mode, last_refresh=auth.last_refresh)

    def unusable(problem: str) -> StatusReport:
        report.status, report.exit_code, report.problem = "unusable", int(ExitCode.CREDENTIALS_UNUSABLE), problem
        return report

    if auth.auth_mode == "apikey":
        report.api_key = mask_api_key(auth.openai_api_key)
        if not (auth.openai_api_key or "").strip():
            return unusable("the stored API key is empty")
    elif auth.auth_mode == "chatgpt":
        token_data = auth.tokens
        if token_data is None or not (token_data.access_token or token_data.refresh_token):
            return unusable("the stored ChatGPT login has no tokens")
        report.email = tokens.email(token_data.id_token)
        report.plan = tokens.plan_type(token_data.id_token)
        report.account_id = token_data.account_id or tokens.account_id(token_data.id_token)
        exp = tokens.expires_at(token_data.access_token)
        report.expires_at = _rfc3339(exp)
        access_expired = not token_data.access_token or (exp is not None and exp <= now)
        if not token_data.refresh_token and access_expired:
            return unusable("the access token has expired and there is no refresh token to renew it")
        report.refresh_due = tokens.refresh_due(token_data.access_token, auth.last_refresh, now)
    else:
        return unusable(f"unknown auth_mode {auth.auth_mode!r} in the stored credentials")
    problem = _policy_problem(settings, auth)
    if problem is not None:
        report.status, report.exit_code, report.problem = "policy_violation", int(ExitCode.POLICY_VIOLATION), problem
    return report


def read_status(settings: Any) -> StatusReport:
    """Load the stored credentials and evaluate them; storage failures become a report too."""
    from codexlogin.credentials.store import load_credentials
    from codexlogin.credentials.files import InvalidAuthData

    try:
        auth, backend = load_credentials(settings)
    except StorageFailed as failure:
        backend = "keyring" if settings.cli_auth_credentials_store == "keyring" else "file"
        if isinstance(failure, InvalidAuthData):  # read, but the content is not usable auth.json
            return StatusReport("unusable", int(ExitCode.CREDENTIALS_UNUSABLE), backend, problem=failure.detail)
        # could not be read at all (EACCES, EIO, a directory, no keyring): a storage failure
        return StatusReport("storage_error", int(ExitCode.STORAGE_FAILED), backend, problem=failure.detail)
    return evaluate(settings, auth, backend)


def _emit(report: StatusReport, as_json: bool) -> None:
    if as_json:
        print(json.dumps(report.to_json(), sort_keys=False), flush=True)
    else:
        print(report.text(), flush=True)


def _failure_kind(failure: LoginFailure) -> str:
    kind = getattr(failure, "kind", None)
    return str(kind) if kind else failure.outcome


def _check(settings: Any, report: StatusReport, as_json: bool) -> int:
    """--check: refresh when due, inside a logged flow; print the outcome in the chosen format."""
    from codexlogin.cli import run_flow

    failures: list[LoginFailure] = []

    def body() -> Any:
        import trio

        from codexlogin.flows.refresh import refresh_credentials

        try:
            return trio.run(refresh_credentials, settings)
        except LoginFailure as failure:
            failures.append(failure)
            raise

    def success(result: Any) -> None:
        checked = evaluate(settings, result.auth, result.backend)
        online = result.auth.auth_mode == "chatgpt"
        checked.check = {"refreshed": bool(result.refreshed), "reason": result.reason, "online": online}
        if result.refreshed:
            checked.notes.append(f"Credentials checked: tokens refreshed ({result.reason}).")
        elif result.by_other_process:
            checked.notes.append("Credentials checked: another codex process just refreshed the tokens.")
        elif online:
            checked.notes.append(f"Credentials checked: the access token is valid until {checked.expires_at or 'unknown'}.")
        else:
            checked.notes.append("Credentials checked offline: API keys are not verified against the issuer.")
        if checked.exit_code != 0:  # e.g. the refreshed login now violates the workspace policy
            report_box.append(checked)
            return
        _emit(checked, as_json)

    report_box: list[StatusReport] = []
    code = run_flow("login status", "check", settings, body, success=success)
    if report_box:
        _emit(report_box[0], as_json)
        return report_box[0].exit_code
    if failures and as_json:
        failure = failures[0]
        report.status = "check_failed"
        report.exit_code = int(failure.exit_code)
        report.error = {"kind": _failure_kind(failure), "message": failure.summary, "exit_code": int(failure.exit_code)}
        _emit(report, as_json)
    return code


def status(
    *,
    json_: Annotated[bool, Parameter(name="--json", negative=())] = False,
    check: Annotated[bool, Parameter(negative=())] = False,
    issuer: str | None = None,
    client_id: str | None = None,
    log_dir: Path | None = None,
    config: Annotated[tuple[str, ...], Parameter(name=["--config", "-c"], negative=(), show_default=False, consume_multiple=False)] = (),
) -> int:
    """Show whether you are logged in, and how; exit 0 logged in, 1 not logged in.

    Reads the stored credentials without contacting the issuer and prints one line: "Logged in
    using ChatGPT (email, plan, account)", "Logged in using an API key - sk-proj-***abcde" or "Not
    logged in". Exit codes: 0 logged in, 1 not logged in, 7 credential store unreadable, 8 stored
    but unusable (or refresh rejected/expired with --check), 9 violates forced_login_method or
    forced_chatgpt_workspace_id, 10 issuer unreachable or unavailable (--check), 4 unusable issuer
    reply (--check).

    Parameters
    ----------
    json_
        Print one JSON object instead (mode, email, plan, account_id, expires_at, last_refresh,
        storage, …; never a token).
    check
        Also prove the credentials online: refresh the tokens when they expire within 5 minutes or
        were last refreshed over 8 days ago, and report failures by kind (network, rejected, expired).
    issuer
        OAuth issuer base URL used by --check [env: CODEX_LOGIN_ISSUER].
    client_id
        OAuth client id used by --check [env: CODEX_LOGIN_CLIENT_ID].
    log_dir
        Directory for codex-login.log, written by --check only [env: CODEX_LOGIN_LOG_DIR].
    config
        Override a setting as key=value (repeatable), e.g. -c cli_auth_credentials_store=keyring.
    """
    from codexlogin.config import load_settings

    try:
        settings = load_settings({"issuer": issuer, "client_id": client_id, "log_dir": log_dir}, config)
    except LoginFailure as failure:
        from codexlogin.cli import report_failure

        return report_failure(failure)
    report = read_status(settings)
    if not check or report.exit_code != 0:
        _emit(report, json_)
        return report.exit_code
    return _check(settings, report, json_)
