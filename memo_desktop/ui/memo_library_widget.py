"""The memo library: search, the memo table with live upload progress, playback, rename, delete with undo, copy a
download link, importing audio files (dialog or drag-and-drop), queueing analysis, compression and transcription of
uploaded memos, and the details (analysis figures, transcript) of the selected memo.

Every library, queue or object-store call runs on the background runner; results come back as immutable values.
Listings are "latest wins" (a slow listing never paints over a newer one) and refreshes are debounced, so a burst
of job events or keystrokes costs one listing.

The Transcribe action is hidden where transcription is not installed: `transcription_available(settings)` runs on
the runner once per settings (a settings change brings a new context, and the app lists the library again then).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Sequence

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (QAbstractItemView, QFileDialog, QHBoxLayout, QLineEdit, QSplitter, QToolBar,
                               QVBoxLayout, QWidget)

from memo_desktop.core import transcribe
from memo_desktop.core.config import Settings
from memo_desktop.core.context import AppContext
from memo_desktop.core.jobs.contract import QueueKind
from memo_desktop.core.jobs.events import JobEvent
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.library import Memo, UploadState
from memo_desktop.core.pipeline import AddResult
from memo_desktop.core.pipeline.local_audio import fetch_audio
from memo_desktop.core.playback import AudioPlayer
from memo_desktop.ui import icons
from memo_desktop.ui.background import BackgroundRunner, describe_error
from memo_desktop.ui.library_tasks import delete_memos, download_link, import_files, list_memos, process_memos
from memo_desktop.ui.memo_details_widget import MemoDetailsWidget
from memo_desktop.ui.memo_table_model import MemoTableModel
from memo_desktop.ui.notification_widget import NotificationBarWidget
from memo_desktop.ui.player_widget import PlayerWidget
from memo_desktop.ui.row_table_view import RowTableView

REFRESH_DEBOUNCE_MS = 120
UNDO_WINDOW_MS = 6000
AUDIO_FILTER = "Audio files (*.wav *.flac *.ogg *.opus *.mp3 *.aiff *.aif);;All files (*)"
# what the status line calls each file-process operation
PROCESS_NOUNS = {"analyze": "analysis", "compress": "compression", "transcribe": "transcription"}
_PROCESS_ENDED = frozenset({JobState.COMPLETED.value, JobState.FAILED.value})

class MemoLibraryWidget(QWidget):
    status_reported = Signal(str)
    error_occurred = Signal(str)
    memos_listed = Signal(int)  # how many memos are shown (after each listing)

    def __init__(self, runner: BackgroundRunner, context: Callable[[], AppContext], player: AudioPlayer,
                 parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._runner = runner
        self._context = context
        self._pending_delete: tuple[str, ...] = ()
        self.setAcceptDrops(True)

        self.model = MemoTableModel(self)
        self.model.title_edited.connect(self._on_model_title_edited)
        self.table = RowTableView(self.model, self, stretch_column=MemoTableModel.TITLE)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.EditKeyPressed
                                   | QAbstractItemView.EditTrigger.SelectedClicked)
        self.table.selection_changed.connect(self._on_table_selection_changed)
        self.table.doubleClicked.connect(self._on_table_double_clicked)
        # narrow enough that the title (the stretching column) keeps most of a half-width window
        for column, width in ((MemoTableModel.DATE, 120), (MemoTableModel.DURATION, 60),
                              (MemoTableModel.SIZE, 75), (MemoTableModel.UPLOAD, 105),
                              (MemoTableModel.TRANSCRIPT, 120)):
            self.table.setColumnWidth(column, width)

        self.search_edit = QLineEdit(self)
        self.search_edit.setPlaceholderText("Search titles and transcripts")
        self.search_edit.setClearButtonEnabled(True)
        self.search_edit.textChanged.connect(self._on_search_edit_text_changed)

        self.import_action = self._action("import", "&Import audio…", "Import audio files (or drop them here)",
                                          self._on_import_action_triggered, QKeySequence("Ctrl+I"))
        self.rename_action = self._action("rename", "Re&name", "Rename the selected memo (F2)",
                                          self._on_rename_action_triggered, QKeySequence(Qt.Key.Key_F2))
        self.delete_action = self._action("delete", "&Delete", "Delete the selected memos (Delete; can be undone)",
                                          self._on_delete_action_triggered,
                                          QKeySequence(QKeySequence.StandardKey.Delete))
        self.copy_link_action = self._action("link", "Copy &link", "Copy a download link of the selected memo",
                                             self._on_copy_link_action_triggered, QKeySequence("Ctrl+Shift+C"))
        self.analyze_action = self._action("analyze", "&Analyze", "Measure the levels and silence of the selected "
                                           "uploaded memos", self._on_analyze_action_triggered)
        self.compress_action = self._action("compress", "&Compress", "Make a compressed copy of the selected "
                                            "uploaded memos (format in Settings)", self._on_compress_action_triggered)
        self.transcribe_action = self._action("transcribe", "&Transcribe", "Transcribe the selected uploaded memos",
                                              self._on_transcribe_action_triggered, QKeySequence("Ctrl+T"))
        self.transcribe_action.setVisible(False)  # until transcription is known to be installed here
        self._probed_settings: Settings | None = None

        memo_actions = (self.rename_action, self.delete_action, self.copy_link_action)
        process_actions = (self.analyze_action, self.compress_action, self.transcribe_action)
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.ActionsContextMenu)
        self.table.addActions([*memo_actions, self._separator(), *process_actions])

        self.player = PlayerWidget(player, self)
        self.player.playback_failed.connect(self.error_occurred)
        self.player.audio_needed.connect(self._on_player_audio_needed)
        self.undo_bar = NotificationBarWidget(self)
        self.details = MemoDetailsWidget(runner, context, self)
        self.details.seek_requested.connect(self.player.play_from)
        self.details.search_hit_found.connect(self._on_details_search_hit_found)
        self.player.position_changed.connect(self.details.show_position)

        # a tool bar, not loose tool buttons: its buttons follow their actions' visibility (Transcribe may hide)
        self.toolbar = QToolBar(self)
        self.toolbar.setMovable(False)
        self.toolbar.addActions([self.import_action, *memo_actions])
        self.toolbar.addSeparator()
        self.toolbar.addActions(process_actions)
        tools = QHBoxLayout()
        tools.addWidget(self.search_edit, 1)
        tools.addWidget(self.toolbar)
        self.splitter = QSplitter(Qt.Orientation.Vertical, self)
        self.splitter.addWidget(self.table)
        self.splitter.addWidget(self.details)
        self.splitter.setStretchFactor(0, 3)
        self.splitter.setStretchFactor(1, 2)
        self.splitter.setChildrenCollapsible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 4, 8, 4)
        layout.addLayout(tools)
        layout.addWidget(self.undo_bar)
        layout.addWidget(self.splitter, 1)
        layout.addWidget(self.player)

        self._refresh_timer = QTimer(self)
        self._refresh_timer.setSingleShot(True)
        self._refresh_timer.setInterval(REFRESH_DEBOUNCE_MS)
        self._refresh_timer.timeout.connect(self._on_refresh_timer_timeout)
        self._update_actions()
        self._probe_transcription()

    def _action(self, icon: str, text: str, tip: str, slot: Callable[[], None],
                shortcut: QKeySequence | None = None) -> QAction:
        action = QAction(icons.icon(icon), text, self)
        action.setToolTip(tip)
        if shortcut is not None:
            action.setShortcut(shortcut)
        # the shortcuts work anywhere in the window (the main window also lists these actions in its menus)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        action.triggered.connect(slot)
        self.addAction(action)
        return action

    def _separator(self) -> QAction:
        separator = QAction(self)
        separator.setSeparator(True)
        return separator

    # -- public ---------------------------------------------------------------------------------------------------
    def refresh(self) -> None:
        """List the library again soon (debounced: a burst of reasons costs one listing)."""
        self._refresh_timer.start()

    def apply_job_events(self, events: Sequence[JobEvent]) -> None:
        upload_ended = self.model.apply_job_events(events)
        # a processing job that ended has put its result (analysis, variant, transcript) into the library
        if upload_ended or any(e.queue == QueueKind.PROCESS.value and e.state in _PROCESS_ENDED for e in events):
            self.refresh()

    def selected_memos(self) -> list[Memo]:
        return [item.memo for item in self.table.selected_rows()]

    def import_files(self, paths: Sequence[Path | str]) -> None:
        paths = tuple(Path(p) for p in paths)
        if not paths:
            return
        self.status_reported.emit(f"Importing {len(paths)} file(s)…")
        self._runner.submit(import_files, self._context(), paths, on_result=self._on_import_finished)

    def toggle_playback(self) -> None:
        self.player.toggle()

    def commit_pending_deletions(self) -> None:
        """Delete now what is waiting in the undo window (at shutdown, or when a new deletion starts)."""
        memo_ids, self._pending_delete = self._pending_delete, ()
        if memo_ids:
            self.undo_bar.clear()
            self._runner.submit(delete_memos, self._context(), memo_ids, on_result=self._on_delete_finished,
                                on_error=lambda exc: self._on_delete_failed(memo_ids, exc))

    # -- slots ----------------------------------------------------------------------------------------------------
    def _on_refresh_timer_timeout(self) -> None:
        self._probe_transcription()
        self._runner.submit(list_memos, self._context(), self.search_edit.text().strip(), key="memo-list",
                            on_result=self._on_memos_listed)

    def _on_memos_listed(self, memos: tuple[Memo, ...]) -> None:
        self.model.set_memos(memos)
        self._on_table_selection_changed()
        self.memos_listed.emit(self.model.rowCount())

    def _on_search_edit_text_changed(self, text: str) -> None:
        self.details.set_search(text)
        self.refresh()

    def _on_details_search_hit_found(self, memo_id: str, seconds: float) -> None:
        """The search matched the shown transcript at `seconds`: Play (or a double-click) starts there."""
        memos = self.selected_memos()
        if len(memos) == 1 and memos[0].id == memo_id:
            self.player.cue(seconds)

    def _on_table_selection_changed(self) -> None:
        memos = self.selected_memos()
        self.player.set_memo(memos[0] if len(memos) == 1 else None)
        self.details.set_memo(memos[0] if len(memos) == 1 else None)
        self._update_actions()

    def _on_table_double_clicked(self, index) -> None:
        if index.column() != MemoTableModel.TITLE:
            self.player.toggle()

    def _on_import_action_triggered(self) -> None:
        paths, _ = QFileDialog.getOpenFileNames(self, "Import audio files", str(Path.home()), AUDIO_FILTER)
        self.import_files(paths)

    def _on_import_finished(self, outcome: tuple[tuple[AddResult, ...], tuple[str, ...]]) -> None:
        added, problems = outcome
        if added:
            self.status_reported.emit(f"Imported {len(added)} file(s): {added[-1].message}")
        for problem in problems:
            self.error_occurred.emit(f"Import failed: {problem}")
        self.refresh()

    def _on_rename_action_triggered(self) -> None:
        memos = self.selected_memos()
        if len(memos) == 1 and (row := self.model.row_of(memos[0].id)) is not None:
            self.table.edit(self.model.index(row, MemoTableModel.TITLE))

    def _on_model_title_edited(self, memo_id: str, title: str) -> None:
        self._runner.submit(lambda ctx: ctx.library.rename(memo_id, title), self._context(),
                            on_result=self._on_renamed,
                            on_error=lambda exc: self._on_action_failed("Rename failed", exc))

    def _on_renamed(self, memo: Memo) -> None:
        self.model.replace_memo(memo)
        self._on_table_selection_changed()
        self.status_reported.emit(f"Renamed to '{memo.title}'")

    def _on_delete_action_triggered(self) -> None:
        memos = self.selected_memos()
        if not memos:
            return
        self.commit_pending_deletions()  # one undo window at a time: an earlier deletion goes ahead now
        self._pending_delete = tuple(m.id for m in memos)
        if self.player.playing_path in {m.audio_path for m in memos}:
            self.player.stop()
        self.model.hide(self._pending_delete)
        what = f"'{memos[0].title}'" if len(memos) == 1 else f"{len(memos)} memos"
        self.undo_bar.show_message(f"Deleted {what}.", action_text="Undo", action=self._on_undo_delete,
                                   timeout_ms=UNDO_WINDOW_MS, on_timeout=self.commit_pending_deletions)

    def _on_undo_delete(self) -> None:
        memo_ids, self._pending_delete = self._pending_delete, ()
        self.model.unhide(memo_ids)
        self.status_reported.emit("Deletion undone")

    def _on_delete_finished(self, memo_ids: tuple[str, ...]) -> None:
        self.model.drop(memo_ids)
        self.status_reported.emit(f"Deleted {len(memo_ids)} memo(s)")
        self.refresh()

    def _on_delete_failed(self, memo_ids: tuple[str, ...], exc: BaseException) -> None:
        self.model.unhide(memo_ids)
        self._on_action_failed("Delete failed", exc)
        self.refresh()

    def _on_player_audio_needed(self, memo: Memo) -> None:
        self.status_reported.emit(f"Fetching '{memo.title}' from the object store…")
        self._runner.submit(fetch_audio, self._context(), memo, on_result=self._on_audio_fetched,
                            on_error=self._on_audio_fetch_failed)

    def _on_audio_fetched(self, memo: Memo) -> None:
        self.model.replace_memo(memo)
        self.player.play_memo(memo)

    def _on_audio_fetch_failed(self, exc: BaseException) -> None:
        self.player.fetch_failed()
        self._on_action_failed("Cannot play", exc)

    def _on_copy_link_action_triggered(self) -> None:
        memos = self.selected_memos()
        if len(memos) != 1:
            return
        self._runner.submit(download_link, self._context(), memos[0], on_result=self._on_link_ready,
                            on_error=lambda exc: self._on_action_failed("No download link", exc))

    def _on_link_ready(self, url: str) -> None:
        QGuiApplication.clipboard().setText(url)
        self.status_reported.emit("Download link copied to the clipboard")

    def _on_analyze_action_triggered(self) -> None:
        self._queue_processing("analyze")

    def _on_compress_action_triggered(self) -> None:
        self._queue_processing("compress")

    def _on_transcribe_action_triggered(self) -> None:
        self._queue_processing("transcribe")

    def _queue_processing(self, operation: str) -> None:
        memos = tuple(m for m in self.selected_memos() if m.upload_state is UploadState.UPLOADED)
        if not memos:
            return
        noun = PROCESS_NOUNS[operation]
        self._runner.submit(process_memos, self._context(), memos, operation,
                            on_result=lambda outcome: self._on_processing_queued(noun, memos, outcome),
                            on_error=lambda exc: self._on_action_failed(f"{noun.capitalize()} not queued", exc))

    def _on_processing_queued(self, noun: str, memos: tuple[Memo, ...],
                              outcome: tuple[tuple[str, ...], tuple[str, ...]]) -> None:
        job_ids, problems = outcome
        if job_ids:
            what = f"'{memos[0].title}'" if len(memos) == 1 else f"{len(job_ids)} memos"
            self.status_reported.emit(f"Queued {noun} of {what}")
        for problem in problems:
            self.error_occurred.emit(f"{noun.capitalize()} not queued: {problem}")

    def _probe_transcription(self) -> None:
        """Is transcription installed, for the current settings? Asked again only when the settings change."""
        settings = self._context().settings
        if settings is self._probed_settings:
            return
        self._probed_settings = settings
        self._runner.submit(transcribe.transcription_available, settings, key="transcription-available",
                            on_result=self._on_transcription_probed)

    def _on_transcription_probed(self, available: bool) -> None:
        self.transcribe_action.setVisible(available)

    def _on_action_failed(self, what: str, exc: BaseException) -> None:
        self.error_occurred.emit(f"{what}: {describe_error(exc)}")
        self.refresh()

    # -- drag and drop ------------------------------------------------------------------------------------------------
    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        if event.mimeData().hasUrls() and any(u.isLocalFile() for u in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        paths = [Path(u.toLocalFile()) for u in event.mimeData().urls() if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.import_files(paths)

    def _update_actions(self) -> None:
        memos = self.selected_memos()
        self.rename_action.setEnabled(len(memos) == 1)
        self.delete_action.setEnabled(bool(memos))
        self.copy_link_action.setEnabled(len(memos) == 1 and memos[0].upload_state is UploadState.UPLOADED)
        uploaded = bool(memos) and all(m.upload_state is UploadState.UPLOADED for m in memos)
        for action in (self.analyze_action, self.compress_action, self.transcribe_action):
            action.setEnabled(uploaded)
