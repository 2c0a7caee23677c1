"""Library listing/search speed against a baseline measured in the same run: a bare `SELECT *` of the same rows.

    .venv/bin/python bench/bench_library.py [COUNT]
"""

from __future__ import annotations

import sqlite3
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memo_desktop.core.library import Library  # noqa: E402
from tests.library.conftest import bulk_insert  # noqa: E402
from timing import best_of  # noqa: E402

def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        library = Library(Path(tmp) / "library.sqlite3", Path(tmp) / "audio")
        bulk_insert(library, count)

        def bare_select() -> None:
            conn = sqlite3.connect(library.db_path)
            conn.execute("SELECT * FROM memos ORDER BY created_at DESC").fetchall()
            conn.close()

        baseline = best_of(5, bare_select)
        cases = {
            f"list() all {count}": lambda: library.list(),
            "list(limit=50, offset=1000)": lambda: library.list(limit=50, offset=1000),
            "list(search='budget')": lambda: library.list(search="budget"),
            "count()": lambda: library.count(),
            "get(id)": lambda: library.get(library.list(limit=1)[0].id),
        }
        print(f"baseline: bare SELECT * of {count} rows: {baseline * 1000:.1f} ms")
        for name, fn in cases.items():
            seconds = best_of(5, fn)
            print(f"{name:32s} {seconds * 1000:8.2f} ms   {seconds / baseline:6.2f}x baseline")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
