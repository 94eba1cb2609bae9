"""Credential backends: file, keyring (an in-memory keyring backend, never the system's), auto.

Real files in tmp_path (conftest points CODEX_HOME there); the keyring is swapped with
`keyring.set_keyring` for the test and replaced by the fail backend afterwards.
"""

from __future__ import annotations

import io
import json
import stat
from dataclasses import replace

import keyring
import keyring.backend
import keyring.backends.fail
import keyring.errors
import pytest
from harness import MemoryKeyring

from codexlogin.config import load_settings
from codexlogin.credentials.keyring import KEYRING_SERVICE, keyring_user
from codexlogin.credentials.model import AuthDotJson, TokenData
from codexlogin.credentials.policy import check_login_method
from codexlogin.credentials.store import (
    credentials_present,
    delete_credentials,
    load_credentials,
    save_credentials,
)
from codexlogin.errors import ExitCode, PolicyViolation, StorageFailed
from codexlogin.flows.ui import SilentUI


class BrokenKeyring(MemoryKeyring):
    def set_password(self, service, username, password):
        raise keyring.errors.KeyringLocked("the keyring is locked")


@pytest.fixture
def memory_keyring():
    backend = MemoryKeyring()
    keyring.set_keyring(backend)
    yield backend
    keyring.set_keyring(keyring.backends.fail.Keyring())


@pytest.fixture
def no_keyring():
    keyring.set_keyring(keyring.backends.fail.Keyring())
    yield


def settings_with(store="file", **changes):
    return replace(load_settings({}), cli_auth_credentials_store=store, **changes)


def no_fallback(message):
    raise AssertionError(f"unexpected keyring fallback: {message}")


CHATGPT = AuthDotJson(
    auth_mode="chatgpt",
    tokens=TokenData(id_token="id.t.x", access_token="acc.t.x", refresh_token="rt-secret", account_id="acct_1"),
    last_refresh="2026-11-24T00:00:00Z",
)
APIKEY = AuthDotJson(auth_mode="apikey", openai_api_key="sk-proj-abcdefghijklmnop")


def test_file_backend_round_trip_is_private():
    settings = settings_with("file")
    assert load_credentials(settings) == (None, "file")
    assert save_credentials(settings, CHATGPT, on_fallback=no_fallback) == "file"
    assert stat.S_IMODE(settings.auth_file.stat().st_mode) == 0o600
    loaded, backend = load_credentials(settings)
    assert backend == "file" and loaded.to_json() == CHATGPT.to_json()
    assert delete_credentials(settings) is True
    assert delete_credentials(settings) is False
    assert not settings.auth_file.exists()


def test_keyring_backend_stores_one_entry_per_codex_home_and_no_file(memory_keyring):
    settings = settings_with("keyring")
    settings.auth_file.parent.mkdir(parents=True, exist_ok=True)
    settings.auth_file.write_text(json.dumps(APIKEY.to_json()))  # left over from a file login
    assert save_credentials(settings, CHATGPT, on_fallback=no_fallback) == "keyring"
    assert not settings.auth_file.exists()  # no tokens left on disk
    (((service, user), secret),) = memory_keyring.entries.items()
    assert service == KEYRING_SERVICE and user == keyring_user(settings) and user.startswith("cli|")
    assert json.loads(secret) == CHATGPT.to_json()
    loaded, backend = load_credentials(settings)
    assert backend == "keyring" and loaded.to_json() == CHATGPT.to_json()
    assert credentials_present(settings)
    assert delete_credentials(settings) is True
    assert memory_keyring.entries == {} and load_credentials(settings) == (None, "keyring")


def test_keyring_store_without_a_keyring_is_a_storage_failure(no_keyring):
    settings = settings_with("keyring")
    with pytest.raises(StorageFailed) as info:
        save_credentials(settings, APIKEY, on_fallback=no_fallback)
    assert info.value.exit_code == ExitCode.STORAGE_FAILED
    assert "no system keyring" in info.value.detail and "file or auto" in info.value.detail
    assert not settings.auth_file.exists()
    with pytest.raises(StorageFailed):
        load_credentials(settings)


def test_auto_uses_the_keyring_when_there_is_one(memory_keyring):
    settings = settings_with("auto")
    warnings = []
    assert save_credentials(settings, APIKEY, on_fallback=warnings.append) == "keyring"
    assert warnings == [] and len(memory_keyring.entries) == 1


@pytest.mark.parametrize("backend", [keyring.backends.fail.Keyring, BrokenKeyring])
def test_auto_falls_back_to_the_file_with_a_warning(backend):
    keyring.set_keyring(backend())
    try:
        settings = settings_with("auto")
        warnings = []
        assert save_credentials(settings, APIKEY, on_fallback=warnings.append) == "file"
        assert len(warnings) == 1 and "file backend" in warnings[0] and str(settings.auth_file) in warnings[0]
        assert load_credentials(settings)[0].openai_api_key == APIKEY.openai_api_key
        assert load_credentials(settings)[1] == "file"
    finally:
        keyring.set_keyring(keyring.backends.fail.Keyring())


async def test_auto_default_warning_goes_to_stderr(no_keyring):
    """The store only reports the fallback; a login's save shows it to the user as a warning line."""
    from codexlogin.cli.console import ConsoleUI
    from codexlogin.flows.complete import save_locked

    stderr = io.StringIO()
    await save_locked(settings_with("auto"), APIKEY, ConsoleUI(stderr=stderr))
    err = stderr.getvalue()
    assert err.startswith("warning: no system keyring is available") and "auth.json" in err


