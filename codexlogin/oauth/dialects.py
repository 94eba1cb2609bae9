"""Issuer dialects: the one place where "how this issuer is spoken to" is decided.

- `openai`: the default issuer (https://auth.openai.com) and look-alikes. The protocol of the real
  Codex CLI 0.171: its scopes and extra authorize parameters, a 127.0.0.1 redirect, the fallback
  callback port 1457 (the other port on the issuer's redirect allow-list), the state suffix
  `.onboarding_entrypoint=…`, its own device-code endpoints, JSON refresh and revocation, the
  id_token → API key exchange, and a token reply that must carry id, access and refresh tokens
  (0.171 cannot read an auth.json without them).
- `standard`: any RFC issuer (RFC 6749, 7636, 7009, 8252, 8628, 9207, OIDC Core): form-encoded
  requests, RFC 8628 device grant, `prompt=consent` so `offline_access` yields a refresh token, no
  scope on refresh (RFC 6749 §6: omitted means unchanged), optional id and refresh tokens.

Which dialect a run speaks is decided once, with the run's issuer (oauth.issuer: from the settings
for a new sign-in, from the credential for stored tokens).
"""

from __future__ import annotations

from codexlogin.config import Settings

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing before the sign-in URL; mypy reads this alike
if TYPE_CHECKING:
    from dataclasses import dataclass as record  # what a type checker sees; codexlogin.record at run time
else:
    from codexlogin.record import record  # dataclass(frozen=True) without its start-up cost

OPENAI_FALLBACK_PORT = 1457
ONBOARDING_SUFFIX = ".onboarding_entrypoint="


@record(frozen=True)
class Dialect:
    name: str
    scopes: str
    redirect_host: str
    authorize_extras: tuple[tuple[str, str], ...]
    fallback_ports: dict[int, tuple[int, ...]]  # the port asked for → ports to try after it
    device_protocol: str  # "openai" | "rfc8628"
    json_requests: bool  # refresh and revocation bodies as JSON (openai) or forms (RFC 6749 / 7009)
    api_key_exchange: bool
    full_token_reply: bool  # a code exchange must return id, access and refresh tokens
    state_suffix: bool  # the issuer may append ONBOARDING_SUFFIX + value to the state

    def ports_to_try(self, port: int) -> tuple[int, ...]:
        return (port, *self.fallback_ports.get(port, ()))


OPENAI = Dialect(
    name="openai",
    scopes="openid profile email offline_access api.connectors.read api.connectors.invoke",
    redirect_host="127.0.0.1",
    authorize_extras=(
        ("id_token_add_organizations", "true"),
        ("codex_cli_simplified_flow", "true"),
        ("originator", "codex_cli_rs"),
    ),
    fallback_ports={1455: (OPENAI_FALLBACK_PORT,)},
    device_protocol="openai",
    json_requests=True,
    api_key_exchange=True,
    full_token_reply=True,
    state_suffix=True,
)

STANDARD = Dialect(
    name="standard",
    scopes="openid profile email offline_access",
    # RFC 8252 §7.3 / §8.3: the IP literal, whose port the server must not compare (a `localhost`
    # redirect may be matched exactly, port included, so `--port N` would fail there).
    redirect_host="127.0.0.1",
    # OIDC Core §11: offline_access (a refresh token) needs prompt=consent on a standard provider.
    authorize_extras=(("prompt", "consent"),),
    fallback_ports={},
    device_protocol="rfc8628",
    json_requests=False,
    api_key_exchange=False,
    full_token_reply=False,
    state_suffix=False,
)

DIALECTS = {d.name: d for d in (OPENAI, STANDARD)}


def redirect_host(settings: Settings, dialect: Dialect) -> str:
    return settings.redirect_host or dialect.redirect_host


def callback_ports(settings: Settings, dialect: Dialect) -> tuple[int, ...]:
    """The ports a browser login may listen on, in order: the one asked for, then a fallback
    (`fallback_port`, else the dialect's: 1457 after 1455 for the openai issuer)."""
    if settings.fallback_port is not None and settings.fallback_port != settings.port:
        return (settings.port, settings.fallback_port)
    return dialect.ports_to_try(settings.port)


def any_port_allowed(dialect: Dialect) -> bool:
    """Whether the issuer takes a loopback redirect on any port (RFC 8252 §7.3), so `--port` may
    be advised; the openai issuer allows only its registered ports."""
    return dialect is STANDARD
