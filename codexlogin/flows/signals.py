"""The signals that end a run (a login, logout, status --check, doctor), taken as values inside
trio instead of killing the process.

SIGINT is a cancel (130); SIGTERM, SIGHUP and SIGQUIT terminate (143). Either way the flow ends
through its normal path: the listener shuts down, an unfinished save is cancelled (its temp file
removed), and the run's root action in codex-login.log ends with outcome `cancelled`. A signal
that came before the receiver was installed was remembered by `listener.prepare.hold_early_signals`
and is taken first.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any, TypeVar

import trio

from codexlogin.errors import Cancelled, Terminated
from codexlogin.listener.prepare import ENDING_SIGNALS, take_early_signal

T = TypeVar("T")


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def failure_for(signum: int, what: str = "login") -> Cancelled:
    """The failure an ending signal makes of the run `what` ("login", "logout", "status check"…)."""
    if signum == signal.SIGINT:
        return Cancelled(f"{what} cancelled (Ctrl-C)")
    return Terminated(f"{what} terminated ({signal_name(signum)})")


def open_signal_receiver() -> contextlib.AbstractContextManager[AsyncIterator[int] | None]:
    """The ending signals as values; None off the main thread (handlers can only be set there)."""
    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext(None)
    receiver: Any = trio.open_signal_receiver(*ENDING_SIGNALS)
    return receiver


async def next_signal(signals: AsyncIterator[int] | None) -> int | None:
    """The first ending signal: one remembered from before the receiver, else the next to arrive.
    None when there is no receiver (not on the main thread)."""
    early = take_early_signal()
    if early is not None or signals is None:
        return early
    async for signum in signals:
        return signum
    return None  # pragma: no cover - a signal receiver never ends


async def run_until_signal(body: Callable[[], Awaitable[T]], what: str = "login") -> T:
    """Run `body`; an ending signal cancels it and raises Cancelled (SIGINT) or Terminated.
    What `body` raises comes out as itself (not inside an exception group)."""
    failure: Cancelled | None = None
    finished: list[T] = []
    error: Exception | None = None
    with open_signal_receiver() as signals:
        async with trio.open_nursery() as nursery:
            body_scope = trio.CancelScope()

            async def watch() -> None:
                nonlocal failure
                signum = await next_signal(signals)
                if signum is not None:
                    failure = failure_for(signum, what)
                    body_scope.cancel()

            nursery.start_soon(watch)
            with body_scope:
                try:
                    finished.append(await body())
                except Exception as exc:  # noqa: BLE001 - re-raised below, outside the nursery
                    error = exc
                finally:
                    nursery.cancel_scope.cancel()
    if finished:  # the body was done when the signal came: its outcome stands
        return finished[0]
    if failure is not None:  # what the body raised while it was being cancelled is a consequence
        raise failure
    assert error is not None
    raise error


def run_flow(flow: Callable[..., Awaitable[T]], *args: Any, what: str) -> T:
    """`trio.run(flow, *args)` inside a logged run, ended by an ending signal through its normal
    path: the flow is cancelled (an unfinished save removes its temp file) and Cancelled or
    Terminated leaves, so the run's root action ends `cancelled`. A signal that came since the run
    began (logged_run holds them) is taken first. For the flows without a receiver of their own
    (the browser login takes signals itself; the device login calls run_until_signal)."""
    return trio.run(run_until_signal, partial(flow, *args), what)


__all__ = ["ENDING_SIGNALS", "failure_for", "next_signal", "open_signal_receiver", "run_flow", "run_until_signal", "signal_name"]
