"""Which issuer a run talks to, and how: one value, built once per run and handed on.

`Issuer` holds the issuer URL, the client id, the dialect (oauth.dialects) and the endpoints: the
ones discovery found (standard dialect, flows.discover), else the default `/oauth/*` paths. Every
request that carries a code or a token takes its URL from an `Issuer`, never from `Settings`.

Two ways to build one, and only two:
- `configured_issuer(settings)`: a new sign-in, at the issuer the settings name. The dialect is
  decided here (the `dialect` setting, or for `auto` openai exactly when the issuer is the default).
- `credential_issuer(...)`: anything that uses stored tokens (refresh, `status --check`,
  revocation at logout or of a superseded login, a personal access token's whoami). A credential
  carries its origin in auth.json (`tokens.oauth_provenance {issuer, client_id}`, as Codex CLI
  0.171 writes it; ours adds `"dialect": "standard"` for a standard-dialect login, since 0.171 only
  ever speaks the openai dialect: a provenance without `dialect` is openai, whichever issuer it
  names, e.g. 0.171's `--experimental_issuer` logins); a file without provenance (an older Codex
  file) belongs to the default issuer and client, as 0.171 reads it. Stored tokens go to that
  issuer whatever the settings say now.

`issuer_conflict(settings, issuer)` says when a setting (flag, environment, `-c`, config.toml)
explicitly names another issuer or client than the credential's: `status --check` and a refresh
refuse then (exit 2), `logout` revokes at the credential's own issuer and says so.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlsplit

from codexlogin import DEFAULT_CLIENT_ID, DEFAULT_ISSUER
from codexlogin.config import DEFAULT_DEVICE_CODE_PATH, LOOPBACK_HOSTS, Settings
from codexlogin.errors import CredentialsUnusable, UsageError
from codexlogin.oauth.dialects import DIALECTS, OPENAI, STANDARD, Dialect

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing (~3 ms) before the sign-in URL; mypy reads this alike
if TYPE_CHECKING:
    from dataclasses import dataclass as record  # what a type checker sees; codexlogin.record at run time
    from dataclasses import replace
    from typing import Any
else:
    from codexlogin.record import record, replace  # dataclass(frozen=True) without its start-up cost

#: Codex CLI 0.171's check of a personal access token (GET with the token as a Bearer token).
WHOAMI_PATH = "/api/accounts/v1/user-auth-credential/whoami"


def auto_dialect(issuer_base: str) -> Dialect:
    """`dialect = auto`: openai exactly for the default issuer, standard for every other."""
    return OPENAI if issuer_base == DEFAULT_ISSUER else STANDARD


@record(frozen=True)
class Issuer:
    base: str  # the issuer URL without a trailing slash
    client_id: str
    dialect: Dialect
    device_code_path: str = DEFAULT_DEVICE_CODE_PATH  # standard dialect, when discovery names none
    # What this run's discovery found ((metadata name, value) pairs); () = not looked up yet.
    metadata: tuple[tuple[str, str], ...] = ()
    looked_up: bool = False  # discovery ran in this run (found or not): it is not asked again

    def _discovered(self, name: str) -> str | None:
        return next((value for key, value in self.metadata if key == name), None)

    @property
    def is_default(self) -> bool:
        return self.base == DEFAULT_ISSUER

    @property
    def identifier(self) -> str:
        """The issuer's own name for itself (discovery's `issuer`), which `iss` must match."""
        return self._discovered("issuer") or self.base

    @property
    def authorize_endpoint(self) -> str:
        return self._discovered("authorization_endpoint") or f"{self.base}/oauth/authorize"

    @property
    def token_endpoint(self) -> str:
        return self._discovered("token_endpoint") or f"{self.base}/oauth/token"

    @property
    def revoke_endpoint(self) -> str:
        return self._discovered("revocation_endpoint") or f"{self.base}/oauth/revoke"

    @property
    def userinfo_endpoint(self) -> str | None:
        return self._discovered("userinfo_endpoint")

    @property
    def introspection_endpoint(self) -> str | None:
        return self._discovered("introspection_endpoint")

    @property
    def introspection_allows_public_client(self) -> bool:
        """RFC 7662 §2.1 leaves client authentication to the server: only an issuer that lists
        `none` in introspection_endpoint_auth_methods_supported takes a public client's request."""
        methods = self._discovered("introspection_endpoint_auth_methods_supported") or ""
        return self.introspection_endpoint is not None and "none" in methods.split()

    @property
    def iss_required(self) -> bool:
        """RFC 9207 §2.4: discovery says every authorization response carries `iss`
        (authorization_response_iss_parameter_supported), so one without it is refused."""
        return self._discovered("authorization_response_iss_parameter_supported") == "true"

    @property
    def device_code_endpoint(self) -> str:
        discovered = self._discovered("device_authorization_endpoint")
        if discovered and self.device_code_path == DEFAULT_DEVICE_CODE_PATH:  # a set device_code_path wins
            return discovered
        return f"{self.base}/{self.device_code_path.lstrip('/')}"

    @property
    def openai_device_usercode_endpoint(self) -> str:
        return f"{self.base}/api/accounts/deviceauth/usercode"

    @property
    def openai_device_token_endpoint(self) -> str:
        return f"{self.base}/api/accounts/deviceauth/token"

    @property
    def openai_device_redirect_uri(self) -> str:
        return f"{self.base}/deviceauth/callback"

    @property
    def openai_device_verification_uri(self) -> str:
        return f"{self.base}/codex/device"

    @property
    def whoami_endpoint(self) -> str:
        return f"{self.base}{WHOAMI_PATH}"

    @property
    def wants_discovery(self) -> bool:
        """The standard dialect looks its endpoints up once per run (the openai dialect never: 0.171 does not)."""
        return self.dialect is STANDARD and not self.looked_up

    def with_discovery(self, metadata: tuple[tuple[str, str], ...]) -> Issuer:
        """This issuer with what discovery found (() when it found nothing usable: the defaults stay)."""
        return replace(self, metadata=metadata, looked_up=True)

    def provenance(self) -> dict[str, str]:
        """What a credential from this issuer stores as `tokens.oauth_provenance`: 0.171's
        {issuer, client_id}, plus `dialect` for any dialect but 0.171's own (openai), so an
        openai-dialect file is byte for byte what 0.171 writes."""
        data = {"issuer": self.base, "client_id": self.client_id}
        if self.dialect is not OPENAI:
            data["dialect"] = self.dialect.name
        return data

    def issued(self, provenance: Mapping[str, Any] | None) -> bool:
        """Whether a credential with this provenance came from this issuer and client."""
        base, client_id = _origin(provenance)
        return base == self.base and client_id == self.client_id


