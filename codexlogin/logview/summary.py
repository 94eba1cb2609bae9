"""`codex login log --summary`: one line per run in 80 columns, in start-time order, failed runs
marked `!`, then a tally.

Each line: start time, short run id, the command (`login`, `login device`, `login status check`,
never cut mid-word), duration, and the outcome in words (`signed in`, `denied`, `timed out`, …)
with the failure's facts (`invalid_grant`, `HTTP 502`), never a Python class name;
every field shown is scrubbed (logview.tree).
"""

from __future__ import annotations

from dataclasses import dataclass

from codexlogin.logview.text import Clock, Style, format_duration
from codexlogin.logview.tree import (
    BAD_STATUSES,
    CANCELLED,
    FAILED,
    MESSAGE,
    ROOT_TYPE,
    SUCCEEDED,
    UNFINISHED,
    Run,
    display_text,
    node_fields,
    scrubbed_fields,
)

__all__ = ["SUMMARY_HEADER", "command_width", "format_summary_row", "outcome_words", "summary_row", "tally"]


@dataclass(frozen=True)
class SummaryRow:
    start: str
    status: str
    run: str
    outcome: str
    duration: str
    task: str
    error: str


def summary_row(run: Run, clock: Clock) -> SummaryRow:
    """Start time, status, what ran (the command, with its flow where that says more), outcome,
    duration, and the failure's facts in words (its error code and HTTP status, or how the issuer
    could not be reached), never a Python class name."""
    root = run.root
    start = scrubbed_fields(root.start)[0] if root.start else {}
    end = scrubbed_fields(root.end)[0] if root.end else {}
    status = run.status
    name = node_fields(root)[1]
    if start.get("command") is not None or name == ROOT_TYPE:
        what = command_name(display_text(start.get("command", "?")), start.get("flow"))
    else:
        what = name
    outcome = display_text(end["outcome"]) if end.get("outcome") is not None else status
    if status == CANCELLED:
        outcome = CANCELLED if outcome in (FAILED, CANCELLED) else outcome
    error = failure_facts(run, end)
    if error is None and run.failed and status not in BAD_STATUSES:
        for node in root.walk():  # the run succeeded, but something inside it did not
            if node is not root and node.is_action and node.status in BAD_STATUSES:
                inner = scrubbed_fields(node.end)[0] if node.end else {}
                error = f"{node_fields(node)[1]}: {facts_words(inner) or node.status}"
                break
    return SummaryRow(
        start=_short_time(clock(run.start_ts)),
        status=status.upper() if status in BAD_STATUSES else status,
        run=what,
        outcome=outcome_words(outcome, display_text(start.get("command", "")), status),
        duration=format_duration(root.duration) if root.duration is None else _short_duration(root.duration),
        task=run.uuid_text[:8],
        error="" if error is None else display_text(error),
    )


def command_name(command: str, flow: object) -> str:
    """`login`, `login device`, `login status check`, `logout`: the command as typed, with the flow
    where it says more than the command (`login doctor`'s flow `doctor` does not)."""
    if flow is None:
        return command
    flow_text = display_text(flow).replace("_", " ")
    if flow_text == "browser" or command.split()[-1:] == [flow_text]:
        return command
    return f"{command} {flow_text}"


def failure_facts(run: Run, end: dict[str, object]) -> str | None:
    """What the failure was, in a few words: from the root's end, else from the action it
    happened in (the root names it: `failed_in`)."""
    words = facts_words(end)
    if words or not end.get("failed_in"):
        return words
    for node in run.root.walk():
        if node.is_action and node.raw_type == end["failed_in"] and node.status == FAILED and node.end is not None:
            return facts_words(scrubbed_fields(node.end)[0]) or None
    return None


def facts_words(fields: dict[str, object]) -> str | None:
    """`invalid_grant`, `HTTP 502`, `connect`: the issuer's error code (its 4xx goes without
    saying), else the issuer's HTTP status (an HTML error page has no code), else the transport
    kind of an issuer that could not be reached."""
    if fields.get("error_code") is not None:
        return display_text(fields["error_code"])
    status = fields.get("status")
    if type(status) is int and 100 <= status <= 599:
        return f"HTTP {status}"
    kind = fields.get("kind")
    if isinstance(kind, str) and kind not in ("rejected", "unavailable", "bad_reply"):
        return display_text(kind)
    return None


