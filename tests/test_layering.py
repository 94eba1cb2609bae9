"""Import layering of the `codexlogin` package, checked from source with the stdlib `ast`.

Every `codexlogin.*` import counts, including lazy ones inside functions; `from codexlogin.x import
y` counts as an import of the submodule `codexlogin.x.y` when `y` is one. Imports under
`if TYPE_CHECKING:` never run, so they are left out of both rules below.

Rules:
  a. No import cycle among codexlogin modules.
  b. Each module belongs to a layer (table `LAYERS`) and may import only its own layer or the
     layers listed for it. A module no layer covers fails, so new modules are placed on purpose.
     Nothing outside `codexlogin.cli` / `codexlogin.__main__` imports `codexlogin.cli`.
  c. Signals are the command line's: outside `cli` nothing imports the stdlib `signal` module or
     calls a handler-installing function (`signal.signal`, `trio.open_signal_receiver`, …), so a
     program that calls a flow from its own trio.run keeps its handlers (cli/signals.py).

      basics      codexlogin (__init__), errors, config, otelconfig, pathtext, record, terminal, redact (package),
                  rfc3339, _asgi, safejson, schemas, wsl
      diagnostics -> basics
      oauth       -> basics
      credentials -> basics, oauth
      listener    -> basics, oauth, diagnostics
      flows       -> basics, oauth, credentials, listener, diagnostics
      support     -> basics, oauth, credentials, listener, diagnostics, logview
      logview     -> basics, diagnostics
      api         -> basics, oauth, credentials, listener, flows, diagnostics
      cli         (cli package and __main__) -> everything except devissuer
      devissuer   -> basics

  The one exception: the top package re-exports the public API lazily, its module `__getattr__`
  importing `codexlogin.api` when a program first reads an API name (never at import, never for
  a submodule). That edge is left out of the graph, and test_the_top_package_loads_the_api_only_lazily
  checks it is the only one.
"""

from __future__ import annotations

import ast
import graphlib
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent.parent / "codexlogin"

