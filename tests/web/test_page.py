"""The dashboard in a real browser (Debian chromium driven by Playwright): signed in by the link, live from the
event stream, actions that work, and user text that stays text."""

from __future__ import annotations

import pytest

from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.runtime import WorkerPlan, start_worker_pool
from tests.core.conftest import job
from tests.fixtures.waiting import wait_until
from tests.fixtures.web import run_burst

QUEUE = "file-process"
HOSTILE = '<img src=x onerror="window.__pwned=1"><script>window.__pwned=2</script>'


@pytest.fixture
def web(server_only):
    return server_only


def count_cell(page, queue: str, state: str):
    return page.locator(f'#counts tr[data-queue="{queue}"] td[data-count="{state}"]')


def open_dashboard(page, web) -> None:
    page.goto(web.server.url(with_token=True))
    assert page.url.endswith("/queue")  # the token left the address bar
    page.wait_for_selector("#live-status.ok")


def test_the_link_signs_in_and_counts_change_live_as_jobs_run(page, web):
    ids = [web.ctx.jobs.enqueue_function(QUEUE, job("sleep"), {"seconds": 0.3}, title=f"memo {i}") for i in range(3)]
    open_dashboard(page, web)
    assert count_cell(page, QUEUE, "waiting").text_content() == "3"
    assert page.evaluate("document.cookie") == ""  # HttpOnly: scripts cannot read the token
    pool = start_worker_pool(web.ctx, WorkerPlan(kinds=(QueueKind.PROCESS,), concurrency=1, burst=True))
    page.wait_for_selector(f'#counts tr[data-queue="{QUEUE}"] td[data-count="completed"]:text-is("3")',
                           timeout=20_000)
    assert count_cell(page, QUEUE, "waiting").text_content() == "0"
    for job_id in ids:
        page.wait_for_selector(f'#jobs tr[data-job="{job_id}"] td.state:text("completed")', timeout=10_000)
    pool.join()
    assert page.js_errors == []


def test_actions_from_the_page_pause_and_retry(page, web):
    failed = web.ctx.jobs.enqueue_function(QUEUE, job("fail_permanently"), {}, title="broken memo")
    run_burst(web)
    open_dashboard(page, web)
    page.locator(f'#counts tr[data-queue="{QUEUE}"] button:text("Pause")').click()
    page.wait_for_selector(f'#counts tr[data-queue="{QUEUE}"] td.name:text("(paused)")', timeout=10_000)
    assert QUEUE in web.ctx.jobs.paused_queues()
    page.locator(f'#jobs tr[data-job="{failed}"] button:text("Retry")').click()
    page.wait_for_selector("#message.ok", timeout=10_000)
    wait_until(lambda: web.ctx.jobs.status(failed).state.value == "waiting", 10, "the retried job to wait")
    page.wait_for_selector(f'#jobs tr[data-job="{failed}"] td.state:text("waiting")', timeout=10_000)
    page.locator(f'#counts tr[data-queue="{QUEUE}"] button:text("Resume")').click()
    wait_until(lambda: QUEUE not in web.ctx.jobs.paused_queues(), 10, "the queue to resume")
    assert page.js_errors == []


def test_a_hostile_title_and_error_are_shown_as_text(page, web):
    job_id = web.ctx.jobs.enqueue_function(QUEUE, job("fail_permanently"), {}, title=HOSTILE)
    other = web.ctx.jobs.enqueue_function(QUEUE, job("fail"), {"message": HOSTILE}, title="plain")
    run_burst(web)
    open_dashboard(page, web)
    title = page.locator(f'#jobs tr[data-job="{job_id}"] td.title')
    assert title.evaluate("cell => cell.firstChild.textContent") == HOSTILE
    assert page.locator(f'#jobs tr[data-job="{other}"] td.error').text_content() == f"RuntimeError: {HOSTILE}"
    page.locator("#filters input[name=q]").fill("onerror")  # a search re-renders the rows with the same text
    page.locator("#filters button").click()
    page.wait_for_selector("#jobs-summary:has-text('match')")
    assert page.locator("#jobs img, #jobs script").count() == 0
    assert page.evaluate("window.__pwned") is None
    assert page.js_errors == []


