"""Pure scrubbing for everything that may reach codex-login.log, the terminal or the callback page.

Nothing here imports eliot, trio, httpx or diagnostics (the bottom layer): these functions run on
every log message in `diagnostics.ScrubbingDestination` and again in the log renderer, so they must
be fast, pure and total.

- `keys`: the markers (`<redacted>`, `<invalid-url>`, `[REDACTED]`) and the secret key names.
- `url`: `sanitize_url`, `sanitize_proxy`: no userinfo, fragment or secret query values.
- `text`: `scrub_text`: patterns on free text (exception messages, reprs, library log lines).
- `secrets`: the run's known secrets (`run_secrets`, `register_secrets`), redacted by value with
  their encodings and long runs; `mask_secrets` for the terminal and the page.
- `clip`: bounded text, redacted first, then cut (`clip`, `scrub_clip`, `mask_clip`).
- `fields`: `scrub_fields`, the key-aware recursive scrub of a JSON-ish structure.

Whole eliot messages are scrubbed in `diagnostics.scrubbing` (`scrub_message`), on top of these.

This package re-exports (loading each on first use) the names the rest of codexlogin imports;
anything else comes from its module.
"""

TYPE_CHECKING = False  # typing.TYPE_CHECKING would cost importing typing; mypy reads this the same
if TYPE_CHECKING:  # mypy sees plain imports (and so flags a name this package does not export)
    from codexlogin.redact.clip import mask_clip, scrub_clip
    from codexlogin.redact.fields import scrub_fields
    from codexlogin.redact.keys import REDACTED
    from codexlogin.redact.secrets import mask_secrets, register_secrets, run_secrets
    from codexlogin.redact.text import scrub_text
    from codexlogin.redact.url import sanitize_proxy, sanitize_url
else:
    # Each name is loaded from its module on first use (PEP 562): a caller that wants only
    # `sanitize_url` does not pay for compiling the free-text patterns.
    _HOMES = {
        "REDACTED": "keys",
        "mask_clip": "clip",
        "mask_secrets": "secrets",
        "register_secrets": "secrets",
        "run_secrets": "secrets",
        "sanitize_proxy": "url",
        "sanitize_url": "url",
        "scrub_clip": "clip",
        "scrub_fields": "fields",
        "scrub_text": "text",
    }

    def __getattr__(name: str) -> object:
        home = _HOMES.get(name)
        if home is None:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        import importlib

        value = getattr(importlib.import_module(f"{__name__}.{home}"), name)
        globals()[name] = value
        return value


__all__ = [
    "REDACTED",
    "mask_clip",
    "mask_secrets",
    "register_secrets",
    "run_secrets",
    "sanitize_proxy",
    "sanitize_url",
    "scrub_clip",
    "scrub_fields",
    "scrub_text",
]
