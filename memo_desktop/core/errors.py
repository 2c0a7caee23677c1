"""The one exception tree of memo-desktop. Errors of the libraries underneath are translated at the boundary.

    MemoError                      base; `str(e)` is a message a user understands
    ├── ConfigError                a setting is unknown or has a bad value (names the key)
    ├── ServiceError               an embedded service (redis-server, weed) could not start or answer
    ├── RuntimeClosed              a runtime (or its context) was used after it was stopped
    ├── QueueError                 Redis/RQ problems (redis-py's errors are translated in core.redis_errors)
    │   ├── RedisUnavailable       Redis cannot be used now: unreachable or timed out (the work waits locally)
    │   │   └── RedisRefused       it answers but refuses us: retrying cannot help, the configuration must change
    │   │       ├── RedisAuthError     wrong password or user, or no permission
    │   │       └── RedisReadOnly      a read-only replica
    │   ├── PayloadError           a job payload (or a priority, user, schedule, cron expression) is invalid
    │   ├── JobNotFound            no job with that id
    │   └── ScheduleNotFound       no schedule with that name
    ├── StorageError               object store problems
    │   ├── StorageUnavailable     endpoint unreachable
    │   ├── StorageAuthError       bad credentials or no permission                    (also PermanentJobError)
    │   └── ObjectNotFound         object or bucket missing
    ├── LibraryError               the memo library (SQLite index, audio files)
    │   ├── MemoNotFound
    │   └── BadAudioFile           missing, empty, unreadable or not audio
    ├── RecorderError              capture problems (no device, device lost, disk full)
    │   └── NoInputDevice
    ├── ProcessingError            analyze / compress / transcribe
    │   ├── TranscriptionUnavailable   the [transcribe] extra or its model is missing      (also PermanentJobError)
    │   ├── CorruptAudio               the object is not audio, or is damaged               (also PermanentJobError)
    │   ├── SourceMissing              the object to process is not in the object store     (also PermanentJobError)
    │   └── BadProcessOptions          a file-process job's `options` are invalid           (also PermanentJobError)
    ├── DesktopIntegrationError    a desktop entry, icon or metainfo file could not be written or removed
    ├── WebhookError               webhooks (core.webhooks)
    │   ├── WebhookNotFound        no webhook with that id
    │   └── DeliveryFailed         an endpoint did not take a delivery (unreachable, timed out, not 2xx)
    └── PermanentJobError          (mixin-like base) a job failure that retrying cannot fix: skips remaining attempts

`PermanentJobError` is also the base of `UnregisteredJobError` (a job naming a function the app did not register).
"""

from __future__ import annotations


class MemoError(Exception):
    """Base of every error memo-desktop raises on purpose."""


class ConfigError(MemoError):
    pass


class ServiceError(MemoError):
    pass


class RuntimeClosed(MemoError):
    pass


class QueueError(MemoError):
    pass


class RedisUnavailable(QueueError):
    pass


class RedisRefused(RedisUnavailable):
    """Redis answered but will not work with these settings; a process should stop retrying and say so."""


class RedisAuthError(RedisRefused):
    pass


class RedisReadOnly(RedisRefused):
    pass


class PayloadError(QueueError):
    pass


class JobNotFound(QueueError):
    pass


class ScheduleNotFound(QueueError):
    pass


class StorageError(MemoError):
    pass


class StorageUnavailable(StorageError):
    pass


class ObjectNotFound(StorageError):
    pass


class LibraryError(MemoError):
    pass


class MemoNotFound(LibraryError):
    pass


class BadAudioFile(LibraryError):
    pass


class RecorderError(MemoError):
    pass


class NoInputDevice(RecorderError):
    pass


class DesktopIntegrationError(MemoError):
    pass


class WebhookError(MemoError):
    pass


class WebhookNotFound(WebhookError):
    pass


class DeliveryFailed(WebhookError):
    pass


class PermanentJobError(MemoError):
    """A job failure that another attempt cannot fix; the worker skips the remaining attempts."""


class UnregisteredJobError(PermanentJobError):
    pass


class StorageAuthError(StorageError, PermanentJobError):
    """Retrying with the same credentials cannot succeed."""


class ProcessingError(MemoError):
    pass


class TranscriptionUnavailable(ProcessingError, PermanentJobError):
    pass


class CorruptAudio(ProcessingError, PermanentJobError):
    pass


class SourceMissing(ProcessingError, PermanentJobError):
    pass


class BadProcessOptions(ProcessingError, PermanentJobError):
    pass
