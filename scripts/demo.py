"""A full `codex login` offline: the project's dev issuer on 127.0.0.1, a scripted browser, real CLI.

Runs the real `codex login` command in a subprocess with CODEX_HOME under ./.demo-home (never
your real ~/.codex), BROWSER set to the dev issuer's scripted browser, and the issuer set to a
local development issuer started here. Then shows where auth.json and codex-login.log went.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main() -> int:
    home = ROOT / ".demo-home"
    home.mkdir(exist_ok=True)
    python = sys.executable
    issuer = subprocess.Popen(
        [python, "-m", "codexlogin.devissuer", "--auto-approve"], stdout=subprocess.PIPE, text=True
    )
    try:
        issuer_url = issuer.stdout.readline().strip()
        if not issuer_url.startswith("http://127.0.0.1:"):
            print(f"demo: the dev issuer did not start (got {issuer_url!r})", file=sys.stderr)
            return 1
        print(f"demo: development issuer at {issuer_url}", file=sys.stderr)
        env = dict(os.environ, CODEX_HOME=str(home), BROWSER=f"{shlex.quote(python)} -m codexlogin.devissuer browse %s")
        login = subprocess.run(
            [python, "-m", "codexlogin", "login", "--issuer", issuer_url, "--port", "0", "--timeout", "60"], env=env
        )
        if login.returncode != 0:
            print(f"demo: codex login exited {login.returncode}", file=sys.stderr)
            return login.returncode
        auth = json.loads((home / "auth.json").read_text())
        print(f"\nauth.json:        {home / 'auth.json'} (auth_mode={auth['auth_mode']}, mode 0600)", file=sys.stderr)
        print(f"codex-login.log:  {home / 'log' / 'codex-login.log'}\n", file=sys.stderr)
        subprocess.run([python, "-m", "codexlogin", "login", "log", "--last", "1", "--no-color"], env=env)
        return 0
    finally:
        issuer.terminate()
        issuer.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main())
