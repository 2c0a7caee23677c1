"""Dead letters, schedules and priorities over HTTP, in the CLI's shapes; bad input refused with a message naming
it, nothing half-created; Redis going away is a 503 with a message, never a 500."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from memo_desktop.core.queueing import dead_letters
from memo_desktop.core.queueing.schedules import ScheduleStore
from tests.core.conftest import REPO, job
from tests.fixtures.redis_servers import test_redis  # noqa: F401  (fixture)
from tests.fixtures.waiting import wait_until
from tests.fixtures.web import WebRuntime, run_burst

QUEUE = "file-process"


@pytest.fixture
def web(server_only):
    return server_only


def dead(web, count: int, title: str = "broken") -> list[str]:
    ids = [web.ctx.jobs.enqueue_function(QUEUE, job("fail_permanently"), {"n": i}, title=f"{title} {i}")
           for i in range(count)]
    run_burst(web)
    wait_until(lambda: all(dead_letters.contains(web.ctx.redis, i) for i in ids), 20, "the dead letters")
    return ids


def cli(web, *args: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("MEMO_")}
    settings = web.ctx.settings
    return subprocess.run([sys.executable, "-m", "memo_desktop", "--data-dir", str(settings.data_dir),
                           "--redis-url", settings.redis_url, *args], cwd=REPO, env=environ, capture_output=True,
                          text=True, timeout=60)


def test_dead_letters_list_in_the_cli_shape_and_page(web):
    ids = dead(web, 3)
    client = web.client()
    listed = client.get("/api/dead-letters", params={"queue": QUEUE}).json()
    from_cli = json.loads(cli(web, "dlq", "list", "--queue", QUEUE, "--json").stdout)
    assert listed["deadLetters"] == from_cli["deadLetters"] and listed["total"] == from_cli["total"] == 3
    newest = listed["deadLetters"][0]
    assert (newest["jobId"], newest["title"], newest["queue"]) == (ids[-1], "broken 2", QUEUE)
    assert newest["reason"].startswith("PermanentJobError")
    second = client.get("/api/dead-letters", params={"pageSize": 2, "page": 2}).json()
    assert (second["total"], second["offset"], [d["jobId"] for d in second["deadLetters"]]) == (3, 2, [ids[0]])
    assert client.get("/api/dead-letters", params={"queue": "fileProcess"}).json()["total"] == 3  # the CLI's names
    assert client.get("/api/dead-letters", params={"queue": "file-delete"}).json()["total"] == 0
    counts = client.get("/api/queue/snapshot").json()["deadLetters"]
    assert counts[QUEUE] == 3 and sum(counts.values()) == 3


def test_requeue_and_purge_one_and_all(web):
    first, second, third, fourth = dead(web, 4)
    client = web.client()
    assert client.post(f"/api/dead-letters/{first}/requeue").json() == {"success": True, "jobId": first,
                                                                         "requeued": True}
    status = web.ctx.jobs.status(first)
    assert (status.state.value, status.attempts_made) == ("waiting", 0)  # fresh attempts
    assert not dead_letters.contains(web.ctx.redis, first)
    assert client.delete(f"/api/dead-letters/{second}").json() == {"success": True, "jobId": second}
    gone = client.delete(f"/api/dead-letters/{second}")
    assert gone.status_code == 404 and second in gone.json()["error"]
    assert client.post("/api/dead-letters/no-such-id/requeue").status_code == 404
    assert client.post("/api/dead-letters/purge", params={"olderThan": 1}).json() == {"success": True, "purged": 0}
    assert client.post("/api/dead-letters/purge", params={"olderThan": -1}).status_code == 422
    assert client.post("/api/dead-letters/requeue", params={"queue": QUEUE}).json() == {"success": True,
                                                                                          "requeued": 2}
    assert {web.ctx.jobs.status(i).state.value for i in (third, fourth)} == {"waiting"}
    run_burst(web)  # they die again
    wait_until(lambda: dead_letters.total(web.ctx.redis) == 3, 20, "three dead letters again")
    assert client.post("/api/dead-letters/purge").json() == {"success": True, "purged": 3}
    assert dead_letters.total(web.ctx.redis) == 0


def test_schedules_add_list_run_remove_in_the_cli_shape(web):
    client = web.client()
    added = client.post("/api/schedules", json={"name": "nightly", "cron": "0 3 * * *",
                                                 "action": "analyze-unanalyzed"})
    assert added.status_code == 200, added.text
    body = added.json()
    assert (body["success"], body["name"], body["cron"], body["action"]) == (True, "nightly", "0 3 * * *",
                                                                             "analyze-unanalyzed")
    listed = client.get("/api/schedules").json()
    assert listed["device"] == web.ctx.settings.device
    assert "purge-local-audio-older-than" in {a["name"] for a in listed["actions"]}
    from_cli = json.loads(cli(web, "schedule", "list", "--json").stdout)
    assert [{k: v for k, v in s.items() if k != "nextRun"} for s in listed["schedules"]] == \
        [{k: v for k, v in s.items() if k != "nextRun"} for s in from_cli]
    assert listed["schedules"][0]["lastRun"] is None
    run = client.post("/api/schedules/nightly/run").json()["run"]
    assert (run["schedule"], run["trigger"], run["errors"]) == ("nightly", "manual", [])
    assert client.get("/api/schedules").json()["schedules"][0]["lastRun"]["startedAt"] == run["startedAt"]
    assert client.delete("/api/schedules/nightly").json() == {"success": True, "name": "nightly"}
    assert client.get("/api/schedules").json()["schedules"] == []
    assert client.post("/api/schedules/nightly/run").status_code == 404
    assert client.delete("/api/schedules/nightly").status_code == 404


@pytest.mark.parametrize("body, named", [
    ({"name": "x", "cron": "61 * * * *", "action": "requeue-local"}, "61 * * * *"),
    ({"name": "x", "cron": "0 3 * * *", "action": "format-disk"}, "format-disk"),
    ({"name": "x", "cron": "0 3 * * *", "action": "compress-older-than:soon"}, "soon"),
    ({"name": "bad name!", "cron": "0 3 * * *", "action": "requeue-local"}, "bad name!"),
])
def test_a_bad_schedule_is_refused_naming_what_is_wrong_and_nothing_is_stored(web, body, named):
    answer = web.client().post("/api/schedules", json=body)
    assert answer.status_code == 400 and named in answer.json()["error"], answer.text
    assert ScheduleStore(web.ctx.redis, web.ctx.settings.device).statuses() == []


def test_a_duplicate_schedule_is_refused(web):
    client = web.client()
    body = {"name": "twice", "cron": "*/5 * * * *", "action": "requeue-local"}
    assert client.post("/api/schedules", json=body).status_code == 200
    again = client.post("/api/schedules", json=body | {"cron": "0 1 * * *"})
    assert again.status_code == 400 and "twice" in again.json()["error"]
    assert client.get("/api/schedules").json()["schedules"][0]["cron"] == "*/5 * * * *"


def test_a_waiting_jobs_priority_changes_and_others_are_refused(web):
    waiting = web.ctx.jobs.enqueue_function(QUEUE, job("echo"), {}, title="later", priority="low")
    client = web.client()
    listed = client.get("/api/queue/jobs", params={"state": "waiting"}).json()["jobs"]
    assert [(j["jobId"], j["priority"], j["userId"]) for j in listed] == [(waiting, "low", web.ctx.settings.user)]
    changed = client.post(f"/api/queue/job/{waiting}/priority", json={"priority": "high"}).json()
    assert (changed["success"], changed["priority"], changed["state"]) == (True, "high", "waiting")
    assert web.ctx.jobs.status(waiting).priority.value == "high"
    bad = client.post(f"/api/queue/job/{waiting}/priority", json={"priority": "urgent"})
    assert bad.status_code == 400 and "urgent" in bad.json()["error"]
    run_burst(web)
    done = client.post(f"/api/queue/job/{waiting}/priority", json={"priority": "low"})
    assert done.status_code == 409 and "completed" in done.json()["error"]
    assert client.post("/api/queue/job/nope/priority", json={"priority": "low"}).status_code == 404


def test_redis_gone_is_a_503_with_a_message(web_settings, test_redis):
    """A Redis the runtime loses: every queue-semantics route answers 503 with the reason, never a traceback."""
    server = test_redis().start()
    made = WebRuntime(web_settings.replace(redis_url=server.url()), workers=None, operations=False)
    try:
        client = made.client()
        assert client.get("/api/schedules").status_code == 200
        server.stop()
        for method, path in (("GET", "/api/dead-letters"), ("GET", "/api/schedules"),
                             ("POST", "/api/dead-letters/purge"), ("GET", "/api/webhooks")):
            answer = client.request(method, path)
            assert answer.status_code == 503, (path, answer.text)
            assert answer.json()["success"] is False and "Redis" in answer.json()["error"]
    finally:
        made.stop()
