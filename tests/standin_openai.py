"""A stand-in https://auth.openai.com: the dev issuer under the default issuer's own name.

Some behaviour belongs to the default issuer only (the success page's org-setup redirect for a new
API organisation owner), so a CLI must be run with no issuer setting at all. This module gives it
an auth.openai.com that is the dev issuer, without touching the machine:

- `standin_files(work)`: a trustme test CA, the stand-in's certificate for auth.openai.com (and
  127.0.0.1), and an /etc/hosts that maps auth.openai.com (and localhost) to 127.0.0.1;
- `in_standin_namespace(files, argv)`: `argv` in a private mount namespace (`unshare -m`, also
  `-n` with only loopback up when `network=True`) where that hosts file is /etc/hosts and the test
  CA is the system bundle, both bind-mounted temp files (the machine's own files are untouched);
- run there, `python tests/standin_openai.py SERVER_PEM CLAIMS_JSON -- CLI_ARGV...` (the driver,
  `drive`): serves the dev issuer as https://auth.openai.com on 127.0.0.1:443 (its id_token's auth
  claims: CLAIMS_JSON), starts the CLI's browser login, reads the authorize URL from its output and
  plays the browser (GET it: the issuer approves at once and redirects to the CLI's callback;
  follow redirects on loopback; stop at a page or at a redirect that leaves the machine), then
  prints one JSON object: the CLI's exit code and output, each hop, the last page and its URL,
  whether auth.json was written, and the paths the issuer was asked for;
- `browser_target(run)`: where that page sends the browser next: our page's meta refresh, or for
  Codex CLI 0.171's `/success?needs_setup=…` page the URL its script builds (the rule is read from
  the page: the script must still say what `browser_target` does), or None (it stays).

Used by tests/listener/test_org_setup_cli.py and scripts/interop_codex.py (org_setup_checks).
"""

from __future__ import annotations

import html
import json
import os
import re
import ssl
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

SYSTEM_BUNDLE = "/etc/ssl/certs/ca-certificates.crt"
STANDIN_HOST = "auth.openai.com"
DRIVER_TIMEOUT = 60  # the whole login, browser included
LOOPBACK_HOSTS = ("localhost", "127.0.0.1", STANDIN_HOST)
_AUTHORIZE_URL = re.compile(rb"https://auth\.openai\.com/oauth/authorize\?[^\s\x1b]+")
_META_REFRESH = re.compile(r'<meta http-equiv="refresh" content="\d+;\s*url=([^"]+)"', re.IGNORECASE)


def standin_files(work: Path) -> dict[str, Path]:
    """The test CA (`ca`), the stand-in's key and certificate chain (`server`) and `hosts`, in `work`."""
    import trustme

    ca = trustme.CA(organization_name="codexlogin stand-in auth.openai.com test CA")
    files = {"ca": work / "standin-ca.pem", "server": work / "standin-server.pem", "hosts": work / "standin-hosts"}
    ca.cert_pem.write_to_path(str(files["ca"]))
    ca.issue_cert(STANDIN_HOST, "127.0.0.1").private_key_and_cert_chain_pem.write_to_path(str(files["server"]))
    files["hosts"].write_text(f"127.0.0.1\tlocalhost {STANDIN_HOST}\n::1\tlocalhost ip6-localhost ip6-loopback\n")
    return files


def in_standin_namespace(files: dict[str, Path], argv: list[str], *, network: bool = False) -> list[str]:
    """`argv` where /etc/hosts is `files["hosts"]` and the system bundle is `files["ca"]` only;
    with `network`, also in a network namespace of its own with only loopback up."""
    script = 'mount --bind "$1" /etc/hosts && mount --bind "$2" ' + SYSTEM_BUNDLE + ' && shift 2 && exec "$@"'
    flags = ["-m", "--propagation", "private"]
    if network:
        script = "ip link set lo up && " + script
        flags = ["-n", *flags]
    return ["unshare", *flags, "sh", "-c", script, "sh", str(files["hosts"]), str(files["ca"]), *argv]


def namespace_problem(work: Path) -> str | None:
    """Why `in_standin_namespace(..., network=True)` cannot work here (None: it can)."""
    import shutil

    if not sys.platform.startswith("linux") or not os.path.isfile(SYSTEM_BUNDLE):
        return f"needs Linux with the system bundle at {SYSTEM_BUNDLE}"
    cafile = ssl.get_default_verify_paths().openssl_cafile
    if not cafile or os.path.realpath(cafile) != os.path.realpath(SYSTEM_BUNDLE):
        return f"OpenSSL's system file ({cafile}) is not {SYSTEM_BUNDLE}"
    missing = [tool for tool in ("unshare", "ip", "mount") if shutil.which(tool) is None]
    if missing:
        return f"needs {', '.join(missing)}"
    try:
        import trustme  # noqa: F401
    except ImportError:
        return "needs trustme (pip install .[test])"
    probe_files = {"hosts": work / "probe-hosts", "ca": work / "probe-ca.pem"}
    for path in probe_files.values():
        path.write_text("")
    probe = subprocess.run(
        in_standin_namespace(probe_files, ["true"], network=True), capture_output=True, timeout=30, check=False
    )
    if probe.returncode != 0:
        return (
            "unshare -n -m / mount --bind are not permitted here (needs root): " + probe.stderr.decode(errors="replace").strip()
        )
    return None


