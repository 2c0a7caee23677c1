"""The app's registered job functions, one per queue. Each takes the context of the pool running it and the
validated payload, and returns a JSON result.

They are thin: the work itself lives in the pipeline (upload, delete) and processing modules, imported lazily so a
worker that never takes a queue's jobs never imports what that queue needs (e.g. faster-whisper).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from memo_desktop.core.jobs.progress import ProgressReporter
from memo_desktop.core.jobs.registry import register

if TYPE_CHECKING:
    from memo_desktop.core.context import AppContext


@register
def upload_file(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any]:
    from memo_desktop.core.pipeline.upload import run_upload

    return run_upload(ctx, payload, ProgressReporter())


@register
def delete_file(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any]:
    from memo_desktop.core.pipeline.delete import run_delete

    return run_delete(ctx, payload)


@register
def process_file(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any]:
    from memo_desktop.core.processing.jobs import run_process

    return run_process(ctx, payload, ProgressReporter())


@register
def deliver_webhook(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any]:
    from memo_desktop.core.webhooks.delivery import deliver
    from memo_desktop.core.webhooks.registry import WebhookRegistry

    result = deliver(WebhookRegistry(ctx.redis, ctx.settings), payload)
    return {"delivered": True, "status": result.status, "seconds": round(result.seconds, 3)}
