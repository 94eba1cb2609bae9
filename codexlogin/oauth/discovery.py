"""Issuer discovery for the standard dialect: OIDC Discovery 1.0, then RFC 8414.

`fetch_discovery(settings, issuer)` reads `{issuer}/.well-known/openid-configuration`, then (absent or unusable)
the RFC 8414 document `{scheme}://{host}/.well-known/oauth-authorization-server{path}`, and returns
what it found (flows.discover puts it in the run's `Issuer` and logs it): the issuer identifier and the
authorization, token, revocation, device authorization, userinfo and introspection endpoints.
Nothing is cached across runs. The whole look-up is bounded by DISCOVERY_BUDGET (it runs before
the sign-in URL is printed); on any failure the default `/oauth/*` paths stay, and the log says
why (`codex:discovery`). The openai dialect never discovers (Codex CLI 0.171 does not).

The document is validated before anything in it is used:
- at most MAX_DOCUMENT_BYTES, a JSON object; only string values are taken (lists of strings for
  `*_supported`), each at most MAX_VALUE_CHARS;
- `issuer` must be the issuer identifier the document was fetched for (RFC 8414 §3.3, OIDC
  Discovery §4.3). Differences allowed: a trailing slash, the case of scheme and host, and for a
  loopback issuer the loopback name (localhost, 127.0.0.1, [::1]) — the issuer's own spelling is
  then the identifier `iss` must match (RFC 9207);
- every endpoint must be an absolute https URL without userinfo or fragment; plain http only on a
  loopback host and only for a loopback http issuer (an https issuer's code, verifier and tokens
  must not cross a loopback port any local user can bind); a bad endpoint is dropped (its default
  stays), not the whole document;
- `authorization_response_iss_parameter_supported` (RFC 9207) is kept as "true"/"false" when it is
  a JSON boolean: true makes a callback without `iss` refused.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from codexlogin.config import LOOPBACK_HOSTS, Settings
from codexlogin.oauth.issuer import Issuer
from codexlogin.redact import sanitize_url

if TYPE_CHECKING:
    import ssl

    import httpx

DISCOVERY_BUDGET = 1.5  # seconds for the whole look-up (both documents)
MAX_DOCUMENT_BYTES = 256 * 1024
MAX_VALUE_CHARS = 2048
OIDC_PATH = "/.well-known/openid-configuration"
RFC8414_PATH = "/.well-known/oauth-authorization-server"
ENDPOINT_NAMES = (
    "authorization_endpoint",
    "token_endpoint",
    "revocation_endpoint",
    "device_authorization_endpoint",
    "userinfo_endpoint",
    "introspection_endpoint",
)
LIST_NAMES = ("introspection_endpoint_auth_methods_supported", "code_challenge_methods_supported")
BOOLEAN_NAMES = ("authorization_response_iss_parameter_supported",)


class DiscoveryProblem(Exception):
    """Why a document was not used (one line, safe to log and show); `kind` and `words` for a
    transport failure (oauth.errors.classify_transport_error, transport_words)."""

    def __init__(self, message: str, kind: str | None = None, words: str = ""):
        super().__init__(message)
        self.kind = kind
        self.words = words


@dataclass(frozen=True)
class Discovery:
    source: str  # "openid-configuration" | "oauth-authorization-server" | "none"
    metadata: tuple[tuple[str, str], ...] = ()
    problem: str | None = None  # why the defaults are used (source "none")
    url: str | None = None  # the document used (or the last one tried)
    rejected: bool = False  # a document was there but unusable (not merely absent or unreachable)
    # The issuer's host could not be reached at all: the transport kind (oauth.errors: "connect",
    # "dns", "tls", ...) and what it means in words; None when something answered.
    unreachable: str | None = None
    unreachable_words: str = ""

    @property
    def found(self) -> bool:
        return self.source != "none"

    def get(self, name: str) -> str | None:
        return next((value for key, value in self.metadata if key == name), None)

    def describe(self) -> str:
        """One line for the log reader and `doctor`."""
        if not self.found:
            return f"no usable discovery document ({self.problem}): the default /oauth/* endpoints are used"
        names = [name.removesuffix("_endpoint") for name in ENDPOINT_NAMES if self.get(name)]
        return f"{', '.join(names) or 'no'} endpoints from {sanitize_url(self.url or '')} (issuer {self.get('issuer')})"


def discovery_urls(issuer_base: str) -> list[tuple[str, str]]:
    """(source, URL) in the order tried: OIDC appends its path, RFC 8414 §3.1 inserts its own."""
    parts = urlsplit(issuer_base)
    path = parts.path.rstrip("/")
    return [
        ("openid-configuration", f"{issuer_base.rstrip('/')}{OIDC_PATH}"),
        ("oauth-authorization-server", f"{parts.scheme}://{parts.netloc}{RFC8414_PATH}{path}"),
    ]


def _loopback(host: str | None) -> bool:
    return (host or "").lower().strip("[]") in {h.strip("[]") for h in LOOPBACK_HOSTS}


def same_issuer(expected: str, named: str) -> bool:
    """Whether `named` (the document's `issuer`) identifies the issuer at `expected` (see above)."""
    try:
        a, b = urlsplit(expected), urlsplit(named)
        a_port, b_port = a.port, b.port
    except ValueError:
        return False
    if a.scheme.lower() != b.scheme.lower() or a_port != b_port or b.query or b.fragment or "@" in b.netloc:
        return False
    if a.path.rstrip("/") != b.path.rstrip("/"):
        return False
    a_host, b_host = (a.hostname or "").lower(), (b.hostname or "").lower()
    return a_host == b_host or (_loopback(a_host) and _loopback(b_host))


def _loopback_http(url: str) -> bool:
    try:
        parts = urlsplit(url)
    except ValueError:
        return False
    return parts.scheme.lower() == "http" and _loopback(parts.hostname)


def usable_endpoint(url: str, issuer_base: str = "") -> bool:
    """An absolute https URL without userinfo or fragment; plain http on a loopback host only when
    the issuer itself (`issuer_base`) is a loopback http one."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a bad port
    except ValueError:
        return False
    if not parts.hostname or parts.username is not None or parts.fragment or any(ch.isspace() for ch in url):
        return False
    return parts.scheme == "https" or (parts.scheme == "http" and _loopback(parts.hostname) and _loopback_http(issuer_base))


def parse_document(body: bytes, issuer_base: str) -> tuple[tuple[str, str], ...]:
    """The usable metadata of one document, or DiscoveryProblem."""
    if len(body) > MAX_DOCUMENT_BYTES:
        raise DiscoveryProblem(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise DiscoveryProblem("not JSON") from None
    if not isinstance(data, dict):
        raise DiscoveryProblem("not a JSON object")
    issuer = data.get("issuer")
    if not isinstance(issuer, str) or not issuer or len(issuer) > MAX_VALUE_CHARS:
        raise DiscoveryProblem("no issuer in the document")
    if not same_issuer(issuer_base, issuer):
        raise DiscoveryProblem(f"the document names the issuer {sanitize_url(issuer[:200])}, not this one (RFC 8414 §3.3)")
    metadata: list[tuple[str, str]] = [("issuer", issuer)]
    for name in ENDPOINT_NAMES:
        value = data.get(name)
        if isinstance(value, str) and len(value) <= MAX_VALUE_CHARS and usable_endpoint(value, issuer_base):
            metadata.append((name, value))
    for name in LIST_NAMES:
        values = data.get(name)
        if isinstance(values, list) and all(isinstance(v, str) and len(v) <= 100 for v in values[:50]):
            metadata.append((name, " ".join(str(v) for v in values[:50])))
    for name in BOOLEAN_NAMES:
        flag = data.get(name)
        if isinstance(flag, bool):
            metadata.append((name, "true" if flag else "false"))
    return tuple(metadata)


async def _fetch(http: httpx.AsyncClient, url: str) -> bytes:
    """The body of a 200 reply, at most MAX_DOCUMENT_BYTES + 1 bytes kept."""
    import httpx

    from codexlogin.oauth.client import read_bounded

    try:
        async with http.stream("GET", url) as response:
            if response.status_code != 200:
                raise DiscoveryProblem(f"HTTP {response.status_code}")
            body = await read_bounded(response, MAX_DOCUMENT_BYTES + 1)
            if not body and response.headers.get("content-length", "0") != "0":
                raise DiscoveryProblem(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
            return body
    except httpx.HTTPError as exc:
        from codexlogin.oauth.errors import classify_transport_error, transport_words

        kind = classify_transport_error(exc)
        words = transport_words(kind, url, str(exc) or type(exc).__name__)
        # Only a connection that never came about (DNS, refused, TLS, proxy) says the host is not
        # there; a reset or a half answer may be one bad request to a live host.
        never_connected = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError)
        raise DiscoveryProblem(f"unreachable ({type(exc).__name__})", kind if never_connected else None, words) from None


async def fetch_discovery(
    settings: Settings,
    issuer: Issuer,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | bool | None = None,
    budget: float = DISCOVERY_BUDGET,
) -> Discovery:
    """Try both documents within `budget` seconds; never raises for what the issuer does."""
    import trio

    from codexlogin.oauth.client import issuer_session

    problems: list[str] = []
    url = None
    rejected = False
    unreachable: DiscoveryProblem | None = None
    with trio.move_on_after(budget) as scope:
        async with issuer_session(settings, issuer, verify=verify, transport=transport) as client:
            for source, url in discovery_urls(issuer.base):
                try:
                    body = await _fetch(client.http, url)
                except DiscoveryProblem as problem:
                    problems.append(f"{source}: {problem}")
                    if str(problem).startswith("unreachable"):
                        if len(problems) == 1 and problem.kind:  # nothing answered before: the host is not there
                            unreachable = problem
                        break  # the same host: the other document is not there either
                    continue
                try:
                    metadata = parse_document(body, issuer.base)
                except DiscoveryProblem as problem:
                    rejected = True
                    problems.append(f"{source}: {problem}")
                    continue
                return Discovery(source, metadata, url=url)
    if scope.cancelled_caught:
        problems.append(f"no answer within {budget:g}s")
    return Discovery(
        "none",
        problem="; ".join(problems) or "not tried",
        url=url,
        rejected=rejected,
        unreachable=unreachable.kind if unreachable is not None else None,
        unreachable_words=unreachable.words if unreachable is not None else "",
    )