def test_auto_reads_an_older_file_login_when_the_keyring_is_empty(memory_keyring):
    file_settings, auto_settings = settings_with("file"), settings_with("auto")
    save_credentials(file_settings, CHATGPT, on_fallback=no_fallback)
    loaded, backend = load_credentials(auto_settings)
    assert backend == "file" and loaded.tokens.account_id == "acct_1"
    assert delete_credentials(auto_settings) is True and not file_settings.auth_file.exists()


def test_corrupt_keyring_entry_is_a_storage_failure(memory_keyring):
    settings = settings_with("keyring")
    memory_keyring.set_password(KEYRING_SERVICE, keyring_user(settings), "{not json")
    with pytest.raises(StorageFailed):
        load_credentials(settings)
    assert credentials_present(settings)


def test_login_method_policy():
    check_login_method(settings_with(), "api")
    check_login_method(settings_with(), "chatgpt")
    check_login_method(settings_with(forced_login_method="api"), "api")
    with pytest.raises(PolicyViolation) as info:
        check_login_method(settings_with(forced_login_method="api"), "chatgpt")
    assert "--with-api-key" in info.value.detail and info.value.exit_code == ExitCode.POLICY_VIOLATION
    with pytest.raises(PolicyViolation) as info:
        check_login_method(settings_with(forced_login_method="chatgpt"), "api")
    assert "`codex login`" in info.value.detail


def test_reprs_hold_no_secrets():
    text = repr(CHATGPT) + repr(APIKEY)
    assert "rt-secret" not in text and "sk-proj" not in text


# --- writers take $CODEX_HOME/auth.lock ---------------------------------------------------------------


async def test_save_credentials_locked_waits_for_the_lock(autojump_clock):  # no sockets: jump at once
    import trio

    from codexlogin.credentials.lock import hold_file_lock, refresh_lock_path
    from codexlogin.flows.complete import save_locked as save_credentials_locked

    settings = settings_with("file")
    done = []

    async def save():
        done.append(await save_credentials_locked(settings, APIKEY, SilentUI()))

    with trio.fail_after(100):
        async with trio.open_nursery() as nursery, hold_file_lock(refresh_lock_path(settings), timeout=1):
            nursery.start_soon(save)
            await trio.sleep(30)  # virtual: a refresh's network call
            assert done == [] and not settings.auth_file.exists()
    assert done == ["file"] and load_credentials(settings)[0].openai_api_key == APIKEY.openai_api_key


async def test_save_credentials_locked_gives_up_as_a_storage_failure(autojump_clock):
    import trio

    from codexlogin.credentials.lock import hold_file_lock, refresh_lock_path
    from codexlogin.flows.complete import save_locked as save_credentials_locked

    settings = settings_with("file")
    with trio.fail_after(100):
        async with hold_file_lock(refresh_lock_path(settings), timeout=1):
            started = trio.current_time()
            with pytest.raises(StorageFailed) as info:
                await save_credentials_locked(settings, APIKEY, SilentUI(), timeout=20)
            assert 20 <= trio.current_time() - started < 21
    assert info.value.exit_code == ExitCode.STORAGE_FAILED
    assert info.value.detail.startswith("credentials not saved: another codex process held") and "auth.lock" in info.value.detail
    assert not settings.auth_file.exists()


def test_describe_location():
    from codexlogin.credentials.store import describe_location

    settings = settings_with("keyring")
    assert describe_location(settings, "keyring") == "the system keyring (service Codex Auth)"
    assert describe_location(settings, "file") == str(settings.auth_file)


# --- I/O failures (exit 7) vs unusable content (exit 8) -----------------------------------------------


@pytest.mark.parametrize("content", [b"[" * 100_000, b"[" * 100_000 + b"]" * 100_000, b'{"a":' * 100_000])
def test_deeply_nested_json_is_invalid_content_not_a_crash(content):
    settings = settings_with("file")
    settings.auth_file.parent.mkdir(parents=True, exist_ok=True)
    settings.auth_file.write_bytes(content)
    with pytest.raises(StorageFailed) as info:
        load_credentials(settings)
    assert info.value.exit_code == ExitCode.CREDENTIALS_UNUSABLE
    assert "not valid auth.json" in info.value.detail and "\n" not in info.value.detail


def test_deeply_nested_keyring_entry_is_invalid_content(memory_keyring):
    settings = settings_with("keyring")
    memory_keyring.set_password(KEYRING_SERVICE, keyring_user(settings), "[" * 100_000)
    with pytest.raises(StorageFailed) as info:
        load_credentials(settings)
    assert info.value.exit_code == ExitCode.CREDENTIALS_UNUSABLE


def test_unreadable_auth_json_is_an_io_failure():
    settings = settings_with("file")
    settings.auth_file.mkdir(parents=True)  # EISDIR on read
    with pytest.raises(StorageFailed) as info:
        load_credentials(settings)
    assert info.value.exit_code == ExitCode.STORAGE_FAILED
    settings.auth_file.rmdir()
    settings.auth_file.write_text("{oops")
    with pytest.raises(StorageFailed) as info:
        load_credentials(settings)
    assert info.value.exit_code == ExitCode.CREDENTIALS_UNUSABLE
