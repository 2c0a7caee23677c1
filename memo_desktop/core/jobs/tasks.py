"""The app's registered job functions, one per queue. Each takes the validated payload and returns a JSON result.

They are thin: the work itself lives in the pipeline (upload, delete) and processing modules, imported lazily so a
worker that never takes a queue's jobs never imports what that queue needs (e.g. faster-whisper).
"""

from __future__ import annotations

from typing import Any

from memo_desktop.core.jobs.progress import ProgressReporter
from memo_desktop.core.jobs.registry import register
from memo_desktop.core.jobs.runtime import current_context


@register
def upload_file(payload: dict[str, Any]) -> dict[str, Any]:
    from memo_desktop.core.pipeline.upload import run_upload

    return run_upload(current_context(), payload, ProgressReporter())


@register
def delete_file(payload: dict[str, Any]) -> dict[str, Any]:
    from memo_desktop.core.pipeline.delete import run_delete

    return run_delete(current_context(), payload)


@register
def process_file(payload: dict[str, Any]) -> dict[str, Any]:
    from memo_desktop.core.processing.jobs import run_process

    return run_process(current_context(), payload, ProgressReporter())
