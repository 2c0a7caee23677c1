"""Webhook deliveries: the job payload (no secret in it), the signed POST, and enqueueing one per event and webhook.

The payload holds what every attempt sends again: the message id (`webhook-id`), the event type, its time and data.
Each attempt signs anew with the home machine's secret and the attempt's own timestamp (receivers reject old
timestamps), so a retry hours later still verifies.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import logging
import ssl
import time
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import httpx
import redis
from standardwebhooks.webhooks import Webhook as Signer

from memo_desktop import __version__
from memo_desktop.core.errors import DeliveryFailed, MemoError, PermanentJobError, WebhookNotFound
from memo_desktop.core.jobs.client import JobQueue
from memo_desktop.core.jobs.contract import WEBHOOK_QUEUE, Field, JobOptions, ops_queue_name, validate_fields
from memo_desktop.core.redis_errors import redis_errors
from memo_desktop.core.secrets import mask_url
from memo_desktop.core.webhooks.registry import Webhook, WebhookRegistry

log = logging.getLogger(__name__)

DELIVER_FUNCTION = "memo_desktop.core.jobs.tasks.deliver_webhook"
# 8 attempts, 1 s, 2 s ... 64 s apart: the first retries within seconds, the last two minutes after the event
DELIVERY_OPTIONS = JobOptions(attempts=8, backoff=1.0, timeout=60)
CONNECT_TIMEOUT = 5.0
REQUEST_TIMEOUT = 10.0  # an endpoint slower than this fails the attempt (it is retried)
CLAIM_PREFIX = "memo-desktop:webhook-sent:"
CLAIM_SECONDS = 24 * 3600
DELIVERIES_KEY = "memo-desktop:metrics:webhook-deliveries"  # results of attempts: delivered, failed

SCHEMA = {
    "webhookId": Field(str),
    "messageId": Field(str),
    "type": Field(str),
    "timestamp": Field(str),
    "data": Field(dict),
}


def delivery_queue(home: str) -> str:
    return ops_queue_name(WEBHOOK_QUEUE, home)


def message_id(webhook_id: str, event_id: str) -> str:
    """Stable per (webhook, event): the same `webhook-id` whoever enqueues it and on every retry."""
    return "msg_" + hashlib.sha256(f"{webhook_id}\n{event_id}".encode()).hexdigest()[:24]


def iso_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, tz=dt.timezone.utc).isoformat().replace("+00:00", "Z")


def body_of(payload: Mapping[str, Any]) -> str:
    return json.dumps({"type": payload["type"], "timestamp": payload["timestamp"], "data": payload["data"]},
                      separators=(",", ":"), sort_keys=True, default=str)


def sign(secret: str, msg_id: str, timestamp: int, body: str) -> str:
    """`v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` (Standard Webhooks, by its reference package)."""
    return Signer(secret).sign(msg_id, dt.datetime.fromtimestamp(timestamp, tz=dt.timezone.utc), body)


@dataclass(frozen=True)
class DeliveryResult:
    status: int
    seconds: float


def post(url: str, secret: str, msg_id: str, body: str) -> DeliveryResult:
    """One signed attempt; DeliveryFailed unless the endpoint answers 2xx (redirects are not followed)."""
    timestamp = int(time.time())
    headers = {"content-type": "application/json", "user-agent": f"memo-desktop/{__version__}",
               "webhook-id": msg_id, "webhook-timestamp": str(timestamp),
               "webhook-signature": sign(secret, msg_id, timestamp, body)}
    started = time.monotonic()
    where = mask_url(url)
    try:
        with httpx.Client(timeout=httpx.Timeout(REQUEST_TIMEOUT, connect=CONNECT_TIMEOUT), follow_redirects=False,
                          verify=_tls_context()) as client:
            response = client.post(url, content=body.encode(), headers=headers)
    except httpx.TimeoutException:
        raise DeliveryFailed(f"{where} did not answer within {REQUEST_TIMEOUT:.0f} s") from None
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"{where} could not be reached ({type(exc).__name__}: {exc})") from None
    if not 200 <= response.status_code < 300:
        raise DeliveryFailed(f"{where} answered {response.status_code} {response.reason_phrase}")
    return DeliveryResult(response.status_code, time.monotonic() - started)


@functools.lru_cache(maxsize=1)
def _tls_context() -> ssl.SSLContext:
    """The system's trusted CAs, loaded once per process (httpx would build a context per client: ~ms each)."""
    return ssl.create_default_context()


