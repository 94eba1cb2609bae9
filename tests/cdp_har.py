"""A real headless Chromium recording a HAR 1.2 over the Chrome DevTools Protocol (for tests).

Chromium writes a netlog but no HAR; DevTools builds its HAR from the Network domain's events, and
so does this: requestWillBeSent (with redirectResponse for each hop of a redirect chain),
requestWillBeSentExtraInfo / responseReceivedExtraInfo (the headers really sent and received:
Cookie, Set-Cookie, Authorization), responseReceived, loadingFinished (then getResponseBody) and
loadingFailed (errorText, as DevTools's `_error`). Blocking (websocket-client): run it in a
worker thread, never under an autojumping clock.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

CHROMIUM = "/usr/bin/chromium"


def available() -> bool:
    return os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


def _iso(wall: float) -> str:
    return datetime.fromtimestamp(wall, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _headers(headers: dict) -> list[dict]:
    return [{"name": name, "value": str(value)} for name, value in (headers or {}).items()]


class Chromium:
    """`with Chromium() as browser: har = browser.record(url, done=...)`."""

    def __init__(self) -> None:
        self.profile = tempfile.mkdtemp(prefix="codexlogin-chromium-")
        self.process: subprocess.Popen | None = None
        self.ws = None
        self.next_id = 0

    def __enter__(self) -> Chromium:
        self.process = subprocess.Popen(
            [
                CHROMIUM,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--no-first-run",
                "--disable-extensions",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--remote-debugging-address=127.0.0.1",
                "--no-proxy-server",
                "--remote-debugging-port=0",
                f"--user-data-dir={self.profile}",
                "about:blank",
            ],
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        # Polls, each under a hard 30 s bound: Chromium announces its DevTools port only by writing
        # this file (or on stderr, which would then need draining for the browser's whole life),
        # and its first page target only by being listed; there is no event to wait on for either.
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        while not os.path.exists(port_file) or os.path.getsize(port_file) == 0:
            if time.monotonic() > deadline or self.process.poll() is not None:
                raise RuntimeError("chromium did not start its DevTools endpoint")
            time.sleep(0.05)
        port = int(Path(port_file).read_text().split()[0])
        pages = []
        while not pages:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/json/list", timeout=10) as reply:
                pages = [t for t in json.load(reply) if t.get("type") == "page"]
            if time.monotonic() > deadline:
                raise RuntimeError("chromium has no page target")
            if not pages:
                time.sleep(0.05)
        import websocket

        self.ws = websocket.create_connection(pages[0]["webSocketDebuggerUrl"], timeout=30, suppress_origin=True)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.ws is not None:
            self.ws.close()
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)

    # -- protocol --

    def send(self, method: str, **params: object) -> int:
        self.next_id += 1
        self.ws.send(json.dumps({"id": self.next_id, "method": method, "params": params}))
        return self.next_id

    def call(self, method: str, events: list[dict], **params: object) -> dict:
        """Send and wait for the reply; events arriving meanwhile are kept in `events`."""
        wanted = self.send(method, **params)
        while True:
            message = json.loads(self.ws.recv())
            if message.get("id") == wanted:
                if "error" in message:
                    raise RuntimeError(f"{method}: {message['error']}")
                return message.get("result", {})
            if "method" in message:
                events.append(message)

    def record(
        self,
        url: str,
        *,
        done: Callable[[list[dict]], bool],
        cookies: list[dict] = (),
        extra_headers: dict | None = None,
        timeout: float = 60,
    ) -> dict:
        """Navigate to `url` and return the HAR of everything until `done(entries)` holds."""
        events: list[dict] = []
        self.call("Network.enable", events)
        self.call("Network.clearBrowserCookies", events)
        for cookie in cookies:
            self.call("Network.setCookie", events, **cookie)
        self.call("Network.setExtraHTTPHeaders", events, headers=extra_headers or {})
        self.call("Page.navigate", events, url=url)
        builder = HarBuilder(self, events)
        deadline = time.monotonic() + timeout
        while not done(builder.entries):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the browser did not finish: {[e['request']['url'][:60] for e in builder.entries]}")
            builder.pump()
        return builder.har()


class HarBuilder:
    """Network events → HAR 1.2 entries, the way DevTools exports them."""

    def __init__(self, browser: Chromium, backlog: list[dict]) -> None:
        self.browser = browser
        self.backlog = backlog
        self.open: dict[str, dict] = {}
        self.extra_request: dict[str, dict] = {}
        self.extra_response: dict[str, dict] = {}
        self.entries: list[dict] = []

    def pump(self) -> None:
        if self.backlog:
            event = self.backlog.pop(0)
        else:
            event = json.loads(self.browser.ws.recv())
        if "method" in event:
            self.handle(event["method"], event.get("params", {}))

    def _start(self, rid: str, params: dict) -> None:
        request = params["request"]
        url = request["url"] + request.get("urlFragment", "")
        entry = {
            "startedDateTime": _iso(params["wallTime"]),
            "_monotonic": params["timestamp"],
            "time": 0,
            "_resourceType": str(params.get("type", "Other")).lower(),
            "request": {
                "method": request["method"],
                "url": url,
                "httpVersion": "HTTP/1.1",
                "headers": _headers(request.get("headers", {})),
                "queryString": [{"name": k, "value": v} for k, v in parse_qsl(urlsplit(url).query)],
                "cookies": [],
                "headersSize": -1,
                "bodySize": len(request.get("postData", "")),
            },
            "response": {
                "status": 0,
                "statusText": "",
                "httpVersion": "HTTP/1.1",
                "headers": [],
                "cookies": [],
                "content": {"size": 0, "mimeType": ""},
                "redirectURL": "",
                "headersSize": -1,
                "bodySize": -1,
            },
            "cache": {},
            "timings": {"send": 0, "wait": 0, "receive": 0},
        }
        if "postData" in request:
            entry["request"]["postData"] = {
                "mimeType": request.get("headers", {}).get("Content-Type", ""),
                "text": request["postData"],
            }
        extra = self.extra_request.pop(rid, None)
        if extra:
            entry["request"]["headers"] = _headers(extra)
        self.open[rid] = entry

    def _respond(self, entry: dict, response: dict, rid: str) -> None:
        headers = self.extra_response.pop(rid, None) or response.get("headers", {})
        entry["response"].update(
            status=response.get("status", 0),
            statusText=response.get("statusText", ""),
            headers=_headers(headers),
            redirectURL=next((v for k, v in headers.items() if k.lower() == "location"), ""),
        )
        entry["response"]["content"]["mimeType"] = response.get("mimeType", "")

    def _finish(self, rid: str, ts: float) -> dict | None:
        entry = self.open.pop(rid, None)
        if entry is None:
            return None
        entry["time"] = max(0.0, (ts - entry.pop("_monotonic")) * 1000)
        self.entries.append(entry)
        return entry

    def handle(self, method: str, params: dict) -> None:
        rid = params.get("requestId")
        if method == "Network.requestWillBeSent":
            if "redirectResponse" in params and rid in self.open:
                self._respond(self.open[rid], params["redirectResponse"], rid)
                self._finish(rid, params["timestamp"])
            self._start(rid, params)
        elif method == "Network.requestWillBeSentExtraInfo":
            if rid in self.open:
                self.open[rid]["request"]["headers"] = _headers(params.get("headers", {}))
            else:
                self.extra_request[rid] = params.get("headers", {})
        elif method == "Network.responseReceivedExtraInfo":
            self.extra_response[rid] = params.get("headers", {})
        elif method == "Network.responseReceived" and rid in self.open:
            self._respond(self.open[rid], params["response"], rid)
        elif method == "Network.loadingFinished" and rid in self.open:
            entry = self.open[rid]
            if entry["_resourceType"] == "document":
                try:
                    body = self.browser.call("Network.getResponseBody", self.backlog, requestId=rid)
                    entry["response"]["content"]["text"] = body.get("body", "")
                    entry["response"]["content"]["size"] = len(body.get("body", ""))
                except RuntimeError:
                    pass
            self._finish(rid, params["timestamp"])
        elif method == "Network.loadingFailed" and rid in self.open:
            entry = self.open[rid]
            entry["response"]["_error"] = params.get("errorText", "")
            self._finish(rid, params["timestamp"])

    def har(self) -> dict:
        for rid in list(self.open):  # still open: exported as DevTools does, without a response
            entry = self.open.pop(rid)
            entry.pop("_monotonic", None)
            self.entries.append(entry)
        return {
            "log": {
                "version": "1.2",
                "creator": {"name": "codexlogin tests (CDP)", "version": "1"},
                "pages": [],
                "entries": sorted(self.entries, key=lambda e: e["startedDateTime"]),
            }
        }


def entry_done(pattern: str) -> Callable[[list[dict]], bool]:
    """`done` for record(): an entry whose URL matches `pattern` has finished (or failed)."""
    regex = re.compile(pattern)
    return lambda entries: any(regex.search(e["request"]["url"]) for e in entries)
