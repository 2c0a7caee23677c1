"""The recovery pass: find recordings a crash interrupted, make their files valid, hand them back.

Run it at every launch (and before `memo-desktop record`). It looks for recording notes (`*.recording.json`, see
`sidecar`) that no live recorder holds, and for each:
- `<id>.recording.wav` still there (the process died while recording): repair the WAV header in place, rename the
  file to `<id>.wav`;
- only `<id>.wav` there (the recording finished, but died before it reached the library): nothing to repair;
- no audio, or audio with no frames: nothing to recover; the leftovers are removed.

Each recovered recording is returned (path, title, start time, duration) for the caller to add to the library
marked recovered. With a `hand_over` callback the note is removed only after the callback succeeded for that
recording, so a crash during the hand-over is itself recovered next time; without one, the note is removed once
the file is final and the caller owns the returned items.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

import soundfile

from memo_desktop.core.errors import RecorderError
from memo_desktop.core.recorder.sidecar import (SIDECAR_SUFFIX, RecordingPaths, is_in_use, move_without_replacing,
                                               read_sidecar)
from memo_desktop.core.recorder.wav_repair import repair_wav_header

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class RecoveredRecording:
    path: Path
    recording_id: str
    title: str | None
    created: datetime
    duration: float
    repaired: bool  # the header had to be fixed
    was_interrupted: bool  # False: the file had been finished but not handed over


def find_unfinished(audio_dir: Path) -> list[Path]:
    """Recording notes in `audio_dir` that no live recorder holds, oldest first."""
    if not audio_dir.is_dir():
        return []
    return sorted(p for p in audio_dir.glob(f"*{SIDECAR_SUFFIX}") if not is_in_use(p))


def recover_unfinished(audio_dir: Path,
                       hand_over: Callable[[RecoveredRecording], None] | None = None) -> list[RecoveredRecording]:
    """Recover every interrupted recording in `audio_dir`; see the module docstring.

    A file that cannot be repaired is reported (RecorderError, naming it) after the others have been recovered,
    and its note stays, so nothing is deleted that might still be saved by hand.
    """
    recovered: list[RecoveredRecording] = []
    failures: list[str] = []
    for note in find_unfinished(audio_dir):
        try:
            item = _recover_one(note)
        except RecorderError as exc:
            failures.append(str(exc))
            continue
        if item is None:
            continue
        if hand_over is not None:
            hand_over(item)  # an exception propagates: this note and the rest stay for the next pass
        note.unlink(missing_ok=True)
        recovered.append(item)
    if failures:
        raise RecorderError("some interrupted recordings could not be recovered: " + "; ".join(failures))
    return recovered


def _recover_one(note: Path) -> RecoveredRecording | None:
    info = read_sidecar(note)
    paths = RecordingPaths.from_sidecar(note, info.final_name if info else None)
    created = info.started if info else datetime.fromtimestamp(note.stat().st_mtime, tz=timezone.utc)
    if paths.in_progress.exists():
        repair = repair_wav_header(paths.in_progress)
        if repair.frames == 0:
            log.info("interrupted recording %s holds no audio; removing it", paths.in_progress.name)
            paths.in_progress.unlink()
            note.unlink(missing_ok=True)
            return None
        target = move_without_replacing(paths.in_progress, paths.final, tag="recovered-")
        repaired, interrupted = repair.repaired, True
    elif paths.final.exists():
        target = paths.final
        repaired, interrupted = repair_wav_header(target).repaired, False
    else:
        log.info("recording note %s has no audio file; removing it", note.name)
        note.unlink(missing_ok=True)
        return None
    try:
        audio = soundfile.info(str(target))
    except soundfile.LibsndfileError as exc:
        raise RecorderError(f"{target.name} is still unreadable after repair: {exc}") from None
    return RecoveredRecording(path=target, recording_id=paths.recording_id, title=info.title if info else None,
                              created=created, duration=audio.frames / audio.samplerate, repaired=repaired,
                              was_interrupted=interrupted)
