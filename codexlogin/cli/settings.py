"""`codex login config [--json]`: the effective login settings, each with where it came from.

Sources, lowest first: `default` < `config.toml` ($CODEX_HOME/config.toml) < `env CODEX_LOGIN_<KEY>`
< `-c key` < `--flag` (config.load_settings records them). Values are shown as a login uses them
(the log directory resolved, the dialect's redirect host and fallback port named) and never with a
secret: the issuer without userinfo or secret query values, the proxy variables without user name
or password, every other value scrubbed like the log. Reads only the settings: no network, no log.
"""

from __future__ import annotations

import json
import os
from typing import Annotated, Any

from cyclopts import Parameter

from codexlogin.cli.boundary import command
from codexlogin.cli.options import IssuerOptions
from codexlogin.config import Settings, load_settings
from codexlogin.terminal import escape_controls

DEFAULT = "default"


def setting_rows(settings: Settings, sources: dict[str, str], environ: dict[str, str] | None = None) -> list[dict[str, str]]:
    """[{name, value, source}] for every login setting, then the proxy and CA environment."""
    from codexlogin.oauth.dialects import callback_ports, redirect_host
    from codexlogin.oauth.issuer import configured_issuer
    from codexlogin.oauth.proxy import proxy_variable_names
    from codexlogin.oauth.tls import ca_source
    from codexlogin.redact import sanitize_proxy, sanitize_url, scrub_text

    env = dict(os.environ) if environ is None else environ
    run_dialect = configured_issuer(settings).dialect
    dialect = run_dialect.name
    ports = callback_ports(settings, run_dialect)

    def shown(name: str) -> str:
        value: Any = getattr(settings, name)
        if name == "issuer":
            return sanitize_url(value)
        if name == "log_dir":
            return str(settings.resolved_log_dir) + ("" if value is not None else " ($CODEX_HOME/log)")
        if name == "dialect" and value == "auto":
            return f"auto ({dialect})"
        if name == "redirect_host" and value is None:
            return f"{redirect_host(settings, run_dialect)} (the {dialect} dialect's)"
        if name == "fallback_port" and value is None:
            return f"{ports[1]} (the {dialect} dialect's)" if len(ports) > 1 else "none"
        if name == "otel":  # the exporter a run's trace goes to; header values never shown
            return value.describe() if value is not None else "none (no [otel] exporter)"
        if name == "timeout" and not value:
            return "0 (no limit)"
        if isinstance(value, tuple):
            return ", ".join(value) or "none"
        if isinstance(value, bool):
            return "true" if value else "false"
        if value is None:
            return "none"
        return scrub_text(f"{value:g}" if isinstance(value, float) else str(value))

    names = [
        "codex_home",
        *(name for name in Settings.__dataclass_fields__ if name not in ("codex_home", "ignored_overrides", "origins")),
    ]
    rows = [{"name": name, "value": shown(name), "source": sources.get(name, DEFAULT)} for name in names]
    for key, variable in proxy_variable_names(env).items():
        rows.append({"name": f"{key}_proxy", "value": sanitize_proxy(env[variable]), "source": f"env {variable}"})
    source = ca_source(env)
    rows.append(
        {
            "name": "ca_bundle",
            "value": source[1] if source else "system trust store",
            "source": f"env {source[0]}" if source else DEFAULT,
        }
    )
    return rows


def format_rows(rows: list[dict[str, str]]) -> str:
    """The table for a terminal: what came from outside (config.toml, env) cannot drive it."""
    rows = [{key: escape_controls(value) for key, value in row.items()} for row in rows]
    name_width = max(len(row["name"]) for row in rows)
    value_width = min(max(len(row["value"]) for row in rows), 48)
    lines = [f"{'setting':<{name_width}}  {'value':<{value_width}}  source"]
    lines += [f"{row['name']:<{name_width}}  {row['value']:<{value_width}}  {row['source']}" for row in rows]
    lines.append("Precedence: default < config.toml < env CODEX_LOGIN_<KEY> < -c key=value < --flag.")
    return "\n".join(lines) + "\n"


@command
def config(
    *,
    json_: Annotated[bool, Parameter(name="--json", negative=())] = False,
    options: IssuerOptions = IssuerOptions(),
) -> int:
    """Show the effective login settings and where each came from.

    Lists every login setting with its value as a login would use it (secrets never shown: the
    issuer and proxies without user names or passwords) and its source: `default`, `config.toml`
    ($CODEX_HOME/config.toml), `env CODEX_LOGIN_<KEY>`, `-c key` or `--flag`; then the proxy and
    CA variables in use. Contacts nothing and writes nothing. Exit codes: 0, 2 bad settings.

    Parameters
    ----------
    json_
        Print one JSON object: {"settings": [{name, value, source}, ...]}.
    """
    sources: dict[str, str] = {}
    given = {"issuer": options.issuer, "client_id": options.client_id, "log_dir": options.log_dir}
    settings = load_settings(given, options.config, sources=sources)
    if settings.ignored_overrides:
        from codexlogin.cli.console import ConsoleUI

        ConsoleUI().warning(f"-c {', '.join(settings.ignored_overrides)}: not a login setting, left to the rest of Codex")
    rows = setting_rows(settings, sources)
    print(json.dumps({"settings": rows}) if json_ else format_rows(rows), end="" if not json_ else "\n", flush=True)
    return 0
