"""A full `codex login` offline: the project's dev issuer on 127.0.0.1, a scripted browser, real CLI.

Runs the real `codex login` command in a subprocess with CODEX_HOME under ./.demo-home (never
your real ~/.codex; `--home DIR` picks another), BROWSER set to this script's `--browse`, which
drives the dev issuer's scripted browser and says what it saw, and the issuer set to a local
development issuer started here. Then shows where auth.json and codex-login.log went and the run's
log tree, and last the one command that continues from the demo's state. Every line it prints is
the login's own or starts with `demo:`.
"""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def browse(url: str) -> int:
    """The scripted browser (standing in for yours), saying in one line what it did."""
    import io

    from codexlogin.devissuer import browse as scripted_browser

    page = io.StringIO()
    code = scripted_browser(url, out=page)
    shown = page.getvalue().strip() or "no page"
    what = "approved the sign-in and loaded the callback page" if code == 0 else "could not finish the sign-in"
    print(f"demo: the scripted browser (standing in for yours) {what}: {shown}", file=sys.stderr, flush=True)
    return code


def continue_command(home: Path) -> str:
    """The one command that goes on from the demo's state: who is logged in, in the demo's home
    (the installed `codex` script beside this Python, else `python -m codexlogin`)."""
    script = Path(sys.executable).parent / "codex"
    program = shlex.quote(os.path.relpath(script)) if script.exists() else f"{shlex.quote(sys.executable)} -m codexlogin"
    return f"CODEX_HOME={shlex.quote(str(home))} {program} login status"


def main(argv: list[str]) -> int:
    if argv[:1] == ["--browse"] and len(argv) == 2:
        return browse(argv[1])
    home = Path(argv[1]).resolve() if argv[:1] == ["--home"] and len(argv) == 2 else ROOT / ".demo-home"
    home.mkdir(exist_ok=True)
    python = sys.executable
    issuer = subprocess.Popen([python, "-m", "codexlogin.devissuer", "--auto-approve"], stdout=subprocess.PIPE, text=True)
    try:
        issuer_url = issuer.stdout.readline().strip()
        if not issuer_url.startswith("http://127.0.0.1:"):
            print(f"demo: the dev issuer did not start (got {issuer_url!r})", file=sys.stderr)
            return 1
        print(f"demo: development issuer at {issuer_url}", file=sys.stderr)
        env = dict(os.environ, CODEX_HOME=str(home), BROWSER=f"{shlex.quote(python)} {shlex.quote(__file__)} --browse %s")
        login = subprocess.run(
            [python, "-m", "codexlogin", "login", "--issuer", issuer_url, "--port", "0", "--timeout", "60"], env=env
        )
        if login.returncode != 0:
            print(f"demo: codex login exited {login.returncode}", file=sys.stderr)
            return login.returncode
        auth = json.loads((home / "auth.json").read_text())
        print(f"\nauth.json:        {home / 'auth.json'} (auth_mode={auth['auth_mode']}, mode 0600)", file=sys.stderr)
        print(f"codex-login.log:  {home / 'log' / 'codex-login.log'}\n", file=sys.stderr)
        print("demo: the run's log tree, as `codex login log --last 1` renders it for support:", file=sys.stderr, flush=True)
        subprocess.run([python, "-m", "codexlogin", "login", "log", "--last", "1", "--no-color"], env=env)
        print(f"\ndemo: continue from this state with: {continue_command(home)}", file=sys.stderr, flush=True)
        return 0
    finally:
        issuer.terminate()
        issuer.wait(timeout=10)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
