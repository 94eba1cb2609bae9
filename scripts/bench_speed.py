"""Benchmark the speed goals of issue 5 in one run and print a PASS/FAIL table.

    .venv/bin/python scripts/bench_speed.py [--reps 25] [--logins 12] [--inproc 40] [--no-temp-venv]

Goals (ratios and differences are measured within this one run, the compared commands interleaved):
1. `codex login status` cold start ≤ 1.3× `python -c "import cyclopts"` (same interpreter), both as
   `python -m codexlogin login status` and as the `codex` console script; also in a temporary venv
   with a regular (non-editable) install, to show what the editable finder costs.
2. `codex login --no-browser` prints the authorize URL with the listener ready ≤ 250 ms after the
   process started (time to the URL line on stderr, then a TCP connect to the printed port must
   succeed at once).
3. The callback → success page path adds ≤ 5 ms over the token endpoint's own time: in-process
   (trio), the browser's GET of /auth/callback until the success page has arrived, minus the time
   the dev issuer's ASGI handler spent in /oauth/token (code exchange + API-key exchange).
4. Log writing adds ≤ 1 ms per login: full in-process logins with `open_log` (scrubbed file) vs
   without (eliot with no destination), alternated; and peak RSS of a full `codex login`
   process (os.wait4) ≤ 80 MB.

Children run with cwd in a temp dir (so the package comes through the installed finder, not the
source tree on sys.path) and CODEX_HOME in a temp dir; everything is on 127.0.0.1 and every
process started here is killed on exit. The package is byte-compiled first (as any install does);
the interpreter may run with PYTHONDONTWRITEBYTECODE=1, which would otherwise recompile our
modules on every start. Figures are medians (min in brackets).
"""

from __future__ import annotations

import argparse
import compileall
import contextlib
import io
import os
import re
import select
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
import urllib.parse
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PY = sys.executable
RSS_LIMIT_MB = 80.0


# --- helpers ---------------------------------------------------------------------------------------


def med(values: list[float]) -> float:
    return statistics.median(values)


def fmt_ms(values: list[float]) -> str:
    return f"{med(values) * 1e3:.1f} ms (min {min(values) * 1e3:.1f})"


def run_timed(argv: list[str], env: dict[str, str], cwd: Path, expect: int = 0) -> tuple[float, int]:
    """(wall seconds, peak RSS KiB) of one child, output discarded."""
    start = time.perf_counter()
    child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env, cwd=cwd)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - start
    child.returncode = os.waitstatus_to_exitcode(status)
    err = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.stderr:
        child.stderr.close()
    if child.returncode != expect:
        raise SystemExit(f"{' '.join(argv)} exited {child.returncode} (expected {expect}): {err.strip()[-500:]}")
    return wall, usage.ru_maxrss


class LineReader:
    """Read lines from a child's pipe with a deadline (a hung child must not hang the benchmark)."""

    def __init__(self, stream) -> None:
        self.fd = stream.fileno()
        self.buffer = b""

    def readline(self, deadline: float) -> str | None:
        while b"\n" not in self.buffer:
            remaining = deadline - time.perf_counter()
            if remaining <= 0:
                raise TimeoutError("child did not print the expected line in time")
            ready, _, _ = select.select([self.fd], [], [], remaining)
            if ready:
                chunk = os.read(self.fd, 65536)
                if not chunk:
                    return None
                self.buffer += chunk
        line, _, self.buffer = self.buffer.partition(b"\n")
        return line.decode(errors="replace")


