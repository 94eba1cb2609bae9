"""`codex login bundle [-o PATH]`: a support bundle (support.bundle) written as a logged run."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated

from cyclopts import Parameter

from codexlogin.cli.boundary import command, logged_run
from codexlogin.cli.options import IssuerOptions
from codexlogin.errors import UsageError
from codexlogin.support.bundle import DEFAULT_LAST, WHAT_TO_DO, resolve_output, snapshot_log, write_bundle


@command
def bundle(
    *,
    output: Annotated[Path | None, Parameter(name=["--output", "-o"])] = None,
    last: int = DEFAULT_LAST,
    force: Annotated[bool, Parameter(negative=())] = False,
    options: IssuerOptions = IssuerOptions(),
) -> int:
    """Write a support bundle: scrubbed log of recent runs, doctor output, versions, settings.

    The file (zip, or tar.gz when the name ends so) holds the last runs of codex-login.log as
    trees, JSON and a summary, all scrubbed of secrets; `codex login doctor` run now (as JSON and
    text); codexlogin, library, Python and OS versions; and the login settings with secrets
    removed. It never holds auth.json, tokens, API keys or keyring contents: send it to support.
    Written with mode 0600; its path is printed. Directories are never created: a missing one is a
    usage error, and so is an existing file unless --force. Exit codes: 0 written, 2 usage error (a
    missing -o directory, an existing file without --force), 7 cannot be written.

    Parameters
    ----------
    output
        Where to write (default ./codex-login-support-YYYYMMDDTHHMMSSZ.zip, UTC; an existing directory gets
        that name inside; a name ending in .tar.gz or .tgz writes a gzipped tar).
    last
        How many of the most recent runs of codex-login.log to include.
    force
        Replace the file at the output path if one exists (without it, an existing file is refused).
    """
    if last < 1:
        raise UsageError(f"--last must be at least 1, got {last}")
    settings = options.settings()
    path = resolve_output(output, force=force)
    snapshot = snapshot_log(settings.log_file, last)  # before this run writes to the log
    from codexlogin.cli.doctor_text import format_text
    from codexlogin.cli.signals import run_flow
    from codexlogin.support.doctor import run_checks

    with logged_run("login bundle", "bundle", settings):
        report = run_flow(run_checks, settings, what="bundle")  # a signal here ends it, nothing written
        written = write_bundle(settings, path, report, last, snapshot=snapshot, doctor_text=format_text, force=force)
    for note in snapshot.notes:
        if note.startswith(("no codex-login.log", "cannot read")):
            print(f"note: {note}", file=sys.stderr, flush=True)
    print(written, flush=True)
    print(f"Support bundle written (mode 0600): {WHAT_TO_DO}.", file=sys.stderr, flush=True)
    return 0
