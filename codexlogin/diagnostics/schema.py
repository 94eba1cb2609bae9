"""The declared schema of codex-login.log: every `codex:*` action and message type, once.

The writer (diagnostics.events) logs only through these objects and the renderer names them from
here, so the two cannot drift apart. Every message carries eliot's envelope (`timestamp`,
`task_uuid`, `task_level`); actions add `action_type` and `action_status` (`started` |
`succeeded` | `failed`). A failed action adds `exception` (dotted class name) and `reason`
(scrubbed), and for a `codexlogin.errors.LoginFailure` also `outcome`, `exit_code`, `error_code` and
the failure's scrubbed facts (e.g. an issuer error's `status`, `kind`, `error_message`). A
`trio.Cancelled` failure means the action was cancelled (timeout, Ctrl-C), not that it errored.

The log never holds codes, states, verifiers, tokens, API keys, Authorization/Cookie headers or raw
backend bodies: field names in `redact.SECRET_KEYS` are always `<redacted>`.
"""

from __future__ import annotations

from collections.abc import Sequence

from eliot import ActionType, Field, MessageType


def _field(name: str, kinds: Sequence[type | None], description: str) -> Field:
    return Field.for_types(name, kinds, description)


_URL = [str]
_ISSUER = _field("issuer", _URL, "The issuer base URL, sanitised.")
_STATUS = _field("status", [int], "HTTP status of the issuer's reply.")
_SEVERITY = _field("severity", [str], "warning")

# --- actions ------------------------------------------------------------------------------------

COMMAND = ActionType(
    "codex:command",
    [_field("command", [str], '"login", "login status", "logout", …'), _field("flow", [str], '"browser", "device", …'),
     _field("version", [str], "codexlogin.__version__"), _ISSUER,
     _field("reference", [str], "The run's short random reference (8 base32 characters, not secret): shown on its pages, "
            "`error:` lines and --json output; `codex login log --grep REF` finds the run.")],
    [_field("outcome", [str], '"success"'), _field("exit_code", [int], "0")],
    "Root of every run's task.",
)
LISTENER = ActionType(
    "codex:listener",
    [_field("host", [str], "Loopback address."), _field("port", [int], "The bound port.")],
    [],
    "The loopback callback listener's lifetime.",
)
CALLBACK = ActionType(
    "codex:callback",
    [_field("path", [str], "Request path, query dropped.")]
    + [_field(name, [bool], "True only when present and non-empty.") for name in ("has_code", "has_state", "has_error", "state_valid")],
    [_STATUS, _field("decision", [str], "What the listener did."),
     _field("onboarding_entrypoint", [str], "The openai issuer's state suffix, when it sent one.")],
    "One request to the listener.",
)
TOKEN_EXCHANGE = ActionType(
    "codex:token_exchange",
    [_ISSUER, _field("token_endpoint", _URL, "Sanitised."), _field("redirect_uri", _URL, "Sanitised.")],
    [_STATUS],
    "The authorization-code exchange.",
)
API_KEY_EXCHANGE = ActionType(
    "codex:api_key_exchange",
    [_field("token_endpoint", _URL, "Sanitised.")],
    [_field("obtained", [bool], "Whether an API key came back; a refusal is not a failure.")],
    "The optional id_token → API key token exchange.",
)
SAVE_CREDENTIALS = ActionType(
    "codex:save_credentials",
    [_field("path", [str], "auth.json path."), _field("mode", [str], "cli_auth_credentials_store.")],
    [_field("backend", [str], '"file" | "keyring"'), _field("auth_mode", [str], '"chatgpt" | "apikey"')],
    "Writing auth.json or the keyring entry, under auth.lock.",
)
DEVICE_AUTHORIZATION = ActionType(
    "codex:device_authorization",
    [_field("endpoint", _URL, "Device authorization endpoint, sanitised.")],
    [_field("expires_in", [int], ""), _field("interval", [int], ""), _field("has_verification_uri_complete", [bool], "")],
    "Asking the issuer for a device code (the codes themselves are never logged).",
)
DEVICE_POLL = ActionType(
    "codex:device_poll",
    [_field("interval", [int], "Seconds."), _field("expires_in", [int], "Seconds.")],
    [_field("polls", [int], ""), _field("slow_downs", [int], ""), _field("final_interval", [int], ""), _field("result", [str], "")],
    "The whole device polling loop, one action (no message per poll).",
)
REVOKE = ActionType(
    "codex:revoke",
    [_field("revoke_endpoint", _URL, "Sanitised."), _field("token_type_hint", [str], "")],
    [_STATUS],
    "RFC 7009 revocation, best effort.",
)
REFRESH = ActionType(
    "codex:refresh",
    [_field("reason", [str], '"expiring" | "stale" | "forced"'), _field("backend", [str], ""), _field("token_endpoint", _URL, "")],
    [_field("refreshed", [bool], ""), _field("rotated", [bool], ""), _field("lock_wait", [float], "Seconds waited for auth.lock.")],
    "Refreshing the stored tokens under auth.lock.",
)
BUNDLE_WRITE = ActionType(
    "codex:bundle:write",
    [_field("path", [str], ""), _field("format", [str], '"zip" | "tar.gz"'), _field("members", [list], "")],
    [_field("size", [int], "Bytes."), _field("log_runs", [int], "")],
    "Writing a support bundle.",
)
DOCTOR_CHECK_NAMES = (
    "codex_home", "log_dir", "auth_json", "callback_port", "loopback", "browser", "ca_bundle", "issuer", "clock",
)
DOCTOR_CHECKS = {
    name: ActionType(
        f"codex:doctor:{name}",
        [],
        [_field("check_status", [str], '"ok" | "warn" | "fail"'), _field("detail", [str], "")],
        f"The doctor's {name} check.",
    )
    for name in DOCTOR_CHECK_NAMES
}

