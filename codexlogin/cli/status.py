"""`codex login status [--json] [--check]`: what is stored, and (with --check) whether it still works.

The offline path (no --check) reads the credentials and prints; it imports no trio, httpx,
hypercorn, eliot or rich, and writes nothing to codex-login.log (it changes nothing and must start
fast; `--check` runs as a logged flow). `--check` proves the ChatGPT tokens online (flows.check):
the issuer's userinfo endpoint, else public-client introspection, else a refresh through
refresh.py — the same lock-protected refresh library users get (also whenever one is due; the
openai dialect always refreshes) — and reports failures by kind. A personal access token
is checked with the issuer's whoami instead (flows.access_token), and its account against
forced_chatgpt_workspace_id.

Exit codes: 0 logged in; 1 not logged in; 7 the credential store cannot be read (I/O error,
auth.json unreadable or a directory, no keyring); 8 credentials stored but unusable (corrupt
content, no usable token, refresh rejected or expired); 9 stored credentials
violate forced_login_method / forced_chatgpt_workspace_id; with --check also 10 (issuer
unreachable or unavailable: retry later), 4 (the issuer's reply was not usable) and 2 (a setting —
flag, environment, `-c`, config.toml — names another issuer or client than the one that issued the
stored tokens: they are never sent to it).

`--json` prints one object on stdout (never a token; an API key only masked):
  status        "logged_in" | "not_logged_in" | "unusable" | "policy_violation" | "storage_error"
                | "check_failed"
  logged_in     bool (true only for status "logged_in")
  mode          "chatgpt" | "apikey" | "personal_access_token" | null
  email, plan, account_id            from the id_token (ChatGPT mode), else null
  api_key       masked key (API-key mode), else null
  personal_access_token  masked token (personal-access-token mode), else null
  expires_at    access token expiry, RFC 3339 UTC, or null
  last_refresh  as stored (RFC 3339), or null
  refresh_due   null | "expiring" | "stale" (ChatGPT mode: when the next use would refresh)
  issuer        the issuer the stored tokens belong to (ChatGPT and personal-access-token modes:
                their provenance, the default issuer when the file names none), else null
  storage       "file" | "keyring" | "ephemeral"
  problem       null or a one-line reason (unusable / policy_violation / storage_error)
  check         (with --check) {"refreshed": bool, "reason": str|null, "online": bool, "proof":
                "userinfo" | "introspection" | "refresh" | "whoami" | null}: online is true only when
                the issuer answered the proof in this run
  error         (check_failed) {"kind": str, "message": str, "exit_code": int}
  reference     (with --check) the logged run's reference: `codex login log --grep REF` shows it
"""

from __future__ import annotations

import json
import sys
from typing import Annotated

from cyclopts import Parameter

from codexlogin.cli.boundary import command, logged_run, report_failure
from codexlogin.cli.options import Flag, IssuerOptions
from codexlogin.config import Settings
from codexlogin.credentials.model import PERSONAL_ACCESS_TOKEN
from codexlogin.credentials.status import StatusReport, evaluate, read_status
from codexlogin.errors import ExitCode, LoginFailure, NotLoggedIn


def _emit(report: StatusReport, as_json: bool, reference: str | None = None) -> None:
    """`reference`: the logged run's (--check), added to the JSON; plain `status` logs no run."""
    if as_json:
        data = report.to_json()
        if reference:
            data["reference"] = reference
        print(json.dumps(data, sort_keys=False), flush=True)
    else:  # on stderr, as Codex CLI 0.171 prints it (`--json` is the machine-readable stdout)
        print(report.text(), file=sys.stderr, flush=True)


def _failure_kind(failure: LoginFailure) -> str:
    kind = getattr(failure, "kind", None)
    return str(kind) if kind else failure.outcome


def _check_failed(failure: LoginFailure, report: StatusReport, as_json: bool) -> int:
    if not as_json:
        raise failure
    report_failure(failure)
    report.status = "check_failed"
    report.exit_code = int(failure.exit_code)
    report.error = {"kind": _failure_kind(failure), "message": failure.summary, "exit_code": int(failure.exit_code)}
    _emit(report, as_json, failure.reference)
    return report.exit_code


def _run_reference() -> str | None:
    """The reference of the run `--check` just logged."""
    from codexlogin.diagnostics import current_reference

    return current_reference()


