"""The whole output of `codex login log` on a generated log, pinned byte for byte.

The renderer is tuned for speed (scripts/bench_render.py); these digests were taken before that
tuning, so any change to what a view prints shows up here, not only in the small golden trees of
test_render.py. The input is scripts/gen_log.py's seeded log (about 700 runs: every outcome,
interleaved runs, unfinished ones) with odd and hostile lines mixed in: lines that are not JSON,
JSON that the fast parser refuses but the standard one takes (NaN, huge integers, a lone
surrogate escape, trailing Unicode spaces), CRLF endings, duplicate keys, control characters,
nested values, markup-like text. If a change is meant to alter the output, update the digests
(the assertion prints the new ones) and say why in the commit.
"""

from __future__ import annotations

import hashlib
import io
import json
import sys
from pathlib import Path

import pytest

from codexlogin.logview.render import render
from codexlogin.logview.select import Options
from codexlogin.logview.text import render_text

ROOT = Path(__file__).resolve().parents[2]
T0 = 1_790_000_000.0

ODD = "eeeeeeee-eeee-4eee-8eee-eeeeeeeeeeee"


def _odd_lines() -> list[str]:
    """Lines a real log rarely has; each goes somewhere in the generated one."""
    start = f'{{"task_uuid":"{ODD}","task_level":[1],"timestamp":{T0 + 5},"action_type":"codex:command","action_status":"started"'
    return [
        "not json at all\n",
        "\n",
        "   \n",
        '{"no": "eliot keys"}\n',
        "[1, 2]\n",
        '{"task_uuid": "x", "task_level": []}\n',
        start + ',"command":"login","flow":"browser","n":NaN,"big":123456789012345678901234567890}\r\n',
        f'  {{"task_uuid":"{ODD}","task_level":[2],"timestamp":{T0 + 6},"message_type":"odd:lead","x":1}}\n',
        f'{{"task_uuid":"{ODD}","task_level":[3],"timestamp":{T0 + 7},"message_type":"odd:trail","x":2}}\u2028\x0b\n',
        f'{{"task_uuid":"{ODD}","task_level":[4],"timestamp":{T0 + 8},"message_type":"odd:dup","k":1,"k":"two"}}\n',
        f'{{"task_uuid":"{ODD}","task_level":[5],"timestamp":{T0 + 9},"message_type":"odd:esc","s":"\\ud800 \\u001b[31mred\\u001b[0m"}}\n',
        f'{{"task_uuid":"{ODD}","task_level":[6],"timestamp":1e400,"message_type":"odd:inf","f":-0.0,"g":1E-7,"h":-0}}\n',
        json.dumps(
            {
                "task_uuid": ODD,
                "task_level": [7],
                "timestamp": T0 + 10,
                "message_type": "odd:nested",
                "list": [1, 2.5, None, True, {"a": ["b", {"c": "Bearer abc.def.ghi"}]}],
                "url": "https://example.test/cb?code=secret-code&state=s",
                "markup": "[bold]not a tag[/] \\[x] [link=https://e.test]",
                "lines": "first\nsecond\r\nthird\ttab",
                "unicode": "héllo ✓ \u200b \U0001f600",
                "access_token": "sk-proj-abcdefghijklmnopqrstuvwxyz",
                "long": "word " * 60,
            },
            ensure_ascii=False,
        )
        + "\n",
        f'{{"task_uuid":"{ODD}","task_level":[8,1],"timestamp":{T0 + 11},"action_type":"odd:inner","action_status":"started"}}\n',
        f'{{"task_uuid":"{ODD}","task_level":[8,2],"timestamp":{T0 + 12},"action_type":"odd:inner","action_status":"failed",'
        '"exception":"builtins.ValueError","reason":"bad\\u0007bell"}\n',
        f'{{"task_uuid":"{ODD}","task_level":[9],"timestamp":"soon","action_type":"codex:command","action_status":"failed",'
        '"exception":"trio.Cancelled","reason":"Cancelled"}\n',
        '{"task_uuid":"f-1","task_level":[1],"timestamp":1790000001,"message_type":"twisted:log","log_text":"hi"}\n',
        '{"task_uuid":"f-2","task_level":[1],"timestamp":1790000002.5,"message_type":"x","deep":'
        + "[" * 3000
        + "]" * 3000
        + "}\n",
        '{"task_uuid":"f-3","task_level":[1],"timestamp":1790000003,"action_type":"a","action_status":"started"}',  # no newline
    ]


