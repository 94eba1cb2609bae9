"""What can go wrong talking to an issuer, as data: not a CLI outcome.

`IssuerRejected` is an HTTP error reply (RFC 6749 §5.2 parsed when it is JSON; `error` may also be
`{code, message}`), `IssuerUnreachable` a transport failure. Both keep the issuer's reply for the
terminal in `.detail` and only scrubbed facts in `.summary`, `str()` and `log_fields()`. Each flow
decides what an IssuerError means for it (flows.complete, flows.device, flows.refresh, flows.logout).

What the issuer sent is bounded and never cut before it is redacted: `.detail` shows the run's own
secrets (code, verifier, state, tokens, in any encoding) as `[REDACTED]` (`redact.mask_clip`), the
summary and the log fields are scrubbed by value and by pattern (`redact.scrub_clip`), and every
cut says how much it dropped.

Errors name their cause in words: an HTML error page (a gateway's or a CDN's) is shown as its
status, `<title>` and first line of text rather than as one line of markup, while the whole reply,
masked the same way, is kept in this process only for `--verbose` (`raw_replies`; never logged); a
DNS failure names the host it could not resolve; a proxy that refuses the CONNECT is a proxy error
naming the proxy variable and the proxy's host (never its user name or password).
"""

from __future__ import annotations

import json
import os
import re
import socket
import ssl
from collections.abc import Mapping
from http import HTTPStatus
from urllib.parse import urlsplit

from codexlogin.redact import mask_clip, sanitize_proxy, scrub_clip, scrub_text

MAX_DETAIL_CHARS = 4000  # the issuer's words (body or error_description) shown on the terminal
MAX_LOGGED_MESSAGE_CHARS = 300  # an issuer's error_description in the log: enough to diagnose
MAX_SUMMARY_MESSAGE_CHARS = 1000  # the same in the summary (str(), the log's `reason`, --json)
MAX_ERROR_CODE_CHARS = 128
MAX_REQUEST_ID_CHARS = 128
MAX_TRANSPORT_MESSAGE_CHARS = 1000
MAX_PAGE_LINE_CHARS = 200  # an HTML page's title and first line of text, each
MAX_RAW_REPLY_CHARS = 20_000  # one raw reply shown by --verbose
MAX_RAW_REPLIES = 3  # the newest replies kept for --verbose
HTML_SNIFF_CHARS = 2048
HTML_PARSE_CHARS = 65_536


def status_words(status: int) -> str:
    """`502 Bad Gateway`: the status with its reason phrase (just the number when unknown)."""
    try:
        return f"{status} {HTTPStatus(status).phrase}"
    except ValueError:
        return str(status)


_HTML_START = re.compile(
    r"\s*(?:<\?xml[^>]*>\s*)?(?:<!--.*?-->\s*)*<(?:!doctype\s+html|html|head|body|title|h1|div|p)\b", re.I | re.S
)


def looks_like_html(body: str) -> bool:
    return bool(_HTML_START.match(body[:HTML_SNIFF_CHARS]))


def page_summary(body: str) -> tuple[str | None, str | None]:
    """(title, first line of text other than the title) of an HTML page, whitespace collapsed."""
    from codexlogin.oauth.pagetext import PageText

    parser = PageText()
    try:
        parser.feed(body[:HTML_PARSE_CHARS])
        parser.close()
    except Exception:  # noqa: BLE001 - html.parser is lenient; a page it cannot read has no summary
        pass
    title = " ".join("".join(parser.title).split()) or None
    first = None
    for line in "".join(parser.text).splitlines():
        words = " ".join(line.split())
        if words and words.casefold() != (title or "").casefold():
            first = words
            break
    return title, first


# The issuer's error replies as they came, masked as `.detail` is, for `--verbose` (terminal only).
_raw_replies: list[tuple[str, str, bool]] = []


def raw_replies() -> list[tuple[str, str, bool]]:
    """(what answered, the raw reply masked, whether the error line showed only a summary of it),
    oldest first: the last MAX_RAW_REPLIES issuer error replies of this process."""
    return list(_raw_replies)


def forget_raw_replies() -> None:
    _raw_replies.clear()


#: Replies that are the protocol going as planned (RFC 8628 §3.5 "not yet"), not kept for --verbose.
NOT_AN_ERROR = frozenset({"authorization_pending", "slow_down"})


def _keep_raw_reply(what: str, body: str, summarised: bool) -> tuple[str, str, bool]:
    entry = (what, mask_clip(body, MAX_RAW_REPLY_CHARS), summarised)
    _raw_replies.append(entry)
    del _raw_replies[:-MAX_RAW_REPLIES]
    return entry


