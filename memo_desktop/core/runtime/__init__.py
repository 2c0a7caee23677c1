"""The one runtime of a process: it builds, owns and stops everything the process runs.

    runtime = Runtime(settings, RuntimePlan(...), listener)
    runtime.start()               # a StartReport; raises MemoError when the plan cannot run
    runtime.wait(stop_requested)  # until stop is set, a fatal problem (`failure`), or a burst pool drained
    runtime.stop()                # ordered and bounded; closed after

The GUI (`ui.service_host`), `memo-desktop worker`, `services` and every one-shot command are shells over it: each
picks a plan and forwards what its `RuntimeListener` hears. States: new -> running -> stopping -> closed; a closed
runtime refuses use (`RuntimeClosed`). Job functions get their context from the pool that runs them, and each pool
gets its runtime's context: two runtimes in one process (before and after a settings change) never mix.

Start, in order:
1. the library, when the plan uses it (opening it recovers interrupted recordings);
2. Redis, when the plan needs it (the embedded server is started or reused). It answers: the Redis parts start now.
   Unreachable: they start when it answers (`wait_for_redis`), else start fails. Refused credentials, a bad
   setting, an embedded server that cannot start: start fails (`refused_is_fatal`), else the runtime waits;
3. the object store, when jobs need it (`needs_store`): down, the pool's gate stays closed until it answers;
4. the supervisor thread: probes Redis and the store (one log line and one listener call per change of state,
   capped backoff while down), revives a dead embedded service, re-queues local memos every REQUEUE_SECONDS and
   whenever Redis comes back. A refusal while running ends a headless runtime (`finished`, `failure`).

The plan's own `parts` (an HTTP server...) start right after the library, whether Redis answers or not. The Redis
parts, in order: the event hub (the process's one job-event subscription), re-queueing, the worker pool, the result
collector, the queue watcher, then the plan's `redis_parts` (schedules, alerts...). Stop runs in reverse, the plan's
parts first, each step bounded; a part that does not stop in time is logged and the next step still runs.
"""

from memo_desktop.core.runtime.plan import (ConnectionState, Part, PartFactory, RuntimeListener, RuntimePlan,
                                            RuntimeState, StartReport, WorkerPlan)
from memo_desktop.core.runtime.runtime import Runtime, start_worker_pool

__all__ = ["ConnectionState", "Part", "PartFactory", "Runtime", "RuntimeListener", "RuntimePlan", "RuntimeState",
           "StartReport", "WorkerPlan", "start_worker_pool"]
