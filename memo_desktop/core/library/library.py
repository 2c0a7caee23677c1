"""The memo library: an SQLite index plus the audio files in the audio dir. The source of truth of the app.

Safe from many threads and processes at once: every call opens its own short-lived connection (WAL journal, so
readers never wait for a writer), and writes take the write lock up front (`BEGIN IMMEDIATE`), so two writers queue
on SQLite's busy timeout instead of failing with a lock-upgrade deadlock. A file is always written before its row
and removed after it, so a crash can leave an orphan audio file (recoverable), never a row without a file.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterable, Iterator, Mapping

from memo_desktop.core.config import Settings, secure_state
from memo_desktop.core.errors import LibraryError, MemoNotFound
from memo_desktop.core.library.audio_file import copy_with_sha256, inspect_audio, move_into
from memo_desktop.core.library.models import Memo, UploadState, Variant, check_memo_id, new_memo_id
from memo_desktop.core.library.schema import migrate
from memo_desktop.core.private_files import PRIVATE_FILE, create_private_file, make_private_dir

# How long a call waits for another thread or process holding the write lock. Writes take milliseconds, so
# reaching this means something is stuck; the caller gets a LibraryError instead of a frozen thread.
BUSY_TIMEOUT = 5.0

# Explicit columns in a fixed order: rows are unpacked by position (sqlite3.Row lookups by name cost a third of
# a 5,000-memo listing).
_COLUMNS = ("id", "title", "created_at", "duration", "audio_file", "size", "mime_type", "sha256", "upload_state",
            "upload_error", "object_key", "job_id", "recovered", "transcript", "transcript_language",
            "transcript_language_probability", "analysis", "updated_at", "audio_local")
_SELECT = f"""
    SELECT {', '.join('m.' + c for c in _COLUMNS)},
           (SELECT json_group_array(json_object('format', v.format, 'file', v.file,
                                                'object_key', v.object_key, 'size', v.size))
              FROM variants v WHERE v.memo_id = m.id) AS variants_json
      FROM memos m
