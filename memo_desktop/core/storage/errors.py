"""Errors of the minio SDK and urllib3, translated once into the app's StorageError tree.

Messages say what failed and what the user can do; they name the endpoint, the bucket, the key and the access key
id, never the secret key (nor anything derived from it, such as a signature).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from typing import Iterator

import urllib3.exceptions
from minio.error import InvalidResponseError, S3Error, ServerError

from memo_desktop.core.errors import ObjectNotFound, StorageAuthError, StorageError, StorageUnavailable

# The server could not tell who we are: the credentials themselves are wrong.
_BAD_CREDENTIALS = {"SignatureDoesNotMatch", "InvalidAccessKeyId", "InvalidToken", "ExpiredToken",
                    "AuthorizationHeaderMalformed", "InvalidSecurity", "MissingSecurityHeader"}
# Known user, no permission (or, on servers such as SeaweedFS, wrong credentials reported this way).
_DENIED = {"AccessDenied", "AllAccessDisabled", "AccountProblem"}
_MISSING = {"NoSuchKey", "NoSuchBucket", "NoSuchUpload", "ResourceNotFound", "NotFound", "NoSuchVersion"}
_OVERLOADED = {"SlowDown", "ServiceUnavailable", "InternalError", "RequestTimeout", "OperationAborted"}


@dataclass(frozen=True)
class Endpoint:
    """What messages may say about the store."""

    url: str
    bucket: str
    access_key: str
    timeout: float


@contextmanager
def translated(endpoint: Endpoint, action: str) -> Iterator[None]:
    """Run SDK calls; re-raise their errors as StorageError subclasses. `action` reads like "upload memos/a/b.wav"."""
    try:
        yield
    except S3Error as exc:
        raise from_s3_error(endpoint, action, exc) from exc
    except ServerError as exc:
        raise StorageUnavailable(f"cannot {action}: the object store at {endpoint.url} failed "
                                 f"(HTTP {exc.status_code}); try again later") from exc
    except InvalidResponseError as exc:
        raise StorageError(f"cannot {action}: {endpoint.url} did not answer like an S3 object store; "
                           "check the endpoint address") from exc
    except urllib3.exceptions.HTTPError as exc:
        raise from_transport_error(endpoint, action, exc) from exc


def from_s3_error(endpoint: Endpoint, action: str, exc: S3Error) -> StorageError:
    code = exc.code or "unknown"
    if code in _BAD_CREDENTIALS:
        return StorageAuthError(f"cannot {action}: the object store at {endpoint.url} rejected the credentials "
                                f"({code}); check the access key '{endpoint.access_key}' and the secret key")
    if code in _DENIED:
        return StorageAuthError(f"cannot {action}: the object store at {endpoint.url} denied access ({code}); "
                                f"the credentials (access key '{endpoint.access_key}') are wrong or may not use "
                                f"bucket '{endpoint.bucket}'")
    if code == "RequestTimeTooSkewed":
        return StorageAuthError(f"cannot {action}: the object store at {endpoint.url} refused the request because "
                                "this computer's clock is too far off; correct the system time")
    if code == "NoSuchBucket":
        return ObjectNotFound(f"cannot {action}: bucket '{endpoint.bucket}' does not exist at {endpoint.url}")
    if code in _MISSING:
        return ObjectNotFound(f"cannot {action}: no such object in bucket '{endpoint.bucket}' at {endpoint.url}")
    if code in _OVERLOADED:
        return StorageUnavailable(f"cannot {action}: the object store at {endpoint.url} is busy or failing "
                                  f"({code}); try again later")
    return StorageError(f"cannot {action}: the object store at {endpoint.url} answered {code}: {exc.message}")


def from_transport_error(endpoint: Endpoint, action: str,
                         exc: urllib3.exceptions.HTTPError) -> StorageError:
    reason = exc.reason if isinstance(exc, urllib3.exceptions.MaxRetryError) and exc.reason else exc
    if isinstance(reason, urllib3.exceptions.NameResolutionError):
        detail = "the host name does not resolve"
    elif isinstance(reason, urllib3.exceptions.NewConnectionError):
        detail = "connection refused or no route"
    elif isinstance(reason, urllib3.exceptions.ConnectTimeoutError):
        detail = "connecting timed out"
    elif isinstance(reason, urllib3.exceptions.ReadTimeoutError):
        detail = f"no answer within {endpoint.timeout:g} s"
    elif isinstance(reason, urllib3.exceptions.SSLError):
        return StorageUnavailable(f"cannot {action}: the TLS handshake with {endpoint.url} failed; check that the "
                                  "endpoint uses https and its certificate is trusted")
    elif isinstance(reason, urllib3.exceptions.ResponseError):
        detail = "it kept answering with server errors"
    elif isinstance(reason, urllib3.exceptions.ProtocolError):
        detail = "the connection was lost"
    else:
        detail = type(reason).__name__
    return StorageUnavailable(f"cannot {action}: cannot reach the object store at {endpoint.url} ({detail})")