def http_get(host: str, port: int, target: str, host_header: str, timeout: float = 10.0) -> tuple[int, dict[str, str], bytes]:
    """A minimal HTTP/1.1 GET (Connection: close) returning status, headers, body."""
    with socket.create_connection((host, port), timeout=timeout) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: {host_header}\r\nConnection: close\r\n\r\n".encode("latin-1"))
        data = b""
        while chunk := sock.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1])
    headers = {k.strip().lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    return status, headers, body


def browse(authorize_url: str) -> int:
    """The user's browser against the auto-approving dev issuer: authorize → 302 → callback."""
    parts = urllib.parse.urlsplit(authorize_url)
    status, headers, _ = http_get(parts.hostname, parts.port, f"{parts.path}?{parts.query}", parts.netloc)
    if status != 302:
        raise SystemExit(f"dev issuer answered {status} to the authorize request")
    callback = urllib.parse.urlsplit(headers["location"])
    status, _, _ = http_get("127.0.0.1", callback.port, f"{callback.path}?{callback.query}", callback.netloc)
    return status


@contextlib.contextmanager
def started(argv: list[str], **kwargs):
    """Popen that is always terminated (then killed) and reaped on the way out."""
    proc = subprocess.Popen(argv, **kwargs)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(5)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        for stream in (proc.stdout, proc.stderr, proc.stdin):
            if stream:
                stream.close()


# --- setup -----------------------------------------------------------------------------------------


def make_temp_venv(work: Path, log: list[str]) -> Path | None:
    """A venv with codexlogin installed normally (a wheel), the dependencies from our venv by a
    plain path in a .pth (so the main venv's editable finder is not loaded there)."""
    venv = work / "venv"
    try:
        subprocess.run([PY, "-m", "venv", "--without-pip", str(venv)], check=True, capture_output=True, timeout=60)
        vpy = venv / "bin" / "python"
        purelib = subprocess.run(
            [str(vpy), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
            timeout=30,
        ).stdout.strip()
        Path(purelib, "_bench_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
        src = work / "src"
        src.mkdir()
        shutil.copytree(ROOT / "codexlogin", src / "codexlogin", ignore=shutil.ignore_patterns("__pycache__"))
        for name in ("pyproject.toml", "README.md"):
            shutil.copy(ROOT / name, src / name)
        subprocess.run(
            [str(vpy), "-m", "pip", "install", "-q", "--no-deps", str(src)],
            check=True,
            capture_output=True,
            timeout=120,
            cwd=work,
        )
    except (subprocess.SubprocessError, OSError) as exc:
        log.append(f"temp venv skipped: {exc}")
        return None
    if not (venv / "bin" / "codex").exists():
        log.append("temp venv skipped: no console script was installed")
        return None
    return venv


# --- goal 2 + RSS: full `codex login --no-browser` processes ----------------------------------------


def login_process(codex: str, issuer: str, env: dict[str, str], cwd: Path) -> tuple[float, float, float, int, int]:
    """Seconds to the URL line, to a TCP connect to the listener, to its first HTTP answer; peak RSS
    KiB; exit code — of one full login."""
    start = time.perf_counter()
    with started(
        [codex, "login", "--no-browser", "--port", "0", "--issuer", issuer],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=cwd,
    ) as proc:
        reader = LineReader(proc.stderr)
        deadline = start + 10
        port = None
        while True:
            line = reader.readline(deadline)
            if line is None:
                raise SystemExit(f"codex login exited before printing the URL ({proc.wait()})")
            if port is None and (m := re.search(r"http://localhost:(\d+)", line)):
                port = int(m.group(1))
            if line.startswith(f"{issuer}/oauth/authorize?"):
                t_url = time.perf_counter() - start
                url = line.strip()
                break
        assert port is not None
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            t_ready = time.perf_counter() - start
        http_get("127.0.0.1", port, "/", f"localhost:{port}")  # any page: the listener answers
        t_answer = time.perf_counter() - start
        status = browse(url)
        if status != 200:
            raise SystemExit(f"callback answered {status}")
        while reader.readline(time.perf_counter() + 10) is not None:
            pass  # drain stderr to EOF (the success line)
        _, wait_status, usage = os.wait4(proc.pid, 0)
        proc.returncode = code = os.waitstatus_to_exitcode(wait_status)
    return t_url, t_ready, t_answer, usage.ru_maxrss, code


# --- goals 3 and 4a: in-process logins ------------------------------------------------------------


def inprocess(runs: int, home: Path) -> dict[str, list[float]]:
    import trio

    from codexlogin import diagnostics
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.config import load_settings
    from codexlogin.devissuer import DevIssuer, serve_dev_issuer
    from codexlogin.flows.browser import sign_in

    class TimedIssuer:
        """The dev issuer's ASGI app, timing its own /oauth/token handler."""

        def __init__(self, inner: DevIssuer) -> None:
            self.inner = inner
            self.token_seconds = 0.0
            self.issuer_url = ""

        async def __call__(self, scope, receive, send) -> None:
            if scope["type"] == "http" and scope["path"] == "/oauth/token":
                t0 = time.perf_counter()
                try:
                    await self.inner(scope, receive, send)
                finally:
                    self.token_seconds += time.perf_counter() - t0
            else:
                await self.inner(scope, receive, send)

    destination_seconds = [0.0]
    original_call = diagnostics.ScrubbingDestination.__call__

    def timed_call(self, message):
        t0 = time.perf_counter()
        try:
            return original_call(self, message)
        finally:
            destination_seconds[0] += time.perf_counter() - t0

    diagnostics.ScrubbingDestination.__call__ = timed_call
    results: dict[str, list[float]] = {
        k: [] for k in ("callback", "token", "overhead", "with_log", "without_log", "destination", "log_work")
    }
    os.environ["CODEX_HOME"] = str(home)
    log_dir = home / "log"

    async def main() -> None:
        issuer = TimedIssuer(DevIssuer(auto_approve=True))
        async with trio.open_nursery() as nursery:
            url = await nursery.start(serve_dev_issuer, issuer)
            issuer.inner.issuer_url = url
            settings = load_settings({"issuer": url, "port": 0, "no_browser": True, "timeout": 30})

            async def one_login(logged: bool) -> tuple[float, float, float]:
                authorize: list[str] = []
                listening = trio.Event()

                def on_listening(u: str) -> None:
                    authorize.append(u)
                    listening.set()

                async def browser() -> tuple[float, float]:
                    await listening.wait()
                    parts = urllib.parse.urlsplit(authorize[0])
                    status, headers, _ = await trio.to_thread.run_sync(
                        http_get, parts.hostname, parts.port, f"{parts.path}?{parts.query}", parts.netloc
                    )
                    assert status == 302, status
                    cb = urllib.parse.urlsplit(headers["location"])
                    stream = await trio.open_tcp_stream("127.0.0.1", cb.port)
                    request = f"GET {cb.path}?{cb.query} HTTP/1.1\r\nHost: {cb.netloc}\r\nConnection: close\r\n\r\n"
                    token_before = issuer.token_seconds
                    t0 = time.perf_counter()
                    await stream.send_all(request.encode("latin-1"))
                    data = b""
                    while chunk := await stream.receive_some(65536):
                        data += chunk
                    elapsed = time.perf_counter() - t0
                    await stream.aclose()
                    assert data.startswith(b"HTTP/1.1 200"), data[:100]
                    return elapsed, issuer.token_seconds - token_before

                box: list[tuple[float, float]] = []

                async def drive() -> None:
                    box.append(await browser())

                async def login() -> None:
                    with diagnostics.command_action("login", "browser", issuer=url) as action:
                        await sign_in(settings, ConsoleUI(io.StringIO()), on_listening=on_listening)
                        action.add_success_fields(outcome="success", exit_code=0)

                destination_seconds[0] = 0.0
                t0 = time.perf_counter()
                log_cm = diagnostics.open_log(log_dir) if logged else contextlib.nullcontext()
                opened = time.perf_counter()
                log_cm.__enter__()
                open_close = time.perf_counter() - opened
                try:
                    async with trio.open_nursery() as inner:
                        inner.start_soon(drive)
                        await login()
                finally:
                    closing = time.perf_counter()
                    log_cm.__exit__(None, None, None)
                    open_close += time.perf_counter() - closing
                total = time.perf_counter() - t0
                if logged:
                    results["log_work"].append(destination_seconds[0] + open_close)
                callback, token = box[0]
                return total, callback, token

            for _ in range(3):  # warm-up; the first open_log also ends eliot's start-up buffering
                await one_login(True)
                await one_login(False)
            for i in range(runs):
                order = (True, False) if i % 2 == 0 else (False, True)
                for logged in order:
                    total, callback, token = await one_login(logged)
                    if logged:
                        results["with_log"].append(total)
                        results["destination"].append(destination_seconds[0])
                        results["callback"].append(callback)
                        results["token"].append(token)
                        results["overhead"].append(callback - token)
                    else:
                        results["without_log"].append(total)
            nursery.cancel_scope.cancel()

    try:
        trio.run(main)
    finally:
        diagnostics.ScrubbingDestination.__call__ = original_call
    return results


# --- main ------------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--reps", type=int, default=25, help="cold-start repetitions per command (goal 1)")
    parser.add_argument("--logins", type=int, default=12, help="full `codex login` processes (goal 2, RSS)")
    parser.add_argument("--inproc", type=int, default=40, help="in-process login pairs (goals 3, 4)")
    parser.add_argument("--no-temp-venv", action="store_true", help="skip the non-editable install")
    args = parser.parse_args(argv)
    bench_start = time.perf_counter()
    notes: list[str] = []

    compileall.compile_dir(str(ROOT / "codexlogin"), quiet=1)
    codex = str(Path(PY).parent / "codex")
    with tempfile.TemporaryDirectory(prefix="bench-speed-") as tmp:
        work = Path(tmp)
        home = work / "home"
        home.mkdir()
        cwd = work / "cwd"
        cwd.mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith("CODEX_LOGIN_") and k != "BROWSER"}
        env["CODEX_HOME"] = str(home)
        # A custom CA bundle (CODEX_CA_CERTIFICATE / SSL_CERT_FILE) is loaded before the listener
        # starts, so that a bad one stays a usage error: goal 2 is measured with the default trust
        # store, and once more with the bundle the environment names, if any.
        custom_ca = env.pop("CODEX_CA_CERTIFICATE", None) or env.get("SSL_CERT_FILE")
        env.pop("SSL_CERT_FILE", None)
        env_ca = dict(env, CODEX_CA_CERTIFICATE=custom_ca) if custom_ca else None

        venv = None if args.no_temp_venv else make_temp_venv(work, notes)

        with started(
            [PY, "-m", "codexlogin.devissuer", "--auto-approve"],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            env=env,
            cwd=cwd,
        ) as issuer_proc:
            issuer = LineReader(issuer_proc.stdout).readline(time.perf_counter() + 15)
            if not issuer or not issuer.startswith("http://127.0.0.1:"):
                raise SystemExit(f"dev issuer did not start: {issuer!r}")
            issuer = issuer.strip()

            # Goal 2 and peak RSS; the first login is a warm-up (page cache) and leaves a real
            # ChatGPT auth.json behind for goal 1.
            login_process(codex, issuer, env, cwd)
            t_url, t_ready, t_answer, rss, t_ready_ca = [], [], [], [], []
            for _ in range(args.logins):
                u, r, a, kib, code = login_process(codex, issuer, env, cwd)
                if code != 0:
                    raise SystemExit(f"codex login exited {code}")
                t_url.append(u)
                t_ready.append(r)
                t_answer.append(a)
                rss.append(kib / 1024)
                if env_ca is not None:  # interleaved
                    t_ready_ca.append(login_process(codex, issuer, env_ca, cwd)[1])

        # Goal 1: interleaved cold starts, order rotated every repetition.
        commands = {
            "python -c 'import cyclopts'": ([PY, "-c", "import cyclopts"], 0),
            "python -m codexlogin login status": ([PY, "-m", "codexlogin", "login", "status"], 0),
            "codex login status": ([codex, "login", "status"], 0),
        }
        if venv is not None:
            vpy = str(venv / "bin" / "python")
            commands |= {
                "[wheel venv] python -c 'import cyclopts'": ([vpy, "-c", "import cyclopts"], 0),
                "[wheel venv] python -m codexlogin login status": ([vpy, "-m", "codexlogin", "login", "status"], 0),
                "[wheel venv] codex login status": ([str(venv / "bin" / "codex"), "login", "status"], 0),
            }
        names = list(commands)
        for name in names:  # warm-up
            run_timed(commands[name][0], env, cwd, commands[name][1])
        cold: dict[str, list[float]] = {name: [] for name in names}
        for i in range(args.reps):
            for name in names[i % len(names) :] + names[: i % len(names)]:
                cold[name].append(run_timed(commands[name][0], env, cwd, commands[name][1])[0])

        inproc = inprocess(args.inproc, work / "inproc-home")

    # --- the table -------------------------------------------------------------------------------
    rows: list[tuple[str, str, str, bool]] = []
    base = med(cold["python -c 'import cyclopts'"])
    for name in names:
        print(f"  cold start  {name:<50} {fmt_ms(cold[name])}")
    for prefix in ("", "[wheel venv] "):
        base_name = f"{prefix}python -c 'import cyclopts'"
        if base_name not in cold:
            continue
        base = med(cold[base_name])
        for cmd in ("python -m codexlogin login status", "codex login status"):
            ratio = med(cold[prefix + cmd]) / base
            rows.append((f"1 cold start {prefix}{cmd}", fmt_ms(cold[prefix + cmd]), f"{ratio:.2f}x / 1.30x", ratio <= 1.3))
    rows.append(("2 --no-browser: URL printed", fmt_ms(t_url), "", True))
    rows.append(
        ("2 --no-browser: URL + listener connect", fmt_ms(t_ready), f"{med(t_ready) * 1e3:.0f} / 250 ms", med(t_ready) <= 0.25)
    )
    rows.append(("2   first answer from the listener", fmt_ms(t_answer), "", True))
    if t_ready_ca:
        rows.append(("2   same, custom CA bundle (CODEX_CA_CERTIFICATE)", fmt_ms(t_ready_ca), "", True))
    rows.append(("3 callback GET → success page", fmt_ms(inproc["callback"]), "", True))
    rows.append(("3   of which issuer /oauth/token handlers", fmt_ms(inproc["token"]), "", True))
    overhead = inproc["overhead"]
    rows.append(("3 callback path overhead", fmt_ms(overhead), f"{med(overhead) * 1e3:.2f} / 5 ms", med(overhead) <= 0.005))
    diffs = [a - b for a, b in zip(inproc["with_log"], inproc["without_log"], strict=True)]
    rows.append(("4 login in-process, scrubbed log file", fmt_ms(inproc["with_log"]), "", True))
    rows.append(("4 login in-process, no log destination", fmt_ms(inproc["without_log"]), "", True))
    rows.append(("4   time inside the scrubbing destination", fmt_ms(inproc["destination"]), "", True))
    # The goal is judged on the logging work timed where it happens (opening/closing the log plus
    # every message through the scrubbing destination and the file). The paired difference of two
    # ~40 ms logins has a standard error above 1 ms on this shared machine, so it is shown, not judged.
    work = inproc["log_work"]
    rows.append(
        ("4 log writing per login (open + scrub + write)", fmt_ms(work), f"{med(work) * 1e3:.2f} / 1 ms", med(work) <= 0.001)
    )
    rows.append(("4   paired diff of whole logins (noisy)", f"{med(diffs) * 1e3:+.2f} ms", "", True))
    rows.append(
        (
            "4 peak RSS of `codex login`",
            f"{max(rss):.1f} MB (median {med(rss):.1f})",
            f"{max(rss):.0f} / {RSS_LIMIT_MB:.0f} MB",
            max(rss) <= RSS_LIMIT_MB,
        )
    )

    print()
    width = max(len(r[0]) for r in rows)
    print(f"{'goal':<{width}}  {'measured':<28}  {'ratio / limit':<16}  result")
    for label, value, limit, ok in rows:
        print(f"{label:<{width}}  {value:<28}  {limit:<16}  {('PASS' if ok else 'FAIL') if limit else ''}")
    print()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load {os.getloadavg()[0]:.2f};"
        f" {args.reps} cold starts per command, {args.logins} login processes, {args.inproc} in-process login pairs;"
        f" bench took {time.perf_counter() - bench_start:.0f} s"
    )
    for note in notes:
        print(note)
    return 0 if all(ok for _, _, limit, ok in rows if limit) else 1


if __name__ == "__main__":
    sys.exit(main())
