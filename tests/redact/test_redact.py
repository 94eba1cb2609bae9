"""codexlogin.redact (URL sanitising, free-text scrubbing, key-aware field scrubbing) and
diagnostics.scrubbing (eliot's failure messages)."""

from __future__ import annotations

import json
import string
import time

import pytest
from eliot._output import _safe_unicode_dictionary
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from codexlogin.diagnostics.scrubbing import scrub_message
from codexlogin.redact import sanitize_url, scrub_fields, scrub_text
from codexlogin.redact.keys import INVALID_URL, REDACTED, SECRET_KEYS, SECRET_QUERY_KEYS

# --------------------------------------------------------------------------------------------
# sanitize_url
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://auth.openai.com", "https://auth.openai.com"),
        ("https://auth.openai.com/oauth/token", "https://auth.openai.com/oauth/token"),
        ("https://user:pw@auth.example/x", "https://auth.example/x"),
        ("https://user@auth.example/x", "https://auth.example/x"),
        ("https://u:p@w@auth.example/x", "https://auth.example/x"),
        ("https://auth.example/x#access_token=abc", "https://auth.example/x"),
        ("https://auth.example/x?a=1#frag", "https://auth.example/x?a=1"),
        (
            "http://localhost:1455/auth/callback?code=abc&state=xyz&scope=openid",
            "http://localhost:1455/auth/callback?code=<redacted>&state=<redacted>&scope=openid",
        ),
        ("https://h/p?z=1&CODE=abc&a=2", "https://h/p?z=1&CODE=<redacted>&a=2"),
        ("https://h/p?Access_Token=abc", "https://h/p?Access_Token=<redacted>"),
        ("https://h/p?code=1&code=2&x=3&code=", "https://h/p?code=<redacted>&code=<redacted>&x=3&code=<redacted>"),
        ("https://h/p?c%6Fde=abc", "https://h/p?c%6Fde=<redacted>"),
        ("https://h/p?%63%6F%64%65=abc", "https://h/p?%63%6F%64%65=<redacted>"),
        ("https://h/p?access%5Ftoken=abc", "https://h/p?access%5Ftoken=<redacted>"),
        ("https://h/p?code+=abc", "https://h/p?code+=<redacted>"),
        ("https://h/p?a=1;state=abc", "https://h/p?a=1;state=<redacted>"),
        ("https://h/p?amp;code=abc", "https://h/p?amp;code=<redacted>"),
        ("https://h/p?redirect_uri=http%3A%2F%2Flocalhost%2Fcb", "https://h/p?redirect_uri=http%3A%2F%2Flocalhost%2Fcb"),
        ("https://h/p?flag&code", "https://h/p?flag&code"),
        ("http://[::1]:1455/auth/callback?code=abc", "http://[::1]:1455/auth/callback?code=<redacted>"),
        ("http://u:p@[::1]/?state=s", "http://[::1]/?state=<redacted>"),
        ("/auth/callback?code=abc&state=xyz", "/auth/callback?code=<redacted>&state=<redacted>"),
        ("", ""),
        ("http://[::1/x", INVALID_URL),
        ("http://h:99999/", INVALID_URL),
        ("http://h:port/", INVALID_URL),
        ("https://user:pa/ss@h/", INVALID_URL),
        (None, INVALID_URL),
    ],
)
def test_sanitize_url_table(url, expected):
    assert sanitize_url(url) == expected


@pytest.mark.parametrize("key", sorted(SECRET_QUERY_KEYS))
def test_sanitize_url_each_secret_key(key):
    out = sanitize_url(f"https://h/p?keep=1&{key}=SECRETVALUE9&{key.upper()}=SECRETVALUE8&after=2")
    assert "SECRETVALUE" not in out
    assert out == f"https://h/p?keep=1&{key}=<redacted>&{key.upper()}=<redacted>&after=2"


@pytest.mark.parametrize("key", ["token_endpoint", "has_state", "error_code", "redirect_uri", "client_id", "scope"])
def test_sanitize_url_keeps_non_secret_keys(key):
    assert sanitize_url(f"https://h/p?{key}=visible") == f"https://h/p?{key}=visible"


