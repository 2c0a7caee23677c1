"""The queue contract: payload validation at enqueue (nothing half-queued), stable job ids, job options."""

from __future__ import annotations

import pytest
from rq import Queue
from rq.serializers import JSONSerializer

from memo_desktop.core.errors import PayloadError
from memo_desktop.core.jobs.contract import JobOptions, QueueKind, job_id_for, kind_of_queue, queue_name

SHA = "0123456789abcdef" * 4

VALID = {
    QueueKind.UPLOAD: {"memoId": "m1", "filename": "memo.wav", "mimeType": "audio/wav", "size": 1024,
                       "path": "/home/u/memo.wav", "sha256": SHA, "device": "laptop"},
    QueueKind.PROCESS: {"fileId": "f1", "s3Key": "memos/m1/abc.wav", "mimeType": "audio/wav",
                        "operation": "analyze"},
    QueueKind.DELETE: {"fileId": "f1", "s3Key": "memos/m1/abc.wav"},
}


def _without(payload: dict, key: str) -> dict:
    return {k: v for k, v in payload.items() if k != key}


# (kind, payload, words the message must contain)
BAD = [
    (QueueKind.UPLOAD, _without(VALID[QueueKind.UPLOAD], "sha256"), ["'sha256' is required"]),
    (QueueKind.UPLOAD, {**VALID[QueueKind.UPLOAD], "size": "1024"}, ["'size' must be an int, got str"]),
    (QueueKind.UPLOAD, {**VALID[QueueKind.UPLOAD], "size": True}, ["'size' must be an int, got bool"]),
    (QueueKind.UPLOAD, {**VALID[QueueKind.UPLOAD], "size": 0}, ["'size' must be greater than 0"]),
    (QueueKind.UPLOAD, {**VALID[QueueKind.UPLOAD], "fileData": "aGVsbG8="}, ["unknown field 'fileData'"]),
    (QueueKind.UPLOAD, {**VALID[QueueKind.UPLOAD], "sha256": "ABC"}, ["'sha256' must be 64 lowercase hex digits"]),
    (QueueKind.UPLOAD, {**VALID[QueueKind.UPLOAD], "sha256": SHA.upper()}, ["'sha256' must be 64 lowercase hex"]),
    (QueueKind.UPLOAD, {**VALID[QueueKind.UPLOAD], "path": "memo.wav"}, ["'path' must be an absolute path"]),
    (QueueKind.PROCESS, _without(VALID[QueueKind.PROCESS], "fileId"), ["'fileId' is required"]),
    (QueueKind.PROCESS, {**VALID[QueueKind.PROCESS], "operation": "explode"},
     ["'operation' must be one of transcribe, analyze, compress"]),
    (QueueKind.PROCESS, {**VALID[QueueKind.PROCESS], "operation": 3}, ["'operation' must be a str, got int"]),
    (QueueKind.PROCESS, {**VALID[QueueKind.PROCESS], "options": []}, ["'options' must be a dict, got list"]),
    (QueueKind.PROCESS, {**VALID[QueueKind.PROCESS], "extra": 1}, ["unknown field 'extra'"]),
    (QueueKind.DELETE, _without(VALID[QueueKind.DELETE], "s3Key"), ["'s3Key' is required"]),
    (QueueKind.DELETE, {**VALID[QueueKind.DELETE], "fileId": 7}, ["'fileId' must be a str, got int"]),
    (QueueKind.DELETE, {**VALID[QueueKind.DELETE], "fileId": "  "}, ["'fileId' must not be empty"]),
    (QueueKind.DELETE, {**VALID[QueueKind.DELETE], "bucket": "x"}, ["unknown field 'bucket'"]),
]


@pytest.mark.parametrize("kind, payload, words", BAD,
                         ids=[f"{k.value}-{'-'.join(w)[:40]}" for k, _, w in BAD])
def test_bad_payload_is_refused_with_a_clear_message_and_nothing_is_enqueued(ctx, redis_conn, kind, payload,
                                                                               words):
    with pytest.raises(PayloadError) as caught:
        ctx.jobs.enqueue(kind, payload)
    message = str(caught.value)
    assert message.startswith(f"invalid {kind.value} payload: ")
    for word in words:
        assert word in message
    assert redis_conn.keys("rq:*") == []  # no job hash, no queue, no registry: not even half-queued


def test_every_problem_is_listed_at_once(ctx):
    with pytest.raises(PayloadError) as caught:
        ctx.jobs.enqueue(QueueKind.PROCESS, {"fileId": 1, "operation": "x", "junk": True})
    message = str(caught.value)
    for part in ("unknown field 'junk'", "'fileId' must be a str", "'s3Key' is required", "'mimeType' is required",
                 "'operation' must be one of"):
        assert part in message


def test_payload_must_be_an_object(ctx):
    with pytest.raises(PayloadError, match="must be a JSON object, got list"):
        ctx.jobs.enqueue(QueueKind.DELETE, ["f1"])


@pytest.mark.parametrize("kind", list(QueueKind))
def test_valid_payload_is_enqueued_once_under_a_stable_id(ctx, redis_conn, kind):
    payload = VALID[kind]
    job_id = ctx.jobs.enqueue(kind, payload)
    assert job_id == job_id_for(kind, payload)
    assert ctx.jobs.enqueue(kind, dict(payload)) == job_id  # a live job is reused, never duplicated
    name = queue_name(kind, payload.get("device", ctx.settings.device))
    queue = Queue(ctx.jobs.lane_for(name).name, connection=redis_conn, serializer=JSONSerializer)
    assert queue.job_ids == [job_id]
    status = ctx.jobs.status(job_id).as_dict()
    assert (status["state"], status["data"], status["attempts"], status["attemptsMade"]) == \
        ("waiting", payload, 3, 0)


def test_upload_jobs_go_to_the_queue_of_the_device_that_holds_the_file(ctx):
    ctx.jobs.enqueue(QueueKind.UPLOAD, {**VALID[QueueKind.UPLOAD], "device": "other-pc"})
    assert ctx.jobs.queue_names(QueueKind.UPLOAD) == sorted(["file-upload@other-pc",
                                                              f"file-upload@{ctx.settings.device}"])
    assert kind_of_queue("file-upload@other-pc") is QueueKind.UPLOAD
    assert queue_name(QueueKind.PROCESS, "any") == "file-process"


def test_job_options_follow_the_origin_design(settings):
    options = JobOptions.from_settings(settings)
    assert (options.attempts, options.backoff) == (3, 2.0)
    retry = options.retry()
    assert (retry.max, retry.intervals) == (2, [2, 4])  # 3 attempts in total; one interval per retry
    assert JobOptions(attempts=1, backoff=2, timeout=10).retry() is None
    assert JobOptions(attempts=4, backoff=0, timeout=10).backoff_intervals == [0, 0, 0]


def test_unknown_queue_name_is_a_payload_error():
    with pytest.raises(PayloadError, match="unknown queue 'file-uplod'"):
        QueueKind.parse("file-uplod")
    assert QueueKind.parse("fileProcess") is QueueKind.PROCESS
