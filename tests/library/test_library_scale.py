"""Thousands of memos: listing and searching stay instant (real timings are in bench/bench_library.py)."""

from __future__ import annotations

import time

from tests.library.conftest import bulk_insert


def test_listing_and_searching_5000_memos_is_quick(library):
    bulk_insert(library, 5000)

    start = time.perf_counter()
    memos = library.list()
    list_seconds = time.perf_counter() - start
    start = time.perf_counter()
    page = library.list(limit=50, offset=100)
    found = library.list(search="budget")
    search_seconds = time.perf_counter() - start

    assert len(memos) == 5000 and library.count() == 5000
    assert [m.created_at for m in memos] == sorted((m.created_at for m in memos), reverse=True)
    assert page == memos[100:150]
    assert len(found) == 500
    # loose sanity bounds (a shared 2-core machine); the bench measures properly
    assert list_seconds < 0.5, f"listing 5,000 memos took {list_seconds:.3f} s"
    assert search_seconds < 0.5, f"paging + searching took {search_seconds:.3f} s"
