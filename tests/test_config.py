"""All state lives under $UPSTREAM_HOME, so instances can run side by side."""
import os
import stat

from upstream import config


def test_home_follows_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("UPSTREAM_HOME", str(tmp_path / "a"))
    assert config.home() == tmp_path / "a" and (tmp_path / "a").is_dir()
    assert stat.S_IMODE((tmp_path / "a").stat().st_mode) == 0o700  # a new home is its owner's alone
    monkeypatch.setenv("UPSTREAM_HOME", str(tmp_path / "b"))
    assert config.home() == tmp_path / "b"


def test_default_home_is_dot_upstream_in_the_project(tmp_path, monkeypatch):
    monkeypatch.delenv("UPSTREAM_HOME")
    (tmp_path / "MLproject").write_text("name: x\n")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path / "sub")
    assert config.home() == tmp_path / ".upstream"


def test_demo_secret_is_created_once_and_private(monkeypatch):
    monkeypatch.delenv("UPSTREAM_SECRET", raising=False)
    first = config.secret_key()
    assert first == config.secret_key() and len(first) == 64
    mode = stat.S_IMODE(os.stat(config.home() / "secret.key").st_mode)
    assert mode == 0o600


def test_configured_secret_wins(monkeypatch):
    monkeypatch.setenv("UPSTREAM_SECRET", "from-the-key-vault")
    assert config.secret_key() == b"from-the-key-vault"
    assert not (config.home() / "secret.key").exists()