def test_sanitize_url_accepts_url_objects():
    class FakeURL:
        def __str__(self):
            return "https://user:pw@h/p?code=abc"

    assert sanitize_url(FakeURL()) == "https://h/p?code=<redacted>"


# --------------------------------------------------------------------------------------------
# scrub_text
# --------------------------------------------------------------------------------------------

JWT = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyIn0.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain text, nothing here", "plain text, nothing here"),
        (
            "Client error '400 Bad Request' for url 'https://u:p@auth.example/oauth/token?code=abc#f'",
            "Client error '400 Bad Request' for url 'https://auth.example/oauth/token?code=<redacted>'",
        ),
        ("GET /auth/callback?code=abc&state=xyz HTTP/1.1", "GET /auth/callback?code=<redacted>&state=<redacted> HTTP/1.1"),
        (f"token {JWT} here", "token <redacted> here"),
        (f"https://h/verify/{JWT}?x=1", "https://h/verify/<redacted>?x=1"),
        ("key sk-proj-abcdefghijklmnop used", "key <redacted> used"),
        ("Authorization: Bearer abc.def-ghi", "Authorization: <redacted>"),
        ("sent Bearer abc.def-ghi to server", "sent Bearer <redacted> to server"),
        ("auth=Basic dXNlcjpwYXNz", "auth=Basic <redacted>"),
        ("Cookie: a=b; c=d\nHost: x", "Cookie: <redacted>\nHost: x"),
        ("set-cookie: sid=abc; HttpOnly", "set-cookie: <redacted>"),
        ('{"code": "abc", "error_code": "x"}', '{"code": "<redacted>", "error_code": "x"}'),
        ('{"access_token":"abc","token_type":"bearer"}', '{"access_token":"<redacted>","token_type":"bearer"}'),
        ("{'refresh_token': 'abc', 'has_code': True}", "{'refresh_token': '<redacted>', 'has_code': True}"),
        ("{'code': \"it's\"}", "{'code': \"<redacted>\"}"),
        ("{'code': b'raw'}", "{'code': b'<redacted>'}"),
        ('{"code": 123456, "x": 1}', '{"code": <redacted>, "x": 1}'),
        ('{\\"code\\": \\"abc\\"}', '{\\"code\\": \\"<redacted>\\"}'),
        ("""{"'code'": "'abc'", "'n'": '1'}""", """{"'code'": "<redacted>", "'n'": '1'}"""),
        ("Foo(code='abc', state=\"x y\", n=1)", "Foo(code='<redacted>', state=\"<redacted>\", n=1)"),
        ("code=abc&state=xyz&scope=openid", "code=<redacted>&state=<redacted>&scope=openid"),
        ("OPENAI_API_KEY=sk-abc x-api-key: foo", "OPENAI_API_KEY=<redacted> x-api-key: <redacted>"),
        ("client_secret: hunter2", "client_secret: <redacted>"),
        ("password = 'hunter2'", "password = '<redacted>'"),
        ("device_code=DC123 user_code=ABCD-EFGH", "device_code=<redacted> user_code=<redacted>"),
        (
            "error_code=invalid_grant has_state=true token_endpoint=https://h/t",
            "error_code=invalid_grant has_state=true token_endpoint=https://h/t",
        ),
        ('{"code": "truncated', '{"code": "<redacted>'),
        ("see http://[::1/x?code=1 now", "see <invalid-url> now"),
    ],
)
def test_scrub_text_table(text, expected):
    assert scrub_text(text) == expected
    assert scrub_text(expected) == expected  # idempotent


def test_scrub_text_non_str_and_empty():
    assert scrub_text("") == ""
    assert scrub_text(12) == "12"  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "evil",
    [
        '"' * 200_000,
        "\\" * 200_000,
        '"code":"' * 30_000,
        "eyJ" + "a." * 100_000,
        "http://" * 30_000,
        "='" * 100_000,
        'code: "\\' + "\\x" * 100_000,
        "Bearer " * 30_000,
        "a" * 300_000 + "://",
    ],
)
def test_scrub_text_is_linear_on_adversarial_input(evil):
    start = time.perf_counter()
    scrub_text(evil)
    assert time.perf_counter() - start < 2.0


