"""A library written by the previous version (schema 1) opens, keeps its memos, and takes transcript languages."""

from __future__ import annotations

import sqlite3

from memo_desktop.core.library import Library
from memo_desktop.core.library.schema import MIGRATIONS, SCHEMA_VERSION, _statements
from tests.fixtures.audio import write_tone


def test_a_schema_1_library_is_migrated_in_place(tmp_path):
    db = tmp_path / "library.sqlite3"
    conn = sqlite3.connect(db, isolation_level=None)
    for statement in _statements(MIGRATIONS[0]):
        conn.execute(statement)
    conn.execute("PRAGMA user_version = 1")
    conn.execute("INSERT INTO memos (id, title, created_at, duration, audio_file, size, mime_type, sha256, transcript, "
                 "updated_at) VALUES ('old-memo', 'Before the update', 1.0, 2.0, 'old-memo.wav', 10, 'audio/wav', "
                 "?, 'hello there', 1.0)", ("0" * 64,))
    conn.close()

    library = Library(db, tmp_path / "audio")
    memo = library.get("old-memo")
    assert memo.title == "Before the update" and memo.transcript == "hello there"
    assert memo.transcript_language == "" and memo.transcript_language_probability is None
    with sqlite3.connect(db) as check:
        assert check.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION == 2

    updated = library.set_transcript("old-memo", "guten tag", "de", 0.68)
    assert (updated.transcript_language, updated.transcript_language_probability) == ("de", 0.68)
    assert updated.as_dict()["transcriptLanguage"] == "de"
    assert [m.id for m in library.list(search="guten")] == ["old-memo"]
    # a new memo in the migrated library, and a second process opening it (nothing runs twice)
    library.add_file(write_tone(tmp_path / "new.wav"), title="After")
    assert {m.title for m in Library(db, tmp_path / "audio").list()} == {"Before the update", "After"}
