"""Hostile input never hangs, never costs unbounded memory and never ends in exit 70.

FIFOs, devices and huge lines where a file is expected (config.toml, the CA bundle, `codex login
log`), hostile numbers (a 400-digit JWT `exp`), 5000-deep TOML, control characters in the issuer,
a SOCKS proxy without httpx's socks extra, and the API-key mask on short keys.

Real files and FIFOs in tmp dirs; each command that could hang runs as a real subprocess under a
hard timeout, so a regression fails instead of blocking the suite.
"""

from __future__ import annotations

import base64
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from harness import IssuerWrapper, run_cli
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from codexlogin import rfc3339
from codexlogin.config import load_settings
from codexlogin.credentials.files import save_auth
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.credentials.status import evaluate, mask_api_key, refresh_due
from codexlogin.diagnostics.rotation import OVERLONG_LINE, BoundedLines, open_text
from codexlogin.errors import UsageError
from codexlogin.oauth import jwt
from codexlogin.oauth.proxy import check_proxy_environment, socks_support
from codexlogin.oauth.tls import check_ca_files, ssl_verify_setting

CODEX = [sys.executable, "-m", "codexlogin"]
HANG_BOUND = 20  # seconds: every command here answers in well under 2 s, a hang fails


def codex(*args: str, home: Path, env: dict[str, str] | None = None, stdin: int | None = subprocess.DEVNULL):
    full_env = {**os.environ, "CODEX_HOME": str(home), **(env or {})}
    return subprocess.run([*CODEX, *args], env=full_env, stdin=stdin, capture_output=True, text=True, timeout=HANG_BOUND)


