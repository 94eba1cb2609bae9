"""`codex login app-server`: the account subset of the Codex app-server protocol (Codex CLI 0.171).

JSON-RPC over a line stream, one JSON object per line, as `codex app-server --listen stdio://`
speaks it (the messages carry no `"jsonrpc"` member, as 0.171's do not; a client's is accepted).
Requests before `initialize` are refused (-32600 "Not initialized"), a second one too ("Already
initialized"); unparseable lines are ignored, as 0.171 ignores them. Methods:

  initialize                 -> {codexHome, platformFamily, platformOs, userAgent} (InitializeResponse)
  account/read {refreshToken?} -> {account, userId, requiresOpenaiAuth, workspaceRouting}
  account/login/start {type: "apiKey", apiKey} -> {type}; then account/login/completed, account/updated
  account/login/start {type: "chatgpt"} -> {type, loginId, authUrl}; the callback listener runs in
                                this process; account/login/completed (+ account/updated) when decided
  account/login/start {type: "chatgptDeviceCode"} -> {type, loginId, verificationUrl, userCode}
  account/login/cancel {loginId} -> {status: "canceled" | "notFound"} (-32600 for a malformed id)
  account/logout             -> {}; then account/updated {authMode: null}

Any other method is -32601 naming the supported ones (0.171 answers -32600 "unknown variant").
One login at a time, as 0.171's server enforces it: a new `account/login/start` ends the login
still waiting first (its account/login/completed, success false, is sent before the new answer:
"Login server error: Login cancelled" when a new browser login takes over, "… Login was not
completed" otherwise, and for `account/login/cancel`). Failures of a request are -32603 with our
one-line message. Every login, logout and refresh is a logged run (api.run) whose caller is
`app-server (<clientInfo.name>)`. Writes only through the `write_line` it is given: never prints.
"""

from __future__ import annotations

import json
import platform
import sys
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import trio

from codexlogin import __version__
from codexlogin.api.account import api_key_login, logout
from codexlogin.api.run import resolve_settings
from codexlogin.api.server import DeviceLogin, LoginServer, serve_device_login, serve_login
from codexlogin.config import Settings
from codexlogin.credentials.model import APIKEY, CHATGPT, PERSONAL_ACCESS_TOKEN
from codexlogin.credentials.store import load_credentials
from codexlogin.errors import LoginFailure
from codexlogin.oauth import jwt

if TYPE_CHECKING:
    import httpx

INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INTERNAL_ERROR = -32603
SUPPORTED_METHODS = ("initialize", "account/read", "account/login/start", "account/login/cancel", "account/logout")
LOGIN_TYPES = ("apiKey", "chatgpt", "chatgptDeviceCode")
#: 0.171's PlanType values; any other plan is "unknown".
PLAN_TYPES = frozenset(
    "free go plus pro prolite promax team self_serve_business_prolite self_serve_business_usage_based business"
    " ent26 enterprise_cbp_automation enterprise_cbp_usage_based enterprise edu edu_plus edu_pro sci sci_plus unknown".split()
)
REPLACED = "Login server error: Login cancelled"
NOT_COMPLETED = "Login server error: Login was not completed"

ReadLine = Callable[[], Awaitable[bytes | None]]  # the next line, None at the end of input
WriteLine = Callable[[bytes], Awaitable[None]]


class RequestError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def plan_type(plan: str | None) -> str | None:
    return None if plan is None else plan if plan in PLAN_TYPES else "unknown"


@dataclass(eq=False)
class _ActiveLogin:
    login_id: str
    kind: str  # "chatgpt" | "chatgptDeviceCode"
    handle: LoginServer | DeviceLogin
    ended_because: str | None = None  # why we ended it (REPLACED / NOT_COMPLETED)
    finished: trio.Event = field(default_factory=trio.Event)  # its completion notification is out


