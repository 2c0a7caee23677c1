"""The body of a `file-delete` job: remove every object of a memo."""

from __future__ import annotations

from typing import Any

from memo_desktop.core.context import AppContext


def run_delete(ctx: AppContext, payload: dict[str, Any]) -> dict[str, Any]:
    deleted = ctx.object_store.delete_prefix(payload["s3Key"])
    return {"success": True, "fileId": payload["fileId"], "deleted": deleted}
