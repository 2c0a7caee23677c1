"""ObjectStore against a real SeaweedFS (auth enforced), plus dead and silent endpoints."""

from __future__ import annotations

import hashlib
import os
import socket
import time
import urllib.error
import urllib.request

import pytest

from memo_desktop.core.errors import ObjectNotFound, StorageAuthError, StorageError, StorageUnavailable
from memo_desktop.core.services.object_store_server import port_is_free
from memo_desktop.core.storage import ObjectStore, StoreConfig
from memo_desktop.core.storage.store import PART_SIZE
from tests.fixtures.object_store import store_for

MEMO = "m1"


def _file(tmp_path, size: int, name: str = "audio.wav"):
    path = tmp_path / name
    path.write_bytes(os.urandom(size))
    return path, hashlib.sha256(path.read_bytes()).hexdigest()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    assert port_is_free(port)
    return port


def test_upload_then_download_gives_the_same_bytes_and_metadata(object_store, tmp_path):
    path, sha = _file(tmp_path, 300_000)
    key = object_store.object_key_for(MEMO, sha, "wav")

    result = object_store.upload(path, key, content_type="audio/wav", sha256=sha)
    back = object_store.download(key, tmp_path / "back" / "audio.wav")
    info = object_store.stat(key)

    assert back.read_bytes() == path.read_bytes()
    assert (result.key, result.size) == (key, path.stat().st_size) and result.etag
    assert (info.size, info.sha256, info.content_type) == (path.stat().st_size, sha, "audio/wav")
    assert object_store.exists(key) and object_store.has_object(key, info.size, sha)
    assert not object_store.has_object(key, info.size + 1)
    assert not object_store.has_object(key, info.size, "0" * 64)


def test_multipart_upload_reports_progress_up_to_100_percent(object_store, tmp_path):
    path, sha = _file(tmp_path, 2 * PART_SIZE + 12345)
    seen: list[tuple[int, int]] = []

    object_store.upload(path, object_store.object_key_for(MEMO, sha, "wav"), progress=lambda d, t: seen.append((d, t)))

    done = [d for d, _ in seen]
    assert {t for _, t in seen} == {path.stat().st_size}
    assert done == sorted(done), "progress never goes backwards"
    assert done[-1] == path.stat().st_size and done.count(done[-1]) == 1, "100% once, when the store confirmed"
    assert len([d for d in done if 0 < d < done[-1]]) >= 2, "intermediate values for a multipart upload"


def test_object_keys_are_deterministic_so_a_repeated_upload_adds_nothing(object_store, tmp_path):
    path, sha = _file(tmp_path, 50_000)
    key = object_store.object_key_for(MEMO, sha, "WAV")

    object_store.upload(path, key)
    object_store.upload(path, object_store.object_key_for(MEMO, sha, "wav"))

    assert key == f"memos/{MEMO}/{sha[:16]}.wav"
    assert object_store.list_keys(object_store.memo_prefix(MEMO)) == [key]
    with pytest.raises(StorageError):
        object_store.object_key_for(MEMO, "not-a-digest", "wav")
    with pytest.raises(StorageError):
        object_store.object_key_for("../other", sha, "wav")


def test_presigned_url_downloads_without_credentials_and_cannot_be_tampered(object_store, tmp_path):
    path, sha = _file(tmp_path, 70_000)
    key = object_store.object_key_for(MEMO, sha, "wav")
    object_store.upload(path, key)

    url = object_store.presigned_url(key, expiry=120)
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == path.read_bytes()
    tampered = url.replace(sha[:16], ("f" if sha[0] != "f" else "e") + sha[1:16])
    with pytest.raises(urllib.error.HTTPError) as caught:
        urllib.request.urlopen(tampered, timeout=10)
    assert caught.value.code == 403
    with pytest.raises(StorageError, match="7 days"):
        object_store.presigned_url(key, expiry=8 * 24 * 3600)


def test_delete_memo_removes_all_its_objects_and_only_its_own(object_store, tmp_path):
    path, sha = _file(tmp_path, 10_000)
    for memo, ext in (("a1", "wav"), ("a1", "flac"), ("a10", "wav")):
        object_store.upload(path, object_store.object_key_for(memo, sha, ext))

    assert object_store.delete_memo("a1") == 2
    assert object_store.list_keys("memos/a1/") == []
    assert object_store.list_keys("memos/a10/") == [object_store.object_key_for("a10", sha, "wav")]
    assert object_store.delete_memo("a1") == 0, "deleting again is fine (a retried delete job)"
    for bad in ("", "memos", "/"):
        with pytest.raises(StorageError, match="refusing"):
            object_store.delete_prefix(bad)


