"""`codex login log --har FILE.har`: a browser's HAR merged into the matching run's timeline.

A HAR 1.2 file (Chrome's or Firefox's DevTools "Save all as HAR", or any tool writing the format)
says what the browser did: the authorize request, the issuer's pages, the redirect back to the
callback, the callback page. The run's log says what codex login did. Together, in time order, they
show where the chain broke: "the browser never requested /auth/callback", "callback reached, token
exchange failed: invalid_grant", …

What is taken from the HAR, and nothing else: each entry's start time, method, URL, status, the
`Location` of a redirect, the response's MIME type and Chrome's/Firefox's network error text.
URLs are scrubbed (logview/harscrub.py: only words are shown of paths, path parameters and public
OAuth parameters' values; every other query value is `<redacted>`; then `redact.scrub_text`);
headers other than Location, cookies, Set-Cookie, Authorization, request and response bodies are
never read into the timeline. The raw HAR text is only searched for the run's reference.

Pure: no eliot, no I/O (the caller reads the file).
"""

from __future__ import annotations

import bisect
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus, urlsplit

from codexlogin.diagnostics import names
from codexlogin.logview.harscrub import PUBLIC_QUERY_KEYS, scrub_path, scrub_url
from codexlogin.logview.text import WRAP_INDENT, Line, format_line, run_lines, timestamp, wrap_line
from codexlogin.logview.tree import FAILED, SUCCEEDED, Node, Run, display_text, scrubbed_fields
from codexlogin.redact import REDACTED, scrub_clip
from codexlogin.terminal import as_invoked, one_line

__all__ = [
    "PUBLIC_QUERY_KEYS",
    "HarEntry",
    "HarError",
    "Merged",
    "load_har",
    "match_run",
    "merge",
    "render_merged",
    "merged_json",
    "scrub_url",
]

_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})
_STATIC = frozenset({"script", "stylesheet", "image", "font", "media", "manifest", "ping", "other"})
_STATIC_MIME = re.compile(r"^(image/|font/|text/css|(application|text)/(x-)?javascript)")


class HarError(ValueError):
    """The file is not a HAR this can read (the message says why, without its content)."""


@dataclass(frozen=True)
class HarEntry:
    """One browser request, scrubbed: only what the timeline shows."""

    ts: float  # epoch seconds (startedDateTime)
    method: str
    url: str  # scrubbed
    host: str  # lower case, without port
    port: int | None
    path: str
    status: int  # 0 when the request failed (no response)
    location: str | None  # scrubbed redirect target
    error: str | None  # the browser's network error text (net::ERR_CONNECTION_REFUSED), scrubbed
    mime: str
    static: bool  # a script/style/image/font: counted, not shown
    redirect_port: int | None  # an authorize request's redirect_uri port
    client_id: str | None

    @property
    def loopback(self) -> bool:
        return self.host in _LOOPBACK

    @property
    def is_authorize(self) -> bool:
        return self.path.rstrip("/").endswith("/authorize")

    @property
    def is_callback(self) -> bool:
        return self.loopback and self.path.rstrip("/").endswith("/callback")


@dataclass
class Har:
    entries: list[HarEntry]
    raw: str  # searched for a run's reference only; never shown
    index: _Index | None = None  # built by the first match


# --------------------------------------------------------------------------------------------
# Reading and scrubbing
# --------------------------------------------------------------------------------------------


