"""Benchmark `codex login log` against eliot-tree on generated logs (issue 3's performance goals).

    .venv/bin/python scripts/bench_render.py [--runs 10000] [--big-runs 50000] [--repeat 3] [--instructions]

In one run: generate a 10k-run and a 50k-run codex-login.log (scripts/gen_log.py) in a temp dir,
then time, as subprocesses writing to /dev/null:
- `eliot-tree FILE` (dev-only dependency: `pip install .[bench]`) vs
  `python -m codexlogin login log FILE --no-color` → speed ratio (goal ≥ 25×);
- peak RSS of our renderer on the 10k vs the 50k file (goal: flat);
- `--summary` wall time on the 10k file (goal < 1 s).
Each of our timings is the median of --repeat runs (eliot-tree: one run, it is slow); not the
best, which would flatter us against that one run on a machine whose speed drifts. Peak RSS is per child,
from os.wait4. The load average is printed with the figures: wall-clock ratios move with it (a
loaded machine costs our short process its start-up again and again, eliot-tree's long one less).

codexlogin's bytecode is compiled first (compileall), as an installed package's is: from a fresh
checkout with PYTHONDONTWRITEBYTECODE set, every run would otherwise compile the modules it imports.

--instructions also counts instructions under valgrind's callgrind (repeatable on a loaded
machine): ours and eliot-tree's on the --runs log, and their ratio. eliot-tree under callgrind
takes about half an hour for 10k runs; `--runs 1000 --instructions` takes a few minutes.
"""

from __future__ import annotations

import argparse
import compileall
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

import gen_log  # noqa: E402


def _measure(argv: list[str]) -> tuple[float, int, int]:
    """(wall seconds, peak RSS in KiB, exit status) of one child writing to /dev/null."""
    with open(os.devnull, "wb") as devnull:
        start = time.perf_counter()
        child = subprocess.Popen(argv, stdout=devnull, stderr=subprocess.PIPE)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - start
        child.returncode = os.waitstatus_to_exitcode(status)
        err = child.stderr.read().decode(errors="replace") if child.stderr else ""
        if child.stderr:
            child.stderr.close()
    if child.returncode != 0:
        sys.exit(f"{' '.join(argv)} failed ({child.returncode}): {err.strip()[-500:]}")
    return wall, usage.ru_maxrss, child.returncode


def _instructions(argv: list[str], tmp: str) -> int:
    """Instructions one child executes, counted by callgrind (its output to /dev/null)."""
    out = Path(tmp) / "callgrind.out"
    with open(os.devnull, "wb") as devnull:
        child = subprocess.run(
            ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", *argv],
            stdout=devnull,
            stderr=subprocess.PIPE,
            env={**os.environ, "PYTHONHASHSEED": "0"},
        )
    match = re.search(rb"Collected : (\d+)", child.stderr)
    if child.returncode != 0 or match is None:
        sys.exit(f"callgrind {' '.join(argv)} failed ({child.returncode}): {child.stderr.decode(errors='replace')[-500:]}")
    out.unlink(missing_ok=True)
    return int(match.group(1))


def _median(argv: list[str], repeat: int) -> tuple[float, int]:
    results = [_measure(argv) for _ in range(repeat)]
    return statistics.median(r[0] for r in results), max(r[1] for r in results)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=10_000)
    parser.add_argument("--big-runs", type=int, default=50_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--instructions", action="store_true", help="also count instructions with callgrind (slow)")
    args = parser.parse_args(argv)
    if args.instructions and not shutil.which("valgrind"):
        sys.exit("--instructions needs valgrind")

    python = sys.executable
    compileall.compile_dir(HERE.parent / "codexlogin", quiet=1)
    eliot_tree = shutil.which("eliot-tree", path=str(Path(python).parent)) or shutil.which("eliot-tree")
    ours = [python, "-m", "codexlogin", "login", "log"]

    with tempfile.TemporaryDirectory(prefix="bench-render-") as tmp:
        small, big = Path(tmp) / "small.log", Path(tmp) / "big.log"
        with small.open("w") as handle:
            small_messages = gen_log.generate(args.runs, handle)
        with big.open("w") as handle:
            big_messages = gen_log.generate(args.big_runs, handle, seed=2)
        mib = small.stat().st_size / 2**20
        print(
            f"logs: {args.runs} runs / {small_messages} messages / {mib:.1f} MiB;"
            f" {args.big_runs} runs / {big_messages} messages / {big.stat().st_size / 2**20:.1f} MiB"
        )
        print(f"renderer: {' '.join(ours[1:])} FILE --no-color")

        ours_small, rss_small = _median([*ours, str(small), "--no-color"], args.repeat)
        _, rss_big = _median([*ours, str(big), "--no-color"], 1)
        summary, _ = _median([*ours, str(small), "--summary"], args.repeat)
        json_time, _ = _median([*ours, str(small), "--json"], args.repeat)
        if eliot_tree:
            theirs, theirs_rss = _median([eliot_tree, str(small)], 1)
        else:
            theirs = theirs_rss = None
        load = os.getloadavg()[0]
        counts = None
        if args.instructions:
            ours_count = _instructions([*ours, str(small), "--no-color"], tmp)
            counts = (ours_count, _instructions([eliot_tree, str(small)], tmp) if eliot_tree else None)

    small_label = f"{args.runs // 1000}k" if args.runs >= 1000 else str(args.runs)  # labels name the size measured
    rows = [
        (f"codex login log (tree), {small_label} runs", f"{ours_small:.2f} s", f"{small_messages / ours_small:,.0f} msg/s"),
        (f"codex login log --summary, {small_label}", f"{summary:.2f} s", "goal < 1 s " + ("ok" if summary < 1 else "MISSED")),
        (f"codex login log --json, {small_label}", f"{json_time:.2f} s", f"{small_messages / json_time:,.0f} msg/s"),
    ]
    if theirs is not None:
        ratio = theirs / ours_small
        rows.insert(0, (f"eliot-tree 24.0.0, {small_label} runs", f"{theirs:.2f} s", f"{small_messages / theirs:,.0f} msg/s"))
        rows.append(
            (
                "speed ratio (eliot-tree / ours)",
                f"{ratio:.1f}x",
                "goal >= 25x " + ("ok" if ratio >= 25 else "MISSED") + f" (load average {load:.1f}, {os.cpu_count()} cores)",
            )
        )
    else:
        rows.append(("eliot-tree", "not installed", "pip install .[bench]"))
    growth = rss_big / rss_small
    rows.append((f"peak RSS ours, {small_label} runs", f"{rss_small / 1024:.1f} MiB", ""))
    rows.append(
        (
            f"peak RSS ours, {args.big_runs // 1000}k runs",
            f"{rss_big / 1024:.1f} MiB",
            f"x{growth:.2f} for x{args.big_runs / args.runs:.0f} input " + ("ok" if growth < 1.25 else "GROWS"),
        )
    )
    if theirs is not None:
        rows.append((f"peak RSS eliot-tree, {small_label} runs", f"{theirs_rss / 1024:.1f} MiB", ""))
    if counts is not None:
        rows.append((f"instructions ours, {small_label} runs", f"{counts[0] / 1e9:.2f} G", "callgrind"))
        if counts[1] is not None:
            rows.append((f"instructions eliot-tree, {small_label} runs", f"{counts[1] / 1e9:.2f} G", "callgrind"))
            rows.append(("instruction ratio (eliot-tree / ours)", f"{counts[1] / counts[0]:.1f}x", ""))
    width = max(len(r[0]) for r in rows)
    print()
    for name, value, note in rows:
        print(f"{name:<{width}}  {value:>10}  {note}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
