"""Structured values for the log: a key-aware recursive scrub of a JSON-ish structure.

`scrub_fields(obj)` redacts the value of every secret key (`keys.SECRET_KEYS`; bools and None
kept), runs every string through `secrets.scrub_log_text` (cut at MAX_LOGGED_FIELD_CHARS) and turns
what JSON cannot hold into scrubbed text; it never raises. `scrub_value` and `clean_str` are its
steps, for callers that walk a structure themselves (`diagnostics.scrubbing.scrub_message`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from codexlogin.redact.clip import bounded
from codexlogin.redact.keys import REDACTED, SECRET_KEYS, normalize_key
from codexlogin.redact.secrets import known_secrets, scrub_log_text

#: Every string field that reaches codex-login.log is cut here (after redaction), with a marker.
MAX_LOGGED_FIELD_CHARS = 10_000

_MAX_DEPTH = 32
_INT64 = 2**63
_CACHED_STR_LENGTH = 256  # field names and short values repeat in every message of every run
_MAX_CACHE = 4096


def clean_str(value: str) -> str:
    """One string as the log may hold it; short ones are cached with the run's secrets."""
    text = str.__str__(value)
    known = known_secrets()
    if len(text) > _CACHED_STR_LENGTH:
        if len(text) > MAX_LOGGED_FIELD_CHARS:
            return bounded(text, MAX_LOGGED_FIELD_CHARS, False, lambda part: scrub_log_text(part, known), known)
        return scrub_log_text(text, known)
    cached = known.cache.get(text)
    if cached is None:
        if len(known.cache) >= _MAX_CACHE:
            known.cache.clear()
        cached = known.cache[text] = scrub_log_text(text, known)
    return cached


def scrub_value(obj: object, depth: int) -> object:
    """`scrub_fields` of `obj` found `depth` levels down a structure (REDACTED past _MAX_DEPTH)."""
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        return clean_str(obj)
    if isinstance(obj, int):
        value = int(obj)
        return value if -_INT64 <= value < _INT64 else str(value)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if depth >= _MAX_DEPTH:
        return REDACTED
    if isinstance(obj, Mapping):
        out: dict[str, object] = {}
        for key, value in obj.items():
            name = key if isinstance(key, str) else str(key)
            if name.startswith("__eliot"):
                continue
            name = clean_str(name)
            if normalize_key(name) in SECRET_KEYS and not (value is None or isinstance(value, bool)):
                out[name] = REDACTED
            else:
                out[name] = scrub_value(value, depth + 1)
        return out
    if isinstance(obj, (list, tuple)):
        return [scrub_value(item, depth + 1) for item in obj]
    try:
        text = str(obj)
    except Exception:
        return REDACTED
    return clean_str(text)


def scrub_fields(obj: object) -> object:
    """Key-aware recursive scrub: secret keys → REDACTED (bools/None kept), strings → scrub_text.

    Dicts come back as new dicts with str keys, tuples as lists, non-JSON values as scrubbed
    `str(value)`. Never raises.
    """
    try:
        return scrub_value(obj, 0)
    except Exception:
        return REDACTED
