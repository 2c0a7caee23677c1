"""The memo library view: import (dialog path and drag-and-drop), live upload state, rename, search, delete with
undo, download link, playback."""

from __future__ import annotations

import urllib.request

from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl
from PySide6.QtGui import QDropEvent, QGuiApplication
from PySide6.QtWidgets import QApplication

from memo_desktop.core.errors import MemoNotFound
from memo_desktop.core.library import UploadState
from memo_desktop.ui import memo_library_widget
from memo_desktop.ui.memo_table_model import MemoTableModel
from tests.ui.conftest import write_tone_wav


def memo_states(desktop) -> dict[str, UploadState]:
    return {item.memo.title: item.memo.upload_state for item in desktop.library_widget.model.rows}


def import_and_upload(qtbot, desktop, tmp_path, titles: list[str]) -> None:
    files = [write_tone_wav(tmp_path / f"{title}.wav", 0.5 + i * 0.1) for i, title in enumerate(titles)]
    desktop.library_widget.import_files(files)
    qtbot.waitUntil(lambda: memo_states(desktop) == {t: UploadState.UPLOADED for t in titles}, timeout=15_000)


def test_imported_files_appear_and_turn_uploaded(qtbot, desktop, tmp_path):
    import_and_upload(qtbot, desktop, tmp_path, ["Standup", "Idea"])
    upload = desktop.library_widget.model.index(0, MemoTableModel.UPLOAD)
    assert upload.data() == "uploaded"
    assert desktop.window.memo_count_label.text() == "2 memos"


def test_drop_files_to_import(qtbot, desktop, tmp_path):
    wav = write_tone_wav(tmp_path / "Dropped memo.wav", 0.4)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(wav))])
    widget = desktop.library_widget
    event = QDropEvent(QPoint(10, 10).toPointF(), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                       Qt.KeyboardModifier.NoModifier)
    widget.event(event)  # QApplication.sendEvent drops drag-and-drop events that no real drag started
    qtbot.waitUntil(lambda: "Dropped memo" in memo_states(desktop), timeout=10_000)


