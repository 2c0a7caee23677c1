"""A recording is private from its first byte: the WAV, its note and the memo it becomes are the owner's only."""

from __future__ import annotations

import pytest

from memo_desktop.core.library import Library
from memo_desktop.core.recorder import Recorder, RecordingResult
from tests.fixtures.private_modes import desktop_umask, mode  # noqa: F401 (a fixture)
from tests.recorder.audio_checks import wait_until

pytestmark = [pytest.mark.audio, pytest.mark.timeout(60)]


def test_a_recording_and_its_memo_are_readable_only_by_their_owner(mic, rec_settings, desktop_umask):
    library = Library.from_settings(rec_settings)
    added = []

    def into_library(result: RecordingResult) -> None:
        added.append(library.add_file(result.path, memo_id=result.recording_id, move=True))

    recorder = Recorder(rec_settings, on_finished=into_library)
    recorder.start()
    try:
        in_progress = list(rec_settings.audio_dir.glob("*.recording.wav"))
        notes = list(rec_settings.audio_dir.glob("*.recording.json"))
        assert len(in_progress) == 1 and len(notes) == 1
        assert mode(in_progress[0]) == 0o600, "the WAV is private before any sample is in it"
        assert mode(notes[0]) == 0o600, "the recording note (title, device) is private"
        assert wait_until(lambda: recorder.elapsed > 0.3, timeout=5), "no audio arrived from the virtual microphone"
        assert mode(in_progress[0]) == 0o600
    finally:
        result = recorder.stop()

    assert result.ok and mode(result.path) == 0o600
    [memo] = added
    assert memo.audio_path == result.path and mode(memo.audio_path) == 0o600
    data_dir = rec_settings.data_dir
    for path in (data_dir, rec_settings.audio_dir):
        assert mode(path) == 0o700, path
    assert mode(rec_settings.library_db) == 0o600
    assert sorted(p.name for p in rec_settings.audio_dir.iterdir()) == [result.path.name], "no temporaries left"
