"""Diagnostics: codex-login.log as eliot action trees, scrubbed.

The flows log by calling the declared types of `schema` (`diagnostics.schema.REFRESH(...)`,
`diagnostics.schema.DISCOVERY.log(...)`), whose names are spelled in `names` (eliot-free: the
log's readers use them). `run` starts a run (its reference and root action), `destination` is the
file and its scrubbing destination, `scrubbing` the scrubbing of one message (eliot-free: the log
readers in logview/ import it directly), `rotation` the capped file and its rotated copy.
"""

from typing import TYPE_CHECKING, Any

# Loaded on first use (PEP 562): `codex login status` imports the flows, which name these, and
# `codex login log` reads rotated files through diagnostics.rotation; neither may pay for eliot,
# which schema, run and destination import.
_HOMES = {
    "LOG_FILE_NAME": "destination",
    "ScrubbingDestination": "destination",
    "open_log": "destination",
    "quiet_library_loggers": "destination",
    "command_action": "run",
    "current_reference": "run",
}
_SUBMODULES = ("schema",)


def __getattr__(name: str) -> Any:
    import importlib

    if name in _SUBMODULES:
        return importlib.import_module(f"{__name__}.{name}")  # binds itself here as it loads
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f"{__name__}.{_HOMES[name]}"), name)
    globals()[name] = value
    return value


if TYPE_CHECKING:
    from codexlogin.diagnostics import schema  # noqa: F401 - provided lazily below
    from codexlogin.diagnostics.destination import LOG_FILE_NAME, ScrubbingDestination, open_log, quiet_library_loggers
    from codexlogin.diagnostics.run import command_action, current_reference


__all__ = [
    "LOG_FILE_NAME",
    "ScrubbingDestination",
    "command_action",
    "current_reference",
    "open_log",
    "quiet_library_loggers",
]
