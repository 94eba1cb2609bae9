"""The one terminal-safe text policy: issuer, callback, log and file text must not drive a terminal.

Control characters (C0, DEL, C1: ANSI/OSC escape sequences included) are shown escaped as `\\xNN`,
and the invisible characters that reorder or split what a line shows (bidi overrides and isolates
such as U+202E, the line/paragraph separators, zero-width spaces, the BOM) as `\\uNNNN`, so what an
issuer, an id_token or a crafted log says is readable but inert. Stdlib only.
"""

from __future__ import annotations

#: str.translate table: every control character except newline, escaped (tab and CR readably).
CONTROL_ESCAPES: dict[int, str] = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if i != 0x0A}
CONTROL_ESCAPES[0x09] = "\\t"
CONTROL_ESCAPES[0x0D] = "\\r"
#: Bidi controls (Trojan Source, CVE-2021-42574), separators and zero-width/invisible format
#: characters: a line can show other text than it holds. ZWJ/ZWNJ (emoji, scripts) stay.
INVISIBLE_FORMAT = [
    0x061C,
    0x180E,
    0x200B,
    0x200E,
    0x200F,
    *range(0x202A, 0x202F),
    0x2028,
    0x2029,
    0x2060,
    *range(0x2066, 0x206A),
    0xFEFF,
]
CONTROL_ESCAPES.update({i: f"\\u{i:04x}" for i in INVISIBLE_FORMAT})


def escape_controls(text: str) -> str:
    """`text` with control characters escaped; newlines kept (the caller lays out lines)."""
    return text if text.isprintable() else text.translate(CONTROL_ESCAPES)


#: The same, newline included: for a value inside a line (an id_token's email, an issuer's words).
LINE_ESCAPES: dict[int, str] = {**CONTROL_ESCAPES, 0x0A: "\\n"}


def inline(text: str) -> str:
    """`text` as (part of) exactly one terminal line: every control character escaped, newline
    included (shown as `\\n`), so a claim cannot forge a second line nor drive the terminal. The
    writer of every line that holds a value from outside (cli/console.py `say_line`)."""
    return text if text.isprintable() else text.translate(LINE_ESCAPES)


def one_line(text: str) -> str:
    """One line for the terminal: whitespace runs collapsed to one space, controls escaped."""
    return escape_controls(" ".join(text.split()))


def minutes(seconds: int) -> str:
    """ "15 minutes", "1 minute": a duration as a person reads it (at least one minute)."""
    count = max(1, round(seconds / 60))
    return f"{count} minute" + ("s" if count != 1 else "")


#: The console scripts that run this CLI: `codex` (as the real Codex CLI is called) and
#: `codexlogin` (the same commands under a name that cannot clash with the real CLI on PATH).
PROGRAM_NAMES = ("codex", "codexlogin")


def program_name() -> str:
    """The name this process was invoked as (`codexlogin` or `codex`), for help and messages."""
    import os
    import sys

    name = os.path.basename(sys.argv[0] if sys.argv and sys.argv[0] else "")
    return name if name in PROGRAM_NAMES else "codex"


def as_invoked(text: str) -> str:
    """`text` whose commands (`codex login …`, `codex logout`) name the invoked program."""
    name = program_name()
    if name == "codex":
        return text
    import re

    return re.sub(r"(?<![\w/.-])codex(\s+)(?=login\b|logout\b|completion\b)", lambda m: name + m.group(1), text)
