"""The web dashboard and operations: freshness in a real browser, the cost of /metrics and /queue at 100 and
100,000 jobs, upload drain rate beside a 5 s-slow webhook endpoint, and webhook delivery latency.

    .venv/bin/python bench/bench_web.py [--events 100] [--history 100000] [--uploads 24]

One process runs what `memo-desktop worker --http` runs (workers, the HTTP server, live feed, webhook dispatcher
and delivery pool) over an embedded redis-server and object store; Debian chromium (Playwright) shows the page.
Targets: event -> DOM p95 < 250 ms; /metrics < 50 ms and /queue < 300 ms, flat from 100 to 100,000 jobs; uploads
with a 5 s-slow webhook endpoint >= 0.95x the rate without one; webhook delivered < 1 s (p95) after its job ended.

- event -> DOM: a job reports progress every 0.1 s; each event's publish time (Redis publisher's clock) to the
  moment the page's script applied it to the row (same machine clock), over the SSE stream;
- /metrics, /queue: median of 20 GETs with the bearer token; baseline a static file over the same server;
- drain rate: N 1 MB uploads POSTed to /api/files/upload-async, until every upload job completed; with a webhook on
  `job.completed` whose endpoint answers after 5 s, vs no webhook (same run, same data);
- delivery latency: job ended (its `ended_at`) -> the receiver got the signed POST.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
TOKEN = "bench-token-0123456789abcdef"
os.environ["MEMO_HTTP_TOKEN"] = TOKEN

import httpx  # noqa: E402
import numpy as np  # noqa: E402
import soundfile  # noqa: E402

from memo_desktop.core.config import load_settings  # noqa: E402
from memo_desktop.core.jobs.contract import QueueKind  # noqa: E402
from memo_desktop.core.operations import operations_parts  # noqa: E402
from memo_desktop.core.runtime import Runtime, RuntimePlan, WorkerPlan  # noqa: E402
from memo_desktop.core.threads import join_thread, start_thread  # noqa: E402
from memo_desktop.core.webhooks import WebhookRegistry  # noqa: E402
from memo_desktop.web.server import http_server_of, web_parts  # noqa: E402
from history import fill_history  # noqa: E402
from timing import percentile  # noqa: E402

QUEUE = "file-process"
SLEEP = "tests.fixtures.jobs.sleep"
ECHO = "tests.fixtures.jobs.echo"

# records (apply time - publish time) for every job event the page's script applies to a row
LATENCY_PROBE = """() => {
  window.__latencies = [];
  new MutationObserver((changes) => {
    for (const change of changes) {
      const row = change.target;
      if (change.attributeName === "data-updated-at" && row.dataset.eventAt)
        window.__latencies.push(Number(row.dataset.updatedAt) - Number(row.dataset.eventAt) * 1000);
    }
  }).observe(document.querySelector("#jobs tbody"), {attributes: true, subtree: true,
                                                     attributeFilter: ["data-updated-at"]});
}"""


class Receiver:
    """A webhook endpoint on 127.0.0.1 that notes when each delivery arrived, optionally answering slowly."""

    def __init__(self, delay: float = 0.0) -> None:
        self.arrivals: list[tuple[float, bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("content-length", 0)))
                receiver.arrivals.append((time.time(), body))
                time.sleep(delay)
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._thread = start_thread(self._server.serve_forever, "bench-receiver", 0.05)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hook"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        join_thread(self._thread, 5)


def timed_get(client: httpx.Client, path: str, runs: int = 20) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        response = client.get(path)
        times.append(time.perf_counter() - start)
        assert response.status_code == 200, (path, response.status_code)
    return statistics.median(times)


def event_to_dom(runtime: Runtime, url: str, events: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    jobs = runtime.context.jobs
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
        try:
            page = browser.new_page()
            page.goto(url)
            page.wait_for_selector("#live-status.ok")
            seconds = events / 10  # the job reports progress at most every 0.1 s
            job_id = jobs.enqueue_function(QUEUE, SLEEP, {"seconds": seconds, "steps": events}, title="bench")
            page.wait_for_selector(f'#jobs tr[data-job="{job_id}"]', timeout=10_000)
            page.evaluate(LATENCY_PROBE)
            page.wait_for_selector(f'#jobs tr[data-job="{job_id}"] td.state:text("completed")',
                                   timeout=int(seconds * 1000) + 20_000)
            return [ms / 1000 for ms in page.evaluate("window.__latencies")]
        finally:
            browser.close()


def page_and_metrics_cost(runtime: Runtime, client: httpx.Client, total: int) -> dict[str, float]:
    ctx = runtime.context
    fill_history(ctx.redis, ctx.jobs, QUEUE, ECHO, total)
    return {"/metrics": timed_get(client, "/metrics"), "/queue": timed_get(client, "/queue"),
            "static file": timed_get(client, "/static/queue.css")}


def write_memo(path: Path, megabytes: float, seed: int) -> Path:
    frames = int(megabytes * 1024 * 1024 / 2)
    rng = np.random.default_rng(seed)
    soundfile.write(str(path), rng.integers(-20000, 20000, frames, dtype=np.int16), 48000, subtype="PCM_16")
    return path


def drain_rate(runtime: Runtime, client: httpx.Client, files: list[Path], label: str) -> float:
    jobs = runtime.context.jobs
    started = time.perf_counter()
    job_ids = []
    for path in files:
        with path.open("rb") as fh:
            answer = client.post("/api/files/upload-async", files={"file": (path.name, fh)},
                                 data={"title": f"{label} {path.stem}"})
        answer.raise_for_status()
        job_ids.append(answer.json()["jobId"])
    deadline = time.monotonic() + 300
    while not all(jobs.status(j).state.value == "completed" for j in job_ids):
        if time.monotonic() > deadline:
            raise TimeoutError("uploads did not drain")
        time.sleep(0.02)
    return len(files) / (time.perf_counter() - started)


def delivery_latency(runtime: Runtime, receiver: Receiver, count: int) -> list[float]:
    import json

    jobs = runtime.context.jobs
    before = len(receiver.arrivals)
    ids = []
    for _ in range(count):
        ids.append(jobs.enqueue_function(QUEUE, ECHO, {"value": 1}))
        time.sleep(0.05)
    deadline = time.monotonic() + 60
    while len(receiver.arrivals) - before < count and time.monotonic() < deadline:
        time.sleep(0.02)
    arrived = {}
    for at, body in receiver.arrivals[before:]:
        data = json.loads(body)["data"]
        arrived[data["jobId"]] = at
    latencies = []
    for job_id in ids:
        ended = jobs.status(job_id).ended_at
        if job_id in arrived and ended is not None:
            latencies.append(arrived[job_id] - ended)
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100)
    parser.add_argument("--history", type=int, default=100_000)
    parser.add_argument("--uploads", type=int, default=24)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="bench-web-") as tmp:
        settings = load_settings({"data_dir": tmp, "job_modules": "tests.fixtures.jobs", "rate_limit": 0,
                                  "auto_analyze": False, "keep_completed": 1000}, environ={})
        parts, live = web_parts("127.0.0.1", 0)
        plan = RuntimePlan(workers=WorkerPlan(kinds=(QueueKind.UPLOAD, QueueKind.PROCESS), concurrency=5),
                           parts=parts, redis_parts=(*live, *operations_parts()), needs_store=True,
                           opens_library=True)
        runtime = Runtime(settings, plan)
        runtime.start()
        receivers: list[Receiver] = []
        server = http_server_of(runtime)
        client = httpx.Client(base_url=f"http://127.0.0.1:{server.port}", timeout=60,
                              headers={"authorization": f"Bearer {TOKEN}"})
        try:
            ctx = runtime.context
            pings = []
            for _ in range(200):
                start = time.perf_counter()
                ctx.redis.ping()
                pings.append(time.perf_counter() - start)
            print(f"baseline: Redis PING p50 {statistics.median(pings) * 1e3:.3f} ms; "
                  f"static file over HTTP p50 {timed_get(client, '/static/queue.css') * 1e3:.2f} ms")

            latencies = event_to_dom(runtime, server.url(with_token=True), args.events)
            print(f"\njob event -> browser DOM, {len(latencies)} events (target p95 < 250 ms): "
                  f"p50 {percentile(latencies, 50) * 1e3:.1f} ms, p95 {percentile(latencies, 95) * 1e3:.1f} ms, "
                  f"max {max(latencies) * 1e3:.1f} ms")

            print("\n/metrics and the first page of /queue (median of 20; targets < 50 ms and < 300 ms, flat):")
            costs = {}
            for total in (100, args.history):
                started = time.perf_counter()
                costs[total] = page_and_metrics_cost(runtime, client, total)
                print(f"  {total:>7} jobs: " + "   ".join(f"{k} {v * 1e3:6.1f} ms" for k, v in costs[total].items())
                      + f"   (set up in {time.perf_counter() - started:.1f} s)")
            for name in ("/metrics", "/queue"):
                print(f"  {name}: {args.history} / 100 jobs = {costs[args.history][name] / costs[100][name]:.2f}x")
            search = timed_get(client, f"/api/queue/jobs?q=zzz-no-match&queue={QUEUE}&state=completed", runs=5)
            print(f"  a search with no match over {args.history} completed jobs (bounded scan of the newest 5,000): "
                  f"{search * 1e3:.0f} ms")
            ctx.jobs.clear_completed(QUEUE)  # the uploads below run without that history

            registry = WebhookRegistry(ctx.redis, ctx.settings)
            fast = Receiver()
            receivers.append(fast)
            hook, _ = registry.add(fast.url, ["job.completed"])
            time.sleep(2.1)  # dispatchers re-read webhooks every 2 s
            lat = delivery_latency(runtime, fast, 50)
            print(f"\nwebhook delivery after its job ended, {len(lat)} deliveries (target p95 < 1 s): "
                  f"p50 {percentile(lat, 50) * 1e3:.0f} ms, p95 {percentile(lat, 95) * 1e3:.0f} ms")
            registry.remove(hook.id)

            files = [write_memo(Path(tmp) / f"memo-{i:03d}.wav", 1.0, i) for i in range(args.uploads)]
            slow = Receiver(delay=5.0)
            receivers.append(slow)
            rates: dict[str, list[float]] = {"none": [], "slow": []}
            for round_number in range(args.rounds):  # alternated, so drift on a shared machine hits both alike
                for label in ("none", "slow"):
                    hook_id = registry.add(slow.url, ["job.completed"])[0].id if label == "slow" else None
                    time.sleep(2.1)
                    rates[label].append(drain_rate(runtime, client, files, f"{label}{round_number}"))
                    if hook_id:
                        registry.remove(hook_id)
            plain, with_slow = max(rates["none"]), max(rates["slow"])
            print(f"\nupload drain rate, {args.uploads} x 1 MB through /api/files/upload-async, best of "
                  f"{args.rounds} alternated rounds (target >= 0.95x): no webhook {plain:.1f}/s "
                  f"({', '.join(f'{r:.1f}' for r in rates['none'])}); 5 s-slow webhook endpoint {with_slow:.1f}/s "
                  f"({', '.join(f'{r:.1f}' for r in rates['slow'])}) = {with_slow / plain:.2f}x")
        finally:
            client.close()
            runtime.stop()
            for receiver in receivers:
                receiver.close()


if __name__ == "__main__":
    main()
