#!/usr/bin/env bash
# Interop check for issue 2: `codex login` against an independent, standards-compliant OpenID
# Provider (panva's oidc-provider: public native client, PKCE S256 required, redirect URI exactly
# http://localhost:<port>/auth/callback or http://127.0.0.1:<port>/auth/callback), driven by a real
# headless Chromium through BROWSER=.
#
#   bash scripts/interop_oidc.sh            # all passes; prints PASS or FAIL, exit 0 / 1
#
# Passes (INTEROP_PASSES, default "always never spec") differ in the provider's refresh-token policy:
#   always  a refresh token with every code grant (like a production issuer)
#   never   no refresh token at all (plain OAuth reply: access_token + id_token)
#   spec    oidc-provider's default: only if offline_access was granted (OIDC Core §11: needs
#           prompt=consent); informational, whatever the provider issued must be what is saved
# Each pass checks: codex exits 0; the browser saw the callback page answer 200 "Signed in";
# auth.json is mode 0600, auth_mode chatgpt, and holds exactly the tokens the provider issued;
# the authorize and token requests were PKCE S256 with the exact redirect URI and no client
# secret; codex-login.log exists (0600) and contains none of the state, code, verifier or tokens
# (nor any `code=`/`state=`/token value); the terminal output shows no code, verifier or token.
# Then, the provider still running, the stored login is used as people use a CLI (no --issuer, no
# --client-id, no CODEX_LOGIN_* variables; a tripwire proxy, scripts/interop/tripwire.py, for every
# host but loopback): `codex login status --check` exits 0 and names its proof, which the provider's
# trace shows (userinfo with the stored access token, 200); `codex logout` exits 0, "Successfully logged out",
# no warning, auth.json gone, and the trace shows the RFC 7009 revocation of the stored refresh
# token (the access token when there is none) by the public client, which ended the login's grant;
# asked directly, the provider refuses the access token (userinfo 401 invalid_token) and the refresh
# token (invalid_grant); the tripwire got nothing and codex-login.log names only the provider's
# endpoints and none of the tokens (a refresh's rotated ones included).
#
# Installs what is missing: npm packages into scripts/interop/node_modules (npm ci), Chromium
# via apt, the project venv. Everything binds 127.0.0.1; the browser aborts non-loopback requests.
# Settings: INTEROP_PROVIDER_PORT (14560), INTEROP_CALLBACK_PORT (14550), INTEROP_CLIENT_ID,
# INTEROP_CHROMIUM (/usr/bin/chromium), CODEX (.venv/bin/codex), INTEROP_KEEP=1 keeps the temp dir.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$ROOT/scripts/interop
CODEX=${CODEX:-$ROOT/.venv/bin/codex}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
PROVIDER_PORT=${INTEROP_PROVIDER_PORT:-14560}
CALLBACK_PORT=${INTEROP_CALLBACK_PORT:-14550}
CLIENT_ID=${INTEROP_CLIENT_ID:-app_EMoamEEZ73f0CkXaXp7hrann}
CHROMIUM=${INTEROP_CHROMIUM:-/usr/bin/chromium}
PASSES=${INTEROP_PASSES:-always never spec}
ISSUER=http://127.0.0.1:$PROVIDER_PORT

SAY_AS=interop
# shellcheck source=scripts/interop/common.sh
source "$HERE/common.sh"
install_missing oidc-provider playwright-core
require_free_ports "INTEROP_PROVIDER_PORT / INTEROP_CALLBACK_PORT" "$PROVIDER_PORT" "$CALLBACK_PORT"

say "node $(node --version), oidc-provider $(node -p "require('$HERE/node_modules/oidc-provider/package.json').version"),"\
" playwright-core $(node -p "require('$HERE/node_modules/playwright-core/package.json').version"), $("$CHROMIUM" --version 2>/dev/null | head -1),"\
" codexlogin $("$CODEX" --version 2>/dev/null)"

