"""Pure scrubbing functions for everything that may reach codex-login.log.

Nothing here imports eliot (or anything heavy): these functions run on every log message in
`diagnostics.ScrubbingDestination` and again in the log renderer, so they must be fast, pure and
total. Every regex below is linear-time: no nested quantifiers over overlapping character classes,
every repeated group starts with a distinct delimiter.

- `sanitize_url(url)`: drop userinfo and fragment, replace the values of secret query keys with
  `<redacted>`; anything unparsable becomes `<invalid-url>`.
- `scrub_text(text)`: defence in depth on free text (exception messages, reprs, library log lines).
- `scrub_fields(obj)`: key-aware recursive scrub of a JSON-ish structure; never raises.
- `scrub_message(message)`: `scrub_fields` plus special handling of eliot's own failure messages
  that embed a repr of the whole original message; never raises.
- `sanitize_proxy(value)`: a proxy variable's value read as httpx reads it (no scheme → http://),
  without credentials.
- The run's known secrets (`run_secrets`, `register_secrets`): redacted by value in the log together
  with their encodings and any 16+ character run of them; `mask_secrets` shows them as `[REDACTED]`
  on the terminal and the callback page.
- `clip(text, limit)` / `scrub_clip(text, limit)`: bounded text with an explicit
  `…(N more characters)` marker; `scrub_clip` redacts first, then cuts.
"""

from __future__ import annotations

import ast
import contextlib
import contextvars
import math
import re
from collections.abc import Callable, Iterator, Mapping
from urllib.parse import unquote_plus, urlsplit, urlunsplit

__all__ = [
    "INVALID_URL",
    "MASK",
    "MAX_LOGGED_FIELD_CHARS",
    "MIN_PARTIAL_RUN",
    "REDACTED",
    "SECRET_KEYS",
    "SECRET_QUERY_KEYS",
    "RunSecrets",
    "clip",
    "encoded_forms",
    "mask_clip",
    "mask_secrets",
    "normalize_key",
    "register_secrets",
    "run_secrets",
    "sanitize_proxy",
    "sanitize_url",
    "scrub_clip",
    "scrub_fields",
    "scrub_message",
    "scrub_text",
]

REDACTED = "<redacted>"
INVALID_URL = "<invalid-url>"
#: What the terminal, the callback page and `--json` show in place of one of the run's own secrets
#: that an issuer echoed back (Codex CLI 0.171's marker); the log says REDACTED.
MASK = "[REDACTED]"
#: Every string field that reaches codex-login.log is cut here (after redaction), with a marker.
MAX_LOGGED_FIELD_CHARS = 10_000

#: Query parameters whose values never survive `sanitize_url` (compared case-insensitively,
#: after percent-decoding the key).
SECRET_QUERY_KEYS: frozenset[str] = frozenset(
    {
        "access_token",
        "api_key",
        "client_secret",
        "code",
        "code_verifier",
        "id_token",
        "key",
        "refresh_token",
        "requested_token",
        "state",
        "subject_token",
        "token",
        "device_code",
        "user_code",
        "password",
    }
)

#: Structured-field names (normalised: lowercase, '-' → '_') whose values are always redacted
#: unless they are a bool or None. Exact matches only: `token_endpoint`, `has_state`,
#: `error_code` are not secret.
SECRET_KEYS: frozenset[str] = frozenset(
    {
        "code",
        "state",
        "verifier",
        "code_verifier",
        "access_token",
        "refresh_token",
        "id_token",
        "token",
        "api_key",
        "openai_api_key",
        "x_api_key",
        "key",
        "client_secret",
        "secret",
        "password",
        "passwd",
        "cookie",
        "set_cookie",
        "authorization",
        "proxy_authorization",
        "subject_token",
        "device_code",
        "user_code",
        "body",
        "raw_body",
        "response_body",
        "tokens",
    }
)

# Keys recognised in free text (`key=value`, `"key": "value"`, `key: value`).
_TEXT_KEYS = SECRET_KEYS | SECRET_QUERY_KEYS