# --- messages -----------------------------------------------------------------------------------

STATE_MISMATCH = MessageType("codex:callback:state_mismatch", [_SEVERITY], "Missing or wrong state: 400, keep waiting.")
ISSUER_MISMATCH = MessageType("codex:callback:issuer_mismatch", [_SEVERITY], "The callback's `iss` names another issuer (RFC 9207).")
OAUTH_ERROR = MessageType(
    "codex:callback:oauth_error",
    [_field("error_code", [str], "Scrubbed, ≤ 128 chars."), _field("has_error_description", [bool], "")],
    "The issuer redirected back with `error=`.",
)
TAKEOVER = MessageType(
    "codex:listener:takeover",
    [_field("port", [int], ""), _field("previous_cancelled", [bool], "Whether the old listener obeyed /cancel.")],
    "The port was busy: an older login was asked to give it up.",
)
FALLBACK_PORT = MessageType(
    "codex:listener:fallback_port",
    [_field("busy_port", [int], ""), _field("port", [int], "The port tried next.")],
    "The callback port stayed busy: the dialect's next allowed port is tried (openai: 1455 → 1457).",
)
UNLOGGED_REQUESTS = MessageType("codex:listener:unlogged_requests", [_field("count", [int], "")], "Junk requests answered but not logged.")
LATE_SIGNAL = MessageType("codex:listener:late_signal", [_field("signal", [str], "")], "A signal after the outcome was decided.")
BROWSER_OPEN_FAILED = MessageType("codex:browser:open_failed", [_field("error", [str], "Exception class.")], "webbrowser raised.")
DEVICE_POLL_STOPPED = MessageType(
    "codex:device_poll:stopped",
    [_field("polls", [int], ""), _field("slow_downs", [int], ""), _field("final_interval", [int], ""), _field("result", [str], "")],
    "Device polling ended without approval.",
)
KEYRING_FALLBACK = MessageType(
    "codex:credentials:keyring_unavailable",
    [_field("fallback", [str], '"file"'), _field("reason", [str], "")],
    "cli_auth_credentials_store = auto found no usable keyring.",
)
LIBRARY_LOG = MessageType(
    "codex:library_log",
    [_field("logger", [str], ""), _field("level", [str], ""), _field("message", [str], "Scrubbed.")],
    "A WARNING+ record of httpx / httpcore / hpack / hypercorn, scrubbed.",
)
DISCOVERY = MessageType(
    "codex:discovery",
    [_field("source", [str], '"openid-configuration" | "oauth-authorization-server" | "none" (the default /oauth/* paths)'),
     _field("url", _URL, "The document used or the last one tried, sanitised."),
     _field("identifier", _URL, "The issuer identifier in force (the document's `issuer`, else the base URL)."),
     _field("endpoints", [list], "Names of the endpoints taken from the document."),
     _field("problem", [str, None], "Why the defaults are used (source none)."),
     _field("elapsed", [float], "Seconds.")],
    "Issuer discovery (standard dialect), bounded; on failure the default paths are used.",
)
CHECK_PROOF = MessageType(
    "codex:check:proof",
    [_field("proof", [str, None], '"userinfo" | "introspection" | "refresh" | "whoami" | null'),
     _field("online", [bool], "Whether the issuer answered the proof."),
     _field("endpoint", _URL, "Sanitised.")],
    "What `codex login status --check` proved online, and how.",
)
AUTHORIZE_PROBE = MessageType(
    "codex:browser:authorize_probe",
    [_field("verdict", [str], '"ok" | "error_page" | "unreachable"'), _field("fact", [str], '"HTTP 400", an exception class')],
    "No callback after a while: the sign-in URL was fetched once (no redirects followed).",
)
SCRUB_FAILURE = MessageType("codex:scrub_failure", [], "Scrubbing a message failed internally: only the envelope survives.")

ACTION_TYPES = frozenset(
    t.action_type
    for t in (COMMAND, LISTENER, CALLBACK, TOKEN_EXCHANGE, API_KEY_EXCHANGE, SAVE_CREDENTIALS, DEVICE_AUTHORIZATION,
              DEVICE_POLL, REVOKE, REFRESH, BUNDLE_WRITE, *DOCTOR_CHECKS.values())
)
MESSAGE_TYPES = frozenset(
    t.message_type
    for t in (STATE_MISMATCH, ISSUER_MISMATCH, OAUTH_ERROR, TAKEOVER, FALLBACK_PORT, UNLOGGED_REQUESTS, LATE_SIGNAL, BROWSER_OPEN_FAILED,
              DEVICE_POLL_STOPPED, KEYRING_FALLBACK, LIBRARY_LOG, SCRUB_FAILURE, DISCOVERY, CHECK_PROOF, AUTHORIZE_PROBE)
)
