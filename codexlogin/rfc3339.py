"""RFC 3339 timestamps in UTC, as auth.json and `status --json` write them. Stdlib only."""

from __future__ import annotations

from datetime import UTC, datetime


def now() -> str:
    return datetime.now(UTC).isoformat().replace("+00:00", "Z")


def from_epoch(epoch: float | None) -> str | None:
    """None for None or a value no datetime can hold (a hostile `exp` of 10**400)."""
    if epoch is None:
        return None
    try:
        return datetime.fromtimestamp(epoch, UTC).isoformat().replace("+00:00", "Z")
    except (OverflowError, OSError, ValueError):
        return None


def to_epoch(text: str | None) -> float | None:
    """Seconds since the epoch, or None when `text` is missing or not a timestamp (no zone = UTC)."""
    if not text:
        return None
    try:
        value = datetime.fromisoformat(text)  # 3.11+ reads a trailing Z
    except ValueError:
        return None
    return (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
