"""Free text for the log: defence in depth on exception messages, reprs and library log lines.

`scrub_text(text)` redacts, by pattern, what may be secret in text nobody structured: URLs' secrets
(through `url.sanitize_url`), JWTs, `sk-` API keys, Bearer / Basic credentials, proxy credentials,
secret header lines and secret `key=value` / `"key": "value"` pairs (`keys.TEXT_KEYS`).
(`secrets.scrub_log_text` puts the run's known secrets by value before these patterns.)

Every regex here is linear-time: no nested quantifiers over overlapping character classes, every
repeated group starts with a distinct delimiter.
"""

from __future__ import annotations

import re

from codexlogin.redact.keys import REDACTED, TEXT_KEYS
from codexlogin.redact.url import sanitize_proxy, sanitize_url


def _alternation(keys: frozenset[str]) -> str:
    # Longest first; '_' in a key matches '_' or '-' in the text (Set-Cookie, x-api-key).
    return "|".join(re.escape(k).replace("_", "[-_]") for k in sorted(keys, key=len, reverse=True))


_KEYS_RE = _alternation(TEXT_KEYS)
_HEADER_KEYS_RE = _alternation(frozenset({"authorization", "proxy_authorization", "cookie", "set_cookie"}))

# A quoted value: optional bytes prefix, optional backslash-escaping (JSON inside JSON), the body
# up to the matching quote (backslash escapes allowed), closing quote optional (truncated text).
_QVALUE = (
    r"""b?"(?:[^"\\\n]|\\.)*"?"""
    r"""|b?'(?:[^'\\\n]|\\.)*'?"""
    r"""|\\+"[^"\\\n]*(?:\\+")?"""
    r"""|\\+'[^'\\\n]*(?:\\+')?"""
)
_BARE_VALUE = r"""[^\s,;&"'<>{}\[\]()]+"""

_URL_ALT = r"(?P<url>\b(?i:https?|socks[45][ah]?)://(?:[^\s\"'<>\\`]|<redacted>)+)"
_INNER_ALTS = (
    # HTTP_PROXY=user:pw@host:port (no scheme: httpx and curl accept it), quoted or not
    r"""(?P<pkey>(?<![\w-])(?i:(?:https?|all|ftp|socks)[-_]proxy)["']?[ \t]*[:=][ \t]*)(?P<pval>\S+)"""
    # JWT-looking strings (header segment starts with eyJ = base64url('{"'))
    r"|(?P<jwt>eyJ[A-Za-z0-9_-]{6,}(?:\.[A-Za-z0-9_-]*)*)"
    # sk-... API keys
    r"|(?P<sk>(?<![A-Za-z0-9])sk-[A-Za-z0-9_-]{8,})"
    # Bearer / Basic credentials; not a URL ("bearer https://user:pw@…"), a secret key=value
    # ("bearer code=…") or another scheme word ("bearer Bearer …"): those are scrubbed by their
    # own alternatives (or this one) further on
    r"|(?P<scheme>\b(?:[Bb]earer|BEARER|[Bb]asic|BASIC)[ \t]+)"
    rf"(?P<cred>(?![A-Za-z][A-Za-z0-9+.-]*://)(?!(?i:{_KEYS_RE})[ \t]*[:=])(?!(?i:bearer|basic)[ \t])[A-Za-z0-9._~+/-]+=*)"
    # "key": "value", 'key': 'value', "'key'": "'value'" (reprs), \"key\": \"value\"
    rf"|(?P<qkey>(?:\\*[\"']){{1,2}}(?i:{_KEYS_RE})(?:\\*[\"']){{1,2}}\s*[:=]\s*)"
    rf"(?P<qval>{_QVALUE}|{_BARE_VALUE})"
    # Header lines: Authorization: Basic ..., Cookie: a=b; c=d  → to end of line
    rf"|(?P<hkey>(?<![\w-])(?i:{_HEADER_KEYS_RE})[ \t]*:[ \t]*)(?P<hval>[^\s\"'][^\r\n\"']*)"
    # key=value, key: value, key='value'
    rf"|(?P<ukey>(?<![\w-])(?i:{_KEYS_RE})[ \t]*[:=][ \t]*)(?P<uval>{_QVALUE}|{_BARE_VALUE})"
)
# http(s) URLs first (sanitize_url), then the token / credential / key-value alternatives.
_TEXT_RE = re.compile(_URL_ALT + "|" + _INNER_ALTS)
# Without the URL alternative: run over a sanitised URL to catch tokens left in its path.
_INNER_RE = re.compile(_INNER_ALTS)

_OPEN_QUOTE = re.compile(r"""b?\\*["']""")
_CLOSE_QUOTE = re.compile(r"""\\*["']\Z""")

# Cheap pre-filter: text without any of these can hold nothing _TEXT_RE would touch.
_TRIGGER = re.compile(r"""://|eyJ|sk-|[=:]|(?i:bearer|basic)""")
_PROXY_VALUE_EDGES = re.compile(r"""\A(["'\\]*)(.*?)([,;)"'\\]*)\Z""", re.S)


def _proxy_value(value: str) -> str:
    lead, core, trail = _PROXY_VALUE_EDGES.match(value).groups()  # type: ignore[union-attr]  # always matches
    return lead + sanitize_proxy(core) + trail


def _requote(value: str) -> str:
    """Replace the body of a (possibly quoted) value by REDACTED, keeping its quotes."""
    opening = _OPEN_QUOTE.match(value)
    if not opening:
        return REDACTED
    start = opening.end()
    closing = _CLOSE_QUOTE.search(value, start)
    return value[:start] + REDACTED + (closing.group() if closing else "")


_TRAILING_PUNCTUATION = ".,;:!?"


def _url_and_trailer(url: str) -> tuple[str, str]:
    """A URL found in prose, and the punctuation after it that is the prose's: trailing `.,;:!?`
    and a `)` or `]` without its opening one in the URL ("(see https://issuer.example).")."""
    end = len(url)
    while end:
        last = url[end - 1]
        if last in _TRAILING_PUNCTUATION:
            end -= 1
        elif last == ")" and url.count("(", 0, end) < url.count(")", 0, end):
            end -= 1
        elif last == "]" and url.count("[", 0, end) < url.count("]", 0, end):
            end -= 1
        else:
            break
    return url[:end], url[end:]


def _replace(match: re.Match[str]) -> str:
    group = match.lastgroup
    if group == "url":
        url, trailer = _url_and_trailer(match.group("url"))
        return _INNER_RE.sub(_replace, sanitize_url(url)) + trailer
    if group == "pval":
        return match.group("pkey") + _proxy_value(match.group("pval"))
    if group in ("jwt", "sk"):
        return REDACTED
    if group == "cred":
        return match.group("scheme") + REDACTED
    if group == "qval":
        return match.group("qkey") + _requote(match.group("qval"))
    if group == "hval":
        return match.group("hkey") + REDACTED
    if group == "uval":
        return match.group("ukey") + _requote(match.group("uval"))
    return match.group()  # pragma: no cover - every alternative is named


def scrub_text(text: str) -> str:
    """Redact URLs' secrets, JWTs, API keys, credentials and secret key/value pairs in free text.

    Over-redaction is accepted (e.g. prose like "state: ok" loses "ok"); leaks are not.
    """
    try:
        if not isinstance(text, str):
            text = str(text)
        if not _TRIGGER.search(text):
            return text
        return _TEXT_RE.sub(_replace, text)
    except Exception:
        return REDACTED