def one_error_line(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in result.stderr, result.stderr
    return lines[0]


@pytest.fixture
def home(tmp_path):
    path = tmp_path / "codex-home"
    path.mkdir()
    return path


# --- config.toml: regular files only, bounded, no recursion blow-up -----------------------------


@pytest.mark.parametrize("kind", ["fifo", "device", "directory"])
def test_config_toml_that_is_not_a_regular_file_is_a_usage_error(home, kind):
    config = home / "config.toml"
    if kind == "fifo":
        os.mkfifo(config)  # opening it for reading would wait for a writer for ever
    elif kind == "device":
        config.symlink_to("/dev/zero")  # reading it would never end
    else:
        config.mkdir()
    result = codex("login", "status", home=home)
    assert result.returncode == 2
    line = one_error_line(result)
    assert str(config) in line and "not a regular file" in line


@pytest.mark.parametrize(
    "nested",
    ["a = " + "[" * 5000 + "]" * 5000, "a = " + "{b = " * 5000 + "1" + "}" * 5000, "[" + "a." * 5000 + "a]"],
    ids=["arrays", "inline-tables", "dotted-key"],
)
def test_deeply_nested_config_toml_is_a_usage_error(home, nested):
    (home / "config.toml").write_text(nested + "\n")
    try:
        settings = load_settings({})
    except UsageError as error:
        assert "config.toml is not valid TOML" in error.detail and "\n" not in error.detail
    else:  # a dotted key is parsed without recursion: then it is just an unknown key, ignored
        assert settings.issuer == "https://auth.openai.com"
    result = codex("login", "status", home=home)
    assert result.returncode in (1, 2) and "Traceback" not in result.stderr


def test_a_huge_config_toml_is_refused_without_being_parsed(home):
    with (home / "config.toml").open("w") as handle:
        handle.write("# " + "x" * (5 * 1024 * 1024) + "\n")
    with pytest.raises(UsageError, match="larger than 4 MiB"):
        load_settings({})


def test_a_symlinked_regular_config_toml_still_works(home, tmp_path):
    real = tmp_path / "real.toml"
    real.write_text('issuer = "https://issuer.example"\n')
    (home / "config.toml").symlink_to(real)
    assert load_settings({}).issuer == "https://issuer.example"


# --- the CA bundle: regular files only ---------------------------------------------------------


@pytest.mark.parametrize("variable", ["CODEX_CA_CERTIFICATE", "SSL_CERT_FILE"])
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_a_ca_bundle_that_is_not_a_regular_file_is_a_usage_error_before_the_url(home, tmp_path, variable, kind):
    bundle = tmp_path / "bundle.pem"
    if kind == "fifo":
        os.mkfifo(bundle)
    else:
        bundle.symlink_to("/dev/zero")
    result = codex("login", "--port", "0", "--no-browser", home=home, env={variable: str(bundle)})
    assert result.returncode == 2
    line = one_error_line(result)
    assert f"from {variable}" in line and "must be a regular file" in line
    assert "oauth/authorize" not in result.stderr  # refused before the sign-in URL is shown


def test_a_fifo_ssl_cert_file_is_refused_even_when_codex_ca_certificate_wins(tmp_path):
    """OpenSSL opens SSL_CERT_FILE itself in create_default_context(): a FIFO there would hang."""
    good = tmp_path / "good.pem"
    good.write_text(ssl_default_pem())
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(UsageError, match="from SSL_CERT_FILE is a FIFO"):
        ssl_verify_setting({"CODEX_CA_CERTIFICATE": str(good), "SSL_CERT_FILE": str(fifo)})
    check_ca_files({"CODEX_CA_CERTIFICATE": str(good)})  # a regular file passes
    check_ca_files({"SSL_CERT_FILE": str(tmp_path / "missing.pem")})  # missing: the load says so


def test_doctor_reports_a_fifo_ca_bundle_without_hanging(home, tmp_path):
    fifo = tmp_path / "ca.pem"
    os.mkfifo(fifo)
    result = codex(
        "login", "doctor", home=home, env={"CODEX_CA_CERTIFICATE": str(fifo), "CODEX_LOGIN_ISSUER": "http://127.0.0.1:9"}
    )
    ca_line = next(line for line in result.stdout.splitlines() if "ca_bundle" in line)
    assert ca_line.startswith("FAIL") and "is a FIFO" in ca_line


def ssl_default_pem() -> str:
    import ssl

    paths = ssl.get_default_verify_paths()
    for candidate in (paths.cafile, paths.openssl_cafile, "/etc/ssl/certs/ca-certificates.crt"):
        if candidate and Path(candidate).is_file():
            return Path(candidate).read_text()
    pytest.skip("no system CA file to copy")


# --- `codex login log`: regular files (or stdin), lines capped --------------------------------


@pytest.mark.parametrize("source", ["/dev/zero", "fifo"])
def test_log_refuses_a_device_or_fifo_path(home, tmp_path, source):
    if source == "fifo":
        source = str(tmp_path / "fifo")
        os.mkfifo(source)
    result = codex("login", "log", source, home=home)
    assert result.returncode == 1
    line = one_error_line(result)
    assert "not a regular file" in line and "codex login log -" in line


def test_log_reads_an_endless_stdin_line_in_bounded_memory(home):
    """200 MB without a newline on stdin: read and dropped piece by piece, counted as one skipped
    line; the child's peak RSS stays near the interpreter's own (~20 MB), far below the input."""
    script = (
        "import resource, subprocess, sys\n"
        "feed = subprocess.Popen(['head', '-c', '200000000', '/dev/zero'], stdout=subprocess.PIPE)\n"
        "done = subprocess.run(sys.argv[1:], stdin=feed.stdout, capture_output=True, text=True)\n"
        "feed.wait()\n"
        "print(done.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, repr(done.stderr))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script, *CODEX, "login", "log", "--", "-"],
        env={**os.environ, "CODEX_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=120,
    )
    code, max_rss_kb, stderr = result.stdout.split(" ", 2)
    assert code == "0", result
    assert "skipped 1 lines" in stderr
    assert int(max_rss_kb) < 100 * 1024, max_rss_kb  # KB on Linux


def test_an_overlong_line_in_a_log_file_is_skipped_and_counted_the_rest_renders(home, tmp_path):
    log = tmp_path / "codex-login.log"
    good = {"task_uuid": "b6a7-1", "task_level": [1], "timestamp": 1.7e9, "message_type": "codex:note"}
    with log.open("w") as handle:
        handle.write(json.dumps({**good, "padding": "x" * (3 * 1024 * 1024)}) + "\n")  # 3 MB line
        handle.write(json.dumps(good) + "\n")
    result = codex("login", "log", "--json", str(log), home=home)
    assert result.returncode == 0
    assert "skipped 1 lines" in result.stderr
    assert [json.loads(line)["task_uuid"] for line in result.stdout.splitlines()] == ["b6a7-1"]


#: Runs whose start and end times are each a number, but whose difference is none a float can
#: hold: a 400-digit integer end (int - int, then formatted as a float), and the two ends of the
#: float range (their difference is infinity, which is no JSON).
OVERFLOWING_RUNS = [
    ("int-end", 1, int("1" + "0" * 400)),
    ("int-beg", -int("1" + "0" * 400), 1.5),
    ("floats", -1.7e308, 1.7e308),
]


@pytest.mark.parametrize("view", [["--no-color"], ["--summary"], ["--json"], ["--format", "text"], ["--failed"], ["--last", "3"]])
def test_a_run_whose_duration_overflows_a_float_renders_in_every_view(home, tmp_path, view):
    log = tmp_path / "codex-login.log"
    with log.open("w") as handle:
        for uuid, start, end in OVERFLOWING_RUNS:
            envelope = {"task_uuid": uuid, "action_type": "codex:command"}
            handle.write(json.dumps({**envelope, "task_level": [1], "action_status": "started", "timestamp": start}) + "\n")
            handle.write(json.dumps({**envelope, "task_level": [2], "action_status": "failed", "timestamp": end}) + "\n")
    result = codex("login", "log", str(log), *view, home=home)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    if view == ["--format", "text"]:  # the reference CLI's lines name no run
        assert result.stdout.count("login flow failed") == len(OVERFLOWING_RUNS)
    else:
        assert all(uuid in result.stdout for uuid, _, _ in OVERFLOWING_RUNS)
    if view == ["--json"]:
        for line in result.stdout.splitlines():
            assert _strict_json(line)["duration"] is None


def test_a_time_no_float_holds_is_no_time_also_for_har(home, tmp_path):
    """`--har` does arithmetic on the run's times (int - float): a 400-digit integer time is no
    time, as 1e400 is, not an OverflowError (exit 70)."""
    log = tmp_path / "codex-login.log"
    with log.open("w") as handle:
        for uuid, start, end in OVERFLOWING_RUNS:
            envelope = {"task_uuid": uuid, "action_type": "codex:command"}
            handle.write(json.dumps({**envelope, "task_level": [1], "action_status": "started", "timestamp": start}) + "\n")
            handle.write(json.dumps({**envelope, "task_level": [2], "action_status": "failed", "timestamp": end}) + "\n")
    har = tmp_path / "browser.har"
    entry = {
        "startedDateTime": "2023-11-14T22:13:20Z",
        "time": 1,
        "request": {"method": "GET", "url": "http://127.0.0.1:1455/auth/callback?code=x", "headers": []},
        "response": {"status": 400, "headers": [], "content": {}},
    }
    har.write_text(json.dumps({"log": {"version": "1.2", "entries": [entry]}}))
    for mode in ([], ["--json"]):
        result = codex("login", "log", str(log), "--har", str(har), *mode, home=home)
        assert result.returncode in (0, 1), result.stderr  # 1: no run matches the HAR
        assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    result = codex("login", "log", str(log), "--json", home=home)
    int_end, int_start = (json.loads(line) for line in result.stdout.splitlines()[:2])
    assert (int_end["timestamp"], int_end["end_timestamp"]) == (1, None)
    assert (int_start["timestamp"], int_start["end_timestamp"]) == (None, 1.5)


def test_a_run_whose_duration_overflows_a_float_renders_in_colour():
    import io

    from codexlogin.logview.render import render
    from codexlogin.logview.select import Options

    lines = []
    for uuid, start, end in OVERFLOWING_RUNS:
        envelope = {"task_uuid": uuid, "action_type": "codex:command"}
        lines.append(json.dumps({**envelope, "task_level": [1], "action_status": "started", "timestamp": start}) + "\n")
        lines.append(json.dumps({**envelope, "task_level": [2], "action_status": "failed", "timestamp": end}) + "\n")
    for mode in ("tree", "summary"):
        out = io.StringIO()
        render([iter(lines)], out, Options(mode=mode, color=True))
        assert all(uuid in out.getvalue() for uuid, _, _ in OVERFLOWING_RUNS)


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    lines=st.lists(st.text(st.characters(blacklist_characters="\n\r", blacklist_categories=("Cs",)), max_size=40), max_size=20),
    cap=st.integers(min_value=1, max_value=30),
    final_newline=st.booleans(),
)
def test_bounded_lines_keep_short_lines_and_replace_each_long_one(tmp_path_factory, lines, cap, final_newline):
    path = tmp_path_factory.mktemp("lines") / "log"
    data = "\n".join(lines) + ("\n" if final_newline and lines else "")
    path.write_bytes(data.encode("utf-8"))
    with open_text(path, max_line_chars=cap) as stream:
        got = list(stream)
        overlong = stream.overlong
    expected = []
    for index, line in enumerate(lines):
        last = index == len(lines) - 1
        if last and line == "" and not final_newline:
            continue  # "a\n" + "" : no line after the last newline
        ending = "" if last and not final_newline else "\n"
        expected.append(OVERLONG_LINE if len(line) > cap else line + ending)
    assert got == expected
    assert overlong == sum(1 for item in expected if item is OVERLONG_LINE)


def test_bounded_lines_on_a_gzip_file_close_everything(tmp_path):
    import gzip

    path = tmp_path / "codex-login.log.1.gz"
    with gzip.open(path, "wt") as handle:
        handle.write("short\n" + "y" * 50 + "\nend")
    stream = open_text(path, max_line_chars=10)
    assert isinstance(stream, BoundedLines)
    assert list(stream) == ["short\n", OVERLONG_LINE, "end"]
    stream.close()
    assert stream.closed and stream._raw.closed  # type: ignore[union-attr]


# --- hostile numbers ---------------------------------------------------------------------------


def jwt_with_payload(payload: str) -> str:
    encoded = base64.urlsafe_b64encode(payload.encode()).rstrip(b"=").decode()
    return f"e30.{encoded}.sig"


@pytest.mark.parametrize(
    "exp_text",
    ["1" + "0" * 400, "-" + "9" * 400, "1e308", "1e999", "-1", "253402300800", "NaN", "Infinity", '"1700000000"', "true"],
)
def test_an_absurd_jwt_exp_is_no_expiry_claim(exp_text):
    token = jwt_with_payload(f'{{"exp": {exp_text}}}')
    assert jwt.expires_at(token) is None
    assert refresh_due(token, None, 1.7e9) == "stale"  # the 8-day rule decides, as for no exp


@hsettings(max_examples=300, deadline=None)
@given(exp=st.one_of(st.integers(min_value=-(10**500), max_value=10**500), st.floats(allow_nan=True, allow_infinity=True)))
def test_any_numeric_exp_gives_a_sane_status(exp):
    payload = (
        json.dumps({"exp": exp})
        if not isinstance(exp, float) or exp == exp and abs(exp) != float("inf")
        else '{"exp": %s}' % ("NaN" if exp != exp else "Infinity" if exp > 0 else "-Infinity")
    )
    token = jwt_with_payload(payload)
    value = jwt.expires_at(token)
    assert value is None or 0 <= value <= jwt.MAX_EXP
    auth = AuthDotJson("chatgpt", tokens=TokenData(id_token=None, access_token=token, refresh_token="rt"))
    report = evaluate(load_settings({"issuer": "https://auth.openai.com"}), auth, "file", now=1.7e9)
    assert report.exit_code == 0
    assert report.expires_at is None or rfc3339.to_epoch(report.expires_at) is not None


def test_status_with_a_stored_400_digit_exp(home, capsys):
    token = jwt_with_payload('{"exp": 1%s}' % ("0" * 400))
    save_auth(
        home / "auth.json", AuthDotJson("chatgpt", tokens=TokenData(id_token=None, access_token=token, refresh_token="rt-x"))
    )
    assert run_cli("login", "status") == 0
    assert run_cli("login", "status", json_=True) == 0
    out = capsys.readouterr().out
    data = json.loads(out.splitlines()[-1])
    assert data["expires_at"] is None and data["refresh_due"] == "stale"


# --- the issuer URL: no control characters, spaces or other schemes ----------------------------

UNSAFE = st.sampled_from(
    [chr(c) for c in range(0x20)]
    + ["\x7f", " ", "\x85", "\u00a0", "\u200b", "\u200e", "\u2028", "\u2029", "\u202e", "\u2066", "\ufeff"]
)


@hsettings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    bad=UNSAFE,
    where=st.integers(min_value=0, max_value=len("https://auth.openai.com/x")),
    source=st.sampled_from(["flag", "env", "-c", "toml"]),
)
def test_control_characters_anywhere_in_the_issuer_are_a_usage_error(home, bad, where, source):
    base = "https://auth.openai.com/x"
    issuer = base[:where] + bad + base[where:]
    flags, overrides, environ = {}, [], {"CODEX_HOME": str(home)}
    config = home / "config.toml"
    config.unlink(missing_ok=True)
    if source == "flag":
        flags = {"issuer": issuer}
    elif source == "env":
        environ["CODEX_LOGIN_ISSUER"] = issuer
    elif source == "-c":
        overrides = [f"issuer={issuer}"]
    else:
        config.write_text(f"issuer = {json.dumps(issuer)}\n")
    if source == "-c" and issuer.strip() != issuer:
        return  # `-c key=value` strips surrounding whitespace, as it does for every value
    with pytest.raises(UsageError) as caught:
        load_settings(flags, overrides, environ)
    detail = caught.value.detail
    assert detail.isprintable() and (bad == " " or bad not in detail)  # shown escaped, never raw