"""
_NEWEST_FIRST = " ORDER BY m.created_at DESC, m.id DESC"


class Library:
    """Memos and their audio files. Every method is safe to call from any thread; none of them blocks for long."""

    def __init__(self, db_path: Path, audio_dir: Path) -> None:
        self.db_path = Path(db_path)
        self.audio_dir = Path(audio_dir)
        self._migrated = False

    @classmethod
    def from_settings(cls, settings: Settings) -> Library:
        """The library of a data dir, which is made private first (see `config.secure_state`)."""
        try:
            secure_state(settings)
        except OSError as exc:
            raise LibraryError(f"the data dir {settings.data_dir} cannot be created or made private "
                               f"({exc.strerror or exc})") from None
        return cls(settings.library_db, settings.audio_dir)

    def __repr__(self) -> str:
        return f"Library({str(self.db_path)!r}, {str(self.audio_dir)!r})"

    # -- adding --------------------------------------------------------------------------------------------------------
    def add_file(self, path: Path | str, *, title: str | None = None, memo_id: str | None = None,
                 recovered: bool = False, move: bool = False, created_at: float | None = None) -> Memo:
        """Validate an audio file and take it into the library as a new memo (state `local`).

        The file is copied (or, with `move=True`, moved: for recordings already in the audio dir) to
        `<audio dir>/<memo id>.<ext>`, the extension following the real format. Raises BadAudioFile (names the file
        and the reason: missing, empty, a directory, unreadable, not audio) or LibraryError (the id is taken).
        """
        source = Path(path)
        facts = inspect_audio(source)
        memo_id = check_memo_id(memo_id) if memo_id is not None else new_memo_id()
        if self._exists(memo_id):
            raise LibraryError(f"a memo with id {memo_id!r} already exists")
        make_private_dir(self.audio_dir)
        dest = self.audio_dir / f"{memo_id}.{facts.extension}"
        try:
            sha256 = move_into(source, dest) if move else copy_with_sha256(source, dest)
        except FileExistsError:  # a copy never replaces audio already in the audio dir (it is another memo's)
            raise LibraryError(f"a memo with id {memo_id!r} already has an audio file, {dest}") from None
        now = time.time()
        row = {
            "id": memo_id,
            "title": _clean_title(title) or _default_title(source, memo_id, created_at or now),
            "created_at": created_at if created_at is not None else now,
            "duration": facts.duration,
            "audio_file": dest.name,
            "size": dest.stat().st_size,
            "mime_type": facts.mime_type,
            "sha256": sha256,
            "recovered": int(recovered),
            "updated_at": now,
        }
        try:
            with self._connect(write=True) as conn:
                conn.execute(f"INSERT INTO memos ({', '.join(row)}) VALUES ({', '.join('?' * len(row))})",
                             tuple(row.values()))
                return self._get(conn, memo_id)
        except BaseException:
            # A moved recording stays in the audio dir for the recovery pass; a copy is ours to remove, unless
            # another process added the same id meanwhile (the file is then its memo's audio).
            if not move and not self._exists(memo_id):
                dest.unlink(missing_ok=True)
            raise

    # -- reading -------------------------------------------------------------------------------------------------------
    def get(self, memo_id: str) -> Memo:
        with self._connect() as conn:
            return self._get(conn, memo_id)

    def list(self, search: str | None = None, limit: int | None = None, offset: int = 0) -> list[Memo]:
        """Memos newest first. `search`: every word must occur in the title or the transcript (case-insensitive)."""
        where, params = _search_clause(search)
        sql = _SELECT + where + _NEWEST_FIRST + " LIMIT ? OFFSET ?"
        with self._connect() as conn:
            rows = conn.execute(sql, (*params, -1 if limit is None else limit, offset)).fetchall()
        return [self._memo(row) for row in rows]

    def titles(self, memo_ids: Iterable[str]) -> dict[str, str]:
        """The titles of those of `memo_ids` that are in this library (one query; job lists name jobs by them)."""
        wanted = sorted({m for m in memo_ids if m})
        if not wanted:
            return {}
        with self._connect() as conn:
            rows = conn.execute(f"SELECT id, title FROM memos WHERE id IN ({', '.join('?' * len(wanted))})",
                                wanted).fetchall()
        return dict(rows)

    def count(self, search: str | None = None) -> int:
        where, params = _search_clause(search)
        with self._connect() as conn:
            return conn.execute("SELECT count(*) FROM memos m" + where, params).fetchone()[0]

    def memos_needing_upload(self, include_failed: bool = False) -> list[Memo]:
        """Memos whose audio is not (known to be) in the object store, oldest first.

        Always: `local` (never queued, e.g. Redis was down), `queued` and `uploading` (a job may have been lost in a
        crash; the caller checks `job_id` for a live job before enqueueing again). `failed` memos (every attempt
        used up) only with `include_failed=True`: whether to retry those, and when, is the caller's policy.
        """
        states = [UploadState.LOCAL, UploadState.QUEUED, UploadState.UPLOADING]
        if include_failed:
            states.append(UploadState.FAILED)
        sql = (_SELECT + f" WHERE m.upload_state IN ({', '.join('?' * len(states))})"
               + " ORDER BY m.created_at, m.id")
        with self._connect() as conn:
            rows = conn.execute(sql, [s.value for s in states]).fetchall()
        return [self._memo(row) for row in rows]

    # -- changing ------------------------------------------------------------------------------------------------------
    def rename(self, memo_id: str, title: str) -> Memo:
        cleaned = _clean_title(title)
        if not cleaned:
            raise LibraryError("a memo's title cannot be empty")
        return self._update(memo_id, title=cleaned)

    def set_upload_state(self, memo_id: str, state: UploadState | str, *, error: str | None = None,
                         object_key: str | None = None, job_id: str | None = None) -> Memo:
        """Record upload progress. `error` replaces the stored reason (None clears it); `object_key` and `job_id`
        are kept when None and replaced otherwise ("" clears them)."""
        try:
            state = UploadState(state)
        except ValueError:
            known = ", ".join(s.value for s in UploadState)
            raise LibraryError(f"unknown upload state {state!r} (known: {known})") from None
        changes: dict[str, Any] = {"upload_state": state.value, "upload_error": error or ""}
        if object_key is not None:
            changes["object_key"] = object_key
        if job_id is not None:
            changes["job_id"] = job_id
        return self._update(memo_id, **changes)

    def set_transcript(self, memo_id: str, text: str, language: str = "",
                       language_probability: float | None = None) -> Memo:
        """The transcript's plain text (searched by `list`), its language and how sure its detection was."""
        return self._update(memo_id, transcript=text, transcript_language=language,
                            transcript_language_probability=language_probability)

    def set_analysis(self, memo_id: str, analysis: Mapping[str, Any]) -> Memo:
        """Store a JSON object (results of the `analyze` job); replaces the previous one."""
        try:
            encoded = json.dumps(dict(analysis), allow_nan=False, sort_keys=True)
        except (TypeError, ValueError) as exc:
            raise LibraryError(f"a memo's analysis must be a JSON object: {exc}") from None
        return self._update(memo_id, analysis=encoded)

    def add_variant(self, memo_id: str, fmt: str, path: Path | str, *, object_key: str = "",
                    size: int | None = None) -> Memo:
        """Record (or replace) the `fmt` copy of a memo, e.g. its FLAC compression, and where it was uploaded."""
        path = Path(path)
        if size is None:
            try:
                size = path.stat().st_size
            except OSError as exc:
                raise LibraryError(f"variant file {path} cannot be read ({exc.strerror})") from None
        with self._connect(write=True) as conn:
            self._get(conn, memo_id)  # MemoNotFound before the foreign key would give a vaguer error
            conn.execute(
                "INSERT INTO variants (memo_id, format, file, object_key, size) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (memo_id, format) DO UPDATE SET file = excluded.file, "
                "object_key = excluded.object_key, size = excluded.size",
                (memo_id, fmt, self._stored_path(path), object_key, size))
            conn.execute("UPDATE memos SET updated_at = ? WHERE id = ?", (time.time(), memo_id))
            return self._get(conn, memo_id)

    def purge_local_audio(self, memo_id: str) -> Memo:
        """Delete an uploaded memo's local audio file (the caller verified its object first); the memo stays, its
        audio in the object store only. The row changes first: a crash leaves an orphan file, never a row that
        points at a missing one while saying it is local."""
        with self._connect(write=True) as conn:
            memo = self._get(conn, memo_id)
            if memo.upload_state is not UploadState.UPLOADED or not memo.object_key:
                raise LibraryError(f"memo {memo_id} is not uploaded ({memo.upload_state.value}): its audio stays")
            conn.execute("UPDATE memos SET audio_local = 0, updated_at = ? WHERE id = ?", (time.time(), memo_id))
            memo = self._get(conn, memo_id)
        if self._owns(memo.audio_path):
            memo.audio_path.unlink(missing_ok=True)
        return memo

    def restore_local_audio(self, memo_id: str, downloaded: Path | str) -> Memo:
        """Put a fetched copy of a memo's audio (verified by the caller) back in its place, private like every
        audio file of the library; local again."""
        memo = self.get(memo_id)
        os.chmod(downloaded, PRIVATE_FILE)
        os.replace(downloaded, memo.audio_path)
        return self._update(memo_id, audio_local=1)

    def delete(self, memo_id: str) -> Memo:
        """Remove a memo's row and its files in the audio dir (audio, variants, transcripts: every `<id>.*`);
        returns the memo as it was, so the caller can queue the deletion of its objects."""
        with self._connect(write=True) as conn:
            memo = self._get(conn, memo_id)
            conn.execute("DELETE FROM memos WHERE id = ?", (memo_id,))
        # memo ids hold no dots, so `<id>.*` names exactly this memo's files; a variant kept elsewhere is not ours
        for path in (*self.audio_dir.glob(f"{memo_id}.*"), *(v.path for v in memo.variants)):
            if self._owns(path):
                path.unlink(missing_ok=True)
        return memo

    # -- internals -----------------------------------------------------------------------------------------------------
    @contextmanager
    def _connect(self, write: bool = False) -> Iterator[sqlite3.Connection]:
        """A connection for one call; with `write`, one IMMEDIATE transaction committed on success.

        sqlite3 errors are translated here, once; LibraryErrors raised inside pass through (after a rollback).
        """
        conn = None
        try:
            if not self._migrated:
                # created 0600 before SQLite opens it: SQLite gives its -wal and -shm files the database's mode
                make_private_dir(self.db_path.parent)
                create_private_file(self.db_path)
            conn = sqlite3.connect(self.db_path, timeout=BUSY_TIMEOUT, isolation_level=None)
            conn.execute("PRAGMA foreign_keys = ON")
            # in WAL mode NORMAL cannot corrupt the database; a power cut may lose only the last commits
            conn.execute("PRAGMA synchronous = NORMAL")
            if not self._migrated:
                migrate(conn)
                self._migrated = True
            if not write:
                yield conn
                return
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _translate(exc, self.db_path) from exc
        except OSError as exc:
            raise LibraryError(f"the memo library at {self.db_path} cannot be opened ({exc.strerror})") from exc
        finally:
            if conn is not None:
                conn.close()

    def _exists(self, memo_id: str) -> bool:
        with self._connect() as conn:
            return conn.execute("SELECT 1 FROM memos WHERE id = ?", (memo_id,)).fetchone() is not None

    def _get(self, conn: sqlite3.Connection, memo_id: str) -> Memo:
        row = conn.execute(_SELECT + " WHERE m.id = ?", (memo_id,)).fetchone()
        if row is None:
            raise MemoNotFound(f"no memo with id {memo_id!r}")
        return self._memo(row)

    def _update(self, memo_id: str, **changes: Any) -> Memo:
        # column names come from this module only, never from callers
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._connect(write=True) as conn:
            cursor = conn.execute(f"UPDATE memos SET {assignments}, updated_at = ? WHERE id = ?",
                                  (*changes.values(), time.time(), memo_id))
            if cursor.rowcount == 0:
                raise MemoNotFound(f"no memo with id {memo_id!r}")
            return self._get(conn, memo_id)

    def _memo(self, row: tuple) -> Memo:
        (memo_id, title, created_at, duration, audio_file, size, mime_type, sha256, upload_state, upload_error,
         object_key, job_id, recovered, transcript, transcript_language, transcript_language_probability, analysis,
         updated_at, audio_local, variants_json) = row
        return Memo(
            id=memo_id,
            title=title,
            created_at=created_at,
            duration=duration,
            audio_path=self._resolved_path(audio_file),
            size=size,
            mime_type=mime_type,
            sha256=sha256,
            upload_state=UploadState(upload_state),
            upload_error=upload_error,
            object_key=object_key,
            job_id=job_id,
            recovered=bool(recovered),
            transcript=transcript,
            transcript_language=transcript_language,
            transcript_language_probability=transcript_language_probability,
            analysis={} if analysis == "{}" else json.loads(analysis),
            variants=() if variants_json == "[]" else self._variants(variants_json),
            updated_at=updated_at,
            audio_local=bool(audio_local),
        )

    def _variants(self, variants_json: str) -> tuple[Variant, ...]:
        variants = (Variant(format=v["format"], path=self._resolved_path(v["file"]), object_key=v["object_key"],
                            size=v["size"]) for v in json.loads(variants_json))
        return tuple(sorted(variants, key=lambda v: v.format))

    def _stored_path(self, path: Path) -> str:
        """Relative to the audio dir when inside it, so moving the data dir keeps the library valid."""
        absolute = path.absolute()
        try:
            return str(absolute.relative_to(self.audio_dir.absolute()))
        except ValueError:
            return str(absolute)

    def _owns(self, path: Path) -> bool:
        return path.absolute().is_relative_to(self.audio_dir.absolute())

    def _resolved_path(self, stored: str) -> Path:
        return self.audio_dir / stored  # an absolute stored path wins over the join


