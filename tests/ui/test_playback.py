"""core.playback.AudioPlayer (Qt-free) through the virtual microphone's PulseAudio sink: play, seek, pause, end,
and errors that name the file."""

from __future__ import annotations

import time

from memo_desktop.core.playback import AudioPlayer, PlaybackError, PlaybackState
from tests.ui.conftest import write_tone_wav


def wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_play_seek_pause_and_play_to_the_end(mic, tmp_path):
    wav = write_tone_wav(tmp_path / "tone.wav", 3.0)
    ended = []
    player = AudioPlayer(on_finished=lambda path, error: ended.append((path, error)))
    try:
        player.play(wav)
        wait_for(lambda: player.position > 0.2)
        assert player.state is PlaybackState.PLAYING and abs(player.duration - 3.0) < 0.01
        player.seek(2.0)
        assert player.position >= 2.0  # a seek shows where it is going at once
        wait_for(lambda: player.position > 2.1)
        player.pause()
        held = player.position
        time.sleep(0.3)
        assert player.state is PlaybackState.PAUSED and abs(player.position - held) < 0.06
        player.resume()
        wait_for(lambda: bool(ended), timeout=5.0)
        assert ended == [(wav, None)] and player.state is PlaybackState.STOPPED
        assert player.position > 2.9
    finally:
        assert player.close(timeout=3.0)


def test_an_unreadable_file_is_an_error_naming_it(tmp_path):
    bad = tmp_path / "broken.wav"
    bad.write_bytes(b"RIFF nonsense")
    ended = []
    player = AudioPlayer(on_finished=lambda path, error: ended.append(error))
    player.play(bad)
    assert player.close(timeout=3.0)
    assert isinstance(ended[0], PlaybackError) and "broken.wav" in str(ended[0])
    assert player.last_error is ended[0]


def test_playing_another_file_stops_the_first(mic, tmp_path):
    first = write_tone_wav(tmp_path / "first.wav", 5.0)
    second = write_tone_wav(tmp_path / "second.wav", 5.0, freq=660)
    player = AudioPlayer()
    try:
        player.play(first)
        wait_for(lambda: player.position > 0.1)
        player.play(second)
        assert player.path == second
        wait_for(lambda: player.position > 0.1)
    finally:
        assert player.close(timeout=3.0)
