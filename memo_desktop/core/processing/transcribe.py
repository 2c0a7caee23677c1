"""The `transcribe` operation: offline speech to text, exported as JSON, TXT, SRT and VTT next to the audio."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo_desktop.core.context import AppContext
from memo_desktop.core.processing.keys import derived_key, transcript_name
from memo_desktop.core.processing.local_results import local_memo, save_transcript
from memo_desktop.core.processing.request import ProcessRequest, StageProgress
from memo_desktop.core.transcribe import FORMATS, MEDIA_TYPES, TranscriptionEngine, create_engine, render

UPLOAD_SHARE = 0.05
# The job result lives in Redis (and in every status call): a long memo's full text belongs in the store and the
# library, the result carries its beginning.
RESULT_TEXT_LIMIT = 2000


@dataclass(frozen=True)
class TranscribeOperation:
    ctx: AppContext
    request: ProcessRequest
    engine: TranscriptionEngine

    def run(self, source: Path, workspace: Path, progress: StageProgress) -> dict[str, Any]:
        transcribing, uploading = progress.split(1.0 - UPLOAD_SHARE)
        transcript = self.engine.transcribe(source, progress=transcribing)
        keys = {}
        for number, fmt in enumerate(FORMATS, start=1):
            export = workspace / transcript_name(fmt)
            export.write_text(render(transcript, fmt), encoding="utf-8")
            keys[fmt] = derived_key(self.request.source_key, transcript_name(fmt))
            self.ctx.object_store.upload(export, keys[fmt], content_type=MEDIA_TYPES[fmt])
            uploading(number / len(FORMATS))
        memo = local_memo(self.ctx.library, self.request.memo_id, self.request.source_key)
        if memo is not None:
            save_transcript(self.ctx.library, memo, transcript)
        text = transcript.text
        return {"language": transcript.language, "languageProbability": transcript.language_probability,
                "model": transcript.model, "duration": round(transcript.duration, 3),
                "segments": len(transcript.segments), "text": text[:RESULT_TEXT_LIMIT],
                "textTruncated": len(text) > RESULT_TEXT_LIMIT, "objectKeys": keys,
                "libraryUpdated": memo is not None}


def prepare(ctx: AppContext, request: ProcessRequest) -> TranscribeOperation:
    """Fails before anything is downloaded when the extra or the model is missing or damaged, or cannot transcribe
    the language asked for (TranscriptionUnavailable, BadProcessOptions: permanent, never retried)."""
    engine = create_engine(ctx.settings, request.options)
    engine.model()  # loaded (once per process) and checked against the language now
    return TranscribeOperation(ctx, request, engine)
