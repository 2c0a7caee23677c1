#!/usr/bin/env python3
"""Take docs/web-dashboard.png: the real /queue page in headless Debian chromium (Playwright), over a temp data dir
with memos, running and failed jobs (a dead letter), workers, a schedule and a webhook.

    .venv/bin/python scripts/web_screenshot.py [--out docs/web-dashboard.png] [--width 1200]

Everything it starts (embedded Redis and object store, the server, the workers) is stopped before it exits.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
os.environ.setdefault("MEMO_HTTP_TOKEN", "screenshot-token-0123456789")

from memo_desktop.core.config import load_settings  # noqa: E402
from memo_desktop.core.jobs.contract import QueueKind  # noqa: E402
from memo_desktop.core.operations import operations_parts  # noqa: E402
from memo_desktop.core.queueing.schedules import ScheduleStore  # noqa: E402
from memo_desktop.core.runtime import Runtime, RuntimePlan, WorkerPlan  # noqa: E402
from memo_desktop.core.webhooks import WebhookRegistry  # noqa: E402
from memo_desktop.web.server import http_server_of, web_parts  # noqa: E402

JOBS = "tests.fixtures.jobs"
TITLES = ("Team standup", "Interview with Dana", "Idea: offline sync", "Budget review notes",
          "Voice note from the train", "Grocery list")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "docs" / "web-dashboard.png"))
    parser.add_argument("--width", type=int, default=1200)
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory(prefix="web-shot-") as tmp:
        settings = load_settings({"data_dir": tmp, "job_modules": JOBS, "rate_limit": 0, "attempts": 1},
                                 environ={})
        parts, live = web_parts("127.0.0.1", 0)
        runtime = Runtime(settings, RuntimePlan(
            workers=WorkerPlan(kinds=(QueueKind.PROCESS,), concurrency=2, name="studio"), parts=parts,
            redis_parts=(*live, *operations_parts()), needs_store=True, opens_library=True))
        runtime.start()
        try:
            jobs = runtime.context.jobs
            # alert events only: nothing in this script fires one, so nothing is sent off this machine
            WebhookRegistry(runtime.context.redis, settings).add("https://hooks.example.org/memo",
                                                                 ["alert.failure_rate", "alert.resolved"])
            ScheduleStore(runtime.context.redis, settings.device).add("nightly-analysis", "0 3 * * *",
                                                                      "analyze-unanalyzed")
            for title in TITLES[:3]:
                jobs.enqueue_function("file-process", f"{JOBS}.echo", {"operation": "analyze"}, title=title)
            jobs.enqueue_function("file-process", f"{JOBS}.fail", {"message": "CorruptAudio: not a WAV file"},
                                  title="Recovered take 3")
            time.sleep(1.5)
            for title in TITLES[3:5]:
                jobs.enqueue_function("file-process", f"{JOBS}.sleep", {"seconds": 30, "steps": 60}, title=title)
            jobs.pause("file-delete")
            jobs.enqueue_function("file-delete", f"{JOBS}.echo", {}, title=TITLES[5])
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox"])
                page = browser.new_page(viewport={"width": args.width, "height": 900})
                page.goto(http_server_of(runtime).url(with_token=True))
                page.wait_for_selector("#live-status.ok")
                time.sleep(4)  # progress bars move
                page.screenshot(path=args.out, full_page=True)
                browser.close()
            print(f"wrote {args.out}")
        finally:
            runtime.stop(worker_timeout=1)


if __name__ == "__main__":
    main()