def test_missing_objects_and_buckets_are_object_not_found(object_store, object_store_server, tmp_path):
    with pytest.raises(ObjectNotFound):
        object_store.stat("memos/none/x.wav")
    with pytest.raises(ObjectNotFound):
        object_store.download("memos/none/x.wav", tmp_path / "x.wav")
    assert not object_store.exists("memos/none/x.wav")
    assert object_store.list_keys("memos/") == [] and object_store.delete_memo("none") == 0
    assert not (tmp_path / "x.wav").exists()


def test_the_bucket_is_created_on_first_use_and_again_if_it_disappears(object_store_server, tmp_path):
    store = store_for(*object_store_server)
    try:
        path, sha = _file(tmp_path, 1000)
        key = store.object_key_for(MEMO, sha, "wav")
        store.upload(path, key)
        store.delete_memo(MEMO)
        store._client.remove_bucket(store.bucket)  # someone removes it behind the app's back

        with pytest.raises(ObjectNotFound, match="bucket"):
            store.upload(path, key)
        store.upload(path, key)  # the failed call made the store forget the bucket; this one recreates it

        assert store.exists(key)
    finally:
        store.close()


@pytest.mark.parametrize("access_key, secret_key", [
    (None, "definitely-wrong-secret"),  # right access key, wrong secret
    ("nobody-knows-me", "definitely-wrong-secret"),  # unknown access key
])
def test_wrong_credentials_fail_fast_with_an_auth_error_that_hides_the_secret(object_store_server, tmp_path,
                                                                               access_key, secret_key):
    server, address = object_store_server
    overrides = {"secret_key": secret_key} | ({"access_key": access_key} if access_key else {})
    store = store_for(server, address, **overrides)
    path, sha = _file(tmp_path, 1000)
    try:
        for call in (store.ensure_bucket, lambda: store.upload(path, store.object_key_for(MEMO, sha, "wav")),
                     lambda: store.stat("memos/x/y.wav"), lambda: store.delete_memo(MEMO)):
            start = time.monotonic()
            with pytest.raises(StorageAuthError) as caught:
                call()
            assert time.monotonic() - start < 2.0, "no retrying of a credentials error"
            message = str(caught.value)
            assert "credentials" in message and address in message
            assert secret_key not in message and server.credentials().secret_key not in message
        assert secret_key not in repr(store.config)
    finally:
        store.close()


def test_a_stopped_endpoint_is_unavailable_within_seconds(tmp_path):
    port = _closed_port()
    store = ObjectStore(StoreConfig(endpoint=f"127.0.0.1:{port}", bucket="memos", access_key="a", secret_key="b",
                                    region="us-east-1", timeout=30))
    path, sha = _file(tmp_path, 1000)
    try:
        for call in (store.ensure_bucket, lambda: store.upload(path, store.object_key_for(MEMO, sha, "wav")),
                     lambda: store.exists("memos/x/y.wav")):
            start = time.monotonic()
            with pytest.raises(StorageUnavailable, match=f"cannot reach the object store at http://127.0.0.1:{port}"):
                call()
            assert time.monotonic() - start < 3.0
    finally:
        store.close()


def test_a_silent_endpoint_times_out_instead_of_hanging(tmp_path):
    """A server that accepts connections and never answers (a hung process) fails after the read timeout."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    store = ObjectStore(StoreConfig(endpoint=f"127.0.0.1:{listener.getsockname()[1]}", bucket="memos",
                                    access_key="a", secret_key="b", region="us-east-1", timeout=1.0))
    try:
        start = time.monotonic()
        with pytest.raises(StorageUnavailable, match="no answer within 1 s"):
            store.exists("memos/x/y.wav")
        assert time.monotonic() - start < 4.0
    finally:
        store.close()
        listener.close()


def test_a_missing_local_file_is_a_local_error_not_a_storage_error(object_store, tmp_path):
    with pytest.raises(FileNotFoundError):
        object_store.upload(tmp_path / "gone.wav", "memos/m1/0123456789abcdef.wav")


def test_config_from_settings_reads_scheme_and_hides_the_secret(settings):
    config = StoreConfig.from_settings(settings.replace(s3_endpoint="https://s3.example.com:9000/",
                                                        s3_access_key="AKIA1"), secret_key="s3cr3t")

    assert (config.endpoint, config.secure, config.url) == ("s3.example.com:9000", True,
                                                            "https://s3.example.com:9000")
    assert config.bucket == settings.s3_bucket and config.access_key == "AKIA1"
    assert "s3cr3t" not in repr(config)
