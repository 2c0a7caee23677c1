"""The operations side of the GUI: the dashboard served by the app and opened from its menu, the failure-rate alert
as a notification, webhooks in the settings, and queue jobs named by their memo's title."""

from __future__ import annotations

import socket

import httpx
from PySide6.QtCore import QObject, QUrl, Slot
from PySide6.QtGui import QDesktopServices

from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.pipeline import add_memo
from tests.fixtures.jobs import MODULE as JOBS
from tests.fixtures.web import Receiver
from tests.ui.conftest import close_app, open_app, write_tone_wav


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class UrlCatcher(QObject):
    """Stands in for the browser: Qt hands it the URLs the app asks the desktop to open."""

    def __init__(self) -> None:
        super().__init__()
        self.urls: list[str] = []

    @Slot(QUrl)
    def open(self, url: QUrl) -> None:
        self.urls.append(url.toString())


def test_the_menu_opens_the_apps_own_dashboard_signed_in(qtbot, app_settings):
    desktop = open_app(qtbot, app_settings.replace(http_port=free_port()))
    catcher = UrlCatcher()
    QDesktopServices.setUrlHandler("http", catcher, "open")
    try:
        assert desktop.window.dashboard_action in desktop.window.menuBar().actions()[0].menu().actions()
        desktop.window.dashboard_action.trigger()
        assert len(catcher.urls) == 1 and "/queue?token=" in catcher.urls[0]
        with httpx.Client(base_url=catcher.urls[0].split("/queue")[0]) as browser:
            first = browser.get(catcher.urls[0])
            assert first.status_code == 303 and "HttpOnly" in first.headers["set-cookie"]
            page = browser.get(first.headers["location"])
            assert page.status_code == 200 and "memo-desktop queue" in page.text
            assert browser.get("/api/queue/health").json()["redis"] == "connected"
    finally:
        QDesktopServices.unsetUrlHandler("http")
        close_app(qtbot, desktop)


def test_without_a_port_the_menu_says_how_to_turn_the_dashboard_on(qtbot, desktop):
    desktop.window.dashboard_action.trigger()
    assert "web dashboard is off" in desktop.window.notifications.text


def test_a_failure_rate_alert_is_shown_once_and_its_end_too(qtbot, app_settings):
    desktop = open_app(qtbot, app_settings.replace(alert_min_failures=2, alert_failure_rate=0.5))
    try:
        shown: list[str] = []
        desktop.host.alert_changed.connect(lambda kind, alert: shown.append(kind))
        jobs = desktop.host.context.jobs
        for _ in range(3):
            jobs.enqueue_function("file-process", f"{JOBS}.fail_permanently", {})
        qtbot.waitUntil(lambda: "Alert:" in desktop.window.notifications.text, timeout=15_000)
        assert "failed" in desktop.window.notifications.text
        for _ in range(8):
            jobs.enqueue_function("file-process", f"{JOBS}.echo", {})
        qtbot.waitUntil(lambda: "Resolved:" in desktop.window.notifications.text, timeout=15_000)
        assert shown == ["fired", "resolved"]
    finally:
        close_app(qtbot, desktop)


def test_webhooks_are_managed_in_the_settings(qtbot, desktop):
    receiver = Receiver()
    try:
        desktop.window.settings_action.trigger()
        dialog = desktop.settings_dialog
        hooks = dialog.webhooks
        hooks.url.setText(receiver.url)
        hooks.add_button.click()
        qtbot.waitUntil(lambda: hooks.model.rowCount() == 1, timeout=10_000)
        assert "whsec_" in hooks.result.text()
        hooks.table.selectRow(0)
        hooks.test_button.click()
        qtbot.waitUntil(lambda: "HTTP 200" in hooks.result.text(), timeout=10_000)
        assert receiver.deliveries and receiver.deliveries[0].json()["type"] == "webhook.test"
        hooks.remove_button.click()
        qtbot.waitUntil(lambda: hooks.model.rowCount() == 0, timeout=10_000)
        dialog.reject()
    finally:
        receiver.close()


def test_queue_jobs_are_named_by_the_memos_title(qtbot, desktop, tmp_path):
    ctx = desktop.host.context
    memo = add_memo(ctx, write_tone_wav(tmp_path / "take.wav", 0.5), title="Call with the bank").memo
    panel = desktop.queue_panel
    panel.show_jobs(f"file-upload@{ctx.settings.device}", JobState.COMPLETED)
    qtbot.waitUntil(lambda: any(r.memo_id == memo.id for r in panel.jobs_model.rows), timeout=20_000)
    row = next(r for r in panel.jobs_model.rows if r.memo_id == memo.id)
    assert row.title == "Call with the bank"  # not the stored file name, `<memo id>.wav`
    ctx.library.rename(memo.id, "Call with the bank (April)")
    panel.reload_page()
    qtbot.waitUntil(lambda: any(r.title == "Call with the bank (April)" for r in panel.jobs_model.rows),
                    timeout=10_000)
