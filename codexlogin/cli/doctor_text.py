"""How a doctor report reads on a terminal: one line per check (status, name, detail, `-> hint`),
the status words coloured and long lines wrapped under the check's own indent when asked, and the
summary line when no check failed. The checks themselves are `support.doctor`.
"""

from __future__ import annotations

import textwrap

from codexlogin.support.doctor.report import FAIL, OK, WARN, Report
from codexlogin.terminal import escape_controls

#: SGR colours of the status words on a terminal.
STATUS_COLORS = {OK: "32", WARN: "33", FAIL: "1;31"}
MIN_WRAP_COLUMNS = 24  # narrower than this after the indent, lines run over instead


def format_text(report: Report, *, color: bool = False, width: int | None = None) -> str:
    """One line per check: status, name, detail, then `-> hint` when there is one.

    `width` (a terminal's columns): wrap the detail under the check's own indent and put the hint
    on its own line(s) beneath it. `color`: the status word in its colour (STATUS_COLORS).
    """
    name_width = max((len(check.name) for check in report.checks), default=0)
    indent = " " * (4 + 2 + name_width + 2)
    lines = []
    for check in report.checks:
        label = "FAIL" if check.status == FAIL else check.status
        shown = f"\x1b[{STATUS_COLORS.get(check.status, '0')}m{label}\x1b[0m{' ' * (4 - len(label))}" if color else f"{label:<4}"
        head = f"{shown}  {check.name:<{name_width}}  "
        # What came from outside (Server/Date headers, discovery fields) cannot drive the terminal.
        detail, hint = escape_controls(check.detail), escape_controls(check.hint) if check.hint else None
        if width is None:
            line = head + detail
            if hint:
                line += f" -> {hint}"
            lines.append(line)
            continue
        columns = max(width - len(indent), MIN_WRAP_COLUMNS)
        body = textwrap.wrap(detail, columns, break_on_hyphens=False) or [""]
        if hint:
            body += textwrap.wrap(f"-> {hint}", columns, subsequent_indent="   ", break_on_hyphens=False)
        lines.append(head + body[0])
        lines.extend(indent + part for part in body[1:])
    if report.ok:
        warnings = sum(check.status == WARN for check in report.checks)
        tail = f" ({warnings} warning{'s' if warnings != 1 else ''})" if warnings else ""
        lines.append(f"All {len(report.checks)} checks passed{tail}.")
    return "\n".join(lines) + "\n"