def configured_issuer(settings: Settings) -> Issuer:
    """The issuer the settings name, for a new sign-in (device code or browser)."""
    base = settings.issuer.rstrip("/")
    dialect = auto_dialect(base) if settings.dialect == "auto" else DIALECTS[settings.dialect]
    return Issuer(base, settings.client_id, dialect, device_code_path=settings.device_code_path)


def _origin(provenance: Mapping[str, Any] | None) -> tuple[str, str]:
    """(issuer base, client id) of a credential; no provenance → the default issuer and client."""
    if provenance is None:
        return DEFAULT_ISSUER, DEFAULT_CLIENT_ID
    issuer, client_id = provenance.get("issuer"), provenance.get("client_id")
    return (
        issuer.rstrip("/") if isinstance(issuer, str) else "",
        client_id if isinstance(client_id, str) else "",
    )


def _usable_issuer_url(url: str) -> bool:
    """The rule `config.validate` applies to the issuer setting: https, or http on loopback; no
    user name, query or fragment; printable."""
    if not url or len(url) > 2048 or any(char.isspace() or not char.isprintable() for char in url):
        return False
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    if not parts.hostname or parts.username is not None or parts.query or parts.fragment:
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in LOOPBACK_HOSTS)


def credential_issuer(provenance: Mapping[str, Any] | None) -> Issuer:
    """The issuer that issued a stored credential (see the module docstring). A provenance that
    names no usable issuer or client is CredentialsUnusable (exit 8): its tokens go nowhere."""
    base, client_id = _origin(provenance)
    if not _usable_issuer_url(base) or not client_id.strip() or len(client_id) > 1024:
        raise CredentialsUnusable(
            "the stored login does not name a usable issuer (tokens.oauth_provenance); run `codex login` again",
            error_code="invalid_provenance",
        )
    named = provenance.get("dialect") if provenance is not None else None
    # No (known) dialect: written by 0.171, which speaks only the openai dialect.
    dialect = DIALECTS[named] if isinstance(named, str) and named in DIALECTS else OPENAI
    return Issuer(base, client_id, dialect)


def issuer_conflict(settings: Settings, issuer: Issuer) -> str | None:
    """When a setting explicitly names another issuer or client than the credential's: a one-line
    account of both (which setting, which values); else None. A default is never a conflict."""
    for key, theirs, ours in (
        ("issuer", settings.issuer.rstrip("/"), issuer.base),
        ("client_id", settings.client_id, issuer.client_id),
    ):
        source = settings.source_of(key)
        if source is not None and theirs != ours:
            what = "issuer" if key == "issuer" else "client id"
            return f"the stored login was issued by {describe(issuer)}, but {source} names the {what} {theirs}"
    return None


def describe(issuer: Issuer) -> str:
    """ "https://idp.example (client abc)": an issuer as messages name it."""
    return issuer.base if issuer.client_id == DEFAULT_CLIENT_ID else f"{issuer.base} (client {issuer.client_id})"


class IssuerConflict(UsageError):
    """A setting names another issuer than the stored credential's (exit 2): stored tokens are
    never sent to it, and never refreshed or checked on its behalf."""

    outcome = "issuer_conflict"


def refuse_conflict(settings: Settings, issuer: Issuer, *, doing: str) -> None:
    """IssuerConflict when the settings name another issuer or client (issuer_conflict)."""
    conflict = issuer_conflict(settings, issuer)
    if conflict is None:
        return
    source = settings.source_of("issuer") or settings.source_of("client_id")
    raise IssuerConflict(
        f"{doing} refused: {conflict}. Stored tokens go only to the issuer that issued them: run"
        f" `codex login` to sign in at the new issuer, or drop {source} to use the stored login",
        error_code="issuer_conflict",
    )


__all__ = [
    "Issuer",
    "IssuerConflict",
    "WHOAMI_PATH",
    "auto_dialect",
    "configured_issuer",
    "credential_issuer",
    "describe",
    "issuer_conflict",
    "refuse_conflict",
]
