"""Paths as text, exactly as pathlib writes them, for `codex login status`'s path: without pathlib.

`import pathlib` also imports urllib.parse and ipaddress, about two thirds of what a logged-out
`codex login status` cost on top of the interpreter; yet its happy path only opens two files under
CODEX_HOME. These functions give the text `str(Path(...))` would (so every message naming a path
reads the same), and the file operations take that text as it is. On POSIX they follow pathlib's
own rules (repeated `/` and `.` parts dropped, a leading `//` kept, `~` expanded as
`Path.expanduser` does); elsewhere they ask pathlib. tests/config/test_pathtext.py checks them against
pathlib. Stdlib only.
"""

from __future__ import annotations

import os

_POSIX = os.name == "posix"


def _parsed(text: str) -> tuple[str, list[str]]:
    """(root, parts) as pathlib's POSIX flavour splits `text`."""
    root = ""
    if text.startswith("/"):
        root = "//" if text.startswith("//") and not text.startswith("///") else "/"
    return root, [part for part in text.split("/") if part and part != "."]


def _formatted(root: str, parts: list[str]) -> str:
    return root + "/".join(parts) or "."


def path_text(text: str) -> str:
    """`str(Path(text))`."""
    if not _POSIX:
        from pathlib import Path

        return str(Path(text))
    return _formatted(*_parsed(text))


def joined(base: str, *names: str) -> str:
    """`str(Path(base).joinpath(*names))` for relative `names` without separators (auth.json)."""
    if not _POSIX:
        from pathlib import Path

        return str(Path(base).joinpath(*names))
    root, parts = _parsed(base)
    return _formatted(root, [*parts, *(name for name in names if name and name != ".")])


def expanded_path_text(text: str) -> str:
    """`str(Path(text).expanduser())`: a leading `~` or `~user` part expanded; RuntimeError, as
    pathlib raises it, when the home directory cannot be determined."""
    if not _POSIX:
        from pathlib import Path

        return str(Path(text).expanduser())
    root, parts = _parsed(text)
    if root or not parts or not parts[0].startswith("~"):
        return _formatted(root, parts)
    home = os.path.expanduser(parts[0])
    if home[:1] == "~":
        raise RuntimeError("Could not determine home directory.")
    home_root, home_parts = _parsed(home)
    return _formatted(home_root, [*home_parts, *parts[1:]])
