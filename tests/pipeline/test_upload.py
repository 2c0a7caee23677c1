"""Upload and delete through the queue, end to end, on a real Redis and a real S3 server (weed mini)."""

from __future__ import annotations

import urllib.request

from memo_desktop.core.library import UploadState
from memo_desktop.core.pipeline import add_file_upload_job, add_memo, delete_memo
from memo_desktop.core.storage import ObjectStore
from tests.fixtures.audio import write_tone
from tests.fixtures.waiting import wait_until
from tests.pipeline.conftest import wait_for_job, wait_for_state


def test_upload_end_to_end_content_and_presigned_url(ctx, make_context, tmp_path):
    source = write_tone(tmp_path / "meeting notes.wav", seconds=2.0)
    make_context.start_workers(ctx)

    result = add_memo(ctx, source, title="Meeting notes")
    assert result.job_id and result.memo.upload_state is UploadState.QUEUED

    memo = wait_for_state(ctx, result.memo.id, UploadState.UPLOADED)
    status = wait_for_job(ctx, result.job_id)
    assert status.as_dict()["result"]["success"] is True
    assert status.result["fileId"] == memo.id and status.result["filename"] == memo.filename
    assert memo.object_key == ObjectStore.memo_prefix(memo.id) + memo.sha256[:16] + ".wav"

    downloaded = ctx.object_store.download(memo.object_key, tmp_path / "back.wav")
    assert downloaded.read_bytes() == source.read_bytes()
    with urllib.request.urlopen(status.result["url"], timeout=10) as response:
        assert response.read() == source.read_bytes()


def test_repeated_upload_of_same_memo_makes_no_second_object(ctx, make_context, tmp_path):
    make_context.start_workers(ctx)
    memo = add_memo(ctx, write_tone(tmp_path / "a.wav")).memo
    wait_for_state(ctx, memo.id, UploadState.UPLOADED)

    again = add_file_upload_job(ctx, memo.id)
    wait_for_job(ctx, again)
    assert ctx.object_store.list_keys(ObjectStore.memo_prefix(memo.id)) == [ctx.library.get(memo.id).object_key]


def test_delete_removes_the_memo_and_its_objects(ctx, make_context, tmp_path):
    make_context.start_workers(ctx)
    memo = add_memo(ctx, write_tone(tmp_path / "a.wav")).memo
    memo = wait_for_state(ctx, memo.id, UploadState.UPLOADED)
    assert ctx.object_store.exists(memo.object_key)

    job_id = delete_memo(ctx, memo.id)

    assert job_id is not None and not memo.audio_path.exists()
    wait_for_job(ctx, job_id)
    assert ctx.object_store.list_keys(ObjectStore.memo_prefix(memo.id)) == []
    assert ctx.library.count() == 0


def test_fifty_concurrent_uploads_all_arrive_once(ctx, make_context, tmp_path):
    ctx = make_context(rate_limit=0)
    memos = [add_memo(ctx, write_tone(tmp_path / f"m{i}.wav", seconds=0.2, freq=200 + i)).memo for i in range(50)]
    make_context.start_workers(ctx)

    wait_until(lambda: all(m.upload_state is UploadState.UPLOADED for m in ctx.library.list()), 90,
               "all 50 memos uploaded")
    keys = ctx.object_store.list_keys("memos/")
    assert len(keys) == 50
    for memo in ctx.library.list():
        assert ctx.object_store.has_object(memo.object_key, memo.size, memo.sha256)
    assert {m.id for m in memos} == {m.id for m in ctx.library.list()}
