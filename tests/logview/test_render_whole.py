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
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from codexlogin.diagnostics.rotation import OVERLONG_LINE, open_text
from codexlogin.logview import select, tree
from codexlogin.logview.render import render
from codexlogin.logview.select import Options, line_batches
from codexlogin.logview.text import Clock, render_text

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
        '{"task_uuid":"f-4","task_level":[1],"timestamp":1790000004,"message_type":"x","deep":' + "[" * 1020 + "]" * 1020 + "}\n",
        '{"task_uuid":"f-5","task_level":[1],"timestamp":1790000005,"message_type":"x","deep":' + "[" * 900 + "]" * 900 + "}\n",
        '{"task_uuid":"f-6","task_level":[1],"timestamp":18446744073709551616,"message_type":"x","n":[{"m":-9223372036854775809}]}\n',
        '{"task_uuid":"f-7","task_level":[1],"timestamp":1790000007,"message_type":"x","f":1e19,"g":-1.5e30,"h":9223372036854775807}\n',
        '{"task_uuid":"f-8","task_level":[1,18446744073709551617],"timestamp":1790000008,"message_type":"x"}\n',
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


EVERY_RUN = (707, 5420, 6, [("cancelled", 38), ("failed", 143), ("message", 4), ("succeeded", 504), ("unfinished", 18)])

# view → (Options keywords, (sha256 of the output, (runs, messages, skipped lines, runs by status))),
# taken before the renderer was tuned for speed.
CASES = {
    "tree": ({}, ("072351d45c5cf33f8d9e9f62284f016b6804d03f7dbacab30b29935f8193879c", EVERY_RUN)),
    "tree-wrapped": ({"width": 60}, ("b7f31fea50e15bc1d54a8c16ae4f773ff4442e675068d117191e1bec66488303", EVERY_RUN)),
    "tree-colour": ({"color": True}, ("94fc83c2494d4243146b1dbb13e4d495640756deae1985136c6f34d831301180", EVERY_RUN)),
    "summary": ({"mode": "summary"}, ("ef17e78616ec623da6ff45894235070d44f7f3b5807d1ac0dd066da6a2c0b691", EVERY_RUN)),
    "json": ({"mode": "json"}, ("8f467a4ddc00df2499c30dfebab1d1d1067718414738e508bc5111a193853af4", EVERY_RUN)),
    "text": (
        {"mode": "text", "formatter": render_text},
        ("a002582057540f66cd490e8807602256fca03485898e5b85752ed03e415c9a17", EVERY_RUN),
    ),
    "failed-grep": (
        {"failed": True, "grep": "denied"},
        ("6ae450a02982718b8bc6276389698fc8403095304c75a62e6ead46b1bae8a815", (52, 5420, 6, [("failed", 52)])),
    ),
    "last": (
        {"last": 25},
        (
            "3155c366083c30c415fbbfa149269b2b38226cbf1c026f471f6a7e7f0a2dcbae",
            (25, 5420, 6, [("failed", 6), ("message", 1), ("succeeded", 17), ("unfinished", 1)]),
        ),
    ),
}


@pytest.mark.parametrize("fast_after", [tree.FAST_AFTER, 1], ids=["json-then-orjson", "orjson"])
@pytest.mark.parametrize("case", list(CASES))
def test_whole_output_of_a_generated_log_is_unchanged(log_lines, case, fast_after, monkeypatch):
    monkeypatch.setattr(tree, "FAST_AFTER", fast_after)
    options, expected = CASES[case]
    out = io.StringIO()
    stats = render([iter(log_lines)], out, Options(**options))  # type: ignore[arg-type]
    digest = hashlib.sha256(out.getvalue().encode("utf-8", "surrogatepass")).hexdigest()
    summary = (stats.runs, stats.messages, stats.skipped, sorted((stats.by_status or {}).items()))
    assert (digest, summary) == expected, f"{case}: {(digest, summary)!r}"


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.integers(min_value=2**62, max_value=2**70) | st.floats() | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=5), inner, max_size=4),
    max_leaves=12,
)
_envelope_numbers = st.integers(min_value=1, max_value=3) | st.integers(min_value=2**63 - 2, max_value=2**64 + 2) | st.floats()


