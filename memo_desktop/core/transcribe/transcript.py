"""A transcript: timed segments of text. Immutable, JSON round-trippable, safe to hand between threads."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Mapping

from memo_desktop.core.errors import ProcessingError


@dataclass(frozen=True)
class Segment:
    start: float  # seconds from the start of the audio
    end: float
    text: str

    def as_dict(self) -> dict[str, Any]:
        return {"start": round(self.start, 3), "end": round(self.end, 3), "text": self.text}


@dataclass(frozen=True)
class Transcript:
    segments: tuple[Segment, ...]
    language: str = ""
    duration: float = 0.0  # seconds of audio transcribed
    model: str = ""  # which model produced it (a name or a path), for the record

    @property
    def text(self) -> str:
        """The plain text: what the library stores and searches."""
        return " ".join(segment.text.strip() for segment in self.segments if segment.text.strip())

    def as_dict(self) -> dict[str, Any]:
        return {"language": self.language, "duration": round(self.duration, 3), "model": self.model,
                "text": self.text, "segments": [segment.as_dict() for segment in self.segments]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Transcript:
        """The inverse of `as_dict`; ProcessingError when `data` is not a transcript."""
        try:
            segments = tuple(Segment(float(s["start"]), float(s["end"]), str(s["text"])) for s in data["segments"])
            return cls(segments=segments, language=str(data.get("language", "")),
                       duration=float(data.get("duration", 0.0)), model=str(data.get("model", "")))
        except (KeyError, TypeError, ValueError) as exc:
            raise ProcessingError(f"not a transcript ({type(exc).__name__}: {exc})") from None
