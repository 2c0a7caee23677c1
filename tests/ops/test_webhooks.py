"""Webhooks: Standard Webhooks signatures (the spec's test vector), management from the CLI and the API, deliveries
to a real HTTP receiver verified with the reference package, retries after 500s with the same webhook-id, one
delivery per event however many processes listen, and a slow endpoint that delays nothing else."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
from standardwebhooks.webhooks import Webhook as Verifier

from memo_desktop.core.errors import ConfigError
from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.runtime import WorkerPlan
from memo_desktop.core.secrets import webhook_secret_name
from memo_desktop.core.webhooks import WebhookRegistry
from memo_desktop.core.webhooks.delivery import delivery_queue, sign
from tests.core.conftest import REPO, job
from tests.fixtures.waiting import wait_until

QUEUE = "file-process"


def test_signature_matches_the_standard_webhooks_test_vector():
    # the specification's published vector (standard-webhooks, also in its libraries' tests)
    assert sign("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "msg_p5jXN8AQM9LWM0D4loKWxJek", 1614265330,
                '{"test": 2432232314}') == "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="


def test_only_http_urls_known_events_and_real_secrets(ops_settings, redis_conn):
    from memo_desktop.core.context import AppContext

    ctx = AppContext(ops_settings)
    try:
        registry = WebhookRegistry(ctx.redis, ctx.settings)
        for url in ("ftp://example.org/x", "file:///etc/passwd", "javascript:alert(1)", "http://", "example.org"):
            with pytest.raises(ConfigError, match="http:// or https://"):
                registry.add(url)
        with pytest.raises(ConfigError, match="unknown webhook event"):
            registry.add("http://127.0.0.1:9/x", ["job.exploded"])
        with pytest.raises(ConfigError, match="whsec_"):
            registry.add("http://127.0.0.1:9/x", secret="plain-password")
        assert registry.list() == []
    finally:
        ctx.close()


def memo(*args: str, data_dir, redis_url, stdin: str | None = None) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    return subprocess.run([sys.executable, "-m", "memo_desktop", "--data-dir", str(data_dir), "--redis-url", redis_url,
                           *args], cwd=REPO, env=environ, capture_output=True, text=True, timeout=30, input=stdin)


def test_cli_add_list_test_remove(ops_settings, receiver, redis_url):
    server = receiver()
    data_dir = ops_settings.data_dir
    added = memo("webhooks", "add", server.url, "--events", "job.completed,job.failed", "--json", data_dir=data_dir,
                 redis_url=redis_url)
    assert added.returncode == 0, added.stderr
    hook = json.loads(added.stdout)
    assert hook["id"].startswith("wh_") and hook["secret"].startswith("whsec_")
    assert hook["events"] == ["job.completed", "job.failed"]
    assert hook["secret"] not in added.stderr
    stored = json.loads((data_dir / "secrets.json").read_text())
    assert stored[webhook_secret_name(hook["id"])] == hook["secret"]
    assert (data_dir / "secrets.json").stat().st_mode & 0o777 == 0o600
    assert hook["secret"] not in redis_scan_values(redis_url)  # never in Redis
    listed = json.loads(memo("webhooks", "list", "--json", data_dir=data_dir, redis_url=redis_url).stdout)
    assert [h["id"] for h in listed] == [hook["id"]] and "secret" not in listed[0]
    tested = memo("webhooks", "test", hook["id"], data_dir=data_dir, redis_url=redis_url)
    assert tested.returncode == 0 and "delivered: HTTP 200" in tested.stdout, tested.stderr
    delivery = server.deliveries[-1]
    assert Verifier(hook["secret"]).verify(delivery.body, delivery.headers)["type"] == "webhook.test"
    given = memo("webhooks", "add", server.url, "--secret", "-", data_dir=data_dir, redis_url=redis_url,
                 stdin="whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\n")
    assert given.returncode == 0 and "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw" in given.stdout
    assert memo("webhooks", "remove", hook["id"], data_dir=data_dir, redis_url=redis_url).returncode == 0
    assert webhook_secret_name(hook["id"]) not in json.loads((data_dir / "secrets.json").read_text())
    bad = memo("webhooks", "add", "ftp://x", data_dir=data_dir, redis_url=redis_url)
    assert bad.returncode == 1 and bad.stderr.startswith("memo-desktop: error: a webhook URL must be")
    gone = memo("webhooks", "test", "wh_nope", data_dir=data_dir, redis_url=redis_url)
    assert gone.returncode == 1 and "no webhook with id 'wh_nope'" in gone.stderr


def redis_scan_values(url: str) -> str:
    import redis

    client = redis.Redis.from_url(url)
    try:
        out = []
        for key in client.scan_iter():
            kind = client.type(key)
            if kind == b"hash":
                out += [v.decode(errors="replace") for v in client.hvals(key)]
            elif kind == b"string":
                out.append(client.get(key).decode(errors="replace"))
        return "\n".join(out)
    finally:
        client.close()


def test_job_events_are_delivered_signed_once_per_event_however_many_processes_listen(ops_settings, runtimes,
                                                                                     receiver):
    server = receiver()
    first = runtimes(ops_settings)
    runtimes(ops_settings.replace(data_dir=ops_settings.data_dir), workers=None)  # a second listener (`serve`)
    hook, secret = WebhookRegistry(first.ctx.redis, first.ctx.settings).add(server.url)
    time.sleep(2.1)  # dispatchers cache the webhook list for 2 s
    done = first.ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": "hi"}, title="Team <b>sync</b>")
    failed = first.ctx.jobs.enqueue_function(QUEUE, job("fail_permanently"), {}, title="Broken")
    wait_until(lambda: len(server.deliveries) >= 2, 20, "two deliveries")
    time.sleep(1.0)  # a duplicate would arrive now
    assert len(server.deliveries) == 2
    by_type = {d.json()["type"]: d for d in server.deliveries}
    completed = Verifier(secret).verify(by_type["job.completed"].body, by_type["job.completed"].headers)
    assert completed["data"] == {"jobId": done, "queue": QUEUE, "state": "completed", "memoId": None,
                                 "title": "Team <b>sync</b>", "result": {"echo": "hi"}}
    assert completed["timestamp"].endswith("Z")
    failure = Verifier(secret).verify(by_type["job.failed"].body, by_type["job.failed"].headers)["data"]
    assert failure["jobId"] == failed and "retrying cannot help" in failure["error"]
    headers = by_type["job.failed"].headers
    assert headers["webhook-id"].startswith("msg_") and abs(int(headers["webhook-timestamp"]) - time.time()) < 30
    assert secret not in redis_scan_values(ops_settings.redis_url)


def test_a_failing_endpoint_is_retried_within_seconds_with_the_same_webhook_id(ops_settings, runtimes, receiver):
    server = receiver(answers=[500, 503])
    web = runtimes(ops_settings)
    hook, secret = WebhookRegistry(web.ctx.redis, web.ctx.settings).add(server.url, ["job.completed"])
    time.sleep(2.1)
    web.ctx.jobs.enqueue_function(QUEUE, job("echo"), {})
    wait_until(lambda: len(server.deliveries) >= 3, 30, "three attempts")
    ids = {d.headers["webhook-id"] for d in server.deliveries}
    assert len(ids) == 1
    gaps = [b.at - a.at for a, b in zip(server.deliveries, server.deliveries[1:])]
    assert all(gap < 8 for gap in gaps), gaps  # backoff 1 s, 2 s (plus the scheduler's 1 s tick)
    for delivery in server.deliveries:  # each attempt signed anew, every one valid
        Verifier(secret).verify(delivery.body, delivery.headers)
    metrics = web.client().get("/metrics").text
    assert 'memo_desktop_webhook_deliveries_total{result="failed"} 2.0' in metrics
    assert 'memo_desktop_webhook_deliveries_total{result="delivered"} 1.0' in metrics


def test_a_dead_endpoint_ends_in_the_dead_letter_queue_and_a_requeue_replays_the_same_message(
        ops_settings, runtimes, receiver, monkeypatch):
    from memo_desktop.core.webhooks import delivery

    monkeypatch.setattr(delivery, "DELIVERY_OPTIONS", delivery.JobOptions(attempts=2, backoff=1.0, timeout=30))
    server = receiver(answers=[500, 500])
    web = runtimes(ops_settings)
    WebhookRegistry(web.ctx.redis, web.ctx.settings).add(server.url, ["job.completed"])
    time.sleep(2.1)
    web.ctx.jobs.enqueue_function(QUEUE, job("echo"), {})
    queue = delivery_queue(ops_settings.device)
    failed = wait_until(lambda: web.client().get("/api/queue/jobs", params={"queue": queue, "state": "failed"})
                        .json()["jobs"], 30, "the delivery to fail for good")  # listed before its first job too
    assert "answered 500" in failed[0]["failedReason"] and failed[0]["title"].startswith("job.completed to http")
    letters = web.client().get("/api/dead-letters", params={"queue": queue}).json()["deadLetters"]
    assert [(d["jobId"], d["reason"]) for d in letters] == [(failed[0]["jobId"], failed[0]["failedReason"])]
    assert web.client().post(f"/api/dead-letters/{failed[0]['jobId']}/requeue").json()["requeued"] is True
    wait_until(lambda: len(server.deliveries) == 3, 20, "the replay")
    assert len({d.headers["webhook-id"] for d in server.deliveries}) == 1


def test_a_slow_endpoint_never_delays_other_jobs(ops_settings, runtimes, receiver):
    server = receiver(delay=5.0)
    web = runtimes(ops_settings, workers=WorkerPlan(kinds=(QueueKind.PROCESS,), concurrency=1))
    WebhookRegistry(web.ctx.redis, web.ctx.settings).add(server.url, ["job.completed"])
    time.sleep(2.1)
    first = web.ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": 0})
    wait_until(lambda: server.deliveries, 15, "the first (slow) delivery to start")
    ids = [web.ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": i}) for i in range(1, 6)]
    wait_until(lambda: all(web.ctx.jobs.status(i).state.value == "completed" for i in [first, *ids]), 20,
               "the jobs")
    # every job ended while the endpoint still held the first delivery: no job waited for a delivery
    assert server.answered == [], "a job waited for the slow endpoint"
    # and deliveries have slots of their own: a second one starts before the first is answered
    wait_until(lambda: len(server.deliveries) >= 2, 15, "a second delivery")
    assert server.deliveries[1].at < server.deliveries[0].at + 5.0


def test_the_api_manages_webhooks_and_shows_the_secret_once(ops_settings, runtimes, receiver):
    server = receiver()
    web = runtimes(ops_settings, workers=None)
    client = web.client()
    added = client.post("/api/webhooks", json={"url": server.url, "events": ["job.failed"]}).json()
    assert added["success"] and added["secret"].startswith("whsec_") and added["home"] == ops_settings.device
    listed = client.get("/api/webhooks").json()["webhooks"]
    assert [h["id"] for h in listed] == [added["id"]] and "secret" not in listed[0]
    tested = client.post(f"/api/webhooks/{added['id']}/test").json()
    assert tested["status"] == 200
    assert Verifier(added["secret"]).verify(server.deliveries[0].body, server.deliveries[0].headers)
    assert client.post("/api/webhooks", json={"url": "gopher://x"}).status_code == 400
    assert client.delete(f"/api/webhooks/{added['id']}").json()["success"]
    assert client.delete(f"/api/webhooks/{added['id']}").status_code == 404
    unreachable = client.post("/api/webhooks", json={"url": "http://127.0.0.1:9/nothing"}).json()
    failed = client.post(f"/api/webhooks/{unreachable['id']}/test")
    assert failed.status_code == 502 and "could not be reached" in failed.json()["error"]
