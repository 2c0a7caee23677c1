"""The SQLite schema and its migrations, versioned with PRAGMA user_version.

To change the schema, append a step to MIGRATIONS (never edit a released one): step i takes a database at version i
to version i + 1. Every process runs `migrate()` when it first opens the library; the steps run inside one
`BEGIN IMMEDIATE` transaction, so two processes starting together cannot both apply them.
"""

from __future__ import annotations

import sqlite3

from memo_desktop.core.errors import LibraryError

MIGRATIONS: tuple[str, ...] = (
    # 1: memos, their derived copies, and the indexes listing and the upload pass need
    """
    CREATE TABLE memos (
        id           TEXT PRIMARY KEY,
        title        TEXT NOT NULL,
        created_at   REAL NOT NULL,
        duration     REAL NOT NULL,
        audio_file   TEXT NOT NULL,            -- relative to the audio dir, so the data dir can move
        size         INTEGER NOT NULL,
        mime_type    TEXT NOT NULL,
        sha256       TEXT NOT NULL,
        upload_state TEXT NOT NULL DEFAULT 'local'
                     CHECK (upload_state IN ('local', 'queued', 'uploading', 'uploaded', 'failed')),
        upload_error TEXT NOT NULL DEFAULT '',
        object_key   TEXT NOT NULL DEFAULT '',
        job_id       TEXT NOT NULL DEFAULT '',
        recovered    INTEGER NOT NULL DEFAULT 0,
        transcript   TEXT NOT NULL DEFAULT '',
        analysis     TEXT NOT NULL DEFAULT '{}', -- a JSON object
        updated_at   REAL NOT NULL
    );
    CREATE INDEX memos_by_created ON memos (created_at, id);
    CREATE INDEX memos_by_upload_state ON memos (upload_state);
    CREATE TABLE variants (
        memo_id    TEXT NOT NULL REFERENCES memos (id) ON DELETE CASCADE,
        format     TEXT NOT NULL,
        file       TEXT NOT NULL,              -- relative to the audio dir when inside it
        object_key TEXT NOT NULL DEFAULT '',
        size       INTEGER NOT NULL,
        PRIMARY KEY (memo_id, format)
    );
    """,
    # 2: the transcript's language, as detected (or given), and how sure the detection was (NULL: not detected)
    """
    ALTER TABLE memos ADD COLUMN transcript_language TEXT NOT NULL DEFAULT '';
    ALTER TABLE memos ADD COLUMN transcript_language_probability REAL
    """,
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> None:
    """Bring the database to SCHEMA_VERSION. `conn` must be in autocommit mode (isolation_level=None)."""
    # journal_mode cannot change inside a transaction; WAL lets readers work while another process writes.
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise LibraryError(f"the memo library was written by a newer memo-desktop (schema {version}, this "
                               f"version knows up to {SCHEMA_VERSION}); update the app")
        for step in range(version, SCHEMA_VERSION):
            for statement in _statements(MIGRATIONS[step]):
                conn.execute(statement)
            # PRAGMA takes no parameters; the value is an int we computed
            conn.execute(f"PRAGMA user_version = {step + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise


def _statements(script: str) -> list[str]:
    # executescript() would COMMIT our transaction first; split it ourselves (no ';' inside our literals)
    return [s.strip() for s in script.split(";") if s.strip()]
