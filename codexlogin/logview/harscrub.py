"""What of a HAR URL `codex login log --har` may show: words, never values that could be secret.

A browser's URLs carry secrets in many places: query values, path parameters (`;jsessionid=…`),
path segments (magic links, session ids, the listener's per-sign-in short path) and free text in
"public" parameters (an issuer may echo a code in `error_description`). The rule is one allow-list:
a path segment, a path parameter's name and each word of a public parameter's value are shown only
when they read as words (`is_word`): lower-case letters (a capital first letter in prose), at most
16 in a part, perhaps one to three trailing digits (`v1`, `oauth2`, `S256`), parts joined by `-` `_`
`.` `:`, with a vowel and no five consonants in a row. Anything else is `<redacted>`, whatever its
length or alphabet: a short code, an all-letter token. On a loopback host a one-segment path is
shown only when it is one of the listener's (the short address's path is a secret of the run). Other query values are
`<redacted>` except the identifiers `client_id` and `allowed_workspace_id`; `redirect_uri` and
`iss` are shown without their own query, fragment or secret path segments.

Pure: no I/O.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, unquote_plus, urlsplit, urlunsplit

from codexlogin.redact import REDACTED, sanitize_url, scrub_clip

__all__ = ["PUBLIC_QUERY_KEYS", "is_word", "scrub_path", "scrub_url"]

#: Query parameters whose values are public and useful (everything else is shown `<redacted>`).
PUBLIC_QUERY_KEYS = frozenset(
    {
        "response_type",
        "client_id",
        "redirect_uri",
        "scope",
        "code_challenge_method",
        "prompt",
        "originator",
        "id_token_add_organizations",
        "codex_cli_simplified_flow",
        "allowed_workspace_id",
        "error",
        "error_description",
        "iss",
        "response_mode",
    }
)
#: Public parameters shown whole: identifiers a support reader compares with the settings.
_IDENTIFIER_KEYS = frozenset({"client_id", "allowed_workspace_id"})
#: Public parameters that are URLs: shown bare (scheme, host, scrubbed path).
_URL_KEYS = frozenset({"redirect_uri", "iss"})
#: One-segment paths of the listener (listener/decide.py, Codex CLI 0.171) and the dev issuer: on a
#: loopback host no other one-segment path is shown.
LISTENER_WORDS = frozenset({"cancel", "success", "favicon.ico", "device"})
_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_MAX_VALUE = 300

_PART = re.compile(r"[a-z]{1,16}[0-9]{0,3}")
_CONSONANTS = re.compile(r"[^aeiouy]{5}")
_SEPARATORS = re.compile(r"[-_.:]")
_PROSE_EDGES = re.compile(r"\A([\"'(\[]*)(.*?)([\"').,;:!?\]]*)\Z", re.S)


def is_word(token: str, *, capital: bool = False) -> bool:
    """Whether `token` reads as words (see the module docstring); `capital`: a part may start with
    a capital letter (prose: "Invalid", "S256")."""
    parts = [part for part in _SEPARATORS.split(token) if part]
    if not parts:
        return False
    for part in parts:
        if capital and part[0].isupper():
            part = part[0].lower() + part[1:]
        if not _PART.fullmatch(part):
            return False
        letters = part.rstrip("0123456789")
        if len(letters) >= 4 and (not any(c in "aeiouy" for c in letters) or _CONSONANTS.search(letters)):
            return False
    return True


def _segment(segment: str, loopback: bool) -> str:
    """One path segment: its name if a word, its path parameters (`;jsessionid=…`) as names only."""
    name, _, parameters = segment.partition(";")
    if name:
        decoded = unquote(name)
        shown = is_word(decoded) and (not loopback or decoded in LISTENER_WORDS)
        name = name if shown else REDACTED
    if not parameters:
        return name
    shown_parameters = []
    for parameter in parameters.split(";"):
        key, eq, _value = parameter.partition("=")
        key = key if is_word(unquote(key)) else REDACTED
        shown_parameters.append(key + (f"={REDACTED}" if eq else ""))
    return ";".join([name, *shown_parameters])


def scrub_path(path: str, *, loopback: bool = False) -> str:
    """A URL path for display: every segment that is not a word (and every path parameter's value)
    `<redacted>`. On a loopback host a one-segment path must be one of the listener's own: the
    short sign-in address (`/<12 characters>`) can read as a word."""
    segments = path.split("/")
    short = loopback and len([segment for segment in segments if segment]) == 1
    return "/".join(_segment(segment, short) for segment in segments)


def _prose(value: str) -> str:
    """A public parameter's value: each whitespace-separated word kept when it reads as one."""
    decoded = unquote_plus(value)
    pieces = re.split(r"(\s+)", decoded)
    changed = False
    for i in range(0, len(pieces), 2):
        if not pieces[i]:
            continue
        lead, core, trail = _PROSE_EDGES.match(pieces[i]).groups()  # type: ignore[union-attr]  # always matches
        if core and not is_word(core, capital=True):
            pieces[i] = lead + REDACTED + trail
            changed = True
    if not changed:
        return value
    return quote("".join(pieces), safe="<>()'!,.:;?")


def _bare_uri(value: str) -> str:
    """A URL parameter without its own query or fragment (which may carry anything)."""
    try:
        parts = urlsplit(unquote_plus(value))
        netloc = parts.netloc.rpartition("@")[2]
        loopback = (parts.hostname or "").lower() in _LOOPBACK
        bare = urlunsplit((parts.scheme, netloc, scrub_path(parts.path, loopback=loopback), "", ""))
    except ValueError:
        return REDACTED
    return quote(bare, safe="<>")


def _redact_query(query: str) -> str:
    if not query:
        return query
    pieces = re.split(r"([&;])", query)
    for i in range(0, len(pieces), 2):
        raw_key, eq, value = pieces[i].partition("=")
        name = unquote_plus(raw_key).strip()
        key = name.lower()
        if not eq:
            pieces[i] = raw_key if is_word(name) else REDACTED  # a bare `?SECRET`
            continue
        if key not in PUBLIC_QUERY_KEYS:
            value = REDACTED
            raw_key = raw_key if is_word(name) else REDACTED
        elif key in _URL_KEYS:
            value = _bare_uri(value)
        elif key not in _IDENTIFIER_KEYS:
            value = _prose(value)
        if len(value) > _MAX_VALUE:
            value = f"{value[:_MAX_VALUE]}…"
        pieces[i] = f"{raw_key}={value}"
    return "".join(pieces)


def scrub_url(url: object) -> str:
    """A HAR URL for display: userinfo and fragment gone, secret path segments, path parameters and
    query values `<redacted>`; only public OAuth parameters keep (the words of) their values."""
    text = sanitize_url(str(url) if url is not None else "")
    if text.startswith("<"):
        return text
    try:
        parts = urlsplit(text)
        loopback = (parts.hostname or "").lower() in _LOOPBACK
        text = urlunsplit((parts.scheme, parts.netloc, scrub_path(parts.path, loopback=loopback), _redact_query(parts.query), ""))
    except ValueError:
        return "<invalid-url>"
    return scrub_clip(text, 2000)
