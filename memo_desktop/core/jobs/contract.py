"""The queue contract of the origin design: queue names, payload schemas, job ids and job options.

| queue         | payload (JSON)                                                                 |
|---------------|--------------------------------------------------------------------------------|
| file-upload   | memoId, filename, mimeType, size, path, sha256, device                         |
| file-process  | fileId, s3Key, mimeType, operation (transcribe | analyze | compress)           |
| file-delete   | fileId, s3Key                                                                  |

Upload jobs name a local file, so only workers on the machine that holds it may take them: each machine's uploads
live in the queue `file-upload@<device>`. The other two queues are shared by every worker. Each queue is a set of
RQ queues, its lanes, one per priority and user (`file-process:high:alice`; see `core.queueing.lanes`).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from enum import Enum
from typing import Any, Callable, Mapping

from rq import Retry

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import PayloadError
from memo_desktop.core.queueing.lanes import base_of


class QueueKind(str, Enum):
    UPLOAD = "file-upload"
    PROCESS = "file-process"
    DELETE = "file-delete"

    @property
    def health_key(self) -> str:
        """The camelCase key of this queue in the health JSON (fileUpload, fileProcess, fileDelete)."""
        head, *rest = self.value.split("-")
        return head + "".join(part.capitalize() for part in rest)

    @classmethod
    def parse(cls, text: str) -> QueueKind:
        for kind in cls:
            if text in (kind.value, kind.health_key):
                return kind
        raise PayloadError(f"unknown queue '{text}' (known: {', '.join(k.value for k in cls)})")


DEVICE_SEPARATOR = "@"


def queue_name(kind: QueueKind, device: str) -> str:
    """The queue (the base name of its lanes) that holds `kind` jobs as seen from `device`."""
    return f"{kind.value}{DEVICE_SEPARATOR}{device}" if kind is QueueKind.UPLOAD else kind.value


def queue_named(name: str, device: str) -> str:
    """A queue as a person names it (`file-process`, `fileProcess`, `file-upload`: this device's, `file-upload@pc`,
    a lane, any other queue) as the base name the app keys it by."""
    try:
        return queue_name(QueueKind.parse(name), device)
    except PayloadError:
        return base_of(name)


def optional_queue(name: str | None, device: str) -> str | None:
    """`queue_named` for an optional filter: None (every queue) when no name is given."""
    return queue_named(name, device) if name and name.strip() else None


def kind_of_queue(name: str) -> QueueKind:
    """The kind of a queue, given its name or the name of one of its lanes."""
    return QueueKind.parse(base_of(name).split(DEVICE_SEPARATOR, 1)[0])


# Queues of the app's own operations beside the three of the contract (not in the health JSON's `queues`, shown
# everywhere else): webhook deliveries, routed per device like uploads (only the machine holding a webhook's
# secret can sign its deliveries).
WEBHOOK_QUEUE = "webhook-delivery"
OPS_QUEUES = (WEBHOOK_QUEUE,)


def ops_queue_name(family: str, device: str) -> str:
    return f"{family}{DEVICE_SEPARATOR}{device}"


def is_app_queue(name: str) -> bool:
    """A queue this app writes (a contract queue of any device, or one of its operations queues), or a lane of one."""
    family = base_of(name).split(DEVICE_SEPARATOR, 1)[0]
    return family in OPS_QUEUES or any(family == kind.value for kind in QueueKind)


OPERATIONS = ("transcribe", "analyze", "compress")
_SHA256 = re.compile(r"^[0-9a-f]{64}$")


@dataclass(frozen=True)
class Field:
    type: type | tuple[type, ...]
    required: bool = True
    check: Callable[[Any], str | None] | None = None  # returns a problem description, or None when fine


def _non_empty(value: Any) -> str | None:
    return "must not be empty" if not str(value).strip() else None


def _positive(value: Any) -> str | None:
    return "must be greater than 0" if value <= 0 else None


def _sha256(value: Any) -> str | None:
    return None if _SHA256.match(value) else "must be 64 lowercase hex digits"


def _absolute_path(value: Any) -> str | None:
    return None if str(value).startswith("/") or re.match(r"^[A-Za-z]:[\\/]", value) else "must be an absolute path"


def _operation(value: Any) -> str | None:
    return None if value in OPERATIONS else f"must be one of {', '.join(OPERATIONS)}"


SCHEMAS: dict[QueueKind, dict[str, Field]] = {
    QueueKind.UPLOAD: {
        "memoId": Field(str, check=_non_empty),
        "filename": Field(str, check=_non_empty),
        "mimeType": Field(str, check=_non_empty),
        "size": Field(int, check=_positive),
        "path": Field(str, check=_absolute_path),
        "sha256": Field(str, check=_sha256),
        "device": Field(str, check=_non_empty),
    },
    QueueKind.PROCESS: {
        "fileId": Field(str, check=_non_empty),
        "s3Key": Field(str, check=_non_empty),
        "mimeType": Field(str, check=_non_empty),
        "operation": Field(str, check=_operation),
        "options": Field(dict, required=False),
    },
    QueueKind.DELETE: {
        "fileId": Field(str, check=_non_empty),
        "s3Key": Field(str, check=_non_empty),
    },
}


def validate_payload(kind: QueueKind, payload: Mapping[str, Any]) -> dict[str, Any]:
    """Return a plain-dict copy of a valid payload, or raise PayloadError listing every problem."""
    return validate_fields(kind.value, SCHEMAS[kind], payload)


def validate_fields(label: str, schema: Mapping[str, Field], payload: Mapping[str, Any]) -> dict[str, Any]:
    """`validate_payload` for any schema (the operations queues have their own)."""
    if not isinstance(payload, Mapping):
        raise PayloadError(f"{label} payload must be a JSON object, got {type(payload).__name__}")
    problems = [f"unknown field '{name}'" for name in payload if name not in schema]
    for name, spec in schema.items():
        if name not in payload:
            if spec.required:
                problems.append(f"'{name}' is required")
            continue
        value = payload[name]
        bad_type = isinstance(value, bool) and spec.type is not bool
        if bad_type or not isinstance(value, spec.type):
            expected = spec.type.__name__ if isinstance(spec.type, type) else "/".join(t.__name__ for t in spec.type)
            article = "an" if expected[0] in "aeiou" else "a"
            problems.append(f"'{name}' must be {article} {expected}, got {type(value).__name__}")
            continue
        problem = spec.check(value) if spec.check else None
        if problem:
            problems.append(f"'{name}' {problem}")
    if problems:
        raise PayloadError(f"invalid {label} payload: " + "; ".join(problems))
    return dict(payload)


def job_id_for(kind: QueueKind, payload: Mapping[str, Any]) -> str:
    """Stable ids make retries and repeated requests idempotent: one live job per memo and content/operation."""
    if kind is QueueKind.UPLOAD:
        return f"upload-{payload['memoId']}-{payload['sha256'][:16]}"
    key_digest = hashlib.sha256(payload["s3Key"].encode()).hexdigest()[:12]
    if kind is QueueKind.PROCESS:
        return f"process-{payload['operation']}-{payload['fileId']}-{key_digest}"
    return f"delete-{payload['fileId']}-{key_digest}"


@dataclass(frozen=True)
class JobOptions:
    """Per-job options derived from the settings (origin design: attempts 3, backoff exponential from 2 s)."""

    attempts: int
    backoff: float
    timeout: int
    result_ttl: int = 30 * 24 * 3600   # retention is by count (see workers.retention); the TTL is a backstop
    failure_ttl: int = 90 * 24 * 3600

    @classmethod
    def from_settings(cls, settings: Settings) -> JobOptions:
        return cls(attempts=settings.attempts, backoff=settings.backoff, timeout=settings.job_timeout)

    @property
    def backoff_intervals(self) -> list[int]:
        """One interval per retry: 2 s, 4 s, 8 s... (rq indexes a shorter list from its end, so never shorten)."""
        return [max(1, round(self.backoff * 2**i)) if self.backoff else 0 for i in range(self.attempts - 1)]

    def retry(self) -> Retry | None:
        retries = self.attempts - 1
        return Retry(max=retries, interval=self.backoff_intervals) if retries > 0 else None
