"""Diagnostics: codex-login.log as eliot action trees, scrubbed.

The schema (every `codex:*` type, declared once) is in `schema`, the functions that write it in
`events`, the file and its scrubbing destination in `destination`, the scrubbing of one message in
`scrubbing` (eliot-free: the log readers in support/ import it directly). Everything else here is
re-exported.
"""

from typing import TYPE_CHECKING, Any

# Loaded on first use (PEP 562): `codex login log` reads rotated files through
# diagnostics.rotation and must not pay for eliot, which destination and events import.
_HOMES = {
    "LOG_FILE_NAME": "destination",
    "ScrubbingDestination": "destination",
    "open_log": "destination",
    "quiet_library_loggers": "destination",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    import importlib

    module = importlib.import_module(f"{__name__}.{_HOMES.get(name, 'events')}")
    value = getattr(module, name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from codexlogin.diagnostics.destination import LOG_FILE_NAME, ScrubbingDestination, open_log, quiet_library_loggers
    from codexlogin.diagnostics.events import (
        api_key_exchange_action,
        bundle_write_action,
        callback_action,
        command_action,
        current_reference,
        device_authorization_action,
        device_poll_action,
        doctor_check_action,
        emit,
        listener_action,
        log_authorize_probe,
        log_browser_open_failed,
        log_check_proof,
        log_device_poll_stopped,
        log_discovery,
        log_fallback_port,
        log_issuer_mismatch,
        log_keyring_fallback,
        log_late_signal,
        log_oauth_error,
        log_state_mismatch,
        log_takeover,
        log_unlogged_requests,
        refresh_action,
        revoke_action,
        save_credentials_action,
        start,
        token_exchange_action,
    )


__all__ = [
    "LOG_FILE_NAME",
    "ScrubbingDestination",
    "api_key_exchange_action",
    "bundle_write_action",
    "callback_action",
    "command_action",
    "current_reference",
    "device_authorization_action",
    "device_poll_action",
    "doctor_check_action",
    "emit",
    "listener_action",
    "log_authorize_probe",
    "log_browser_open_failed",
    "log_check_proof",
    "log_device_poll_stopped",
    "log_discovery",
    "log_fallback_port",
    "log_issuer_mismatch",
    "log_keyring_fallback",
    "log_late_signal",
    "log_oauth_error",
    "log_state_mismatch",
    "log_takeover",
    "log_unlogged_requests",
    "open_log",
    "quiet_library_loggers",
    "refresh_action",
    "revoke_action",
    "save_credentials_action",
    "start",
    "token_exchange_action",
]
