"""core.monitor.eta: the time left of a running job, from its progress over time (no Qt, no services)."""

from __future__ import annotations

import pytest

from memo_desktop.core.monitor.eta import ProgressEta


def test_the_estimate_follows_the_average_rate_and_counts_down_between_reports():
    eta = ProgressEta()
    assert eta.observe("job", 5, at=100.0) is None  # one observation: nothing to go on
    assert eta.observe("job", 6, at=100.5) is None  # less than a second: too little
    assert eta.observe("job", 25, at=110.0) == pytest.approx(75 * 10 / 20)  # 20 % in 10 s -> 37.5 s for 75 %
    assert eta.seconds_left("job", now=120.0) == pytest.approx(27.5)  # no report for 10 s: counted down
    assert eta.seconds_left("job", now=500.0) == 0.0  # never negative
    # an uneven step (a batch of chunks reported at once) moves the average, not the whole estimate
    assert eta.observe("job", 65, at=120.0) == pytest.approx(35 * 20 / 60)


def test_jobs_are_tracked_apart_and_a_restart_starts_over():
    eta = ProgressEta()
    eta.observe("a", 0, at=0.0)
    eta.observe("b", 0, at=0.0)
    assert eta.observe("a", 50, at=10.0) == pytest.approx(10.0)
    assert eta.observe("b", 10, at=10.0) == pytest.approx(90.0)
    assert eta.observe("a", 5, at=20.0) is None  # progress went back: a retry, a new track
    assert eta.observe("a", 55, at=30.0) == pytest.approx(9.0)
    eta.forget("a")
    assert eta.seconds_left("a", now=30.0) is None and len(eta) == 1
    assert eta.seconds_left("unknown", now=0.0) is None


def test_no_progress_means_no_estimate():
    eta = ProgressEta()
    eta.observe("stuck", 40, at=0.0)
    assert eta.observe("stuck", 40, at=60.0) is None
