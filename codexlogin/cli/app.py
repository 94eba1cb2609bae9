"""The `codex` command line: cyclopts parses, each command runs behind the one failure boundary.

Only cyclopts is imported at start-up; each command imports what it needs, and subcommands are
registered by import path so `codex login status` loads none of the login machinery.
"""

from __future__ import annotations

import re
import sys
from typing import Any

from cyclopts import App

from codexlogin import __version__
from codexlogin.cli.boundary import internal_error, report_failure
from codexlogin.cli.login import login
from codexlogin.errors import ExitCode
from codexlogin.terminal import one_line


# A credential typed as an argument (`--with-api-key sk-…`) must not be echoed back by the error.
_CREDENTIAL_ARGUMENT = re.compile(r"\b(sk|at|rt)-[A-Za-z0-9_\-]{6,}")


def _one_line_error(error: Exception) -> Any:
    """Parse errors as one plain line on stderr (cyclopts then exits 2), never a wrapped panel."""
    from rich.text import Text

    message = _CREDENTIAL_ARGUMENT.sub(lambda m: f"{m.group(1)}-***", one_line(str(error)))
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
login_app.default(login)
login_app.command("codexlogin.cli.status:status", name="status")
login_app.command("codexlogin.cli.log:log", name="log")
login_app.command("codexlogin.cli.doctor:doctor", name="doctor")
login_app.command("codexlogin.cli.bundle:bundle", name="bundle")
login_app.command("codexlogin.cli.settings:config", name="config")
app.command("codexlogin.cli.logout:logout", name="logout")


def main(argv: list[str] | None = None) -> None:
    try:
        code = app(argv, result_action="return_value")
    except KeyboardInterrupt:
        code = int(ExitCode.CANCELLED)
    except Exception as exc:  # last resort: a bug outside any command is still one line and exit 70
        code = report_failure(internal_error(exc))
    sys.exit(code if isinstance(code, int) else 0)
