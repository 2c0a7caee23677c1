"""Transcript exports: JSON (segments with timestamps), plain text, SubRip (SRT) and WebVTT."""

from __future__ import annotations

import json
from typing import Callable

from memo_desktop.core.errors import ProcessingError
from memo_desktop.core.transcribe.transcript import Transcript

FORMATS = ("json", "txt", "srt", "vtt")
MEDIA_TYPES = {"json": "application/json", "txt": "text/plain; charset=utf-8",
               "srt": "application/x-subrip; charset=utf-8", "vtt": "text/vtt; charset=utf-8"}


def to_json(transcript: Transcript) -> str:
    return json.dumps(transcript.as_dict(), ensure_ascii=False, indent=2) + "\n"


def to_txt(transcript: Transcript) -> str:
    """One line per segment: readable, and still greppable by phrase."""
    return "".join(f"{segment.text.strip()}\n" for segment in transcript.segments if segment.text.strip())


def to_srt(transcript: Transcript) -> str:
    cues = []
    for number, segment in enumerate(_cues(transcript), start=1):
        cues.append(f"{number}\n{_timestamp(segment.start, ',')} --> {_timestamp(segment.end, ',')}\n"
                    f"{segment.text.strip()}\n")
    return "\n".join(cues)


def to_vtt(transcript: Transcript) -> str:
    cues = [f"{_timestamp(s.start, '.')} --> {_timestamp(s.end, '.')}\n{_vtt_text(s.text.strip())}\n"
            for s in _cues(transcript)]
    return "WEBVTT\n\n" + "\n".join(cues)


RENDERERS: dict[str, Callable[[Transcript], str]] = {"json": to_json, "txt": to_txt, "srt": to_srt, "vtt": to_vtt}


def render(transcript: Transcript, fmt: str) -> str:
    try:
        return RENDERERS[fmt](transcript)
    except KeyError:
        raise ProcessingError(f"unknown transcript format {fmt!r} (use {', '.join(FORMATS)})") from None


def parse_json(text: str) -> Transcript:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ProcessingError(f"the transcript JSON is damaged: {exc}") from None
    if not isinstance(data, dict):
        raise ProcessingError("the transcript JSON is not an object")
    return Transcript.from_dict(data)


def _cues(transcript: Transcript):
    """Segments worth a subtitle cue: with text, and never ending before they start (players reject those)."""
    for segment in transcript.segments:
        if segment.text.strip():
            yield segment if segment.end >= segment.start else type(segment)(segment.start, segment.start,
                                                                             segment.text)


def _timestamp(seconds: float, decimal_mark: str) -> str:
    millis = max(0, round(seconds * 1000))
    hours, millis = divmod(millis, 3_600_000)
    minutes, millis = divmod(millis, 60_000)
    secs, millis = divmod(millis, 1000)
    return f"{hours:02d}:{minutes:02d}:{secs:02d}{decimal_mark}{millis:03d}"


def _vtt_text(text: str) -> str:
    # "-->" would end the cue timing line early, and & and < start entities and tags in WebVTT
    return text.replace("&", "&amp;").replace("<", "&lt;").replace("-->", "->")
