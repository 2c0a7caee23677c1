"""Library fixtures: a library in a temp dir and small real audio files."""

from __future__ import annotations

import sqlite3
import time
from pathlib import Path

import pytest

from memo_desktop.core.library import Library, new_memo_id
from tests.fixtures.audio import write_tone as shared_write_tone


def write_tone(path: Path, seconds: float = 0.25, rate: int = 16000, fmt: str | None = None,
               subtype: str | None = None) -> Path:
    """Short 16 kHz tones in the format's default encoding (what library tests import)."""
    return shared_write_tone(path, seconds, rate, fmt=fmt, subtype=subtype)


def bulk_insert(library: Library, count: int, transcript_every: int = 10) -> None:
    """Fill the index directly (no audio files): add_file's fsync per memo would make thousands take minutes."""
    library.count()  # creates the schema
    now = time.time()
    rows = [(new_memo_id(now - i), f"memo number {i}", now - i, 1.5, f"{i}.wav", 100, "audio/wav", "0" * 64,
             f"transcript of memo {i} says budget" if i % transcript_every == 0 else "", now)
            for i in range(count)]
    conn = sqlite3.connect(library.db_path)
    with conn:
        conn.executemany("INSERT INTO memos (id, title, created_at, duration, audio_file, size, mime_type, sha256, "
                         "transcript, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
    conn.close()


@pytest.fixture
def library(tmp_path) -> Library:
    return Library(tmp_path / "library.sqlite3", tmp_path / "audio")


@pytest.fixture
def tone(tmp_path) -> Path:
    return write_tone(tmp_path / "Team meeting.wav")
