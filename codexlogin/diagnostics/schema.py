"""The declared schema of codex-login.log: every `codex:*` action and message type, once.

The flows log by calling these types: `with REFRESH(reason=…, backend=…, token_endpoint=…) as
action:` starts an action, `DISCOVERY.log(source=…, …)` writes a message. Their names are spelled
in `names` (eliot-free: the log's readers match on them). Every message carries eliot's envelope
(`timestamp`, `task_uuid`, `task_level`); actions add `action_type` and `action_status` (`started`
| `succeeded` | `failed`). A failed action adds `exception` (dotted class name) and `reason`
(scrubbed), and for a `codexlogin.errors.LoginFailure` also `outcome`, `exit_code`, `error_code` and
the failure's scrubbed facts (e.g. an issuer error's `status`, `kind`, `error_message`) — once, on
the action where it happened: the actions the failure leaves through end failed with only
`failed_in` (that action's type), the root `codex:command` also with the run's `outcome` and
`exit_code` (diagnostics/failures.py). A `trio.Cancelled` failure means the action was cancelled
(timeout, Ctrl-C), not that it errored.

The log never holds codes, states, verifiers, tokens, API keys, Authorization/Cookie headers or raw
backend bodies: field names in `redact.SECRET_KEYS` are always `<redacted>`. Values are scrubbed
as they are logged (defence in depth: the destination scrubs every message again): a declared
field's serializer first (e.g. the callback's path loses its query), then fields named `issuer`,
`*_url`, `*_uri`, `*_endpoint` go through `sanitize_url` and everything through `scrub_fields`
(secret-named keys → `<redacted>`, free text → `scrub_text`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import eliot
from eliot import ActionType, Field, MessageType

from codexlogin.diagnostics import names
from codexlogin.redact import sanitize_url, scrub_clip, scrub_fields

_MAX_ERROR_CODE = 128
_URL_FIELD_SUFFIXES = ("_url", "_uri", "_endpoint")
# eliot's own keys and start_action's parameters: a field with one of these names would corrupt
# the envelope or be taken as an argument.
_RESERVED = frozenset(
    {"action_type", "action_status", "message_type", "task_uuid", "task_level", "timestamp", "logger", "_serializers"}
)


def _is_url_field(name: str) -> bool:
    name = name.lower()
    return name in ("issuer", "url", "uri", "endpoint") or name.endswith(_URL_FIELD_SUFFIXES)


def _prepare(declared: Mapping[str, Field], fields: Mapping[str, Any]) -> dict[str, Any]:
    """The fields as they are logged: declared serializer, URL sanitizing, scrubbing."""
    prepared: dict[str, Any] = {}
    for name, value in fields.items():
        if name in _RESERVED or name.startswith("__eliot"):
            raise ValueError(f"reserved log field name: {name!r}")
        if name in declared:
            value = declared[name].serialize(value)
        if isinstance(value, str) and _is_url_field(name):
            value = sanitize_url(value)
        prepared[name] = value
    scrubbed = scrub_fields(prepared)
    return scrubbed if isinstance(scrubbed, dict) else {}


# The types serialize their fields when they are called (`_prepare`), not through eliot's message
# serializer: that one makes every declared field mandatory in every message (a missing one turns
# the message into a traceback) and costs time per message.


class ScrubbedActionType(ActionType):  # type: ignore[misc]  # eliot ships no types
    """An eliot ActionType whose start fields are prepared as above. Called with the fields only
    (no `logger`: that name is refused like the envelope's)."""

    def __call__(self, **fields: Any) -> eliot.Action:
        return eliot.start_action(action_type=self.action_type, **_prepare(self._serializers.start.fields, fields))


class ScrubbedMessageType(MessageType):  # type: ignore[misc]  # eliot ships no types
    """An eliot MessageType whose fields are prepared as above."""

    def log(self, **fields: Any) -> None:
        eliot.log_message(message_type=self.message_type, **_prepare(self._serializer.fields, fields))


def _field(name: str, kinds: Sequence[type | None], description: str, serialize: Callable[[Any], Any] | None = None) -> Field:
    """A declared field: `kinds` are the JSON types it is logged as, after `serialize`, if any."""
    typed = Field.for_types(name, kinds, description)
    if serialize is None:
        return typed
    return Field(name, serialize, description, lambda value: typed.validate(serialize(value)))


def _request_path(path: str) -> str:
    return sanitize_url(path).partition("?")[0]


def _error_code(code: object) -> str:
    return scrub_clip(str(code), _MAX_ERROR_CODE)  # redacted, then cut: no secret's head survives


_URL = [str]
_ISSUER = _field("issuer", _URL, "The issuer base URL, sanitised.")
_STATUS = _field("status", [int], "HTTP status of the issuer's reply.")
_SEVERITY = _field("severity", [str], "warning")

# --- actions ------------------------------------------------------------------------------------

COMMAND = ScrubbedActionType(
    names.COMMAND,
    [
        _field("command", [str], '"login", "login status", "logout", …'),
        _field("flow", [str], '"browser", "device", …'),
        _field("version", [str], "codexlogin.__version__"),
        _ISSUER,
        _field(
            "reference",
            [str],
            "The run's short random reference (8 base32 characters, not secret): shown on its pages, "
            "`error:` lines and --json output; `codex login log --grep REF` finds the run.",
        ),
        _field(
            "caller",
            [str],
            'The program that drove the run: the Python API\'s `caller=` ("python" by default) or '
            '"app-server (<clientInfo.name>)"; absent for a CLI command.',
        ),
    ],
    [_field("outcome", [str], '"success"'), _field("exit_code", [int], "0")],
    "Root of every run's task.",
)
LISTENER = ScrubbedActionType(
    names.LISTENER,
    [_field("host", [str], "Loopback address."), _field("port", [int], "The bound port.", int)],
    [],
    "The loopback callback listener's lifetime.",
)
CALLBACK = ScrubbedActionType(
    names.CALLBACK,
    [_field("path", [str], "Request path, query dropped.", _request_path)]
    + [
        _field(name, [bool], "True only when present and non-empty.", bool)
        for name in ("has_code", "has_state", "has_error", "state_valid")
    ],
    [
        _STATUS,
        _field("decision", [str], "What the listener did."),
        _field("onboarding_entrypoint", [str], "The openai issuer's state suffix, when it sent one."),
    ],
    "One request to the listener.",
)
TOKEN_EXCHANGE = ScrubbedActionType(
    names.TOKEN_EXCHANGE,
    [_ISSUER, _field("token_endpoint", _URL, "Sanitised."), _field("redirect_uri", _URL, "Sanitised.")],
    [_STATUS],
    "The authorization-code exchange.",
)
API_KEY_EXCHANGE = ScrubbedActionType(
    names.API_KEY_EXCHANGE,
    [_field("token_endpoint", _URL, "Sanitised.")],
    [_field("obtained", [bool], "Whether an API key came back; a refusal is not a failure.")],
    "The optional id_token → API key token exchange.",
)
SAVE_CREDENTIALS = ScrubbedActionType(
    names.SAVE_CREDENTIALS,
    [_field("path", [str], "auth.json path.", str), _field("mode", [str], "cli_auth_credentials_store.")],
    [_field("backend", [str], '"file" | "keyring"'), _field("auth_mode", [str], '"chatgpt" | "apikey"')],
    "Writing auth.json or the keyring entry, under auth.lock.",
)
DEVICE_AUTHORIZATION = ScrubbedActionType(
    names.DEVICE_AUTHORIZATION,
    [_field("endpoint", _URL, "Device authorization endpoint, sanitised.")],
    [_field("expires_in", [int], ""), _field("interval", [int], ""), _field("has_verification_uri_complete", [bool], "")],
    "Asking the issuer for a device code (the codes themselves are never logged).",
)
DEVICE_POLL = ScrubbedActionType(
    names.DEVICE_POLL,
    [_field("interval", [int], "Seconds."), _field("expires_in", [int], "Seconds.")],
    [
        _field("polls", [int], ""),
        _field("slow_downs", [int], ""),
        _field("final_interval", [int], ""),
        _field("result", [str], ""),
    ],
    "The whole device polling loop, one action (no message per poll).",
)
REVOKE = ScrubbedActionType(
    names.REVOKE,
    [_field("revoke_endpoint", _URL, "Sanitised."), _field("token_type_hint", [str], "")],
    [_STATUS],
    "RFC 7009 revocation, best effort.",
)
REFRESH = ScrubbedActionType(
    names.REFRESH,
    [
        _field("reason", [str], '"expiring" | "stale" | "forced"'),
        _field("backend", [str], ""),
        _field("token_endpoint", _URL, ""),
    ],
    [
        _field("refreshed", [bool], ""),
        _field("rotated", [bool], ""),
        _field("lock_wait", [float], "Seconds waited for auth.lock."),
    ],
    "Refreshing the stored tokens under auth.lock.",
)
ISSUER_PROBE = ScrubbedActionType(
    names.ISSUER_PROBE,
    [
        _field("url", _URL, "The token endpoint whose route is probed, sanitised."),
        _field("target", [str], '"issuer" (its host, and for https a TLS handshake) | "proxy" (its TCP port only)'),
        _field("address", [str], "host:port connected to."),
    ],
    [
        _field("result", [str], '"reachable" | "unclear" | "unreachable" (the login went on regardless: it was decided)'),
        _field("kind", [str], 'What failed: "dns" | "connect" | "tls" | "timeout".'),
        _field("elapsed", [float], "Seconds."),
    ],
    "The openai dialect's reachability probe (no request sent), beside a login whose URL is shown.",
)
BUNDLE_WRITE = ScrubbedActionType(
    names.BUNDLE_WRITE,
    [_field("path", [str], ""), _field("format", [str], '"zip" | "tar.gz"'), _field("members", [list], "")],
    [_field("size", [int], "Bytes."), _field("log_runs", [int], "")],
    "Writing a support bundle.",
)
DOCTOR_CHECK_NAMES = names.DOCTOR_CHECK_NAMES
DOCTOR_CHECKS = {
    name: ScrubbedActionType(
        action_type,
        [],
        [_field("check_status", [str], '"ok" | "warn" | "fail"'), _field("detail", [str], "")],
        f"The doctor's {name} check.",
    )
    for name, action_type in names.DOCTOR_CHECKS.items()
}

# --- messages -----------------------------------------------------------------------------------

STATE_MISMATCH = ScrubbedMessageType(names.STATE_MISMATCH, [_SEVERITY], "Missing or wrong state: 400, keep waiting.")
ISSUER_MISMATCH = ScrubbedMessageType(
    names.ISSUER_MISMATCH,
    [_SEVERITY],
    "The callback's `iss` names another issuer, or is missing where discovery promised it (RFC 9207).",
)
OAUTH_ERROR = ScrubbedMessageType(
    names.OAUTH_ERROR,
    [_field("error_code", [str], "Scrubbed, ≤ 128 chars.", _error_code), _field("has_error_description", [bool], "", bool)],
    "The issuer redirected back with `error=`.",
)
TAKEOVER = ScrubbedMessageType(
    names.TAKEOVER,
    [_field("port", [int], ""), _field("previous_cancelled", [bool], "Whether the old listener obeyed /cancel.")],
    "The port was busy: an older login was asked to give it up.",
)
FALLBACK_PORT = ScrubbedMessageType(
    names.FALLBACK_PORT,
    [_field("busy_port", [int], ""), _field("port", [int], "The port tried next.")],
    "The callback port stayed busy: the dialect's next allowed port is tried (openai: 1455 → 1457).",
)
UNLOGGED_REQUESTS = ScrubbedMessageType(
    names.UNLOGGED_REQUESTS, [_field("count", [int], "")], "Junk requests answered but not logged."
)
LATE_SIGNAL = ScrubbedMessageType(names.LATE_SIGNAL, [_field("signal", [str], "")], "A signal after the outcome was decided.")
BROWSER_OPEN_FAILED = ScrubbedMessageType(
    names.BROWSER_OPEN_FAILED, [_field("error", [str], "Exception class.")], "webbrowser raised."
)
BROWSER_OPENED = ScrubbedMessageType(
    names.BROWSER_OPENED, [_field("opener", [str], "wslview | powershell.exe | cmd.exe")], "The Windows browser opened (WSL)."
)
PASTED_REDIRECT = ScrubbedMessageType(
    names.PASTED_REDIRECT,
    [_field("usable", [bool], "Whether it was a loopback redirect address (the callback that follows is its).")],
    "A redirect address pasted into the terminal (never its text).",
)
DEVICE_POLL_STOPPED = ScrubbedMessageType(
    names.DEVICE_POLL_STOPPED,
    [
        _field("polls", [int], ""),
        _field("slow_downs", [int], ""),
        _field("final_interval", [int], ""),
        _field("result", [str], ""),
    ],
    "Device polling ended without approval.",
)
KEYRING_FALLBACK = ScrubbedMessageType(
    names.KEYRING_FALLBACK,
    [_field("fallback", [str], '"file"'), _field("reason", [str], "")],
    "cli_auth_credentials_store = auto found no usable keyring.",
)
LIBRARY_LOG = ScrubbedMessageType(
    names.LIBRARY_LOG,
    [_field("logger", [str], ""), _field("level", [str], ""), _field("message", [str], "Scrubbed.")],
    "A WARNING+ record of httpx / httpcore / hpack / hypercorn, scrubbed.",
)
DISCOVERY = ScrubbedMessageType(
    names.DISCOVERY,
    [
        _field("source", [str], '"openid-configuration" | "oauth-authorization-server" | "none" (the default /oauth/* paths)'),
        _field("url", _URL, "The document used or the last one tried, sanitised."),
        _field("identifier", _URL, "The issuer identifier in force (the document's `issuer`, else the base URL)."),
        _field("endpoints", [list], "Names of the endpoints taken from the document."),
        _field("problem", [str, None], "Why the defaults are used (source none)."),
        _field("elapsed", [float], "Seconds."),
    ],
    "Issuer discovery (standard dialect), bounded; on failure the default paths are used.",
)
CHECK_PROOF = ScrubbedMessageType(
    names.CHECK_PROOF,
    [
        _field("proof", [str, None], '"userinfo" | "introspection" | "refresh" | "whoami" | null'),
        _field("online", [bool], "Whether the issuer answered the proof."),
        _field("endpoint", _URL, "Sanitised."),
    ],
    "What `codex login status --check` proved online, and how.",
)
AUTHORIZE_PROBE = ScrubbedMessageType(
    names.AUTHORIZE_PROBE,
    [_field("verdict", [str], '"ok" | "error_page" | "unreachable"'), _field("fact", [str], '"HTTP 400", an exception class')],
    "No callback after a while: the sign-in URL was fetched once (no redirects followed).",
)
SCRUB_FAILURE = ScrubbedMessageType(names.SCRUB_FAILURE, [], "Scrubbing a message failed internally: only the envelope survives.")
OTEL_EXPORT_FAILED = ScrubbedMessageType(
    names.OTEL_EXPORT_FAILED,
    [_field("endpoint", _URL, "The [otel] collector's traces URL, sanitised."), _field("reason", [str], "Why, one line.")],
    "The run's trace did not reach the [otel] collector (the run's outcome is unchanged).",
)

ACTION_TYPES = frozenset(
    t.action_type
    for t in (
        COMMAND,
        LISTENER,
        CALLBACK,
        TOKEN_EXCHANGE,
        API_KEY_EXCHANGE,
        SAVE_CREDENTIALS,
        DEVICE_AUTHORIZATION,
        DEVICE_POLL,
        REVOKE,
        REFRESH,
        ISSUER_PROBE,
        BUNDLE_WRITE,
        *DOCTOR_CHECKS.values(),
    )
)
MESSAGE_TYPES = frozenset(
    t.message_type
    for t in (
        STATE_MISMATCH,
        ISSUER_MISMATCH,
        OAUTH_ERROR,
        TAKEOVER,
        FALLBACK_PORT,
        UNLOGGED_REQUESTS,
        LATE_SIGNAL,
        BROWSER_OPEN_FAILED,
        BROWSER_OPENED,
        PASTED_REDIRECT,
        DEVICE_POLL_STOPPED,
        KEYRING_FALLBACK,
        LIBRARY_LOG,
        SCRUB_FAILURE,
        DISCOVERY,
        CHECK_PROOF,
        AUTHORIZE_PROBE,
        OTEL_EXPORT_FAILED,
    )
)
