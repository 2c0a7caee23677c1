"""Transcript exports and the test helpers themselves; no services needed."""

from __future__ import annotations

import json

import pytest

from memo_desktop.core.errors import ProcessingError
from memo_desktop.core.transcribe import Segment, Transcript, parse_json, render
from memo_desktop.core.transcribe.formats import to_srt, to_txt, to_vtt
from tests.processing.text_checks import assert_times_increase, parse_srt, parse_vtt, word_error_rate

TRANSCRIPT = Transcript(
    segments=(Segment(0.0, 2.5, " Hello there."), Segment(2.5, 3661.2345, "Second line, <b> & --> arrows"),
              Segment(3661.3, 3661.3, "   ")),
    language="en", duration=3662.0, model="tiny.en")


def test_word_error_rate_counts_substitutions_insertions_and_deletions():
    assert word_error_rate("the cat sat", "the cat sat") == 0.0
    assert word_error_rate("the cat sat", "The cat, sat!") == 0.0
    assert word_error_rate("the cat sat", "the bat sat") == pytest.approx(1 / 3)
    assert word_error_rate("the cat sat", "the cat sat down") == pytest.approx(1 / 3)
    assert word_error_rate("the cat sat", "cat sat") == pytest.approx(1 / 3)
    assert word_error_rate("at three", "at 3") == 0.0
    assert word_error_rate("", "") == 0.0


def test_srt_numbers_cues_and_uses_comma_milliseconds():
    text = to_srt(TRANSCRIPT)
    assert text.startswith("1\n00:00:00,000 --> 00:00:02,500\nHello there.\n\n2\n00:00:02,500 --> 01:01:01,23")
    cues = parse_srt(text)
    assert [c.text for c in cues] == ["Hello there.", "Second line, <b> & --> arrows"]  # empty segment dropped
    assert_times_increase(cues)


def test_vtt_has_header_dot_milliseconds_and_escapes_markup():
    text = to_vtt(TRANSCRIPT)
    cues = parse_vtt(text)
    assert cues[0].start == 0.0 and cues[0].end == 2.5
    assert cues[1].end == pytest.approx(3661.2345, abs=1e-3)
    assert cues[1].text == "Second line, &lt;b> &amp; -> arrows"
    assert_times_increase(cues)


def test_json_round_trips_and_txt_is_one_line_per_segment():
    data = json.loads(render(TRANSCRIPT, "json"))
    assert data["segments"][1]["start"] == 2.5 and data["segments"][1]["end"] == pytest.approx(3661.2345, abs=1e-3)
    assert data["language"] == "en" and data["duration"] == 3662.0
    assert data["text"] == "Hello there. Second line, <b> & --> arrows"
    again = parse_json(render(TRANSCRIPT, "json"))
    assert again.text == TRANSCRIPT.text and again.language == "en" and len(again.segments) == 3
    assert to_txt(TRANSCRIPT) == "Hello there.\nSecond line, <b> & --> arrows\n"


def test_bad_format_and_damaged_json_are_clear_errors():
    with pytest.raises(ProcessingError, match="unknown transcript format 'doc'"):
        render(TRANSCRIPT, "doc")
    with pytest.raises(ProcessingError, match="damaged"):
        parse_json("{not json")
    with pytest.raises(ProcessingError, match="not a transcript"):
        parse_json('{"segments": [{"start": 1}]}')
