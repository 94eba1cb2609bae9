# Shared by scripts/interop_oidc.sh and scripts/interop_oidc2.sh (sourced, after they set ROOT,
# HERE, CODEX, PYTHON, CHROMIUM and SAY_AS): messages, and installing what a run needs.

say() { printf '%s: %s\n' "$SAY_AS" "$*" >&2; }
die() { say "FAIL: $*"; echo "FAIL"; exit 1; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else return 1; fi; }

# install_missing NPM_PACKAGE…: Node.js and npm, those packages of scripts/interop (npm ci),
# Chromium (apt) and the project venv, each only when missing.
install_missing() {
    if ! command -v node >/dev/null || ! command -v npm >/dev/null; then
        say "installing nodejs and npm (apt)"
        { as_root apt-get update -qq && as_root apt-get install -y -qq nodejs npm; } >/dev/null || die "cannot install node and npm"
    fi
    local package
    for package in "$@"; do
        if [ ! -d "$HERE/node_modules/$package" ]; then
            say "installing npm packages into scripts/interop/node_modules"
            (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error) >&2 || die "npm ci failed"
            break
        fi
    done
    if [ ! -x "$CHROMIUM" ]; then
        say "installing chromium (apt)"
        { as_root apt-get update -qq && as_root apt-get install -y -qq chromium; } >/dev/null || die "cannot install chromium"
        [ -x "$CHROMIUM" ] || die "no chromium at $CHROMIUM"
    fi
    if [ ! -x "$CODEX" ]; then
        say "creating the project venv"
        { python3 -m venv "$ROOT/.venv" && "$ROOT/.venv/bin/pip" install -q -e "$ROOT"; } >&2 || die "cannot install the project"
    fi
}

# require_free_ports HINT PORT…: each port can be bound on 127.0.0.1, else FAIL naming HINT.
require_free_ports() {
    local hint=$1 port
    shift
    for port in "$@"; do
        "$PYTHON" -c "import socket,sys; s=socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(('127.0.0.1', int(sys.argv[1])))" "$port" 2>/dev/null \
            || die "port $port on 127.0.0.1 is busy (set $hint)"
    done
}
