"""The ASGI piece shared by our two raw ASGI apps (the callback listener and the dev issuer)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from hypercorn.typing import ASGIReceiveCallable, ASGISendCallable


async def answer_lifespan(receive: ASGIReceiveCallable, send: ASGISendCallable) -> None:
    """hypercorn's serve() requires an app to complete the lifespan protocol; we have nothing to set up."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
