"""JSON from outside (auth.json, the keyring, JWT payloads, issuer replies), read with a depth bound.

`json.loads` recurses once per nesting level: a 100,000-deep `[[[…` raises RecursionError, and
a value just under the interpreter's limit parses but breaks the next recursive step (writing
auth.json back, scrubbing, printing). `loads` turns both into ValueError, which every caller
already handles as "not usable JSON", so nothing from outside can end a command with a traceback.
Stdlib only: imported by `codex login status`.
"""

from __future__ import annotations

import json

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from typing import Any

#: Deeper than any document we read (auth.json, a token reply, JWT claims nest 2–4 levels).
MAX_DEPTH = 64


class TooDeep(ValueError):
    """The document nests deeper than MAX_DEPTH."""


def loads(data: str | bytes | bytearray, *, max_depth: int = MAX_DEPTH) -> Any:
    """`json.loads`, but ValueError (TooDeep) for a document nested deeper than `max_depth`.
    UnicodeDecodeError (a ValueError too) for bytes that are not UTF-8."""
    try:
        value = json.loads(data)
    except RecursionError:
        raise TooDeep(f"JSON nested too deeply (more than {max_depth} levels)") from None
    if depth_exceeds(value, max_depth):
        raise TooDeep(f"JSON nested too deeply (more than {max_depth} levels)")
    return value


def depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether `value` (parsed JSON) nests deeper than `max_depth`: iterative, never recursing."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children: Any = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > max_depth:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


__all__ = ["MAX_DEPTH", "TooDeep", "depth_exceeds", "loads"]
