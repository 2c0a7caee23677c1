"""Only job functions the app registers ever run: a shared Redis must not become remote code execution.

rq resolves a job's function (and its callbacks) by importing a dotted path stored in Redis. `RegisteredJob`
resolves functions through this registry instead, refuses everything else with `UnregisteredJobError` (a permanent
failure: it lands in failed at once, with the reason), and never runs callbacks or webhooks named by a job.

A job function is called as `func(context, payload)`: `context` is what the worker pool running the job was given
(its AppContext: settings, Redis, library, object store). There is no process-wide context, so two pools in one
process (the old and the new one around a settings change) never mix.
"""

from __future__ import annotations

import functools
import importlib
import threading
from typing import Any, Callable

from rq.job import Job

from memo_desktop.core.errors import ConfigError, MemoError, UnregisteredJobError

JobFunction = Callable[[Any, dict], Any]  # (the pool's context, the payload) -> a JSON result

_functions: dict[str, JobFunction] = {}
_lock = threading.Lock()

# The modules whose import registers the app's own job functions.
APP_JOB_MODULES = ("memo_desktop.core.jobs.tasks",)


def job_name(func: JobFunction) -> str:
    return f"{func.__module__}.{func.__qualname__}"


def register(func: JobFunction) -> JobFunction:
    """Decorator: allow workers to run `func` (called with the pool's context and the job's payload dict)."""
    with _lock:
        _functions[job_name(func)] = func
    return func


def resolve(name: str | None) -> JobFunction:
    try:
        return _functions[name or ""]
    except KeyError:
        raise UnregisteredJobError(
            f"refused to run job function '{name}': it is not a registered memo-desktop job function"
        ) from None


def registered_names() -> list[str]:
    return sorted(_functions)


def load_job_modules(extra: tuple[str, ...] = ()) -> None:
    """Import the app's job modules plus the configured `job_modules` (local configuration, never Redis)."""
    for module in (*APP_JOB_MODULES, *extra):
        try:
            importlib.import_module(module)
        except ImportError as exc:
            raise ConfigError(f"setting 'job_modules': cannot import '{module}': {exc}") from None


class RegisteredJob(Job):
    """An rq Job whose function comes from the registry, with no callbacks or webhooks taken from Redis."""

    # set on the running instance when a stopping pool gave the job back to its queue: the thread still running
    # it must not write progress or an outcome any more
    handed_back = False
    # set on the running instance by the worker that runs it: what the job function receives
    context: Any = None

    @property
    def func(self) -> Callable[..., Any]:
        func = resolve(self.func_name)
        if self.context is None:
            raise MemoError(f"job {self.id} has no context: job functions run only in a worker pool")
        return functools.partial(func, self.context)

    @property
    def success_callback(self) -> None:
        return None

    @property
    def failure_callback(self) -> None:
        return None

    @property
    def stopped_callback(self) -> None:
        return None

    def send_webhooks(self, *args: Any, **kwargs: Any) -> None:
        return None
