"""`codex login status --check` for ChatGPT tokens: prove the stored credentials online.

A proof is a request whose answer depends on the credentials, made in this run to the issuer that
issued them (their provenance, oauth.issuer): a setting that names another issuer or client is
refused with exit 2 (oauth.issuer.IssuerConflict), and no token goes anywhere.

  userinfo       (standard dialect, when discovery names a userinfo endpoint) GET it with the
                 access token (OIDC Core §5.3); 200 proves the access token
  introspection  (standard dialect, no userinfo, an introspection endpoint that takes a public
                 client: `none` in introspection_endpoint_auth_methods_supported) RFC 7662;
                 `active: true` proves the access token
  refresh        otherwise, and whenever a refresh is due, a refresh under auth.lock (flows.refresh):
                 the issuer accepted the refresh token and the rotated tokens are saved. The openai
                 dialect always proves this way (Codex CLI 0.171 refreshes to learn whether its
                 tokens still work).

An access token the issuer refuses (401, `invalid_token`, `active: false`) is not the end: the
refresh token is tried under the lock (an expired access token is renewed, as on any use), and only
when that is refused too are the credentials unusable (exit 8, with the issuer's reasons). No reply,
5xx or 429 from any proof → exit 10. `online` is true only when the issuer answered the proof.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from codexlogin import diagnostics
from codexlogin.config import Settings
from codexlogin.credentials.model import CHATGPT, AuthDotJson
from codexlogin.credentials.store import load_credentials
from codexlogin.errors import LoginFailure, NotLoggedIn
from codexlogin.flows.discover import discover_stored
from codexlogin.flows.refresh import (
    RefreshRejected,
    RefreshUnreachable,
    refresh_credentials,
    refresh_reason,
)
from codexlogin.oauth.client import issuer_session
from codexlogin.oauth.dialects import STANDARD
from codexlogin.oauth.errors import IssuerError, IssuerRejected, IssuerUnreachable
from codexlogin.oauth.issuer import Issuer

if TYPE_CHECKING:
    import httpx

PROOFS = ("userinfo", "introspection", "refresh", "whoami")


@dataclass(frozen=True, repr=False)
class CheckResult:
    auth: AuthDotJson
    backend: str
    proof: str | None  # one of PROOFS, or None: nothing was proven online
    online: bool  # the issuer answered the proof in this run
    refreshed: bool = False
    reason: str | None = None  # why a refresh was made: expiring | stale | forced | rejected
    by_other_process: bool = False
    note: str | None = None  # why nothing was proven (proof None)

    def __repr__(self) -> str:
        return f"CheckResult(proof={self.proof!r}, online={self.online}, refreshed={self.refreshed})"


class _Refused(Exception):
    """The issuer answered: it does not accept the access token (the reason is `.error`)."""

    def __init__(self, error: str):
        super().__init__(error)
        self.error = error


def _unreachable(what: str, exc: IssuerError) -> LoginFailure:
    if isinstance(exc, IssuerUnreachable):
        return RefreshUnreachable(
            f"{what} check failed: {exc.summary}", kind="network", detail=f"{what} check failed: {exc.detail}"
        )
    return RefreshUnreachable(
        f"{what} check failed, the issuer is unavailable: {exc.summary}; try again later",
        kind="unavailable",
        detail=f"{what} check failed, the issuer is unavailable: {exc.detail}; try again later",
    )


async def _ask(
    settings: Settings, issuer: Issuer, proof: str, access_token: str, transport: httpx.AsyncBaseTransport | None
) -> bool:
    """True: proven; False: this endpoint cannot prove it (e.g. 403 insufficient_scope, 404); raise
    _Refused when the issuer refuses the token, a NetworkError when it does not answer."""
    endpoint = issuer.userinfo_endpoint if proof == "userinfo" else issuer.introspection_endpoint
    assert endpoint is not None
    try:
        async with issuer_session(settings, issuer, transport=transport, identified=True) as client:
            if proof == "userinfo":
                await client.userinfo(access_token, endpoint)
                active = True
            else:
                active = (await client.introspect(access_token, endpoint)).get("active") is True
    except IssuerError as exc:
        if isinstance(exc, IssuerUnreachable) or (isinstance(exc, IssuerRejected) and (exc.status >= 500 or exc.status == 429)):
            raise _unreachable(f"{proof} endpoint", exc) from None
        # userinfo's 401 is about the token (RFC 6750 §3.1); introspection's is about the client
        # (RFC 7662 §2.3: a refused token is `active: false`), so that only rules this proof out.
        if proof == "userinfo" and isinstance(exc, IssuerRejected) and (exc.status == 401 or exc.error_code == "invalid_token"):
            raise _Refused(exc.summary) from None
        diagnostics.schema.CHECK_PROOF.log(
            proof=None, online=False, endpoint=endpoint
        )  # e.g. insufficient_scope: try the next proof
        return False
    if not active:
        raise _Refused(f"the {proof} endpoint reports the access token inactive")
    diagnostics.schema.CHECK_PROOF.log(proof=proof, online=True, endpoint=endpoint)
    return True


async def _refresh_proof(
    settings: Settings, issuer: Issuer, *, force: bool, reason: str | None, transport: httpx.AsyncBaseTransport | None
) -> CheckResult:
    for _attempt in range(2):  # once more when another process refreshed while we waited for the lock
        result = await refresh_credentials(settings, force=force, transport=transport, issuer=issuer)
        if result.refreshed:
            diagnostics.schema.CHECK_PROOF.log(proof="refresh", online=True, endpoint=issuer.token_endpoint)
            return CheckResult(result.auth, result.backend, "refresh", True, refreshed=True, reason=reason or result.reason)
        force = True  # its tokens are fresh, but proving them takes a request of our own
    diagnostics.schema.CHECK_PROOF.log(proof=None, online=False, endpoint=issuer.token_endpoint)
    return CheckResult(
        result.auth,
        result.backend,
        None,
        False,
        reason=result.reason,
        by_other_process=True,
        note="another codex process refreshed the tokens during the check; check again",
    )


async def check_credentials(settings: Settings, *, transport: httpx.AsyncBaseTransport | None = None) -> CheckResult:
    """Prove the stored ChatGPT credentials online (see the module docstring); raise NotLoggedIn,
    CredentialsUnusable (exit 8) or NetworkError (exit 10). Other modes come back offline."""
    auth, backend = load_credentials(settings)
    if auth is None:
        raise NotLoggedIn("not logged in; run `codex login`")
    if auth.auth_mode != CHATGPT or auth.tokens is None:
        return CheckResult(auth, backend, None, False, note="API keys are not verified against the issuer")
    issuer = await discover_stored(settings, auth, doing="status --check", transport=transport)
    tokens = auth.tokens
    due = refresh_reason(auth)
    proofs: list[str] = []
    if issuer.dialect is STANDARD and not due and tokens.access_token:
        if issuer.userinfo_endpoint:
            proofs.append("userinfo")
        if issuer.introspection_allows_public_client:
            proofs.append("introspection")
    refused: str | None = None
    for proof in proofs:
        try:
            if await _ask(settings, issuer, proof, tokens.access_token, transport):
                return CheckResult(auth, backend, proof, True)
        except _Refused as exc:
            refused = exc.error
            break
    if not tokens.refresh_token:
        if refused is not None:
            raise RefreshRejected(
                f"the issuer no longer accepts the stored access token ({refused}) and there is no refresh token;"
                " run `codex login` again",
                kind="rejected",
            )
        diagnostics.schema.CHECK_PROOF.log(proof=None, online=False, endpoint=issuer.base)
        return CheckResult(
            auth,
            backend,
            None,
            False,
            note="not checked online: the issuer offers no userinfo or public introspection endpoint and gave no refresh token",
        )
    try:
        return await _refresh_proof(
            settings, issuer, force=due is None, reason=due or ("rejected" if refused else None), transport=transport
        )
    except RefreshRejected as failure:
        if refused is None:
            raise
        raise RefreshRejected(
            f"{failure.summary} (the access token was refused first: {refused})",
            kind=failure.kind,
            detail=f"{failure.detail} (the access token was refused first: {refused})",
            error_code=failure.error_code,
        ) from None
