"""How requests identify the client to the issuer, as Codex CLI 0.171 does for the openai dialect.

0.171 sends `originator: codex_cli_rs` and `User-Agent: codex_cli_rs/0.171.0 (<os> <version>;
<arch>) <terminal>` (e.g. `codex_cli_rs/0.171.0 (Debian 12.0.0; x86_64) xterm`) on the requests
that use stored credentials: whoami, revocation and refresh. Its login requests (device code,
code exchange) carry neither: it sends no User-Agent there. The issuer's logs and rate limits
key on these, so the openai dialect sends exactly the same; a standard-dialect issuer is told
who we are (`User-Agent: codexlogin`), with no originator (a Codex-only header).

Pure and import-light: reads the environment and /etc/os-release only when asked.
"""

from __future__ import annotations

import os
import platform
from collections.abc import Mapping

#: The Codex CLI release whose protocol this one speaks (scripts/interop_codex.py checks against it).
CODEX_VERSION = "0.171.0"
ORIGINATOR = "codex_cli_rs"
OWN_USER_AGENT = "codexlogin"

#: /etc/os-release ID -> the name 0.171 (its os_info crate) puts in the User-Agent.
_OS_NAMES = {
    "debian": "Debian",
    "ubuntu": "Ubuntu",
    "fedora": "Fedora",
    "alpine": "Alpine Linux",
    "arch": "Arch Linux",
    "centos": "CentOS",
    "rhel": "Red Hat Enterprise Linux",
    "amzn": "Amazon Linux AMI",
    "linuxmint": "Linux Mint",
    "opensuse-leap": "openSUSE",
    "nixos": "NixOS",
}


def _os_release(path: str = "/etc/os-release") -> dict[str, str]:
    try:
        with open(path, encoding="utf-8", errors="replace") as handle:
            lines = handle.read(64 * 1024).splitlines()
    except OSError:
        return {}
    fields = {}
    for line in lines:
        key, sep, value = line.partition("=")
        if sep:
            fields[key.strip()] = value.strip().strip('"').strip("'")
    return fields


def _semantic(version: str) -> str:
    """ "12" -> "12.0.0", "22.04" -> "22.4.0" (os_info's semantic versions); other text as it is."""
    parts = version.split(".")
    if not version or len(parts) > 3 or not all(part.isdigit() for part in parts):
        return version or "Unknown"
    numbers = [str(int(part)) for part in parts] + ["0"] * (3 - len(parts))
    return ".".join(numbers)


def os_description(os_release: str = "/etc/os-release") -> str:
    """ "Debian 12.0.0", "Mac OS 14.5.0", "Windows 10.0.22631": the OS and its version."""
    system = platform.system()
    if system == "Darwin":
        return f"Mac OS {_semantic(platform.mac_ver()[0])}"
    if system == "Windows":
        return f"Windows {platform.version()}"
    fields = _os_release(os_release)
    name = _OS_NAMES.get(fields.get("ID", ""), "Linux")
    return f"{name} {_semantic(fields.get('VERSION_ID', ''))}"


def terminal_name(environ: Mapping[str, str]) -> str:
    """The terminal as 0.171 names it: TERM_PROGRAM[/TERM_PROGRAM_VERSION], else TERM, else unknown."""
    program = environ.get("TERM_PROGRAM", "").strip()
    if program:
        version = environ.get("TERM_PROGRAM_VERSION", "").strip()
        return f"{program}/{version}" if version else program
    return environ.get("TERM", "").strip() or "unknown"


def _header_safe(text: str) -> str:
    """Visible ASCII and spaces only (a header value cannot carry more)."""
    return "".join(char if " " <= char <= "~" else "_" for char in text)


def codex_user_agent(environ: Mapping[str, str] | None = None) -> str:
    """ "codex_cli_rs/0.171.0 (Debian 12.0.0; x86_64) xterm"."""
    env = os.environ if environ is None else environ
    text = f"{ORIGINATOR}/{CODEX_VERSION} ({os_description()}; {platform.machine() or 'unknown'}) {terminal_name(env)}"
    return _header_safe(text)


def identity_headers(dialect: str, *, identified: bool, environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """The headers a session sends; None removes httpx's own User-Agent (0.171 sends none).

    `identified`: requests made with stored credentials (whoami, revocation, refresh), which 0.171
    sends with originator and User-Agent; login requests (device code, code exchange) are not.
    """
    if dialect != "openai":
        return {"User-Agent": OWN_USER_AGENT}
    if not identified:
        return {"User-Agent": None}
    return {"originator": ORIGINATOR, "User-Agent": codex_user_agent(environ)}
