"""Doctor's endpoints check: the token endpoint (and the revocation and device endpoints) answer
like OAuth endpoints. A discovery document that answers says nothing about the token endpoint: an
issuer whose token endpoint answers an HTML 502 (a broken gateway) fails every sign-in at its last
step. Each endpoint gets one harmless request, a healthy one refuses:

  token       POST grant_type=authorization_code with a made-up code: an OAuth error (400
              `invalid_grant`, or 401 `invalid_client`) is healthy; a 5xx, a 404 or a reply that
              is not an OAuth error (an HTML page) fails the check
  revocation  POST a made-up token: 200 (RFC 7009 §2.2) or an OAuth error is healthy; anything
              else is a warning (only `codex login logout` revokes)
  device      POST without a client id: an OAuth error is healthy; anything else a warning (only
              `codex login --device-auth` uses it). Standard issuers only when their discovery
              names one.

Nothing sent is a credential: the code, the token and the verifier are made up for the probe.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from codexlogin.redact import sanitize_url, scrub_clip
from codexlogin.support.doctor.issuer import IssuerProbe
from codexlogin.support.doctor.report import FAIL, OK, WARN, Result

if TYPE_CHECKING:
    from codexlogin.config import Settings
    from codexlogin.oauth.issuer import Issuer

PROBE_CODE = "codex-login-doctor-probe"  # not a code any issuer issued
PROBE_VERIFIER = "codex-login-doctor-probe-verifier-0000000000000"
_RANK = {OK: 0, WARN: 1, FAIL: 2}


def judge_reply(name: str, status: int, content_type: str, body: bytes, *, ok_statuses: tuple[int, ...] = ()) -> tuple[str, str]:
    """(status word, what the endpoint answered) for one probe reply: an OAuth error (RFC 6749
    §5.2, a JSON object with `error`) is healthy; `ok_statuses` are healthy too."""
    from codexlogin.oauth.errors import parse_oauth_error

    kind = content_type.split(";")[0].strip() or "no content type"
    error_code, _ = parse_oauth_error(body)
    if status in ok_statuses:
        return OK, f"HTTP {status}"
    if 400 <= status < 500 and status != 404 and error_code:
        return OK, f"HTTP {status} {scrub_clip(error_code, 60)} (the answer expected to a probe)"
    if status == 404:
        return FAIL, f"HTTP 404 ({kind}): there is no {name} endpoint at this address"
    if status >= 500:
        return FAIL, f"HTTP {status} ({kind}): the {name} endpoint is failing (or a gateway in front of it)"
    if 200 <= status < 300:
        return WARN, f"HTTP {status} ({kind}) to a made-up request"
    return FAIL, f"HTTP {status} ({kind}), not an OAuth error"


async def _probe(
    http: Any, url: str, *, form: dict[str, str] | None = None, body: dict[str, str] | None = None
) -> tuple[int, str, bytes] | str:
    """(status, content type, the first 4 KiB) or, when nothing answered, the transport kind in words."""
    import httpx

    from codexlogin.oauth.client import read_bounded
    from codexlogin.oauth.errors import classify_transport_error

    try:
        async with http.stream("POST", url, data=form, json=body) as response:
            content = await read_bounded(response, 4096)
            return response.status_code, response.headers.get("content-type", ""), content
    except httpx.HTTPError as exc:
        return f"no answer ({classify_transport_error(exc)})"


def _probes(issuer: Issuer, device_discovered: bool) -> list[tuple[str, str, dict[str, Any], tuple[int, ...], str]]:
    """(name, url, request, healthy statuses, worst status word) for each endpoint to probe."""
    json_requests = issuer.dialect.json_requests
    token_form = {
        "grant_type": "authorization_code",
        "code": PROBE_CODE,
        "redirect_uri": "http://localhost:1455/auth/callback",
        "client_id": issuer.client_id,
        "code_verifier": PROBE_VERIFIER,
    }
    revoke = {"token": PROBE_CODE, "token_type_hint": "refresh_token", "client_id": issuer.client_id}
    probes: list[tuple[str, str, dict[str, Any], tuple[int, ...], str]] = [
        ("token", issuer.token_endpoint, {"form": token_form}, (), FAIL),
        ("revocation", issuer.revoke_endpoint, {"body": revoke} if json_requests else {"form": revoke}, (200,), WARN),
    ]
    if issuer.dialect.device_protocol == "openai":
        probes.append(("device", issuer.openai_device_usercode_endpoint, {"body": {}}, (), WARN))
    elif device_discovered:
        probes.append(("device", issuer.device_code_endpoint, {"form": {}}, (), WARN))
    return probes


async def check_endpoints(settings: Settings, timeout: float, probe: IssuerProbe) -> Result:
    """Probe each endpoint once (bounded by `timeout` each); after the issuer check (`probe`)."""
    import trio

    from codexlogin.oauth.client import issuer_session
    from codexlogin.oauth.discovery import fetch_discovery
    from codexlogin.oauth.issuer import configured_issuer

    issuer = configured_issuer(settings)
    if not probe.reachable:
        return WARN, "not tried: the issuer did not answer (see issuer)", "fix what the issuer check says first"
    if issuer.wants_discovery:
        found = await fetch_discovery(settings, issuer, budget=min(timeout, 3.0))
        issuer = issuer.with_discovery(found.metadata if found.found else ())
    worst, parts, hints = OK, [], []
    async with issuer_session(settings, issuer) as client:
        for name, url, request, healthy, ceiling in _probes(issuer, probe.device_authorization):
            with trio.move_on_after(timeout) as scope:
                answer = await _probe(client.http, url, **request)
            if scope.cancelled_caught:
                answer = f"no answer within {timeout:g} s"
            if isinstance(answer, str):
                status, said = FAIL, answer
            else:
                status, said = judge_reply(name, *answer, ok_statuses=healthy)
            if _RANK[status] > _RANK[ceiling]:
                status = ceiling
            if status != OK:
                hints.append(_hint(name, said))
            if _RANK[status] > _RANK[worst]:
                worst = status
            parts.append(f"{name} {sanitize_url(url)}: {said}")
    return worst, "; ".join(parts), "; ".join(hints) or None


def _hint(name: str, said: str) -> str:
    if "404" in said:
        return f"{name}: check the issuer URL (--issuer) and, for a standard issuer, its discovery document"
    if name == "token":
        return "token: the sign-in fails at its last step until the issuer (or the gateway in front of it) is fixed; try later"
    if name == "revocation":
        return "revocation: `codex login logout` cannot revoke the tokens; the login itself is not affected"
    return "device: `codex login --device-auth` may not work; the browser login is not affected"
