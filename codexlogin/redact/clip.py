"""Bounded text with an explicit marker for what was cut: redact first, then cut.

- `clip(text, limit)`: at most `limit` characters and `…(N more characters)` (or
  `(N earlier characters)…` before a kept tail).
- `scrub_clip(text, limit)`: log-grade scrubbing (`secrets.scrub_log_text`), then `clip`.
- `mask_clip(text, limit)`: `secrets.mask_secrets`, then `clip`: terminal and page text.
- `bounded(...)`: the shared step: only the part of a long text that can survive the cut (and a
  margin where a secret straddling the cut lies) is cleaned.
"""

from __future__ import annotations

from collections.abc import Callable

from codexlogin.redact.keys import MASK, REDACTED
from codexlogin.redact.secrets import RunSecrets, known_secrets, scrub_log_text

SCAN_MARGIN = 8192  # text scanned past a cut, so that what straddles it is still recognised


def clip(text: str, limit: int, *, keep_tail: bool = False) -> str:
    """At most `limit` characters of `text` and an explicit marker for what was cut:
    `…(N more characters)` (or `(N earlier characters)…` before a kept tail). Cut only what is
    already redacted (`scrub_clip`, `mask_clip`): a secret at the cut would survive in part."""
    if len(text) <= limit:
        return text
    return _marked(text, limit, len(text) - limit, keep_tail)


def _marked(text: str, limit: int, more: int, keep_tail: bool) -> str:
    if keep_tail:
        return f"({more} earlier characters)…" + text[len(text) - limit :]
    return text[:limit] + f"…({more} more characters)"


def bounded(text: str, limit: int, keep_tail: bool, clean: Callable[[str], str], known: RunSecrets) -> str:
    """clean(text), then clip it; only `limit + margin` characters of a long text are cleaned (what
    is beyond is cut anyway, and a secret straddling the cut lies within the margin: at least
    SCAN_MARGIN, and the longest form of a `known` secret)."""
    window = limit + max(SCAN_MARGIN, known.longest)
    dropped = max(0, len(text) - window)
    if dropped:
        text = text[dropped:] if keep_tail else text[:window]
    cleaned = clean(text)
    total = len(cleaned) + dropped
    if total <= limit:
        return cleaned
    return _marked(cleaned, limit, total - limit, keep_tail)


def scrub_clip(text: object, limit: int, *, keep_tail: bool = False) -> str:
    """Log-grade scrubbing (the run's secrets by value, then the patterns of `scrub_text`) and
    then `clip`: redact first, then cut. Never raises."""
    try:
        text = text if isinstance(text, str) else str(text)
        known = known_secrets()
        return bounded(text, limit, keep_tail, lambda part: scrub_log_text(part, known), known)
    except Exception:
        return REDACTED


def mask_clip(text: str, limit: int, *, keep_tail: bool = False, replacement: str = MASK) -> str:
    """`mask_secrets`, then `clip`: terminal and page text, bounded. Never raises."""
    try:
        known = known_secrets()
        return bounded(text, limit, keep_tail, lambda part: known.redact(part, replacement), known)
    except Exception:
        return replacement
