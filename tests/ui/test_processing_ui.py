"""Analysis, compression and transcription from the memo library: the actions, the details pane and the settings.

Real Redis, object store and in-app workers (the session services); speech made with espeak-ng + sox.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialogButtonBox

from memo_desktop.core import transcribe
from memo_desktop.core.config import load_settings
from memo_desktop.core.library import UploadState
from memo_desktop.ui.memo_details_widget import NO_MEMO_TEXT, NO_TRANSCRIPT_TEXT
from tests.processing.conftest import SENTENCE, make_speech
from tests.processing.text_checks import word_error_rate
from tests.ui.conftest import close_app, open_app, write_tone_wav

needs_transcription = pytest.mark.skipif(not transcribe.transcription_available(),
                                         reason=f"transcription not installed ({transcribe.INSTALL_HINT})")


def uploaded_titles(desktop) -> set[str]:
    return {i.memo.title for i in desktop.library_widget.model.rows if i.memo.upload_state is UploadState.UPLOADED}


def import_uploaded(qtbot, desktop, paths) -> None:
    desktop.library_widget.import_files(paths)
    titles = {p.stem for p in paths}
    qtbot.waitUntil(lambda: uploaded_titles(desktop) >= titles, timeout=15_000)


def select(qtbot, widget, title: str) -> None:
    memo = next(i.memo for i in widget.model.rows if i.memo.title == title)
    widget.table.select_keys([memo.id])
    qtbot.waitUntil(lambda: widget.details.memo is not None and widget.details.memo.id == memo.id, timeout=2_000)


@needs_transcription
def test_transcribe_from_the_library_shows_the_transcript_and_makes_it_searchable(qtbot, desktop, tmp_path):
    widget = desktop.library_widget
    qtbot.waitUntil(widget.transcribe_action.isVisible, timeout=5_000)  # transcription is installed here
    speech = make_speech(tmp_path / "Planning call.wav", SENTENCE, 16000)
    import_uploaded(qtbot, desktop, [speech, write_tone_wav(tmp_path / "Tuning fork.wav", 0.5)])
    select(qtbot, widget, "Planning call")
    assert NO_TRANSCRIPT_TEXT in widget.details.text()
    assert widget.transcribe_action.isEnabled()
    with qtbot.waitSignal(widget.status_reported, timeout=5_000) as queued:
        widget.transcribe_action.trigger()
    assert queued.args[0] == "Queued transcription of 'Planning call'"
    # the job runs on an in-app worker; its end refreshes the library, and the pane loads the timed transcript
    qtbot.waitUntil(lambda: "conference" in widget.details.text().lower(), timeout=30_000)
    text = widget.details.text()
    assert NO_TRANSCRIPT_TEXT not in text and "[0:0" in text  # segments with their start and end times
    transcript = text.split("Transcript", 1)[1]
    assert word_error_rate(SENTENCE, " ".join(line.split("] ", 1)[-1] for line in transcript.splitlines())) <= 0.2
    # the transcript is searchable from the search box
    qtbot.keyClicks(widget.search_edit, "conference")
    qtbot.waitUntil(lambda: [i.memo.title for i in widget.model.rows] == ["Planning call"], timeout=5_000)


def test_analyze_shows_the_figures_and_actions_need_an_uploaded_memo(qtbot, desktop, tmp_path):
    widget = desktop.library_widget
    assert NO_MEMO_TEXT in widget.details.text()
    assert not widget.analyze_action.isEnabled()  # nothing selected
    import_uploaded(qtbot, desktop, [write_tone_wav(tmp_path / "Hum.wav", 1.0)])
    memo = widget.model.rows[0].memo
    # the same memo as it was before its upload: nothing to process yet (the actions read the listed state)
    widget.model.set_memos([replace(memo, upload_state=UploadState.QUEUED)])
    widget.table.select_keys([memo.id])
    assert not any(a.isEnabled() for a in (widget.analyze_action, widget.compress_action, widget.transcribe_action))
    assert "Upload: queued" in widget.details.text()
    widget.refresh()
    qtbot.waitUntil(widget.analyze_action.isEnabled, timeout=5_000)
    assert widget.compress_action.isEnabled()
    assert "Upload: uploaded" in widget.details.text() and "Not analyzed yet" in widget.details.text()
    with qtbot.waitSignal(widget.status_reported, timeout=5_000) as queued:
        widget.analyze_action.trigger()
    assert queued.args[0] == "Queued analysis of 'Hum'"
    qtbot.waitUntil(lambda: "Peak" in widget.details.text(), timeout=15_000)
    text = widget.details.text()
    # a sine of amplitude 0.3: peak -10.5 dBFS, RMS 3 dB lower, no silence
    assert "Duration 0:01, 48000 Hz mono WAV" in text
    assert "Peak -10.5 dBFS, RMS -13.5 dBFS" in text and "Silence 0%" in text


def test_transcribe_is_hidden_where_transcription_is_not_installed(qtbot, app_settings, monkeypatch):
    monkeypatch.setattr(transcribe, "transcription_available", lambda settings=None: False)
    desktop = open_app(qtbot, app_settings)
    try:
        widget = desktop.library_widget
        desktop.window.settings_action.trigger()
        dialog = desktop.settings_dialog
        qtbot.waitUntil(lambda: "not installed" in dialog.auto_transcribe.toolTip(), timeout=5_000)
        assert not dialog.auto_transcribe.isEnabled()
        dialog.reject()
        assert not widget.transcribe_action.isVisible()
        assert widget.analyze_action.isVisible() and widget.compress_action.isVisible()
        button = widget.toolbar.widgetForAction(widget.transcribe_action)
        assert button is None or not button.isVisible()
    finally:
        close_app(qtbot, desktop)


def test_processing_settings_round_trip(qtbot, desktop):
    desktop.window.settings_action.trigger()
    dialog = desktop.settings_dialog
    available = transcribe.transcription_available(desktop.host.settings)
    qtbot.waitUntil(lambda: dialog.auto_transcribe.isEnabled() == available
                    and "Checking" not in dialog.auto_transcribe.toolTip(), timeout=5_000)
    before = desktop.host.settings
    assert (dialog.auto_analyze.isChecked(), dialog.keep_original.isChecked(),
            dialog.auto_transcribe.isChecked()) == (before.auto_analyze, before.keep_original, before.auto_transcribe)
    dialog.auto_analyze.setChecked(True)
    dialog.keep_original.setChecked(False)
    dialog.auto_transcribe.setChecked(available)
    with qtbot.waitSignal(desktop.host.settings_applied, timeout=20_000) as blocker:
        qtbot.mouseClick(dialog.button_box.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
    applied = blocker.args[0]
    assert (applied.auto_analyze, applied.keep_original, applied.auto_transcribe) == (True, False, available)
    reloaded = load_settings({"data_dir": str(applied.data_dir)}, environ={})
    assert (reloaded.auto_analyze, reloaded.keep_original, reloaded.auto_transcribe) == (True, False, available)
    desktop.window.settings_action.trigger()
    dialog = desktop.settings_dialog
    assert dialog.auto_analyze.isChecked() and not dialog.keep_original.isChecked()
    assert dialog.auto_transcribe.isChecked() == available
    dialog.reject()


def test_transcription_settings_are_checked_and_saved(qtbot, desktop):
    desktop.window.settings_action.trigger()
    dialog = desktop.settings_dialog
    assert (dialog.transcribe_model.currentText(), dialog.transcribe_language.currentText(),
            dialog.transcribe_pipeline.currentData()) == ("tiny.en", "auto", "batched")
    dialog.transcribe_language.setCurrentText("de")  # German with the English-only model: refused, not saved
    qtbot.mouseClick(dialog.button_box.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
    assert dialog.isVisible() and "setting 'transcribe_language' is 'de'" in dialog.error_label.text()
    dialog.transcribe_model.setCurrentText("base")
    dialog.transcribe_pipeline.setCurrentIndex(dialog.transcribe_pipeline.findData("plain"))
    with qtbot.waitSignal(desktop.host.settings_applied, timeout=20_000) as blocker:
        qtbot.mouseClick(dialog.button_box.button(QDialogButtonBox.StandardButton.Save), Qt.MouseButton.LeftButton)
    applied = blocker.args[0]
    assert (applied.transcribe_model, applied.transcribe_language, applied.transcribe_pipeline) == ("base", "de",
                                                                                                   "plain")
    reloaded = load_settings({"data_dir": str(applied.data_dir)}, environ={})
    assert (reloaded.transcribe_model, reloaded.transcribe_language) == ("base", "de")
