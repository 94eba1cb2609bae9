"""Fault injection for the dev issuer: `Faults`, the knobs tests flip to make it misbehave.

Every `DevIssuer` has one (`issuer.faults`), read on every request, so a test can change it while
the issuer serves. The defaults make a well-behaved issuer.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

ONBOARDING_STATE_SUFFIX = ".onboarding_entrypoint=life_sciences"  # a value for Faults.state_suffix


@dataclass
class Faults:
    """Fault-injection knobs; mutable, and read on every request, so tests can flip them live."""

    token_status: int | None = None  # authorization_code grant answers this status...
    token_body: bytes | None = None  # ...with this raw body
    token_content_type: str = "application/json"
    token_delay: float = 0.0  # trio.sleep before answering any /oauth/token request
    api_key_exchange_error: str | None = None  # token-exchange answers 400 {"error": this}
    device_code_enabled: bool = True  # False -> /oauth/device/code and deviceauth/usercode answer 404
    revoke_status: int | None = None  # /oauth/revoke answers this status
    refresh_error: str | None = None  # refresh_token grant answers 400 {"error": this}
    # -- mostly for the openai dialect --
    state_suffix: str | None = None  # appended to every `state` redirected back (ONBOARDING_STATE_SUFFIX)
    request_id: str | None = None  # /oauth/token error replies carry x-request-id, x-openai-request-id, cf-ray
    missing_codex_entitlement: bool = False  # authorize and the deviceauth poll deny, saying so
    deviceauth_pending_status: int = 403  # the deviceauth poll's "not yet" status (the real CLI: 403 or 404)
    # The usercode reply names the code "user_code" or "usercode", never both: the real CLI reads
    # either (a serde alias) and refuses a reply with both ("duplicate field `user_code`").
    usercode_field: str = "user_code"
    # -- discovery, proofs and strictness (the standard dialect) --
    discovery_status: int | None = None  # /.well-known/* answer this status (404: no discovery)
    discovery_issuer: str | None = None  # the `issuer` the documents name (default: the identifier)
    discovery_extra: dict[str, Any] | None = None  # merged into the discovery documents (hostile values)
    userinfo_enabled: bool = True  # False: /oauth/userinfo 404 and not advertised
    introspection_enabled: bool = True  # False: /oauth/introspect 404 and not advertised
    introspection_public_client: bool = True  # False: advertise client_secret_basic only, 401 without it
    require_nonce: bool = False  # an openid authorize request without nonce -> invalid_request
    id_token_nonce: str | None = None  # the id_token carries this nonce instead of the request's
    id_token_without_nonce: bool = False  # the id_token carries no nonce, whatever the request sent
    callback_iss: str | None = None  # add iss=this to every redirect back (RFC 9207); "self": the identifier
    opaque_access_tokens: bool = False  # access tokens are random strings, not JWTs (no exp claim)
    expires_in: Any = None  # the token reply's expires_in instead of the lifetime (hostile values too)
    # RFC 8252 §8.3 strictness: redirect URIs the client registered. A `localhost` one must match
    # exactly (port too); for 127.0.0.1 / [::1] the port is ignored (§7.3). None: any loopback one.
    registered_redirects: tuple[str, ...] | None = None
    hang_paths: frozenset[str] = frozenset()  # requests to these paths are logged, then never answered