@pytest.mark.parametrize("issuer", ["ftp://auth.example", "javascript:alert(1)", "file:///etc/passwd", "auth.openai.com"])
def test_non_http_issuers_are_a_usage_error(issuer):
    with pytest.raises(UsageError):
        load_settings({"issuer": issuer})


def test_an_issuer_with_an_escape_sequence_exits_2_with_one_clean_line(home):
    result = codex("login", "status", "--check", "--issuer", "https://auth.openai.com\x1b]0;owned\x07", home=home)
    assert result.returncode == 2
    line = one_error_line(result)
    assert "\x1b" not in result.stderr and "\x07" not in result.stderr and "control characters" in line


# --- SOCKS without the extra -------------------------------------------------------------------


@pytest.mark.skipif(socks_support(), reason="socksio is installed here: httpx can use the SOCKS proxy")
@pytest.mark.parametrize("variable", ["ALL_PROXY", "HTTPS_PROXY", "https_proxy"])
def test_a_socks_proxy_without_socksio_is_a_usage_error(home, variable):
    with pytest.raises(UsageError, match=r"is a SOCKS proxy, which needs httpx's socks extra: pip install 'httpx\[socks\]'"):
        check_proxy_environment({variable: "socks5://user:secret@127.0.0.1:1080"})
    result = codex("login", "--port", "0", "--no-browser", home=home, env={variable: "socks5h://user:secret@127.0.0.1:1080"})
    assert result.returncode == 2
    line = one_error_line(result)
    assert variable in line and "httpx[socks]" in line and "secret" not in result.stderr
    assert "oauth/authorize" not in result.stderr


