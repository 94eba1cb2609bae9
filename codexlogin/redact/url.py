"""URLs for the log: no userinfo, no fragment, no secret query values.

- `sanitize_url(url)`: drop userinfo and fragment, replace the values of secret query keys
  (`keys.SECRET_QUERY_KEYS`) with `<redacted>`; anything unparsable becomes `<invalid-url>`.
- `sanitize_proxy(value)`: a proxy variable's value read as httpx reads it (no scheme → http://),
  without credentials.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit, urlunsplit

from codexlogin.redact.keys import INVALID_URL, REDACTED, SECRET_QUERY_KEYS

_QUERY_SPLIT = re.compile(r"([&;])")


def _sanitize_query(query: str) -> str:
    if not query:
        return query
    pieces = _QUERY_SPLIT.split(query)
    for i in range(0, len(pieces), 2):  # even indexes are parameters, odd ones separators
        piece = pieces[i]
        raw_key, eq, _value = piece.partition("=")
        if not eq:
            continue
        key = unquote_plus(raw_key).strip().lower()
        if key in SECRET_QUERY_KEYS or key.replace("-", "_") in SECRET_QUERY_KEYS:
            pieces[i] = f"{raw_key}={REDACTED}"
    return "".join(pieces)


def sanitize_url(url: str) -> str:
    """Drop userinfo and fragment and redact secret query values; `<invalid-url>` if unparsable.

    Key order and non-secret parameters are kept verbatim (no re-encoding).
    """
    try:
        if url is None:
            return INVALID_URL
        if isinstance(url, bytes):
            url = url.decode("utf-8", "replace")
        if not isinstance(url, str):
            url = str(url)  # httpx.URL, yarl.URL, ...
        parts = urlsplit(url.strip())
        netloc = parts.netloc
        if "@" in netloc:
            netloc = netloc.rpartition("@")[2]
        parts.port  # noqa: B018 - raises ValueError on a malformed port
        if netloc.startswith("[") and "]" not in netloc:
            return INVALID_URL
        return urlunsplit((parts.scheme, netloc, parts.path, _sanitize_query(parts.query), ""))
    except Exception:
        return INVALID_URL


def sanitize_proxy(value: str) -> str:
    """A proxy variable's value as httpx 0.28 reads it (`http://` prepended unless it holds `://`),
    without userinfo, fragment or secret query values; `<invalid-url>` if unparsable.

    Userinfo is everything up to the last `@` (as httpx takes it), so a password with an unencoded
    `/ # ? @` (which httpx cannot parse) is dropped whole as well.
    """
    try:
        text = str(value).strip()
        url = text if "://" in text else "http://" + text
        scheme, _, rest = url.partition("://")
        if "@" in rest:
            rest = rest.rpartition("@")[2]
        return sanitize_url(f"{scheme}://{rest}")
    except Exception:
        return INVALID_URL