@pytest.fixture(scope="module")
def log_lines() -> list[str]:
    sys.path.insert(0, str(ROOT / "scripts"))
    try:
        import gen_log
    finally:
        sys.path.pop(0)
    out = io.StringIO()
    gen_log.generate(700, out, seed=7)
    generated = out.getvalue().splitlines(keepends=True)
    odd = _odd_lines()
    step = len(generated) // (len(odd) + 1)
    mixed: list[str] = []
    for i, line in enumerate(odd[:-1]):
        mixed += generated[i * step : (i + 1) * step]
        mixed.append(line)
    mixed += generated[(len(odd) - 1) * step :]
    mixed.append(odd[-1])
    return mixed


EVERY_RUN = (703, 5416, 5, [("cancelled", 38), ("failed", 143), ("message", 1), ("succeeded", 504), ("unfinished", 17)])

# (view, Options keywords) → (sha256 of the output, (runs, messages, skipped lines, runs by status)), taken before the renderer was tuned for speed.
CASES = {
    "tree": (
        {},
        (
            "101d1fe18981b7f1aaf1df9025526caedbdf538c1974be7586b910b11fbb90dd",
            EVERY_RUN,
        ),
    ),
    "tree-wrapped": (
        {"width": 60},
        (
            "3376d047ba32ea3bc7a0bfb8f8efe6433daeab2dc8bf9915e4d4fb7cd2a3298c",
            EVERY_RUN,
        ),
    ),
    "tree-colour": (
        {"color": True},
        (
            "1224b344faa385aab65da98747d948630c32e47805003be36c7fce6001f48428",
            EVERY_RUN,
        ),
    ),
    "summary": (
        {"mode": "summary"},
        (
            "cb0dc5410e1a2dbd0b3d1e82469f9310cc35b68ba27a5711ea54025d8a1aeb8e",
            EVERY_RUN,
        ),
    ),
    "json": (
        {"mode": "json"},
        (
            "93e8c99fe17b2ecc5f2a89772ceedfb2ace74d4f307d507f4d8668c240fd1082",
            EVERY_RUN,
        ),
    ),
    "text": (
        {"mode": "text", "formatter": render_text},
        (
            "89584d6813568473e7445f38ad33de1a9e22945751fff94fc37921c1524bae2d",
            EVERY_RUN,
        ),
    ),
    "failed-grep": (
        {"failed": True, "grep": "denied"},
        ("6ae450a02982718b8bc6276389698fc8403095304c75a62e6ead46b1bae8a815", (52, 5416, 5, [("failed", 52)])),
    ),
    "last": (
        {"last": 25},
        (
            "5e41ffc75fac6c916a2c649484e3441f51c948a02327e21bf78fd50caf61909a",
            (25, 5416, 5, [("failed", 7), ("succeeded", 17), ("unfinished", 1)]),
        ),
    ),
}


@pytest.mark.parametrize("case", list(CASES))
def test_whole_output_of_a_generated_log_is_unchanged(log_lines, case):
    options, expected = CASES[case]
    out = io.StringIO()
    stats = render([iter(log_lines)], out, Options(**options))  # type: ignore[arg-type]
    digest = hashlib.sha256(out.getvalue().encode("utf-8", "surrogatepass")).hexdigest()
    summary = (stats.runs, stats.messages, stats.skipped, sorted((stats.by_status or {}).items()))
    assert (digest, summary) == expected, f"{case}: {(digest, summary)!r}"
