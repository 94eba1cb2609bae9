"""The one place a failure becomes an exit code: `@command` around every command, `logged_run`
around every logged flow.

`logged_run` opens codex-login.log and the run's root `codex:command` action, so the log records
the same outcome the terminal shows; `@command` turns any LoginFailure (and any bug, as exit 70)
into one `error:` line on stderr and the failure's exit code.

The run's own secrets never reach the terminal, even when an issuer echoes them back: a failure
leaving `logged_run` has them masked as `[REDACTED]` while the run's secret set is still open
(report_failure runs after the run, when the set is gone), and `report_failure` masks again with
whatever set is open when it runs inside a run. The line is bounded (MAX_ERROR_LINE_CHARS).
"""

from __future__ import annotations

import contextlib
import functools
import sys
from collections.abc import Callable, Iterator

from codexlogin.config import Settings
from codexlogin.errors import InternalError, Interrupted, LoginFailure
from codexlogin.terminal import as_invoked, one_line, program_name

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing (~3 ms) before the sign-in URL; mypy reads this alike
if TYPE_CHECKING:
    from typing import Any, TextIO, TypeVar

    F = TypeVar("F", bound=Callable[..., int])

#: The `error:` line's detail is cut here (after masking), with a "…(N more characters)" marker.
MAX_ERROR_LINE_CHARS = 5000


def next_step(reference: str | None, *, doctor: bool = True) -> str:
    """What ends a logged run's `error:` line: its reference and the commands that show more
    (`doctor=False` when the failure is doctor's own)."""
    if not reference:
        return ""
    name = program_name()
    more = f"{name} login log --grep {reference}" + (f", {name} login doctor" if doctor else "")
    return f" (ref {reference}; more: {more})"


def report_failure(failure: LoginFailure, stderr: TextIO | None = None) -> int:
    """The one way a failure reaches the terminal: one `error:` line, then its exit code. A failure
    that left a logged run ends with the run's reference and where to look next."""
    from codexlogin.redact import mask_clip  # its patterns compile on a failure only

    line = one_line(mask_clip(failure.detail, MAX_ERROR_LINE_CHARS))
    suffix = next_step(failure.reference, doctor=failure.outcome != "checks_failed") if failure.points_to_log else ""
    print(as_invoked(f"error: {line}{suffix}"), file=stderr or sys.stderr, flush=True)
    return int(failure.exit_code)


def mask_failure(failure: LoginFailure) -> LoginFailure:
    """Mask the open run's secrets in what the failure shows (detail: `[REDACTED]`; summary and
    str(): the log's `<redacted>`), so that it can be reported after the run. Returns it."""
    from codexlogin.redact import REDACTED, mask_clip

    failure.detail = mask_clip(failure.detail, MAX_ERROR_LINE_CHARS)
    failure.summary = mask_clip(failure.summary, MAX_ERROR_LINE_CHARS, replacement=REDACTED)
    failure.args = (failure.summary, *failure.args[1:])
    if failure.reference is None:  # mask_failure runs as the failure leaves its run
        from codexlogin.diagnostics.run import current_reference

        failure.reference = current_reference()
    return failure


def internal_error(exc: BaseException) -> InternalError:
    return InternalError(f"internal error: {type(exc).__name__}: {exc}")


def within_boundary(fn: Callable[..., int], *args: Any, verbose_shown: bool | None = None, **kwargs: Any) -> int:
    """Run one command behind the failure boundary: LoginFailure → its exit code, a bug → 70;
    never a traceback. `verbose_shown`: the command's --verbose (None: it has no such flag)."""
    from codexlogin.cli import verbose  # the issuer's whole reply: --verbose, terminal only

    verbose.forget()
    try:
        return fn(*args, **kwargs)
    except LoginFailure as failure:
        return report_failure(failure)
    except Exception as exc:  # a bug: one line and exit 70; the log (if open) has the type
        from codexlogin.cli.streams import output_broken

        if output_broken(exc):  # our reader went away: cli.entry ends quietly
            raise
        return report_failure(internal_error(exc))
    finally:
        if verbose_shown is not None:
            verbose.show(verbose_shown)