def test_socks_is_checked_only_for_socks_schemes():
    check_proxy_environment({"HTTPS_PROXY": "http://127.0.0.1:3128"})  # no error


# --- the API-key mask --------------------------------------------------------------------------

TAGS = ["", "sk-", "sk-proj-", "at-", "rt-", "sk-svcacct-"]
KEY_ALPHABET = st.characters(whitelist_categories=("Lu", "Ll", "Nd"), whitelist_characters="-_", max_codepoint=127)


def revealed(key: str, masked: str) -> str:
    """The characters of the key's secret part the mask shows."""
    head, sep, tail = masked.partition("***")
    assert sep, masked
    assert key.startswith(head) and key.endswith(tail)
    tag = next(t for t in sorted(TAGS, key=len, reverse=True) if key.startswith(t) and head.startswith(t))
    return head[len(tag) :] + tail


@hsettings(max_examples=500, deadline=None)
@given(tag=st.sampled_from(TAGS), body=st.text(KEY_ALPHABET, max_size=200))
def test_the_mask_shows_at_most_a_quarter_of_the_secret(tag, body):
    key = tag + body
    masked = mask_api_key(key)
    shown = revealed(key, masked) if key else ""
    secret = len(key) - len(next(t for t in sorted(TAGS, key=len, reverse=True) if key.startswith(t) and masked.startswith(t)))
    assert len(shown) <= secret // 4
    assert len(shown) <= len(key) // 4
    if secret < 16:
        assert shown == ""
    if len(key) >= 52:  # real keys: Codex CLI 0.171's exact display
        assert masked == f"{key[:8]}***{key[-5:]}"


