"""One failure, logged once: the action where it happened holds its facts; the actions it leaves
through on its way out only say that a child failed.

eliot ends every action an exception passes through as failed and asks the registered extractor
for its fields, so a token-exchange failure used to repeat the same nine fields on the exchange,
the listener and the command. Here the extractor tags the failure's fields with a token of the
exception object; the log's destination (destination.ScrubbingDestination) keeps them on the first
action that ends with it, and every later one (a parent) ends with only `failed_in` (the action
type where it happened), plus, on the run's root, the run's `outcome` and `exit_code` (what the
command ended with, as a succeeded root has `outcome: success, exit_code: 0`). eliot's own
`exception` and `reason` go the same way: they are the failure's, not the parent's.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any

from codexlogin.diagnostics import names

#: The internal field that carries the failure's token from the extractor to the destination;
#: never written.
FAILURE_TOKEN = "_codex_failure"
#: Kept on a parent that a failure passed through: the envelope, and on the root the run's result.
_ENVELOPE = ("timestamp", "task_uuid", "task_level", "action_type", "action_status")
_ROOT_RESULT = ("outcome", "exit_code")
_MAX_REMEMBERED = 256  # failures whose first action is remembered (a run has a handful)

_tokens = itertools.count(1)


def failure_token(exc: BaseException) -> int:
    """The same number for the same exception object each time it ends an action."""
    token = getattr(exc, "_codex_failure_token", None)
    if not isinstance(token, int):
        token = next(_tokens)
        try:
            exc._codex_failure_token = token  # type: ignore[attr-defined]
        except (AttributeError, TypeError):  # an exception without a __dict__: logged at every level
            return 0
    return token


class LoggedOnce:
    """Rewrites failed-action ends so that each failure's facts appear once (see the module)."""

    def __init__(self) -> None:
        self._first: OrderedDict[int, str] = OrderedDict()

    def __call__(self, message: dict[str, Any]) -> dict[str, Any]:
        if FAILURE_TOKEN not in message:
            return message
        message = dict(message)
        token = message.pop(FAILURE_TOKEN)
        if not token:
            return message
        first = self._first.get(token)
        if first is None:
            self._first[token] = str(message.get("action_type"))
            while len(self._first) > _MAX_REMEMBERED:
                self._first.popitem(last=False)
            return message
        parent = {key: message[key] for key in _ENVELOPE if key in message}
        parent["failed_in"] = first
        if message.get("action_type") == names.COMMAND:
            parent.update({key: message[key] for key in _ROOT_RESULT if key in message})
        return parent
