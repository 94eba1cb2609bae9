"""What can go wrong talking to an issuer, as data: not a CLI outcome.

`IssuerRejected` is an HTTP error reply (RFC 6749 §5.2 parsed when it is JSON; `error` may also be
`{code, message}`), `IssuerUnreachable` a transport failure. Both keep the issuer's reply for the
terminal in `.detail` and only scrubbed facts in `.summary`, `str()` and `log_fields()`. Each flow
decides what an IssuerError means for it (flows.complete, flows.device, flows.refresh, flows.logout).

What the issuer sent is bounded and never cut before it is redacted: `.detail` shows the run's own
secrets (code, verifier, state, tokens, in any encoding) as `[REDACTED]` (`redact.mask_clip`), the
summary and the log fields are scrubbed by value and by pattern (`redact.scrub_clip`), and every
cut says how much it dropped.
"""

from __future__ import annotations

import json
import ssl

from codexlogin.redact import mask_clip, scrub_clip, scrub_text

MAX_DETAIL_CHARS = 4000  # the issuer's words (body or error_description) shown on the terminal
MAX_LOGGED_MESSAGE_CHARS = 300  # an issuer's error_description in the log: enough to diagnose
MAX_SUMMARY_MESSAGE_CHARS = 1000  # the same in the summary (str(), the log's `reason`, --json)
MAX_ERROR_CODE_CHARS = 128
MAX_REQUEST_ID_CHARS = 128
MAX_TRANSPORT_MESSAGE_CHARS = 1000


class IssuerError(Exception):
    """A request to the issuer failed. `kind`: "rejected" or a transport kind (see classify)."""

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
        else:
            summary = f"{what} with a non-OAuth body"
            detail = f"{what}: {mask_clip(body_text.strip(), MAX_DETAIL_CHARS) or '(empty body)'}"
        if self.request_id:
            detail += f" (request id: {self.request_id})"
        super().__init__(scrub_text(summary), detail=detail)

    def log_fields(self) -> dict[str, object]:
        fields = super().log_fields()
        if self._raw_request_id:
            fields["request_id"] = scrub_clip(self._raw_request_id, MAX_REQUEST_ID_CHARS)
        return fields


class IssuerUnreachable(IssuerError):
    """No usable HTTP reply: timeout, refused connection, DNS or TLS failure."""

    def __init__(self, endpoint: str, kind: str, message: str):
        self.kind = kind
        text = f"could not reach {endpoint} ({kind}): {scrub_clip(message, MAX_TRANSPORT_MESSAGE_CHARS)}"
        super().__init__(text, detail=text)


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


def classify_transport_error(exc: BaseException) -> str:
    """"timeout" | "tls" | "dns" | "connect" | "other" for an httpx transport failure."""
    import httpx

    if isinstance(exc, httpx.TimeoutException):
        return "timeout"
    chain: list[BaseException] = []
    cursor: BaseException | None = exc
    while cursor is not None and len(chain) < 10:
        chain.append(cursor)
        cursor = cursor.__cause__ or cursor.__context__
    if any(isinstance(item, ssl.SSLError) for item in chain) or "CERTIFICATE_VERIFY_FAILED" in str(exc):
        return "tls"
    text = " ".join(str(item) for item in chain).lower()
    if "name or service not known" in text or "nodename nor servname" in text or "getaddrinfo" in text:
        return "dns"
    if isinstance(exc, httpx.ConnectError):
        return "connect"
    return "other"
