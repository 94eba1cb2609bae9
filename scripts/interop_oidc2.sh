#!/usr/bin/env bash
# Interop check for issue 13: `codex login` (standard dialect) against a second independent
# OpenID Provider, django-oauth-toolkit from PyPI, with a real headless Chromium through BROWSER=.
#
#   bash scripts/interop_oidc2.sh          # prints PASS/FAIL/SKIP per check; exit 0 / 1
#
# What it checks is in scripts/interop_oidc2.py; the server (a one-file Django project made at
# run time in a temp dir, sqlite, a user and public clients registered in code, both loopback
# redirect URIs registered exactly) is scripts/interop/dot_server.py.
#
# Installs what is missing: django-oauth-toolkit (pinned) into a venv in the temp dir (pip), npm
# packages into scripts/interop/node_modules (npm ci), Chromium and Node.js via apt, the project
# venv. Everything binds 127.0.0.1; the browser aborts non-loopback requests.
# Settings: INTEROP2_PROVIDER_PORT (14660), INTEROP2_CALLBACK_PORT (14650), INTEROP_CHROMIUM
# (/usr/bin/chromium), CODEX (.venv/bin/codex), INTEROP_KEEP=1 keeps the temp dir, INTEROP2_STRICT=1
# fails on a SKIP (a check of issue-13 behaviour the build does not have).
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
HERE=$ROOT/scripts/interop
CODEX=${CODEX:-$ROOT/.venv/bin/codex}
PYTHON=${PYTHON:-$ROOT/.venv/bin/python}
PROVIDER_PORT=${INTEROP2_PROVIDER_PORT:-14660}
CALLBACK_PORT=${INTEROP2_CALLBACK_PORT:-14650}
CHROMIUM=${INTEROP_CHROMIUM:-/usr/bin/chromium}
# django-oauth-toolkit and what it needs, pinned (the versions this script was verified with;
# oauthlib 4.0 breaks DOT 3.4.1's device endpoint: DeviceCodeResponse gets an unknown `scope`).
DOT_PACKAGES="django-oauth-toolkit==3.4.1 Django==5.2.19 oauthlib==3.3.1 jwcrypto==1.6.1"

say() { printf 'interop2: %s\n' "$*" >&2; }
die() { say "FAIL: $*"; echo "FAIL"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }
started=$(date +%s)

# --- install what is missing ---------------------------------------------------------------------
if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
    say "installing nodejs and npm (apt)"
    { as_root apt-get update -qq && as_root apt-get install -y -qq nodejs npm; } >/dev/null || die "cannot install node and npm"
fi
if [ ! -d "$HERE/node_modules/playwright-core" ]; then
    say "installing npm packages into scripts/interop/node_modules"
    (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >&2 || die "npm ci failed"
fi
if [ ! -x "$CHROMIUM" ]; then
    say "installing chromium (apt)"
    { as_root apt-get update -qq && as_root apt-get install -y -qq chromium; } >/dev/null || die "cannot install chromium"
    [ -x "$CHROMIUM" ] || die "no chromium at $CHROMIUM"
fi
if [ ! -x "$CODEX" ]; then
    say "creating the project venv"
    { python3 -m venv "$ROOT/.venv" && "$ROOT/.venv/bin/pip" install -q -e "$ROOT"; } >&2 || die "cannot install the project"
fi
for port in "$PROVIDER_PORT" "$CALLBACK_PORT"; do
    "$PYTHON" -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1])))" "$port" 2>/dev/null \
        || die "port $port on 127.0.0.1 is busy (set INTEROP2_PROVIDER_PORT / INTEROP2_CALLBACK_PORT)"
done

WORK=$(mktemp -d "${TMPDIR:-/tmp}/codex-interop2.XXXXXX")
cleanup() {
    if [ "${INTEROP_KEEP:-0}" = 1 ] || [ "${RESULT:-FAIL}" != PASS ]; then say "artifacts kept in $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say "installing $DOT_PACKAGES into a temporary venv"
{ python3 -m venv "$WORK/dot-venv" && "$WORK/dot-venv/bin/pip" install -q --disable-pip-version-check $DOT_PACKAGES; } >"$WORK/pip.log" 2>&1 \
    || { cat "$WORK/pip.log" >&2; die "cannot install django-oauth-toolkit"; }
say "node $(node --version), playwright-core $(node -p "require('$HERE/node_modules/playwright-core/package.json').version"),"\
" $("$CHROMIUM" --version 2>/dev/null | head -1), $("$WORK/dot-venv/bin/python" -c 'import django, oauth2_provider, oauthlib; print(f"django-oauth-toolkit {oauth2_provider.__version__}, Django {django.__version__}, oauthlib {oauthlib.__version__}")'),"\
" codexlogin $("$CODEX" --version 2>/dev/null)"

"$PYTHON" "$ROOT/scripts/interop_oidc2.py" --dot-python "$WORK/dot-venv/bin/python" --codex "$CODEX" --chromium "$CHROMIUM" \
    --work "$WORK" --port "$PROVIDER_PORT" --callback-port "$CALLBACK_PORT"
rc=$?
say "took $(( $(date +%s) - started )) s"
if [ $rc -eq 0 ]; then RESULT=PASS; echo PASS; exit 0; fi
echo FAIL
exit 1
