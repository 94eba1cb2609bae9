"""The HTTP/2 and WebSocket code of hypercorn and httpcore (h2, hpack, priority, wsproto), loaded
on first use instead of at a login's start-up.

The login speaks HTTP/1.1 only: the callback listener has no TLS (so no ALPN) and nobody upgrades
it to h2c or a WebSocket, and the issuer client never enables HTTP/2. Yet `hypercorn.trio` imports
`hypercorn.protocol.h2` and `hypercorn.protocol.ws_stream` up front, `hypercorn.typing` imports
`h2.events` for its annotations, and httpcore's packages import their HTTP/2 connection modules
whenever h2 is installed: about a tenth of a whole login's instructions spent on code that never
runs. `defer_unused_protocols()`, called before those libraries are first imported, puts a stand-in
for each such module in sys.modules. The libraries only ever call the one class they take from each
(`H2Protocol`, `WSStream`, `AsyncHTTP2Connection`, `HTTP2Connection`) and read `h2.events` only in
postponed annotations; the first call (or any other attribute read) imports the real module in place
of its stand-in and hands over the real thing. No library file is changed, and a client that does
send an HTTP/2 preface or a WebSocket upgrade is served exactly as before, after that import.
"""

from __future__ import annotations

import sys
import types
from typing import Any

DEFERRED = {
    "h2.events": (),
    "hypercorn.protocol.ws_stream": ("WSStream",),
    "hypercorn.protocol.h2": ("H2Protocol",),
    "httpcore._async.http2": ("AsyncHTTP2Connection",),
    "httpcore._sync.http2": ("HTTP2Connection",),
}


def defer_unused_protocols() -> None:
    """Install a stand-in for each deferred module not imported yet (one that is stays as it is)."""
    for module_name, class_names in DEFERRED.items():
        if module_name in sys.modules or module_name.rpartition(".")[0] in sys.modules:
            continue  # loaded, or its package is (which imported it, or never will through us)
        stand_in = types.ModuleType(module_name, f"stand-in for {module_name}: loaded on first use")
        for class_name in class_names:
            setattr(stand_in, class_name, _on_first_call(module_name, class_name))
        stand_in.__dict__["__getattr__"] = _on_first_read(module_name)
        stand_in.__dict__["__deferred__"] = True
        sys.modules[module_name] = stand_in


def _on_first_call(module_name: str, class_name: str) -> Any:
    def construct(*args: Any, **kwargs: Any) -> Any:
        return getattr(load_real(module_name), class_name)(*args, **kwargs)

    construct.__name__ = construct.__qualname__ = class_name
    return construct


def _on_first_read(module_name: str) -> Any:
    def read(name: str) -> Any:
        if name.startswith("__"):  # copy/pickle/inspect probing a module: not a use
            raise AttributeError(name)
        return getattr(load_real(module_name), name)

    return read


def load_real(module_name: str) -> types.ModuleType:
    """The real module, imported now in place of its stand-in (h2.events first: the others use it
    at run time)."""
    import importlib

    if module_name != "h2.events" and _is_stand_in(sys.modules.get("h2.events")):
        load_real("h2.events")
    module = sys.modules.get(module_name)
    if module is None or _is_stand_in(module):
        sys.modules.pop(module_name, None)
        try:
            return importlib.import_module(module_name)
        except BaseException:
            if module is not None:
                sys.modules.setdefault(module_name, module)
            raise
    return module


def _is_stand_in(module: types.ModuleType | None) -> bool:
    return module is not None and bool(module.__dict__.get("__deferred__"))
