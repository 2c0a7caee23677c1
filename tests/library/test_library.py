from __future__ import annotations

import hashlib
import sqlite3

import pytest

from memo_desktop.core.errors import BadAudioFile, LibraryError, MemoNotFound
from memo_desktop.core.library import Library, UploadState, new_memo_id
from memo_desktop.core.library.schema import SCHEMA_VERSION
from tests.library.conftest import write_tone


def test_add_file_copies_validates_and_describes_the_audio(library, tone):
    memo = library.add_file(tone)

    assert memo.title == "Team meeting"
    assert memo.audio_path == library.audio_dir / f"{memo.id}.wav"
    assert memo.audio_path.read_bytes() == tone.read_bytes()
    assert tone.exists(), "a copy must leave the original alone"
    assert memo.duration == pytest.approx(0.25)
    assert memo.size == tone.stat().st_size
    assert memo.mime_type == "audio/wav"
    assert memo.sha256 == hashlib.sha256(tone.read_bytes()).hexdigest()
    assert memo.upload_state is UploadState.LOCAL
    assert (memo.upload_error, memo.object_key, memo.job_id, memo.transcript) == ("", "", "", "")
    assert memo.analysis == {} and memo.variants == () and memo.recovered is False
    assert library.get(memo.id) == memo


def test_extension_and_mime_type_follow_the_real_format_not_the_name(library, tmp_path):
    flac_named_wav = write_tone(tmp_path / "odd.wav", fmt="FLAC")
    opus = write_tone(tmp_path / "voice.ogg", rate=48000, fmt="OGG", subtype="OPUS")

    flac = library.add_file(flac_named_wav)
    ogg = library.add_file(opus)

    assert (flac.audio_path.suffix, flac.mime_type) == (".flac", "audio/flac")
    assert (ogg.audio_path.suffix, ogg.mime_type) == (".opus", "audio/ogg")


def test_move_takes_a_recording_already_in_the_audio_dir(library):
    memo_id = new_memo_id()
    library.audio_dir.mkdir(parents=True)
    recording = write_tone(library.audio_dir / f"{memo_id}.wav")

    memo = library.add_file(recording, memo_id=memo_id, move=True, recovered=True)

    assert memo.audio_path == recording and recording.exists()
    assert memo.recovered is True
    assert memo.title.startswith("Memo "), "a recording named after its id gets a dated title"


def test_move_from_elsewhere_removes_the_source(library, tone):
    memo = library.add_file(tone, move=True, title="  Moved   in ")

    assert not tone.exists() and memo.audio_path.exists()
    assert memo.title == "Moved in"


def _missing(d):
    return d / "missing.wav"


def _empty(d):
    (d / "empty.wav").write_bytes(b"")
    return d / "empty.wav"


def _text_named_wav(d):
    (d / "notes.wav").write_text("not audio at all\n" * 20)
    return d / "notes.wav"


def _directory(d):
    (d / "folder.wav").mkdir()
    return d / "folder.wav"


def _no_frames(d):
    return write_tone(d / "silence.wav", seconds=0)


@pytest.mark.parametrize("make, reason", [
    (_missing, "no such file"),
    (_empty, "empty"),
    (_text_named_wav, "not an audio file"),
    (_directory, "directory"),
    (_no_frames, "no sound"),
])
def test_bad_files_are_refused_with_the_file_and_the_reason(library, tmp_path, make, reason):
    bad = make(tmp_path)

    with pytest.raises(BadAudioFile) as caught:
        library.add_file(bad)

    assert str(bad) in str(caught.value) and reason in str(caught.value)
    assert library.count() == 0
    assert not library.audio_dir.exists() or not any(library.audio_dir.iterdir())


def test_an_explicit_id_is_validated_and_never_reused(library, tone):
    library.add_file(tone, memo_id="abc123")

    with pytest.raises(LibraryError, match="already exists"):
        library.add_file(tone, memo_id="abc123")
    with pytest.raises(LibraryError, match="invalid memo id"):
        library.add_file(tone, memo_id="../escape")
    assert library.count() == 1


def test_list_is_newest_first_and_pages(library, tone):
    ids = [library.add_file(tone, title=f"memo {i}", created_at=1000.0 + i).id for i in range(5)]

    assert [m.id for m in library.list()] == ids[::-1]
    assert [m.id for m in library.list(limit=2, offset=1)] == [ids[3], ids[2]]
    assert library.count() == 5


def test_search_matches_every_word_in_title_or_transcript_case_insensitively(library, tone):
    budget = library.add_file(tone, title="Budget review")
    standup = library.add_file(tone, title="Standup")
    library.set_transcript(standup.id, "We discussed the BUDGET and the roadmap")
    library.add_file(tone, title="100% literal_chars")

    assert {m.id for m in library.list(search="budget")} == {budget.id, standup.id}
    assert [m.id for m in library.list(search="budget roadmap")] == [standup.id]
    assert library.count(search="budget") == 2
    assert [m.title for m in library.list(search="0%")] == ["100% literal_chars"]
    assert library.list(search="l_t") == [], "'_' is a literal, not a wildcard"
    assert len(library.list(search="   ")) == 3


def test_rename(library, tone):
    memo = library.add_file(tone)

    assert library.rename(memo.id, " Call with  Ana ").title == "Call with Ana"
    with pytest.raises(LibraryError, match="empty"):
        library.rename(memo.id, "   ")
    with pytest.raises(MemoNotFound):
        library.rename("nope", "x")


