"""The transcript pane as timed segments, in the real app: clicking a segment plays the memo from there, the segment
being played is highlighted, and a search hit in a transcript opens the memo at that moment.

Real Redis, object store and in-app workers (tiny.en transcribes); playback goes to the virtual PulseAudio sink.
"""

from __future__ import annotations

import numpy as np
import pytest
import soundfile
from PySide6.QtCore import Qt

from memo_desktop.core.playback import PlaybackState
from tests.processing.conftest import SENTENCE, make_speech
from tests.ui.test_processing_ui import import_uploaded, needs_transcription, select

SECOND = "Please remember to call the doctor tomorrow morning about the results of the blood test."
PAUSE_SECONDS = 1.5

pytestmark = needs_transcription


@pytest.fixture
def two_sentences(tmp_path):
    first = make_speech(tmp_path / "first.wav", SENTENCE, 48000)
    second = make_speech(tmp_path / "second.wav", SECOND, 48000)
    a, rate = soundfile.read(str(first), dtype="float32")
    b, _ = soundfile.read(str(second), dtype="float32")
    path = tmp_path / "Two notes.wav"
    soundfile.write(str(path), np.concatenate([a, np.zeros(int(rate * PAUSE_SECONDS), np.float32), b]), rate,
                    subtype="PCM_16")
    return path, len(a) / rate + PAUSE_SECONDS


def transcribed(qtbot, desktop, path):
    """Import, upload and transcribe `path` through the app; returns once the pane shows its segments."""
    widget = desktop.library_widget
    qtbot.waitUntil(widget.transcribe_action.isVisible, timeout=5_000)
    import_uploaded(qtbot, desktop, [path])
    select(qtbot, widget, path.stem)
    widget.transcribe_action.trigger()
    qtbot.waitUntil(lambda: widget.details.transcript is not None and widget.details.segments.count() >= 2,
                    timeout=60_000)
    return widget


def doctor_segment(transcript) -> int:
    return next(i for i, s in enumerate(transcript.segments) if "doctor" in s.text.lower())


def test_clicking_a_segment_plays_from_there_and_the_played_segment_is_highlighted(qtbot, desktop, mic,
                                                                                  two_sentences):
    path, second_starts = two_sentences
    widget = transcribed(qtbot, desktop, path)
    details, player = widget.details, widget.player
    transcript = details.transcript
    assert details.text().splitlines()[-1].startswith("[0:")  # segments, one per line, with their times
    memo = widget.selected_memos()[0]
    assert memo.transcript_language == "en" and "Transcript language: en" in details.text()
    assert widget.model.index(widget.model.row_of(memo.id), widget.model.TRANSCRIPT).data() == "en"

    target = doctor_segment(transcript)
    start = transcript.segments[target].start
    assert second_starts - 1.0 <= start <= second_starts + 1.0, (start, second_starts)
    item = details.segments.item(details.segment_row(target))
    details.segments.scrollToItem(item)
    qtbot.mouseClick(details.segments.viewport(), Qt.MouseButton.LeftButton,
                     pos=details.segments.visualItemRect(item).center())
    audio = player._player  # the core AudioPlayer under the widget
    qtbot.waitUntil(lambda: audio.state is PlaybackState.PLAYING and audio.path == memo.audio_path
                    and audio.position > start, timeout=5_000)
    assert audio.position < start + 2.0, "playback started at the clicked segment, not at the beginning"
    assert details.highlighted_segment() == target

    # from the beginning again: the highlight follows the position to the first segment
    player.play_from(0.0)
    qtbot.waitUntil(lambda: details.highlighted_segment() == 0, timeout=5_000)
    assert audio.position < start
    player.stop()
    qtbot.waitUntil(lambda: audio.state is PlaybackState.STOPPED, timeout=5_000)


def test_a_search_hit_in_a_transcript_opens_the_memo_at_that_moment(qtbot, desktop, mic, two_sentences):
    path, _ = two_sentences
    widget = transcribed(qtbot, desktop, path)
    target = doctor_segment(widget.details.transcript)
    hit_at = widget.details.transcript.segments[target].start
    widget.table.clearSelection()
    qtbot.waitUntil(lambda: widget.details.memo is None, timeout=2_000)

    qtbot.keyClicks(widget.search_edit, "doctor")
    qtbot.waitUntil(lambda: [i.memo.title for i in widget.model.rows] == [path.stem], timeout=5_000)
    select(qtbot, widget, path.stem)
    qtbot.waitUntil(lambda: widget.details.highlighted_segment() == target, timeout=10_000)
    assert widget.player.cued == pytest.approx(hit_at)
    assert widget.player.time_label.text().startswith(f"0:{int(hit_at):02d} / ")

    audio = widget.player._player
    widget.table.doubleClicked.emit(widget.model.index(0, widget.model.DURATION))  # play the hit
    qtbot.waitUntil(lambda: audio.state is PlaybackState.PLAYING and audio.position > hit_at, timeout=5_000)
    assert audio.position < hit_at + 2.0
    widget.player.stop()
    qtbot.waitUntil(lambda: audio.state is PlaybackState.STOPPED, timeout=5_000)