#: Outcomes (errors.py, the root action's `outcome`) in words for the summary.
OUTCOME_WORDS = {
    "denied": "denied",
    "timed_out": "timed out",
    "cancelled": "cancelled",
    "token_exchange_failed": "exchange failed",
    "port_unavailable": "port busy",
    "storage_failed": "could not save",
    "credentials_unusable": "credentials unusable",
    "policy_violation": "policy violation",
    "network_error": "network error",
    "internal_error": "internal error",
    "usage_error": "usage error",
    "not_logged_in": "not logged in",
    FAILED: "failed",
    UNFINISHED: "never finished",
}


def outcome_words(outcome: str, command: str, status: str) -> str:
    """`signed in`, `denied`, `timed out`, … rather than class or status names."""
    if outcome in ("success", SUCCEEDED):
        return {"login": "signed in", "logout": "logged out"}.get(command, "ok")
    if status == CANCELLED and outcome in (FAILED, CANCELLED):
        return "cancelled"
    return OUTCOME_WORDS.get(outcome, outcome.replace("_", " "))


def _short_time(text: str) -> str:
    """`09-21 14:13:20` from the clock's `2026-09-21T14:13:20.000Z` (or its local form)."""
    return text[5:10] + " " + text[11:19] if len(text) >= 19 else text


def _short_duration(seconds: float) -> str:
    if type(seconds) is not float and type(seconds) is not int:
        return "-"
    if seconds < 100:
        return f"{seconds:.1f}s"
    if seconds < 6000:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


SUMMARY_WIDTH = 80
SUMMARY_HEADER = SummaryRow("START", "STATUS", "COMMAND", "OUTCOME", "TIME", "RUN", "")
COMMAND_WIDTH = 13  # the narrowest command column; wider when a run's command needs it, up to
MAX_COMMAND_WIDTH = 22
FAILED_MARK = "!"  # first column: this run failed, was cancelled or never finished


def command_width(names: list[str]) -> int:
    return min(max([COMMAND_WIDTH, *(len(name) for name in names)]), MAX_COMMAND_WIDTH)


def _fit(text: str, width: int) -> str:
    """`text` in `width` columns, cut at a word (space or /) with `…`, never mid-word."""
    if len(text) <= width:
        return text
    cut = max(text.rfind(" ", 0, width), text.rfind("/", 0, width))
    return (text[:cut] if cut > 0 else text[: width - 1]) + "…"


def format_summary_row(
    row: SummaryRow, style: Style, width: int = SUMMARY_WIDTH, *, failed: bool = False, command: int = COMMAND_WIDTH
) -> str:
    """One line of at most `width` (80) columns: mark, start, short run id, command, time, outcome[: facts]."""
    esc = style.esc
    mark = FAILED_MARK if failed else " "
    head = f"{mark} {row.start:<14}  {row.task:<8}  {_fit(row.run, command):<{command}}  {row.duration:>5}  "
    room = max(width - len(head), 10)
    outcome = row.outcome + (f": {row.error}" if row.error else "")
    if len(outcome) > room:
        outcome = outcome[: room - 1] + "…"
    return esc(head) + style.paint(outcome, row.status.lower()) + "\n"


def tally(total: int, counts: dict[str, int]) -> str:
    """`3 runs: 2 succeeded, 1 failed` (statuses in a fixed order, others after)."""
    order = [SUCCEEDED, FAILED, CANCELLED, UNFINISHED, MESSAGE]
    parts = [f"{counts[s]} {s if s != MESSAGE else 'messages'}" for s in order if counts.get(s)]
    parts += [f"{n} {s}" for s, n in counts.items() if s not in order]
    noun = "run" if total == 1 else "runs"
    return f"{total} {noun}" + (": " + ", ".join(parts) if parts else "")
