"""The sign-in (authorization request) URL of a browser login: `authorize_url`, its OIDC
`login_nonce` and `with_query`.

Its own module so that `codex login` builds and prints the URL without oauth.client's imports
(ssl, json, the error catalogue): nothing here needs more than hashlib, base64 and urllib.parse.
oauth.client re-exports these names.
"""

from __future__ import annotations

import base64
import hashlib
from urllib.parse import parse_qsl, urlencode

from codexlogin.redact import register_secrets

TYPE_CHECKING = False  # typing.TYPE_CHECKING would import typing (~3 ms) before the sign-in URL; mypy reads this alike

if TYPE_CHECKING:
    from codexlogin.config import Settings
    from codexlogin.oauth.issuer import Issuer
    from codexlogin.oauth.pkce import PkceCodes


def login_nonce(issuer: Issuer, pkce: PkceCodes) -> str | None:
    """OIDC Core §3.1.2.1 `nonce` for the standard dialect's openid requests (0.171 sends none, so
    the openai dialect neither): derived from the run's secret PKCE verifier (domain-separated, so
    it reveals nothing about it), which binds it to this sign-in without another value to keep."""
    dialect = issuer.dialect
    if dialect.name == "openai" or "openid" not in dialect.scopes.split():
        return None
    digest = hashlib.sha256(b"codexlogin-nonce:" + pkce.verifier.encode("ascii")).digest()
    nonce = base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")
    register_secrets(nonce)
    return nonce


def authorize_url(settings: Settings, issuer: Issuer, redirect_uri: str, pkce: PkceCodes, state: str) -> str:
    dialect = issuer.dialect
    params = {
        "response_type": "code",
        "client_id": issuer.client_id,
        "redirect_uri": redirect_uri,
        "scope": dialect.scopes,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": state,
        **dict(dialect.authorize_extras),
    }
    nonce = login_nonce(issuer, pkce)
    if nonce is not None:
        params["nonce"] = nonce
    if settings.forced_chatgpt_workspace_id:
        params["allowed_workspace_id"] = ",".join(settings.forced_chatgpt_workspace_id)
    return with_query(issuer.authorize_endpoint, params)


def with_query(endpoint: str, params: dict[str, str]) -> str:
    """`endpoint` with `params` in its query. A query the endpoint already has is kept (RFC 6749
    §3.1: e.g. a provider's `?p=policy`), minus any parameter set here (each is sent once)."""
    base, _, query = endpoint.partition("?")
    base, _, _fragment = base.partition("#")  # an endpoint has no fragment (RFC 6749 §3.1)
    kept = [(key, value) for key, value in parse_qsl(query, keep_blank_values=True) if key not in params]
    return f"{base}?{urlencode([*kept, *params.items()])}"
