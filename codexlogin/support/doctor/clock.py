"""Doctor's clock check: the local clock agrees with the issuer's Date header (within 5 minutes),
from what the issuer check saw.
"""

from __future__ import annotations

from codexlogin.redact import scrub_clip
from codexlogin.support.doctor.issuer import IssuerProbe
from codexlogin.support.doctor.report import OK, WARN, Result

CLOCK_SKEW_WARN = 300.0  # seconds


def describe_skew(skew: float) -> str:
    """`3 h 12 min ahead of` / `45 s behind`: the local clock against the issuer's."""
    amount = abs(skew)
    if amount >= 3600:
        text = f"{int(amount // 3600)} h {int(amount % 3600 // 60)} min"
    elif amount >= 60:
        text = f"{int(amount // 60)} min {int(amount % 60)} s"
    else:
        text = f"{amount:.0f} s"
    return f"{text} {'ahead of' if skew > 0 else 'behind'}"


def clock_result(probe: IssuerProbe) -> Result:
    from email.utils import parsedate_to_datetime

    if not probe.reachable or probe.received_at is None:
        return WARN, "not compared: the issuer did not answer", "fix the issuer check first"
    if not probe.date_header:
        return WARN, "not compared: the issuer sent no Date header", None
    try:
        server = parsedate_to_datetime(probe.date_header).timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return WARN, f"not compared: unreadable Date header {scrub_clip(probe.date_header, 64)!r}", None
    skew = probe.received_at - server
    if abs(skew) > CLOCK_SKEW_WARN:
        return (
            WARN,
            f"the local clock is {describe_skew(skew)} the issuer's (Date: {probe.date_header})",
            (
                "set the clock right (enable automatic time / NTP, e.g. `timedatectl set-ntp true`):"
                " tokens look expired or not yet valid otherwise"
            ),
        )
    return OK, f"the local clock is within {max(abs(skew), 1):.0f} s of the issuer's", None