def test_readable_on_a_phone(browser, web):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        phone = context.new_page()
        phone.goto(web.server.url(with_token=True))
        phone.wait_for_selector("#live-status.ok")
        width = phone.evaluate("document.documentElement.scrollWidth")
        assert width <= 400  # tables scroll inside their section; the page itself does not
        assert phone.locator("#filters input[name=q]").is_visible()
    finally:
        context.close()


def test_dead_letters_appear_live_and_are_requeued_and_purged_from_the_page(page, web):
    from memo_desktop.core.queueing import dead_letters

    open_dashboard(page, web)
    assert page.locator("#dead-total").text_content() == "0"
    hostile = web.ctx.jobs.enqueue_function(QUEUE, job("fail"), {"message": HOSTILE}, title=HOSTILE)
    broken = web.ctx.jobs.enqueue_function(QUEUE, job("fail_permanently"), {}, title="broken memo")
    run_burst(web)
    page.wait_for_selector("#dead-total:text-is('2')", timeout=10_000)  # from the event stream's counts
    row = page.locator(f'#dead tr[data-dead="{hostile}"]')
    row.wait_for(timeout=10_000)
    assert row.locator("td.title").evaluate("cell => cell.firstChild.textContent") == HOSTILE
    assert row.locator("td.error").text_content() == f"RuntimeError: {HOSTILE}"
    assert page.locator("#dead img, #dead script").count() == 0 and page.evaluate("window.__pwned") is None
    page.locator(f'#dead tr[data-dead="{broken}"] button:text("Requeue")').click()
    page.wait_for_selector(f'#dead tr[data-dead="{broken}"]', state="detached", timeout=10_000)
    assert web.ctx.jobs.status(broken).state.value == "waiting"
    page.on("dialog", lambda dialog: dialog.accept())
    page.locator("#dead-purge-all").click()
    page.wait_for_selector("#dead-total:text-is('0')", timeout=10_000)
    assert dead_letters.total(web.ctx.redis) == 0
    assert page.js_errors == []


def test_a_schedule_is_added_run_and_removed_from_the_page(page, web):
    open_dashboard(page, web)
    form = page.locator("#add-schedule")
    form.locator("input[name=name]").fill("nightly")
    form.locator("input[name=cron]").fill("0 3 * * *")
    form.locator("input[name=action]").fill("analyze-unanalyzed")
    form.locator("button").click()
    row = page.locator('#schedule-list tr[data-schedule="nightly"]')
    row.wait_for(timeout=10_000)
    assert row.locator("td.last").text_content() == "never"
    assert "03:00" in row.locator("td.next").text_content() or "3:00" in row.locator("td.next").text_content()
    row.locator('button:text("Run now")').click()
    page.wait_for_selector('#schedule-list tr[data-schedule="nightly"] td.last:has-text("manual")', timeout=10_000)
    form.locator("input[name=name]").fill("broken")
    form.locator("input[name=cron]").fill("99 * * * *")
    form.locator("input[name=action]").fill("analyze-unanalyzed")
    form.locator("button").click()
    page.wait_for_selector("#message.bad:has-text('99')", timeout=10_000)
    row.locator('button:text("Remove")').click()
    row.wait_for(state="detached", timeout=10_000)
    assert page.locator("#schedule-list tbody tr").count() == 0
    assert page.js_errors == []


def test_a_waiting_jobs_priority_is_changed_from_the_page(page, web):
    waiting = web.ctx.jobs.enqueue_function(QUEUE, job("echo"), {}, title="later", priority="low")
    open_dashboard(page, web)
    select = page.locator(f'#jobs tr[data-job="{waiting}"] td.priority select')
    assert select.input_value() == "low"
    select.select_option("high")
    page.wait_for_selector("#message.ok:has-text('high')", timeout=10_000)
    assert web.ctx.jobs.status(waiting).priority.value == "high"
    run_burst(web)
    page.wait_for_selector(f'#jobs tr[data-job="{waiting}"] td.priority:not(:has(select))', timeout=10_000)
    assert page.js_errors == []
