"""A logged run: its short reference and its root action `codex:command`.

Everything under the root is logged by calling the declared types in `schema` directly.
"""

from __future__ import annotations

import base64
import secrets
from typing import Any

import eliot

from codexlogin import __version__
from codexlogin.diagnostics import schema

#: Length of a run's reference: 8 characters of RFC 4648 base32 (40 random bits).
REFERENCE_CHARS = 8
_current_reference: str | None = None


def new_reference() -> str:
    """A short random reference for one run (e.g. `K3X9QZ2A`): not secret, only a name a user can
    read off a page or an `error:` line and give to `codex login log --grep`."""
    return base64.b32encode(secrets.token_bytes(REFERENCE_CHARS * 5 // 8)).decode("ascii")


def current_reference() -> str | None:
    """The reference of the run most recently started in this process (None before any run).

    A command runs one logged run, so after its run it still names that run (the failure line
    printed after the log is closed shows it)."""
    return _current_reference


def command_action(command: str, flow: str, **fields: Any) -> eliot.Action:
    """`codex:command`: the root action of a run, with this version and a new `reference`. The
    run's boundary adds outcome/exit_code."""
    global _current_reference
    _current_reference = reference = new_reference()
    return schema.COMMAND(command=command, flow=flow, version=__version__, reference=reference, **fields)
