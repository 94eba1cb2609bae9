"""hypercorn's HTTP/2 and WebSocket code (h2, hpack, priority, wsproto), loaded on first use
instead of at start-up.

The callback listener speaks HTTP/1.1 only (no TLS, so no ALPN, and nobody upgrades to h2c or a
WebSocket), yet `hypercorn.trio` imports `hypercorn.protocol.h2` and `hypercorn.protocol.ws_stream`
up front, and `hypercorn.typing` imports `h2.events` for its annotations: about a tenth of a whole
login's instructions spent on code that never runs. `defer_unused_protocols()`, called before
hypercorn's protocol package is first imported, puts a stand-in for each of those modules in
sys.modules. hypercorn only ever calls the one class it takes from each protocol module
(`H2Protocol`, `WSStream`), and reads `h2.events` only in postponed annotations; the first call (or
any other attribute read) imports the real modules in place of the stand-ins and hands over the real
thing. hypercorn's files are not changed, and a client that does send an HTTP/2 preface or a
WebSocket upgrade is served exactly as before, after that import.
"""

from __future__ import annotations

import sys
import types
from typing import Any

# In the order they are made real: h2.events before the hypercorn module that uses it at run time.
DEFERRED = {"h2.events": (), "hypercorn.protocol.ws_stream": ("WSStream",), "hypercorn.protocol.h2": ("H2Protocol",)}


def defer_unused_protocols() -> None:
    """Install the stand-ins, unless hypercorn's protocol package is already loaded (then it holds
    the real classes and there is nothing left to save)."""
    if "hypercorn.protocol" in sys.modules or any(name in sys.modules for name in DEFERRED):
        return
    for module_name, class_names in DEFERRED.items():
        stand_in = types.ModuleType(module_name, f"stand-in for {module_name}: loaded on first use")
        for class_name in class_names:
            setattr(stand_in, class_name, _on_first_call(module_name, class_name))
        stand_in.__dict__["__getattr__"] = _on_first_read(module_name)
        stand_in.__dict__["__deferred__"] = True
        sys.modules[module_name] = stand_in


def _on_first_call(module_name: str, class_name: str) -> Any:
    def construct(*args: Any, **kwargs: Any) -> Any:
        return getattr(load_deferred()[module_name], class_name)(*args, **kwargs)

    construct.__name__ = construct.__qualname__ = class_name
    return construct


def _on_first_read(module_name: str) -> Any:
    def read(name: str) -> Any:
        if name.startswith("__"):  # copy/pickle/inspect probing a module: not a use
            raise AttributeError(name)
        return getattr(load_deferred()[module_name], name)

    return read


def load_deferred() -> dict[str, types.ModuleType]:
    """Every deferred module, real (imported now if a stand-in still holds its place)."""
    import importlib

    real: dict[str, types.ModuleType] = {}
    for module_name in DEFERRED:
        module = sys.modules.get(module_name)
        if module is not None and module.__dict__.get("__deferred__"):
            del sys.modules[module_name]
            try:
                module = importlib.import_module(module_name)
            except BaseException:
                sys.modules.setdefault(module_name, module)
                raise
        real[module_name] = module if module is not None else importlib.import_module(module_name)
    return real