# --------------------------------------------------------------------------------------------
# scrub_fields
# --------------------------------------------------------------------------------------------


def test_scrub_fields_secret_keys_and_flags():
    out = scrub_fields(
        {
            "code": "abc",
            "State": "xyz",
            "Set-Cookie": "sid=1",
            "has_code": True,
            "state_valid": False,
            "token_endpoint": "https://h/oauth/token?token=abc",
            "error_code": "invalid_grant",
            "tokens": {"access_token": "a", "refresh_token": "r"},
            "verifier": None,
            "code_verifier": 0,
            "body": ["raw", "body"],
        }
    )
    assert out == {
        "code": REDACTED,
        "State": REDACTED,
        "Set-Cookie": REDACTED,
        "has_code": True,
        "state_valid": False,
        "token_endpoint": "https://h/oauth/token?token=<redacted>",
        "error_code": "invalid_grant",
        "tokens": REDACTED,
        "verifier": None,
        "code_verifier": REDACTED,
        "body": REDACTED,
    }


@pytest.mark.parametrize("key", sorted(SECRET_KEYS))
def test_scrub_fields_each_secret_key(key):
    assert scrub_fields({key: "SECRETVALUE9"}) == {key: REDACTED}
    assert scrub_fields({key.upper().replace("_", "-"): "SECRETVALUE9"}) == {key.upper().replace("_", "-"): REDACTED}
    assert scrub_fields({key: True}) == {key: True}


def test_scrub_fields_nested_and_non_json():
    class Opaque:
        def __repr__(self):
            return "Opaque(code='SECRET')"

        __str__ = __repr__

    out = scrub_fields(
        {
            "outer": [{"inner": ({"password": "p"}, "https://u:p@h/?code=c")}],
            "obj": Opaque(),
            7: "int key",
            "big": 2**80,
            "nan": float("nan"),
            "set": {1},
            "surrogate": "bad\udcff",
        }
    )
    assert out["outer"] == [{"inner": [{"password": REDACTED}, "https://h/?code=<redacted>"]}]
    assert out["obj"] == "Opaque(code='<redacted>')"
    assert out["7"] == "int key"
    assert out["big"] == str(2**80)
    assert out["nan"] == "nan"
    assert out["set"] == "{1}"
    json.dumps(out)
    out["surrogate"].encode("utf-8")  # JSON-safe


def test_scrub_fields_never_raises():
    class Hostile:
        def __str__(self):
            raise RuntimeError("no")

    cyclic: list = []
    cyclic.append(cyclic)
    assert scrub_fields({"x": Hostile()}) == {"x": REDACTED}
    json.dumps(scrub_fields(cyclic))
    assert scrub_fields("code=abc") == "code=<redacted>"


# --------------------------------------------------------------------------------------------
# scrub_message: eliot's own failure messages
# --------------------------------------------------------------------------------------------


class _OpaqueRepr:
    def __repr__(self):
        return "Opaque(code='SECRETC', url='https://h/?state=SECRETD')"


def _original():
    return {
        "action_type": "codex:token_exchange",
        "action_status": "started",
        "code": "SECRETA",
        "headers": {"authorization": "Bearer SECRETB"},
        "obj": _OpaqueRepr(),
        "task_uuid": "abc",
        "has_code": True,
    }


@pytest.mark.parametrize("message_type", ["eliot:serialization_failure", "eliot:destination_failure"])
def test_scrub_message_embedded_original(message_type):
    message = {
        "message_type": message_type,
        "message": _safe_unicode_dictionary(_original()),
        "reason": "boom {'code': 'SECRETE'}",
        "exception": "builtins.TypeError",
        "task_uuid": "u-1",
        "task_level": [1],
        "timestamp": 1.5,
    }
    out = scrub_message(message)
    text = json.dumps(out)
    for secret in "ABCDE":
        assert f"SECRET{secret}" not in text
    assert out["message_type"] == message_type
    assert out["task_uuid"] == "u-1"
    assert scrub_message(out) == out  # the renderer scrubs what the destination wrote
    embedded = out["message"]
    assert embedded["action_type"] == "codex:token_exchange"
    assert embedded["code"] == REDACTED
    assert embedded["headers"] == {"authorization": REDACTED}
    assert embedded["has_code"] is True
    assert embedded["obj"] == "Opaque(code='<redacted>', url='https://h/?state=<redacted>')"