class AppServer:
    """One connection's state: initialized or not, the client's name, the one active login."""

    def __init__(
        self,
        settings: Settings,
        write_line: WriteLine,
        nursery: trio.Nursery,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.settings, self._write_line, self._nursery, self._transport = settings, write_line, nursery, transport
        self._write_lock = trio.Lock()
        self.client_name: str | None = None
        self.active: _ActiveLogin | None = None
        self._after_response: Callable[[], Awaitable[None]] | None = None  # notifications that follow the answer

    @property
    def caller(self) -> str:
        return f"app-server ({self.client_name})" if self.client_name else "app-server"

    # --- the wire ----------------------------------------------------------------------------------

    async def send(self, message: dict[str, Any]) -> None:
        line = json.dumps(message, separators=(",", ":")).encode("utf-8") + b"\n"
        async with self._write_lock:
            await self._write_line(line)

    async def notify(self, method: str, params: dict[str, Any]) -> None:
        await self.send({"method": method, "params": params, "emittedAtMs": int(time.time() * 1000)})

    async def handle_line(self, line: bytes) -> None:
        """One line from the client: a request is answered (in order), anything else is ignored."""
        try:
            message = json.loads(line)
        except (ValueError, UnicodeDecodeError, RecursionError):
            return  # as 0.171: an unparseable line gets no answer
        if not isinstance(message, dict) or not isinstance(message.get("method"), str):
            return  # a response from the client, or not a message at all
        request_id = message.get("id")
        if request_id is None:
            return  # a notification (`initialized`): nothing to do
        if isinstance(request_id, bool) or not isinstance(request_id, str | int):
            return
        params = message.get("params")
        try:
            result = await self.dispatch(message["method"], params if isinstance(params, dict) else {})
        except RequestError as error:
            await self.send({"error": {"code": error.code, "message": error.message}, "id": request_id})
            return
        await self.send({"id": request_id, "result": result})
        after, self._after_response = self._after_response, None
        if after is not None:
            await after()

    async def dispatch(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "initialize":
            return self.initialize(params)
        if method not in SUPPORTED_METHODS:
            raise RequestError(
                METHOD_NOT_FOUND, f"method not found: {method}; codex login app-server supports {', '.join(SUPPORTED_METHODS)}"
            )
        if self.client_name is None:
            raise RequestError(INVALID_REQUEST, "Not initialized")
        if method == "account/read":
            return await self.read_account(bool(params.get("refreshToken")))
        if method == "account/login/start":
            return await self.login_start(params)
        if method == "account/login/cancel":
            return self.login_cancel(params)
        return await self.logout()

    # --- methods ---------------------------------------------------------------------------------

    def initialize(self, params: dict[str, Any]) -> dict[str, Any]:
        if self.client_name is not None:
            raise RequestError(INVALID_REQUEST, "Already initialized")
        info = params.get("clientInfo")
        if not isinstance(info, dict) or not isinstance(info.get("name"), str) or not isinstance(info.get("version"), str):
            raise RequestError(INVALID_REQUEST, "Invalid request: missing field `clientInfo` (name, version)")
        self.client_name = info["name"]
        system = platform.system()
        return {
            "userAgent": f"{info['name']}/{__version__} (codexlogin; {system} {platform.machine()}) ({info['name']}; {info['version']})",
            "codexHome": str(self.settings.codex_home.absolute()),
            "platformFamily": "windows" if sys.platform == "win32" else "unix",
            "platformOs": {"Darwin": "macos", "Windows": "windows"}.get(system, system.lower()),
        }

    async def read_account(self, refresh: bool) -> dict[str, Any]:
        try:
            auth, _backend = load_credentials(self.settings)
            if refresh and auth is not None and auth.auth_mode == CHATGPT:
                from codexlogin.api.account import access_token

                try:
                    await access_token(self.settings, caller=self.caller, force_refresh=True, transport=self._transport)
                except LoginFailure:
                    pass  # the account is read as stored; the failed refresh is in the log
                auth, _backend = load_credentials(self.settings)
        except LoginFailure as failure:
            raise RequestError(INTERNAL_ERROR, f"failed to read the account: {failure.summary}") from None
        account: dict[str, Any] | None = None
        user_id = None
        if auth is not None and auth.auth_mode == APIKEY:
            account = {"type": "apiKey"}
        elif auth is not None and auth.auth_mode in (CHATGPT, PERSONAL_ACCESS_TOKEN):
            id_token = auth.tokens.id_token if auth.tokens is not None else None
            account = {
                "type": "chatgpt",
                "email": jwt.email(id_token),
                "planType": plan_type(jwt.plan_type(id_token)) or "unknown",
                "workspaceName": None,  # 0.171 names it from its backend's workspace discovery: not ours to ask
            }
            claimed = jwt.auth_claims(id_token).get("chatgpt_user_id") or jwt.auth_claims(id_token).get("user_id")
            user_id = claimed if isinstance(claimed, str) else None
        return {"account": account, "userId": user_id, "requiresOpenaiAuth": True, "workspaceRouting": None}

    async def login_start(self, params: dict[str, Any]) -> dict[str, Any]:
        kind = params.get("type")
        if kind not in LOGIN_TYPES:
            raise RequestError(
                INVALID_REQUEST,
                f"Invalid request: login type {kind!r} is not supported here; expected one of {', '.join(LOGIN_TYPES)}",
            )
        if kind == "apiKey" and not isinstance(params.get("apiKey"), str):
            raise RequestError(INVALID_REQUEST, "Invalid request: missing field `apiKey`")
        await self.end_active(REPLACED if kind == "chatgpt" else NOT_COMPLETED)
        if kind == "apiKey":
            return await self.api_key_login(params["apiKey"])
        login_id = str(uuid.uuid4())
        try:
            if kind == "chatgpt":
                handle: LoginServer | DeviceLogin = await self._nursery.start(self._serve, serve_login)
            else:
                handle = await self._nursery.start(self._serve, serve_device_login)
        except LoginFailure as failure:
            what = "failed to start the login server" if kind == "chatgpt" else "failed to request device code"
            raise RequestError(INTERNAL_ERROR, f"{what}: {failure.summary}") from None
        active = _ActiveLogin(login_id, str(kind), handle)
        self.active = active
        self._nursery.start_soon(self._report_when_decided, active)
        if isinstance(handle, LoginServer):
            return {"type": "chatgpt", "loginId": login_id, "authUrl": handle.auth_url}
        return {
            "type": "chatgptDeviceCode",
            "loginId": login_id,
            "verificationUrl": handle.verification_url,
            "userCode": handle.user_code,
        }

    async def _serve(
        self, serve: Callable[..., Awaitable[None]], *, task_status: trio.TaskStatus[LoginServer | DeviceLogin]
    ) -> None:
        options: dict[str, Any] = {"caller": self.caller, "transport": self._transport, "task_status": task_status}
        if serve is serve_login:
            options["open_browser"] = False  # the client opens authUrl, as with 0.171's server
        await serve(self.settings, **options)

    async def api_key_login(self, api_key: str) -> dict[str, Any]:
        try:
            await api_key_login(api_key, self.settings, caller=self.caller)
        except LoginFailure as failure:
            raise RequestError(INTERNAL_ERROR, f"failed to save the API key: {failure.summary}") from None

        async def after() -> None:
            await self.notify("account/login/completed", {"loginId": None, "success": True, "error": None})
            await self.notify("account/updated", {"authMode": "apikey", "planType": None})

        self._after_response = after
        return {"type": "apiKey"}

    def login_cancel(self, params: dict[str, Any]) -> dict[str, Any]:
        login_id = params.get("loginId")
        if not isinstance(login_id, str):
            raise RequestError(INVALID_REQUEST, "Invalid request: missing field `loginId`")
        try:
            uuid.UUID(login_id)
        except ValueError:
            raise RequestError(INVALID_REQUEST, f"invalid login id: {login_id}") from None
        active = self.active
        if active is None or active.login_id != login_id or active.handle.done:
            return {"status": "notFound"}
        active.ended_because = NOT_COMPLETED
        active.handle.cancel()
        return {"status": "canceled"}

    async def logout(self) -> dict[str, Any]:
        try:
            await logout(self.settings, caller=self.caller, transport=self._transport)
        except LoginFailure as failure:
            raise RequestError(INTERNAL_ERROR, f"failed to log out: {failure.summary}") from None

        async def after() -> None:
            await self.notify("account/updated", {"authMode": None, "planType": None})

        self._after_response = after
        return {}

    # --- the one active login --------------------------------------------------------------------

    async def end_active(self, because: str) -> None:
        """End the login still waiting, if any, and wait until its completion has been sent."""
        active = self.active
        if active is None:
            return
        if not active.handle.done:
            active.ended_because = active.ended_because or because
            active.handle.cancel()
        await active.finished.wait()

    async def _report_when_decided(self, active: _ActiveLogin) -> None:
        try:
            account = await active.handle.wait()
        except LoginFailure as failure:
            error = active.ended_because or (
                f"Login server error: {failure.summary}" if active.kind == "chatgpt" else failure.summary
            )
            await self.notify("account/login/completed", {"loginId": active.login_id, "success": False, "error": error})
        else:
            await self.notify("account/login/completed", {"loginId": active.login_id, "success": True, "error": None})
            await self.notify("account/updated", {"authMode": "chatgpt", "planType": plan_type(account.plan)})
        finally:
            if self.active is active:
                self.active = None
            active.finished.set()


async def serve_app_server(
    read_line: ReadLine,
    write_line: WriteLine,
    settings: Settings | None = None,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
) -> None:
    """Answer requests line by line until the input ends; a login still waiting then ends too."""
    settings = resolve_settings(settings)
    async with trio.open_nursery() as nursery:
        server = AppServer(settings, write_line, nursery, transport=transport)
        while (line := await read_line()) is not None:
            if line.strip():
                await server.handle_line(line)
        await server.end_active(NOT_COMPLETED)


__all__ = ["AppServer", "RequestError", "plan_type", "serve_app_server"]