class IssuerError(Exception):
    """A request to the issuer failed. `kind`: "rejected" (a 4xx), "unavailable" (a 5xx or 429),
    "bad_reply" (a 2xx that is not what we need) or a transport kind (see classify)."""

    kind: str = "rejected"
    status: int | None = None
    error_code: str | None = None
    error_message: str | None = None

    def __init__(self, summary: str, *, detail: str):
        super().__init__(summary)
        self.summary = summary
        self.detail = detail

    def log_fields(self) -> dict[str, object]:
        fields: dict[str, object] = {"kind": self.kind}
        if self.status is not None:
            fields["status"] = self.status
        if self.error_code:
            fields["error_code"] = scrub_clip(self.error_code, MAX_ERROR_CODE_CHARS)
        if self.error_message:
            fields["error_message"] = scrub_clip(self.error_message, MAX_LOGGED_MESSAGE_CHARS)  # redacted, then cut
        return fields


class IssuerRejected(IssuerError):
    """The issuer answered with a non-2xx status (or a 2xx that is not the JSON we need)."""

    status: int  # always the reply's HTTP status here (None only for transport failures)

    def __init__(
        self,
        endpoint: str,
        status: int,
        error_code: str | None,
        error_message: str | None,
        body_text: str,
        *,
        request_id: str | None = None,
    ):
        # The raw values, for the flows' decisions (e.g. refresh: invalid_grant + "expired"); never shown.
        self.status, self.error_code, self.error_message, self.body_text = status, error_code, error_message, body_text
        # The label the log and `status --json` use, in the same words as the outcome it leads to:
        # a 5xx or 429 is an issuer that is unavailable (a network_error, exit 10), not a refusal.
        self.kind = "unavailable" if status >= 500 or status == 429 else "bad_reply" if status < 300 else "rejected"
        # What the issuer's support asks for (x-request-id, x-openai-request-id or cf-ray).
        self.request_id = mask_clip(request_id, MAX_REQUEST_ID_CHARS) if request_id else None
        self._raw_request_id = request_id  # logged redacted, then cut
        what = f"{endpoint} returned HTTP {status}"
        if error_code:
            summary = f"{what}: {scrub_clip(error_code, MAX_ERROR_CODE_CHARS)}"
            detail = f"{what}: {mask_clip(error_code, MAX_ERROR_CODE_CHARS)}"
            if error_message:
                summary += f": {scrub_clip(error_message, MAX_SUMMARY_MESSAGE_CHARS)}"
                detail += f": {mask_clip(error_message, MAX_DETAIL_CHARS)}"
        elif looks_like_html(body_text):
            what = f"{endpoint} returned HTTP {status_words(status)}"
            summary = f"{what} with an HTML page (not an OAuth error)"
            title, first = page_summary(body_text)
            words = [
                f'"{mask_clip(title, MAX_PAGE_LINE_CHARS)}"' if title else "",
                mask_clip(first, MAX_PAGE_LINE_CHARS) if first else "",
            ]
            detail = f"{what}: {' — '.join(word for word in words if word) or 'an HTML page without text'}"
        else:
            what = f"{endpoint} returned HTTP {status_words(status)}"
            summary = f"{what} with a non-OAuth body"
            detail = f"{what}: {mask_clip(body_text.strip(), MAX_DETAIL_CHARS) or '(empty body)'}"
        self._raw_entry: tuple[str, str, bool] | None = None
        if body_text.strip() and error_code not in NOT_AN_ERROR:
            self._raw_entry = _keep_raw_reply(endpoint, body_text, summarised=not error_code and looks_like_html(body_text))
        if self.request_id:
            detail += f" (request id: {self.request_id})"
        super().__init__(scrub_text(summary), detail=detail)

    def expected(self) -> None:
        """This reply is the protocol going as planned (e.g. the openai device poll's 403 "not yet"):
        not an error reply that --verbose should show."""
        if self._raw_entry in _raw_replies:
            _raw_replies.remove(self._raw_entry)

    def log_fields(self) -> dict[str, object]:
        fields = super().log_fields()
        if self._raw_request_id:
            fields["request_id"] = scrub_clip(self._raw_request_id, MAX_REQUEST_ID_CHARS)
        return fields


class IssuerUnreachable(IssuerError):
    """No usable HTTP reply: timeout, refused connection, DNS, proxy or TLS failure."""

    def __init__(self, endpoint: str, kind: str, message: str):
        self.kind = kind
        text = f"could not reach {endpoint} ({kind}): {scrub_clip(message, MAX_TRANSPORT_MESSAGE_CHARS)}"
        super().__init__(text, detail=text)


def proxy_for(url: str, environ: Mapping[str, str] | None = None) -> tuple[str, str] | None:
    """(variable, proxy shown without userinfo) that httpx uses for `url`, or None."""
    from codexlogin.oauth.proxy import proxy_variable_names

    env = os.environ if environ is None else environ
    names = proxy_variable_names(env)
    scheme = urlsplit(url).scheme or "https"
    name = names.get(scheme) or names.get("all")
    return (name, sanitize_proxy(env[name])) if name and env.get(name) else None