def test_the_mask_on_real_key_shapes():
    legacy = "sk-" + "A1b2C3d4E5" * 4 + "f6G7h8I9"  # 51 characters, the old sk- shape
    assert len(legacy) == 51 and mask_api_key(legacy) == "sk-A1b2C***7h8I9"
    project = "sk-proj-" + "Z" * 150 + "abcde"
    assert mask_api_key(project) == "sk-proj-***abcde"
    assert mask_api_key("at-" + "q" * 40 + "vwxyz") == "at-qqqqq***vwxyz"
    service = "sk-svcacct-" + "S" * 36 + "vwxyz"  # 52 characters: the tag is longer than the 8 shown
    assert mask_api_key(service) == "sk-svcac***vwxyz"
    assert mask_api_key("sk-svcacct-" + "S" * 35 + "vwxyz") == "sk-svcacct-***vwxyz"
    assert mask_api_key("sk-short") == "sk-***"
    assert mask_api_key("0123456789abcdef") == "***cdef"


# --- foreign log envelopes: validated, scrubbed and escaped everywhere they are shown -----------

#: What must never reach a terminal raw: C0 (but newline), DEL, C1, the bidi embeddings, overrides,
#: isolates and marks (U+061C, U+200E/F, U+202A-E, U+2066-9), line/paragraph separators, zero-width
#: space, word joiner and BOM. Spelled out here, not taken from terminal.py, so the test can fail.
DANGEROUS = frozenset(
    [chr(c) for c in [*range(0x20), 0x7F, *range(0x80, 0xA0)] if c != 0x0A]
    + [
        chr(c)
        for c in [0x061C, 0x200B, 0x200E, 0x200F, *range(0x202A, 0x202F), 0x2028, 0x2029, 0x2060, *range(0x2066, 0x206A), 0xFEFF]
    ]
)
FOREIGN_SK = "sk-foreignQ8w7E6r5T4y3U2i1O0pLkJ"
FOREIGN_JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJmb3JlaWduIn0.c2lnbmF0dXJlLWZvcmVpZ24"
NASTY = st.sampled_from(
    [
        "\x1b]0;owned\x07",
        "\x1b[2J",
        "\x1b]8;;https://evil\x1b\\",
        "\x1b]52;c;b3duZWQ=\x07",
        "\x9b2J",
        "\u202e",
        "\u2066",
        "\u200b",
        "\r",
        "\x00",
        "\x7f",
        f" {FOREIGN_SK} ",
        f" {FOREIGN_JWT} ",
        f" Bearer {FOREIGN_SK} ",
        "[bold red]x[/]",
        "ok",
    ]
)
# Secrets stand as words (the scrubber's patterns need a word boundary: "task-…" is no `sk-` key).
HOSTILE_TEXT = st.lists(st.one_of(NASTY, st.text(max_size=5)), min_size=1, max_size=4).map("".join)
ENVELOPE_VALUE = st.one_of(
    HOSTILE_TEXT,
    st.integers(-(10**30), 10**30),
    st.floats(allow_nan=True, allow_infinity=True),
    st.none(),
    st.lists(HOSTILE_TEXT, max_size=2),
    st.dictionaries(HOSTILE_TEXT, HOSTILE_TEXT, max_size=2),
)
STATUS = st.one_of(st.sampled_from(["started", "succeeded", "failed"]), ENVELOPE_VALUE)
LEVEL = st.one_of(
    st.lists(st.integers(1, 4), min_size=1, max_size=4),
    st.lists(st.one_of(st.integers(-2, 3), HOSTILE_TEXT), max_size=3),
    ENVELOPE_VALUE,
)


