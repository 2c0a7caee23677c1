"""Secrets: environment > a working OS keyring > a 0600 file in the data dir; never a placeholder keyring."""

from __future__ import annotations

import stat

import keyring
import keyring.backend
import keyring.backends.fail
import pytest

from memo_desktop.core import secrets
from memo_desktop.core.config import load_settings
from memo_desktop.core.errors import ConfigError
from memo_desktop.core.secrets import S3_SECRET_KEY, SecretStore, get_secret, secret_location, set_secret


class MemoryKeyring(keyring.backend.KeyringBackend):
    """A working keyring in memory (stands in for macOS Keychain / Secret Service)."""

    priority = 1

    def __init__(self) -> None:
        super().__init__()
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service, username):
        return self.items.get((service, username))

    def set_password(self, service, username, password):
        self.items[(service, username)] = password

    def delete_password(self, service, username):
        self.items.pop((service, username), None)


@pytest.fixture
def local_settings(tmp_path):
    return load_settings({"data_dir": str(tmp_path / "data")}, environ={})


@pytest.fixture
def no_keyring(monkeypatch):
    monkeypatch.setattr(keyring, "get_keyring", lambda: keyring.backends.fail.Keyring())


@pytest.fixture
def memory_keyring(monkeypatch):
    backend = MemoryKeyring()
    monkeypatch.setattr(keyring, "get_keyring", lambda: backend)
    return backend


def test_without_a_keyring_the_secret_goes_to_a_private_file(local_settings, no_keyring):
    assert get_secret(local_settings, S3_SECRET_KEY) is None

    where = set_secret(local_settings, S3_SECRET_KEY, "s3cr3t")

    path = local_settings.data_dir / "secrets.json"
    assert where is SecretStore.FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert get_secret(local_settings, S3_SECRET_KEY) == "s3cr3t"
    assert str(path) in secret_location(local_settings) and "s3cr3t" not in secret_location(local_settings)
    assert not list(path.parent.glob(".secrets.json*")), "no temporary file left behind"


def test_a_working_keyring_is_preferred_and_replaces_a_file_copy(local_settings, monkeypatch, memory_keyring):
    monkeypatch.setattr(keyring, "get_keyring", lambda: keyring.backends.fail.Keyring())
    set_secret(local_settings, S3_SECRET_KEY, "old-in-file")
    monkeypatch.setattr(keyring, "get_keyring", lambda: memory_keyring)

    where = set_secret(local_settings, S3_SECRET_KEY, "new-in-keyring")

    assert where is SecretStore.KEYRING
    assert get_secret(local_settings, S3_SECRET_KEY) == "new-in-keyring"
    assert "old-in-file" not in (local_settings.data_dir / "secrets.json").read_text()
    assert "keyring" in secret_location(local_settings)
    assert [user for _, user in memory_keyring.items] == [f"s3_secret_key@{local_settings.data_dir}"]


def test_the_environment_wins(local_settings, memory_keyring, monkeypatch):
    set_secret(local_settings, S3_SECRET_KEY, "from-keyring")
    monkeypatch.setenv("MEMO_S3_SECRET_KEY", "from-env")

    assert get_secret(local_settings, S3_SECRET_KEY) == "from-env"
    assert secret_location(local_settings) == "the environment variable MEMO_S3_SECRET_KEY"


def test_placeholder_keyrings_are_not_used(monkeypatch):
    monkeypatch.setattr(keyring, "get_keyring", lambda: keyring.backends.fail.Keyring())
    assert secrets.usable_keyring() is None


def test_unknown_secret_names_are_refused(local_settings, no_keyring):
    with pytest.raises(ConfigError, match="unknown secret"):
        set_secret(local_settings, "password", "x")


def test_a_broken_secrets_file_is_a_clear_error(local_settings, no_keyring):
    local_settings.data_dir.mkdir(parents=True)
    (local_settings.data_dir / "secrets.json").write_text("{not json")

    with pytest.raises(ConfigError, match="secrets.json"):
        get_secret(local_settings, S3_SECRET_KEY)
