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

SAY_AS=interop2
# shellcheck source=scripts/interop/common.sh
source "$HERE/common.sh"
started=$(date +%s)
install_missing playwright-core
require_free_ports "INTEROP2_PROVIDER_PORT / INTEROP2_CALLBACK_PORT" "$PROVIDER_PORT" "$CALLBACK_PORT"

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
