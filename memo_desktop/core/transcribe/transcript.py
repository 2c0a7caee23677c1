"""A transcript: timed segments of text with their timed words. Immutable, JSON round-trippable, thread-safe.

    {"language": "de", "languageProbability": 0.93, "duration": 61.2, "model": "base", "text": "...",
     "segments": [{"start": 0.0, "end": 4.2, "text": "...", "words": [{"word": "Guten", "start": 0.1, "end": 0.4}]}]}

Transcripts written before words existed have segments without `words`; they still load (with no words).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from memo_desktop.core.errors import ProcessingError


@dataclass(frozen=True)
class Word:
    word: str
    start: float  # seconds from the start of the audio
    end: float

    def as_dict(self) -> dict[str, Any]:
        return {"word": self.word, "start": round(self.start, 3), "end": round(self.end, 3)}


@dataclass(frozen=True)
class Segment:
    start: float  # seconds from the start of the audio
    end: float
    text: str
    words: tuple[Word, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text,
                "words": [word.as_dict() for word in self.words]}


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    language: str = ""
    duration: float = 0.0  # seconds of audio transcribed
    model: str = ""  # which model produced it (a name or a path), for the record
    language_probability: float | None = None  # how sure the detection was; None when the language was given

    @property
    def text(self) -> str:
        """The plain text: what the library stores and searches."""
        return " ".join(segment.text.strip() for segment in self.segments if segment.text.strip())

    def segment_at(self, seconds: float) -> int | None:
        """The index of the segment being spoken at `seconds` (the last one started by then), or None before it."""
        found = None
        for index, segment in enumerate(self.segments):
            if segment.start > seconds:
                break
            found = index
        return found

    def as_dict(self) -> dict[str, Any]:
        probability = None if self.language_probability is None else round(self.language_probability, 3)
        return {"language": self.language, "languageProbability": probability, "duration": round(self.duration, 3),
                "model": self.model, "text": self.text, "segments": [segment.as_dict() for segment in self.segments]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transcript:
        """The inverse of `as_dict`; ProcessingError when `data` is not a transcript."""
        try:
            segments = tuple(
                Segment(float(s["start"]), float(s["end"]), str(s["text"]),
                        tuple(Word(str(w["word"]), float(w["start"]), float(w["end"])) for w in s.get("words", ())))
                for s in data["segments"])
            probability = data.get("languageProbability")
            return cls(segments=segments, language=str(data.get("language", "")),
                       duration=float(data.get("duration", 0.0)), model=str(data.get("model", "")),
                       language_probability=None if probability is None else float(probability))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ProcessingError(f"not a transcript ({type(exc).__name__}: {exc})") from None
