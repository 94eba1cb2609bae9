"""`python -m codexlogin.devissuer`: serve a dev issuer on 127.0.0.1, or act as the scripted browser.

python -m codexlogin.devissuer [--port N] [--auto-approve]   # serve until Ctrl-C; prints its URL
python -m codexlogin.devissuer browse URL [--deny]            # scripted "browser" for $BROWSER
"""

from __future__ import annotations

import argparse
import sys
from functools import partial

import trio

from .app import DevIssuer, serve_dev_issuer
from .browser import browse


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["browse"]:
        parser = argparse.ArgumentParser(
            prog="python -m codexlogin.devissuer browse", description="Scripted browser: approve and follow to the callback."
        )
        parser.add_argument("url")
        parser.add_argument("--deny", action="store_true", help="press Deny instead of Approve")
        args = parser.parse_args(argv[1:])
        return browse(args.url, deny=args.deny)
    parser = argparse.ArgumentParser(
        prog="python -m codexlogin.devissuer", description="Local development OAuth issuer on 127.0.0.1."
    )
    parser.add_argument("--port", type=int, default=0, help="port on 127.0.0.1 (default: any free port)")
    parser.add_argument(
        "--auto-approve", action="store_true", help="skip the approval page; openai device codes are approved when issued"
    )
    args = parser.parse_args(argv)
    issuer = DevIssuer(auto_approve=args.auto_approve)

    async def run() -> None:
        async with trio.open_nursery() as nursery:
            url = await nursery.start(partial(serve_dev_issuer, issuer, port=args.port))
            print(url, flush=True)

    try:
        trio.run(run)
    except* KeyboardInterrupt:  # Ctrl-C; trio/hypercorn may wrap it in an exception group
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
