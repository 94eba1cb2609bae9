"""Whole eliot messages for the log: `scrub_message(message)`, with eliot's own failure messages.

`redact.scrub_fields` on the message, plus special handling of eliot's `eliot:serialization_failure`
and `eliot:destination_failure`, which embed a repr of the whole original message; never raises.
Used by the log destination (`destination.ScrubbingDestination`) and again by the log readers in
support/ (`render`, `follow`), which must not import eliot: so this module knows eliot's formats
without importing eliot (type names come from the eliot-free `names`).
"""

from __future__ import annotations

import ast
from collections.abc import Mapping
from typing import Any

from codexlogin.diagnostics import names
from codexlogin.redact.fields import clean_str, scrub_value
from codexlogin.redact.keys import REDACTED, SECRET_KEYS, normalize_key
from codexlogin.redact.text import scrub_text

SERIALIZATION_FAILURE = "eliot:serialization_failure"
DESTINATION_FAILURE = "eliot:destination_failure"
SCRUB_FAILURE = names.SCRUB_FAILURE

_ENVELOPE_KEYS = ("timestamp", "task_uuid", "task_level")
_MAX_EMBEDDED = 64 * 1024


def _minimal(message: object) -> dict[str, object]:
    safe: dict[str, object] = {"message_type": SCRUB_FAILURE}
    try:
        for key in _ENVELOPE_KEYS:
            if key in message:  # type: ignore[operator]
                value = message[key]  # type: ignore[index]
                if key == "timestamp" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    safe[key] = float(value)
                elif key == "task_uuid" and isinstance(value, str) and len(value) <= 64:
                    safe[key] = scrub_text(value)
                elif key == "task_level" and isinstance(value, (list, tuple)):
                    safe[key] = [int(v) for v in value if isinstance(v, int) and not isinstance(v, bool)]
    except Exception:
        pass
    return safe


def _literal(text: str) -> tuple[bool, object]:
    try:
        return True, ast.literal_eval(text)
    except Exception:  # SyntaxError, ValueError, RecursionError, MemoryError...
        return False, None


def _scrub_embedded(embedded: object) -> dict[str, object] | None:
    """Turn eliot's `str({repr(key): repr(value)})` back into a scrubbed dict, or None if unsure.

    eliot builds these texts with `_safe_unicode_dictionary`: every key and value is a repr.
    Values that are Python literals are parsed and scrubbed structurally; others (object reprs)
    go through scrub_text, whose key-aware patterns catch `code='...'`, `'code': '...'` etc.
    """
    if not isinstance(embedded, str) or len(embedded) > _MAX_EMBEDDED:
        return None
    ok, outer = _literal(embedded)
    if not ok or not isinstance(outer, dict):
        return None
    keys: list[str] = []
    for raw_key, raw_value in outer.items():
        ok, key = _literal(raw_key) if isinstance(raw_key, str) else (False, None)
        if not ok or not isinstance(key, str) or not isinstance(raw_value, str):
            # Not eliot's repr-of-reprs layout: eliot fell back to repr(message) itself.
            scrubbed = scrub_value(outer, 1)
            return scrubbed if isinstance(scrubbed, dict) else None
        keys.append(key)
    result: dict[str, object] = {}
    for key, raw_value in zip(keys, outer.values()):
        if key.startswith("__eliot"):
            continue
        ok, value = _literal(raw_value)
        if ok:
            scrubbed_item = scrub_value({key: value}, 1)
            assert isinstance(scrubbed_item, dict)  # scrub_value maps a Mapping (below _MAX_DEPTH) to a dict
            result.update(scrubbed_item)
        elif normalize_key(key) in SECRET_KEYS:
            result[clean_str(key)] = REDACTED
        else:
            result[clean_str(key)] = clean_str(raw_value)
    return result


def scrub_message(message: dict[str, Any]) -> dict[str, Any]:
    """Scrub one eliot message dict for the log file. Never raises.

    For `eliot:serialization_failure` / `eliot:destination_failure` the embedded `message` text
    (a repr of the whole original message) is parsed and scrubbed key by key into a dict; if it
    cannot be parsed with confidence it is dropped (`message_dropped: true`).
    On any internal error a minimal `codex:scrub_failure` message (envelope fields only) is
    returned instead.
    """
    try:
        scrubbed = scrub_value(message, 0)
        if not isinstance(scrubbed, dict):
            return _minimal(message)
        if message.get("message_type") in (SERIALIZATION_FAILURE, DESTINATION_FAILURE):
            # A dict here is our own earlier output (the renderer re-scrubs): already structural.
            if "message" in message and not isinstance(message.get("message"), Mapping):
                embedded = _scrub_embedded(message.get("message"))
                if embedded is None:
                    del scrubbed["message"]
                    scrubbed["message_dropped"] = True
                else:
                    scrubbed["message"] = embedded
        return scrubbed
    except Exception:
        return _minimal(message)
