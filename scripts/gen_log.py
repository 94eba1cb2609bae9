"""Generate a realistic codex-login.log of N login runs, for benchmarks and manual testing.

    python scripts/gen_log.py --runs 10000 OUT

Each run is one eliot task rooted in `codex:command` with the action types the program writes
(listener, callback, token exchange, API-key exchange, saving credentials) and a mix of outcomes:
success, denied, token_exchange_failed, cancelled (trio.Cancelled), timed_out, port_unavailable
and unfinished (the process died: no end message). About 7 messages per run on average. A few runs
overlap in time, so their messages interleave as they would with concurrent processes.

JSON lines are written directly (no eliot), seeded, so the output is reproducible.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import uuid

ISSUER = "https://auth.openai.com"
VERSION = "0.1.0"
# (outcome, weight): roughly what a support queue sees, with crashes rare.
OUTCOMES = [
    ("success", 66),
    ("denied", 9),
    ("token_exchange_failed", 9),
    ("cancelled", 7),
    ("timed_out", 4),
    ("port_unavailable", 3),
    ("unfinished", 2),
]


def _run(rng: random.Random, start: float) -> list[dict]:
    """The messages of one run, in the order the program would write them."""
    task = str(uuid.UUID(int=rng.getrandbits(128), version=4))
    outcome = rng.choices([o for o, _ in OUTCOMES], weights=[w for _, w in OUTCOMES])[0]
    port = 1455
    redirect = f"http://localhost:{port}/auth/callback"
    t = start
    out: list[dict] = []

    def msg(level: list[int], **fields) -> None:
        nonlocal t
        t += rng.uniform(0.0005, 0.02)
        out.append({"task_uuid": task, "task_level": level, "timestamp": round(t, 6), **fields})

    msg(
        [1], action_type="codex:command", action_status="started", command="login", flow="browser", version=VERSION, issuer=ISSUER
    )
    if outcome == "port_unavailable":
        msg([2, 1], action_type="codex:listener", action_status="started", host="127.0.0.1", port=port)
        msg(
            [2, 2],
            action_type="codex:listener",
            action_status="failed",
            exception="codexlogin.errors.PortUnavailable",
            reason=f"port {port} is in use and the old listener did not stop",
            outcome="port_unavailable",
            exit_code=6,
        )
        msg(
            [3],
            action_type="codex:command",
            action_status="failed",
            exception="codexlogin.errors.PortUnavailable",
            reason=f"port {port} is in use and the old listener did not stop",
            outcome="port_unavailable",
            exit_code=6,
        )
        return out
    msg([2, 1], action_type="codex:listener", action_status="started", host="127.0.0.1", port=port)
    msg([2, 2], action_type="codex:listener", action_status="succeeded")
    if outcome == "unfinished":
        msg(
            [3, 1],
            action_type="codex:callback",
            action_status="started",
            path="/auth/callback",
            has_code=True,
            has_state=True,
            has_error=False,
            state_valid=True,
        )
        return out
    if outcome in ("cancelled", "timed_out"):
        t += rng.uniform(5, 600)
        if outcome == "cancelled":
            msg(
                [3],
                action_type="codex:command",
                action_status="failed",
                exception="trio.Cancelled",
                reason="Cancelled",
                outcome="cancelled",
                exit_code=130,
            )
        else:
            msg(
                [3],
                action_type="codex:command",
                action_status="failed",
                exception="codexlogin.errors.TimedOut",
                reason="no browser callback within 600 s",
                outcome="timed_out",
                exit_code=5,
            )
        return out
    t += rng.uniform(2, 40)  # the user signs in
    if outcome == "denied":
        msg(
            [3, 1],
            action_type="codex:callback",
            action_status="started",
            path="/auth/callback",
            has_code=False,
            has_state=True,
            has_error=True,
            state_valid=True,
        )
        msg([3, 2], message_type="codex:callback:oauth_error", error_code="access_denied", has_error_description=True)
        msg([3, 3], action_type="codex:callback", action_status="succeeded")
        msg(
            [4],
            action_type="codex:command",
            action_status="failed",
            exception="codexlogin.errors.Denied",
            reason="sign-in was denied: access_denied",
            outcome="denied",
            exit_code=3,
            error_code="access_denied",
        )
        return out
    msg(
        [3, 1],
        action_type="codex:callback",
        action_status="started",
        path="/auth/callback",
        has_code=True,
        has_state=True,
        has_error=False,
        state_valid=True,
    )
    msg([3, 2], action_type="codex:callback", action_status="succeeded")
    msg(
        [4, 1],
        action_type="codex:token_exchange",
        action_status="started",
        issuer=ISSUER,
        token_endpoint=f"{ISSUER}/oauth/token",
        redirect_uri=redirect,
    )
    if outcome == "token_exchange_failed":
        msg(
            [4, 2],
            action_type="codex:token_exchange",
            action_status="failed",
            exception="codexlogin.errors.TokenExchangeFailed",
            reason="token exchange failed: invalid_grant",
            status=400,
            error_code="invalid_grant",
            error_message="Invalid authorization code",
        )
        msg(
            [5],
            action_type="codex:command",
            action_status="failed",
            exception="codexlogin.errors.TokenExchangeFailed",
            reason="token exchange failed: invalid_grant",
            outcome="token_exchange_failed",
            exit_code=4,
            error_code="invalid_grant",
        )
        return out
    msg([4, 2], action_type="codex:token_exchange", action_status="succeeded", status=200)
    end = 5
    if rng.random() < 0.2:  # keep the average near 7 messages a run
        msg([5, 1], action_type="codex:save_credentials", action_status="started", store="file")
        msg([5, 2], action_type="codex:save_credentials", action_status="succeeded")
        end = 6
    msg([end], action_type="codex:command", action_status="succeeded", outcome="success", exit_code=0)
    return out


def generate(runs: int, out, seed: int = 1, start: float = 1_790_000_000.0) -> int:
    """Write `runs` runs as JSON lines to the text stream `out`; return the number of messages."""
    rng = random.Random(seed)
    dumps = json.JSONEncoder(separators=(",", ":")).encode
    pending: list[dict] = []  # messages of an overlapping run, merged into the next one
    count = 0
    t = start
    for _ in range(runs):
        messages = _run(rng, t)
        t = messages[-1]["timestamp"] + rng.uniform(1, 3600)
        if pending:
            messages = sorted(pending + messages, key=lambda m: m["timestamp"])
            pending = []
        elif rng.random() < 0.02:  # this run overlaps the next one
            pending = messages
            t = messages[0]["timestamp"] + 0.5
            continue
        out.write("\n".join(map(dumps, messages)))
        out.write("\n")
        count += len(messages)
    if pending:
        out.write("\n".join(map(dumps, pending)) + "\n")
        count += len(pending)
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", help="output file ('-' for stdout)")
    parser.add_argument("--runs", type=int, default=1000, help="number of login runs (default 1000)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    args = parser.parse_args(argv)
    if args.out == "-":
        count = generate(args.runs, sys.stdout, args.seed)
    else:
        with open(args.out, "w", encoding="utf-8") as handle:
            count = generate(args.runs, handle, args.seed)
    print(f"wrote {args.runs} runs, {count} messages", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