def deliver(registry: WebhookRegistry, payload: Mapping[str, Any]) -> DeliveryResult:
    """One attempt of a delivery job (the body of `deliver_webhook`)."""
    data = validate_fields(WEBHOOK_QUEUE, SCHEMA, payload)
    try:
        hook = registry.get(data["webhookId"])
    except WebhookNotFound:
        raise WebhookGone(f"webhook {data['webhookId']} was removed; nothing to deliver") from None
    secret = registry.secret(hook)
    if not secret:
        raise WebhookGone(f"the secret of webhook {hook.id} is not on this machine ({registry.settings.device}); "
                          f"only its home, {hook.home}, can sign")
    try:
        result = post(hook.url, secret, data["messageId"], body_of(data))
    except DeliveryFailed:
        count_attempt(registry.connection, "failed")
        raise
    count_attempt(registry.connection, "delivered")
    return result


class WebhookGone(WebhookNotFound, PermanentJobError):
    """Retrying cannot deliver: the webhook or its secret is gone."""


def count_attempt(connection: redis.Redis, result: str) -> None:
    try:
        with redis_errors(connection):
            connection.hincrby(DELIVERIES_KEY, result, 1)
    except MemoError as exc:  # a lost count must not fail a delivery that happened
        log.debug("webhook delivery count not stored: %s", exc)


def enqueue_delivery(jobs: JobQueue, hook: Webhook, event_type: str, data: Mapping[str, Any], event_id: str,
                     occurred_at: float | None = None) -> str:
    msg_id = message_id(hook.id, event_id)
    payload = validate_fields(WEBHOOK_QUEUE, SCHEMA, {
        "webhookId": hook.id, "messageId": msg_id, "type": event_type,
        "timestamp": iso_time(occurred_at if occurred_at is not None else time.time()), "data": dict(data)})
    return jobs.enqueue_function(delivery_queue(hook.home), DELIVER_FUNCTION, payload, job_id=f"webhook-{msg_id}",
                                 title=f"{event_type} to {mask_url(hook.url)}", options=DELIVERY_OPTIONS)


def claim(connection: redis.Redis, webhook_id: str, event_id: str) -> bool:
    """True for exactly one caller per (webhook, event), whichever process asks first."""
    with redis_errors(connection):
        return bool(connection.set(f"{CLAIM_PREFIX}{webhook_id}:{event_id}", "1", nx=True, ex=CLAIM_SECONDS))


def dispatch(registry: WebhookRegistry, jobs: JobQueue, event_type: str, data_of: Callable[[], Mapping[str, Any]],
             event_id: str, occurred_at: float | None = None, hooks: list[Webhook] | None = None) -> list[str]:
    """Enqueue one delivery per webhook subscribed to `event_type` that no other process claimed; the job ids.
    `data_of()` is called once, and only when this process won a claim (the others never read the job). `hooks`:
    the webhooks as the caller last read them (default: read now)."""
    job_ids: list[str] = []
    data: Mapping[str, Any] | None = None
    for hook in (hooks if hooks is not None else registry.list()):
        if event_type not in hook.events:
            continue
        if claim(registry.connection, hook.id, event_id):
            data = data_of() if data is None else data
            job_ids.append(enqueue_delivery(jobs, hook, event_type, data, event_id, occurred_at))
    return job_ids


def test_payload(hook: Webhook) -> dict[str, Any]:
    now = time.time()
    return {"webhookId": hook.id, "messageId": message_id(hook.id, f"test:{now!r}"), "type": "webhook.test",
            "timestamp": iso_time(now), "data": {"message": "a test delivery from memo-desktop"}}
