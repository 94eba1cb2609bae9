"""Flags every issuer-facing command shares, declared once as a cyclopts parameter dataclass.

Settings come from defaults < $CODEX_HOME/config.toml < CODEX_LOGIN_* < `-c key=value` < flags
(config.load_settings). Most settings are not flags (forced_login_method, the credentials store, …)
and config.toml is shared with the rest of Codex, so config.py, not cyclopts' Env/Toml sources,
does the layering; cyclopts parses and validates the flags. The fast lane takes --issuer,
--client-id and --log-dir from cli/flags.py's table instead; tests/test_fast_lane.py checks both agree.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any

from cyclopts import Parameter

from codexlogin.config import Settings, load_settings

Config = Annotated[tuple[str, ...], Parameter(name=["--config", "-c"], negative=(), show_default=False, consume_multiple=False)]
Flag = Annotated[bool, Parameter(negative=())]


@Parameter(name="*")
@dataclass(frozen=True)
class IssuerOptions:
    issuer: str | None = None
    "OAuth issuer base URL [env: CODEX_LOGIN_ISSUER] (default https://auth.openai.com)."
    client_id: str | None = None
    "OAuth client id [env: CODEX_LOGIN_CLIENT_ID]."
    log_dir: Path | None = None
    "Directory for codex-login.log [env: CODEX_LOGIN_LOG_DIR] (default $CODEX_HOME/log)."
    config: Config = ()
    "Override a setting as key=value (repeatable), e.g. -c cli_auth_credentials_store=keyring."
    verbose: Flag = False
    "Also show the issuer's whole error reply (e.g. an HTML page) on the terminal; never logged."

    def settings(self, **flags: Any) -> Settings:
        """The effective settings; `flags` are this command's own (None = not given)."""
        given = {"issuer": self.issuer, "client_id": self.client_id, "log_dir": self.log_dir, **flags}
        settings = load_settings(given, self.config)
        if settings.ignored_overrides:
            from codexlogin.cli.console import ConsoleUI

            keys = ", ".join(settings.ignored_overrides)
            ConsoleUI().warning(f"-c {keys}: not a login setting, left to the rest of Codex")
        return settings
