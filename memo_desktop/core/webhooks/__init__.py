"""Webhooks (Standard Webhooks signing): job and alert events POSTed to URLs people register.

Who keeps what
- A webhook (id, URL, events, home) lives in Redis (`memo-desktop:webhooks`), so every process on the Redis sees
  it. Its **secret** lives only in the secret store of the machine that added it (the keyring, else the 0600
  `secrets.json`; `MEMO_WEBHOOK_SECRET_<ID>` overrides), like the S3 secret: never in Redis, a payload or a log.
  That machine is the webhook's **home** (its `device` setting), the only one that can sign.

Who enqueues (exactly one delivery per event and webhook)
- Every runtime that runs workers or serves HTTP runs a `WebhookDispatcher`: it hears job events on the process's
  event hub (and alert transitions from its evaluator). Several processes hear the same event; each claims it per
  webhook with `SET NX` on `memo-desktop:webhook-sent:<webhook>:<event>` (kept a day): the one that wins enqueues
  the delivery. Events come from workers, and every worker process runs a dispatcher, so an event is heard as long
  as the process that published it is subscribed (a dispatcher whose subscription is down for a moment may miss
  events: job events are hints, see `core.jobs.events`).

Who delivers (a slow endpoint never delays other jobs)
- Deliveries are jobs of the queue `webhook-delivery@<home>`, taken only by the home's `WebhookWorkers`: a pool of
  their own (2 threads, no share of the uploads' rate limit), so a slow or dead endpoint never holds a slot of an
  upload. Each attempt has a 10 s timeout. 8 attempts, backoff 1, 2, 4 ... 64 s (first retries within seconds),
  with the same `webhook-id` (the payload's `messageId`) on every attempt and a fresh timestamp and signature.
- A delivery that keeps failing ends in that queue's failed registry, shown on the web page and the queue panel,
  where retrying replays it with the same `webhook-id`. (The dead-letter queue of the queueing work takes these over
  when it lands.)

What is sent
- POST, body `{type, timestamp (ISO 8601, UTC), data}`; headers `webhook-id`, `webhook-timestamp` (unix s),
  `webhook-signature: v1,<base64 HMAC-SHA256(key, "{id}.{timestamp}.{body}")>` with key = the base64-decoded part of
  the secret after `whsec_` (signed by the `standardwebhooks` package). Job events' `data`: jobId, queue, state,
  memoId, title and result or error; alerts': the alert's figures.
- Only http and https URLs. Redirects are not followed and a response body is never shown to anyone, so a webhook
  cannot be used to read an internal service. Loopback and private addresses are allowed on purpose (a receiver on
  the same host or LAN is a normal setup, and whoever can add a webhook already holds the token).
"""

from memo_desktop.core.webhooks.registry import EVENT_TYPES, TEST_EVENT, Webhook, WebhookRegistry

__all__ = ["EVENT_TYPES", "TEST_EVENT", "Webhook", "WebhookRegistry"]
