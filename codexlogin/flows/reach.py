"""The reachability probe beside a browser login whose URL was shown before anything was fetched
(the openai dialect: no discovery; Codex CLI 0.171 waits out the whole timeout for an issuer that
is not there). It runs in the login's nursery once the listener is up (oauth.reach: no request is
sent) and is logged as its own action, `codex:issuer_probe`:

- unreachable (no such name, refused, no route, a certificate that does not verify): the login
  ends at once with the standard dialect's words for a failed discovery (flows.discover), exit 10;
- unclear (e.g. no answer within the budget): one warning, and the login keeps waiting;
- a callback or a paste that came first wins: the probe then only logs what it found.
"""

from __future__ import annotations

import ssl

from codexlogin import diagnostics
from codexlogin.errors import NetworkError
from codexlogin.flows.ui import LoginUI
from codexlogin.listener.app import LoginSession
from codexlogin.oauth.discovery import unreachable_issuer
from codexlogin.oauth.errors import transport_words
from codexlogin.oauth.issuer import Issuer
from codexlogin.oauth.reach import PROBE_BUDGET, Reach, probe_reach
from codexlogin.redact import sanitize_url


def _undecided(session: LoginSession) -> bool:
    return session.outcome is None and not session.exchanging


def _words(issuer: Issuer, reach: Reach) -> str:
    """What failed, as oauth.errors words a failed request (the host for DNS, the proxy variable,
    a TLS-inspecting proxy's advice for an unknown root)."""
    return transport_words(reach.kind or "connect", issuer.token_endpoint, reach.message)


async def probe_issuer(
    session: LoginSession, issuer: Issuer, context: ssl.SSLContext | None, ui: LoginUI, *, budget: float = PROBE_BUDGET
) -> None:
    """Probe the route to `issuer`'s token endpoint once; end `session` if the issuer is not there."""
    from codexlogin.oauth.reach import route_for

    url = issuer.token_endpoint
    try:
        route = route_for(url)
    except Exception:  # noqa: BLE001 - a URL the probe cannot read: the token exchange will say what is wrong
        return
    failure: NetworkError | None = None
    try:
        with diagnostics.schema.ISSUER_PROBE(
            url=url, target="proxy" if route.proxy else "issuer", address=route.address
        ) as action:
            try:
                reach = await probe_reach(url, context, budget=budget)
            except Exception as exc:  # noqa: BLE001 - a probe must never break the login it watches
                reach = Reach("unclear", route, "error", type(exc).__name__)
            if reach.verdict == "unreachable" and _undecided(session):
                failure = unreachable_issuer(issuer, reach.kind or "connect", _words(issuer, reach))
                raise failure  # logged here, where it happened; the login's actions say a child failed
            action.add_success_fields(result=reach.verdict, elapsed=reach.elapsed, **({"kind": reach.kind} if reach.kind else {}))
    except NetworkError as error:
        if error is not failure:
            raise
        if _undecided(session):
            session.finish(error)
        return
    if reach.verdict == "unclear" and reach.kind != "error" and _undecided(session):
        where = f"the proxy at {route.address}" if route.proxy else route.address
        ui.warning(
            f"could not confirm that the issuer {sanitize_url(issuer.base)} can be reached ({reach.kind}: {where},"
            f" {reach.message}); still waiting for the sign-in. If it does not come back, check the network and"
            " proxy settings (`codex login doctor`)."
        )


__all__ = ["probe_issuer"]
