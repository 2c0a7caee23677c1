"""Webhook management over HTTP (the CLI's `webhooks add/list/remove/test`): a webhook added here is homed on this
server's machine, whose secret store keeps its secret. The secret is shown once, in the answer to the add."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from pydantic import BaseModel

from memo_desktop.core.webhooks import EVENT_TYPES, WebhookRegistry
from memo_desktop.core.webhooks.delivery import deliver, test_payload
from memo_desktop.web.app import state_of

router = APIRouter()


class NewWebhook(BaseModel):
    url: str
    events: list[str] = list(EVENT_TYPES)
    secret: str | None = None


def registry(request: Request) -> WebhookRegistry:
    ctx = state_of(request).context
    return WebhookRegistry(ctx.redis, ctx.settings)


@router.get("/api/webhooks", summary="Every webhook on this Redis (URLs with any password masked)")
def list_webhooks(request: Request) -> dict[str, Any]:
    return {"webhooks": [hook.as_dict() for hook in registry(request).list()]}


@router.post("/api/webhooks", summary="Add a webhook homed here; answers its id and secret (shown only now)")
def add_webhook(request: Request, body: NewWebhook) -> dict[str, Any]:
    hook, secret = registry(request).add(body.url, body.events, body.secret)
    return {"success": True, **hook.as_dict(), "secret": secret}


@router.delete("/api/webhooks/{webhook_id}", summary="Remove a webhook (and its secret, when homed here)")
def remove_webhook(request: Request, webhook_id: str) -> dict[str, Any]:
    registry(request).remove(webhook_id)
    return {"success": True, "id": webhook_id}


@router.post("/api/webhooks/{webhook_id}/test", summary="Send a signed `webhook.test` delivery now (one attempt)")
def test_webhook(request: Request, webhook_id: str) -> dict[str, Any]:
    hooks = registry(request)
    result = deliver(hooks, test_payload(hooks.get(webhook_id)))
    return {"success": True, "id": webhook_id, "status": result.status, "seconds": round(result.seconds, 3)}