def _time(value: object) -> float | None:
    if not isinstance(value, str):
        return None
    try:
        return datetime.fromisoformat(value.strip().replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _query_value(url: str, name: str) -> str | None:
    try:
        for piece in re.split(r"[&;]", urlsplit(url).query):
            key, eq, value = piece.partition("=")
            if eq and unquote_plus(key) == name:
                return unquote_plus(value)
    except ValueError:
        return None
    return None


def _header(headers: object, name: str) -> str | None:
    if isinstance(headers, list):
        for item in headers:
            if isinstance(item, dict) and str(item.get("name", "")).lower() == name:
                value = item.get("value")
                return value if isinstance(value, str) else None
    return None


def _dict(value: object) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _entry(raw: Any) -> HarEntry | None:
    if not isinstance(raw, dict):
        return None
    request = _dict(raw.get("request"))
    response = _dict(raw.get("response"))
    ts = _time(raw.get("startedDateTime"))
    url = request.get("url")
    if ts is None or not isinstance(url, str):
        return None
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
        path = scrub_clip(scrub_path(parts.path, loopback=host in _LOOPBACK), 500)
    except ValueError:
        host, port, path = "", None, ""
    status = response.get("status")
    status = status if type(status) is int else 0
    location = response.get("redirectURL") or _header(response.get("headers"), "location")
    error = response.get("_error") or raw.get("_error") or (response.get("statusText") if status == 0 else None)
    mime_type = _dict(response.get("content")).get("mimeType")
    mime = mime_type.split(";")[0].strip().lower()[:100] if isinstance(mime_type, str) else ""
    kind = raw.get("_resourceType")
    static = (kind in _STATIC if isinstance(kind, str) else bool(_STATIC_MIME.match(mime))) and host not in _LOOPBACK
    redirect_uri = _query_value(url, "redirect_uri")
    redirect_port = None
    if redirect_uri:
        try:
            redirect_port = urlsplit(redirect_uri).port
        except ValueError:
            redirect_port = None
    client_id = _query_value(url, "client_id")
    method = request.get("method") if isinstance(request.get("method"), str) else "GET"
    return HarEntry(
        ts=ts,
        method=scrub_clip(method, 16),
        url=scrub_url(url),
        host=host,
        port=port,
        path=path,
        status=status,
        location=scrub_url(location) if isinstance(location, str) and location else None,
        error=scrub_clip(error, 200) if isinstance(error, str) and error else None,
        mime=scrub_clip(mime, 100),
        static=static,
        redirect_port=redirect_port,
        client_id=scrub_clip(client_id, 128) if client_id else None,
    )


def load_har(text: str) -> Har:
    """Parse a HAR 1.2 document; raises HarError (with a message that quotes none of it)."""
    try:
        data = json.loads(text)
    except ValueError as error:
        raise HarError(f"not JSON (line {getattr(error, 'lineno', '?')})") from None
    except RecursionError:  # json recurses per nesting level: a hostile '[[[[…'
        raise HarError("not a HAR file: nested too deeply") from None
    log = data.get("log") if isinstance(data, dict) else None
    entries = log.get("entries") if isinstance(log, dict) else None
    if not isinstance(entries, list):
        raise HarError("not a HAR file: no log.entries list")
    parsed = [entry for entry in map(_entry, entries) if entry is not None]
    parsed.sort(key=lambda entry: entry.ts)
    return Har(parsed, text)


# --------------------------------------------------------------------------------------------
# Matching a run
# --------------------------------------------------------------------------------------------


@dataclass
class RunFacts:
    """What of a run the HAR can be matched against."""

    ports: set[int] = field(default_factory=set)
    reference: str | None = None
    client_id: str | None = None
    issuer_host: str | None = None
    start: float | None = None
    end: float | None = None


def run_facts(run: Run) -> RunFacts:
    facts = RunFacts(start=run.start_ts, end=run.end_ts)
    for node in run.root.walk():
        fields = scrubbed_fields(node.start)[0] if node.start else {}
        name = node.raw_type
        if name == names.LISTENER and type(fields.get("port")) is int:
            facts.ports.add(fields["port"])
        if node is run.root:
            ref = fields.get("reference")
            facts.reference = ref if isinstance(ref, str) and ref and ref != REDACTED else None
            client = fields.get("client_id")
            facts.client_id = client if isinstance(client, str) else None
        for key in ("redirect_uri", "issuer"):
            value = fields.get(key)
            if isinstance(value, str):
                try:
                    parts = urlsplit(value)
                    if key == "redirect_uri" and parts.port:
                        facts.ports.add(parts.port)
                    if key == "issuer" and parts.hostname:
                        facts.issuer_host = parts.hostname.lower()
                except ValueError:
                    pass
    return facts


SLACK = 120.0  # seconds around a run in which its browser requests may lie
TIGHT = 10.0  # a callback-related request this close to a run makes it the likely one


@dataclass
class _Index:
    """What matching needs of a HAR, computed once (a HAR may hold thousands of entries)."""

    times: list[float]
    related: list[HarEntry]  # requests naming a loopback port: the callback, an authorize URL
    hosts: set[str]


def _index(har: Har) -> _Index:
    if har.index is None:
        related = [e for e in har.entries if e.loopback or e.redirect_port is not None]
        har.index = _Index([e.ts for e in har.entries], related, {e.host for e in har.entries})
    return har.index


def score(har: Har, run: Run) -> tuple[int, float]:
    """How well the HAR fits the run (0 = not at all), and a tie-breaker (closer in time wins)."""
    index = _index(har)
    start = run.start_ts if isinstance(run.start_ts, (int, float)) else None
    end = run.end_ts if isinstance(run.end_ts, (int, float)) else None
    lo = (start if start is not None else float("-inf")) - SLACK
    hi = (end if end is not None else float("inf")) + SLACK
    overlap = bisect.bisect_left(index.times, lo) < bisect.bisect_right(index.times, hi)
    facts = run_facts(run) if overlap else _root_facts(run)
    points = 0
    if facts.reference and len(facts.reference) >= 6 and facts.reference in har.raw:
        points += 100
    if not overlap:
        return (points, float("-inf")) if points else (0, 0.0)
    points += 3
    ports = facts.ports
    nearby = [e for e in index.related if lo <= e.ts <= hi]
    if ports and any((e.loopback and e.port in ports) or e.redirect_port in ports for e in nearby):
        points += 10
        tight_lo = (start if start is not None else float("-inf")) - TIGHT
        tight_hi = (end if end is not None else float("inf")) + TIGHT
        if any(tight_lo <= e.ts <= tight_hi for e in nearby if (e.loopback and e.port in ports) or e.redirect_port in ports):
            points += 20
    if facts.client_id and any(e.client_id == facts.client_id for e in nearby):
        points += 5
    if facts.issuer_host and facts.issuer_host in index.hosts:
        points += 2
    closeness = -min((abs(e.ts - start) for e in nearby), default=0.0) if start is not None else float("-inf")
    if not ports:
        # No listener (status, logout, device login): only its reference ties a HAR to it.
        return (points, closeness) if points >= 100 else (0, 0.0)
    if points > 5:
        return points, closeness
    # Only a time overlap: enough when the HAR names no callback port at all (e.g. it stops
    # before the authorize request), not when it names another one.
    return (0, 0.0) if index.related else (points, closeness)


def _root_facts(run: Run) -> RunFacts:
    """The root action's reference only (a run outside the HAR's time window)."""
    fields = scrubbed_fields(run.root.start)[0] if run.root.start else {}
    ref = fields.get("reference")
    return RunFacts(reference=ref if isinstance(ref, str) and ref and ref != REDACTED else None)


def match_run(har: Har, runs: Iterable[Run]) -> Run | None:
    """The run the HAR belongs to: the best score, then the closest in time, then the latest."""
    best: tuple[int, float, float, Run] | None = None
    for run in runs:
        points, closeness = score(har, run)
        if not points:
            continue
        start = run.start_ts if isinstance(run.start_ts, (int, float)) else float("-inf")
        if best is None or (points, closeness, start) > best[:3]:
            best = (points, closeness, start, run)
    return best[3] if best else None


# --------------------------------------------------------------------------------------------
# The merged timeline and its verdict
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Event:
    ts: float | None
    source: str  # "log" | "browser"
    phase: str  # authorize | idp | callback | listener | token | login | other
    text: str
    data: dict[str, Any]


@dataclass
class Merged:
    run: Run
    events: list[Event]
    verdict: str
    broke: bool
    hidden: int  # static browser requests not shown


def _browser_event(entry: HarEntry, facts: RunFacts) -> Event:
    if entry.is_authorize:
        phase = "authorize"
    elif entry.is_callback:
        phase = "callback"
    elif entry.loopback and (not facts.ports or entry.port in facts.ports):
        phase = "listener"
    elif entry.path.rstrip("/").endswith("/token"):
        phase = "token"
    else:
        phase = "idp"
    outcome = f"{entry.status}" if entry.status else f"failed: {entry.error or 'no response'}"
    text = f"{entry.method} {entry.url} -> {outcome}"
    if entry.location:
        text += f" Location: {entry.location}"
    data: dict[str, Any] = {"method": entry.method, "url": entry.url, "status": entry.status}
    if entry.location:
        data["location"] = entry.location
    if entry.error:
        data["error"] = entry.error
    if entry.mime:
        data["mime_type"] = entry.mime
    return Event(entry.ts, "browser", phase, text, data)


def _log_event(line: Line) -> Event:
    text = format_line(line).split(" ", 1)[1].lstrip()  # the tracing line without its timestamp
    data = {"level": line.level, "target": line.target, "message": line.message, "fields": dict(line.fields)}
    return Event(line.ts, "log", "login", text, data)


def _nodes(run: Run, kind: str) -> list[Node]:
    """The run's actions or messages of our type `kind` (diagnostics.names)."""
    return [node for node in run.root.walk() if node.raw_type == kind]


def _end(node: Node) -> dict[str, Any]:
    return scrubbed_fields(node.end)[0] if node.end else {}


def _verdict(run: Run, browser: list[HarEntry], facts: RunFacts) -> tuple[str, bool]:
    """Where the chain broke, in one sentence (and whether it broke)."""
    authorize = [e for e in browser if e.is_authorize]
    callbacks = [e for e in browser if e.is_callback and (not facts.ports or e.port in facts.ports)]
    logged_callbacks = _nodes(run, names.CALLBACK)
    exchanges = _nodes(run, names.TOKEN_EXCHANGE)
    oauth_errors = _nodes(run, names.OAUTH_ERROR)
    mismatches = _nodes(run, names.STATE_MISMATCH)
    root_end = _end(run.root)
    outcome = root_end.get("outcome")
    if not authorize and not callbacks:
        return (
            "the browser never requested the authorize URL (was the HAR recorded in the tab that "
            "codex login opened, with 'Preserve log' on?)"
        ), True
    if not callbacks:
        ours = facts.ports
        issuer_errors = [e for e in browser if e.status >= 400 and not (e.loopback and (not ours or e.port in ours))]
        if issuer_errors:
            first = issuer_errors[0]
            return (
                f"the browser never requested /auth/callback: the issuer answered {first.status} at "
                f"{first.path or '/'} instead of redirecting back (redirect_uri or client_id not "
                "registered?)"
            ), True
        to_callback = [e for e in browser if e.location and "/callback" in e.location]
        if to_callback:
            return (
                "the issuer redirected to the callback but the browser never requested it "
                "(blocked by the browser, an extension or a proxy?)"
            ), True
        failed = [e for e in browser if e.status == 0]
        if failed:
            return (
                f"the browser never requested /auth/callback: {failed[-1].url} failed: {failed[-1].error or 'no response'}",
                True,
            )
        return "the browser never requested /auth/callback (the sign-in was not finished in this tab)", True
    reached = [e for e in callbacks if e.status]
    if not reached:
        last = callbacks[-1]
        return (
            f"the browser could not reach the callback on port {last.port}: {last.error or 'no response'} "
            "(was codex login still waiting?)"
        ), True
    if not logged_callbacks:
        return (
            "the browser reached the callback, but this run did not record it (another program on "
            "the port, or an older codex login?)"
        ), True
    if oauth_errors:
        code = scrubbed_fields(oauth_errors[0].start or {})[0].get("error_code", "?")
        return f"callback reached with an error from the issuer: {display_text(code)} (the sign-in was refused)", True
    if mismatches and not exchanges:
        return (
            "callback reached, but its state did not match this run (a tab from an older sign-in, "
            "or the issuer changed the state)"
        ), True
    if exchanges:
        exchange = exchanges[-1]
        end = _end(exchange)
        if exchange.status == FAILED:
            why = end.get("error_code") or end.get("kind") or end.get("status") or end.get("exception") or "failed"
            extra = end.get("error_message")
            text = f"callback reached, token exchange failed: {display_text(why)}"
            if end.get("status") is not None and end.get("error_code") is not None:
                text += f" (HTTP {display_text(end['status'])})"
            if extra:
                text += f": {display_text(extra)}"
            return text, True
        if exchange.status != SUCCEEDED:
            return f"callback reached, token exchange {exchange.status}", True
    saves = _nodes(run, names.SAVE_CREDENTIALS)
    if saves and saves[-1].status == FAILED:
        return "token exchange succeeded, saving the credentials failed", True
    if run.status == SUCCEEDED and outcome in (None, "success"):
        return "the chain completed: signed in", False
    return f"callback reached; the run ended {display_text(outcome or run.status)}", True


def merge(har: Har, run: Run) -> Merged:
    facts = run_facts(run)
    lo = (facts.start if isinstance(facts.start, (int, float)) else float("-inf")) - SLACK
    hi = (facts.end if isinstance(facts.end, (int, float)) else float("inf")) + SLACK
    window = [e for e in har.entries if lo <= e.ts <= hi]
    shown = [e for e in window if not e.static]
    events = [_browser_event(e, facts) for e in shown] + [_log_event(line) for line in run_lines(run)]
    ordered = sorted(enumerate(events), key=lambda pair: (pair[1].ts if pair[1].ts is not None else float("inf"), pair[0]))
    verdict, broke = _verdict(run, window, facts)
    verdict = as_invoked(verdict)  # names the program the user runs (`codexlogin login …`)
    return Merged(run, [event for _, event in ordered], verdict, broke, len(window) - len(shown))


def _clock(ts: float | None) -> str:
    return "-" * 15 if ts is None else timestamp(ts)[11:26]


def render_merged(merged: Merged, width: int | None = None) -> str:
    """The timeline as text: one line per event (`log` or `browser`), then the verdict.

    With `width`, a long event wraps, continued under its text with four more spaces."""
    run = merged.run
    facts = run_facts(run)
    head = f"run {run.uuid_text}"
    if facts.reference:
        head += f" (reference {facts.reference})"
    browser = sum(1 for e in merged.events if e.source == "browser")
    out = [f"{head}: {browser} browser requests merged" + (f", {merged.hidden} static ones not shown" if merged.hidden else "")]
    for event in merged.events:
        where = "browser" if event.source == "browser" else "log    "
        head = f"  {_clock(event.ts)}  {where}  "
        text = one_line(event.text) if event.source == "browser" else display_text(event.text)  # HAR text: one line
        if width is None:
            out.append(head + text)
            continue
        pieces = wrap_line(text, width - len(head), width - len(head) - len(WRAP_INDENT))
        out.append(head + pieces[0])
        out.extend(" " * len(head) + WRAP_INDENT + piece for piece in pieces[1:])
    # The verdict quotes HAR text (a path, a browser's error): one line, control characters escaped.
    out.append(("where it broke: " if merged.broke else "result: ") + one_line(merged.verdict))
    return "\n".join(out) + "\n"


def merged_json(merged: Merged) -> str:
    run = merged.run
    facts = run_facts(run)
    data = {
        "task_uuid": run.uuid_text,
        "reference": facts.reference,
        "verdict": merged.verdict,
        "broke": merged.broke,
        "hidden_static_requests": merged.hidden,
        "timeline": [{"timestamp": e.ts, "source": e.source, "phase": e.phase, "text": e.text, **e.data} for e in merged.events],
    }
    return json.dumps(data, separators=(",", ":"), default=str) + "\n"
