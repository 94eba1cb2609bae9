"""Test rules for the whole suite.

- Loopback only: every server binds 127.0.0.1 with port 0; nothing reaches another address.
- Every I/O test runs under a hard `trio.fail_after` bound so a hang fails fast.
- Timeouts are tested on trio's MockClock, never with real sleeps.
- CODEX_HOME always points into tmp_path: the real home directory is never touched.
"""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _isolated_home(tmp_path, monkeypatch):
    """Point CODEX_HOME and HOME at tmp dirs and clear settings from the environment."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("CODEX_HOME", str(tmp_path / "codex-home"))
    for name in list(__import__("os").environ):
        if name.startswith("CODEX_LOGIN_") or name in ("BROWSER", "SSL_CERT_FILE", "CODEX_CA_CERTIFICATE"):
            monkeypatch.delenv(name, raising=False)
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    return home
