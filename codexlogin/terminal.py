"""The one terminal-safe text policy: issuer, callback, log and file text must not drive a terminal.

Control characters (C0, DEL, C1: ANSI/OSC escape sequences included) are shown escaped as `\\xNN`,
so what an issuer or a crafted log says is readable but inert. Stdlib only.
"""

from __future__ import annotations

#: str.translate table: every control character except newline, escaped (tab and CR readably).
CONTROL_ESCAPES: dict[int, str] = {i: f"\\x{i:02x}" for i in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if i != 0x0A}
CONTROL_ESCAPES[0x09] = "\\t"
CONTROL_ESCAPES[0x0D] = "\\r"


def escape_controls(text: str) -> str:
    """`text` with control characters escaped; newlines kept (the caller lays out lines)."""
    return text if text.isprintable() else text.translate(CONTROL_ESCAPES)


def one_line(text: str) -> str:
    """One line for the terminal: whitespace runs collapsed to one space, controls escaped."""
    return escape_controls(" ".join(text.split()))


def minutes(seconds: int) -> str:
    """"15 minutes", "1 minute": a duration as a person reads it (at least one minute)."""
    count = max(1, round(seconds / 60))
    return f"{count} minute" + ("s" if count != 1 else "")
