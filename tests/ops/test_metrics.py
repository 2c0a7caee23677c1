"""/metrics: rq-exporter names and our own, cluster-wide (jobs run by another process's workers), a duration
histogram every worker feeds, flat reads; a real Prometheus (Debian's) scraping it with the bearer token and
answering queries; the shipped alerting rules and Grafana dashboard checked by the real tools."""

from __future__ import annotations

import json
import shutil
import socket
import subprocess

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.runtime import WorkerPlan, start_worker_pool
from tests.core.conftest import REPO, job
from tests.fixtures.waiting import wait_until
from tests.fixtures.web import TOKEN, owned

QUEUE = "file-process"
RULES = REPO / "packaging" / "prometheus" / "alerts.yml"
DASHBOARD = REPO / "packaging" / "grafana" / "memo-desktop-dashboard.json"


def samples(text: str) -> dict[tuple[str, tuple], float]:
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return found


def value(found, name: str, **labels: str) -> float:
    return found[(name, tuple(sorted(labels.items())))]


def test_metrics_cover_the_cluster_with_rq_exporter_names(ops_settings, runtimes, make_pool_context):
    web = runtimes(ops_settings, workers=None)  # the server runs no worker: every job runs elsewhere
    other = make_pool_context()
    ids = [other.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 0.2, "steps": 1}) for _ in range(3)]
    other.jobs.enqueue_function(QUEUE, job("fail_permanently"), {})
    start_worker_pool(other, WorkerPlan(kinds=(QueueKind.PROCESS,), concurrency=1, burst=True, name="far")).join()
    other.jobs.enqueue_function(QUEUE, job("echo"), {})  # one left waiting
    wait_until(lambda: all(other.jobs.status(i).state.value == "completed" for i in ids), 10, "the jobs")
    found = samples(web.client().get("/metrics").text)
    assert value(found, "rq_jobs", queue=QUEUE, status="finished") == 3
    assert value(found, "rq_jobs", queue=QUEUE, status="failed") == 1
    assert value(found, "rq_jobs", queue=QUEUE, status="queued") == 1
    assert value(found, "memo_desktop_redis_up") == 1
    operation = dict(queue=QUEUE, operation="file-process")
    assert value(found, "memo_desktop_job_duration_seconds_count", **operation) == 4
    assert value(found, "memo_desktop_job_duration_seconds_bucket", le="0.1", **operation) == 1  # the failure
    assert value(found, "memo_desktop_job_duration_seconds_bucket", le="0.5", **operation) == 4
    assert 0.6 <= value(found, "memo_desktop_job_duration_seconds_sum", **operation) < 2.0
    assert value(found, "memo_desktop_dead_letter_jobs", queue=QUEUE) == 1  # the permanent failure
    assert value(found, "memo_desktop_alert_active", alert="failure_rate") == 0
    assert value(found, "memo_desktop_queue_workers", queue=QUEUE) == 0  # the burst pool has ended
    for result in ("delivered", "failed"):
        assert value(found, "memo_desktop_webhook_deliveries_total", result=result) == 0
    assert any(name == "rq_workers" for name, _ in found)  # the server's own webhook workers are workers too


@pytest.fixture
def make_pool_context(ops_settings, tmp_path):
    """Contexts of another machine's workers (their own data dir, the same Redis); closed after the test."""
    from memo_desktop.core.context import AppContext

    yield from owned(lambda: AppContext(ops_settings.replace(data_dir=tmp_path / "elsewhere")), AppContext.close)


def test_promtool_accepts_the_alerting_rules():
    result = subprocess.run(["promtool", "check", "rules", str(RULES)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS: 5 rules found" in result.stdout


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture
def prometheus(tmp_path):
    """Start Debian's Prometheus on 127.0.0.1 with a given scrape target; stopped after the test."""
    procs: list[subprocess.Popen] = []

    def start(target: str) -> str:
        port = free_port()
        config = tmp_path / "prometheus.yml"
        config.write_text(f"""
global: {{scrape_interval: 1s, evaluation_interval: 1s}}
rule_files: ["{RULES}"]
scrape_configs:
  - job_name: memo-desktop
    metrics_path: /metrics
    authorization: {{type: Bearer, credentials: "{TOKEN}"}}
    static_configs: [{{targets: ["{target}"]}}]
""")
        log = open(tmp_path / "prometheus.log", "wb")
        procs.append(subprocess.Popen(
            [shutil.which("prometheus") or "prometheus", f"--config.file={config}",
             f"--storage.tsdb.path={tmp_path / 'tsdb'}", f"--web.listen-address=127.0.0.1:{port}"],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL))
        log.close()
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def query(base: str, expr: str) -> dict:
    answer = httpx.get(f"{base}/api/v1/query", params={"query": expr}, timeout=5).json()
    assert answer["status"] == "success", (expr, answer)
    return answer["data"]


def test_a_real_prometheus_scrapes_with_the_token_and_answers_queries(ops_settings, runtimes, prometheus):
    web = runtimes(ops_settings)
    ids = [web.ctx.jobs.enqueue_function(QUEUE, job("echo"), {}) for _ in range(2)]
    wait_until(lambda: all(web.ctx.jobs.status(i).state.value == "completed" for i in ids), 10, "the jobs")
    base = prometheus(f"127.0.0.1:{web.server.port}")

    def scraped():
        try:
            result = query(base, f'rq_jobs{{queue="{QUEUE}",status="finished"}}')["result"]
        except httpx.HTTPError:
            return None
        return result

    result = wait_until(scraped, 30, "Prometheus to scrape /metrics")
    assert float(result[0]["value"][1]) == 2
    targets = httpx.get(f"{base}/api/v1/targets", timeout=5).json()["data"]["activeTargets"]
    assert targets[0]["health"] == "up", targets
    rules = httpx.get(f"{base}/api/v1/rules", timeout=5).json()["data"]["groups"]
    assert {r["name"] for g in rules for r in g["rules"]} >= {"MemoDesktopHighFailureRate",
                                                              "MemoDesktopNoWorkerForWaitingJobs"}
    # every query of the shipped Grafana dashboard is valid PromQL for this Prometheus
    dashboard = json.loads(DASHBOARD.read_text())
    for panel in dashboard["panels"]:
        for target in panel["targets"]:
            query(base, target["expr"].replace("$queue", ".*"))
    histogram = query(base, "histogram_quantile(0.5, sum by (le) (memo_desktop_job_duration_seconds_bucket))")
    assert histogram["result"], "the duration histogram reached Prometheus"


def test_a_scrape_without_the_token_is_refused(ops_settings, runtimes):
    web = runtimes(ops_settings, workers=None)
    answer = web.client(token=None).get("/metrics")
    assert answer.status_code == 401 and answer.headers["content-type"] == "application/json"
