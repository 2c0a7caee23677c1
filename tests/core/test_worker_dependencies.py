"""A headless `memo-desktop worker` against its dependencies, as systemd would run it: Redis down at start (burst:
one clear line and a non-zero exit; long-running: it waits, says so once, and drains the queue when Redis comes up),
SIGTERM while waiting, refused Redis credentials (non-zero at once, no retry storm), and the object store down or
refusing its credentials."""

from __future__ import annotations

import signal
import socket
import threading
import time

import pytest
import redis

from memo_desktop.core.config import load_settings
from memo_desktop.core.jobs.client import JobQueue
from tests.core.conftest import QUEUE, job, state_of, wait_until
from tests.fixtures.redis_servers import test_redis  # noqa: F401  (fixture)


def _one_line_error(worker, contains: str) -> None:
    output = worker.output()
    assert "Traceback" not in output, output
    errors = [line for line in output.splitlines() if line.startswith("memo-desktop: error:")]
    assert len(errors) == 1 and contains in errors[0], output


def test_burst_worker_with_redis_down_exits_1_with_one_line(worker_process, tmp_path):
    worker = worker_process("burst-down", "--burst", url=f"unix://{tmp_path}/nobody.sock")
    assert worker.wait(20) == 1
    _one_line_error(worker, "nobody.sock is not reachable")


def test_worker_waits_for_redis_then_drains_the_queue(worker_process, test_redis, data_dir):
    server = test_redis()
    worker = worker_process("patient", "--concurrency", "2", url=server.url())
    wait_until(lambda: "waiting for Redis" in worker.output(), 15, message="the worker to say it waits")
    time.sleep(2.5)  # several retries happen meanwhile: none of them may print another line
    assert worker.popen.poll() is None, worker.output()
    server.start()
    jobs = JobQueue(redis.Redis.from_url(server.url()), load_settings({"data_dir": str(data_dir)}, environ={}))
    ids = [jobs.enqueue_function(QUEUE, job("echo"), {"value": i}) for i in range(5)]
    wait_until(lambda: all(state_of(jobs, i) == "completed" for i in ids), 40, interval=0.2,
               message="the queue drained once Redis is up")
    worker.kill(signal.SIGTERM)
    assert worker.wait(15) == 0, worker.output()
    lines = worker.output().splitlines()
    assert sum("is not reachable" in line for line in lines) == 1, lines  # one line per change of state
    assert sum(line.startswith("Redis: connected") for line in lines) == 1, lines
    assert "Traceback" not in worker.output()


def test_sigterm_while_waiting_for_redis_exits_at_once(worker_process, tmp_path):
    worker = worker_process("waiting", url=f"unix://{tmp_path}/nobody.sock")
    wait_until(lambda: "waiting for Redis" in worker.output(), 15, message="the worker to wait")
    asked = time.monotonic()
    worker.kill(signal.SIGTERM)
    assert worker.wait(10) == 0, worker.output()
    assert time.monotonic() - asked < 3


@pytest.mark.parametrize("burst", [True, False], ids=["burst", "long-running"])
def test_refused_redis_password_exits_1_at_once(worker_process, test_redis, burst):
    server = test_redis(password="right-password").start()
    worker = worker_process("refused", *(["--burst"] if burst else []), url=server.url(password="wrong"))
    assert worker.wait(15) == 1
    _one_line_error(worker, "refused the credentials")
    assert "right-password" not in worker.output() and "wrong" not in worker.output()


def test_unreachable_object_store_keeps_jobs_waiting_until_it_answers(worker_process, ctx, object_store_server):
    """The worker takes no job while its store is down (no attempt is burnt); it starts once the store answers."""
    _, address = object_store_server
    with socket.socket() as probe:  # a free port where the store will appear
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    worker = worker_process("store-down", env={"MEMO_S3_ENDPOINT": f"127.0.0.1:{port}"})
    wait_until(lambda: "cannot reach bucket" in worker.output(), 15, message="the worker to report the store")
    job_id = ctx.jobs.enqueue_function(QUEUE, job("echo"), {"value": "held"})
    time.sleep(2.0)
    assert state_of(ctx.jobs, job_id) == "waiting" and ctx.jobs.status(job_id).attempts_made == 0
    with _forward(port, address.removeprefix("http://")):
        wait_until(lambda: state_of(ctx.jobs, job_id) == "completed", 45, interval=0.25,
                   message="the job to run once the store answers")
        worker.kill(signal.SIGTERM)
        assert worker.wait(15) == 0, worker.output()
    assert "Traceback" not in worker.output()


def test_refused_object_store_credentials_exit_1_at_once(worker_process):
    worker = worker_process("store-refused", env={"MEMO_S3_SECRET_KEY": "not-the-secret"})
    assert worker.wait(20) == 1
    _one_line_error(worker, "credentials")
    assert "not-the-secret" not in worker.output()


class _forward:
    """A TCP forwarder from 127.0.0.1:`port` to `target` (host:port): the object store appearing on that port."""

    def __init__(self, port: int, target: str) -> None:
        host, target_port = target.rsplit(":", 1)
        self._target = (host, int(target_port))
        self._listener = socket.create_server(("127.0.0.1", port))
        self._listener.settimeout(0.2)
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def __enter__(self) -> _forward:
        self._spawn(self._accept)
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(5)
        self._listener.close()

    def _spawn(self, target, *args) -> None:
        thread = threading.Thread(target=target, args=args, name="test-forward", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                client, _ = self._listener.accept()
            except TimeoutError:
                continue
            upstream = socket.create_connection(self._target)
            for a, b in ((client, upstream), (upstream, client)):
                self._spawn(self._pipe, a, b)

    def _pipe(self, source: socket.socket, sink: socket.socket) -> None:
        source.settimeout(0.2)
        try:
            while not self._stop.is_set():
                try:
                    data = source.recv(65536)
                except TimeoutError:
                    continue
                if not data:
                    break
                sink.sendall(data)
        except OSError:
            pass
        finally:
            for s in (source, sink):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
