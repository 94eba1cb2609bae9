"""How `codex login status` prints a report, shared by the fast lane (cli/fast.py) and the
cyclopts command (cli/status.py): the JSON object on stdout, the text on stderr (as Codex CLI
0.171), its warnings on stderr as `warning: …` lines, like every other warning. Stdlib only: status must start fast."""

from __future__ import annotations

import sys

from codexlogin.terminal import as_invoked, one_line

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from codexlogin.credentials.status import StatusReport


def print_warnings(report: StatusReport) -> None:
    for warning in report.warnings:
        print(as_invoked(f"warning: {one_line(warning)}"), file=sys.stderr, flush=True)


def print_status(report: StatusReport, as_json: bool, reference: str | None = None) -> None:
    """`reference`: the logged run's (--check), added to the JSON; plain `status` logs no run."""
    print_warnings(report)
    if as_json:
        import json

        data = report.to_json()
        if reference:
            data["reference"] = reference
        print(as_invoked(json.dumps(data, sort_keys=False)), flush=True)  # `problem` names the invoked program
    else:  # on stderr, as Codex CLI 0.171 prints it (`--json` is the machine-readable stdout)
        print(as_invoked(report.text()), file=sys.stderr, flush=True)
