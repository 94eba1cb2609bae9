"""`codex login log`: render codex-login.log (or any eliot log) as action trees for support.

Registered by import path (cli/app.py). This is the command's declaration for cyclopts (flags and
help); its body is cli/log_show.py, which the fast lane also runs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from cyclopts import Parameter

from codexlogin.cli.boundary import command
from codexlogin.cli.log_show import show_log

Flag = Annotated[bool, Parameter(negative=())]


@command
def log(
    paths: list[str] | None = None,
    *,
    last: int | None = None,
    task: str | None = None,
    failed: Flag = False,
    since: str | None = None,
    until: str | None = None,
    grep: str | None = None,
    summary: Flag = False,
    json: Flag = False,
    format: Literal["tree", "summary", "json", "text"] | None = None,
    har: Path | None = None,
    follow: Flag = False,
    local: Flag = False,
    no_color: Flag = False,
    log_dir: Path | None = None,
) -> int:
    """Show what happened in sign-in runs, as trees of actions from codex-login.log.

    Each run is one tree: action type, status (succeeded, failed, cancelled, or unfinished when
    the run never ended), start time (UTC), duration, and its fields, with secrets scrubbed.
    Runs are printed as they finished, unfinished runs last; failures are marked [FAILED].
    Filters keep whole runs. A run counts as failed when it, or any action in it, failed, was
    cancelled or never finished. Colour only on a terminal (NO_COLOR or --no-color turn it off).

    Parameters
    ----------
    paths
        Log files to read, merged in order; '-' reads stdin (default: the configured codex-login.log).
    last
        Show only the N runs that started most recently.
    task
        Show only the run with this task UUID (a prefix is enough).
    failed
        Show only runs that failed, were cancelled or never finished (also when an inner action did).
    since
        Only runs started at or after this time: ISO 8601 (2026-11-24T10:00Z) or an age like 30m, 2h, 7d.
    until
        Only runs started at or before this time (same forms as --since).
    grep
        Only runs with this text (case-insensitive) in any field, action type or task UUID.
    summary
        One line per run in 80 columns (start, short run id, command/flow, duration, outcome in
        words and error code): failed runs first, then the others, then a count of runs by status.
    json
        One JSON object per run tree and line (nested children), for tools (= --format json).
    format
        tree (default), summary, json, or text: the reference Codex CLI's tracing lines
        (`2026-03-06T22:08:54.143612Z  INFO codex_cli::login: starting browser login flow`).
    har
        Merge this browser HAR (DevTools "Save all as HAR") into the matching run's timeline and
        say where the sign-in chain broke; the HAR is scrubbed like the log. With --json: one object.
    follow
        Show a run live as it is written; with --last 1 or --task, stop when that run ends
        (else Ctrl-C stops).
    local
        Show times in local time instead of UTC (also how --since/--until read times without offset).
    no_color
        Plain ASCII output even on a terminal.
    log_dir
        Directory of the default codex-login.log [env: CODEX_LOGIN_LOG_DIR] (default $CODEX_HOME/log).
    """
    return show_log(
        paths, last=last, task=task, failed=failed, since=since, until=until, grep=grep, summary=summary,
        json=json, format=format, har=har, follow=follow, local=local, no_color=no_color, log_dir=log_dir,
    )
