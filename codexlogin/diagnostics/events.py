"""Writing the declared log schema: one small function per action or message the flows record.

Values are scrubbed at the call too (defence in depth; the destination scrubs again): fields
named `issuer`, `*_url`, `*_uri`, `*_endpoint` go through `sanitize_url`, everything through
`scrub_fields` (secret-named keys → `<redacted>`, free text → `scrub_text`).
"""

from __future__ import annotations

import base64
import secrets
from collections.abc import Mapping
from typing import Any

import eliot
from eliot import ActionType, MessageType

from codexlogin import __version__
from codexlogin.diagnostics import schema
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


def _prepare(fields: Mapping[str, Any]) -> dict[str, Any]:
    prepared: dict[str, Any] = {}
    for name, value in fields.items():
        if name in _RESERVED or name.startswith("__eliot"):
            raise ValueError(f"reserved log field name: {name!r}")
        if isinstance(value, str) and _is_url_field(name):
            value = sanitize_url(value)
        prepared[name] = value
    scrubbed = scrub_fields(prepared)
    return scrubbed if isinstance(scrubbed, dict) else {}


# The declared types name and document what is logged; their eliot serializers are not used at
# run time, because eliot's serializer makes every declared field mandatory in every message
# (a missing one turns the message into a traceback) and costs time per message.


def start(action_type: ActionType, **fields: Any) -> eliot.Action:
    """Start an action of a declared type (schema.py) with scrubbed fields."""
    return eliot.start_action(action_type=action_type.action_type, **_prepare(fields))


def emit(message_type: MessageType, **fields: Any) -> None:
    """Log a message of a declared type (schema.py) with scrubbed fields."""
    eliot.log_message(message_type=message_type.message_type, **_prepare(fields))


# --- the flows' vocabulary ------------------------------------------------------------------------


#: Length of a run's reference: 8 characters of RFC 4648 base32 (40 random bits).
REFERENCE_CHARS = 8
_current_reference: str | None = None


def new_reference() -> str:
    """A short random reference for one run (e.g. `K3X9QZ2A`): not secret, only a name a user can
    read off a page or an `error:` line and give to `codex login log --grep`."""
    return base64.b32encode(secrets.token_bytes(REFERENCE_CHARS * 5 // 8)).decode("ascii")


def current_reference() -> str | None:
    """The reference of the run most recently started in this process (None before any run).

    A command runs one logged run, so after its run it still names that run (the failure line
    printed after the log is closed shows it)."""
    return _current_reference


def command_action(command: str, flow: str, **fields: Any) -> eliot.Action:
    """`codex:command`: the root action of a run, with a new `reference`. The run's boundary adds
    outcome/exit_code."""
    global _current_reference
    _current_reference = reference = new_reference()
    return start(schema.COMMAND, command=command, flow=flow, version=__version__, reference=reference, **fields)


def listener_action(host: str, port: int) -> eliot.Action:
    return start(schema.LISTENER, host=host, port=int(port))


def callback_action(path: str, *, has_code: bool, has_state: bool, has_error: bool, state_valid: bool) -> eliot.Action:
    """`codex:callback`: one request to the listener. Only the path is logged, never the query."""
    return start(
        schema.CALLBACK,
        path=sanitize_url(path).partition("?")[0],
        has_code=bool(has_code),
        has_state=bool(has_state),
        has_error=bool(has_error),
        state_valid=bool(state_valid),
    )


def log_state_mismatch() -> None:
    emit(schema.STATE_MISMATCH, severity="warning")


def log_issuer_mismatch() -> None:
    emit(schema.ISSUER_MISMATCH, severity="warning")


def log_oauth_error(error_code: str, has_error_description: bool) -> None:
    emit(schema.OAUTH_ERROR, error_code=scrub_clip(str(error_code), _MAX_ERROR_CODE), has_error_description=bool(has_error_description))


def log_takeover(port: int, previous_cancelled: bool) -> None:
    emit(schema.TAKEOVER, port=port, previous_cancelled=previous_cancelled)


def log_fallback_port(busy_port: int, port: int) -> None:
    emit(schema.FALLBACK_PORT, busy_port=busy_port, port=port)


def log_unlogged_requests(count: int) -> None:
    emit(schema.UNLOGGED_REQUESTS, count=count)


def log_late_signal(signal: str) -> None:
    emit(schema.LATE_SIGNAL, signal=signal)


def log_browser_open_failed(error: str) -> None:
    emit(schema.BROWSER_OPEN_FAILED, error=error)


def log_authorize_probe(verdict: str, fact: str) -> None:
    emit(schema.AUTHORIZE_PROBE, verdict=verdict, fact=fact)


def log_discovery(**fields: Any) -> None:
    emit(schema.DISCOVERY, **fields)


def log_check_proof(proof: str | None, online: bool, endpoint: str) -> None:
    emit(schema.CHECK_PROOF, proof=proof, online=online, endpoint=endpoint)


def log_keyring_fallback(reason: str) -> None:
    emit(schema.KEYRING_FALLBACK, fallback="file", reason=reason)


def token_exchange_action(issuer: str, token_endpoint: str, redirect_uri: str) -> eliot.Action:
    return start(schema.TOKEN_EXCHANGE, issuer=issuer, token_endpoint=token_endpoint, redirect_uri=redirect_uri)


def api_key_exchange_action(token_endpoint: str) -> eliot.Action:
    return start(schema.API_KEY_EXCHANGE, token_endpoint=token_endpoint)


def save_credentials_action(path: str, mode: str) -> eliot.Action:
    return start(schema.SAVE_CREDENTIALS, path=str(path), mode=mode)


def revoke_action(revoke_endpoint: str, token_type_hint: str) -> eliot.Action:
    return start(schema.REVOKE, revoke_endpoint=revoke_endpoint, token_type_hint=token_type_hint)


def refresh_action(reason: str, backend: str, token_endpoint: str) -> eliot.Action:
    return start(schema.REFRESH, reason=reason, backend=backend, token_endpoint=token_endpoint)


def device_authorization_action(endpoint: str) -> eliot.Action:
    return start(schema.DEVICE_AUTHORIZATION, endpoint=endpoint)


def device_poll_action(interval: int, expires_in: int) -> eliot.Action:
    return start(schema.DEVICE_POLL, interval=interval, expires_in=expires_in)


def log_device_poll_stopped(**fields: Any) -> None:
    emit(schema.DEVICE_POLL_STOPPED, **fields)


def doctor_check_action(name: str) -> eliot.Action:
    return start(schema.DOCTOR_CHECKS[name])


def bundle_write_action(path: str, format: str, members: list[str]) -> eliot.Action:
    return start(schema.BUNDLE_WRITE, path=path, format=format, members=members)