def transport_words(kind: str, url: str, message: str, environ: Mapping[str, str] | None = None) -> str:
    """What a transport failure means, in words: the host for DNS, the proxy variable for a proxy."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or "the issuer's host"
        where = f"{host}:{parts.port or (443 if parts.scheme == 'https' else 80)}"
    except ValueError:
        host = where = "the issuer's host"
    proxy = proxy_for(url, environ) if kind in ("dns", "proxy", "connect") else None
    if proxy is not None and _bypassed(host, environ):
        proxy = None
    # Never a URL right before ")": the log's URL pattern would take the parenthesis for part of it.
    named = f"the proxy from {proxy[0]} at {proxy[1]}" if proxy else "the proxy"
    if kind == "dns" and proxy is not None:  # through a proxy only the proxy's host is looked up here
        proxy_host = urlsplit(proxy[1]).hostname or proxy[1]
        return f"cannot resolve {proxy_host}, the host of {named}: {message}; check {proxy[0]}"
    if kind == "dns":
        return f"cannot resolve {host} ({message}); check the issuer URL, DNS and the network"
    if kind == "proxy":
        return f"{named} refused to connect to {where}: {message}; check the proxy's user name and password (percent-encoded) or NO_PROXY"
    if kind == "connect" and proxy is not None:
        return f"{message}; through {named}"
    if kind == "tls" and any(words in message.lower() for words in _UNKNOWN_ROOT_WORDS):
        return f"{message}; {UNKNOWN_ROOT_ADVICE}"
    return message


# OpenSSL's words for a chain whose root is in no store we trust (not an expired or misnamed one)
_UNKNOWN_ROOT_WORDS = ("unable to get local issuer certificate", "self-signed certificate", "self signed certificate")
UNKNOWN_ROOT_ADVICE = (
    "the certificate chain ends at a root that is not a public one this computer trusts, as from a TLS-inspecting proxy:"
    " add that root to the system's trust store, or set CODEX_CA_CERTIFICATE to it (PEM)"
)


def _bypassed(host: str, environ: Mapping[str, str] | None) -> bool:
    """Whether NO_PROXY / no_proxy names `host` (a `*`, the host, or a domain suffix of it)."""
    env = os.environ if environ is None else environ
    entries = (env.get("no_proxy") or env.get("NO_PROXY") or "").replace(" ", "").split(",")
    for entry in filter(None, entries):
        entry = entry.lower().lstrip(".")
        if entry == "*" or host.lower() == entry or host.lower().endswith("." + entry):
            return True
    return False


def transport_failure(endpoint: str, url: str, exc: BaseException) -> IssuerUnreachable:
    """The IssuerUnreachable for an httpx transport failure of a request to `url`."""
    kind = classify_transport_error(exc)
    return IssuerUnreachable(endpoint, kind, transport_words(kind, url, failure_message(exc)))


def failure_message(exc: BaseException) -> str:
    """httpx's message (else the exception's name), with OpenSSL's reason when a certificate failed
    to verify: httpx's ConnectError from a failed handshake says nothing of it."""
    text = str(exc) or type(exc).__name__
    cursor: BaseException | None = exc
    for _ in range(10):
        if cursor is None:
            break
        if isinstance(cursor, ssl.SSLCertVerificationError) and cursor.verify_message:
            reason = f"certificate verify failed: {cursor.verify_message}"
            return text if reason in text else f"{text}: {reason}"
        cursor = cursor.__cause__ or cursor.__context__
    return text


def parse_oauth_error(body: bytes) -> tuple[str | None, str | None]:
    """(error_code, error_message) from an RFC 6749 §5.2 body; `error` may also be {code, message}."""
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, None
    if not isinstance(data, dict):
        return None, None
    error = data.get("error")
    message = data.get("error_description")
    if isinstance(error, dict):
        code = error.get("code") or error.get("type")
        message = message or error.get("message")
    else:
        code = error
    code = str(code) if isinstance(code, str | int) and str(code) else None
    message = str(message) if isinstance(message, str | int) and str(message) else None
    return code, message


_DNS_WORDS = (
    "name or service not known",
    "nodename nor servname",
    "getaddrinfo",
    "temporary failure in name resolution",
    "no address associated with hostname",
    "name does not resolve",
)


def classify_transport_error(exc: BaseException) -> str:
    """ "timeout" | "proxy" | "tls" | "dns" | "connect" | "other" for an httpx transport failure."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    if isinstance(exc, httpx.ProxyError):
        return "proxy"
    chain: list[BaseException] = []
    cursor: BaseException | None = exc
    while cursor is not None and len(chain) < 10:
        chain.append(cursor)
        cursor = cursor.__cause__ or cursor.__context__
    if any(isinstance(item, ssl.SSLError) for item in chain) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return "tls"
    text = " ".join(str(item) for item in chain).lower()
    if any(isinstance(item, socket.gaierror) for item in chain) or any(words in text for words in _DNS_WORDS):
        return "dns"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    return "other"
