"""What every public API call shares: its Settings (as the CLI makes them) and its logged run.

Settings come from the same sources as the CLI's (defaults < $CODEX_HOME/config.toml <
CODEX_LOGIN_* < keyword arguments); `codex_home=` stands for the CODEX_HOME variable, and a whole
`Settings` may be passed instead. A logged run writes the same codex-login.log tree as the CLI's
command (root `codex:command` with its command and flow) and names the program that asked in the
root action's `caller` field. Nothing here prints or touches signal handling.

Several runs may be open at once in one process (the app-server serves a login while it answers
other requests): the log file is opened once per log directory and shared; each run keeps its own
secrets (a context variable, per trio task), so each run's messages are scrubbed of its own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

from codexlogin.config import Settings, load_settings
from codexlogin.errors import InternalError, LoginFailure
from codexlogin.redact import REDACTED, mask_clip
from codexlogin.redact.secrets import run_secrets

DEFAULT_CALLER = "python"
MAX_DETAIL_CHARS = 5000

_open_logs: dict[Path, tuple[int, contextlib.ExitStack]] = {}  # log dir -> (runs using it, its destination)


def resolve_settings(
    settings: Settings | None = None,
    *,
    codex_home: str | os.PathLike[str] | None = None,
    issuer: str | None = None,
    client_id: str | None = None,
    port: int | None = None,
    open_browser: bool | None = None,
    timeout: float | None = None,
    log_dir: str | os.PathLike[str] | None = None,
) -> Settings:
    """The effective Settings: `settings` as given, else the CLI's sources; keyword arguments win."""
    flags: dict[str, object] = {
        "issuer": issuer,
        "client_id": client_id,
        "port": port,
        "no_browser": None if open_browser is None else not open_browser,
        "timeout": timeout,
        "log_dir": None if log_dir is None else Path(log_dir),
    }
    if settings is not None:
        changes: dict[str, Any] = {key: value for key, value in flags.items() if value is not None}
        if codex_home is not None:
            changes["codex_home"] = Path(codex_home)
        return replace(settings, **changes) if changes else settings
    environ = dict(os.environ)
    if codex_home is not None:
        environ["CODEX_HOME"] = os.fspath(codex_home)
    return load_settings(flags, environ=environ)


@contextlib.contextmanager
def _log_for(log_dir: Path) -> Iterator[None]:
    """A run's own secrets, and the log destination for `log_dir`: opened by the first run that
    needs it, closed when the last one using it ends (runs may overlap and end in any order)."""
    from codexlogin.diagnostics.destination import open_destination

    if log_dir not in _open_logs:
        stack = contextlib.ExitStack()
        stack.enter_context(open_destination(log_dir))  # unwritable: the runs go on without a log
        _open_logs[log_dir] = (0, stack)
    users, stack = _open_logs[log_dir]
    _open_logs[log_dir] = (users + 1, stack)
    try:
        with run_secrets():
            yield
    finally:
        users, stack = _open_logs[log_dir]
        if users == 1:
            del _open_logs[log_dir]
            stack.close()
        else:
            _open_logs[log_dir] = (users - 1, stack)


@contextlib.contextmanager
def api_run(command: str, flow: str, settings: Settings, *, caller: str, issuer: str | None = None) -> Iterator[None]:
    """One logged run for an API call: its root action ends as the block does (success, a
    LoginFailure with its outcome and exit code, or trio.Cancelled). A failure leaving it carries
    the run's reference and shows none of the run's secrets; a bug becomes InternalError."""
    from codexlogin import diagnostics

    try:  # CODEX_HOME holds credentials: private from the start
        settings.codex_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        pass
    with _log_for(settings.resolved_log_dir):
        try:
            with diagnostics.command_action(command, flow, issuer=issuer or settings.issuer, caller=caller) as action:
                reference = diagnostics.current_reference()
                try:
                    yield
                except BaseExceptionGroup as group:  # a nursery's single failure: logged as itself
                    leaf: BaseException = group
                    while isinstance(leaf, BaseExceptionGroup) and len(leaf.exceptions) == 1:
                        leaf = leaf.exceptions[0]
                    if leaf is group:
                        raise
                    raise leaf from None
                action.add_success_fields(outcome="success", exit_code=0)
        except LoginFailure as failure:
            failure.detail = mask_clip(failure.detail, MAX_DETAIL_CHARS)
            failure.summary = mask_clip(failure.summary, MAX_DETAIL_CHARS, replacement=REDACTED)
            failure.args = (failure.summary, *failure.args[1:])
            failure.reference = failure.reference or reference
            raise
        except Exception as exc:
            raise InternalError(f"internal error: {type(exc).__name__}: {exc}") from exc


__all__ = ["DEFAULT_CALLER", "api_run", "resolve_settings"]