def test_upload_state_transitions_keep_or_replace_key_and_job(library, tone):
    memo = library.add_file(tone)

    queued = library.set_upload_state(memo.id, UploadState.QUEUED, job_id="job-1")
    failed = library.set_upload_state(memo.id, "failed", error="endpoint unreachable")
    uploaded = library.set_upload_state(memo.id, UploadState.UPLOADED, object_key="memos/x/y.wav")

    assert (queued.upload_state, queued.job_id) == (UploadState.QUEUED, "job-1")
    assert (failed.upload_state, failed.upload_error, failed.job_id) == (UploadState.FAILED,
                                                                          "endpoint unreachable", "job-1")
    assert (uploaded.upload_error, uploaded.object_key, uploaded.job_id) == ("", "memos/x/y.wav", "job-1")
    assert uploaded.updated_at >= memo.updated_at
    with pytest.raises(LibraryError, match="unknown upload state"):
        library.set_upload_state(memo.id, "lost")


def test_memos_needing_upload_oldest_first_failed_on_request(library, tone):
    states = [UploadState.LOCAL, UploadState.QUEUED, UploadState.UPLOADING, UploadState.UPLOADED, UploadState.FAILED]
    memos = {}
    for i, state in enumerate(states):
        memos[state] = library.add_file(tone, created_at=100.0 + i)
        library.set_upload_state(memos[state].id, state)

    pending = [m.id for m in library.memos_needing_upload()]
    with_failed = [m.id for m in library.memos_needing_upload(include_failed=True)]

    assert pending == [memos[s].id for s in states[:3]]
    assert with_failed == pending + [memos[UploadState.FAILED].id]


def test_transcript_analysis_and_variants(library, tone, tmp_path):
    memo = library.add_file(tone)
    inside = write_tone(library.audio_dir / f"{memo.id}.flac", fmt="FLAC")

    library.set_transcript(memo.id, "hello world")
    library.set_analysis(memo.id, {"peak": 0.3, "silent": False})
    library.add_variant(memo.id, "flac", inside)
    updated = library.add_variant(memo.id, "flac", inside, object_key="memos/k.flac")

    assert updated.transcript == "hello world"
    assert updated.analysis == {"peak": 0.3, "silent": False}
    assert len(updated.variants) == 1
    assert updated.variant("flac").object_key == "memos/k.flac"
    assert updated.variant("flac").size == inside.stat().st_size
    assert updated.variant("flac").path == inside
    with pytest.raises(LibraryError, match="JSON"):
        library.set_analysis(memo.id, {"bad": float("nan")})
    with pytest.raises(MemoNotFound):
        library.add_variant("nope", "flac", inside)


def test_delete_returns_the_memo_and_removes_only_its_own_files(library, tone, tmp_path):
    memo = library.add_file(tone)
    own = write_tone(library.audio_dir / f"{memo.id}.flac", fmt="FLAC")
    foreign = write_tone(tmp_path / "elsewhere.flac", fmt="FLAC")
    library.add_variant(memo.id, "flac", own)
    library.add_variant(memo.id, "opus", foreign)
    transcripts = [library.audio_dir / f"{memo.id}{suffix}" for suffix in (".transcript.json", ".srt", ".vtt")]
    for path in transcripts:
        path.write_text("...")
    other = library.add_file(tone)

    deleted = library.delete(memo.id)

    assert deleted.id == memo.id and len(deleted.variants) == 2
    assert not memo.audio_path.exists() and not own.exists()
    assert not any(path.exists() for path in transcripts)
    assert other.audio_path.exists(), "another memo's files stay"
    assert foreign.exists(), "files outside the audio dir are not the library's to delete"
    with pytest.raises(MemoNotFound):
        library.get(memo.id)
    with pytest.raises(MemoNotFound):
        library.delete(memo.id)


def test_paths_survive_moving_the_data_dir(library, tone, tmp_path):
    memo = library.add_file(tone)
    moved_root = tmp_path / "moved"
    moved_root.mkdir()
    library.db_path.rename(moved_root / "library.sqlite3")
    library.audio_dir.rename(moved_root / "audio")

    moved = Library(moved_root / "library.sqlite3", moved_root / "audio").get(memo.id)

    assert moved.audio_path == moved_root / "audio" / memo.audio_path.name
    assert moved.audio_path.exists()


def test_schema_is_versioned_and_a_newer_one_is_refused(library, tone):
    library.add_file(tone)
    conn = sqlite3.connect(library.db_path)
    assert conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")
    conn.close()

    with pytest.raises(LibraryError, match="newer memo-desktop"):
        Library(library.db_path, library.audio_dir).count()


def test_memo_as_dict_is_json_ready(library, tone):
    import json

    memo = library.add_file(tone)
    data = json.loads(json.dumps(memo.as_dict()))

    assert data["id"] == memo.id and data["uploadState"] == "local" and data["audioPath"] == str(memo.audio_path)


def test_new_memo_ids_sort_by_time_and_are_unique():
    ids = [new_memo_id(1_800_000_000.0 + i) for i in range(1000)]

    assert ids == sorted(ids)
    # 80 random bits (the old 25 collided in ~2 % of runs of this very line)
    assert len(set(new_memo_id() for _ in range(10_000))) == 10_000
    assert all(len(i) == 26 and i == i.lower() for i in ids)


def test_ids_of_older_libraries_are_still_accepted(library, tone):
    old_style = "0jzq8w3v2kx7m4"  # 14 characters: a stamp and 25 random bits, what ids looked like before ULIDs
    memo = library.add_file(tone, memo_id=old_style)
    assert library.get(old_style) == memo
