"""The `codex` command line: parse flags, build Settings, run one flow, map its outcome to an exit code.

Only cyclopts is imported at start-up; every flow imports trio, httpx, hypercorn and eliot itself,
and subcommands are registered by import path so `codex login status` loads none of them.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

from cyclopts import App, Parameter

from codexlogin import __version__
from codexlogin.errors import ExitCode, LoginFailure


def _one_line_error(error: Exception) -> Any:
    """Parse errors as one plain line on stderr (cyclopts then exits 2), never a wrapped panel."""
    from rich.text import Text

    message = " ".join(str(error).split())
    print(f"error: {message} (see --help)", file=sys.stderr, flush=True)
    return Text("", end="")


app = App(
    name="codex",
    help="Sign in to Codex and inspect the sign-in for support.",
    version=__version__,
    error_formatter=_one_line_error,
)
login_app = App(name="login", help="Sign in to Codex (browser OAuth login by default).")
app.command(login_app)
login_app.command("codexlogin.cli.status:status", name="status")
login_app.command("codexlogin.cli.log:log", name="log")
login_app.command("codexlogin.support.doctor:doctor", name="doctor")
login_app.command("codexlogin.support.bundle:bundle", name="bundle")
app.command("codexlogin.flows.logout:logout", name="logout")


# --- running a flow: the one place outcomes become exit codes -------------------------------------


_CONTROL_CHARS = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def terminal_safe(text: str) -> str:
    """One line, and no escape sequences: issuer and callback text must not drive the terminal."""
    text = " ".join(text.split())
    return _CONTROL_CHARS.sub(lambda match: f"\\x{ord(match.group()):02x}", text)


def report_failure(failure: LoginFailure, stderr: Any = None) -> int:
    """The one way a failure reaches the terminal: one `error:` line, then its exit code."""
    print(f"error: {terminal_safe(failure.detail)}", file=stderr or sys.stderr, flush=True)
    return int(failure.exit_code)


def _innermost(exc: BaseException) -> BaseException:
    """The one exception inside nested single-member exception groups (trio nurseries make them)."""
    while isinstance(exc, BaseExceptionGroup) and len(exc.exceptions) == 1:
        exc = exc.exceptions[0]
    return exc


def run_flow(command: str, flow: str, settings: Any, body: Callable[[], Any], *, success: Callable[[Any], None]) -> int:
    """Open codex-login.log, run `body` inside the run's root action, print the outcome.

    Every LoginFailure (and Ctrl-C before the flow installs its own handler) ends here as one line
    on stderr and the failure's exit code; the root action records the same outcome in the log.
    """
    from codexlogin import diagnostics
    from codexlogin.errors import Cancelled
    from codexlogin.redact import sanitize_url

    try:  # CODEX_HOME holds credentials: private from the start, before the log dir goes in it
        settings.codex_home.mkdir(parents=True, exist_ok=True, mode=0o700)
    except OSError:
        pass  # open_log and the flow report what they cannot write
    with diagnostics.open_log(settings.resolved_log_dir):
        try:
            with diagnostics.command_action(command, flow, issuer=sanitize_url(settings.issuer)) as action:
                try:
                    result = body()
                except BaseException as exc:
                    leaf = _innermost(exc)
                    if isinstance(leaf, KeyboardInterrupt):
                        raise Cancelled("login cancelled (Ctrl-C)") from None
                    if leaf is not exc:
                        raise leaf from None  # the log and the terminal name the real error
                    raise
                action.add_success_fields(outcome="success", exit_code=0)
        except LoginFailure as failure:
            return report_failure(failure)
        except Exception as exc:  # a bug: one line and exit 70, never a traceback; the log has the type
            from codexlogin.errors import InternalError

            return report_failure(InternalError(f"internal error: {type(exc).__name__}: {exc}"))
    success(result)
    return int(ExitCode.SUCCESS)


# --- `codex login` --------------------------------------------------------------------------------


@login_app.default
def login(
    *,
    issuer: str | None = None,
    client_id: str | None = None,
    port: int | None = None,
    no_browser: Annotated[bool | None, Parameter(negative=())] = None,
    timeout: float | None = None,
    log_dir: Path | None = None,
    config: Annotated[tuple[str, ...], Parameter(name=["--config", "-c"], negative=(), show_default=False, consume_multiple=False)] = (),
    with_api_key: Annotated[bool, Parameter(negative=())] = False,
    device_auth: Annotated[bool, Parameter(negative=())] = False,
) -> int:
    """Sign in with your ChatGPT account in a browser (OAuth 2.0 authorization code + PKCE).

    Starts a one-shot listener on 127.0.0.1, prints the sign-in URL, opens a browser and waits for
    the issuer to redirect back. Credentials are saved to $CODEX_HOME/auth.json (mode 0600) and
    the run is recorded, scrubbed of secrets, in codex-login.log under the log directory.

    Parameters
    ----------
    issuer
        OAuth issuer base URL [env: CODEX_LOGIN_ISSUER] (default https://auth.openai.com).
    client_id
        OAuth client id [env: CODEX_LOGIN_CLIENT_ID].
    port
        Loopback callback port, 0 for any free port [env: CODEX_LOGIN_PORT] (default 1455).
    no_browser
        Print the URL only; do not open a browser [env: CODEX_LOGIN_NO_BROWSER].
    timeout
        Seconds to wait for the browser sign-in, 0 for no limit [env: CODEX_LOGIN_TIMEOUT] (default 600).
    log_dir
        Directory for codex-login.log [env: CODEX_LOGIN_LOG_DIR] (default $CODEX_HOME/log).
    config
        Override a setting as key=value (repeatable), e.g. -c port=0.
    with_api_key
        Read an API key from stdin and store it, e.g. `printenv OPENAI_API_KEY | codex login --with-api-key`.
    device_auth
        Sign in with a one-time device code (RFC 8628) instead of a browser redirect; for remote/headless machines.
    """
    from codexlogin.config import load_settings

    try:
        settings = load_settings(
            {"issuer": issuer, "client_id": client_id, "port": port, "no_browser": no_browser, "timeout": timeout, "log_dir": log_dir},
            config,
        )
        if with_api_key and device_auth:
            from codexlogin.errors import UsageError

            raise UsageError("--with-api-key and --device-auth cannot be used together")
        if with_api_key:
            from codexlogin.flows.apikey import run_api_key_login

            return run_api_key_login(settings)
        if device_auth:
            from codexlogin.flows.device import run_device_login

            return run_device_login(settings)
        from codexlogin.credentials.store import check_login_method

        check_login_method(settings, "chatgpt")  # forced_login_method = api refuses the browser login
    except LoginFailure as failure:
        return report_failure(failure)

    # Before trio and eliot load: check the CA bundle, bind, listen and print the URL, so the user
    # (or a script) has it ~0.1 s sooner. A failure here is raised inside the run, so it is logged.
    from codexlogin.listener.prepare import announce_prepared, hold_early_sigterm, prepare_browser_login

    hold_early_sigterm()
    prepared: Any = None
    early_failure: LoginFailure | None = None
    try:
        prepared = prepare_browser_login(settings)
        if prepared.sock is not None:
            announce_prepared(settings, prepared, sys.stderr)
    except LoginFailure as failure:
        early_failure = failure

    def body() -> Any:
        if early_failure is not None:
            raise early_failure
        from functools import partial

        import trio

        from codexlogin.flows.browser import browser_login

        return trio.run(partial(browser_login, settings, prepared=prepared))

    def success(_auth: Any) -> None:
        from codexlogin.credentials.store import describe_location

        # A keyring save removes auth.json, so the file's presence says which backend took them.
        backend = "file" if settings.auth_file.exists() else "keyring"
        print(f"Successfully logged in. Credentials saved to {describe_location(settings, backend)}", file=sys.stderr)

    return run_flow("login", "browser", settings, body, success=success)


def main(argv: list[str] | None = None) -> None:
    try:
        code = app(argv, result_action="return_value")
    except KeyboardInterrupt:
        code = int(ExitCode.CANCELLED)
    except Exception as exc:  # last resort: a bug outside any flow is still one line and exit 70
        from codexlogin.errors import InternalError

        code = report_failure(InternalError(f"internal error: {type(exc).__name__}: {exc}"))
    sys.exit(code if isinstance(code, int) else 0)
