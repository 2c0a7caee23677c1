"""Analysis and compression on real files (no services): levels, silence, clipping, codecs, resampling, errors."""

from __future__ import annotations

import numpy as np
import pytest
import soundfile

from memo_desktop.core.audio import CompressFormat, analyze_file, compress_file, decoded_duration
from memo_desktop.core.audio.codecs import MAX_FRAMES_PER_WRITE, opus_compression_level, opus_rate_for
from memo_desktop.core.audio.resample import StreamResampler
from memo_desktop.core.errors import CorruptAudio, PermanentJobError
from tests.processing.conftest import write_tone


def test_tone_duration_and_levels(tone_file):
    analysis = analyze_file(tone_file)
    assert analysis.duration == pytest.approx(2.0, abs=1e-6)
    assert (analysis.sample_rate, analysis.channels, analysis.container, analysis.codec) == (48000, 1, "WAV",
                                                                                            "PCM_16")
    assert analysis.peak_dbfs == pytest.approx(-6.0, abs=0.5)
    assert analysis.rms_dbfs == pytest.approx(-9.01, abs=0.5)  # a sine's RMS is 3.01 dB below its peak
    assert analysis.clipping_ratio == 0.0 and analysis.silence_ratio == 0.0


def test_silence_and_clipping_ratios(tmp_path):
    rate = 16000
    t = np.arange(rate) / rate
    loud = np.clip(1.5 * np.sin(2 * np.pi * 200 * t), -1.0, 1.0)  # a clipped second
    quiet = np.zeros(rate * 3)  # three seconds of silence
    path = tmp_path / "mixed.wav"
    soundfile.write(str(path), np.concatenate([loud, quiet]), rate, subtype="PCM_16")
    analysis = analyze_file(path)
    assert analysis.duration == pytest.approx(4.0)
    assert analysis.silence_ratio == pytest.approx(0.75, abs=0.01)
    clipped_share_of_loud = np.mean(np.abs(loud) >= 0.999)
    assert analysis.clipping_ratio == pytest.approx(clipped_share_of_loud / 4, rel=0.02)
    assert analysis.peak_dbfs == pytest.approx(0.0, abs=0.01)


def test_digital_silence_has_no_level(tmp_path):
    path = tmp_path / "silent.flac"
    soundfile.write(str(path), np.zeros((4800, 2)), 48000)
    analysis = analyze_file(path)
    assert analysis.peak_dbfs is None and analysis.rms_dbfs is None and analysis.silence_ratio == 1.0
    assert analysis.as_dict()["channels"] == 2 and analysis.as_dict()["format"] == "FLAC"


def test_not_audio_is_corrupt_and_permanent(tmp_path):
    junk = tmp_path / "notes.wav"
    junk.write_bytes(b"this is a text file, not a recording\n" * 50)
    with pytest.raises(CorruptAudio, match="notes.wav: not audio this app can read") as caught:
        analyze_file(junk)
    assert isinstance(caught.value, PermanentJobError)  # the job system will not retry it
    with pytest.raises(CorruptAudio):
        compress_file(junk, tmp_path / "out.flac", CompressFormat.FLAC)
    assert list(tmp_path.iterdir()) == [junk], "a failed compression leaves no partial file"