def test_scrub_message_fallback_repr_and_unparsable():
    out = scrub_message({"message_type": "eliot:destination_failure", "message": repr({"code": "S1", "n": [1]})})
    assert out["message"] == {"code": REDACTED, "n": [1]}
    out = scrub_message(
        {"message_type": "eliot:serialization_failure", "message": "{'code': <object>} SECRETX", "task_uuid": "u"}
    )
    assert out == {"message_type": "eliot:serialization_failure", "task_uuid": "u", "message_dropped": True}
    assert scrub_message(out) == out


def test_scrub_message_plain_messages_and_failures():
    assert scrub_message({"message_type": "codex:x", "code": "c", "has_code": True}) == {
        "message_type": "codex:x",
        "code": REDACTED,
        "has_code": True,
    }
    assert scrub_message(None) == {"message_type": "codex:scrub_failure"}  # type: ignore[arg-type]

    class Exploding(dict):
        def items(self):
            raise RuntimeError("no")

    exploding = Exploding(timestamp=2.0, task_uuid="u", task_level=[1, 2], code="x")
    assert scrub_message(exploding) == {
        "message_type": "codex:scrub_failure",
        "timestamp": 2.0,
        "task_uuid": "u",
        "task_level": [1, 2],
    }


# --------------------------------------------------------------------------------------------
# Properties: planted secrets never survive
# --------------------------------------------------------------------------------------------

# Unreserved URL characters only, so a secret is an unambiguous substring in every encoding used
# below; uppercase + digits can't collide with the fixed lowercase text around it.
SECRET_ALPHABET = string.ascii_uppercase + string.digits + "-_.~"
secrets_st = st.text(alphabet=SECRET_ALPHABET, min_size=8, max_size=48).filter(lambda s: sum(c.isalnum() for c in s) >= 6)
query_keys = st.sampled_from(sorted(SECRET_QUERY_KEYS))
text_keys = st.sampled_from(
    sorted(SECRET_KEYS | SECRET_QUERY_KEYS | {"OPENAI_API_KEY", "Set-Cookie", "Authorization", "x-api-key"})
)
field_keys = st.sampled_from(sorted(SECRET_KEYS | {"OPENAI_API_KEY", "Set-Cookie", "Authorization", "x-api-key"}))
filler = st.text(alphabet=string.ascii_lowercase + " ,.", max_size=20)


_B64URL = str.maketrans(".~", "_-")


def _templates(key: str, secret: str) -> list[tuple[str, str]]:
    """(text, planted secret) pairs; API keys and JWTs only ever hold base64url characters."""
    token = secret.translate(_B64URL)
    return [
        (f"https://auth.example/cb?x=1&{key}={secret}&y=2", secret),
        (f"https://auth.example/cb?{key.upper()}={secret}", secret),
        (f"https://user:{secret}@auth.example/p", secret),
        (f"https://{secret}@auth.example/p", secret),
        (f"https://auth.example/p#{secret}", secret),
        (f"http://[::1]:1455/cb?{key}={secret}#{secret}", secret),
        (f"{key}={secret}", secret),
        (f"{key}: {secret}", secret),
        (f"{key}='{secret}'", secret),
        (json.dumps({key: secret}), secret),
        (json.dumps({"outer": json.dumps({key: secret})}), secret),
        (repr({key: secret, "n": 1}), secret),
        (repr({key: secret.encode()}), secret),
        (f"Authorization: Bearer {secret}", secret),
        (f"Bearer {secret}", secret),
        (f"Cookie: sid={secret}; other={secret}", secret),
        (f"sk-{token}", token),
        (f"eyJ{token}.{token}.{token}", token),
    ]


