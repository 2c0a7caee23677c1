"""Webhooks as every process on the Redis sees them; each secret stays on its home machine (see the package)."""

from __future__ import annotations

import base64
import json
import secrets as random_bytes
import time
from dataclasses import dataclass
from typing import Any, Iterable
from urllib.parse import urlsplit

import redis

from memo_desktop.core.config import Settings
from memo_desktop.core.errors import ConfigError, WebhookNotFound
from memo_desktop.core.redis_errors import redis_errors
from memo_desktop.core.secrets import (delete_secret, get_secret, mask_url, secret_location, set_secret,
                                       webhook_secret_name)

WEBHOOKS_KEY = "memo-desktop:webhooks"
EVENT_TYPES = ("job.completed", "job.failed", "alert.failure_rate", "alert.resolved")
TEST_EVENT = "webhook.test"
SECRET_PREFIX = "whsec_"


@dataclass(frozen=True)
class Webhook:
    id: str
    url: str
    events: tuple[str, ...]
    home: str  # the device whose secret store holds the secret: the only one that signs and delivers
    created_at: float

    def as_dict(self) -> dict[str, Any]:
        return {"id": self.id, "url": mask_url(self.url), "events": list(self.events), "home": self.home,
                "createdAt": self.created_at}

    def to_json(self) -> str:
        return json.dumps({"id": self.id, "url": self.url, "events": list(self.events), "home": self.home,
                           "createdAt": self.created_at})

    @classmethod
    def from_json(cls, raw: bytes | str) -> Webhook:
        data = json.loads(raw)
        return cls(data["id"], data["url"], tuple(data["events"]), data["home"], float(data["createdAt"]))


def new_secret() -> str:
    return SECRET_PREFIX + base64.b64encode(random_bytes.token_bytes(32)).decode()


def check_secret(secret: str) -> str:
    if not secret.startswith(SECRET_PREFIX):
        raise ConfigError(f"a webhook secret starts with '{SECRET_PREFIX}' followed by base64")
    try:
        key = base64.b64decode(secret[len(SECRET_PREFIX):] + "==", validate=False)
    except ValueError:
        key = b""
    if len(key) < 16:
        raise ConfigError("a webhook secret needs at least 16 bytes of key after 'whsec_' (base64)")
    return secret


def check_url(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"a webhook URL must be http:// or https:// with a host, got {mask_url(url)!r}")
    return url.strip()


def check_events(events: Iterable[str]) -> tuple[str, ...]:
    chosen = tuple(dict.fromkeys(e.strip() for e in events if e.strip()))
    unknown = [e for e in chosen if e not in EVENT_TYPES]
    if unknown or not chosen:
        raise ConfigError(f"unknown webhook event(s) {', '.join(unknown) or '(none given)'} "
                          f"(known: {', '.join(EVENT_TYPES)})")
    return chosen


class WebhookRegistry:
    def __init__(self, connection: redis.Redis, settings: Settings) -> None:
        self.connection = connection
        self.settings = settings

    def add(self, url: str, events: Iterable[str] = EVENT_TYPES, secret: str | None = None) -> tuple[Webhook, str]:
        """Register a webhook homed here; returns it and its secret (generated unless given)."""
        secret = check_secret(secret) if secret else new_secret()
        hook = Webhook("wh_" + random_bytes.token_hex(8), check_url(url), check_events(events),
                       self.settings.device, time.time())
        set_secret(self.settings, webhook_secret_name(hook.id), secret)  # first: never a webhook without its secret
        with redis_errors(self.connection):
            self.connection.hset(WEBHOOKS_KEY, hook.id, hook.to_json())
        return hook, secret

    def list(self) -> list[Webhook]:
        with redis_errors(self.connection):
            raw = self.connection.hvals(WEBHOOKS_KEY)
        return sorted((Webhook.from_json(item) for item in raw), key=lambda h: h.created_at)

    def get(self, webhook_id: str) -> Webhook:
        with redis_errors(self.connection):
            raw = self.connection.hget(WEBHOOKS_KEY, webhook_id)
        if raw is None:
            raise WebhookNotFound(f"no webhook with id '{webhook_id}'")
        return Webhook.from_json(raw)

    def remove(self, webhook_id: str) -> Webhook:
        hook = self.get(webhook_id)
        with redis_errors(self.connection):
            self.connection.hdel(WEBHOOKS_KEY, webhook_id)
        if hook.home == self.settings.device:
            delete_secret(self.settings, webhook_secret_name(webhook_id))
        return hook

    def secret(self, hook: Webhook) -> str | None:
        """The signing secret, when this machine holds it."""
        return get_secret(self.settings, webhook_secret_name(hook.id))

    def secret_location(self, hook: Webhook) -> str:
        return secret_location(self.settings, webhook_secret_name(hook.id))
