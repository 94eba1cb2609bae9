"""An ASGI wrapper for the dev issuer that lets a token request be processed (the refresh token is
rotated at the issuer) but holds the reply back for a while: a slow network on the way back, the
window in which another writer (logout, a login) used to race a refresh in flight.
"""

from __future__ import annotations

import threading

import trio
from harness import IssuerWrapper


class HeldTokenReply(IssuerWrapper):
    def __init__(self, inner, hold: float):
        self.inner, self.hold = inner, hold
        self.armed = False  # hold only the replies the test asks for (not the set-up's token requests)
        self.holding = threading.Event()  # set while a reply is held; for a test in another thread
        self._held = trio.Event()  # set once a reply is held; for a task on the issuer's loop

    async def wait_holding(self):
        """From a trio task on the issuer's own loop: until a reply has been held back."""
        await self._held.wait()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/oauth/token" or not self.armed:
            return await self.inner(scope, receive, send)

        async def held_send(message):
            if message["type"] == "http.response.start":  # the issuer has answered (and rotated)
                self.holding.set()
                self._held.set()
                await trio.sleep(self.hold)
                self.holding.clear()
            await send(message)

        await self.inner(scope, receive, held_send)
