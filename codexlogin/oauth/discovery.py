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
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from codexlogin.config import LOOPBACK_HOSTS, Settings
from codexlogin.errors import NetworkError
from codexlogin.oauth.issuer import Issuer
from codexlogin.redact import sanitize_url

if TYPE_CHECKING:
    import ssl
    from dataclasses import dataclass as record  # what a type checker sees; codexlogin.record at run time

    import httpx
else:
    from codexlogin.record import record  # dataclass(frozen=True) without its start-up cost

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


@record(frozen=True)
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


def document_body(status: int, body: bytes, content_length: str | None) -> bytes:
    """The document of one reply, or DiscoveryProblem: only a 200 counts, and `body` (at most
    MAX_DOCUMENT_BYTES + 1 bytes kept; none when the declared length is over that) must not have
    been left unread for its size."""
    if status != 200:
        raise DiscoveryProblem(f"HTTP {status}")
    if not body and (content_length or "0") != "0":
        raise DiscoveryProblem(f"document larger than {MAX_DOCUMENT_BYTES} bytes")
    return body


def transport_problem(failure: str, kind: str, words: str, *, never_connected: bool) -> DiscoveryProblem:
    """A request that got no reply: `failure` names it as httpx does (ConnectError, ReadTimeout…).
    Only a connection that never came about (DNS, refused, TLS, proxy) says the host is not there;
    a reset or a half answer may be one bad request to a live host."""
    return DiscoveryProblem(f"unreachable ({failure})", kind if never_connected else None, words)


class DiscoveryLookup:
    """One look-up's decisions, without I/O (the drivers: `fetch_discovery` over httpx inside a
    trio run, oauth.discovery_blocking before trio for the browser login's URL): which document
    to ask for next, what each reply or failure means, and the Discovery at the end.

        lookup = DiscoveryLookup(issuer.base)
        while (url := lookup.next_url()) is not None:
            ...  lookup.answered(status, body, content_length) or lookup.failed(problem)
        found = lookup.result(timed_out=False)
    """

    def __init__(self, issuer_base: str):
        self.issuer_base = issuer_base
        self._pending = iter(discovery_urls(issuer_base))
        self.source = "none"
        self.url: str | None = None
        self.problems: list[str] = []
        self.rejected = False
        self.unreachable: DiscoveryProblem | None = None
        self.found: Discovery | None = None
        self._stopped = False

    def next_url(self) -> str | None:
        """The next document to fetch; None when the look-up is decided."""
        if self.found is not None or self._stopped:
            return None
        step = next(self._pending, None)
        if step is None:
            return None
        self.source, self.url = step
        return self.url

    def answered(self, status: int, body: bytes, content_length: str | None) -> None:
        """The reply to `next_url`'s request (`body`: at most MAX_DOCUMENT_BYTES + 1 bytes)."""
        try:
            document = document_body(status, body, content_length)
        except DiscoveryProblem as problem:
            self.failed(problem)
            return
        try:
            metadata = parse_document(document, self.issuer_base)
        except DiscoveryProblem as problem:
            self.rejected = True
            self.problems.append(f"{self.source}: {problem}")
            return
        self.found = Discovery(self.source, metadata, url=self.url)

    def failed(self, problem: DiscoveryProblem) -> None:
        """`next_url`'s request got no usable reply."""
        self.problems.append(f"{self.source}: {problem}")
        if str(problem).startswith("unreachable"):
            if len(self.problems) == 1 and problem.kind:  # nothing answered before: the host is not there
                self.unreachable = problem
            self._stopped = True  # the same host: the other document is not there either

    def result(self, *, timed_out: bool, budget: float = DISCOVERY_BUDGET) -> Discovery:
        """What the look-up found; `timed_out`: the budget ran out before it was decided."""
        if self.found is not None:
            return self.found
        problems = [*self.problems, f"no answer within {budget:g}s"] if timed_out else self.problems
        unreachable = self.unreachable
        return Discovery(
            "none",
            problem="; ".join(problems) or "not tried",
            url=self.url,
            rejected=self.rejected,
            unreachable=unreachable.kind if unreachable is not None else None,
            unreachable_words=unreachable.words if unreachable is not None else "",
        )


