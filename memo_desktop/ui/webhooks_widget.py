"""Webhook management in the settings dialog: the webhooks on this Redis, add one (homed on this machine: its secret
goes into this machine's secret store and is shown once), remove, send a test. Every call runs on the background
runner (Redis, the keyring and the endpoint all take time)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QPushButton, QVBoxLayout, QWidget

from memo_desktop.core.context import AppContext
from memo_desktop.core.webhooks import EVENT_TYPES, Webhook, WebhookRegistry
from memo_desktop.ui.background import BackgroundRunner, describe_error
from memo_desktop.ui.row_table_model import Column, RowTableModel
from memo_desktop.ui.row_table_view import RowTableView


@dataclass(frozen=True)
class WebhookRow:
    id: str
    url: str
    events: str
    home: str

    @classmethod
    def of(cls, hook: Webhook) -> WebhookRow:
        data = hook.as_dict()
        return cls(hook.id, data["url"], ", ".join(hook.events), hook.home)


class WebhookTableModel(RowTableModel[WebhookRow]):
    columns = (Column("Id", lambda r: r.id), Column("URL", lambda r: r.url), Column("Events", lambda r: r.events),
               Column("Home", lambda r: r.home))

    def key(self, row: WebhookRow) -> str:
        return row.id


def list_rows(ctx: AppContext) -> tuple[WebhookRow, ...]:
    return tuple(WebhookRow.of(h) for h in WebhookRegistry(ctx.redis, ctx.settings).list())


def add_webhook(ctx: AppContext, url: str) -> tuple[str, str]:
    hook, secret = WebhookRegistry(ctx.redis, ctx.settings).add(url, EVENT_TYPES)
    return hook.id, secret


def remove_webhook(ctx: AppContext, webhook_id: str) -> str:
    WebhookRegistry(ctx.redis, ctx.settings).remove(webhook_id)
    return webhook_id


def test_webhook(ctx: AppContext, webhook_id: str) -> int:
    from memo_desktop.core.webhooks.delivery import deliver, test_payload

    registry = WebhookRegistry(ctx.redis, ctx.settings)
    return deliver(registry, test_payload(registry.get(webhook_id))).status


class WebhooksWidget(QWidget):
    webhooks_listed = Signal()

    def __init__(self, runner: BackgroundRunner, context: Callable[[], AppContext],
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._context = context
        self.model = WebhookTableModel(self)
        self.table = RowTableView(self.model, self, stretch_column=1)
        self.table.setMinimumHeight(90)
        self.table.selection_changed.connect(self._update_buttons)
        self.url = QLineEdit(self)
        self.url.setPlaceholderText("https://example.org/hooks/memo")
        self.add_button = QPushButton("Add", self)
        self.add_button.clicked.connect(self._on_add_button_clicked)
        self.remove_button = QPushButton("Remove", self)
        self.remove_button.clicked.connect(self._on_remove_button_clicked)
        self.test_button = QPushButton("Send test", self)
        self.test_button.clicked.connect(self._on_test_button_clicked)
        self.result = QLabel(self)
        self.result.setWordWrap(True)
        self.result.setTextFormat(Qt.TextFormat.PlainText)  # URLs and errors are text, never markup
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        row = QHBoxLayout()
        row.addWidget(self.url, 1)
        for b in (self.add_button, self.remove_button, self.test_button):
            row.addWidget(b)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(row)
        layout.addWidget(self.result)
        self._update_buttons()
        self.refresh()

    def refresh(self) -> None:
        self._submit(list_rows, on_result=self._on_listed)

    def _submit(self, fn: Callable[..., object], *args: object, on_result: Callable[[object], None]) -> None:
        self._runner.submit(fn, self._context(), *args, on_result=on_result,
                            on_error=lambda exc: self._say(describe_error(exc), False), owner=self)

    def _on_listed(self, rows: object) -> None:
        self.model.set_rows(rows)  # type: ignore[arg-type]
        self._update_buttons()
        self.webhooks_listed.emit()

    def _selected(self) -> str | None:
        keys = self.table.selected_keys()
        return str(keys[0]) if keys else None

    def _update_buttons(self) -> None:
        chosen = self._selected() is not None
        self.remove_button.setEnabled(chosen)
        self.test_button.setEnabled(chosen)

    def _say(self, text: str, ok: bool) -> None:
        self.result.setText(text)
        self.result.setStyleSheet("color: #188038;" if ok else "color: #b3261e;")

    def _on_add_button_clicked(self) -> None:
        self._submit(add_webhook, self.url.text().strip(), on_result=self._on_added)

    def _on_added(self, added: object) -> None:
        webhook_id, secret = added  # type: ignore[misc]
        self.url.clear()
        self._say(f"Added {webhook_id}. Its secret (shown only now, to verify signatures): {secret}", True)
        self.refresh()

    def _on_remove_button_clicked(self) -> None:
        webhook_id = self._selected()
        if webhook_id:
            self._submit(remove_webhook, webhook_id, on_result=lambda _: (self._say(f"Removed {webhook_id}", True),
                                                                         self.refresh()))

    def _on_test_button_clicked(self) -> None:
        webhook_id = self._selected()
        if webhook_id:
            self._submit(test_webhook, webhook_id,
                         on_result=lambda status: self._say(f"Test delivery answered HTTP {status}", True))