# --- processes we start, ended by pid on every exit ----------------------------------------------
WORK=$(mktemp -d "${TMPDIR:-/tmp}/codex-interop.XXXXXX")
PROVIDER_PID= TRIPWIRE_PID= TRIPWIRE_URL=
stop_pid() {  # pid: TERM, then KILL after 3 s
    local pid=$1
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null || return 0
    kill "$pid" 2>/dev/null
    for _ in $(seq 30); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null
}
cleanup() {
    stop_pid "$PROVIDER_PID"
    stop_pid "$TRIPWIRE_PID"
    for pidfile in "$WORK"/*/browser.pid; do [ -f "$pidfile" ] && stop_pid "$(cat "$pidfile")"; done
    if [ "${INTEROP_KEEP:-0}" = 1 ] || [ "${RESULT:-FAIL}" != PASS ]; then
        say "artifacts kept in $WORK"
    else
        rm -rf "$WORK"
    fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

start_tripwire() {  # dir: TRIPWIRE_PID and TRIPWIRE_URL, recording into dir/tripwire.jsonl
    local dir=$1
    "$PYTHON" "$HERE/tripwire.py" --record "$dir/tripwire.jsonl" >"$dir/tripwire.out" 2>&1 &
    TRIPWIRE_PID=$!
    for _ in $(seq 100); do
        grep -q '^tripwire listening on' "$dir/tripwire.out" && break
        kill -0 "$TRIPWIRE_PID" 2>/dev/null || break
        sleep 0.1
    done
    TRIPWIRE_URL=$(sed -n 's/^tripwire listening on //p' "$dir/tripwire.out")
    [ -n "$TRIPWIRE_URL" ] || { cat "$dir/tripwire.out" >&2; say "tripwire did not start"; return 1; }
}

run_later() {  # dir name codex-args…: dir/name.out, .rc, .span (its trace lines: first last+1)
    local dir=$1 name=$2 rc=0 first
    shift 2
    first=$(cat "$dir/trace.jsonl" 2>/dev/null | wc -l)
    env -u CODEX_LOGIN_ISSUER -u CODEX_LOGIN_CLIENT_ID -u CODEX_LOGIN_PORT -u CODEX_LOGIN_NO_BROWSER \
        -u CODEX_LOGIN_TIMEOUT -u CODEX_LOGIN_LOG_DIR -u BROWSER \
        CODEX_HOME="$dir/home" NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
        HTTP_PROXY="$TRIPWIRE_URL" HTTPS_PROXY="$TRIPWIRE_URL" ALL_PROXY="$TRIPWIRE_URL" \
        http_proxy="$TRIPWIRE_URL" https_proxy="$TRIPWIRE_URL" all_proxy="$TRIPWIRE_URL" \
        timeout 60 "$CODEX" "$@" </dev/null >"$dir/$name.out" 2>&1 || rc=$?
    echo "$rc" >"$dir/$name.rc"
    echo "$first $(cat "$dir/trace.jsonl" 2>/dev/null | wc -l)" >"$dir/$name.span"
    say "codex $* (no --issuer, no --client-id) exit code $rc; its output:"
    sed 's/^/    | /' "$dir/$name.out" >&2
}

# --- one pass ------------------------------------------------------------------------------------
run_pass() {  # refresh policy
    local mode=$1 dir=$WORK/$1
    mkdir -p "$dir/home"
    say "--- pass '$mode': provider refresh policy $mode"

    : >"$dir/provider.out"
    node "$HERE/provider.mjs" --port "$PROVIDER_PORT" --callback-port "$CALLBACK_PORT" \
        --client-id "$CLIENT_ID" --refresh "$mode" --trace "$dir/trace.jsonl" >"$dir/provider.out" 2>&1 &
    PROVIDER_PID=$!
    for _ in $(seq 150); do
        grep -q '^provider listening on' "$dir/provider.out" && break
        kill -0 "$PROVIDER_PID" 2>/dev/null || break
        sleep 0.1
    done
    grep -q '^provider listening on' "$dir/provider.out" || { cat "$dir/provider.out" >&2; say "provider did not start"; return 1; }
    grep '^provider listening on' "$dir/provider.out" >&2

    local rc=0
    env -u CODEX_LOGIN_ISSUER -u CODEX_LOGIN_CLIENT_ID -u CODEX_LOGIN_PORT -u CODEX_LOGIN_NO_BROWSER \
        -u CODEX_LOGIN_TIMEOUT -u CODEX_LOGIN_LOG_DIR \
        CODEX_HOME="$dir/home" NO_PROXY="127.0.0.1,localhost" no_proxy="127.0.0.1,localhost" \
        BROWSER="node $HERE/browser.mjs %s" INTEROP_CHROMIUM="$CHROMIUM" \
        INTEROP_BROWSER_RESULT="$dir/browser.json" INTEROP_BROWSER_PIDFILE="$dir/browser.pid" \
        INTEROP_SCREENSHOT="$dir/callback.png" \
        timeout 150 "$CODEX" login --issuer "$ISSUER" --port "$CALLBACK_PORT" --client-id "$CLIENT_ID" \
        --timeout 90 </dev/null >"$dir/codex.out" 2>&1 || rc=$?
    # codex does not wait for the BROWSER command (webbrowser runs in an abandoned thread): wait here.
    if [ -f "$dir/browser.pid" ]; then
        local bpid; bpid=$(cat "$dir/browser.pid")
        for _ in $(seq 300); do kill -0 "$bpid" 2>/dev/null || break; sleep 0.1; done
        stop_pid "$bpid"
    fi

    say "codex login exit code $rc; its output:"
    sed 's/^/    | /' "$dir/codex.out" >&2

    # The stored login, used as people use a CLI: no --issuer, no --client-id, no CODEX_LOGIN_*
    # variables. The tripwire is the proxy for every host but loopback: whatever it records went
    # somewhere other than the provider. Each command's requests are its span of the trace.
    [ -f "$dir/home/auth.json" ] && cp -p "$dir/home/auth.json" "$dir/auth.login.json"  # what the login saved
    if [ -f "$dir/home/auth.json" ] && start_tripwire "$dir"; then
        run_later "$dir" check login status --check
        run_later "$dir" logout logout
    fi
    stop_pid "$TRIPWIRE_PID"; TRIPWIRE_PID=
    say "provider output:"
    grep -v 'WARNING' "$dir/provider.out" | sed 's/^/    | /' >&2

    # The provider keeps running for the checker: it asks it whether the revoked tokens still work.
    local checked=0
    "$PYTHON" - "$mode" "$dir" "$rc" "$CALLBACK_PORT" "$CLIENT_ID" "$ISSUER" <<'PY' || checked=$?
import json, os, re, stat, sys, urllib.error, urllib.parse, urllib.request
from pathlib import Path

mode, d, rc, port, client_id, issuer = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5], sys.argv[6]
registered = (f"http://localhost:{port}/auth/callback", f"http://127.0.0.1:{port}/auth/callback")
failures, notes = [], []

def check(ok, what):
    print(f"interop:   [{'ok' if ok else 'FAIL'}] {what}", file=sys.stderr)
    if not ok:
        failures.append(what)

check(rc == 0, f"codex login exited 0 (got {rc})")

browser = json.loads((d / "browser.json").read_text()) if (d / "browser.json").exists() else {}
check(browser.get("ok") is True,
      f"browser reached the callback: steps {' > '.join(browser.get('steps', [])) or '-'}, "
      f"status {browser.get('status')}, title {browser.get('title')!r}" + (f", error {browser['error'][:300]}" if browser.get("error") else ""))

trace = [json.loads(line) for line in (d / "trace.jsonl").read_text().splitlines()] if (d / "trace.jsonl").exists() else []
authz = [t for t in trace if t["kind"] == "authorize"]
redirects = [t for t in trace if t["kind"] == "redirect_to_client"]
code_grants = [t for t in trace if t["kind"] == "token" and t["request"].get("grant_type") == "authorization_code"]
other_token = [t for t in trace if t["kind"] == "token" and t["request"].get("grant_type") != "authorization_code"]

redirect = authz[0]["redirect_uri"] if authz else None
check(len(authz) == 1 and authz[0]["code_challenge_method"] == "S256" and redirect in registered
      and authz[0]["client_id"] == client_id and authz[0]["response_type"] == "code",
      f"authorize request: response_type=code, PKCE S256, client_id, redirect_uri exactly one registered ({redirect})")
if authz:
    notes.append(f"authorize scope {authz[0]['scope']!r}, prompt {authz[0]['prompt']!r}, params {','.join(authz[0]['params'])}")
check(len(redirects) == 1 and redirects[0]["code"] and not redirects[0]["error"],
      "provider redirected the browser to the callback with a code")
if redirects:
    notes.append(f"authorization response params {','.join(redirects[0]['params'])} (iss={redirects[0]['iss']})")
check(len(code_grants) == 1 and code_grants[0]["status"] == 200, "exactly one authorization_code grant, answered 200")
issued = code_grants[0]["response"] if code_grants else {}
if code_grants:
    req = code_grants[0]["request"]
    check(req.get("redirect_uri") == redirect and req.get("code_verifier") and req.get("client_id") == client_id
          and "client_secret" not in req and code_grants[0]["client_auth"] == "none",
          "token request: same exact redirect_uri, code_verifier, client_id, no client secret")
    notes.append(f"token reply keys {','.join(code_grants[0]['response_keys'])}, scope {issued.get('scope')!r}")
for t in other_token:
    notes.append(f"other token-endpoint request grant_type={t['request'].get('grant_type')} -> HTTP {t['status']} "
                 f"{t['response'].get('error', '')}")

auth_path = d / "auth.login.json"  # home/auth.json as the login saved it (logout removes it later)
auth = {}
if auth_path.exists():
    check(stat.S_IMODE(auth_path.stat().st_mode) == 0o600, f"auth.json mode 0600 (got {oct(stat.S_IMODE(auth_path.stat().st_mode))})")
    auth = json.loads(auth_path.read_text())
else:
    check(False, "auth.json exists")
tokens = auth.get("tokens") or {}
# auth.json as Codex CLI 0.171 reads it: a missing refresh token is saved as "", a missing id_token
# as the placeholder e30.e30.bm9uZQ (both read back as absent).
NO_ID_TOKEN = "e30.e30.bm9uZQ"
saved_refresh = tokens.get("refresh_token") or None
saved_id = None if tokens.get("id_token") in (None, "", NO_ID_TOKEN) else tokens.get("id_token")
check(auth.get("auth_mode") == "chatgpt", f"auth_mode chatgpt (got {auth.get('auth_mode')!r})")
check(bool(tokens.get("access_token")) and tokens.get("access_token") == issued.get("access_token"),
      "auth.json access_token present and equal to the issued one")
check(saved_id == issued.get("id_token"), "auth.json id_token equal to the issued one (or both absent)")
check(saved_refresh == issued.get("refresh_token"), "auth.json refresh_token equal to the issued one (or both absent)")
if mode == "always":
    check(bool(issued.get("refresh_token")) and bool(saved_refresh), "refresh_token issued and saved")
if mode == "never":
    check(not issued.get("refresh_token") and tokens.get("refresh_token") in (None, ""),
          f"no refresh_token issued; saved as \"\" (0.171's form; got {tokens.get('refresh_token')!r})")
notes.append(f"auth.json: keys {','.join(sorted(auth))}; tokens: " + ", ".join(
    f"{k}={'set' if v else v}" for k, v in sorted(tokens.items())))

# --- after the login: status --check and logout without --issuer, then the provider asked directly
def later(name):
    """(exit code, output, its requests in the trace) of a command run after the login."""
    if not (d / f"{name}.rc").exists():
        return None, "", []
    first, last = map(int, (d / f"{name}.span").read_text().split())
    return int((d / f"{name}.rc").read_text()), (d / f"{name}.out").read_text(), trace[first:last]

def requests(entries):
    return "; ".join(f"{t.get('method', 'POST')} {t.get('path') or '/oauth/' + t['kind']} -> {t['status']}"
                     for t in entries if "status" in t) or "none"

direct = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # to the provider, whatever *_proxy says

def discovery(t):
    return t["kind"] == "request" and t.get("route") == "discovery"

def post(url, form):
    req = urllib.request.Request(url, data=urllib.parse.urlencode(form).encode())
    try:
        with direct.open(req, timeout=10) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")

def get(url, bearer):
    req = urllib.request.Request(url, headers={"Authorization": f"Bearer {bearer}"})
    try:
        with direct.open(req, timeout=10) as r:
            return r.status, r.headers.get("WWW-Authenticate", "")
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("WWW-Authenticate", "")

stored_access = tokens.get("access_token")
check_rc, check_out, check_trace = later("check")
check(check_rc == 0, f"codex login status --check (no --issuer) exited 0 (got {check_rc}): {' / '.join(check_out.strip().splitlines())[:300]}")
proof = re.search(r"Credentials checked online \((\w+)\)", check_out)
proof = proof.group(1) if proof else None
userinfo = [t for t in check_trace if t["kind"] == "userinfo"]
refreshes = [t for t in check_trace if t["kind"] == "token" and t["request"].get("grant_type") == "refresh_token"]
if proof == "userinfo":
    check(len(userinfo) == 1 and userinfo[0]["status"] == 200 and userinfo[0]["bearer"] == stored_access,
          f"status --check names its proof (userinfo) and the provider answered the stored access token 200 ({requests(check_trace)})")
elif proof == "refresh":
    check(len(refreshes) == 1 and refreshes[0]["status"] == 200 and refreshes[0]["request"].get("refresh_token") == saved_refresh,
          f"status --check names its proof (refresh) and the provider accepted the stored refresh token ({requests(check_trace)})")
else:
    check(not saved_refresh and "Credentials not checked online" in check_out,
          f"status --check names a proof (or, without a refresh token, says it was not checked online) ({requests(check_trace)})")
check(bool(check_trace) and all(t["status"] == 200 and (discovery(t) or t in userinfo or t in refreshes) for t in check_trace),
      "status --check made only discovery and proof requests, all answered 200")
# A refresh by status --check rotates the tokens: logout revokes (and the probes use) the new ones.
rotated = refreshes[0]["response"] if refreshes and refreshes[0]["status"] == 200 else {}
live_access = rotated.get("access_token") or stored_access
live_refresh = rotated.get("refresh_token") or saved_refresh

logout_rc, logout_out, logout_trace = later("logout")
check(logout_rc == 0 and re.search(r"(?i)\blogged out\b", logout_out) and not re.search(r"(?i)warning|not revoked|could not revoke", logout_out),
      f"codex logout (no --issuer) exited 0, said Logged out, no warning (got {logout_rc}): {' / '.join(logout_out.strip().splitlines())[:300]}")
check(not (d / "home" / "auth.json").exists(), "auth.json removed by logout")
revokes = [t for t in logout_trace if t["kind"] == "revoke"]
hint, revoked_token = ("refresh_token", live_refresh) if live_refresh else ("access_token", live_access)
check(len(revokes) == 1 and revokes[0]["status"] == 200 and revokes[0]["request"].get("token") == revoked_token
      and revokes[0]["request"].get("token_type_hint") == hint and revokes[0]["request"].get("client_id") == client_id
      and revokes[0]["client_auth"] == "none",
      f"logout revoked the stored {hint} at the provider (RFC 7009: token, token_type_hint, client_id, no secret), answered 200 ({requests(logout_trace)})")
check(bool(revokes) and all(t["kind"] == "grant_revoked" or (t["status"] == 200 and (discovery(t) or t in revokes)) for t in logout_trace),
      "logout made only discovery and revocation requests, all answered 200")
if live_refresh:  # revoking the refresh token ends the login's grant; an access token's revocation keeps it
    grant_id = code_grants[0].get("grant_id") if code_grants else None
    ended = [t["grant_id"] for t in logout_trace if t["kind"] == "grant_revoked"]
    check(bool(grant_id) and ended == [grant_id], f"the provider ended the login's grant on that revocation (grant.revoked {len(ended)}x)")

wire = [json.loads(line) for line in (d / "tripwire.jsonl").read_text().splitlines()] if (d / "tripwire.jsonl").exists() else None
check(wire == [], "status --check and logout asked no host but the provider (the tripwire proxy for every other host got nothing"
      + (f": {[w['line'] for w in wire]}" if wire else ")" if wire is not None else ": it did not run)"))
log_path = d / "home" / "log" / "codex-login.log"
events = [json.loads(line) for line in (log_path.read_text().splitlines() if log_path.exists() else []) if line.strip()]
# Where requests went: every endpoint or URL a logged step names (codex:command's `issuer` is the
# setting, the default when none is given, not a destination: noted, not checked).
endpoints = sorted({v for e in events for k, v in e.items() if isinstance(v, str)
                    and (k in ("url", "endpoint") or k.endswith(("_endpoint", "_url")) or (k == "issuer" and e.get("action_type") != "codex:command"))})
origin = lambda url: "/".join(url.split("/", 3)[:3])
check(bool(endpoints) and all(origin(e) == issuer for e in endpoints),
      f"codex-login.log names only the provider's endpoints ({', '.join(endpoints) or 'none'})")
commands = sorted({f"{e.get('command')}: {e.get('issuer')}" for e in events if e.get("action_type") == "codex:command" and e.get("action_status") == "started"})
notes.append(f"codex:command events name the issuer setting: {'; '.join(commands)}")

# The provider asked directly: the revoked tokens are dead (revoking either ends every token of the grant).
try:
    metadata = json.loads(direct.open(f"{issuer}/.well-known/openid-configuration", timeout=10).read())
    status, challenge = get(metadata["userinfo_endpoint"], live_access)
    check(status == 401 and "invalid_token" in challenge,
          f"the provider refuses the stored access token after logout (userinfo: {status} {challenge[:80]})")
    if live_refresh:
        status, body = post(metadata["token_endpoint"], {"grant_type": "refresh_token", "refresh_token": live_refresh, "client_id": client_id})
        check(status == 400 and body.get("error") == "invalid_grant",
              f"the provider refuses the stored refresh token after logout (refresh_token grant: {status} {body.get('error')})")
except (OSError, ValueError, KeyError) as exc:
    check(False, f"the provider answers direct requests after logout ({type(exc).__name__}: {exc})")

# Every secret of this run, and a 16-character prefix of each of its parts (JWT header excepted).
secrets = {}
if authz: secrets["state"] = authz[0]["state"]
if redirects: secrets["code"] = redirects[0]["code"]
if code_grants: secrets["code_verifier"] = code_grants[0]["request"].get("code_verifier")
for key in ("access_token", "id_token", "refresh_token"):
    secrets[key] = issued.get(key) or {"id_token": saved_id, "refresh_token": saved_refresh}.get(key, tokens.get(key))
for i, t in enumerate(t for t in trace if t["kind"] == "token" and t["request"].get("grant_type") == "refresh_token"):
    for key in ("access_token", "id_token", "refresh_token"):
        secrets[f"refreshed {key} {i}"] = t["response"].get(key)
needles = []
for name, value in secrets.items():
    if not value:
        continue
    needles.append((name, value))
    parts = value.split(".")
    for i, part in enumerate(parts):
        if len(part) >= 24 and not (len(parts) == 3 and i == 0):
            needles.append((f"{name} part {i} prefix", part[:16]))
leak_pattern = re.compile(r"(?:[?&\"'\s]|^)(code|state|code_verifier|access_token|refresh_token|id_token)=(?!<|\*|REDACTED|redacted|&|\s|$)[^&\s\"']{6,}")

log_path = d / "home" / "log" / "codex-login.log"
if log_path.exists():
    log = log_path.read_text()
    check(stat.S_IMODE(log_path.stat().st_mode) == 0o600, "codex-login.log mode 0600")
    leaked = sorted({name for name, needle in needles if needle in log})
    check(not leaked, f"codex-login.log holds none of {', '.join(n for n, v in secrets.items() if v)}" + (f" (LEAKED: {leaked})" if leaked else ""))
    matches = [m.group(0) for m in leak_pattern.finditer(log)]
    check(not matches, "codex-login.log has no code=/state=/token= values" + (f" (found {matches[:3]})" if matches else ""))
    events = [json.loads(line) for line in log.splitlines() if line.strip()]
    check(any(e.get("action_type") == "codex:command" and e.get("outcome") == "success" for e in events),
          f"codex-login.log records the command's success ({len(events)} lines)")
    for e in events:
        if e.get("action_status") == "failed":
            notes.append(f"log: {e.get('action_type')} failed: {e.get('reason')} (outcome={e.get('outcome')}, exit_code={e.get('exit_code')})")
else:
    check(False, "codex-login.log exists")

outs = {name: (d / f"{name}.out").read_text() for name in ("codex", "check", "logout") if (d / f"{name}.out").exists()}
shown = sorted({f"{name} in {cmd}" for cmd, out in outs.items() for name, needle in needles if needle in out and not name.startswith("state")})
check(not shown, f"terminal output ({', '.join(outs)}) shows no code, verifier or token" + (f" (SHOWN: {shown})" if shown else ""))

for note in notes:
    print(f"interop:   note: {note}", file=sys.stderr)
sys.exit(1 if failures else 0)
PY
    stop_pid "$PROVIDER_PID"; PROVIDER_PID=
    return $checked
}

failed=()
for mode in $PASSES; do
    run_pass "$mode" || failed+=("$mode")
done

if [ ${#failed[@]} -eq 0 ]; then
    RESULT=PASS
    say "all passes ($PASSES) succeeded"
    echo PASS
    exit 0
fi
say "failed passes: ${failed[*]}"
echo FAIL
exit 1
