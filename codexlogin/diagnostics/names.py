"""The names of the log's types (`codex:…`), spelled once, without eliot.

`schema` declares the eliot types under these names (their fields and meaning) and the log's
readers (logview, support) match on them: neither side can rename a type alone. Nothing here
imports eliot, so the renderer and `codex login log` stay light (tests/test_startup.py).
"""

from __future__ import annotations

PREFIX = "codex:"  # of every type the product logs

# --- actions ------------------------------------------------------------------------------------

COMMAND = "codex:command"
LISTENER = "codex:listener"
CALLBACK = "codex:callback"
TOKEN_EXCHANGE = "codex:token_exchange"
API_KEY_EXCHANGE = "codex:api_key_exchange"
SAVE_CREDENTIALS = "codex:save_credentials"
DEVICE_AUTHORIZATION = "codex:device_authorization"
DEVICE_POLL = "codex:device_poll"
REVOKE = "codex:revoke"
REFRESH = "codex:refresh"
ISSUER_PROBE = "codex:issuer_probe"
BUNDLE_WRITE = "codex:bundle:write"
#: The doctor's checks, in the order they are shown; each is the action `codex:doctor:<name>`.
DOCTOR_CHECK_NAMES = (
    "codex_home",
    "log_dir",
    "auth_json",
    "callback_port",
    "loopback",
    "browser",
    "ca_bundle",
    "issuer",
    "endpoints",
    "clock",
)
DOCTOR_CHECKS = {name: f"{PREFIX}doctor:{name}" for name in DOCTOR_CHECK_NAMES}

# --- messages -----------------------------------------------------------------------------------

STATE_MISMATCH = "codex:callback:state_mismatch"
ISSUER_MISMATCH = "codex:callback:issuer_mismatch"
OAUTH_ERROR = "codex:callback:oauth_error"
TAKEOVER = "codex:listener:takeover"
FALLBACK_PORT = "codex:listener:fallback_port"
UNLOGGED_REQUESTS = "codex:listener:unlogged_requests"
LATE_SIGNAL = "codex:listener:late_signal"
BROWSER_OPEN_FAILED = "codex:browser:open_failed"
BROWSER_OPENED = "codex:browser:opened"
PASTED_REDIRECT = "codex:callback:pasted"
DEVICE_POLL_STOPPED = "codex:device_poll:stopped"
KEYRING_FALLBACK = "codex:credentials:keyring_unavailable"
LIBRARY_LOG = "codex:library_log"
DISCOVERY = "codex:discovery"
CHECK_PROOF = "codex:check:proof"
AUTHORIZE_PROBE = "codex:browser:authorize_probe"
SCRUB_FAILURE = "codex:scrub_failure"
OTEL_EXPORT_FAILED = "codex:otel:export_failed"