def test_truncated_flac_fails_or_reads_short_but_never_crashes(tmp_path):
    source = write_tone(tmp_path / "tone.wav", 3.0)
    flac = compress_file(source, tmp_path / "tone.flac", CompressFormat.FLAC).path
    cut = tmp_path / "cut.flac"
    cut.write_bytes(flac.read_bytes()[: flac.stat().st_size // 2])
    try:
        analysis = analyze_file(cut)
    except CorruptAudio:
        return
    assert analysis.duration < 3.0


def test_flac_is_bit_exact_for_integer_pcm(tmp_path):
    rng = np.random.default_rng(1)
    source = tmp_path / "noise24.wav"
    soundfile.write(str(source), rng.normal(0, 0.1, (48000, 2)), 48000, subtype="PCM_24")
    result = compress_file(source, tmp_path / "noise.flac", CompressFormat.FLAC)
    original, _ = soundfile.read(str(source), dtype="int32")
    encoded, _ = soundfile.read(str(result.path), dtype="int32")
    assert np.array_equal(original, encoded) and result.lossless
    assert soundfile.info(str(result.path)).subtype == "PCM_24"


def test_float_source_becomes_24_bit_flac_with_overs_clipped(tmp_path):
    source = tmp_path / "float.wav"
    soundfile.write(str(source), np.array([0.5, 1.7, -2.0, 0.0], dtype=np.float32), 8000, subtype="FLOAT")
    result = compress_file(source, tmp_path / "float.flac", CompressFormat.FLAC)
    decoded, _ = soundfile.read(str(result.path))
    assert not result.lossless and decoded[1] > 0.99 and decoded[2] == -1.0  # clipped, not wrapped around


@pytest.mark.parametrize("rate, expected_rate", [(48000, 48000), (16000, 16000), (44100, 48000), (22050, 24000)])
def test_opus_duration_and_rate(tmp_path, rate, expected_rate):
    source = write_tone(tmp_path / f"tone{rate}.wav", 2.5, rate=rate, peak_dbfs=-12.0)
    result = compress_file(source, tmp_path / "tone.opus", CompressFormat.OPUS, opus_bitrate=24000)
    assert result.sample_rate == expected_rate and result.source_sample_rate == rate
    assert decoded_duration(result.path) == pytest.approx(2.5, abs=0.002)
    analysis = analyze_file(result.path)
    assert (analysis.container, analysis.codec) == ("OGG", "OPUS")
    assert analysis.rms_dbfs == pytest.approx(-15.01, abs=0.5)  # the level survives resampling and encoding


def test_opus_bitrate_controls_size(tmp_path):
    rng = np.random.default_rng(2)
    source = tmp_path / "noise.wav"
    soundfile.write(str(source), rng.normal(0, 0.2, 48000 * 4), 48000, subtype="PCM_16")
    small = compress_file(source, tmp_path / "small.opus", CompressFormat.OPUS, opus_bitrate=16000)
    large = compress_file(source, tmp_path / "large.opus", CompressFormat.OPUS, opus_bitrate=96000)
    assert small.size * 8 / 4 == pytest.approx(16000, rel=0.35)
    assert large.size > 3 * small.size
    assert opus_compression_level(10**6, 1) == 0.0 and opus_compression_level(1000, 2) == 1.0
    assert [opus_rate_for(r) for r in (8000, 11025, 32000, 96000)] == [8000, 12000, 48000, 48000]


def test_long_file_is_written_in_chunks(tmp_path):
    """A single write of >= ~2.4 M frames to an Ogg encoder crashes libsndfile: 60 s at 48 kHz must go in chunks."""
    seconds, rate = 60, 48000
    source = tmp_path / "long.wav"
    with soundfile.SoundFile(str(source), "w", rate, 1, subtype="PCM_16") as out:
        t = np.arange(rate) / rate
        for _ in range(seconds):
            out.write(0.2 * np.sin(2 * np.pi * 300 * t))
    assert seconds * rate > 8 * MAX_FRAMES_PER_WRITE
    result = compress_file(source, tmp_path / "long.opus", CompressFormat.OPUS)
    assert decoded_duration(result.path) == pytest.approx(seconds, abs=0.002)


@pytest.mark.parametrize("rates", [(44100, 48000), (96000, 48000), (11025, 12000)])
def test_resampler_streams_a_sine_exactly(rates):
    rate_in, rate_out = rates
    t = np.arange(rate_in * 2) / rate_in
    signal = (0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)[:, None]
    resampler = StreamResampler(rate_in, rate_out, 1)
    pieces = [resampler.process(signal[i:i + 7777]) for i in range(0, len(signal), 7777)] + [resampler.flush()]
    out = np.concatenate(pieces)[:, 0]
    assert len(out) == 2 * rate_out
    expected = 0.5 * np.sin(2 * np.pi * 1000 * np.arange(len(out)) / rate_out)
    assert np.max(np.abs(out[100:-100] - expected[100:-100])) < 1e-3  # no delay, no gain change
