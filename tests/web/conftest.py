"""Web tests: a runtime serving HTTP on a free port over the session Redis (and the session object store where
uploads need it), its token set by MEMO_HTTP_TOKEN, and one headless Debian chromium per session (Playwright)."""

from __future__ import annotations

import pytest

from tests.fixtures.web import TOKEN, WebRuntime
from tests.fixtures.jobs import MODULE as JOBS


@pytest.fixture
def web_settings(s3_settings, monkeypatch):
    monkeypatch.setenv("MEMO_HTTP_TOKEN", TOKEN)
    return s3_settings.replace(job_modules=(JOBS,), rate_limit=0, auto_analyze=False, backoff=1.0)


@pytest.fixture
def web(web_settings):
    made = WebRuntime(web_settings)
    yield made
    made.stop()


@pytest.fixture
def server_only(web_settings):
    """The server alone, one attempt per job: jobs wait until a test runs them (`run_burst`, like workers on other
    machines)."""
    made = WebRuntime(web_settings.replace(attempts=1), workers=None)
    yield made
    made.stop()


@pytest.fixture(scope="session")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path="/usr/bin/chromium",
                                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        yield launched
        launched.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1100, "height": 900})
    opened = context.new_page()
    errors: list[str] = []
    opened.on("pageerror", lambda exc: errors.append(str(exc)))
    opened.js_errors = errors  # type: ignore[attr-defined]
    yield opened
    context.close()
