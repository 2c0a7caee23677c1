"""purge-local-audio-older-than: only local audio whose uploaded object is verified (size and SHA-256) is deleted,
and such a memo stays playable: its audio is fetched back from the object store (verified) when needed."""

from __future__ import annotations

import pytest

from memo_desktop.core.errors import StorageError
from memo_desktop.core.library import UploadState
from memo_desktop.core.library.audio_file import file_sha256
from memo_desktop.core.pipeline import add_memo
from memo_desktop.core.pipeline.local_audio import fetch_audio
from memo_desktop.core.pipeline.scheduled_actions import run_schedule
from memo_desktop.core.queueing.schedules import ScheduleStore
from tests.fixtures.audio import write_tone
from tests.pipeline.conftest import wait_for_state


def _uploaded(ctx, tmp_path, name: str, seconds: float = 0.5):
    memo = add_memo(ctx, write_tone(tmp_path / f"{name}.wav", seconds=seconds)).memo
    return wait_for_state(ctx, memo.id, UploadState.UPLOADED)


def test_purge_deletes_only_verified_local_audio_and_playing_fetches_it_back(ctx, make_context, tmp_path):
    make_context.start_workers(ctx, concurrency=2)
    good = _uploaded(ctx, tmp_path, "good")
    resized = _uploaded(ctx, tmp_path, "resized")
    unhashed = _uploaded(ctx, tmp_path, "unhashed")
    local_only = ctx.library.add_file(write_tone(tmp_path / "local.wav"))  # never uploaded
    other = write_tone(tmp_path / "other.wav", seconds=0.7)
    ctx.object_store.upload(other, resized.object_key, sha256=resized.sha256)  # the object no longer matches
    ctx.object_store.upload(unhashed.audio_path, unhashed.object_key)  # same bytes, but no digest to check
    original = file_sha256(good.audio_path)

    schedule = ScheduleStore(ctx.redis, ctx.settings.device).add("purge", "0 5 * * *",
                                                                 "purge-local-audio-older-than:0")
    run = run_schedule(ctx, schedule, "manual", None)
    assert run.purged_count == 1
    assert local_only.audio_path.is_file() and ctx.library.get(local_only.id).audio_local
    reasons = "\n".join(run.errors)
    assert f"memo {resized.id}: local audio kept: its object has" in reasons
    assert f"memo {unhashed.id}: local audio kept: its object's SHA-256 is unknown" in reasons
    assert resized.audio_path.is_file() and unhashed.audio_path.is_file()

    purged = ctx.library.get(good.id)
    assert not purged.audio_local and not purged.audio_path.exists()
    assert purged.as_dict()["audioLocal"] is False and purged.upload_state is UploadState.UPLOADED
    again = run_schedule(ctx, schedule, "manual", None)
    assert good.id not in " ".join(again.errors)  # already purged: nothing to do

    fetched = fetch_audio(ctx, purged)
    assert fetched.audio_local and fetched.audio_path == good.audio_path
    assert file_sha256(fetched.audio_path) == original
    assert fetch_audio(ctx, fetched) == fetched  # local: nothing fetched


def test_a_fetched_copy_that_does_not_match_is_not_used(ctx, make_context, tmp_path):
    make_context.start_workers(ctx, concurrency=1)
    memo = _uploaded(ctx, tmp_path, "m")
    ctx.library.purge_local_audio(memo.id)
    ctx.object_store.upload(write_tone(tmp_path / "x.wav", seconds=0.3), memo.object_key, sha256=memo.sha256)
    with pytest.raises(StorageError, match="does not match its SHA-256"):
        fetch_audio(ctx, ctx.library.get(memo.id))
    assert not memo.audio_path.exists() and not ctx.library.get(memo.id).audio_local
    assert list(memo.audio_path.parent.glob("*.fetch")) == []