BASICS = {"codexlogin"} | {
    f"codexlogin.{name}"
    for name in (
        "errors",
        "config",
        "otelconfig",
        "pathtext",
        "terminal",
        "redact",
        "rfc3339",
        "_asgi",
        "safejson",
        "schemas",
        "wsl",
        "record",
    )
}  # a prefix covers its package's modules too: codexlogin.redact.url, codexlogin.redact.text, ...
# layer -> (module-name prefixes it covers, layers it may import besides itself)
LAYERS: dict[str, tuple[set[str], set[str]]] = {
    "basics": (BASICS, set()),
    "diagnostics": ({"codexlogin.diagnostics"}, {"basics"}),
    "oauth": ({"codexlogin.oauth"}, {"basics"}),
    "credentials": ({"codexlogin.credentials"}, {"basics", "oauth"}),
    "listener": ({"codexlogin.listener"}, {"basics", "oauth", "diagnostics"}),
    "flows": ({"codexlogin.flows"}, {"basics", "oauth", "credentials", "listener", "diagnostics"}),
    "support": ({"codexlogin.support"}, {"basics", "oauth", "credentials", "listener", "diagnostics", "logview"}),
    # Reading the log back: beside support (both serve it), below the cli.
    "logview": ({"codexlogin.logview"}, {"basics", "diagnostics"}),
    # The public Python API (re-exported lazily by the top package), beside the cli as a front end.
    "api": ({"codexlogin.api"}, {"basics", "oauth", "credentials", "listener", "flows", "diagnostics"}),
    "cli": (
        {"codexlogin.cli", "codexlogin.__main__"},
        {"basics", "diagnostics", "oauth", "credentials", "listener", "flows", "support", "logview", "api"},
    ),
    "devissuer": ({"codexlogin.devissuer"}, {"basics"}),
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE_DIR.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports_of(source: str, module: str, is_package: bool, known: set[str]) -> set[str]:
    """The codexlogin modules `source` imports anywhere, except under `if TYPE_CHECKING:`."""
    package = module if is_package else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.orelse:  # the `else:` of a TYPE_CHECKING block does run
                visit(child)
            return
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: resolve against this module's package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            for alias in node.names:
                found.add(f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return {name for name in found if name == "codexlogin" or name.startswith("codexlogin.")}


def import_graph() -> dict[str, set[str]]:
    paths = {module_name(path): path for path in PACKAGE_DIR.rglob("*.py")}
    known = set(paths)
    graph = {}
    for name, path in paths.items():
        source = path.read_text(encoding="utf-8")
        graph[name] = imports_of(source, name, path.name == "__init__.py", known) - {name}
    graph["codexlogin"].discard("codexlogin.api")  # the lazy re-export (module docstring)
    return graph


def test_the_top_package_loads_the_api_only_lazily() -> None:
    """codexlogin/__init__.py imports codexlogin.api inside its module `__getattr__` and nowhere
    else (outside TYPE_CHECKING), and nothing else of codexlogin's outside the basics."""
    path = PACKAGE_DIR / "__init__.py"
    tree = ast.parse(path.read_text(encoding="utf-8"))
    getattr_def = next(n for n in tree.body if isinstance(n, ast.FunctionDef) and n.name == "__getattr__")
    known = {module_name(p) for p in PACKAGE_DIR.rglob("*.py")}
    inside = imports_of(ast.unparse(getattr_def), "codexlogin", True, known)
    everywhere = imports_of(path.read_text(encoding="utf-8"), "codexlogin", True, known)
    assert inside == {"codexlogin.api"}
    assert everywhere - inside <= {m for m in known if layer_of(m) == "basics"}


def layer_of(module: str) -> str | None:
    for layer, (prefixes, _) in LAYERS.items():
        if any(module == p or (p != "codexlogin" and module.startswith(p + ".")) for p in prefixes):
            return layer
    return None


def test_walker_sees_lazy_imports_and_skips_type_checking() -> None:
    source = (
        "from typing import TYPE_CHECKING\n"
        "from codexlogin import errors, DEFAULT_PORT\n"
        "if TYPE_CHECKING:\n    import codexlogin.cli\n"
        "def later():\n    from codexlogin.oauth import jwt\n    from . import pkce\n"
    )
    known = {"codexlogin", "codexlogin.errors", "codexlogin.oauth.jwt", "codexlogin.oauth.pkce"}
    assert imports_of(source, "codexlogin.oauth.client", False, known) == {
        "codexlogin",
        "codexlogin.errors",
        "codexlogin.oauth.jwt",
        "codexlogin.oauth.pkce",
    }


def test_graph_is_not_trivially_small() -> None:
    graph = import_graph()
    assert len(graph) > 20
    assert sum(len(targets) for targets in graph.values()) > 40


def test_no_import_cycles() -> None:
    graph = {name: set(targets) for name, targets in import_graph().items()}
    cycles: list[list[str]] = []
    while len(cycles) < 50:  # report each cycle found, breaking one edge of it per round
        try:
            graphlib.TopologicalSorter(graph).prepare()
            break
        except graphlib.CycleError as error:
            cycle = error.args[1][::-1]  # graphlib lists importers first; now each imports the next
            cycles.append(cycle)
            graph[cycle[0]].discard(cycle[1])
    assert cycles == [], "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_layers() -> None:
    violations = []
    for module, targets in sorted(import_graph().items()):
        layer = layer_of(module)
        if layer is None:
            violations.append(f"{module}: in no layer (add it to LAYERS)")
            continue
        allowed = LAYERS[layer][1] | {layer}
        for target in sorted(targets):
            if layer_of(target) not in allowed:
                violations.append(f"{module} ({layer}) imports {target} ({layer_of(target)})")
    assert violations == [], "layer violations:\n" + "\n".join(violations)


def test_only_the_cli_imports_the_cli() -> None:
    offenders = sorted(
        f"{module} imports {target}"
        for module, targets in import_graph().items()
        if layer_of(module) != "cli"
        for target in targets
        if layer_of(target) == "cli"
    )
    assert offenders == [], "only the cli may import the cli:\n" + "\n".join(offenders)


REDACT_MAY_NOT_IMPORT = ("eliot", "trio", "httpx", "httpcore", "hypercorn", "rich", "cyclopts")


def test_redact_imports_no_library_it_scrubs_for():
    """codexlogin.redact is pure (it runs on every log message, and in the eliot-free log reader):
    no eliot, trio, httpx, ... anywhere in it, lazy imports included."""
    offenders = []
    for path in sorted((PACKAGE_DIR / "redact").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level:
                names = [node.module or ""]
            else:
                continue
            offenders += [f"{module_name(path)} imports {name}" for name in names if name.split(".")[0] in REDACT_MAY_NOT_IMPORT]
    assert offenders == []


#: Calls that install or change signal handling, by the called name (`signal.signal(...)`,
#: `trio.open_signal_receiver(...)`, `from signal import signal; signal(...)`).
SIGNAL_INSTALLERS = frozenset({"signal", "open_signal_receiver", "set_wakeup_fd", "siginterrupt", "pthread_sigmask"})


def signal_handling_in(source: str) -> list[str]:
    """Where `source` imports the `signal` module or calls a SIGNAL_INSTALLERS function (line: what)."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [f"{node.lineno}: import {a.name}" for a in node.names if a.name.split(".")[0] == "signal"]
        elif isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").split(".")[0] == "signal":
            found.append(f"{node.lineno}: from {node.module} import …")
        elif isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else None
            if name in SIGNAL_INSTALLERS:
                found.append(f"{node.lineno}: {ast.unparse(func)}(…)")
    return sorted(found, key=lambda where: int(where.split(":")[0]))


def test_the_signal_finder_sees_imports_and_installing_calls() -> None:
    source = (
        "import signal\nfrom signal import SIGINT\nimport trio\n"
        "def f(receiver):\n    signal.signal(2, None)\n    with trio.open_signal_receiver(2):\n        pass\n"
        "    receiver.signals(); signal_name(2)\n"
    )
    assert signal_handling_in(source) == [
        "1: import signal",
        "2: from signal import …",
        "5: signal.signal(…)",
        "6: trio.open_signal_receiver(…)",
    ]


def test_only_the_cli_handles_signals() -> None:
    offenders = []
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        module = module_name(path)
        if layer_of(module) == "cli":
            continue
        offenders += [f"{module}:{where}" for where in signal_handling_in(path.read_text(encoding="utf-8"))]
    assert offenders == [], "signal handling outside codexlogin.cli (see cli/signals.py):\n" + "\n".join(offenders)
    assert signal_handling_in((PACKAGE_DIR / "cli" / "signals.py").read_text(encoding="utf-8"))  # the check sees it there


def test_the_renderer_names_the_declared_root_type():
    """logview/tree.py stays eliot-free, so it spells the root type out; it must be the declared one."""
    from codexlogin.diagnostics import schema
    from codexlogin.logview import tree

    assert tree.ROOT_TYPE == schema.COMMAND.action_type


def test_the_doctor_logs_only_declared_check_types():
    from codexlogin.diagnostics import schema
    from codexlogin.support import doctor

    assert tuple(schema.DOCTOR_CHECKS) == doctor.CHECK_NAMES
