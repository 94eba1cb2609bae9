"""`codex login doctor [--json]`: the checks (support.doctor) as a logged run, printed one line each
(cli.doctor_text) or as JSON."""

from __future__ import annotations

import json
import os
import shutil
import sys
from collections.abc import Mapping
from typing import IO, TYPE_CHECKING, Annotated

from cyclopts import Parameter

from codexlogin.cli.boundary import command, logged_run
from codexlogin.cli.doctor_text import format_text
from codexlogin.cli.options import IssuerOptions
from codexlogin.support.doctor import ChecksFailed, run_checks
from codexlogin.terminal import as_invoked

if TYPE_CHECKING:
    from codexlogin.config import Settings


def terminal_layout(out: IO[str], environ: Mapping[str, str] | None = None) -> tuple[bool, int | None]:
    """(colour, width) for doctor's text: both only on a terminal; no colour with NO_COLOR or TERM=dumb."""
    env = os.environ if environ is None else environ
    try:
        tty = out.isatty()
    except (AttributeError, ValueError, OSError):
        tty = False
    if not tty:
        return False, None
    color = not env.get("NO_COLOR") and env.get("TERM") != "dumb"
    return color, shutil.get_terminal_size().columns


def run_doctor(settings: Settings, *, as_json: bool = False, stdout: IO[str] | None = None, save_ca: str | None = None) -> int:
    """Run the checks as the logged flow `login doctor`, print the report, return the exit code."""
    from codexlogin.cli.signals import run_flow

    out = stdout or sys.stdout
    with logged_run("login doctor", "doctor", settings):
        if save_ca is not None:
            save_presented_root(settings, save_ca, sys.stderr if as_json else out)
        report = run_flow(run_checks, settings, what="doctor")
        if as_json:  # with the run's reference, as every --json output of a logged run
            from codexlogin.diagnostics import current_reference

            # the hints name the invoked program, as in the text form
            out.write(as_invoked(json.dumps({**report.to_json(), "reference": current_reference()})) + "\n")
        else:
            color, width = terminal_layout(out)
            out.write(as_invoked(format_text(report, color=color, width=width)))  # hints name `codexlogin …` when so invoked
        out.flush()
        if not report.ok:
            names = ", ".join(check.name for check in report.failed)
            raise ChecksFailed(
                f"{len(report.failed)} of {len(report.checks)} checks failed: {names}",
                error_code=",".join(check.name for check in report.failed),
            )
    return 0


def save_presented_root(settings: Settings, path: str, out: IO[str]) -> None:
    """`--save-ca FILE`: the top certificate the issuer presents here (through the proxy, if one is
    set), written as PEM with mode 0600, its fingerprint shown for the user to check."""
    from codexlogin.errors import NetworkError, UsageError
    from codexlogin.oauth.chain import ChainError, read_chain, save_root
    from codexlogin.oauth.issuer import configured_issuer

    issuer = configured_issuer(settings)
    if not issuer.base.lower().startswith("https://"):
        raise UsageError(f"--save-ca: the issuer {issuer.base} is not https; there is no certificate to save")
    try:
        chain = read_chain(issuer.base + "/", timeout=min(float(settings.exchange_timeout), 10.0))
    except ChainError as problem:
        raise NetworkError(f"--save-ca: {problem}") from None
    try:
        root = save_root(chain, path)
    except OSError as exc:
        raise UsageError(f"--save-ca: cannot write {path}: {exc.strerror or exc}") from None
    what = "root" if root.self_signed else "top certificate (the server did not send its root)"
    out.write(
        f"saved the presented {what} to {path}: subject {root.subject}, sha256 {root.fingerprint}; the chain {chain.verdict()}."
        f" Check the fingerprint with your IT team before setting CODEX_CA_CERTIFICATE={path}\n"
    )
    out.flush()


@command
def doctor(
    *,
    json_: Annotated[bool, Parameter(name="--json", negative=())] = False,
    port: int | None = None,
    save_ca: Annotated[str | None, Parameter(name="--save-ca")] = None,
    options: IssuerOptions = IssuerOptions(),
) -> int:
    """Check what would break the browser login, one line per check, and say what to do.

    Checks: CODEX_HOME and the log directory are writable; stored credentials are readable and
    auth.json has mode 0600; the callback port is free (or held by a codex login of ours);
    127.0.0.1 can be bound; a browser can be launched (with hints for SSH, WSL and no display);
    the custom CA bundle loads; the issuer answers (timing, proxy and CA shown); the local clock
    agrees with the issuer's. Each line reads ok, warn or FAIL, and what to do (coloured, and wrapped
    at the terminal's width, on a terminal only; NO_COLOR turns colour off). Every check is
    recorded in codex-login.log. Exit codes: 0 no check failed (warnings allowed), 1 a check
    failed, 2 usage or configuration error.

    Parameters
    ----------
    json_
        Print one JSON object: ok, exit_code, version and checks [{name, status, detail, hint,
        duration_ms}].
    port
        Callback port to check [env: CODEX_LOGIN_PORT] (default 1455).
    save_ca
        Write the top certificate the https issuer presents here (its root, through a
        TLS-inspecting proxy the proxy's) to FILE as PEM (mode 0600), for CODEX_CA_CERTIFICATE once
        you have checked its fingerprint.
    """
    settings = options.settings(port=port)
    return run_doctor(settings, as_json=json_, save_ca=save_ca)
