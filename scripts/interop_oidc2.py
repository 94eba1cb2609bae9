"""Interop check for issue 13: `codex login` (standard dialect) against django-oauth-toolkit, an
independent OpenID Provider from PyPI, driven by a real headless Chromium through BROWSER=.

Run it through scripts/interop_oidc2.sh (which installs django-oauth-toolkit into a temporary venv,
the npm packages and Chromium). Stdlib only; prints one PASS/FAIL/SKIP line per check and exits 1
when any check failed. The server is scripts/interop/dot_server.py (see its docstring: public
clients, PKCE S256 required, both loopback redirect URIs registered exactly, OIDC discovery, RS256
id_token with the nonce echoed, RFC 9207 iss, RFC 7009 revocation, RFC 7662 introspection, RFC 8628
device grant, userinfo). Everything binds 127.0.0.1; the browser aborts non-loopback requests.

Passes: login (browser) → status --check → a stale last_refresh forces a refresh → logout (revoked
at the server) → login again, tokens revoked at the server, status --check → denial (Cancel on the
consent page, exit 3) → device login (RFC 8628, the browser enters the user code) → the server
stopped, status --check. After a login every command uses the stored login as people use a CLI:
no --issuer, no --client-id, no dialect, no CODEX_LOGIN_* variables (the credential's provenance
decides where its tokens go), with a tripwire proxy (interop/tripwire.py) for every host but
loopback, which must get nothing. Logout's revocation is proven at the server: its trace, RFC 7662
introspection, a refused refresh_token grant and its database.

Checks that depend on issue-13 behaviour not every build has (an online --check proof, nonce,
discovery, expires_in, the 127.0.0.1 redirect and so an unregistered --port) are SKIPped with a
note when the build does not do it; INTEROP2_STRICT=1 makes a SKIP fail.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import re
import signal
import stat
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import UTC
from pathlib import Path

HERE = Path(__file__).resolve().parent / "interop"
NO_ID_TOKEN = "e30.e30.bm9uZQ"
CLIENT_ID, DEVICE_CLIENT_ID = "codex-interop", "codex-interop-device"
results: list[tuple[str, str, str]] = []  # (status, pass, what)
current_pass = "-"


def say(msg: str) -> None:
    print(f"interop2: {msg}", file=sys.stderr, flush=True)


def check(ok: bool, what: str) -> bool:
    what = " / ".join(what.splitlines())
    status = "PASS" if ok else "FAIL"
    results.append((status, current_pass, what))
    print(f"{status} [{current_pass}] {what}", flush=True)
    return ok


def skip(what: str) -> None:
    what = " / ".join(what.splitlines())
    results.append(("SKIP", current_pass, what))
    print(f"SKIP [{current_pass}] {what}", flush=True)


def note(what: str) -> None:
    print(f"     [{current_pass}] note: {what}", flush=True)


def requests_of(trace: list[dict]) -> str:
    """ "GET /.well-known/openid-configuration -> 200; POST /oauth/revoke -> 200"."""
    return "; ".join(f"{t['method']} {t['path']} -> {t['status']}" for t in trace) or "none"


def jwt_claims(token: str | None) -> dict:
    try:
        payload = token.split(".")[1]  # type: ignore[union-attr]
        return json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    except Exception:
        return {}


class Run:
    def __init__(self, args: argparse.Namespace):
        self.a = args
        self.work: Path = args.work
        self.issuer = f"http://127.0.0.1:{args.port}"
        self.server: subprocess.Popen | None = None
        self.password = ""
        self.introspector_secret = ""
        self.check_online: bool | None = None  # does this build's status --check contact the issuer?
        self.ip_literal = False  # does this build redirect to 127.0.0.1 (issue 13 #7)?
        self.tripwire: subprocess.Popen | None = None
        self.tripwire_url = ""

    # --- the server --------------------------------------------------------------------------
    def dot(self, *argv: str, timeout: float = 60) -> subprocess.CompletedProcess:
        return subprocess.run(
            [
                self.a.dot_python,
                str(HERE / "dot_server.py"),
                *argv,
                "--dir",
                str(self.work / "server"),
                "--port",
                str(self.a.port),
                "--callback-port",
                str(self.a.callback_port),
            ],
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    def start_server(self) -> bool:
        done = self.dot("setup")
        if done.returncode != 0:
            say(f"server setup failed:\n{done.stdout}{done.stderr}")
            return False
        say(done.stdout.strip())
        self.password = (self.work / "server" / "password").read_text()
        self.introspector_secret = (self.work / "server" / "introspector.secret").read_text()
        out = open(self.work / "server.out", "w")
        self.server = subprocess.Popen(
            [
                self.a.dot_python,
                str(HERE / "dot_server.py"),
                "serve",
                "--dir",
                str(self.work / "server"),
                "--port",
                str(self.a.port),
                "--callback-port",
                str(self.a.callback_port),
            ],
            stdout=out,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and self.server.poll() is None:
            try:
                urllib.request.urlopen(f"{self.issuer}/.well-known/openid-configuration", timeout=2).read()
                say((self.work / "server.out").read_text().splitlines()[0])
                return True
            except (urllib.error.URLError, OSError):
                time.sleep(0.2)
        say(f"server did not start:\n{(self.work / 'server.out').read_text()}")
        return False

    def stop_server(self) -> None:
        if self.server and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(5)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(5)

    def start_tripwire(self) -> bool:
        """The proxy the commands after a login get for every host but loopback (tripwire.py)."""
        self.tripwire = subprocess.Popen(
            [sys.executable, str(HERE / "tripwire.py"), "--record", str(self.work / "tripwire.jsonl")],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
        )
        line = self.tripwire.stdout.readline() if self.tripwire.stdout else ""
        self.tripwire_url = line.strip().removeprefix("tripwire listening on ")
        return self.tripwire_url.startswith("http://127.0.0.1:")

    def stop_tripwire(self) -> None:
        if self.tripwire and self.tripwire.poll() is None:
            self.tripwire.terminate()
            self.tripwire.wait(5)

    def tripwire_record(self) -> list[str]:
        path = self.work / "tripwire.jsonl"
        return [json.loads(line)["line"] for line in path.read_text().splitlines()] if path.exists() else []

    def stored(self, home: Path, *argv: str, timeout: float = 60) -> tuple[int, str]:
        """codex with the stored login, as people use it: no --issuer, --client-id or dialect (env()
        drops every CODEX_LOGIN_* variable), the tripwire as the proxy for every host but loopback."""
        proxy = {
            k: self.tripwire_url for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy")
        }
        return self.codex(home, *argv, timeout=timeout, **proxy)

    def check_tripwire(self, since: int, what: str) -> None:
        got = self.tripwire_record()[since:]
        check(
            self.tripwire is not None and self.tripwire.poll() is None and not got,
            f"{what} asked no host but the server (the tripwire proxy for every other host got {got or 'nothing'})",
        )

    def check_log_endpoints(self, home: Path) -> None:
        """Every endpoint or URL codex-login.log names (where its requests went) is the server's;
        codex:command's `issuer` is the issuer setting (the default when none is given): a note."""
        path = home / "log" / "codex-login.log"
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()] if path.exists() else []
        endpoints = sorted(
            {
                v
                for e in events
                for k, v in e.items()
                if isinstance(v, str)
                and (
                    k in ("url", "endpoint")
                    or k.endswith(("_endpoint", "_url"))
                    or (k == "issuer" and e.get("action_type") != "codex:command")
                )
            }
        )
        origin = lambda url: "/".join(url.split("/", 3)[:3])  # noqa: E731
        check(
            bool(endpoints) and all(origin(e) == self.issuer for e in endpoints),
            f"codex-login.log names only the server's endpoints ({', '.join(endpoints) or 'none'})",
        )
        commands = sorted(
            {
                f"{e.get('command')}: {e.get('issuer')}"
                for e in events
                if e.get("action_type") == "codex:command" and e.get("action_status") == "started"
            }
        )
        note(f"codex:command events name the issuer setting: {'; '.join(commands)}")

    def trace(self) -> list[dict]:
        path = self.work / "server" / "trace.jsonl"
        return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []

    def introspect(self, token: str) -> dict:
        auth = base64.b64encode(f"introspector:{self.introspector_secret}".encode()).decode()
        req = urllib.request.Request(
            f"{self.issuer}/oauth/introspect",
            data=urllib.parse.urlencode({"token": token}).encode(),
            headers={"Authorization": f"Basic {auth}"},
        )
        with urllib.request.urlopen(req, timeout=10) as r:
            return json.loads(r.read())

    def post_token(self, form: dict) -> tuple[int, dict]:
        req = urllib.request.Request(f"{self.issuer}/oauth/token", data=urllib.parse.urlencode(form).encode())
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                return r.status, json.loads(r.read())
        except urllib.error.HTTPError as e:
            return e.code, json.loads(e.read() or b"{}")

    # --- codex ---------------------------------------------------------------------------------
    def env(self, home: Path, **extra: str) -> dict:
        env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_LOGIN_")}
        env.update(CODEX_HOME=str(home), NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
        for k in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
            env.pop(k, None)
        env.update(extra)
        return env

    def codex(self, home: Path, *argv: str, timeout: float = 60, **env: str) -> tuple[int, str]:
        p = subprocess.run(
            [self.a.codex, *argv],
            env=self.env(home, **env),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        return p.returncode, p.stdout + p.stderr

    def browser_env(self, tag: str, **extra: str) -> dict:
        d = self.work / tag
        return dict(
            BROWSER=f"node {HERE / 'browser.mjs'} %s",
            INTEROP_CHROMIUM=self.a.chromium,
            INTEROP_LOGIN="interop-user",
            INTEROP_PASSWORD=self.password,
            INTEROP_BROWSER_RESULT=str(d / "browser.json"),
            INTEROP_BROWSER_PIDFILE=str(d / "browser.pid"),
            INTEROP_SCREENSHOT=str(d / "final.png"),
            **extra,
        )

    @staticmethod
    def check_loopback_only(browser: dict) -> None:
        visited = {v.split(" ", 1)[1].split("/", 1)[0].rsplit(":", 1)[0] for v in browser.get("visited", [])}
        check(
            not browser.get("blocked") and visited <= {"127.0.0.1", "localhost", "[::1]"},
            f"browser reached only loopback hosts ({', '.join(sorted(visited)) or '-'}; blocked {browser.get('blocked', [])})",
        )

    def wait_browser(self, tag: str) -> dict:
        d = self.work / tag
        pidfile = d / "browser.pid"
        deadline = time.monotonic() + 30
        while pidfile.exists() and time.monotonic() < deadline:
            try:
                os.kill(int(pidfile.read_text()), 0)
            except (OSError, ValueError):
                break
            time.sleep(0.1)
        else:
            if pidfile.exists():
                try:
                    os.kill(int(pidfile.read_text()), signal.SIGKILL)
                except (OSError, ValueError):
                    pass
        path = d / "browser.json"
        return json.loads(path.read_text()) if path.exists() else {}

    def login(self, tag: str, *, deny: bool = False, port: int | None = None) -> tuple[int, str, dict, list[dict]]:
        d = self.work / tag
        (d / "home").mkdir(parents=True)
        before = len(self.trace())
        extra = {"INTEROP_DECISION": "deny"} if deny else {}
        rc, out = self.codex(
            d / "home",
            "login",
            "--issuer",
            self.issuer,
            "--client-id",
            CLIENT_ID,
            "--port",
            str(port or self.a.callback_port),
            "--timeout",
            "60",
            "-c",
            "dialect=standard",
            timeout=120,
            **self.browser_env(tag, **extra),
        )
        browser = self.wait_browser(tag)
        self.check_loopback_only(browser)
        (d / "codex.out").write_text(out)
        for line in out.splitlines():
            say(f"    | {line}")
        return rc, out, browser, self.trace()[before:]

    # --- shared checks -------------------------------------------------------------------------
    def check_auth_json(self, home: Path, issued: dict, *, id_token: bool = True) -> dict:
        path = home / "auth.json"
        if not check(path.exists(), "auth.json exists"):
            return {}
        check(stat.S_IMODE(path.stat().st_mode) == 0o600, f"auth.json mode 0600 (got {oct(stat.S_IMODE(path.stat().st_mode))})")
        auth = json.loads(path.read_text())
        tokens = auth.get("tokens") or {}
        check(auth.get("auth_mode") == "chatgpt", f"auth_mode chatgpt (got {auth.get('auth_mode')!r})")
        check(
            bool(issued.get("access_token")) and tokens.get("access_token") == issued.get("access_token"),
            "auth.json access_token is the one the server issued",
        )
        saved_id = None if tokens.get("id_token") in (None, "", NO_ID_TOKEN) else tokens.get("id_token")
        if id_token:
            check(
                bool(issued.get("id_token")) and saved_id == issued.get("id_token"),
                "auth.json id_token is the one the server issued",
            )
        else:  # DOT's device grant is plain OAuth: no id_token; 0.171's placeholder is saved
            check(
                not issued.get("id_token") and saved_id is None,
                f"no id_token issued; saved as 0.171's placeholder (got {tokens.get('id_token')!r})",
            )
        check(
            bool(issued.get("refresh_token")) and tokens.get("refresh_token") == issued.get("refresh_token"),
            "auth.json refresh_token is the one the server issued",
        )
        return auth

    def check_no_secrets(self, home: Path, out: str, secrets: dict[str, str | None], shown_ok: tuple[str, ...] = ()) -> None:
        needles = []
        for name, value in secrets.items():
            if not value:
                continue
            needles.append((name, value))
            parts = value.split(".")
            for i, part in enumerate(parts):
                if len(part) >= 24 and not (len(parts) == 3 and i == 0):
                    needles.append((f"{name} part {i}", part[:16]))
        log_path = home / "log" / "codex-login.log"
        if check(log_path.exists(), "codex-login.log exists"):
            log = log_path.read_text()
            check(stat.S_IMODE(log_path.stat().st_mode) == 0o600, "codex-login.log mode 0600")
            leaked = sorted({n for n, v in needles if v in log})
            check(
                not leaked,
                f"codex-login.log holds none of {', '.join(k for k, v in secrets.items() if v)}"
                + (f" (LEAKED: {leaked})" if leaked else ""),
            )
            pattern = re.compile(
                r"(?:[?&\"'\s]|^)(code|state|code_verifier|access_token|refresh_token|id_token|device_code|nonce)="
                r"(?!<|\*|REDACTED|redacted|&|\s|$)[^&\s\"']{6,}"
            )
            found = [m.group(0) for m in pattern.finditer(log)]
            check(not found, "codex-login.log has no code=/state=/token= values" + (f" (found {found[:3]})" if found else ""))
        shown = sorted({n for n, v in needles if v in out and n.split(" ")[0] not in ("state", "nonce", *shown_ok)})
        check(not shown, "terminal output shows no code, verifier or token" + (f" (SHOWN: {shown})" if shown else ""))

    # --- passes --------------------------------------------------------------------------------
    def pass_login(self) -> Path | None:
        global current_pass
        current_pass = "login"
        rc, out, browser, trace = self.login("login")
        home = self.work / "login" / "home"
        check(rc == 0, f"codex login exited 0 (got {rc})")
        check(
            browser.get("ok") is True,
            f"browser signed in and reached the callback: steps {' > '.join(browser.get('steps', [])) or '-'}, "
            f"status {browser.get('status')}, title {browser.get('title')!r}"
            + (f", error {browser['error'][:300]}" if browser.get("error") else ""),
        )
        discovery = [t["path"] for t in trace if t["path"].startswith("/.well-known/")]
        if discovery:
            check(True, f"discovery read: {', '.join(discovery)} (issue 13 #8)")
        else:
            skip("no discovery request: this build uses the /oauth/* defaults (issue 13 #8 not in it)")
        authz = [t for t in trace if t["path"] == "/oauth/authorize" and t["method"] == "GET" and t["query"].get("response_type")]
        q = authz[0]["query"] if authz else {}
        redirect = q.get("redirect_uri", "")
        registered = (
            f"http://localhost:{self.a.callback_port}/auth/callback",
            f"http://127.0.0.1:{self.a.callback_port}/auth/callback",
        )
        check(
            len(authz) >= 1
            and q.get("code_challenge_method") == "S256"
            and q.get("client_id") == CLIENT_ID
            and redirect in registered
            and "offline_access" in q.get("scope", "").split(),
            f"authorize request: response_type=code, PKCE S256, client_id, a registered redirect_uri, offline_access "
            f"(redirect {redirect or '-'}, scope {q.get('scope')!r}, params {','.join(sorted(q))})",
        )
        if redirect.startswith("http://127.0.0.1:"):
            self.ip_literal = True
            check(True, "redirect URI uses the IP literal 127.0.0.1 (RFC 8252 §7.3; issue 13 #7)")
        else:
            skip(f"redirect URI host is {urllib.parse.urlsplit(redirect).hostname} (issue 13 #7 prefers 127.0.0.1)")
        to_client = [t for t in trace if t.get("location", {}).get("path") == "/auth/callback"]
        cb = to_client[-1]["location"]["params"] if to_client else {}
        check(
            bool(cb.get("code")) and cb.get("iss") == self.issuer and cb.get("state") == q.get("state"),
            f"server redirected to the callback with code, state and iss={cb.get('iss')} (RFC 9207)",
        )
        grants = [t for t in trace if t["path"] == "/oauth/token" and t.get("form", {}).get("grant_type") == "authorization_code"]
        check(len(grants) == 1 and grants[0]["status"] == 200, "exactly one authorization_code grant, answered 200")
        issued = grants[0]["response"] if grants else {}
        if grants:
            f = grants[0]["form"]
            check(
                f.get("redirect_uri") == redirect
                and bool(f.get("code_verifier"))
                and f.get("client_id") == CLIENT_ID
                and "client_secret" not in f
                and grants[0]["client_auth"] == "none",
                "token request: the same redirect_uri, a code_verifier, client_id, no client secret",
            )
            note(
                f"token reply keys {','.join(sorted(issued))}, scope {issued.get('scope')!r}, expires_in {issued.get('expires_in')}"
            )
        claims = jwt_claims(issued.get("id_token"))
        if q.get("nonce"):
            check(claims.get("nonce") == q["nonce"], "nonce sent with openid and echoed in the server's id_token (issue 13 #3)")
        else:
            skip("no nonce in the authorization request (issue 13 #3 not in this build)")
        auth = self.check_auth_json(home, issued)
        if check(isinstance(claims.get("email"), str), f"id_token carries the email claim ({claims.get('email')})"):
            rc_s, out_s = self.stored(home, "login", "status")
            check(
                rc_s == 0 and claims["email"] in out_s,
                f"codex login status exits 0 and names {claims['email']}: {out_s.strip()[:200]}",
            )
        rc_j, out_j = self.stored(home, "login", "status", "--json")
        try:
            report = json.loads(out_j.strip().splitlines()[-1])
        except (ValueError, IndexError):
            report = {}
        expires_at = report.get("expires_at")
        if expires_at:
            from datetime import datetime

            left = (datetime.fromisoformat(expires_at.replace("Z", "+00:00")) - datetime.now(UTC)).total_seconds()
            check(
                abs(left - int(issued.get("expires_in") or 0)) < 300,
                f"status --json expires_at {expires_at} matches the opaque token's expires_in {issued.get('expires_in')} (issue 13 #2)",
            )
        else:
            skip("status --json expires_at is null for the opaque access token (issue 13 #2 not in this build)")
        self.check_no_secrets(
            home,
            out,
            {
                "state": q.get("state"),
                "code": cb.get("code"),
                "nonce": q.get("nonce"),
                "code_verifier": grants[0]["form"].get("code_verifier") if grants else None,
                **{k: issued.get(k) for k in ("access_token", "id_token", "refresh_token")},
            },
        )
        return home if rc == 0 and auth else None

    def status_check(self, home: Path) -> tuple[int, str, list[dict]]:
        """`codex login status --check` with the stored login (no --issuer: see stored())."""
        before = len(self.trace())
        rc, out = self.stored(home, "login", "status", "--check")
        return rc, out, self.trace()[before:]

    def pass_check(self, home: Path) -> None:
        global current_pass
        current_pass = "status --check"
        wire = len(self.tripwire_record())
        rc, out, trace = self.status_check(home)
        check(rc == 0, f"codex login status --check (no --issuer) exits 0 on fresh credentials (got {rc}): {out.strip()[:300]}")
        proofs = [f"{t['method']} {t['path']} -> {t['status']}" for t in trace if not t["path"].startswith("/.well-known/")]
        self.check_online = bool(proofs)
        if proofs:
            check(
                all(t["status"] == 200 for t in trace),
                f"status --check proved the credentials online: {'; '.join(proofs)} (issue 13 #1)",
            )
            named = re.search(r"Credentials checked online \((\w+)\)", out)
            asked = {
                "userinfo": ("GET", "/oauth/userinfo"),
                "introspection": ("POST", "/oauth/introspect"),
                "refresh": ("POST", "/oauth/token"),
            }
            proof_request = asked.get(named.group(1) if named else "", ("-", "-"))
            check(
                any((t["method"], t["path"]) == proof_request and t["status"] == 200 for t in trace),
                f"status --check names its proof ({named.group(1) if named else 'none'}) and the server's trace shows it answered 200",
            )
        else:
            skip("status --check sent no request to the server (issue 13 #1 not in this build)")

        current_pass = "refresh"
        path = home / "auth.json"
        auth = json.loads(path.read_text())
        old_refresh = auth["tokens"]["refresh_token"]
        # Due for a refresh by either rule: last refreshed over 8 days ago, and (where the build
        # stores the expiry computed from expires_in, issue 13 #2) expiring within 5 minutes.
        auth["last_refresh"] = "2020-01-01T00:00:00.000000000Z"
        if "access_token_expires_at" in auth["tokens"]:
            soon = time.strftime("%Y-%m-%dT%H:%M:%S.000000000Z", time.gmtime(time.time() + 60))
            auth["tokens"]["access_token_expires_at"] = soon
        path.write_text(json.dumps(auth))
        os.chmod(path, 0o600)
        rc, out, trace = self.status_check(home)
        check(rc == 0, f"status --check with the tokens due for a refresh exits 0 (got {rc}): {out.strip()[:300]}")
        grants = [t for t in trace if t["path"] == "/oauth/token" and t.get("form", {}).get("grant_type") == "refresh_token"]
        check(
            len(grants) == 1
            and grants[0]["status"] == 200
            and grants[0]["form"].get("refresh_token") == old_refresh
            and grants[0]["form"].get("client_id") == CLIENT_ID,
            "one refresh_token grant with the stored refresh token, answered 200",
        )
        if grants:
            if "scope" in grants[0]["form"]:
                skip(f"refresh sent scope={grants[0]['form']['scope']!r} (issue 13 #5: send none)")
            else:
                check(True, "refresh sent no scope (RFC 6749 §6; issue 13 #5)")
            new = grants[0]["response"]
            tokens = json.loads(path.read_text())["tokens"]
            check(
                tokens.get("access_token") == new.get("access_token")
                and tokens.get("refresh_token") == new.get("refresh_token")
                and new.get("refresh_token") != old_refresh,
                "auth.json holds the refreshed (rotated) access and refresh tokens",
            )
            check(stat.S_IMODE(path.stat().st_mode) == 0o600, "auth.json still mode 0600 after the refresh")
        self.check_tripwire(wire, "both status --check runs")

    def pass_logout(self, home: Path) -> None:
        global current_pass
        current_pass = "logout"
        tokens = json.loads((home / "auth.json").read_text())["tokens"]
        check(
            self.introspect(tokens["access_token"]).get("active") is True,
            "before logout the server introspects the access token as active",
        )
        wire, before = len(self.tripwire_record()), len(self.trace())
        rc, out = self.stored(home, "logout")
        trace = self.trace()[before:]
        check(
            rc == 0
            and re.search(r"(?i)\blogged out\b", out) is not None
            and not re.search(r"(?i)warning|not revoked|could not revoke", out),
            f"codex logout (no --issuer) exits 0, says Logged out, no warning (got {rc}): {' / '.join(out.strip().splitlines())[:200]}",
        )
        check(not (home / "auth.json").exists(), "auth.json removed")
        revokes = [t for t in trace if t["path"] == "/oauth/revoke"]
        check(
            len(revokes) == 1
            and revokes[0]["status"] == 200
            and revokes[0]["form"].get("token") == tokens["refresh_token"]
            and revokes[0]["form"].get("token_type_hint") == "refresh_token"
            and revokes[0]["form"].get("client_id") == CLIENT_ID
            and "client_secret" not in revokes[0]["form"]
            and revokes[0]["client_auth"] == "none",
            "RFC 7009 revocation of the stored refresh token (form, token_type_hint, client_id, no secret), answered 200",
        )
        check(
            all(t["status"] == 200 for t in trace)
            and {t["path"] for t in trace} <= {"/oauth/revoke", "/.well-known/openid-configuration"},
            f"logout made only discovery and revocation requests, all answered 200: {requests_of(trace)}",
        )
        self.check_tripwire(wire, "logout")
        self.check_log_endpoints(home)
        check(
            self.introspect(tokens["access_token"]).get("active") is False,
            "the server introspects the access token as inactive after logout",
        )
        status, body = self.post_token(
            {"grant_type": "refresh_token", "refresh_token": tokens["refresh_token"], "client_id": CLIENT_ID}
        )
        check(
            status == 400 and body.get("error") == "invalid_grant",
            f"the server refuses the revoked refresh token ({status} {body.get('error')})",
        )
        done = self.dot("tokens")
        db = json.loads(done.stdout) if done.returncode == 0 else {}
        refresh_rows = [t for t in db.get("refresh", []) if t["token"] == tokens["refresh_token"]]
        check(
            len(refresh_rows) == 1
            and refresh_rows[0]["revoked"]
            and not any(t["token"] == tokens["access_token"] for t in db.get("access", [])),
            "in the server's database the refresh token is marked revoked and the access token is gone",
        )
        rc, out = self.codex(home, "login", "status")
        check(rc == 1, f"codex login status exits 1 after logout (got {rc})")

    def pass_revoked(self) -> None:
        global current_pass
        current_pass = "revoked at the server"
        rc, out, browser, _ = self.login("revoked")
        home = self.work / "revoked" / "home"
        if not check(rc == 0 and browser.get("ok") is True, f"second login exits 0 (got {rc})"):
            return
        done = self.dot("revoke-all")
        check(done.returncode == 0, f"server revoked every token: {done.stdout.strip()}")
        wire = len(self.tripwire_record())
        rc, out, trace = self.status_check(home)
        self.check_tripwire(wire, "status --check of the revoked login")
        if self.check_online:
            check(rc == 8, f"status --check exits 8 when the server revoked the tokens (got {rc}): {out.strip()[:300]}")
        else:
            skip(f"status --check exits {rc} although the server revoked the tokens (needs issue 13 #1)")

    def pass_other_port(self) -> None:
        """RFC 8252 §7.3: the server ignores the port of a 127.0.0.1 redirect (django-oauth-toolkit
        does; it matches localhost exactly), so `--port` other than the registered one works."""
        global current_pass
        current_pass = "unregistered port"
        if not self.ip_literal:
            skip("not run: the build redirects to localhost, which the server matches exactly (issue 13 #7)")
            return
        port = self.a.callback_port + 1
        rc, out, browser, trace = self.login("other-port", port=port)
        authz = [t for t in trace if t["path"] == "/oauth/authorize" and t["query"].get("response_type")]
        redirect = authz[0]["query"].get("redirect_uri") if authz else None
        check(
            rc == 0 and browser.get("ok") is True and redirect == f"http://127.0.0.1:{port}/auth/callback",
            f"login with --port {port} (not registered) exits 0 through {redirect} (got {rc})",
        )

    def pass_deny(self) -> None:
        global current_pass
        current_pass = "denial"
        rc, out, browser, trace = self.login("deny", deny=True)
        check(rc == 3, f"codex login exits 3 when the user cancels on the consent page (got {rc})")
        check(
            browser.get("ok") is True,
            f"browser pressed Cancel and saw the failure page: steps {' > '.join(browser.get('steps', []))}, title {browser.get('title')!r}"
            + (f", error {browser['error'][:300]}" if browser.get("error") else ""),
        )
        to_client = [t for t in trace if t.get("location", {}).get("path") == "/auth/callback"]
        check(
            bool(to_client) and to_client[-1]["location"]["params"].get("error") == "access_denied",
            "server redirected to the callback with error=access_denied",
        )
        check(not any(t["path"] == "/oauth/token" for t in trace), "no token request after the denial")
        check(not (self.work / "deny" / "home" / "auth.json").exists(), "no auth.json after the denial")
        check("access_denied" in out or "denied" in out.lower(), "terminal says the sign-in was denied")

    def pass_device(self) -> Path | None:
        global current_pass
        current_pass = "device (RFC 8628)"
        d = self.work / "device"
        (d / "home").mkdir(parents=True)
        before = len(self.trace())
        proc = subprocess.Popen(
            [
                self.a.codex,
                "login",
                "--device-auth",
                "--issuer",
                self.issuer,
                "--client-id",
                DEVICE_CLIENT_ID,
                "-c",
                "dialect=standard",
            ],
            env=self.env(d / "home"),
            stdin=subprocess.DEVNULL,
            stdout=open(d / "codex.out", "w"),
            stderr=subprocess.STDOUT,
        )
        grant = None
        deadline = time.monotonic() + 20
        while grant is None and time.monotonic() < deadline and proc.poll() is None:
            for t in self.trace()[before:]:
                if t["path"] == "/oauth/device/code" and t["status"] == 200:
                    grant = t
            time.sleep(0.2)
        if not check(grant is not None, "device authorization request answered 200"):
            proc.kill()
            proc.wait()
            return None
        check(
            grant["form"].get("client_id") == DEVICE_CLIENT_ID, f"device request: client_id, scope {grant['form'].get('scope')!r}"
        )
        user_code, uri = grant["response"]["user_code"], grant["response"]["verification_uri"]
        for _ in range(50):
            if user_code in (d / "codex.out").read_text():
                break
            time.sleep(0.1)
        shown = (d / "codex.out").read_text()
        check(user_code in shown and uri in shown, f"terminal shows the verification URI {uri} and the user code")
        env = self.env(d / "home", **self.browser_env("device", INTEROP_USER_CODE=user_code))
        browser_rc = subprocess.run(
            ["node", str(HERE / "browser.mjs"), uri], env=env, capture_output=True, text=True, timeout=90
        ).returncode
        browser = json.loads((d / "browser.json").read_text()) if (d / "browser.json").exists() else {}
        self.check_loopback_only(browser)
        check(
            browser_rc == 0 and browser.get("ok") is True,
            f"browser logged in, entered the code and accepted: steps {' > '.join(browser.get('steps', []))}, "
            f"heading {browser.get('heading')!r}" + (f", error {browser['error'][:300]}" if browser.get("error") else ""),
        )
        try:
            rc = proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            rc = proc.wait()
        out = (d / "codex.out").read_text()
        for line in out.splitlines():
            say(f"    | {line}")
        check(rc == 0, f"codex login --device-auth exited 0 (got {rc})")
        trace = self.trace()[before:]
        polls = [
            t
            for t in trace
            if t["path"] == "/oauth/token"
            and t.get("form", {}).get("grant_type") == "urn:ietf:params:oauth:grant-type:device_code"
        ]
        good = [t for t in polls if t["status"] == 200]
        check(
            len(good) == 1 and all(t["form"].get("device_code") == grant["response"]["device_code"] for t in polls),
            f"device_code polled ({len(polls)} polls), one answered 200",
        )
        issued = good[0]["response"] if good else {}
        auth = self.check_auth_json(d / "home", issued, id_token=False)
        self.check_no_secrets(
            d / "home",
            out,
            {
                "device_code": grant["response"]["device_code"],
                "user_code": user_code,
                **{k: issued.get(k) for k in ("access_token", "id_token", "refresh_token")},
            },
            shown_ok=("user_code",),
        )
        return d / "home" if rc == 0 and auth else None

    def final_leak_check(self) -> None:
        """Every secret the server saw or issued in the whole run, searched in every pass's
        codex-login.log and terminal output (the URL's state and nonce and the device user code
        are shown on the terminal by design)."""
        global current_pass
        current_pass = "all logs"
        found: dict[str, set[str]] = {}

        def add(name: str, value: object) -> None:
            if isinstance(value, str) and len(value) >= 8:
                found.setdefault(name, set()).add(value)

        for t in self.trace():
            for k in ("state", "nonce"):
                add(k, t["query"].get(k))
            for k in ("code", "state"):
                add(k, t.get("location", {}).get("params", {}).get(k))
            for k in ("code", "code_verifier", "refresh_token", "device_code", "token"):
                add(k, t.get("form", {}).get(k))
            response = t.get("response")
            if isinstance(response, dict):
                for k in ("access_token", "id_token", "refresh_token", "device_code", "user_code"):
                    add(k, response.get(k))
        logs = sorted(self.work.glob("*/home/log/codex-login.log"))
        leaked = sorted({f"{n} in {p.parts[-4]}" for p in logs for n, vs in found.items() if any(v in p.read_text() for v in vs)})
        check(
            bool(logs) and not leaked,
            f"{len(logs)} codex-login.log files hold none of the run's {sum(map(len, found.values()))} secrets "
            f"({', '.join(sorted(found))})" + (f" (LEAKED: {leaked})" if leaked else ""),
        )
        outs = sorted(self.work.glob("*/codex.out"))
        shown = sorted(
            {
                f"{n} in {p.parts[-2]}"
                for p in outs
                for n, vs in found.items()
                if n not in ("state", "nonce", "user_code") and any(v in p.read_text() for v in vs)
            }
        )
        check(
            not shown,
            f"{len(outs)} terminal outputs show no code, verifier, device code or token"
            + (f" (SHOWN: {shown})" if shown else ""),
        )

    def pass_down(self, home: Path) -> None:
        global current_pass
        current_pass = "server down"
        self.stop_server()
        wire = len(self.tripwire_record())
        rc, out = self.stored(home, "login", "status", "--check")
        self.check_tripwire(wire, "status --check with the server down")
        if self.check_online:
            check(rc == 10, f"status --check exits 10 when the server is down (got {rc}): {out.strip()[:200]}")
        else:
            skip(f"status --check exits {rc} with the server down: it does not contact the issuer (needs issue 13 #1)")


def main() -> int:
    global current_pass
    parser = argparse.ArgumentParser()
    parser.add_argument("--dot-python", required=True)
    parser.add_argument("--codex", required=True)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--work", type=Path, required=True)
    parser.add_argument("--port", type=int, default=14660)
    parser.add_argument("--callback-port", type=int, default=14650)
    run = Run(parser.parse_args())
    started = time.monotonic()
    try:
        current_pass = "server"
        if check(run.start_server(), f"django-oauth-toolkit serves {run.issuer}") and check(
            run.start_tripwire(), f"tripwire proxy at {run.tripwire_url}"
        ):
            home = run.pass_login()
            if home:
                run.pass_check(home)
                run.pass_logout(home)
            run.pass_revoked()
            run.pass_other_port()
            run.pass_deny()
            device_home = run.pass_device()
            if device_home:
                run.pass_down(device_home)
            run.final_leak_check()
    except Exception as exc:  # a crash of the checker is a failure, with its traceback
        import traceback

        traceback.print_exc()
        check(False, f"checker crashed: {type(exc).__name__}: {exc}")
    finally:
        run.stop_server()
        run.stop_tripwire()
    counts = {s: sum(1 for r in results if r[0] == s) for s in ("PASS", "FAIL", "SKIP")}
    for status, p, what in results:
        if status == "FAIL":
            print(f"interop2: FAILED [{p}] {what}")
    print(f"interop2: checks took {time.monotonic() - started:.0f} s")
    print(f"interop2: {counts['PASS']} passed, {counts['FAIL']} failed, {counts['SKIP']} skipped")
    if os.environ.get("INTEROP2_STRICT") == "1" and counts["SKIP"]:
        print("interop2: INTEROP2_STRICT=1: a SKIP counts as a failure")
        return 1
    return 1 if counts["FAIL"] else 0


if __name__ == "__main__":
    sys.exit(main())
