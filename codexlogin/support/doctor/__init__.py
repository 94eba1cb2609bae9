"""`codex login doctor [--json]`: check what breaks the browser login, and say what to do.

Checks, printed in this order (they run concurrently where they wait on I/O):

  codex_home     $CODEX_HOME can hold files (a temp file is created and removed)
  log_dir        the log directory can hold files; codex-login.log, when present, is appendable
  auth_json      stored credentials are readable (never printed); auth.json mode 0600
  callback_port  the callback port is free, or held by a `codex login` of ours; [::1] free too
  loopback       127.0.0.1 can be bound and connected to
  browser        a browser can be launched; hints for SSH, WSL and machines without a display
  ca_bundle      CODEX_CA_CERTIFICATE / SSL_CERT_FILE, when set, load as a CA bundle
  issuer         GET {issuer}/.well-known/openid-configuration answers (timing, proxy env shown)
  endpoints      the token (revocation, device) endpoint answers a harmless probe with an OAuth error
  clock          the local clock agrees with the issuer's Date header (within 5 minutes)

Each check ends `ok`, `warn` (login should work, but read the hint) or `FAIL` (login will likely
fail; the hint says what to do). No browser is a warning, not a failure, where the device login
works: the openai dialect, or a standard issuer whose discovery document names a
`device_authorization_endpoint`.

Every check is also an action `codex:doctor:<name>` in codex-login.log, under the run's
`codex:command` root (command "login doctor"); a failed check ends its action failed with
`status`, `hint` and `duration_ms`.

Exit codes: 0 when no check failed (warnings allowed); 1 when at least one failed (the same
"the answer is no" code as `status` and `log`); 2 usage or configuration error.

`--json` prints one object: {"ok": bool, "exit_code": int, "version": str, "checks": [{"name",
"status": "ok"|"warn"|"fail", "detail", "hint": str|null, "duration_ms": float}, ...]}.

This package holds the checks and their results only, and prints nothing: how a report reads on a
terminal (colours, wrapping at the terminal's width, the summary line) is `cli.doctor_text`.

- `report`: `Check`, `Report` (and its JSON form), the status words, CHECK_NAMES, shared words.
- `files`: codex_home, log_dir, auth_json.
- `ports`: callback_port (who holds it, asked, never cancelled), loopback.
- `browser`: browser, with the SSH, WSL and no-display hints.
- `issuer`: ca_bundle, issuer (and `proxy_env`, also shown in the support bundle).
- `endpoints`: endpoints (token, revocation, device: one harmless request each).
- `clock`: clock, from what the issuer check saw.
- `runner`: `run_checks`, each check a logged action, the I/O ones concurrent.

Only codexlogin's light modules load at import; trio, httpx and eliot load when the checks run.
This package re-exports the names the rest of codexlogin and its tests use; the rest comes from
its module.
"""

from __future__ import annotations

from codexlogin.support.doctor.browser import browser_result, check_browser, find_browser, remote_context, without_browser
from codexlogin.support.doctor.clock import clock_result, describe_skew
from codexlogin.support.doctor.files import check_auth_json, check_codex_home, check_log_dir, probe_directory
from codexlogin.support.doctor.issuer import IssuerProbe, check_ca_bundle, check_issuer, proxy_env
from codexlogin.support.doctor.ports import check_callback_port, check_loopback, identify_port_holder
from codexlogin.support.doctor.report import (
    CHECK_NAMES,
    CHECKS_FAILED_EXIT,
    DEVICE_AUTH_HINT,
    FAIL,
    OK,
    WARN,
    Check,
    CheckFailed,
    ChecksFailed,
    Report,
    Result,
)
from codexlogin.support.doctor.runner import run_checks

__all__ = [
    "CHECKS_FAILED_EXIT",
    "CHECK_NAMES",
    "DEVICE_AUTH_HINT",
    "FAIL",
    "OK",
    "WARN",
    "Check",
    "CheckFailed",
    "ChecksFailed",
    "IssuerProbe",
    "Report",
    "Result",
    "browser_result",
    "check_auth_json",
    "check_browser",
    "check_ca_bundle",
    "check_callback_port",
    "check_codex_home",
    "check_issuer",
    "check_log_dir",
    "check_loopback",
    "clock_result",
    "describe_skew",
    "find_browser",
    "identify_port_holder",
    "probe_directory",
    "proxy_env",
    "remote_context",
    "run_checks",
    "without_browser",
]