def normalize_key(key: object) -> str:
    """Lowercase and map '-' to '_' (so `Set-Cookie` and `set_cookie` are the same key)."""
    return str(key).strip().lower().replace("-", "_")


# --------------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------------

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


# --------------------------------------------------------------------------------------------
# Free text
# --------------------------------------------------------------------------------------------


def _alternation(keys: frozenset[str]) -> str:
    # Longest first; '_' in a key matches '_' or '-' in the text (Set-Cookie, x-api-key).
    return "|".join(re.escape(k).replace("_", "[-_]") for k in sorted(keys, key=len, reverse=True))


_KEYS_RE = _alternation(_TEXT_KEYS)
_HEADER_KEYS_RE = _alternation(
    frozenset({"authorization", "proxy_authorization", "cookie", "set_cookie"})
)

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


def _replace(match: re.Match[str]) -> str:
    group = match.lastgroup
    if group == "url":
        return _INNER_RE.sub(_replace, sanitize_url(match.group("url")))
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


# --------------------------------------------------------------------------------------------
# Structured fields and eliot messages
# --------------------------------------------------------------------------------------------

_MAX_DEPTH = 32
_INT64 = 2**63


# The exact values one run knows are secret (its state, verifier, the code it received, the
# tokens it holds). Patterns cannot recognise an opaque code an issuer echoes back in
# error_description; exact values can. The set belongs to the open log (`run_secrets()`), in a
# ContextVar that trio copies into every task and worker thread of the run.
#
# Each secret is known in every form an echo may take (`encoded_forms`: percent-encoded, base64 and
# base64url at each byte alignment, JSON-, HTML- and repr-escaped), and any run of MIN_PARTIAL_RUN
# or more characters copied from one of those forms is redacted too (a prefix, a suffix, the
# pieces of a split or a cut echo). No false positives on ordinary text: a run must be 16
# characters in a row of the secret itself, which prose, paths and identifiers do not contain
# for secrets that are random (codes, states, verifiers, tokens, keys); forms shorter than 16
# characters are matched whole only.
MIN_KNOWN_SECRET_LENGTH = 6  # shorter values would redact ordinary words
MIN_PARTIAL_RUN = 16
# Runs are found from blocks of _BLOCK characters at fixed positions of each form (offsets 0,
# _BLOCK, 2 * _BLOCK, ...): any run of 2 * _BLOCK - 1 or more characters of a form holds one whole
# such block, so one dict look-up per text position finds every candidate, which is then extended
# both ways with slice comparisons. Indexing every _BLOCK-th offset (not every offset) keeps
# registering three 1.2 kB tokens to ~1/8 of the work (it is on the callback's path); the text
# logged in one run is a few kB, so scanning every position of it costs less than that.
_BLOCK = 8
assert 2 * _BLOCK - 1 <= MIN_PARTIAL_RUN
_CACHED_STR_LENGTH = 256  # field names and short values repeat in every message of every run
_MAX_CACHE = 4096
_SCAN_MARGIN = 8192  # text scanned past a cut, so that what straddles it is still recognised
# A secret longer than this (an issuer may send anything as a token) gets no encoded forms: runs of
# its first and last _MAX_INDEXED characters are indexed, and any text from its start on (or up to
# its end) is found from its first (last) _HUGE_ANCHOR characters, however much of it is there.
_MAX_INDEXED = 8192
_HUGE_ANCHOR = 64


