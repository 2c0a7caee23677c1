"""The failure-rate alert: fired once when it starts and once when it resolves, across two processes' evaluators;
webhook events, the metric, `health --json` alerts and the listener (the GUI's notification) all agree."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from memo_desktop.core.alerts import evaluate
from tests.core.conftest import REPO, job
from tests.fixtures.waiting import wait_until

QUEUE = "file-process"


def run_and_wait(web, name: str, count: int) -> None:
    ids = [web.ctx.jobs.enqueue_function(QUEUE, job(name), {}) for _ in range(count)]
    wait_until(lambda: all(web.ctx.jobs.status(i).state.value in ("completed", "failed") for i in ids), 30,
               f"{count} {name} jobs")


def test_the_alert_fires_once_and_resolves_once_cluster_wide(ops_settings, runtimes, receiver, redis_url):
    from memo_desktop.core.webhooks import WebhookRegistry

    settings = ops_settings.replace(attempts=1, alert_failure_rate=0.5, alert_min_failures=3, alert_window=600.0)
    heard: list[tuple[str, str]] = []
    server = receiver()
    first = runtimes(settings, on_alert=lambda kind, alert: heard.append(("first", kind)))
    runtimes(settings, workers=None, on_alert=lambda kind, alert: heard.append(("second", kind)))
    WebhookRegistry(first.ctx.redis, first.ctx.settings).add(server.url, ["alert.failure_rate", "alert.resolved"])
    time.sleep(2.1)  # dispatchers cache the webhook list for 2 s

    run_and_wait(first, "echo", 2)
    run_and_wait(first, "fail_permanently", 2)  # 2 failures: fewer than the minimum
    time.sleep(2.5)
    assert server.deliveries == [] and heard == []
    run_and_wait(first, "fail_permanently", 2)  # 4 of 6 failed: 67 %
    wait_until(lambda: server.of_type("alert.failure_rate"), 15, "the alert's webhook")
    wait_until(lambda: sorted(heard) == [("first", "fired"), ("second", "fired")], 10, "both processes to notice")
    data = server.of_type("alert.failure_rate")[0].json()["data"]
    # fired by the failure that crossed the line (the 3rd of 5 ended, or the 4th of 6: workers run two at a time)
    assert data["alert"] == "failure_rate" and data["failures"] >= 3 and data["failureRate"] >= 0.5
    metrics = first.client().get("/metrics").text
    assert 'memo_desktop_alert_active{alert="failure_rate"} 1.0' in metrics
    health = cli_health(settings, redis_url)
    assert [a["alert"] for a in health["alerts"]] == ["failure_rate"]
    assert health["alerts"][0]["failures"] == data["failures"]
    assert first.client().get("/api/queue/health").json()["alerts"] == health["alerts"]

    run_and_wait(first, "fail_permanently", 2)  # still failing: no second alert
    time.sleep(2.5)
    assert len(server.of_type("alert.failure_rate")) == 1

    run_and_wait(first, "echo", 10)  # 6 of 18 failed: 33 % < 50 %
    wait_until(lambda: server.of_type("alert.resolved"), 15, "the resolution's webhook")
    wait_until(lambda: len(heard) == 4, 10, "both processes to notice the resolution")
    time.sleep(2.5)
    assert len(server.of_type("alert.failure_rate")) == 1 and len(server.of_type("alert.resolved")) == 1
    assert sorted(heard) == [("first", "fired"), ("first", "resolved"), ("second", "fired"), ("second", "resolved")]
    assert 'memo_desktop_alert_active{alert="failure_rate"} 0.0' in first.client().get("/metrics").text
    assert cli_health(settings, redis_url)["alerts"] == []


def cli_health(settings, redis_url) -> dict:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    result = subprocess.run([sys.executable, "-m", "memo_desktop", "--data-dir", str(settings.data_dir),
                             "--redis-url", redis_url, "health", "--json"], cwd=REPO, env=environ,
                            capture_output=True, text=True, timeout=30)
    return json.loads(result.stdout)


def test_only_one_of_two_racing_evaluations_makes_the_transition(ops_settings, runtimes):
    from concurrent.futures import ThreadPoolExecutor

    settings = ops_settings.replace(attempts=1, alert_min_failures=2, alert_failure_rate=0.5)
    web = runtimes(settings, operations=False)
    run_and_wait(web, "fail_permanently", 3)
    with ThreadPoolExecutor(8, thread_name_prefix="evaluate") as pool:
        results = list(pool.map(lambda _: evaluate(web.ctx.redis, settings).transition, range(16)))
    assert results.count("fired") == 1 and set(results) == {"fired", ""}