def driver_argv(files: dict[str, Path], claims: dict[str, Any], cli: list[str]) -> list[str]:
    """The driver's command line (to run inside `in_standin_namespace`)."""
    return [sys.executable, str(Path(__file__).resolve()), str(files["server"]), json.dumps(claims), "--", *cli]


def read_run(stdout: bytes) -> dict[str, Any]:
    """The driver's JSON report (its last line)."""
    return json.loads(stdout.decode().strip().splitlines()[-1])


# --- what the page does -----------------------------------------------------------------------------

#: What Codex CLI 0.171's success page script says; `browser_target` does the same.
_RULE_0171 = (
    'params.get("needs_setup") === "true"',
    'params.get("platform_url") || "https://platform.openai.com"',
    'new URL("/org-setup", platformUrl)',
    'searchParams.set("p", planType)',
    'searchParams.set("t", idToken)',
    'searchParams.set("with_org", orgId)',
    'searchParams.set("project_id", projectId)',
)
_PLATFORMS_0171 = ("https://platform.openai.com", "https://platform.api.openai.org")


def browser_target(run: dict[str, Any]) -> str | None:
    """Where the CLI sends the browser after its success page (None: the page stays)."""
    if run.get("left_to"):  # a redirect off the machine
        return str(run["left_to"])
    page, url = run.get("page") or "", run.get("page_url") or ""
    refresh = _META_REFRESH.search(page)
    if refresh:
        return html.unescape(refresh[1])
    if 'params.get("needs_setup")' not in page:
        return None
    if not all(line in page for line in _RULE_0171):
        raise AssertionError("0.171's success page script no longer reads as browser_target assumes")
    query = {key: values[0] for key, values in parse_qs(urlsplit(url).query).items()}
    platform = query.get("platform_url") or "https://platform.openai.com"
    if query.get("needs_setup") != "true" or platform not in _PLATFORMS_0171:
        return None
    keys = {"p": "plan_type", "t": "id_token", "with_org": "org_id", "project_id": "project_id"}
    # URLSearchParams.set(name, null) writes "null"
    return f"{platform}/org-setup?" + urlencode({key: query.get(name, "null") for key, name in keys.items()})


def query_of(url: str) -> dict[str, str]:
    return {key: values[0] for key, values in parse_qs(urlsplit(url).query, keep_blank_values=True).items()}


# --- the driver (runs inside the namespace) ---------------------------------------------------------


async def drive(server_pem: str, claims: dict[str, Any], cli: list[str]) -> dict[str, Any]:
    import httpx
    import trio

    from codexlogin.devissuer import DevIssuer, serve_dev_issuer

    issuer = DevIssuer(auto_approve=True, id_token_auth_claims=claims)
    report: dict[str, Any] = {"hops": [], "page": None, "page_url": None, "left_to": None, "status": None}
    with trio.fail_after(DRIVER_TIMEOUT):
        async with trio.open_nursery() as nursery:
            await nursery.start(
                lambda task_status: serve_dev_issuer(
                    issuer, port=443, certfile=server_pem, issuer_url=f"https://{STANDIN_HOST}", task_status=task_status
                )
            )
            process = await trio.lowlevel.open_process(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            output = {"stdout": b"", "stderr": b""}
            url_seen = trio.Event()

            async def read(name: str, stream: trio.abc.ReceiveStream) -> None:
                while chunk := await stream.receive_some(65536):
                    output[name] += chunk
                    if _AUTHORIZE_URL.search(output[name]):
                        url_seen.set()

            async with trio.open_nursery() as readers:
                assert process.stdout is not None and process.stderr is not None
                readers.start_soon(read, "stdout", process.stdout)
                readers.start_soon(read, "stderr", process.stderr)
                with trio.move_on_after(DRIVER_TIMEOUT / 2):
                    await url_seen.wait()
                found = _AUTHORIZE_URL.search(output["stdout"]) or _AUTHORIZE_URL.search(output["stderr"])
                if found is None:
                    process.kill()
                else:
                    await _browse(found[0].decode(), report, httpx)
                report["exit"] = await process.wait()
            nursery.cancel_scope.cancel()
    home = os.environ.get("CODEX_HOME", "")
    report.update(
        stdout=output["stdout"].decode(errors="replace"),
        stderr=output["stderr"].decode(errors="replace"),
        auth_json=bool(home) and (Path(home) / "auth.json").is_file(),
        issuer_paths=[f"{r.method} {r.path}" for r in issuer.request_log],
    )
    return report


async def _browse(url: str, report: dict[str, Any], httpx: Any) -> None:
    """The browser: this namespace's hosts and system bundle, no proxy, redirects followed on loopback."""
    async with httpx.AsyncClient(trust_env=False, verify=ssl.create_default_context(), timeout=30) as browser:
        for _ in range(10):
            response = await browser.get(url)
            report["hops"].append(f"{response.status_code} {url.split('?')[0]}")
            if not response.is_redirect:
                report.update(page=response.text, page_url=url, status=response.status_code)
                return
            url = urljoin(url, response.headers["location"])
            if urlsplit(url).hostname not in LOOPBACK_HOSTS:
                report["left_to"] = url
                return


def main(argv: list[str]) -> int:
    import trio

    if len(argv) < 4 or argv[2] != "--":
        sys.exit(__doc__)
    server_pem, claims = argv[0], json.loads(argv[1])
    report = trio.run(drive, server_pem, claims, argv[3:])
    print(json.dumps(report), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
