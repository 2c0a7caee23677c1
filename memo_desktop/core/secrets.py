"""Where secrets live (the S3 secret key, ...), never in settings, argv or logs.

Looked up in this order:
1. an environment variable (`MEMO_S3_SECRET_KEY` for `s3_secret_key`): for headless workers and CI;
2. the OS keyring, when it has a real backend (macOS Keychain, Windows Credential Locker, Secret Service/KWallet);
3. `<data dir>/secrets.json`, readable only by its owner (0600): the fallback on machines without a keyring.

`set_secret` writes to the keyring when one works, else to the file. `secret_location()` says in words where a
secret is (for the README, the settings dialog and `memo-desktop services status`).
"""

from __future__ import annotations

import json
import logging
import os
import re
from enum import Enum
from pathlib import Path
from typing import Any

import keyring
import keyring.backend
import keyring.errors

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import ConfigError
from memo_desktop.core.private_files import atomic_write_text, make_private_dir

log = logging.getLogger(__name__)

KEYRING_SERVICE = "memo-desktop"
SECRETS_FILENAME = "secrets.json"
S3_SECRET_KEY = "s3_secret_key"
HTTP_TOKEN = "http_token"  # the web dashboard's and API's token (core.http_token)
WEBHOOK_SECRET_PREFIX = "webhook:"  # + a webhook's id: its signing secret, on the machine that added it
# the secrets the app knows and the environment variable that overrides each
ENVIRONMENT_VARIABLES = {S3_SECRET_KEY: "MEMO_S3_SECRET_KEY", HTTP_TOKEN: "MEMO_HTTP_TOKEN"}
WEBHOOK_ENVIRONMENT_PREFIX = "MEMO_WEBHOOK_SECRET_"  # + the webhook's id in capitals


class SecretStore(str, Enum):
    ENVIRONMENT = "environment"
    KEYRING = "keyring"
    FILE = "file"


def mask_url(url: str) -> str:
    """A URL safe to show or log: any password replaced by ***."""
    return re.sub(r"(//[^:/@]*:)[^@]*@", r"\1***@", url)


def get_secret(settings: Settings, name: str) -> str | None:
    """The secret `name`, or None when it is set nowhere."""
    env_value = os.environ.get(_env_var(name))
    if env_value:
        return env_value
    backend = usable_keyring()
    if backend is not None:
        try:
            value = backend.get_password(KEYRING_SERVICE, _keyring_user(settings, name))
        except keyring.errors.KeyringError as exc:
            log.warning("the keyring could not be read (%s); falling back to %s", type(exc).__name__,
                        secrets_file(settings))
        else:
            if value is not None:
                return value
    return read_private_json(secrets_file(settings)).get(name)


def set_secret(settings: Settings, name: str, value: str) -> SecretStore:
    """Store a secret in the keyring if one works, else in the private file; returns where it went."""
    _env_var(name)  # refuse unknown names early
    backend = usable_keyring()
    if backend is not None:
        try:
            backend.set_password(KEYRING_SERVICE, _keyring_user(settings, name), value)
        except keyring.errors.KeyringError as exc:
            log.warning("the keyring refused the secret (%s); storing it in %s instead", type(exc).__name__,
                        secrets_file(settings))
        else:
            _drop_from_file(settings, name)  # a stale copy in the file must not outlive the keyring's
            return SecretStore.KEYRING
    path = secrets_file(settings)
    write_private_json(path, {**read_private_json(path), name: value})
    return SecretStore.FILE


def secret_location(settings: Settings, name: str = S3_SECRET_KEY) -> str:
    """Where `name` is read from, in words a user understands (never the value)."""
    if os.environ.get(_env_var(name)):
        return f"the environment variable {_env_var(name)}"
    backend = usable_keyring()
    if backend is not None:
        return f"the system keyring ({backend.name}), service '{KEYRING_SERVICE}'"
    return f"{secrets_file(settings)} (readable only by you)"


def secrets_file(settings: Settings) -> Path:
    return settings.data_dir / SECRETS_FILENAME


def usable_keyring() -> keyring.backend.KeyringBackend | None:
    """The OS keyring, or None when only a placeholder is available (headless machines).

    `fail` is keyring's "no backend" stand-in and a chainer over nothing stores nothing; keyrings.alt's plaintext
    backends only base64-encode, which is no safer than our 0600 file and less clear about where the secret is.
    """
    backend = keyring.get_keyring()
    module = type(backend).__module__
    if module.startswith(("keyring.backends.fail", "keyring.backends.null", "keyrings.alt")):
        return None
    if module.startswith("keyring.backends.chainer") and not getattr(backend, "backends", None):
        return None
    return backend


def read_private_json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise ConfigError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"{path} must hold a JSON object")
    return data


def write_private_json(path: Path, data: dict[str, Any]) -> None:
    """Write a JSON file only its owner can read, atomically; it is never readable by others, not even briefly."""
    make_private_dir(path.parent)
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True))


def _drop_from_file(settings: Settings, name: str) -> None:
    path = secrets_file(settings)
    stored = read_private_json(path)
    if name in stored:
        del stored[name]
        write_private_json(path, stored)


def webhook_secret_name(webhook_id: str) -> str:
    return WEBHOOK_SECRET_PREFIX + webhook_id


def delete_secret(settings: Settings, name: str) -> None:
    """Forget a secret wherever this machine stored it (keyring and file); the environment is the user's."""
    _env_var(name)
    backend = usable_keyring()
    if backend is not None:
        try:
            backend.delete_password(KEYRING_SERVICE, _keyring_user(settings, name))
        except keyring.errors.KeyringError:  # PasswordDeleteError: it was not there
            pass
    _drop_from_file(settings, name)


def _env_var(name: str) -> str:
    if name.startswith(WEBHOOK_SECRET_PREFIX) and re.fullmatch(r"[A-Za-z0-9_]+", name[len(WEBHOOK_SECRET_PREFIX):]):
        return WEBHOOK_ENVIRONMENT_PREFIX + name[len(WEBHOOK_SECRET_PREFIX):].upper()
    try:
        return ENVIRONMENT_VARIABLES[name]
    except KeyError:
        raise ConfigError(f"unknown secret '{name}' (known: {', '.join(sorted(ENVIRONMENT_VARIABLES))})") from None


def _keyring_user(settings: Settings, name: str) -> str:
    # one keyring entry per data dir, so two data dirs (or a test run) never share credentials by accident
    return f"{name}@{settings.data_dir.expanduser().absolute()}"