def encoded_forms(secret: str) -> set[str]:
    """`secret` as an issuer or a library may echo it: raw; percent-encoded (component, path,
    form, lower-case hex, twice); the base64 / base64url characters that depend only on its bytes,
    for each of the three byte alignments inside a larger blob; JSON-escaped (also `\\/` and JSON in
    JSON), HTML-escaped and repr-escaped. Forms shorter than MIN_KNOWN_SECRET_LENGTH are left out."""
    import base64
    import html
    import json
    from urllib.parse import quote, quote_plus

    forms = {secret}
    try:
        data = secret.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates: only the raw form can occur
        return forms
    once = quote(secret, safe="")
    for form in (once, quote(secret), quote_plus(secret, safe=""), quote(once, safe="")):
        forms.add(form)
        forms.add(_LOWER_HEX.sub(lambda m: m.group().lower(), form))
    for offset in range(3):
        encoded = base64.b64encode(b"\0" * offset + data).decode("ascii")
        core = encoded[-(-8 * offset // 6) : 8 * (offset + len(data)) // 6]
        forms.add(core)
        forms.add(core.translate(_URLSAFE))
    escaped = json.dumps(secret)[1:-1]
    forms.update((escaped, escaped.replace("/", "\\/"), json.dumps(secret, ensure_ascii=False)[1:-1]))
    forms.add(json.dumps(escaped)[1:-1])
    forms.update((html.escape(secret), html.escape(secret, quote=False), repr(secret)[1:-1]))
    return {form for form in forms if len(form) >= MIN_KNOWN_SECRET_LENGTH}


_LOWER_HEX = re.compile(r"%[0-9A-F]{2}")
_URLSAFE = str.maketrans("+/", "-_")


def _common_prefix(a: str, i: int, b: str, j: int) -> int:
    """The largest r with a[i:i+r] == b[j:j+r] (slice comparisons only: C speed)."""
    hi = min(len(a) - i, len(b) - j)
    if hi <= 0 or a[i : i + hi] == b[j : j + hi]:
        return max(hi, 0)
    lo = 0  # a[i:i+lo] == b[j:j+lo] holds, a[i:i+hi] != b[j:j+hi]
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[i : i + mid] == b[j : j + mid]:
            lo = mid
        else:
            hi = mid
    return lo


def _common_suffix(a: str, i: int, b: str, j: int) -> int:
    """The largest l with a[i-l:i] == b[j-l:j]."""
    hi = min(i, j)
    if hi <= 0 or a[i - hi : i] == b[j - hi : j]:
        return max(hi, 0)
    lo = 0
    while hi - lo > 1:
        mid = (lo + hi) // 2
        if a[i - mid : i] == b[j - mid : j]:
            lo = mid
        else:
            hi = mid
    return lo


class RunSecrets:
    """One run's known secrets in all their forms, and a cache of scrubbed short strings (an answer
    depends on the secrets known)."""

    def __init__(self) -> None:
        self.values: tuple[str, ...] = ()  # the registered secrets themselves, longest first
        self.short_forms: tuple[str, ...] = ()  # forms under MIN_PARTIAL_RUN: matched whole
        self.huge: tuple[str, ...] = ()  # secrets over _MAX_INDEXED characters
        self.blocks: dict[str, list[tuple[str, int]]] = {}  # _BLOCK-grams of the longer forms
        self.longest = 0  # the longest indexed form: how far past a cut the text must be scanned
        self.cache: dict[str, str] = {}
        self._forms: set[str] = set()

    def add(self, values: tuple[object, ...]) -> None:
        fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_KNOWN_SECRET_LENGTH} - set(self.values)
        if not fresh:
            return
        self.values = tuple(sorted(set(self.values) | fresh, key=len, reverse=True))
        short = set(self.short_forms)
        for secret in fresh:
            if len(secret) > _MAX_INDEXED:
                self.huge += (secret,)
                forms = {secret[:_MAX_INDEXED], secret[-_MAX_INDEXED:]}
            else:
                forms = encoded_forms(secret)
            for form in forms - self._forms:
                self._forms.add(form)
                if len(form) < MIN_PARTIAL_RUN:
                    short.add(form)
                    continue
                self.longest = max(self.longest, len(form))
                blocks = self.blocks
                for offset in range(0, len(form) - _BLOCK + 1, _BLOCK):
                    block = form[offset : offset + _BLOCK]
                    hits = blocks.get(block)
                    if hits is None:
                        blocks[block] = [(form, offset)]
                    else:
                        hits.append((form, offset))
        self.short_forms = tuple(sorted(short, key=len, reverse=True))
        self.cache.clear()  # an earlier answer may hold a value that is secret now

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where `text` holds a known form, or a run of MIN_PARTIAL_RUN+ characters of a longer one."""
        found: list[tuple[int, int]] = []
        for form in self.short_forms:
            start = text.find(form)
            while start != -1:
                found.append((start, start + len(form)))
                start = text.find(form, start + 1)
        for secret in self.huge:
            head, tail = secret[:_HUGE_ANCHOR], secret[-_HUGE_ANCHOR:]
            start = text.find(head)
            while start != -1:
                found.append((start, start + _common_prefix(text, start, secret, 0)))
                start = text.find(head, start + 1)
            end = text.find(tail)
            while end != -1:
                end += _HUGE_ANCHOR
                found.append((end - _common_suffix(text, end, secret, len(secret)), end))
                end = text.find(tail, end - _HUGE_ANCHOR + 1)
        blocks = self.blocks
        if not blocks or len(text) < MIN_PARTIAL_RUN:
            return found
        get = blocks.get
        # Where the run found for (form, alignment in the text) ends: the form's later blocks
        # inside that run are the same run, not extended again.
        run_ends: dict[tuple[str, int], int] = {}
        for position in range(len(text) - _BLOCK + 1):
            hits = get(text[position : position + _BLOCK])
            if hits is None:
                continue
            for form, offset in hits:
                key = (form, position - offset)
                if run_ends.get(key, -1) >= position + _BLOCK:
                    continue
                start = position - _common_suffix(text, position, form, offset)
                end = position + _BLOCK + _common_prefix(text, position + _BLOCK, form, offset + _BLOCK)
                if end - start >= MIN_PARTIAL_RUN:
                    found.append((start, end))
                    run_ends[key] = end
        return found

    def redact(self, text: str, replacement: str = REDACTED) -> str:
        """`text` with every known form (and long run of one) replaced by `replacement`."""
        if not self._forms and not self.huge:
            return text
        spans = self.spans(text)
        if not spans:
            return text
        spans.sort()
        pieces: list[str] = []
        done = 0
        current_start, current_end = spans[0]
        for start, end in spans[1:] + [(len(text) + 1, len(text) + 1)]:
            if start <= current_end:  # overlapping or touching: one replacement
                current_end = max(current_end, end)
                continue
            pieces += (text[done:current_start], replacement)
            done = current_end
            current_start, current_end = start, end
        pieces.append(text[done:])
        return "".join(pieces)


_NO_SECRETS = RunSecrets()  # outside a run (the renderer): patterns only
_run_secrets: contextvars.ContextVar[RunSecrets] = contextvars.ContextVar("codexlogin_run_secrets", default=_NO_SECRETS)


@contextlib.contextmanager
def run_secrets() -> Iterator[RunSecrets]:
    """A fresh known-secret set for the block (one run); `register_secrets` adds to it."""
    secrets = RunSecrets()
    token = _run_secrets.set(secrets)
    try:
        yield secrets
    finally:
        _run_secrets.reset(token)


def register_secrets(*values: object) -> None:
    """Redact these exact values wherever this run logs them. Outside a run nothing is logged."""
    secrets = _run_secrets.get()
    if secrets is not _NO_SECRETS:
        secrets.add(values)


def mask_secrets(text: str, replacement: str = MASK) -> str:
    """`text` for the terminal, the callback page or `--json`: the run's own secrets (and their
    encodings and long runs) shown as `[REDACTED]`, everything else kept as the backend said it.
    Outside a run (nothing registered) the text comes back unchanged. Never raises."""
    try:
        return _run_secrets.get().redact(text, replacement)
    except Exception:
        return replacement


def clip(text: str, limit: int, *, keep_tail: bool = False) -> str:
    """At most `limit` characters of `text` and an explicit marker for what was cut:
    `…(N more characters)` (or `(N earlier characters)…` before a kept tail). Cut only what is
    already redacted (`scrub_clip`, `mask_clip`): a secret at the cut would survive in part."""
    if len(text) <= limit:
        return text
    return _marked(text, limit, len(text) - limit, keep_tail)


def _marked(text: str, limit: int, more: int, keep_tail: bool) -> str:
    if keep_tail:
        return f"({more} earlier characters)…" + text[len(text) - limit :]
    return text[:limit] + f"…({more} more characters)"


def _bounded(text: str, limit: int, keep_tail: bool, clean: Callable[[str], str], margin: int) -> str:
    """clean(text), then clip it; only `limit + margin` characters of a long text are cleaned (what
    is beyond is cut anyway, and a secret straddling the cut lies within the margin)."""
    window = limit + margin
    dropped = max(0, len(text) - window)
    if dropped:
        text = text[dropped:] if keep_tail else text[:window]
    cleaned = clean(text)
    total = len(cleaned) + dropped
    if total <= limit:
        return cleaned
    return _marked(cleaned, limit, total - limit, keep_tail)


def scrub_clip(text: object, limit: int, *, keep_tail: bool = False) -> str:
    """Log-grade scrubbing (the run's secrets by value, then the patterns of `scrub_text`) and
    then `clip`: redact first, then cut. Never raises."""
    try:
        text = text if isinstance(text, str) else str(text)
        secrets = _run_secrets.get()
        return _bounded(text, limit, keep_tail, lambda part: _clean_str_uncached(part, secrets), max(_SCAN_MARGIN, secrets.longest))
    except Exception:
        return REDACTED


def mask_clip(text: str, limit: int, *, keep_tail: bool = False, replacement: str = MASK) -> str:
    """`mask_secrets`, then `clip`: terminal and page text, bounded. Never raises."""
    try:
        secrets = _run_secrets.get()
        return _bounded(text, limit, keep_tail, lambda part: secrets.redact(part, replacement), max(_SCAN_MARGIN, secrets.longest))
    except Exception:
        return replacement


def _clean_str(value: str) -> str:
    text = str.__str__(value)
    secrets = _run_secrets.get()
    if len(text) > _CACHED_STR_LENGTH:
        if len(text) > MAX_LOGGED_FIELD_CHARS:
            return _bounded(text, MAX_LOGGED_FIELD_CHARS, False, lambda part: _clean_str_uncached(part, secrets), max(_SCAN_MARGIN, secrets.longest))
        return _clean_str_uncached(text, secrets)
    cached = secrets.cache.get(text)
    if cached is None:
        if len(secrets.cache) >= _MAX_CACHE:
            secrets.cache.clear()
        cached = secrets.cache[text] = _clean_str_uncached(text, secrets)
    return cached


def _clean_str_uncached(text: str, secrets: RunSecrets) -> str:
    text = secrets.redact(text)
    text = scrub_text(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (e.g. surrogateescape'd paths) break JSON
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text


def _scrub(obj: object, depth: int) -> object:
    if obj is None or isinstance(obj, bool):
        return obj
    if isinstance(obj, str):
        return _clean_str(obj)
    if isinstance(obj, int):
        value = int(obj)
        return value if -_INT64 <= value < _INT64 else str(value)
    if isinstance(obj, float):
        return obj if math.isfinite(obj) else str(obj)
    if depth >= _MAX_DEPTH:
        return REDACTED
    if isinstance(obj, Mapping):
        out: dict[str, object] = {}
        for key, value in obj.items():
            name = key if isinstance(key, str) else str(key)
            if name.startswith("__eliot"):
                continue
            name = _clean_str(name)
            if normalize_key(name) in SECRET_KEYS and not (value is None or isinstance(value, bool)):
                out[name] = REDACTED
            else:
                out[name] = _scrub(value, depth + 1)
        return out
    if isinstance(obj, (list, tuple)):
        return [_scrub(item, depth + 1) for item in obj]
    try:
        text = str(obj)
    except Exception:
        return REDACTED
    return _clean_str(text)


def scrub_fields(obj: object) -> object:
    """Key-aware recursive scrub: secret keys → REDACTED (bools/None kept), strings → scrub_text.

    Dicts come back as new dicts with str keys, tuples as lists, non-JSON values as scrubbed
    `str(value)`. Never raises.
    """
    try:
        return _scrub(obj, 0)
    except Exception:
        return REDACTED


SERIALIZATION_FAILURE = "eliot:serialization_failure"
DESTINATION_FAILURE = "eliot:destination_failure"
SCRUB_FAILURE = "codex:scrub_failure"

_ENVELOPE_KEYS = ("timestamp", "task_uuid", "task_level")
_MAX_EMBEDDED = 64 * 1024


def _minimal(message: object) -> dict[str, object]:
    safe: dict[str, object] = {"message_type": SCRUB_FAILURE}
    try:
        for key in _ENVELOPE_KEYS:
            if key in message:  # type: ignore[operator]
                value = message[key]  # type: ignore[index]
                if key == "timestamp" and isinstance(value, (int, float)) and not isinstance(value, bool):
                    safe[key] = float(value)
                elif key == "task_uuid" and isinstance(value, str) and len(value) <= 64:
                    safe[key] = scrub_text(value)
                elif key == "task_level" and isinstance(value, (list, tuple)):
                    safe[key] = [int(v) for v in value if isinstance(v, int) and not isinstance(v, bool)]
    except Exception:
        pass
    return safe


def _literal(text: str) -> tuple[bool, object]:
    try:
        return True, ast.literal_eval(text)
    except Exception:  # SyntaxError, ValueError, RecursionError, MemoryError...
        return False, None


def _scrub_embedded(embedded: object) -> dict[str, object] | None:
    """Turn eliot's `str({repr(key): repr(value)})` back into a scrubbed dict, or None if unsure.

    eliot builds these texts with `_safe_unicode_dictionary`: every key and value is a repr.
    Values that are Python literals are parsed and scrubbed structurally; others (object reprs)
    go through scrub_text, whose key-aware patterns catch `code='...'`, `'code': '...'` etc.
    """
    if not isinstance(embedded, str) or len(embedded) > _MAX_EMBEDDED:
        return None
    ok, outer = _literal(embedded)
    if not ok or not isinstance(outer, dict):
        return None
    keys: list[str] = []
    for raw_key, raw_value in outer.items():
        ok, key = _literal(raw_key) if isinstance(raw_key, str) else (False, None)
        if not ok or not isinstance(key, str) or not isinstance(raw_value, str):
            # Not eliot's repr-of-reprs layout: eliot fell back to repr(message) itself.
            scrubbed = _scrub(outer, 1)
            return scrubbed if isinstance(scrubbed, dict) else None
        keys.append(key)
    result: dict[str, object] = {}
    for key, raw_value in zip(keys, outer.values()):
        if key.startswith("__eliot"):
            continue
        ok, value = _literal(raw_value)
        if ok:
            scrubbed_item = _scrub({key: value}, 1)
            assert isinstance(scrubbed_item, dict)  # _scrub maps a Mapping (below _MAX_DEPTH) to a dict
            result.update(scrubbed_item)
        elif normalize_key(key) in SECRET_KEYS:
            result[_clean_str(key)] = REDACTED
        else:
            result[_clean_str(key)] = _clean_str(raw_value)
    return result


def scrub_message(message: dict) -> dict:
    """Scrub one eliot message dict for the log file. Never raises.

    For `eliot:serialization_failure` / `eliot:destination_failure` the embedded `message` text
    (a repr of the whole original message) is parsed and scrubbed key by key into a dict; if it
    cannot be parsed with confidence it is dropped (`message_dropped: true`).
    On any internal error a minimal `codex:scrub_failure` message (envelope fields only) is
    returned instead.
    """
    try:
        scrubbed = _scrub(message, 0)
        if not isinstance(scrubbed, dict):
            return _minimal(message)
        if message.get("message_type") in (SERIALIZATION_FAILURE, DESTINATION_FAILURE):
            # A dict here is our own earlier output (the renderer re-scrubs): already structural.
            if "message" in message and not isinstance(message.get("message"), Mapping):
                embedded = _scrub_embedded(message.get("message"))
                if embedded is None:
                    del scrubbed["message"]
                    scrubbed["message_dropped"] = True
                else:
                    scrubbed["message"] = embedded
        return scrubbed
    except Exception:
        return _minimal(message)
