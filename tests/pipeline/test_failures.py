"""Nothing is lost: bad credentials, the object store down, Redis down, bad files."""

from __future__ import annotations

import pytest

from memo_desktop.core.errors import BadAudioFile, RedisUnavailable
from memo_desktop.core.library import UploadState
from memo_desktop.core.pipeline import add_memo, requeue_pending
from memo_desktop.core.services import ObjectStoreServer, RedisServer
from memo_desktop.core.storage import ObjectStore
from tests.fixtures.audio import write_tone
from tests.pipeline.conftest import wait_for_job, wait_for_state


def test_wrong_credentials_fail_once_with_a_clear_reason(make_context, monkeypatch, tmp_path):
    monkeypatch.setenv("MEMO_S3_SECRET_KEY", "not-the-secret")
    ctx = make_context()
    make_context.start_workers(ctx)

    result = add_memo(ctx, write_tone(tmp_path / "a.wav"))

    memo = wait_for_state(ctx, result.memo.id, UploadState.FAILED)
    assert "credentials" in memo.upload_error and "not-the-secret" not in memo.upload_error
    # the memo is marked inside the job, a moment before rq records the job's outcome: wait for the job itself
    status = wait_for_job(ctx, result.job_id, "failed")
    assert status.attempts_made == 1  # no retry storm
    assert "credentials" in status.error


def test_object_store_down_retries_then_fails_and_can_be_retried(make_context, tmp_path, monkeypatch):
    server = ObjectStoreServer(tmp_path / "store")
    address = server.acquire()
    creds = server.credentials()
    monkeypatch.setenv("MEMO_S3_SECRET_KEY", creds.secret_key)
    try:
        ctx = make_context(s3_endpoint=address, s3_access_key=creds.access_key, s3_region=server.region)
        server.stop()
        make_context.start_workers(ctx)

        result = add_memo(ctx, write_tone(tmp_path / "a.wav"))
        memo = wait_for_state(ctx, result.memo.id, UploadState.FAILED, timeout=60)
        status = ctx.jobs.status(result.job_id)
        assert status.attempts_made == 3 and "reach" in memo.upload_error.lower()

        server.acquire()  # same ports and credentials as before
        ctx.jobs.retry(result.job_id)
        memo = wait_for_state(ctx, memo.id, UploadState.UPLOADED, timeout=30)
        assert ctx.object_store.has_object(memo.object_key, memo.size, memo.sha256)
    finally:
        server.stop()


def test_redis_down_at_import_keeps_the_memo_local_then_queues_it(make_context, tmp_path):
    redis_server = RedisServer(tmp_path / "redis")
    url = redis_server.acquire()
    redis_server.stop()
    try:
        ctx = make_context(redis_url=url)
        result = add_memo(ctx, write_tone(tmp_path / "a.wav"))
        assert result.job_id is None and "kept local" in result.message
        assert ctx.library.get(result.memo.id).upload_state is UploadState.LOCAL
        with pytest.raises(RedisUnavailable):
            ctx.jobs.status(result.memo.id)  # the CLI and the UI get the same clear error

        redis_server.acquire()
        (job_id,) = requeue_pending(ctx)
        make_context.start_workers(ctx)
        wait_for_state(ctx, result.memo.id, UploadState.UPLOADED)
        wait_for_job(ctx, job_id)
        assert requeue_pending(ctx) == []  # nothing left behind, nothing queued twice
    finally:
        redis_server.stop()


@pytest.mark.parametrize("name, content, reason", [
    ("missing.wav", None, "no such file"),
    ("empty.wav", b"", "empty"),
    ("notes.wav", b"this is text, not audio\n" * 20, "not"),
])
def test_bad_files_are_refused_and_nothing_is_queued(ctx, tmp_path, name, content, reason):
    path = tmp_path / name
    if content is not None:
        path.write_bytes(content)
    with pytest.raises(BadAudioFile, match=reason):
        add_memo(ctx, path)
    assert ctx.library.count() == 0
    assert ctx.redis.keys("rq:job:*") == []


def test_a_file_changed_after_queueing_fails_once_and_leaves_no_object(make_context, tmp_path):
    ctx = make_context()
    memo = add_memo(ctx, write_tone(tmp_path / "a.wav")).memo
    data = bytearray(memo.audio_path.read_bytes())
    data[-100:] = bytes(100)  # same size, other content
    memo.audio_path.write_bytes(data)
    make_context.start_workers(ctx)

    failed = wait_for_state(ctx, memo.id, UploadState.FAILED)
    assert "changed since its upload was queued" in failed.upload_error
    assert ctx.jobs.status(memo.job_id).attempts_made == 1
    assert ctx.object_store.list_keys(ObjectStore.memo_prefix(memo.id)) == []
