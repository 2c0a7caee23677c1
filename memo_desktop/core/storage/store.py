"""An S3 object store (SeaweedFS, MinIO, AWS, ...) over the minio SDK, speaking the app's errors.

Every network call fails within seconds when the endpoint is dead (bounded connect timeout, few retries), and every
SDK or urllib3 error leaves this module as a StorageError subclass (see `storage.errors`). Thread-safe: one
ObjectStore serves all worker threads (urllib3's pool is thread-safe; the bucket check is guarded by a lock).
"""

from __future__ import annotations

import re
import threading
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Callable, Iterator

import certifi
import urllib3
from minio import Minio
from minio.deleteobjects import DeleteObject
from minio.error import S3Error

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import ObjectNotFound, StorageError
from memo_desktop.core.library.models import MEMO_ID_PATTERN
from memo_desktop.core.storage.errors import Endpoint, translated

ProgressCallback = Callable[[int, int], None]  # (bytes done, bytes total)

# 8 MiB parts, 3 in flight: loopback reaches ~100 MB/s and memory stays at ~(3 + 1) x 8 MiB per upload.
PART_SIZE = 8 * 1024 * 1024
PARALLEL_PARTS = 3
MAX_PRESIGN_EXPIRY = 7 * 24 * 3600  # S3's limit for SigV4 presigned URLs
SHA256_METADATA = "sha256"  # stored as x-amz-meta-sha256
_CONNECT_TIMEOUT = 3.0
_SCHEME = re.compile(r"^(https?)://", re.IGNORECASE)


@dataclass(frozen=True)
class StoreConfig:
    endpoint: str  # host:port, no scheme
    bucket: str
    access_key: str
    secret_key: str = field(repr=False)
    secure: bool = False
    region: str = ""  # "" asks the server once per bucket (only presigning needs it)
    timeout: float = 30.0  # seconds without an answer before a request fails
    presign_expiry: int = 7 * 24 * 3600

    @classmethod
    def from_settings(cls, settings: Settings, *, secret_key: str, endpoint: str | None = None,
                      access_key: str | None = None, region: str | None = None) -> StoreConfig:
        """The configured store; `endpoint`/`access_key`/`region` override the settings (the embedded server)."""
        raw = (endpoint if endpoint is not None else settings.s3_endpoint).strip().rstrip("/")
        match = _SCHEME.match(raw)
        secure = match.group(1).lower() == "https" if match else settings.s3_secure
        return cls(endpoint=_SCHEME.sub("", raw), bucket=settings.s3_bucket,
                   access_key=access_key if access_key is not None else settings.s3_access_key,
                   secret_key=secret_key, secure=secure,
                   region=region if region is not None else settings.s3_region,
                   timeout=settings.s3_timeout, presign_expiry=settings.presign_expiry)

    @property
    def url(self) -> str:
        return f"{'https' if self.secure else 'http'}://{self.endpoint}"


@dataclass(frozen=True)
class UploadResult:
    key: str
    etag: str
    size: int


@dataclass(frozen=True)
class ObjectInfo:
    key: str
    size: int
    etag: str
    content_type: str
    sha256: str  # "" when the object was not uploaded with a digest
    last_modified: float  # epoch seconds


