"""The `analyze` operation: levels, clipping, silence and format of a memo's audio."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo_desktop.core.audio import analyze_file
from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import BadProcessOptions
from memo_desktop.core.processing.keys import ANALYSIS_NAME, derived_key
from memo_desktop.core.processing.local_results import local_memo, save_analysis
from memo_desktop.core.processing.request import ProcessRequest, StageProgress

UPLOAD_SHARE = 0.05


@dataclass(frozen=True)
class AnalyzeOperation:
    ctx: AppContext
    request: ProcessRequest

    def run(self, source: Path, workspace: Path, progress: StageProgress) -> dict[str, Any]:
        analyzing, uploading = progress.split(1.0 - UPLOAD_SHARE)
        analysis = analyze_file(source, progress=analyzing.frames).as_dict()
        report = workspace / ANALYSIS_NAME
        report.write_text(json.dumps(analysis, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        key = derived_key(self.request.source_key, ANALYSIS_NAME)
        self.ctx.object_store.upload(report, key, content_type="application/json", progress=uploading.frames)
        memo = local_memo(self.ctx.library, self.request.memo_id, self.request.source_key)
        if memo is not None:
            save_analysis(self.ctx.library, memo, analysis)
        return {"analysis": analysis, "objectKey": key, "libraryUpdated": memo is not None}


def prepare(ctx: AppContext, request: ProcessRequest) -> AnalyzeOperation:
    if request.options:
        raise BadProcessOptions(f"analyze takes no options, got: {', '.join(sorted(request.options))}")
    return AnalyzeOperation(ctx, request)