def _json_line(message: dict) -> str:
    return json.dumps(message, allow_nan=True) + "\n"


@st.composite
def foreign_logs(draw):
    lines = []
    for index in range(draw(st.integers(1, 6))):
        uuid = draw(st.one_of(st.just(f"task-{index % 2}"), HOSTILE_TEXT))
        message = {
            "task_uuid": uuid,
            "task_level": draw(LEVEL),
            "timestamp": draw(st.one_of(st.floats(1e9, 2e9), ENVELOPE_VALUE)),
        }
        if draw(st.booleans()):
            message["action_type"] = draw(st.one_of(HOSTILE_TEXT, ENVELOPE_VALUE))
            message["action_status"] = draw(STATUS)
        else:
            message["message_type"] = draw(st.one_of(HOSTILE_TEXT, ENVELOPE_VALUE))
        if draw(st.booleans()):
            message[draw(HOSTILE_TEXT)] = draw(ENVELOPE_VALUE)
        lines.append(_json_line(message))
    return lines


def assert_inert(text: str, where: str) -> None:
    bad = sorted({char for char in text if char in DANGEROUS} - {"\n"})
    assert not bad, f"{where}: raw {[hex(ord(c)) for c in bad]} in {text!r}"
    for secret in (FOREIGN_SK, FOREIGN_JWT):
        assert secret not in text, f"{where}: a secret passed: {text!r}"


def _strict_json(line: str) -> object:
    def refuse(constant: str) -> object:
        raise AssertionError(f"non-JSON constant {constant} in --json output")

    return json.loads(line, parse_constant=refuse)


@hsettings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(lines=foreign_logs())
def test_foreign_envelopes_are_validated_scrubbed_and_escaped_in_every_mode(lines):
    import io

    from codexlogin.logview.render import render
    from codexlogin.logview.select import Options

    for mode in ("tree", "summary", "json"):
        for color in (False, True) if mode != "json" else (False,):
            out = io.StringIO()
            render([iter(lines)], out, Options(mode=mode, color=color))
            text = out.getvalue()
            assert_inert(text, f"{mode} color={color}")
            if mode == "json":
                for line in text.splitlines():
                    _strict_json(line)