@settings(max_examples=150, suppress_health_check=[HealthCheck.too_slow])
@given(secret=secrets_st, key=text_keys, before=filler, after=filler)
def test_property_scrub_text_drops_planted_secrets(secret, key, before, after):
    qkey = key if key.lower() in SECRET_QUERY_KEYS else "code"
    for template, planted in _templates(key, secret) + _templates(qkey, secret)[:6]:
        text = f"{before} {template} {after}"
        out = scrub_text(text)
        assert planted not in out, (text, out)
        assert scrub_text(out) == out


@settings(max_examples=100)
@given(secret=secrets_st, key=query_keys)
def test_property_sanitize_url_drops_planted_secrets(secret, key):
    for url, _ in _templates(key, secret)[:6]:
        out = sanitize_url(url)
        assert secret not in out, (url, out)


json_leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.text(alphabet=string.ascii_lowercase, max_size=8))


@settings(max_examples=100, suppress_health_check=[HealthCheck.too_slow])
@given(
    secret=secrets_st,
    key=field_keys,
    shape=st.recursive(
        st.dictionaries(st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6), json_leaves, max_size=3),
        lambda children: st.dictionaries(
            st.text(alphabet=string.ascii_lowercase, min_size=1, max_size=6),
            children | st.lists(children, max_size=2),
            max_size=3,
        ),
        max_leaves=8,
    ),
)
def test_property_scrub_fields_and_message(secret, key, shape):
    qkey = key if key.lower() in SECRET_QUERY_KEYS else "code"
    message = dict(shape)
    message[key] = secret
    message["nested"] = {"list": [{key: secret}], "tuple": ({key: secret},)}
    message["texts"] = [text for text, planted in _templates(qkey, secret) if planted == secret]
    message["error_message"] = f"failed: {key}={secret}"
    out = scrub_fields(message)
    assert secret not in json.dumps(out)
    for failure in ("eliot:serialization_failure", "eliot:destination_failure"):
        wrapped = {"message_type": failure, "message": _safe_unicode_dictionary(message), "reason": repr(message)}
        once = scrub_message(wrapped)
        assert secret not in json.dumps(once)
        assert scrub_message(once) == once


@settings(max_examples=200)
@given(st.text(max_size=200))
def test_property_scrub_text_total_and_idempotent(text):
    out = scrub_text(text)
    assert isinstance(out, str)
    assert scrub_text(out) == out


# --------------------------------------------------------------------------------------------
# A URL in prose: its closing punctuation is the prose's (issue 22, point 7)
# --------------------------------------------------------------------------------------------

_hosts = st.sampled_from(["127.0.0.1", "localhost", "auth.example.com", "[::1]"])
_paths = st.lists(st.text(alphabet=string.ascii_lowercase + string.digits + "-_", min_size=1, max_size=8), max_size=3)
_closers = st.sampled_from([")", ").", "),", ",", ".", ";", ":", "!", "?", "]", ")]."])


@settings(max_examples=200)
@given(host=_hosts, port=st.integers(1, 65535), path=_paths, closer=_closers, secret=secrets_st)
def test_property_a_url_before_prose_punctuation_is_kept_and_its_secrets_are_not(host, port, path, closer, secret):
    url = f"https://{host}:{port}/" + "/".join(path)
    opener = "(" if closer.startswith(")") else "[" if closer.startswith("]") else ""
    assert scrub_text(f"from {opener}{url}{closer} on") == f"from {opener}{url}{closer} on"
    secret = secret.rstrip(".,;:!?)]")  # a value's own trailing dot reads as the sentence's
    scrubbed = scrub_text(f"from {opener}{url}?code={secret}{closer} on")
    assert scrubbed == f"from {opener}{url}?code={REDACTED}{closer} on"


def test_a_balanced_parenthesis_stays_in_the_url():
    assert scrub_text("see https://en.wikipedia.org/wiki/Foo_(bar).") == "see https://en.wikipedia.org/wiki/Foo_(bar)."