class ObjectStore:
    def __init__(self, config: StoreConfig) -> None:
        self.config = config
        self._endpoint = Endpoint(config.url, config.bucket, config.access_key, config.timeout)
        self._http = urllib3.PoolManager(
            timeout=urllib3.Timeout(connect=min(_CONNECT_TIMEOUT, config.timeout), read=config.timeout),
            # one retry for a refused/reset connection and for 5xx answers; a dead endpoint fails in seconds
            retries=urllib3.Retry(total=2, connect=1, read=0, status=1, backoff_factor=0.2,
                                  status_forcelist=(500, 502, 503, 504)),
            maxsize=16,  # worker threads x parallel parts, without urllib3 discarding connections
            cert_reqs="CERT_REQUIRED", ca_certs=certifi.where(),
        )
        self._client = Minio(config.endpoint, access_key=config.access_key, secret_key=config.secret_key,
                             secure=config.secure, region=config.region or None, http_client=self._http)
        self._bucket_lock = threading.Lock()
        self._bucket_ready = False

    def __repr__(self) -> str:
        return f"ObjectStore({self.config.url!r}, bucket={self.config.bucket!r})"

    @property
    def bucket(self) -> str:
        return self.config.bucket

    @property
    def url(self) -> str:
        return self.config.url

    # -- keys ----------------------------------------------------------------------------------------------------------
    @staticmethod
    def memo_prefix(memo_id: str) -> str:
        """Every object of a memo lives under this prefix, so deleting a memo is deleting a prefix."""
        if not MEMO_ID_PATTERN.fullmatch(memo_id):
            raise StorageError(f"not a memo id: {memo_id!r}")
        return f"memos/{memo_id}/"

    @staticmethod
    def object_key_for(memo_id: str, sha256: str, extension: str) -> str:
        """`memos/<memo id>/<first 16 hex of sha256>.<ext>`: the same content always gets the same key, so a
        retried or repeated upload overwrites itself instead of adding a copy."""
        if not re.fullmatch(r"[0-9a-f]{16,64}", sha256):
            raise StorageError(f"not a sha256 hex digest: {sha256!r}")
        if not re.fullmatch(r"[A-Za-z0-9]{1,10}", extension):
            raise StorageError(f"not a file extension: {extension!r}")
        return f"{ObjectStore.memo_prefix(memo_id)}{sha256[:16]}.{extension.lower()}"

    # -- bucket --------------------------------------------------------------------------------------------------------
    def ensure_bucket(self) -> None:
        """Create the bucket if missing; remembered, so later calls cost nothing."""
        with self._bucket_lock:
            if self._bucket_ready:
                return
            with translated(self._endpoint, f"use bucket '{self.bucket}'"):
                if not self._client.bucket_exists(self.bucket):
                    self._make_bucket()
            self._bucket_ready = True

    def _make_bucket(self) -> None:
        try:
            self._client.make_bucket(self.bucket)
        except S3Error as exc:
            # another process created it between our check and our request
            if exc.code not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists") or \
                    not self._client.bucket_exists(self.bucket):
                raise

    # -- objects -------------------------------------------------------------------------------------------------------
    def upload(self, path: Path | str, key: str, *, content_type: str = "application/octet-stream",
               sha256: str | None = None, progress: ProgressCallback | None = None) -> UploadResult:
        """Stream a local file to `key` (multipart above PART_SIZE). With `sha256`, the digest is stored as object
        metadata (`stat().sha256`). `progress(done, total)` is called from this thread as parts are handed to the
        network; it may run ahead of the wire by up to PARALLEL_PARTS + 1 parts and reaches `total` only once the
        store has confirmed the object. A missing local file raises OSError (a local problem, not the store's)."""
        path = Path(path)
        size = path.stat().st_size
        self.ensure_bucket()
        tracker = _ProgressTracker(progress, size) if progress else None
        with self._translated(f"upload {key}"):
            result = self._client.fput_object(
                self.bucket, key, str(path), content_type=content_type,
                metadata={SHA256_METADATA: sha256} if sha256 else None,
                progress=tracker, part_size=PART_SIZE, num_parallel_uploads=PARALLEL_PARTS)
        if progress:
            progress(size, size)
        return UploadResult(key=key, etag=result.etag or "", size=size)

    def stat(self, key: str) -> ObjectInfo:
        """ObjectNotFound when the object (or the bucket) does not exist."""
        with self._translated(f"look up {key}"):
            st = self._client.stat_object(self.bucket, key)
        metadata = st.metadata or {}
        return ObjectInfo(key=key, size=st.size or 0, etag=st.etag or "", content_type=st.content_type or "",
                          sha256=metadata.get(f"x-amz-meta-{SHA256_METADATA}", ""),
                          last_modified=st.last_modified.timestamp() if st.last_modified else 0.0)

    def check(self) -> bool:
        """Does the store answer these credentials? True if the bucket exists (False: it is made at first upload).
        StorageUnavailable when it cannot be reached, StorageAuthError when it refuses the credentials."""
        with translated(self._endpoint, f"reach bucket '{self.bucket}'"):
            return self._client.bucket_exists(self.bucket)

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except ObjectNotFound:
            return False
        return True

    def has_object(self, key: str, size: int | None = None, sha256: str | None = None) -> bool:
        """Is `key` there with this size (and digest, if it was stored)? Lets an upload skip work already done."""
        try:
            info = self.stat(key)
        except ObjectNotFound:
            return False
        if size is not None and info.size != size:
            return False
        return not (sha256 and info.sha256 and info.sha256 != sha256)

    def download(self, key: str, dest: Path | str) -> Path:
        """Fetch `key` into `dest` (written to a temporary name, renamed when complete)."""
        dest = Path(dest)
        dest.parent.mkdir(parents=True, exist_ok=True)
        with self._translated(f"download {key}"):
            self._client.fget_object(self.bucket, key, str(dest))
        return dest

    def presigned_url(self, key: str, expiry: int | None = None) -> str:
        """A GET URL anyone can use for `expiry` seconds (default: settings.presign_expiry, at most 7 days)."""
        seconds = self.config.presign_expiry if expiry is None else expiry
        if not 1 <= seconds <= MAX_PRESIGN_EXPIRY:
            raise StorageError(f"a presigned URL must expire within 1 s to 7 days, not {seconds} s")
        with self._translated(f"sign a URL for {key}"):
            return self._client.presigned_get_object(self.bucket, key, expires=timedelta(seconds=seconds))

    def list_keys(self, prefix: str) -> list[str]:
        """Keys under `prefix`; none when the bucket does not exist yet."""
        try:
            with self._translated(f"list {prefix}"):
                return [obj.object_name for obj in
                        self._client.list_objects(self.bucket, prefix=prefix, recursive=True)]
        except ObjectNotFound as exc:
            if _is_missing_bucket(exc):
                return []
            raise

    def delete(self, key: str) -> None:
        """Delete one object (idempotent: a missing object is not an error)."""
        with self._translated(f"delete {key}"):
            self._client.remove_object(self.bucket, key)

    def delete_prefix(self, prefix: str) -> int:
        """Delete every object under `prefix` (which must end with '/'); returns how many. Idempotent."""
        if not prefix.endswith("/") or prefix.strip("/") == "":
            raise StorageError(f"refusing to delete prefix {prefix!r}: it must name a folder, e.g. 'memos/<id>/'")
        keys = self.list_keys(prefix)
        if not keys:
            return 0
        with self._translated(f"delete {prefix}"):
            failures = list(self._client.remove_objects(self.bucket, (DeleteObject(k) for k in keys)))
        if failures:
            first = failures[0]
            raise StorageError(f"cannot delete {len(failures)} object(s) under {prefix} at {self.url}: "
                               f"{first.name}: {first.code} {first.message}")
        return len(keys)

    def delete_memo(self, memo_id: str) -> int:
        """Delete every object of a memo (audio and variants); returns how many."""
        return self.delete_prefix(self.memo_prefix(memo_id))

    def close(self) -> None:
        self._http.clear()

    @contextmanager
    def _translated(self, action: str) -> Iterator[None]:
        try:
            with translated(self._endpoint, action):
                yield
        except ObjectNotFound as exc:
            if _is_missing_bucket(exc):
                self._bucket_ready = False  # deleted behind our back: the next upload creates it again
            raise


def _is_missing_bucket(exc: ObjectNotFound) -> bool:
    return isinstance(exc.__cause__, S3Error) and exc.__cause__.code == "NoSuchBucket"


class _ProgressTracker:
    """minio's progress protocol (`set_meta`, then `update(n)` as each chunk of the file is read for sending) turned
    into `callback(done, total)`. `total` is held back until the upload is confirmed (see ObjectStore.upload)."""

    def __init__(self, callback: ProgressCallback, total: int) -> None:
        self._callback = callback
        self._total = total
        self._done = 0

    def set_meta(self, object_name: str, total_length: int) -> None:
        self._total = total_length

    def update(self, length: int) -> None:
        self._done += length
        self._callback(min(self._done, max(self._total - 1, 0)), self._total)