def test_a_bad_file_is_reported_by_name(qtbot, desktop, tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_text("not audio at all")
    with qtbot.waitSignal(desktop.library_widget.error_occurred, timeout=10_000) as blocker:
        desktop.library_widget.import_files([bad])
    assert "notes.wav" in blocker.args[0]
    assert "notes.wav" in desktop.window.notifications.text


def test_rename_search_and_copy_link(qtbot, desktop, tmp_path):
    import_and_upload(qtbot, desktop, tmp_path, ["Budget review", "Grocery list"])
    widget, model = desktop.library_widget, desktop.library_widget.model
    memo = next(item.memo for item in model.rows if item.memo.title == "Grocery list")
    # F2 edits the title in place; the model reports it and the library renames off-thread
    widget.table.select_keys([memo.id])
    widget.table.setFocus()
    widget.rename_action.trigger()
    editor = QApplication.focusWidget()
    assert editor is not None and editor is not widget.table
    editor.selectAll()
    qtbot.keyClicks(editor, "Shopping for the party")
    qtbot.keyClick(editor, Qt.Key.Key_Return)
    qtbot.waitUntil(lambda: "Shopping for the party" in memo_states(desktop), timeout=5_000)
    assert desktop.host.context.library.get(memo.id).title == "Shopping for the party"
    # search filters by title (and transcript) in the library, off-thread
    qtbot.keyClicks(widget.search_edit, "party")
    qtbot.waitUntil(lambda: list(memo_states(desktop)) == ["Shopping for the party"], timeout=5_000)
    widget.search_edit.clear()
    qtbot.waitUntil(lambda: len(memo_states(desktop)) == 2, timeout=5_000)
    # a download link of the uploaded memo, fetched like a browser would
    widget.table.select_keys([memo.id])
    assert widget.copy_link_action.isEnabled()
    with qtbot.waitSignal(widget.status_reported, timeout=5_000):
        widget.copy_link_action.trigger()
    url = QGuiApplication.clipboard().text()
    assert url.startswith("http")
    with urllib.request.urlopen(url, timeout=5) as response:
        assert response.status == 200 and response.read(4) == b"RIFF"


def test_delete_can_be_undone_then_happens_after_the_undo_window(qtbot, desktop, tmp_path, monkeypatch):
    monkeypatch.setattr(memo_library_widget, "UNDO_WINDOW_MS", 400)
    import_and_upload(qtbot, desktop, tmp_path, ["Keep me", "Delete me"])
    widget, library = desktop.library_widget, desktop.host.context.library
    doomed = next(item.memo for item in widget.model.rows if item.memo.title == "Delete me")
    widget.table.select_keys([doomed.id])
    widget.delete_action.trigger()
    assert list(memo_states(desktop)) == ["Keep me"]  # gone from view at once
    assert widget.undo_bar.isVisible() and "Delete me" in widget.undo_bar.text
    qtbot.mouseClick(widget.undo_bar._action_button, Qt.MouseButton.LeftButton)
    assert set(memo_states(desktop)) == {"Keep me", "Delete me"}
    assert library.get(doomed.id).title == "Delete me"
    # again, and this time let the undo window pass: the memo and its objects go (a delete job is queued)
    widget.table.select_keys([doomed.id])
    widget.delete_action.trigger()
    qtbot.waitUntil(lambda: _gone(library, doomed.id), timeout=5_000)
    qtbot.wait(300)  # the deletion's result and the next listing arrive: the memo must not come back
    assert list(memo_states(desktop)) == ["Keep me"]
    counts = desktop.queue_panel.counts_model
    qtbot.waitUntil(lambda: (c := counts.counts("file-delete")) is not None and c.completed == 1, timeout=10_000)
    store = desktop.host.context.object_store
    assert store.list_keys(f"memos/{doomed.id}/") == []


def _gone(library, memo_id: str) -> bool:
    try:
        library.get(memo_id)
    except MemoNotFound:
        return True
    return False


def test_playback_of_the_selected_memo(qtbot, desktop, tmp_path, mic):
    import_and_upload(qtbot, desktop, tmp_path, ["Listen"])
    widget = desktop.library_widget
    memo = widget.model.rows[0].memo
    widget.table.select_keys([memo.id])
    widget.table.setFocus()
    qtbot.keyClick(widget.table, Qt.Key.Key_Space)  # Space plays when nothing is being recorded
    qtbot.waitUntil(lambda: desktop.player.position > 0.1, timeout=5_000)
    assert desktop.player.path == memo.audio_path
    qtbot.keyClick(widget.table, Qt.Key.Key_Space)  # and pauses
    qtbot.waitUntil(lambda: desktop.player.state.value == "paused", timeout=2_000)
    widget.player.toggle()
    qtbot.waitUntil(lambda: desktop.player.state.value == "stopped", timeout=5_000)  # played to the end
    assert widget.player.time_label.text().endswith("0:00")


def test_imports_and_library_actions_queue_at_high_priority(qtbot, desktop, tmp_path):
    import_and_upload(qtbot, desktop, tmp_path, ["Urgent"])
    widget, jobs = desktop.library_widget, desktop.host.context.jobs
    memo = widget.model.rows[0].memo
    assert jobs.status(memo.job_id).priority.value == "high"  # the import's upload
    widget.table.select_keys([memo.id])
    widget.analyze_action.trigger()
    job_id = f"process-analyze-{memo.id}"
    qtbot.waitUntil(lambda: any(k.decode().startswith(f"rq:job:{job_id}")
                                for k in desktop.host.context.redis.keys("rq:job:process-*")), timeout=5_000)
    key = next(k.decode() for k in desktop.host.context.redis.keys("rq:job:process-*"))
    assert jobs.status(key.removeprefix("rq:job:")).priority.value == "high"


def test_a_memo_whose_local_audio_was_purged_is_fetched_when_played(qtbot, desktop, tmp_path, mic):
    from memo_desktop.core.pipeline.local_audio import purge_local_audio

    import_and_upload(qtbot, desktop, tmp_path, ["Archived"])
    widget, ctx = desktop.library_widget, desktop.host.context
    memo = widget.model.rows[0].memo
    assert purge_local_audio(ctx, memo) == ""
    widget.refresh()
    qtbot.waitUntil(lambda: not widget.model.rows[0].memo.audio_local, timeout=5_000)
    assert widget.model.index(0, MemoTableModel.UPLOAD).data() == "in the store"
    assert not memo.audio_path.exists()
    widget.table.select_keys([memo.id])
    widget.player.toggle()
    qtbot.waitUntil(lambda: desktop.player.position > 0.1, timeout=10_000)
    assert desktop.player.path == memo.audio_path and memo.audio_path.is_file()
    assert ctx.library.get(memo.id).audio_local
    widget.player.stop()
