"""Job search and paging across queues and states: by job id, memo title or error text.

Without a query a page is read by range from each (queue, state) list in turn, using the counts to skip whole lists:
its cost does not grow with the number of jobs. With a query the search is a **bounded scan**: the newest
`SCAN_LIMIT` jobs of each listed (queue, state) are read in pipelined batches (each job's meta and data fields,
plus the latest result of failed jobs for their error) and matched in Python, case-insensitively; full rows are
read only for the page shown. Retention keeps histories short
(100 completed / 500 failed per queue by default), so the scan normally covers everything; when it does not, the
answer says `truncated` and how many jobs were looked at. Measured in `bench/bench_web.py`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Sequence

import zlib

from rq.exceptions import DeserializationError
from rq.job import Job
from rq.results import Result
from rq.serializers import JSONSerializer

from memo_desktop.core.jobs.client import TITLE_KEY, JobQueue, last_line
from memo_desktop.core.jobs.states import JobState
from memo_desktop.core.monitor.snapshot import HealthSnapshot, JobRow, TitleLookup, job_ids_page, memo_id_of, rows_for
from memo_desktop.core.queueing.lanes import known_queue_names
from memo_desktop.core.redis_errors import translate_redis_errors

# in the order a dashboard lists them: what runs now, what waits, what needs a look, what is done
LISTABLE_STATES = (JobState.ACTIVE, JobState.WAITING, JobState.SCHEDULED, JobState.FAILED, JobState.COMPLETED)
SCAN_LIMIT = 5000  # newest jobs per (queue, state) a search looks at
BATCH = 500


@dataclass(frozen=True)
class JobPage:
    rows: tuple[JobRow, ...]
    total: int  # jobs in the listed states (no query), or matches among those scanned
    offset: int
    scanned: int = 0  # jobs a query looked at
    truncated: bool = False  # a query stopped at SCAN_LIMIT in some list: older jobs were not searched


def _count(snapshot: HealthSnapshot, queue: str, state: JobState) -> int:
    counts = snapshot.counts_of(queue)  # a queue over its lanes, or one lane
    return int(getattr(counts, state.value, 0)) if counts is not None else 0


def page_jobs(jobs: JobQueue, snapshot: HealthSnapshot, queues: Sequence[str], states: Sequence[JobState],
              offset: int, limit: int, titles: TitleLookup | None = None) -> JobPage:
    """One page over several lists, in order (state by state, queue by queue), read by range."""
    sources = [(q, s, _count(snapshot, q, s)) for s in states for q in queues]
    total = sum(count for _, _, count in sources)
    ids: list[str] = []
    skip, want = offset, limit
    for queue, state, count in sources:
        if want <= 0:
            break
        if skip >= count:
            skip -= count
            continue
        taken = job_ids_page(jobs.connection, queue, state, skip, want)
        ids += taken
        want -= len(taken)
        skip = 0
    return JobPage(tuple(rows_for(jobs, ids, titles)), total, offset)


@translate_redis_errors
def _errors_of_failed(jobs: JobQueue, job_ids: Iterable[str]) -> dict[str, str]:
    """The last line of each failed job's latest error, in one pipelined round trip."""
    ids = list(job_ids)
    if not ids:
        return {}
    with jobs.connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.xrevrange(Result.get_key(job_id), "+", "-", count=1)
        answers = pipe.execute()
    errors = {}
    for job_id, entries in zip(ids, answers):
        if entries:
            result_id, payload = entries[0]
            result = Result.restore(job_id, result_id.decode(), payload, connection=jobs.connection,
                                    serializer=JSONSerializer)
            errors[job_id] = last_line(result.exc_string) if result.exc_string else ""
    return errors


def search_jobs(jobs: JobQueue, queues: Sequence[str], states: Sequence[JobState], query: str, offset: int,
                limit: int, titles: TitleLookup | None = None) -> JobPage:
    """Jobs whose id, memo id, title or error contains `query` (case-insensitive), newest first per list."""
    needle = query.strip().lower()
    matches: list[str] = []
    scanned, truncated = 0, False
    known = known_queue_names(jobs.connection)  # once, not once per list
    for state in states:
        for queue in queues:
            ids = job_ids_page(jobs.connection, queue, state, 0, SCAN_LIMIT + 1, known)
            truncated |= len(ids) > SCAN_LIMIT
            ids = ids[:SCAN_LIMIT]
            scanned += len(ids)
            for start in range(0, len(ids), BATCH):
                matches += _matching(jobs, ids[start:start + BATCH], state, needle, titles)
    page = rows_for(jobs, matches[offset:offset + limit], titles)  # full rows only for the page shown
    return JobPage(tuple(page), len(matches), offset, scanned, truncated)


@translate_redis_errors
def _matching(jobs: JobQueue, ids: list[str], state: JobState, needle: str, titles: TitleLookup | None) -> list[str]:
    """The ids among `ids` that match, reading only what is matched: each job's meta (its title) and data (its
    payload, for the memo id), not the whole hash (a full read of 500 jobs costs ~10x more to parse)."""
    with jobs.connection.pipeline(transaction=False) as pipe:
        for job_id in ids:
            pipe.hmget(Job.key_for(job_id), "meta", "data")
        raw = pipe.execute()
    errors = _errors_of_failed(jobs, ids) if state is JobState.FAILED else {}
    briefs = [(job_id, *_brief(jobs, job_id, meta, data)) for job_id, (meta, data) in zip(ids, raw)
              if data is not None]
    known = titles(memo_id for _, _, memo_id in briefs) if titles is not None else {}
    return [job_id for job_id, title, memo_id in briefs
            if any(needle in text.lower() for text in (job_id, title, memo_id, known.get(memo_id, ""),
                                                       errors.get(job_id, "")))]


def _brief(jobs: JobQueue, job_id: str, meta: bytes | None, data: bytes) -> tuple[str, str]:
    """(title stored at enqueue, memo id) of a job, through rq's own deserialization of its data."""
    job = Job(job_id, connection=jobs.connection, serializer=JSONSerializer)
    try:
        job.data = zlib.decompress(data)
    except zlib.error:  # rq's fallback too: data stored uncompressed
        job.data = data
    try:
        kwargs = job.kwargs
        stored = JSONSerializer.loads(meta) if meta else {}
    except (DeserializationError, ValueError):
        return "", ""
    payload = kwargs.get("payload", {}) if isinstance(kwargs, dict) else {}
    title = stored.get(TITLE_KEY, "") if isinstance(stored, dict) else ""
    return str(title or ""), memo_id_of(payload if isinstance(payload, dict) else {})
