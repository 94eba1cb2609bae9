"""The signals that end a command's run (a login, logout, status --check, doctor, bundle): the
command line's business, and only its. No flow installs a signal handler, so a program that calls
a flow from its own trio.run keeps its own SIGINT.

SIGINT is a cancel (130); SIGTERM, SIGHUP and SIGQUIT terminate (143). Either way the flow ends
through its normal path: the listener shuts down, an unfinished save is cancelled (its temp file
removed), and the run's root action in codex-login.log ends with outcome `cancelled`.

Two stages. From the moment a command starts its login or its logged run, `hold_early_signals`
remembers an ending signal instead of dying mid-setup (the browser login prints its URL before
trio is even imported). Then `run_flow` / `run_stoppable_flow` run the flow with the signals taken
as values inside trio; a signal remembered before is taken first. Kept free of trio at import
time: the browser login holds signals before trio loads.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from functools import partial

from codexlogin.errors import Cancelled, Interrupted, LoginFailure, Terminated

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing (~3 ms) before the sign-in URL; mypy reads this alike
if TYPE_CHECKING:
    from typing import Any, TypeVar

    T = TypeVar("T")

#: The signals that end a run: SIGINT → cancelled (130), the others → terminated (143).
ENDING_SIGNALS: tuple[int, ...] = tuple(
    getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP", "SIGQUIT") if hasattr(signal, name)
)

# --- before trio: remember an ending signal ---------------------------------------------------

_early_signals: list[int] = []
_held_handlers: dict[int, Any] = {}


def _remember(signum: int, frame: Any) -> None:
    if signum == signal.SIGINT and signal.SIGINT in _early_signals:
        raise KeyboardInterrupt  # a second Ctrl-C: whatever is still starting up is interrupted now
    _early_signals.append(signum)


def hold_early_signals() -> bool:
    """Until the run's signal receiver runs, remember an ending signal instead of dying mid-setup.

    The URL is printed before trio loads, so a supervisor (SIGTERM), a closed terminal (SIGHUP),
    Ctrl-\\ (SIGQUIT) or Ctrl-C may arrive before the flow runs; the run then ends as for a later
    signal (143, or 130 for SIGINT) with its log tree. A second SIGINT while held raises
    KeyboardInterrupt, so a start-up that hangs can still be interrupted. `release_early_signals`
    puts the previous handlers back once the run is logged. True if this call installed the hold;
    False when one is already in place (what it remembered stays) or off the main thread.
    """
    if threading.current_thread() is not threading.main_thread():
        return False  # signal handlers can only be installed from the main thread
    if _held_handlers:
        return False
    _early_signals.clear()
    for signum in ENDING_SIGNALS:
        previous = signal.signal(signum, _remember)
        _held_handlers.setdefault(signum, previous)
    return True


def take_early_signal() -> int | None:
    """The first signal remembered since `hold_early_signals` (then forgotten), or None."""
    if not _early_signals:
        return None
    first = _early_signals[0]
    _early_signals.clear()
    return first


def release_early_signals() -> None:
    """The handlers from before `hold_early_signals` again; remembered signals are forgotten."""
    if threading.current_thread() is not threading.main_thread():
        return
    while _held_handlers:
        signum, previous = _held_handlers.popitem()
        signal.signal(signum, previous if previous is not None else signal.SIG_DFL)
    _early_signals.clear()


# --- inside trio: an ending signal as a value -------------------------------------------------


def signal_name(signum: int) -> str:
    try:
        return signal.Signals(signum).name
    except ValueError:
        return f"signal {signum}"


def failure_for(signum: int, what: str = "login") -> Cancelled:
    """The failure an ending signal makes of the run `what` ("login", "logout", "status check"…)."""
    if signum == signal.SIGINT:
        return Interrupted(f"{what} cancelled (Ctrl-C)")
    return Terminated(f"{what} terminated ({signal_name(signum)})")


def open_signal_receiver() -> contextlib.AbstractContextManager[AsyncIterator[int] | None]:
    """The ending signals as values; None off the main thread (handlers can only be set there)."""
    if threading.current_thread() is not threading.main_thread():
        return contextlib.nullcontext(None)
    import trio

    receiver: contextlib.AbstractContextManager[AsyncIterator[int] | None] = trio.open_signal_receiver(*ENDING_SIGNALS)
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
    import trio

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


def run_flow(flow: Callable[..., Awaitable[T]], *args: Any, what: str, **kwargs: Any) -> T:
    """`trio.run(flow, *args, **kwargs)` inside a logged run, ended by an ending signal through its
    normal path: the flow is cancelled (an unfinished save removes its temp file) and Cancelled or
    Terminated leaves, so the run's root action ends `cancelled`. A signal that came since the run
    began (logged_run holds them) is taken first."""
    import trio

    return trio.run(run_until_signal, partial(flow, *args, **kwargs), what)


@contextlib.contextmanager
def stop_on_signal(what: str = "login") -> Iterator[Callable[[], Awaitable[LoginFailure]]]:
    """Inside trio: the `stop` of a flow that ends itself on request (the browser login), for as
    long as the block runs. `await stop()` returns the failure for the first ending signal (one
    remembered before the block comes first); off the main thread it never returns. A signal still
    pending when the block ends (it came after the flow had decided) is dropped, not re-raised:
    the block holds signals as a logged run does (in the CLI that hold is already in place)."""
    import trio

    held_here = hold_early_signals()
    try:
        with open_signal_receiver() as signals:

            async def stop() -> LoginFailure:
                signum = await next_signal(signals)
                if signum is None:  # off the main thread: no signals as values, nothing to stop for
                    await trio.sleep_forever()
                assert signum is not None
                return failure_for(signum, what)

            yield stop
    finally:
        if held_here:
            release_early_signals()


def run_stoppable_flow(flow: Callable[..., Awaitable[T]], *args: Any, what: str, **kwargs: Any) -> T:
    """`trio.run(flow, *args, stop=…, **kwargs)` with the ending signals as its `stop`
    (stop_on_signal): the flow decides what a stop means (the browser login keeps an outcome
    already decided; one still waiting ends with the failure, its listener closed through its
    normal path)."""
    import trio

    async def until_stopped() -> T:
        with stop_on_signal(what) as stop:
            return await flow(*args, stop=stop, **kwargs)

    return trio.run(until_stopped)


__all__ = [
    "ENDING_SIGNALS",
    "failure_for",
    "hold_early_signals",
    "next_signal",
    "open_signal_receiver",
    "release_early_signals",
    "run_flow",
    "run_stoppable_flow",
    "run_until_signal",
    "signal_name",
    "stop_on_signal",
    "take_early_signal",
]