def _clean_title(title: str | None) -> str:
    return " ".join((title or "").split())


def _default_title(source: Path, memo_id: str, created_at: float) -> str:
    """The imported file's name; recordings (named after their id) get their date instead."""
    if source.stem != memo_id and _clean_title(source.stem):
        return _clean_title(source.stem)
    return time.strftime("Memo %Y-%m-%d %H:%M", time.localtime(created_at))


def _search_clause(search: str | None) -> tuple[str, list[str]]:
    words = (search or "").split()
    if not words:
        return "", []
    clauses, params = [], []
    for word in words:
        pattern = "%" + word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        clauses.append("(m.title LIKE ? ESCAPE '\\' OR m.transcript LIKE ? ESCAPE '\\')")
        params += [pattern, pattern]
    return " WHERE " + " AND ".join(clauses), params


def _translate(exc: sqlite3.Error, db_path: Path) -> LibraryError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return LibraryError(f"the memo library at {db_path} is busy: another process held it for more than "
                            f"{BUSY_TIMEOUT:.0f} s")
    if isinstance(exc, sqlite3.DatabaseError) and ("malformed" in text or "not a database" in text):
        return LibraryError(f"the memo library at {db_path} is damaged ({text})")
    return LibraryError(f"the memo library at {db_path} failed: {text}")
