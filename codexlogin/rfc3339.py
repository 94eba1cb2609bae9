"""RFC 3339 timestamps in UTC, as auth.json and `status --json` write them. Stdlib only.

`now()` writes what Codex CLI 0.171 writes in `last_refresh`: nanoseconds, UTC, a `Z`
(`2026-12-01T20:33:32.445329355Z`). `to_epoch` reads that and the older second and microsecond
forms (and any other RFC 3339 offset).
"""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime

# date, time, optional fraction (any number of digits), optional zone; RFC 3339 allows t/z and a space.
_RFC3339 = re.compile(r"(?P<base>\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2})(?:\.(?P<frac>\d+))?(?P<zone>[Zz]|[+-]\d{2}:?\d{2})?")


def now() -> str:
    return format_ns(time.time_ns())


def format_ns(epoch_ns: int) -> str:
    """`YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ` for nanoseconds since the epoch."""
    seconds, nanos = divmod(epoch_ns, 1_000_000_000)
    return datetime.fromtimestamp(seconds, UTC).strftime("%Y-%m-%dT%H:%M:%S") + f".{nanos:09d}Z"


def from_epoch(epoch: float | None) -> str | None:
    """None for None or a value no datetime can hold (a hostile `exp` of 10**400)."""
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


def to_epoch(text: str | None) -> float | None:
    """Seconds since the epoch, or None when `text` is missing or not a timestamp (no zone = UTC).

    Any number of fractional digits (0.171 writes nine; datetime keeps six)."""
    if not text:
        return None
    match = _RFC3339.fullmatch(text.strip())
    if match is None:
        return None
    zone = (match["zone"] or "+00:00").upper().replace("Z", "+00:00")
    if ":" not in zone:
        zone = f"{zone[:3]}:{zone[3:]}"
    try:
        value = datetime.fromisoformat(f"{match['base'][:10]}T{match['base'][11:]}{zone}")
    except ValueError:
        return None
    return value.timestamp() + float(f"0.{match['frac']}" if match["frac"] else 0)
