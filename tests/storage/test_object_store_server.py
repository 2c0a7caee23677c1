"""The embedded `weed mini`: start, reuse, stop, side by side, and after crashes of its owner or of weed itself."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import pytest

from memo_desktop.core.services.managed import pid_alive
from memo_desktop.core.services.object_store_server import PORT_FLAGS, ObjectStoreServer, choose_ports
from tests.fixtures.object_store import assert_service_gone, store_for, weed_sockets

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def server(tmp_path):
    """A server of the test's own; stopped (whatever the test did) and checked gone afterwards."""
    service = ObjectStoreServer(tmp_path / "object-store")
    yield service
    pid = service.status().pid or service._read_state().get("pid")
    service.stop()
    assert_service_gone(pid, service)


def _pid(service: ObjectStoreServer) -> int:
    status = service.status()
    assert status.running and status.pid
    return status.pid


def test_start_reuse_and_stop_when_the_last_user_leaves(server, tmp_path):
    address = server.acquire()
    pid = _pid(server)

    assert server.acquire() == address and _pid(server) == pid, "a second acquire reuses the running server"
    assert server.status().users == (str(os.getpid()),)
    assert address == f"http://127.0.0.1:{server.ports()['s3.port']}"
    assert set(server.ports()) == set(PORT_FLAGS) and len(set(server.ports().values())) == len(PORT_FLAGS)
    credentials_file = server.root / "credentials.json"
    assert stat.S_IMODE(credentials_file.stat().st_mode) == 0o600
    cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode()
    assert server.credentials().secret_key not in cmdline, "the secret never goes on the command line"
    assert "-master.telemetry=false" in cmdline and f"-dir={server.root / 'data'}" in cmdline

    server.release()

    assert_service_gone(pid, server)
    assert not server.status().running


def test_data_ports_and_presigned_urls_survive_a_restart(server, tmp_path):
    address = server.acquire()
    store = store_for(server, address)
    payload = tmp_path / "a.wav"
    payload.write_bytes(b"voice" * 1000)
    key = store.object_key_for("m1", "ab" * 32, "wav")
    store.upload(payload, key)
    url = store.presigned_url(key, expiry=300)
    store.close()
    server.stop()

    assert server.acquire() == address, "free ports are reused, so earlier URLs still point at the store"
    with urllib.request.urlopen(url, timeout=10) as response:
        assert response.read() == payload.read_bytes()


def test_two_data_dirs_run_side_by_side(tmp_path, object_store_server):
    first, second = (ObjectStoreServer(tmp_path / name) for name in ("one", "two"))
    pids = []
    try:
        addresses = [first.acquire(), second.acquire()]
        pids = [_pid(first), _pid(second)]
        session_server, _ = object_store_server

        assert addresses[0] != addresses[1]
        all_ports = [p for s in (first, second, session_server) for p in s.ports().values()]
        assert len(all_ports) == len(set(all_ports)) == 3 * len(PORT_FLAGS)
        assert first.credentials() != second.credentials()
        for service, address in zip((first, second), addresses):
            store = store_for(service, address)
            store.ensure_bucket()
            store.close()
    finally:
        for service in (first, second):  # both stopped before any check fails: a failed check must not leak one
            service.stop()
        for service, pid in zip((first, second), pids + [None, None]):
            assert_service_gone(pid, service)


def test_choose_ports_keeps_free_previous_ports_and_replaces_taken_ones(object_store_server):
    session_server, _ = object_store_server
    fresh = choose_ports({})

    assert choose_ports(fresh) == fresh
    taken = choose_ports(session_server.ports())  # those are in use by the session server
    assert not set(taken.values()) & set(session_server.ports().values())


_OWNER = textwrap.dedent("""
    import sys, time
    from pathlib import Path
    from memo_desktop.core.services.object_store_server import ObjectStoreServer
    print(ObjectStoreServer(Path(sys.argv[1])).acquire(), flush=True)
    time.sleep(600)
""")


def test_a_sigkilled_owners_server_is_reused(server):
    owner = subprocess.Popen([sys.executable, "-c", _OWNER, str(server.root)], stdout=subprocess.PIPE, text=True,
                             cwd=REPO)
    try:
        address = owner.stdout.readline().strip()
        weed_pid = _pid(server)
        owner.send_signal(signal.SIGKILL)
        owner.wait(timeout=10)
    finally:
        if owner.poll() is None:
            owner.kill()
            owner.wait()
        owner.stdout.close()

    assert pid_alive(weed_pid), "weed outlives its owner (own session): the next user can take it over"
    assert server.status().users == (), "the dead owner's lease no longer counts"
    assert server.acquire() == address and _pid(server) == weed_pid
    server.release()
    assert_service_gone(weed_pid, server)


def test_a_killed_weed_is_restarted_on_the_next_acquire(server):
    address = server.acquire()
    old_pid = _pid(server)
    os.kill(old_pid, signal.SIGKILL)
    assert_service_gone(old_pid)
    assert weed_sockets(server.ports()), "a killed weed leaves sockets in /tmp (cleaned up by the next start/stop)"

    assert server.acquire() == address
    new_pid = _pid(server)
    assert new_pid != old_pid
    store = store_for(server, address)
    store.ensure_bucket()
    store.close()


@pytest.mark.slow  # the frozen process ignores SIGTERM: ~10 s pass before the SIGKILL
def test_a_hung_weed_is_replaced(server):
    """Alive but not answering (SIGSTOP): the recorded process is ended and a new one started."""
    server.acquire()
    old_pid = _pid(server)
    os.kill(old_pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        server.acquire()
        assert _pid(server) != old_pid
        assert time.monotonic() - start < 20
    finally:
        if pid_alive(old_pid):
            os.kill(old_pid, signal.SIGKILL)
    assert_service_gone(old_pid)
