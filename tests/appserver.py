"""A scripted JSON-RPC client for `codex login app-server`, and the 0.171 schema check of every
message the server sends (used by tests/cli/test_app_server.py and scripts/interop_codex.py).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import trio

VENDORED_SCHEMAS = Path(__file__).resolve().parent / "interop" / "codex-0.171-schemas"

#: The result schema of each method's answer (files as `codex app-server generate-json-schema` names them).
RESULT_SCHEMAS = {
    "initialize": "v1/InitializeResponse.json",
    "account/read": "v2/GetAccountResponse.json",
    "account/login/start": "v2/LoginAccountResponse.json",
    "account/login/cancel": "v2/CancelLoginAccountResponse.json",
    "account/logout": "v2/LogoutAccountResponse.json",
}
NOTIFICATION_SCHEMAS = {
    "account/login/completed": "v2/AccountLoginCompletedNotification.json",
    "account/updated": "v2/AccountUpdatedNotification.json",
}


class SchemaCheck:
    """Validates server messages against a schema directory; `checked` counts them."""

    def __init__(self, directory: Path = VENDORED_SCHEMAS) -> None:
        self.directory = directory
        self.checked = 0
        self._validators: dict[str, jsonschema.protocols.Validator] = {}

    def _validator(self, name: str) -> jsonschema.protocols.Validator:
        if name not in self._validators:
            schema = json.loads((self.directory / name).read_text())
            self._validators[name] = jsonschema.Draft7Validator(schema)
        return self._validators[name]

    def validate(self, message: dict[str, Any], method: str | None) -> None:
        """`method`: the request a response answers (None for a notification)."""
        if "error" in message:
            self._validator("JSONRPCError.json").validate(message)
        elif method is not None:
            self._validator("JSONRPCResponse.json").validate(message)
            self._validator(RESULT_SCHEMAS[method]).validate(message["result"])
        else:
            self._validator("JSONRPCNotification.json").validate(message)
            self._validator(NOTIFICATION_SCHEMAS[message["method"]]).validate(message["params"])
        self.checked += 1


class AppServerClient:
    """Requests and notifications over a subprocess's pipes, one JSON object per line."""

    def __init__(self, process: trio.Process, schemas: SchemaCheck | None = None) -> None:
        self.process = process
        self.schemas = schemas or SchemaCheck()
        self._buffer = b""
        self._next_id = 0
        self.notifications: list[dict[str, Any]] = []
        self.received: list[dict[str, Any]] = []  # every message, in order
        self._pending: dict[Any, str] = {}

    async def send(self, message: dict[str, Any]) -> None:
        assert self.process.stdin is not None
        await self.process.stdin.send_all(json.dumps(message).encode() + b"\n")

    async def _read_message(self) -> dict[str, Any] | None:
        assert self.process.stdout is not None
        while b"\n" not in self._buffer:
            chunk = await self.process.stdout.receive_some(65536)
            if not chunk:
                return None
            self._buffer += chunk
        line, _, self._buffer = self._buffer.partition(b"\n")
        message = json.loads(line)
        method = self._pending.pop(message.get("id"), None) if "method" not in message else None
        self.schemas.validate(message, method)
        self.received.append(message)
        return message

    async def request(self, method: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """The answer (`result` or `error` message); notifications meanwhile are kept."""
        self._next_id += 1
        request_id = self._next_id
        self._pending[request_id] = method
        message: dict[str, Any] = {"id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        await self.send(message)
        while True:
            answer = await self._read_message()
            assert answer is not None, f"the server ended before answering {method}"
            if answer.get("id") == request_id and "method" not in answer:
                return answer
            self.notifications.append(answer)

    async def notification(self, method: str) -> dict[str, Any]:
        """The next notification named `method` (earlier ones already received count first)."""
        for index, seen in enumerate(self.notifications):
            if seen["method"] == method:
                return self.notifications.pop(index)
        while True:
            message = await self._read_message()
            assert message is not None, f"the server ended before sending {method}"
            if message.get("method") == method:
                return message
            self.notifications.append(message)

    async def initialize(self, name: str = "test-client") -> dict[str, Any]:
        answer = await self.request("initialize", {"clientInfo": {"name": name, "version": "1.0"}})
        await self.send({"method": "initialized"})
        return answer

    async def close(self) -> list[dict[str, Any]]:
        """Close stdin (the server's end of input) and read what it still sends."""
        assert self.process.stdin is not None
        await self.process.stdin.aclose()
        rest = []
        while (message := await self._read_message()) is not None:
            rest.append(message)
        return rest
