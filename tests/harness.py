"""Shared harness for login tests: one in-process login run driven by a scripted browser."""

from __future__ import annotations

import io
import json
import socket
from contextlib import closing
from dataclasses import replace
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import trio

from codexlogin import diagnostics
from codexlogin.browser_flow import browser_login
from codexlogin.outcomes import LoginFailure
from codexlogin.settings import load_settings


def make_settings(tmp_path, issuer_url, **changes):
    settings = load_settings({"issuer": issuer_url, "port": 0, "no_browser": True})
    return replace(settings, log_dir=tmp_path / "log", **changes)


def query_of(url):
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}


def callback_url(authorize_url, **params):
    redirect = query_of(authorize_url)["redirect_uri"]
    return f"{redirect}?{urlencode(params)}"


async def get(url, **kwargs):
    async with httpx.AsyncClient(trust_env=False, timeout=600) as client:
        return await client.get(url, **kwargs)


async def approve(authorize_url):
    """The user's browser: the auto-approving issuer redirects straight back to our listener."""
    async with httpx.AsyncClient(trust_env=False, timeout=600) as client:
        redirect = await client.get(authorize_url)
        assert redirect.status_code == 302, redirect.text
        return await client.get(redirect.headers["location"])


class Run:
    """One login run, its browser side, and what it left behind."""

    def __init__(self, settings):
        self.settings = settings
        self.stderr = io.StringIO()
        self.pages: list[httpx.Response] = []
        self.result = None
        self.url = None

    @property
    def log(self):
        path = self.settings.log_file
        return path.read_text() if path.exists() else ""

    def log_messages(self):
        return [json.loads(line) for line in self.log.splitlines()]

    async def __call__(self, browser):
        send, receive = trio.open_memory_channel(1)

        async def drive():
            self.url = await receive.receive()
            await browser(self, self.url)

        async def login():
            with diagnostics.command_action("login", "browser"):
                return await browser_login(self.settings, stderr=self.stderr, on_listening=send.send_nowait)

        with diagnostics.open_log(self.settings.resolved_log_dir):
            async with trio.open_nursery() as nursery:
                nursery.start_soon(drive)
                try:
                    self.result = await login()
                except LoginFailure as failure:
                    self.result = failure
                nursery.cancel_scope.cancel()  # a login that failed early never reached the browser
        return self.result


async def approving_browser(run, url):
    run.pages.append(await approve(url))


def assert_port_free(url):
    """No listener is left: a new login (which binds with SO_REUSEADDR, as we do) gets the port."""
    port = int(urlsplit(query_of(url)["redirect_uri"]).port)
    with closing(socket.socket()) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        probe.bind(("127.0.0.1", port))
        probe.listen(1)


def assert_no_secrets(log, *secrets):
    for secret in secrets:
        assert secret and secret not in log, f"secret leaked into codex-login.log: {secret[:12]}…"


def free_port():
    with closing(socket.socket()) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
