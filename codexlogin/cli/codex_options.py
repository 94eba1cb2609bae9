"""Codex CLI 0.171's global options, as wrappers pass them: rewritten to `-c` before parsing.

0.171 takes `-c key=value` before and after the subcommand (`codex -c model=o3 login status`),
and its other global options before it (`codex --enable F -m o3 -p work login`); `--enable` and
`--disable` after it too. None of them but a login setting's `-c` concerns the login, yet a wrapper
that always passes them must not break. `as_overrides(tokens)` moves each one behind the command
chain as the `-c` it stands for (0.171's own equivalences: `--enable F` is `-c features.F=true`,
`-m M` is `-c model=M`, …), so cyclopts parses one shape and config.parse_overrides sets aside the
keys that are not login settings with the one note it gives for `-c model=…`.

Pure: tokens in, tokens out. A token it does not know stops the rewriting before the command chain
(cyclopts then says what is wrong with it, as before).
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from collections.abc import Sequence

#: The commands whose options may follow: (command, its subcommands).
_CHAINS = {
    "login": ("status", "log", "doctor", "bundle", "config"),
    "logout": (),
}
_CONFIG = ("-c", "--config")
_FEATURES = {"--enable": "true", "--disable": "false"}
#: 0.171's global options that take a value, and the setting each one stands for.
_VALUED = {
    "-m": "model",
    "--model": "model",
    "-p": "profile",
    "--profile": "profile",
    "-s": "sandbox_mode",
    "--sandbox": "sandbox_mode",
    "-a": "approval_policy",
    "--ask-for-approval": "approval_policy",
    "-C": "cd",
    "--cd": "cd",
    "-i": "image",
    "--image": "image",
    "--add-dir": "add_dir",
    "--remote": "remote",
    "--remote-auth-token-env": "remote_auth_token_env",
    "--local-provider": "local_provider",
}
#: 0.171's global flags (no value).
_FLAGS = frozenset(
    {
        "--strict-config",
        "--oss",
        "--approve-for-me",
        "--dangerously-bypass-approvals-and-sandbox",
        "--dangerously-bypass-hook-trust",
        "--worktree",
        "--search",
        "--no-alt-screen",
        "--no-daemon",
    }
)


def _option(tokens: Sequence[str], i: int, *, before_chain: bool) -> tuple[str, int] | None:
    """The `-c` pair token i (and maybe i + 1) stands for, and how many tokens it took; None: not one."""
    token = tokens[i]
    name, eq, inline = token.partition("=")
    if name in _CONFIG or name in _FEATURES or (before_chain and name in _VALUED):
        if eq:
            value, used = inline, 1
        elif i + 1 < len(tokens):
            value, used = tokens[i + 1], 2
        else:
            return None  # cyclopts says the value is missing
        if name in _CONFIG:
            return value, used
        if name in _FEATURES:
            return f"features.{value}={_FEATURES[name]}", used
        return f"{_VALUED[name]}={value}", used
    if before_chain and token.startswith("-c") and len(token) > 2 and "=" in token:  # -ckey=value
        return token[2:], 1
    if before_chain and token in _FLAGS:
        return f"{token.lstrip('-').replace('-', '_')}=true", 1
    return None


def as_overrides(tokens: Sequence[str]) -> list[str]:
    """`tokens` with 0.171's global options moved behind the command chain as `-c` pairs."""
    tokens = list(tokens)
    pairs: list[str] = []
    i = 0
    while i < len(tokens) and tokens[i].startswith("-"):
        found = _option(tokens, i, before_chain=True)
        if found is None:
            return tokens  # not one of 0.171's: left for cyclopts to judge
        pairs.append(found[0])
        i += found[1]
    rest = tokens[i:]
    if not rest or rest[0] not in _CHAINS:
        return tokens
    chain = 2 if len(rest) > 1 and rest[1] in _CHAINS[rest[0]] else 1
    after: list[str] = []
    j = chain
    while j < len(rest):
        name = rest[j].partition("=")[0]
        found = _option(rest, j, before_chain=False) if name in _FEATURES else None
        if found is None:
            after.append(rest[j])
            j += 1
            continue
        pairs.append(found[0])
        j += found[1]
    return [*rest[:chain], *(part for pair in pairs for part in ("-c", pair)), *after]