def discovered(issuer: Issuer, found: Discovery) -> Issuer:
    """`issuer` with what the look-up found (the default /oauth/* paths when nothing usable)."""
    return issuer.with_discovery(found.metadata if found.found else ())


def unreachable_issuer(issuer: Issuer, kind: str, words: str) -> NetworkError:
    """The one-line failure (exit 10) of a login whose issuer is not there: the same words whether
    discovery (standard dialect) or the reachability probe (flows.reach) found it out."""
    advice = "check the issuer URL, the network and proxy settings (`codex login doctor`)"
    if "; check " in words:  # the words name what to check already (DNS, a proxy variable)
        advice = "`codex login doctor` says more"
    return NetworkError(
        f"the issuer {sanitize_url(issuer.base)} cannot be reached ({kind}): {words}; {advice}", fields={"kind": kind}
    )


def login_verdict(issuer: Issuer, found: Discovery) -> tuple[NetworkError | None, str | None]:
    """What a login about to show its sign-in URL makes of the look-up: (the failure that ends it
    at once, exit 10: the issuer's host cannot be reached, instead of after the whole --timeout;
    the warning said before the URL: a discovery that failed otherwise, since a wrong issuer URL or
    path is the likeliest cause of a sign-in page that then fails)."""
    shown = sanitize_url(issuer.base)
    if found.unreachable:
        return unreachable_issuer(issuer, found.unreachable, found.unreachable_words), None
    if not found.found:
        return None, (
            f"the issuer {shown} has no usable discovery document ({found.problem}); trying the default /oauth/*"
            " endpoints. If the sign-in page then fails, check the issuer URL (`codex login doctor`)."
        )
    return None, None


async def _fetch(lookup: DiscoveryLookup, http: httpx.AsyncClient, url: str) -> None:
    """One document over httpx, told to `lookup`."""
    import httpx

    from codexlogin.oauth.client import read_bounded

    try:
        async with http.stream("GET", url) as response:
            body = await read_bounded(response, MAX_DOCUMENT_BYTES + 1) if response.status_code == 200 else b""
            lookup.answered(response.status_code, body, response.headers.get("content-length"))
    except httpx.HTTPError as exc:
        from codexlogin.oauth.errors import classify_transport_error, transport_words

        kind = classify_transport_error(exc)
        words = transport_words(kind, url, str(exc) or type(exc).__name__)
        never_connected = isinstance(exc, httpx.ConnectError | httpx.ConnectTimeout | httpx.ProxyError)
        lookup.failed(transport_problem(type(exc).__name__, kind, words, never_connected=never_connected))
    except UnicodeError as exc:  # a host label IDNA refuses (empty, over 63 characters): the name cannot resolve
        from codexlogin.oauth.errors import transport_words

        words = transport_words("dns", url, str(exc) or type(exc).__name__)
        lookup.failed(transport_problem("ConnectError", "dns", words, never_connected=True))


async def fetch_discovery(
    settings: Settings,
    issuer: Issuer,
    *,
    transport: httpx.AsyncBaseTransport | None = None,
    verify: ssl.SSLContext | bool | None = None,
    budget: float = DISCOVERY_BUDGET,
) -> Discovery:
    """Try both documents within `budget` seconds over httpx (inside a trio run); never raises for
    what the issuer does."""
    import trio

    from codexlogin.oauth.client import issuer_session

    lookup = DiscoveryLookup(issuer.base)
    with trio.move_on_after(budget) as scope:
        async with issuer_session(settings, issuer, verify=verify, transport=transport) as client:
            while (url := lookup.next_url()) is not None:
                await _fetch(lookup, client.http, url)
    return lookup.result(timed_out=scope.cancelled_caught, budget=budget)