def _check_access_token(settings: Settings, report: StatusReport, as_json: bool) -> int:
    """--check for a personal access token: whoami (as 0.171's plain `status` does), then the
    workspace policy against the account it names."""
    from codexlogin.cli.signals import run_flow
    from codexlogin.credentials.policy import workspace_problem
    from codexlogin.credentials.store import load_credentials
    from codexlogin.flows.access_token import PIPE_HINT, check_stored_access_token

    try:
        with logged_run("login status", "check", settings, issuer=report.issuer):
            auth, _backend = load_credentials(settings)
            if auth is None or auth.auth_mode != PERSONAL_ACCESS_TOKEN:  # another codex changed it just now
                raise NotLoggedIn("the stored personal access token was removed or replaced during the check; check again")
            account = run_flow(check_stored_access_token, settings, auth, what="status check")
    except LoginFailure as failure:
        return _check_failed(failure, report, as_json)
    report.email, report.plan, report.account_id = account.email, account.plan, account.account_id
    report.check = {"refreshed": False, "reason": None, "online": True, "proof": "whoami"}
    problem = workspace_problem(settings, account.account_id, again=PIPE_HINT)
    if problem is not None:
        report.status, report.exit_code, report.problem = "policy_violation", int(ExitCode.POLICY_VIOLATION), problem
    report.notes.append("Credentials checked online (whoami): the issuer accepts the personal access token.")
    _emit(report, as_json, _run_reference())
    return report.exit_code


_PROOF_TEXT = {
    "userinfo": "the issuer's userinfo endpoint accepted the access token",
    "introspection": "the issuer's introspection endpoint reports the access token active",
}


def _check(settings: Settings, report: StatusReport, as_json: bool) -> int:
    """--check: prove the credentials online (flows.check) inside a logged run; print the outcome
    in the chosen format."""
    from codexlogin.cli.signals import run_flow
    from codexlogin.flows.check import check_credentials

    if report.mode == PERSONAL_ACCESS_TOKEN:
        return _check_access_token(settings, report, as_json)
    try:
        with logged_run("login status", "check", settings, issuer=report.issuer):  # the credential's issuer
            result = run_flow(check_credentials, settings, what="status check")
    except LoginFailure as failure:
        return _check_failed(failure, report, as_json)
    checked = evaluate(settings, result.auth, result.backend)
    checked.check = {"refreshed": result.refreshed, "reason": result.reason, "online": result.online, "proof": result.proof}
    until = f"valid until {checked.expires_at}" if checked.expires_at else "expiry unknown"
    if result.proof == "refresh":
        checked.notes.append(
            f"Credentials checked online (refresh): the issuer accepted the refresh token and issued new tokens ({result.reason})."
        )
    elif result.proof in _PROOF_TEXT:
        checked.notes.append(f"Credentials checked online ({result.proof}): {_PROOF_TEXT[result.proof]} ({until}).")
    else:
        checked.notes.append(f"Credentials not checked online: {result.note}.")
    _emit(checked, as_json, _run_reference())  # exit code from the refreshed login (e.g. it now violates the policy)
    return checked.exit_code


@command
def status(  # the fast lane's copy of the hot flags: cli/flags.py (tests/test_fast_lane.py compares)
    *,
    json_: Annotated[bool, Parameter(name="--json", negative=())] = False,
    check: Flag = False,
    options: IssuerOptions = IssuerOptions(),
) -> int:
    """Show whether you are logged in, and how; exit 0 logged in, 1 not logged in.

    Reads the stored credentials without contacting the issuer and prints, on stderr as Codex CLI
    0.171 does: "Logged in using ChatGPT as alice@example.com (plus), account acct_…", "API key
    configured - sk-proj-***abcde" (then "Authentication is checked when you send a request."),
    "Logged in using personal access token - at-AbCdE***vwxyz" or "Not logged in — run `codex
    login`". Exit codes: 0 logged in, 1 not logged in, 7 credential store unreadable, 8 stored
    but unusable (or refresh rejected/expired with --check), 9 violates forced_login_method or
    forced_chatgpt_workspace_id, 10 issuer unreachable or unavailable (--check), 4 unusable issuer
    reply (--check).

    Parameters
    ----------
    json_
        Print one JSON object instead (mode, email, plan, account_id, expires_at, last_refresh,
        storage, …; never a token).
    check
        Also prove the credentials online with a request whose answer depends on them: the
        issuer's userinfo endpoint, else token introspection, else a refresh under the lock (a
        refresh also when due; the openai issuer: always a refresh; a personal access token:
        whoami); says which proof it used. Revoked or expired: exit 8; no answer: exit 10.
    """
    settings = options.settings()
    report = read_status(settings)
    if not check:
        from codexlogin.cli.status_online import check_access_token_online

        warning = check_access_token_online(settings, report)  # a personal access token: whoami, as 0.171
        if warning:
            print(f"warning: {warning}", file=sys.stderr, flush=True)
    if not check or report.exit_code != 0:
        _emit(report, json_)
        return report.exit_code
    return _check(settings, report, json_)
