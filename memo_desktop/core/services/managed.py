"""A daemon shared by every memo-desktop process that uses the same data dir.

Each user process takes a *lease* (a file named after its pid); `services start` takes a *pinned* lease. The first
process to need the service starts it; later ones reuse it; after a crash the next start reuses a healthy orphan or
restarts a dead one. When a process releases its lease and no live lease remains, the service is stopped, so the
process that started it (or the last one still using it) stops it and nothing is left running.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import signal
import subprocess
import time
from abc import ABC, abstractmethod
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from memo_desktop.core.errors import ServiceError
from memo_desktop.core.private_files import atomic_write_text, create_private_file, make_private_dir, open_private

log = logging.getLogger(__name__)

PINNED = "pinned"


@dataclass(frozen=True)
class ServiceStatus:
    name: str
    running: bool
    pid: int | None
    address: str | None
    users: tuple[str, ...]

    def as_dict(self) -> dict:
        return {"name": self.name, "running": self.running, "pid": self.pid, "address": self.address,
                "users": list(self.users)}


def write_state_file(path: Path, data: dict) -> None:
    """A service's small JSON state (pid, address, ports): private, replaced whole (a reader never sees half)."""
    atomic_write_text(path, json.dumps(data, indent=2, sort_keys=True), durable=False)


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # a zombie child of ours still answers kill(0); reap it if it is ours
    try:
        done, _ = os.waitpid(pid, os.WNOHANG)
        return done == 0
    except ChildProcessError:
        return True


class ManagedService(ABC):
    """Start / reuse / stop one daemon whose state lives in `root`."""

    name: str = "service"
    start_timeout: float = 15.0

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self._leases = self.root / "leases"
        self._state_file = self.root / "state.json"
        self._popen: subprocess.Popen | None = None

    # -- what a subclass provides -----------------------------------------------------------------------------------
    @abstractmethod
    def _prepare(self) -> tuple[list[str], dict[str, str] | None, str]:
        """Write config files; return (argv, environment or None, address)."""

    @abstractmethod
    def is_healthy(self, address: str) -> bool:
        """Does the service at `address` answer correctly right now?"""

    # -- public lifecycle ---------------------------------------------------------------------------------------------
    def acquire(self, pinned: bool = False) -> str:
        """Make sure the service runs and hold a lease on it; returns its address."""
        with self._locked():
            address = self._running_address()
            if address is None:
                address = self._start()
            self._add_lease(PINNED if pinned else str(os.getpid()))
            return address

    def ensure_running(self) -> str:
        """Start the service again if it died while leased (leases stay as they are); returns its address."""
        with self._locked():
            address = self._running_address()
            if address is None:
                log.warning("the embedded %s was not running (it died?); starting it again", self.name)
                address = self._start()
            return address

    def release(self, pinned: bool = False) -> None:
        """Drop this process's lease (or the pinned one); stop the service when nobody uses it any more."""
        with self._locked():
            self._remove_lease(PINNED if pinned else str(os.getpid()))
            if not self._live_leases():
                self._stop()

    def stop(self) -> None:
        """Stop regardless of leases (`services stop`)."""
        with self._locked():
            for lease in self._leases.glob("*"):
                lease.unlink(missing_ok=True)
            self._stop()

    def status(self) -> ServiceStatus:
        state = self._read_state()
        address = self._running_address()
        return ServiceStatus(self.name, address is not None, state.get("pid") if address else None, address,
                             tuple(sorted(self._live_leases())))

    # -- internals ------------------------------------------------------------------------------------------------------
    @contextmanager
    def _locked(self) -> Iterator[None]:
        make_private_dir(self.root)
        with open(open_private(self.root / "lock"), "w") as fh:
            fcntl.flock(fh, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(fh, fcntl.LOCK_UN)

    def _read_state(self) -> dict:
        try:
            return json.loads(self._state_file.read_text())
        except (OSError, ValueError):
            return {}

    def _running_address(self) -> str | None:
        state = self._read_state()
        pid, address = state.get("pid"), state.get("address")
        if pid and address and pid_alive(pid) and self.is_healthy(address):
            return address
        return None

    def _start(self) -> str:
        self._kill_leftover()
        argv, env, address = self._prepare()
        log = open(open_private(self.root / f"{self.name}.out", os.O_WRONLY | os.O_APPEND), "ab")
        try:
            # umask 077: whatever the daemon writes (data, logs, sockets) is private like the rest of the state
            self._popen = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                                           env=env, cwd=self.root, start_new_session=True, umask=0o077)
        except OSError as exc:
            raise ServiceError(f"cannot start {self.name} ({argv[0]}): {exc.strerror}") from None
        finally:
            log.close()
        write_state_file(self._state_file, {"pid": self._popen.pid, "address": address})
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._popen.poll() is not None:
                raise ServiceError(f"{self.name} exited at start (code {self._popen.returncode}); "
                                   f"see {self.root / (self.name + '.out')}")
            if self.is_healthy(address):
                return address
            time.sleep(0.02)
        self._terminate(self._popen.pid)
        raise ServiceError(f"{self.name} did not become ready within {self.start_timeout:.0f} s")

    def _kill_leftover(self) -> None:
        """A recorded pid that is alive but unhealthy is a hung leftover of a crash: end it before restarting."""
        pid = self._read_state().get("pid")
        if pid and pid_alive(pid):
            self._terminate(pid)

    def _stop(self) -> None:
        pid = self._read_state().get("pid")
        if pid and pid_alive(pid):
            self._terminate(pid)
        self._state_file.unlink(missing_ok=True)
        self._after_stop()

    def _after_stop(self) -> None:
        """Remove leftovers (sockets and the like); nothing by default."""

    def _terminate(self, pid: int, grace: float = 10.0) -> None:
        try:
            os.kill(pid, signal.SIGTERM)
            os.kill(pid, signal.SIGCONT)  # a stopped (SIGSTOPped) service handles its SIGTERM only once resumed
        except ProcessLookupError:
            return
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline:
            if not pid_alive(pid):
                break
            time.sleep(0.02)
        else:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if self._popen is not None and self._popen.pid == pid:
            self._popen.wait(timeout=5)
            self._popen = None

    def _add_lease(self, name: str) -> None:
        make_private_dir(self._leases)
        create_private_file(self._leases / name)

    def _remove_lease(self, name: str) -> None:
        (self._leases / name).unlink(missing_ok=True)

    def _live_leases(self) -> list[str]:
        live = []
        for lease in self._leases.glob("*"):
            if lease.name == PINNED or (lease.name.isdigit() and pid_alive(int(lease.name))):
                live.append(lease.name)
            else:
                lease.unlink(missing_ok=True)  # the process that held it is gone
        return live