@hsettings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
@given(lines=foreign_logs())
def test_foreign_envelopes_are_inert_in_the_bundle(tmp_path_factory, lines):
    from codexlogin.support.bundle import snapshot_log

    log = tmp_path_factory.mktemp("bundle") / "codex-login.log"
    log.write_text("".join(lines))
    snapshot = snapshot_log(log, 50)
    for member, text in snapshot.members.items():
        assert_inert(text, member)
        if member.endswith(".jsonl") or member.endswith(".json"):
            for line in text.splitlines():
                _strict_json(line)


def test_a_known_hostile_envelope_is_shown_inert_and_counted(home, tmp_path):
    """The concrete case from the review: status, level, timestamp, types with escapes and secrets."""
    osc = "\x1b]0;owned\x07\u202e"
    log = tmp_path / "foreign.log"
    log.write_text(
        "".join(
            _json_line(m)
            for m in [
                {
                    "task_uuid": "t1",
                    "task_level": [1],
                    "timestamp": 1.7e9,
                    "action_type": "x:" + osc + FOREIGN_SK,
                    "action_status": "started",
                },
                {"task_uuid": "t1", "task_level": [2, "a" + osc], "timestamp": 1.7e9, "message_type": "m"},
                {"task_uuid": "t1", "task_level": [3], "timestamp": "2026" + osc + FOREIGN_JWT, "message_type": "m:" + osc},
                {
                    "task_uuid": "t1",
                    "task_level": [4],
                    "timestamp": 1.7e9,
                    "action_type": "x",
                    "action_status": "failed" + osc + FOREIGN_SK,
                },
                {"task_uuid": "t2", "task_level": [1], "timestamp": float("inf"), "message_type": "n"},
            ]
        )
    )
    for flags in ([], ["--summary"], ["--json"]):
        result = codex("login", "log", *flags, str(log), home=home)
        assert result.returncode == 0, result.stderr
        assert_inert(result.stdout, " ".join(flags) or "tree")
        assert "skipped 2 lines" in result.stderr  # the bad task_level and the bad action_status
        if flags == ["--json"]:
            runs = [_strict_json(line) for line in result.stdout.splitlines()]
            assert {run["task_uuid"] for run in runs} == {"t1", "t2"}
            assert next(run for run in runs if run["task_uuid"] == "t2")["timestamp"] is None


# --- terminal escapes from outside: status (id_token email) and doctor (headers) ----------------


def test_status_shows_a_hostile_id_token_email_inert(home, capsys):
    email = "\x1b]0;owned\x07\x1b[2Jvictim\u202egro.live@example.com\x9b31m"
    claims = {
        "email": email,
        "https://api.openai.com/auth": {"chatgpt_plan_type": "pro\x1b[5m", "chatgpt_account_id": "acct\u2066x"},
    }
    id_token = jwt_with_payload(json.dumps(claims))
    save_auth(
        home / "auth.json", AuthDotJson("chatgpt", tokens=TokenData(id_token=id_token, access_token="at", refresh_token="rt"))
    )
    assert run_cli("login", "status") == 0
    out = capsys.readouterr().err  # the status text: stderr, as Codex CLI 0.171
    assert_inert(out, "status")
    assert "victim" in out and "\\u202e" in out and "\\x1b]0;owned" in out  # shown, escaped
    assert run_cli("login", "status", json_=True) == 0
    data = capsys.readouterr().out
    assert_inert(data, "status --json")
    assert json.loads(data)["email"] == email  # JSON keeps the value, escaped by JSON itself


@pytest.mark.concurrency
async def test_doctor_shows_hostile_server_and_date_headers_inert(home):
    """A program on the port (and posing as the issuer) answers with C1 controls and UTF-8 bidi
    bytes in its Server and Date headers (h11 lets 0x80-0xff through)."""
    import trio

    hostile = b"\x9b2J\x9d0;owned\x9c\xe2\x80\xae"
    body = b'{"issuer": "\x1b]0;owned\x07"}'
    response = (
        b"HTTP/1.1 200 OK\r\nServer: evil"
        + hostile
        + b"\r\nDate: Tue, 01 Dec 2026 10:00:00 GMT"
        + hostile
        + b"\r\nContent-Type: application/json\r\nContent-Length: "
        + str(len(body)).encode()
        + b"\r\nConnection: close\r\n\r\n"
        + body
    )

    async def answer(stream):
        try:
            with trio.move_on_after(5):
                await stream.receive_some(65536)
                await stream.send_all(response)
        except trio.BrokenResourceError:
            pass
        finally:
            await stream.aclose()

    with trio.fail_after(60):
        async with trio.open_nursery() as nursery:
            from functools import partial

            listeners = await nursery.start(partial(trio.serve_tcp, answer, 0, host="127.0.0.1"))
            port = listeners[0].socket.getsockname()[1]
            env = {**os.environ, "CODEX_HOME": str(home)}
            result = await trio.run_process(
                [*CODEX, "login", "doctor", "--issuer", f"http://127.0.0.1:{port}", "--port", str(port)],
                env=env,
                capture_stdout=True,
                capture_stderr=True,
                check=False,
            )
            nursery.cancel_scope.cancel()
    out = result.stdout.decode("utf-8", "replace")
    assert "callback_port" in out and "evil" in out, out  # the Server header was seen and shown
    assert_inert(out, "doctor")
    assert_inert(result.stderr.decode("utf-8", "replace"), "doctor stderr")


