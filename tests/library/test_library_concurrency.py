"""Several threads and processes write to one library at once: nothing is lost, nobody sees 'database is locked'."""

from __future__ import annotations

import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

from memo_desktop.core.library import Library, UploadState

# Each writer adds memos and walks each one through the upload states, as workers and the recorder do.
_WRITER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from memo_desktop.core.library import Library
    db, audio, tone, go, count, tag = sys.argv[1:7]
    library = Library(Path(db), Path(audio))
    while not Path(go).exists():
        time.sleep(0.005)
    for i in range(int(count)):
        memo = library.add_file(tone, title=f"{tag} {i}")
        library.set_upload_state(memo.id, "queued", job_id=f"{tag}-{i}")
        library.set_upload_state(memo.id, "uploaded", object_key=f"memos/{memo.id}")
        library.list(limit=20)
""")


def _write_memos(library: Library, tone: Path, count: int, tag: str) -> None:
    for i in range(count):
        memo = library.add_file(tone, title=f"{tag} {i}")
        library.set_upload_state(memo.id, UploadState.QUEUED, job_id=f"{tag}-{i}")
        library.set_upload_state(memo.id, UploadState.UPLOADED, object_key=f"memos/{memo.id}")
        library.list(limit=20)


def test_writers_in_many_threads(library, tone):
    errors: list[BaseException] = []

    def writer(tag: str) -> None:
        try:
            _write_memos(library, tone, 15, tag)
        except BaseException as exc:  # collected and re-raised by the assertion below
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(f"t{n}",)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)

    assert not errors, errors
    memos = library.list()
    assert len(memos) == 90 == len({m.id for m in memos})
    assert all(m.upload_state is UploadState.UPLOADED for m in memos)
    assert sorted(p.name for p in library.audio_dir.iterdir()) == sorted(m.audio_path.name for m in memos)


def race_two_writer_processes(db: Path, audio: Path, tone: Path, go: Path, count: int,
                              meanwhile=lambda: None) -> list[tuple[int, str]]:
    """Two processes each add `count` memos once `go` appears (while `meanwhile()` runs here); their exit codes
    and stderr."""
    procs = [subprocess.Popen([sys.executable, "-c", _WRITER, str(db), str(audio), str(tone), str(go), str(count),
                               f"p{n}"], stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parents[2])
             for n in range(2)]
    try:
        time.sleep(0.3)  # both interpreters are up and waiting
        go.touch()
        meanwhile()
        return [(p.wait(timeout=120), p.stderr.read()) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
            p.stderr.close()


def test_writers_in_two_processes(library, tone, tmp_path):
    library.count()  # the schema exists before the race, as after any first start
    outcomes = race_two_writer_processes(library.db_path, library.audio_dir, tone, tmp_path / "go", 25,
                                         meanwhile=lambda: _write_memos(library, tone, 25, "main"))
    assert outcomes == [(0, ""), (0, "")]
    memos = library.list()
    assert len(memos) == 75
    assert {m.title.split()[0] for m in memos} == {"p0", "p1", "main"}
    assert all(m.upload_state is UploadState.UPLOADED and m.job_id for m in memos)


def test_schema_creation_races_safely(tmp_path, tone):
    """Two processes opening a brand-new library at the same moment both migrate it without an error."""
    db, audio = tmp_path / "fresh.sqlite3", tmp_path / "fresh-audio"
    outcomes = race_two_writer_processes(db, audio, tone, tmp_path / "go", 3)
    assert outcomes == [(0, ""), (0, "")]
    assert Library(db, audio).count() == 6
