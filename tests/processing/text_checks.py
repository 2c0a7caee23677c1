"""Checks on transcripts for tests: word error rate, and small SRT/WebVTT parsers (strict enough to catch format
mistakes a player would reject)."""

from __future__ import annotations

import re
from dataclasses import dataclass

_NUMBER_WORDS = ("zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
                 "sixteen seventeen eighteen nineteen twenty").split()


def normalize_words(text: str) -> list[str]:
    """Lower case, no punctuation, small numbers spelled out ("3" and "three" are the same word spoken); letters
    of any language count (German umlauts stay inside their words)."""
    words = re.sub(r"[^\w' ]+|_", " ", text.lower().replace("-", " ")).split()
    return [_NUMBER_WORDS[int(w)] if w.isdigit() and int(w) < len(_NUMBER_WORDS) else w.strip("'") for w in words]


def word_error_rate(reference: str, hypothesis: str) -> float:
    """(substitutions + deletions + insertions) / reference words, by word-level edit distance."""
    ref, hyp = normalize_words(reference), normalize_words(hypothesis)
    if not ref:
        return 0.0 if not hyp else 1.0
    previous = list(range(len(hyp) + 1))
    for i, ref_word in enumerate(ref, start=1):
        current = [i]
        for j, hyp_word in enumerate(hyp, start=1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ref_word != hyp_word)))
        previous = current
    return previous[-1] / len(ref)


@dataclass(frozen=True)
class Cue:
    start: float
    end: float
    text: str


_SRT_TIME = r"(\d{2}):(\d{2}):(\d{2}),(\d{3})"
_VTT_TIME = r"(\d{2}):(\d{2}):(\d{2})\.(\d{3})"


def _seconds(groups: tuple[str, ...]) -> float:
    h, m, s, ms = (int(g) for g in groups)
    return h * 3600 + m * 60 + s + ms / 1000


def parse_srt(text: str) -> list[Cue]:
    cues = []
    for number, block in enumerate(b for b in text.strip().split("\n\n") if b.strip()):
        lines = block.split("\n")
        assert lines[0] == str(number + 1), f"cue {number + 1} is numbered {lines[0]!r}"
        match = re.fullmatch(f"{_SRT_TIME} --> {_SRT_TIME}", lines[1])
        assert match, f"bad SRT timing line {lines[1]!r}"
        cues.append(Cue(_seconds(match.groups()[:4]), _seconds(match.groups()[4:]), "\n".join(lines[2:])))
    return cues


def parse_vtt(text: str) -> list[Cue]:
    assert text.startswith("WEBVTT\n"), "a WebVTT file starts with WEBVTT"
    cues = []
    for block in text.split("\n\n")[1:]:
        if not block.strip():
            continue
        lines = block.strip("\n").split("\n")
        match = re.fullmatch(f"{_VTT_TIME} --> {_VTT_TIME}", lines[0])
        assert match, f"bad WebVTT timing line {lines[0]!r}"
        cues.append(Cue(_seconds(match.groups()[:4]), _seconds(match.groups()[4:]), "\n".join(lines[1:])))
    return cues


def assert_times_increase(cues: list[Cue]) -> None:
    assert cues, "no cues"
    for previous, cue in zip([None, *cues], cues):
        assert cue.start <= cue.end, f"cue ends before it starts: {cue}"
        if previous is not None:
            assert cue.start >= previous.start and cue.end >= previous.end, f"times go back: {previous} -> {cue}"