@given(
    st.dictionaries(st.text(max_size=8), _json_values, max_size=6),
    st.lists(_envelope_numbers, min_size=1, max_size=3),
    _envelope_numbers,
    st.sampled_from(["", "\n", " \r\n", "\u2028"]),
)
def test_a_line_reads_the_same_through_orjson_as_through_the_json_module(fields, level, timestamp, ending):
    """Huge integers (orjson makes floats of them), NaN, lone surrogates and odd trailing spaces:
    whichever parser reads a line, the same message comes out."""
    message = {**fields, "task_uuid": "u", "task_level": level, "timestamp": timestamp, "message_type": "m"}
    line = json.dumps(message) + ending
    seen = []
    for fast_after in (10**9, 1):
        builder = tree.TreeBuilder()
        builder._fast_after = fast_after
        builder.feed(line)  # the first message: orjson is loaded after it (fast_after 1)
        run = builder.feed(line.replace('"task_uuid": "u"', '"task_uuid": "v"', 1))
        runs = [run] if run is not None else list(builder.finish())
        seen.append(
            repr([(r.uuid, [(n.level, n.start, n.start_ts) for n in r.root.walk()]) for r in runs]) + repr(builder.skipped)
        )
    assert seen[0] == seen[1]


@hsettings(max_examples=300, deadline=None)
@given(
    pieces=st.lists(st.sampled_from(["a", "é", "😀", " ", "\n", "\r", "\r\n", "{", "x" * 9]), max_size=40),
    cap=st.integers(min_value=1, max_value=12),
    chunk=st.integers(min_value=1, max_value=9),
)
def test_a_file_read_in_chunks_gives_the_lines_a_line_reader_gives(tmp_path_factory, pieces, cap, chunk):
    """select.line_batches (the renderer's reader) against BoundedLines' own iteration: the same
    lines (newlines aside), the same over-long ones replaced and counted, whatever the chunk size."""
    path = tmp_path_factory.mktemp("chunks") / "log"
    path.write_bytes("".join(pieces).encode("utf-8"))
    with open_text(path, max_line_chars=cap) as stream:
        expected = [line if line is OVERLONG_LINE else line.removesuffix("\n") for line in stream]
        expected_overlong = stream.overlong
    with open_text(path, max_line_chars=cap) as stream:
        got = [line for batch in line_batches(stream, chunk) for line in batch]
        assert stream.overlong == expected_overlong
    assert got == expected


@pytest.mark.parametrize("chunk", [select.READ_CHUNK, 7])
def test_the_log_read_from_a_file_renders_the_same(log_lines, tmp_path, monkeypatch, chunk):
    """A file goes through select.line_batches; the digest is the one of the lines given directly."""
    monkeypatch.setattr(select, "READ_CHUNK", chunk)
    path = tmp_path / "codex-login.log"
    path.write_bytes("".join(log_lines).encode("utf-8", "surrogatepass"))
    out = io.StringIO()
    with open_text(path) as stream:
        render([stream], out, Options())
    assert hashlib.sha256(out.getvalue().encode("utf-8", "surrogatepass")).hexdigest() == CASES["tree"][1][0]


@given(st.floats(min_value=-6e10, max_value=2.5e11) | st.integers(min_value=-(10**11), max_value=10**11))
def test_the_clock_says_what_datetime_says_to_the_millisecond(ts):
    """text.Clock caches per day and per second; each time still reads as datetime gives it."""
    clock = Clock(local=False)
    ms = int(ts * 1000)
    try:
        expected = datetime.fromtimestamp(ms // 1000, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
    except (OverflowError, OSError, ValueError):
        expected = "-"
    assert clock(ts) == expected
    assert clock(ts) == expected  # from the cache
