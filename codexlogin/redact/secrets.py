"""The run's known secrets: the exact values one run knows are secret, redacted wherever they show.

Its state, verifier, the code it received, the tokens it holds: patterns cannot recognise an opaque
code an issuer echoes back in error_description; exact values can. The set belongs to the open log
(`run_secrets()`, opened by `diagnostics.open_log`), in a ContextVar that trio copies into every task
and worker thread of the run; the flows add to it with `register_secrets`. The log redacts them as
`<redacted>` (`scrub_log_text`, which then applies `text.scrub_text`'s patterns); `mask_secrets`
shows them as `[REDACTED]` on the terminal and the callback page.

Each secret is known in every form an echo may take (`encoded_forms`: percent-encoded, base64 and
base64url at each byte alignment, JSON-, HTML- and repr-escaped), and any run of MIN_PARTIAL_RUN or
more characters copied from one of those forms is redacted too (a prefix, a suffix, the pieces of a
split or a cut echo), and the secret reversed. A 4- or 5-character secret is redacted where it
stands as a whole token (not inside a longer word or number). No false positives on ordinary text: a run must be 16 characters in a row of
the secret itself, which prose, paths and identifiers do not contain for secrets that are random
(codes, states, verifiers, tokens, keys); forms shorter than 16 characters are matched whole only.
"""

from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Callable, Iterator

from codexlogin.redact.keys import MASK, REDACTED

MIN_KNOWN_SECRET_LENGTH = 6  # shorter values would redact ordinary words...
# ...unless matched as a whole token only: a 4- or 5-character code (a short authorization code,
# a device user code) is redacted where it stands alone, never inside a longer word.
MIN_SHORT_SECRET_LENGTH = 4
MIN_PARTIAL_RUN = 16
# Runs are found from blocks of _BLOCK characters at fixed positions of each form (offsets 0,
# _BLOCK, 2 * _BLOCK, ...): any run of 2 * _BLOCK - 1 or more characters of a form holds one whole
# such block, so one dict look-up per text position finds every candidate, which is then extended
# both ways with slice comparisons. Indexing every _BLOCK-th offset (not every offset) keeps
# registering three 1.2 kB tokens to ~1/8 of the work (it is on the callback's path); the text
# logged in one run is a few kB, so scanning every position of it costs less than that.
_BLOCK = 8
assert 2 * _BLOCK - 1 <= MIN_PARTIAL_RUN
# A secret longer than this (an issuer may send anything as a token) gets no encoded forms: only its
# raw form is indexed (all of it: a 16-character window from its middle is found too), and any text
# from its start on (or up to its end) is found from its first (last) _HUGE_ANCHOR characters.
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

    forms = {secret, secret[::-1]}  # reversed: an echo may be mangled that way too
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
        self.tokens: re.Pattern[str] | None = None  # 4- and 5-character secrets, as whole tokens
        self._short_secrets: set[str] = set()
        self.blocks: dict[str, list[tuple[str, int]]] = {}  # _BLOCK-grams of the longer forms
        self.longest = 0  # the longest indexed form: how far past a cut the text must be scanned
        self.cache: dict[str, str] = {}
        self._forms: set[str] = set()

    def add(self, values: tuple[object, ...]) -> None:
        self._add_short({v for v in values if isinstance(v, str) and MIN_SHORT_SECRET_LENGTH <= len(v) < MIN_KNOWN_SECRET_LENGTH})
        fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_KNOWN_SECRET_LENGTH} - set(self.values)
        if not fresh:
            return
        self.values = tuple(sorted(set(self.values) | fresh, key=len, reverse=True))
        short = set(self.short_forms)
        for secret in fresh:
            if len(secret) > _MAX_INDEXED:  # only its raw form, but all of it: a window from its middle too
                self.huge += (secret,)
                forms = {secret}
            else:
                forms = encoded_forms(secret)
            for form in forms - self._forms:
                self._forms.add(form)
                if len(form) < MIN_PARTIAL_RUN:
                    short.add(form)
                    continue
                self.longest = max(self.longest, min(len(form), _MAX_INDEXED))
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

    def _add_short(self, secrets: set[str]) -> None:
        """4- and 5-character secrets (raw, reversed, percent-encoded): matched as whole tokens."""
        from urllib.parse import quote

        fresh = {form for secret in secrets for form in (secret, secret[::-1], quote(secret, safe=""))} - self._short_secrets
        if not fresh:
            return
        self._short_secrets |= fresh
        alternatives = "|".join(re.escape(form) for form in sorted(self._short_secrets, key=len, reverse=True))
        self.tokens = re.compile(rf"(?<![A-Za-z0-9])(?:{alternatives})(?![A-Za-z0-9])")
        self.cache.clear()

    def spans(self, text: str) -> list[tuple[int, int]]:
        """Where `text` holds a known form, or a run of MIN_PARTIAL_RUN+ characters of a longer one."""
        found: list[tuple[int, int]] = []
        if self.tokens is not None:
            found.extend(match.span() for match in self.tokens.finditer(text))
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
        if not self._forms and not self.huge and self.tokens is None:
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


def known_secrets() -> RunSecrets:
    """The open run's known secrets (an empty set outside a run)."""
    return _run_secrets.get()


_SCRUB_TEXT: Callable[[str], str] | None = None


def _load_scrub_text() -> Callable[[str], str]:
    """text.scrub_text, loaded on the first scrub: its patterns' compiling is not paid by a login
    that registers its secrets before its URL is shown and logs only after."""
    global _SCRUB_TEXT
    from codexlogin.redact.text import scrub_text

    _SCRUB_TEXT = scrub_text
    return scrub_text


def scrub_log_text(text: str, known: RunSecrets) -> str:
    """`text` as codex-login.log may hold it: `known` secrets (and their forms) redacted by value,
    then `scrub_text`'s patterns, and lone surrogates escaped (they would break the JSON line)."""
    text = known.redact(text)
    text = (_SCRUB_TEXT or _load_scrub_text())(text)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # lone surrogates (e.g. surrogateescape'd paths) break JSON
        text = text.encode("utf-8", "backslashreplace").decode("utf-8")
    return text
