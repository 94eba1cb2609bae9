"""The hot commands' flags, in one table that both parsers answer to; importable without cyclopts.

The fast lane (cli/fast.py) parses `codex login status` and the plain browser `codex login` with
this table alone. cyclopts parses the same flags from the commands' own declarations (cli/status.py,
cli/login.py and cli/options.py's IssuerOptions), which carry the help text; tests/test_fast_lane.py
checks them against this table both ways: each flag here is a flag of that command with the same
parameter name and type, and each flag of the command that is not here is handed to cyclopts.
"""

from __future__ import annotations

#: Kinds of value: "bool" (a flag without value), "int", "float", "str", "path".
Spec = tuple[str, str]  # (the cyclopts parameter's name, the value's kind)

#: The issuer flags of every hot command (IssuerOptions).
ISSUER_FLAGS: dict[str, Spec] = {
    "--issuer": ("issuer", "str"),
    "--client-id": ("client_id", "str"),
    "--log-dir": ("log_dir", "path"),
}

#: command -> flag -> Spec: what the fast lane serves of each hot command.
HOT_FLAGS: dict[str, dict[str, Spec]] = {
    "status": {"--json": ("json_", "bool"), **ISSUER_FLAGS},
    "login": {
        "--no-browser": ("no_browser", "bool"),
        "--port": ("port", "int"),
        "--timeout": ("timeout", "float"),
        **ISSUER_FLAGS,
    },
}
