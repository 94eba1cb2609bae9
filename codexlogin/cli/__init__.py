"""The command line: the only package that prints, parses flags and turns outcomes into exit codes.

`main` (the `codex` console script and `python -m codexlogin`) makes the standard streams safe,
serves the hot shapes through the fast lane (cli/fast.py, no cyclopts) and hands everything else
to the cyclopts app (cli/app.py), imported only then.
"""

from __future__ import annotations

import sys

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["main"]


def _fast_then_cyclopts(tokens: list[str]) -> int:
    from codexlogin.cli.codex_options import as_overrides
    from codexlogin.cli.fast import run

    tokens = as_overrides(tokens)  # Codex CLI 0.171's global options, as `-c` after the command
    code = run(tokens)
    if code is None:
        from codexlogin.cli.app import run_cyclopts

        code = run_cyclopts(tokens)
    return code


def main(argv: Sequence[str] | None = None) -> None:
    from codexlogin.cli.entry import guarded

    sys.exit(guarded(_fast_then_cyclopts, sys.argv[1:] if argv is None else argv))
