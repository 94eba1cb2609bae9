"""`--verbose`: the issuer's whole error reply on the terminal, after the `error:` line.

An error line shows an HTML error page as its status, title and first line of text
(oauth.errors); the page itself is kept, with the run's secrets masked as on the error line, in
this process only (`oauth.errors.raw_replies`), never in codex-login.log. With `--verbose` the
command prints those replies on stderr once it ends; without it, one note says that it can.
"""

from __future__ import annotations

import sys

from codexlogin.terminal import escape_controls

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing (~3 ms) before the sign-in URL; mypy reads this alike
if TYPE_CHECKING:
    from typing import Any, TextIO

VERBOSE_NOTE = "note: the issuer answered with an HTML page; run again with --verbose to see all of it"


def _errors_module() -> Any:
    # Loaded only by commands that talked to an issuer: `status` stays light.
    return sys.modules.get("codexlogin.oauth.errors")


def forget() -> None:
    errors = _errors_module()
    if errors is not None:
        errors.forget_raw_replies()


def show(verbose: bool, stderr: TextIO | None = None) -> None:
    """The raw replies (verbose), or the note that --verbose shows them (an HTML page was summarised)."""
    errors = _errors_module()
    replies = errors.raw_replies() if errors is not None else []
    out = stderr or sys.stderr
    if not verbose:
        if any(summarised for _what, _body, summarised in replies):
            print(VERBOSE_NOTE, file=out, flush=True)
        return
    for what, body, _summarised in replies:
        print(f"--verbose: the {what}'s whole reply (the run's secrets masked):", file=out)
        print(escape_controls(body.rstrip("\n")), file=out, flush=True)
