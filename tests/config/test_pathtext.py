"""codexlogin.pathtext writes every path as pathlib does (status names paths in its messages), and
Settings keeps working as the frozen dataclass it was, now that neither loads at start-up."""

from __future__ import annotations

import copy
import dataclasses
import os
import pickle
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from codexlogin.config import Settings, codex_home_text, default_codex_home, load_settings
from codexlogin.pathtext import expanded_path_text, joined, path_text

posix_only = pytest.mark.skipif(os.name != "posix", reason="elsewhere pathtext asks pathlib itself")
# Paths made of the characters pathlib's parsing cares about.
PATHS = st.text(alphabet="/.~ab", max_size=12)


@posix_only
@given(PATHS)
def test_path_text_is_what_pathlib_writes(text):
    assert path_text(text) == str(Path(text))


@posix_only
@given(PATHS, st.sampled_from(["auth.json", "config.toml"]))
def test_joined_is_what_pathlib_joins(base, name):
    assert joined(base, name) == str(Path(base) / name)


@posix_only
@given(PATHS, st.sampled_from(["/home/alice", "/", "", "/home//bob/", "relative/home", "//net"]))
def test_expanded_path_text_expands_as_pathlib(text, home):
    saved = os.environ.get("HOME")
    os.environ["HOME"] = home
    try:
        try:
            expected: str | type[Exception] = str(Path(text).expanduser())
        except RuntimeError:
            expected = RuntimeError
        if expected is RuntimeError:
            with pytest.raises(RuntimeError):
                expanded_path_text(text)
        else:
            assert expanded_path_text(text) == expected
    finally:
        if saved is None:
            del os.environ["HOME"]
        else:
            os.environ["HOME"] = saved


def test_codex_home_text_is_default_codex_home(tmp_path):
    for environ in ({}, {"CODEX_HOME": ""}, {"CODEX_HOME": f"{tmp_path}//x/./y/"}, {"CODEX_HOME": "~/elsewhere"}):
        assert codex_home_text(environ) == str(default_codex_home(environ))


def test_settings_is_still_a_frozen_dataclass_to_its_users(tmp_path):
    settings = load_settings({}, environ={"CODEX_HOME": f"{tmp_path}//home/"})
    assert isinstance(settings.codex_home, Path) and settings.codex_home == tmp_path / "home"
    assert settings.home_text == str(tmp_path / "home") and settings.auth_file_text == str(settings.auth_file)
    assert settings == Settings(tmp_path / "home") and hash(settings) == hash(Settings(tmp_path / "home"))
    changed = dataclasses.replace(settings, issuer="http://127.0.0.1:9", port=0)
    assert (changed.issuer, changed.port, changed.codex_home) == ("http://127.0.0.1:9", 0, tmp_path / "home")
    assert changed != settings and dataclasses.replace(changed, issuer=settings.issuer, port=settings.port) == settings
    assert dataclasses.is_dataclass(settings)
    assert [field.name for field in dataclasses.fields(Settings)] == list(Settings.__annotations__)
    assert dataclasses.asdict(settings)["codex_home"] == tmp_path / "home"
    assert pickle.loads(pickle.dumps(settings)) == settings and copy.deepcopy(settings) == settings
    assert repr(settings).startswith(f"Settings(codex_home={tmp_path / 'home'!r}, issuer='https://auth.openai.com', ")
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.issuer = "https://elsewhere"  # type: ignore[misc]
