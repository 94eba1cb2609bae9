"""The outermost guard of one command line, shared by `codex` (cli.main: fast lane, then cyclopts)
and cli.app.main (cyclopts only)."""

from __future__ import annotations

from codexlogin.cli.streams import end_quietly, output_broken, prepare_streams

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing (start-up: `codex login status`)
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence


def guarded(run: Callable[[list[str]], int], tokens: Sequence[str]) -> int:
    """`run(tokens)`'s exit code with the streams made safe first; Ctrl-C is 130, EPIPE on our
    output ends quietly, and a bug outside any command is still one line and exit 70."""
    prepare_streams()
    try:
        return run(list(tokens))
    except KeyboardInterrupt:
        from codexlogin.errors import ExitCode

        return int(ExitCode.CANCELLED)
    except Exception as exc:
        if output_broken(exc):
            return end_quietly()
        from codexlogin.cli.boundary import internal_error, report_failure

        try:
            return report_failure(internal_error(exc))
        except Exception as again:
            if output_broken(again):
                return end_quietly()
            raise
