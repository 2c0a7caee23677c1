"""Results computed by a headless worker elsewhere reach this library by themselves: as their jobs complete, and at
start for jobs that completed while the app was not running."""

from __future__ import annotations

import pytest

from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.jobs.events import EventHub
from memo_desktop.core.pipeline import queue_process
from memo_desktop.core.processing.collector import ResultCollector
from tests.fixtures.waiting import wait_until
from tests.processing.conftest import run_cli


def run_foreign_worker(app, tmp_path) -> None:
    worker = run_cli(app.ctx.settings, "worker", "--queues", "file-process", "--burst", data_dir=tmp_path / "other")
    assert worker.returncode == 0, worker.stderr


def test_results_are_taken_in_as_jobs_complete(app, tone_file, tmp_path):
    app.start_workers(QueueKind.UPLOAD)
    memo = app.add_uploaded(tone_file)
    hub = EventHub(app.ctx.redis).start()
    collector = ResultCollector(app.ctx, hub).start()
    try:
        assert hub.wait_ready()
        queue_process(app.ctx, memo.id, "analyze")
        run_foreign_worker(app, tmp_path)
        analysis = wait_until(lambda: app.ctx.library.get(memo.id).analysis, 15, "the analysis to arrive")
    finally:
        collector.stop()
        hub.stop()
    assert analysis["duration"] == pytest.approx(2.0, abs=1e-3)


def test_results_completed_while_away_are_caught_up(app, tone_file, tmp_path):
    app.start_workers(QueueKind.UPLOAD)
    memo = app.add_uploaded(tone_file)
    queue_process(app.ctx, memo.id, "compress", {"format": "flac"})
    run_foreign_worker(app, tmp_path)
    assert app.ctx.library.get(memo.id).variants == ()

    ResultCollector(app.ctx, EventHub(app.ctx.redis)).catch_up()

    variant = app.ctx.library.get(memo.id).variant("flac")
    assert variant is not None and variant.path.is_file()