def command(fn: F) -> F:
    """A command's failure boundary (within_boundary), with the --verbose of its IssuerOptions."""

    import inspect  # only when a command is declared (the cyclopts path), not in the fast lane

    parameter = inspect.signature(fn).parameters.get("options")  # IssuerOptions: has --verbose
    default_options = parameter.default if parameter is not None else None

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> int:
        shown = getattr(kwargs.get("options", default_options), "verbose", None)
        return within_boundary(fn, *args, verbose_shown=None if shown is None else bool(shown), **kwargs)

    return run  # type: ignore[return-value]


#: How a command's run is named where a signal ends it: "status check cancelled (Ctrl-C)".
RUN_NAMES = {"login status": "status check", "login doctor": "doctor", "login bundle": "bundle", "login token": "token"}


def _innermost(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member exception groups (trio nurseries make them)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


@contextlib.contextmanager
def logged_run(command_name: str, flow: str, settings: Settings, *, issuer: str | None = None) -> Iterator[None]:
    """Run the block as one task in codex-login.log, its root action ending as the block does.

    `issuer`: the issuer the run talks to when it is not the settings' (a command that uses stored
    tokens goes to the credential's own issuer), for the root action's `issuer` field.

    From its start until it ends, an ending signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) is remembered
    (cli.signals.hold_early_signals) rather than killing the process before the run's tree is
    finished; the receiver that runs the flow (cli.signals.run_flow) takes it and the run ends cancelled
    (130, or 143). A second Ctrl-C while no receiver runs interrupts at once and becomes Cancelled
    too. A failure inside a trio nursery comes out as itself, not as an exception group; a bug
    becomes InternalError.
    """
    from codexlogin.cli.signals import hold_early_signals, release_early_signals

    held_here = hold_early_signals()  # the browser and device logins hold from before the URL
    try:
        with _logged_run(command_name, flow, settings, issuer or settings.issuer):
            yield
    finally:
        if held_here:
            release_early_signals()


@contextlib.contextmanager
def _logged_run(command_name: str, flow: str, settings: Settings, issuer: str) -> Iterator[None]:
    from codexlogin import diagnostics  # eliot: only for commands that log
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.cli.telemetry import exported_run

    try:  # CODEX_HOME holds credentials: private from the start, before the log dir goes in it
        settings.codex_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        pass  # open_log and the flow report what they cannot write
    lost: list[str] = []  # the log could not be opened or written: its reference finds nothing

    def warn(message: str) -> None:
        lost.append(message)
        ConsoleUI().warning(message)

    with diagnostics.open_log(settings.resolved_log_dir, warn=warn), exported_run(settings, issuer):
        try:
            try:
                with diagnostics.command_action(command_name, flow, issuer=issuer) as action:
                    try:
                        yield
                    except BaseException as exc:
                        leaf = _innermost(exc)
                        if isinstance(leaf, KeyboardInterrupt):
                            raise Interrupted(f"{RUN_NAMES.get(command_name, command_name)} cancelled (Ctrl-C)") from None
                        if leaf is not exc:
                            raise leaf from None  # the log and the terminal name the real error
                        raise
                    action.add_success_fields(outcome="success", exit_code=0)
            except LoginFailure:
                raise
            except Exception as exc:  # recorded in the root action as itself; reported as exit 70
                from codexlogin.cli.streams import output_broken

                if output_broken(exc):  # our reader went away: cli.entry ends quietly
                    raise
                raise internal_error(exc) from None
        except LoginFailure as failure:  # reported after the run: mask while its secrets are known
            mask_failure(failure)
            if lost:
                failure.points_to_log, failure.reference = False, None
            raise