# --- a device authorization reply with an absurd expires_in ------------------------------------


class HugeDeviceLifetime(IssuerWrapper):
    """The dev issuer, except that its device authorization reply says `expires_in: 10**400`."""

    def __init__(self, inner, expires_in_text: str):
        self.inner, self.expires_in_text = inner, expires_in_text

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http" or scope["path"] != "/oauth/device/code":
            return await self.inner(scope, receive, send)
        parts = []

        async def keep(message):
            parts.append(message)

        await self.inner(scope, receive, keep)
        body = b"".join(m.get("body", b"") for m in parts if m["type"] == "http.response.body")
        text = json.dumps({**json.loads(body), "expires_in": 0}).replace(
            '"expires_in": 0', f'"expires_in": {self.expires_in_text}'
        )
        payload = text.encode()
        start = next(m for m in parts if m["type"] == "http.response.start")
        headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
        await send({**start, "headers": [*headers, (b"content-length", str(len(payload)).encode())]})
        await send({"type": "http.response.body", "body": payload})


@pytest.mark.parametrize("expires_in", ["1" + "0" * 400, "-5"])
async def test_an_absurd_device_expires_in_is_clamped_not_exit_70(tmp_path, autojump_clock, nursery, expires_in):
    import io
    from dataclasses import replace as replace_settings

    import trio

    from codexlogin import diagnostics
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.devissuer import DevIssuer, serve_dev_issuer
    from codexlogin.errors import TimedOut
    from codexlogin.flows.device import DEFAULT_LIFETIME, MAX_DEVICE_LIFETIME, device_login

    issuer = DevIssuer()  # never approves: the login waits until the (clamped) code expires
    url = await nursery.start(serve_dev_issuer, HugeDeviceLifetime(issuer, expires_in))
    settings = replace_settings(load_settings({"issuer": url}), log_dir=tmp_path / "log")
    stderr = io.StringIO()
    started = trio.current_time()
    with trio.fail_after(MAX_DEVICE_LIFETIME * 2):
        with diagnostics.open_log(settings.resolved_log_dir), diagnostics.command_action("login", "device"):
            with pytest.raises(TimedOut):
                await device_login(settings, ConsoleUI(stderr, stderr))  # the prompt (stdout) recorded too
    waited = trio.current_time() - started
    expected = MAX_DEVICE_LIFETIME if expires_in.startswith("1") else DEFAULT_LIFETIME
    assert f"expires in {expected // 60} minutes" in stderr.getvalue()
    assert waited <= expected + 10  # the dev issuer's own 15 minutes end a clamped day sooner


# --- the same class: auth.json and codex-login.log as a FIFO ----------------------------------


def test_a_fifo_auth_json_is_a_storage_error_not_a_hang(home):
    os.mkfifo(home / "auth.json")
    result = codex("login", "status", home=home)
    assert result.returncode == 7, result
    assert "a FIFO, not a regular file" in result.stderr and "Traceback" not in result.stderr


def test_a_fifo_codex_login_log_warns_and_the_login_goes_on(home):
    (home / "log").mkdir()
    os.mkfifo(home / "log" / "codex-login.log")
    key = "sk-proj-" + "k" * 40
    result = subprocess.run(
        [*CODEX, "login", "--with-api-key"],
        input=key + "\n",
        env={**os.environ, "CODEX_HOME": str(home)},
        capture_output=True,
        text=True,
        timeout=HANG_BOUND,
    )
    assert result.returncode == 0, result
    assert "cannot write codex-login.log" in result.stderr and "continuing without a log" in result.stderr
    assert json.loads((home / "auth.json").read_text())["OPENAI_API_KEY"] == key
