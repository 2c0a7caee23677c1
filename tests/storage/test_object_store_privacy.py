"""The embedded `weed mini` gives out data only through its S3 port, with the right credentials.

An attacker here is any local process without the store's files: it knows every port (they are on 127.0.0.1), the
bucket and the object key. Each probe has a positive control run as the owner (with the store's certificate or JWT
key), so a probe that finds nothing cannot be one that could never find anything.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import http.client
import json
import os
import socket
import ssl
import stat
import subprocess
import time
import tomllib
from pathlib import Path

import pytest

from memo_desktop.core.services.object_store_security import exposed_ports
from memo_desktop.core.services.object_store_server import HOST, SOCKET_DIR, ObjectStoreServer, find_weed
from memo_desktop.core.storage import ObjectStore
from tests.fixtures.object_store import assert_service_gone, store_for, weed_sockets

H2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])  # preface + empty SETTINGS


# -- what the attacker (and, as a control, the owner) can do -----------------------------------------------------------
def socket_inodes(pid: int) -> set[str]:
    inodes = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            target = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[len("socket:["):-1])
    return inodes


def unix_sockets_of(pid: int) -> list[Path]:
    """The unix sockets process `pid` listens on (its own: not another weed's leftovers with the same port number in
    a shared /tmp), from /proc/net/unix."""
    inodes = socket_inodes(pid)
    found = set()
    for line in Path("/proc/net/unix").read_text().splitlines()[1:]:
        fields = line.split()
        if len(fields) >= 8 and fields[6] in inodes and fields[7].startswith("/"):
            found.add(Path(fields[7]))
    return sorted(found)


def listening_ports(pid: int) -> set[int]:
    """The TCP ports process `pid` listens on, from its socket descriptors and /proc/net/tcp{,6}."""
    inodes = socket_inodes(pid)
    ports = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and fields[9] in inodes:  # 0A: LISTEN
                ports.add(int(fields[1].rsplit(":", 1)[1], 16))
    return ports


def http_request(port: int, method: str, path: str, body: bytes | None = None,
                 headers: dict[str, str] | None = None) -> tuple[int | None, bytes]:
    connection = http.client.HTTPConnection(HOST, port, timeout=5)
    try:
        connection.request(method, path, body=body, headers=headers or {})
        response = connection.getresponse()
        return response.status, response.read()
    except (OSError, http.client.HTTPException):
        return None, b""  # not an HTTP port (gRPC with TLS closes the connection)
    finally:
        connection.close()


def unix_http_get(socket_path: Path, path: str) -> bytes:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(5)
        sock.connect(str(socket_path))
        sock.sendall(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def grpc_answer(port: int, tls_dir: Path | None, client_cert: bool) -> bytes | None:
    """The first bytes a gRPC port sends back to an HTTP/2 hello: in the clear (`tls_dir` None) or over TLS."""
    try:
        with socket.create_connection((HOST, port), timeout=5) as raw:
            if tls_dir is None:
                raw.sendall(H2_HELLO)
                return raw.recv(9)
            context = ssl.create_default_context(cafile=str(tls_dir / "ca.crt"))
            context.set_alpn_protocols(["h2"])
            if client_cert:
                context.load_cert_chain(str(tls_dir / "store.crt"), str(tls_dir / "store.key"))
            with context.wrap_socket(raw, server_hostname=HOST) as tls:
                tls.sendall(H2_HELLO)
                return tls.recv(9)
    except (OSError, ssl.SSLError):
        return None


def is_h2_settings(head: bytes | None) -> bool:
    return bool(head) and len(head) > 3 and head[3] == 0x04


def weed_shell(server: ObjectStoreServer, commands: str, cwd: Path, timeout: float) -> bytes:
    """SeaweedFS's own admin shell, the obvious attacker's tool; run in `cwd` (the store dir = with its security.toml
    and certificate; any other dir = without them). Returns what it printed within `timeout`."""
    ports = server.ports()
    argv = [find_weed(), "shell", f"-master={HOST}:{ports['master.port']}.{ports['master.port.grpc']}",
            f"-filer={HOST}:{ports['filer.port']}.{ports['filer.port.grpc']}"]
    env = {"PATH": os.environ["PATH"], "HOME": str(cwd)}
    try:
        return subprocess.run(argv, input=commands.encode() + b"\nexit\n", cwd=cwd, env=env, capture_output=True,
                              timeout=timeout).stdout
    except subprocess.TimeoutExpired as exc:  # run() has killed it
        return exc.stdout or b""


def volume_jwt(server: ObjectStoreServer, fid: str) -> str:
    """A read token for `fid` signed with the store's key: what weed's S3 gateway sends (the owner's control)."""
    key = tomllib.loads((server.root / "security.toml").read_text())["jwt"]["signing"]["read"]["key"]

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    signed = b64(b'{"alg":"HS256","typ":"JWT"}') + b"." + b64(json.dumps({"fid": fid, "exp": int(time.time()) + 60}).encode())
    return (signed + b"." + b64(hmac.new(key.encode(), signed, hashlib.sha256).digest())).decode()


# -- fixtures --------------------------------------------------------------------------------------------------------
@pytest.fixture
def uploaded(object_store_server, object_store: ObjectStore, tmp_path):
    """A memo's audio (incompressible, so the volume holds it byte for byte) and a small JSON object in the store."""
    audio, note = os.urandom(300_000), json.dumps({"title": "private thoughts " + os.urandom(8).hex()}).encode()
    keys = {}
    for name, data in (("audio", audio), ("note", note)):
        path = tmp_path / name
        path.write_bytes(data)
        keys[name] = object_store.object_key_for("m-private", hashlib.sha256(data).hexdigest(), "bin")
        object_store.upload(path, keys[name])
    return {"audio": audio, "note": note, "keys": keys, "bucket": object_store.bucket}


def _fids(server: ObjectStoreServer, bucket: str, key: str) -> list[str]:
    """The volume file ids of an object, read by the owner through weed's shell (with the store's certificate)."""
    out = weed_shell(server, f"fs.meta.cat /buckets/{bucket}/{key}", server.root, timeout=60)
    entry = json.loads(out[out.index(b"{"):out.rindex(b"}") + 1])
    return [chunk["fileId"] for chunk in entry["chunks"]]


# -- tests -----------------------------------------------------------------------------------------------------------
def test_no_port_gives_an_unauthenticated_reader_any_audio_or_name(object_store_server, uploaded):
    server, _ = object_store_server
    pid = server.status().pid
    ports = listening_ports(pid)
    names = {port: flag for flag, port in server.ports().items()}
    assert ports and ports <= set(names), f"weed listens on ports the app did not choose: {ports - set(names)}"
    bucket, audio_key, note_key = uploaded["bucket"], uploaded["keys"]["audio"], uploaded["keys"]["note"]
    fids = _fids(server, bucket, audio_key) + _fids(server, bucket, note_key)
    assert fids, "the owner sees where the audio is"

    paths = [f"/buckets/{bucket}/{audio_key}", f"/buckets/{bucket}/{note_key}", f"/buckets/{bucket}/",
             f"/buckets/{bucket}/memos/m-private/", "/buckets/", "/", f"/{bucket}/{audio_key}", f"/{bucket}/",
             f"/{bucket}?list-type=2", "/dir/assign", "/dir/status", "/vol/status", "/status", "/ui/index.html",
             "/cluster/status", "/collection/info", *(f"/{fid}" for fid in fids),
             *(f"/dir/lookup?fileId={fid}&read=yes" for fid in fids), *(f"/{fid}?jwt=" for fid in fids)]
    secrets_seen = (uploaded["audio"][:4096], uploaded["note"], b"m-private", b"private thoughts")
    answered = {}
    for port in sorted(ports):
        for path in paths:
            status, body = http_request(port, "GET", path)
            answered.setdefault(names[port], set()).add(status)
            leaked = [s for s in secrets_seen if s in body and s not in path.encode()]  # not an echo of the path
            assert not leaked, f"{names[port]} ({port}) GET {path} -> {status} gave away {leaked[0][:40]!r}"
    assert answered["s3.port"] <= {403, 200, 400}, "S3 refuses anything unsigned (200 only for /status)"
    assert answered["volume.port"] <= {401, 200}, "the volume wants a JWT (200 only for /status, /healthz)"
    assert answered["filer.port"] == {404}, "the filer has no HTTP API"
    master = server.ports()["master.port"]
    for path in ("/dir/assign", f"/dir/lookup?fileId={fids[0]}&read=yes"):  # they would hand out signed tokens
        assert http_request(master, "GET", path)[0] == 404, f"the master's HTTP API answers {path}"
    status, body = http_request(server.ports()["volume.port"], "GET", f"/{fids[0]}",
                                headers={"Authorization": "Bearer " + volume_jwt(server, fids[0])})
    assert status == 200 and body == uploaded["audio"], "control: with the store's key the same request reads it"


def test_an_unauthenticated_writer_changes_nothing(object_store_server, object_store, uploaded, tmp_path):
    server, _ = object_store_server
    bucket, key = uploaded["bucket"], uploaded["keys"]["audio"]
    fid = _fids(server, bucket, key)[0]
    volume_id = fid.split(",")[0]
    forged = b"forged audio" * 100
    targets = [f"/buckets/{bucket}/{key}", f"/buckets/{bucket}/memos/m-private/forged.bin", f"/{bucket}/{key}",
               f"/{bucket}/forged.bin", f"/{fid}", f"/{volume_id},0000000001deadbeef", "/submit", "/dir/assign",
               f"/col/delete?collection={bucket}", "/vol/vacuum", "/vol/grow?count=1"]
    form = (b"--b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"x\"\r\n\r\n" + forged + b"\r\n--b--\r\n")
    for port in sorted(listening_ports(server.status().pid)):
        for path in targets:
            http_request(port, "PUT", path, body=forged)
            http_request(port, "POST", path, body=form, headers={"Content-Type": "multipart/form-data; boundary=b"})
            http_request(port, "DELETE", path)

    assert object_store.list_keys("memos/") == sorted(uploaded["keys"].values())
    for name, data in (("audio", uploaded["audio"]), ("note", uploaded["note"])):
        assert object_store.download(uploaded["keys"][name], tmp_path / f"{name}.back").read_bytes() == data


def test_grpc_ports_refuse_a_client_without_the_store_certificate(object_store_server, uploaded, tmp_path):
    server, _ = object_store_server
    tls = server.root / "tls"
    grpc_ports = {flag: port for flag, port in server.ports().items() if flag.endswith(".grpc")}
    live = listening_ports(server.status().pid)
    assert set(grpc_ports.values()) - live <= {server.ports()["admin.port.grpc"]}, "weed serves these gRPC ports"
    for flag, port in grpc_ports.items():
        if port not in live:
            continue
        assert not is_h2_settings(grpc_answer(port, None, client_cert=False)), f"{flag} speaks gRPC in the clear"
        assert not is_h2_settings(grpc_answer(port, tls, client_cert=False)), f"{flag} accepts TLS without a cert"
        assert is_h2_settings(grpc_answer(port, tls, client_cert=True)), f"control: {flag} answers the store's cert"

    path = f"/buckets/{uploaded['bucket']}/{uploaded['keys']['audio']}"
    owner = weed_shell(server, f"fs.cat {path}", server.root, timeout=60)
    assert uploaded["audio"] in owner, "control: weed's shell with the store's certificate reads the audio"
    attacker = weed_shell(server, f"fs.cat {path}\nfs.ls -l /buckets/{uploaded['bucket']}/memos/m-private",
                          tmp_path, timeout=5)
    assert uploaded["audio"][:4096] not in attacker and b"m-private" not in attacker


def test_weed_sockets_and_security_files_are_private_and_secrets_stay_out_of_argv_env_and_logs(
        object_store_server, uploaded):
    server, _ = object_store_server
    ports = server.ports()
    sockets = unix_sockets_of(server.status().pid)
    assert sockets, "weed mini serves its parts on unix sockets in /tmp too"
    assert set(sockets) <= set(weed_sockets(ports))  # named after its ports, which is how they are cleaned up
    for sock in sockets:
        assert stat.S_IMODE(sock.stat().st_mode) & 0o077 == 0, f"{sock} is open to other users"
    filer_socket = SOCKET_DIR / f"seaweedfs-filer-{ports['filer.port']}.sock"
    answer = unix_http_get(filer_socket, f"/buckets/{uploaded['bucket']}/{uploaded['keys']['audio']}")
    assert answer.startswith(b"HTTP/1.1 404") and uploaded["audio"][:4096] not in answer

    security = server.root / "security.toml"
    for path in (security, *(server.root / "tls").iterdir(), server.root / "credentials.json"):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    assert stat.S_IMODE((server.root / "tls").stat().st_mode) == 0o700
    keys = [section["key"] for section in _jwt_sections(tomllib.loads(security.read_text()))]
    assert len(keys) == 4 and len(set(keys)) == 4
    pid = server.status().pid
    visible = [Path(f"/proc/{pid}/cmdline").read_bytes(), Path(f"/proc/{pid}/environ").read_bytes()]
    visible += [p.read_bytes() for p in (server.root / "logs").iterdir() if p.is_file()]
    visible.append((server.root / "object-store.out").read_bytes())
    for secret in (*keys, (server.root / "tls" / "store.key").read_text().splitlines()[1]):
        assert not any(secret.encode() in blob for blob in visible), "a signing key leaked into argv, env or logs"


def _jwt_sections(config: dict) -> list[dict]:
    jwt = config["jwt"]
    return [jwt["signing"], jwt["signing"]["read"], jwt["filer_signing"], jwt["filer_signing"]["read"]]


class _OlderStore(ObjectStoreServer):
    """The store as an older app version ran it: no security.toml, filer and master HTTP APIs on."""

    def _prepare(self):
        argv, env, address = super()._prepare()
        (self.root / "security.toml").unlink()
        return [a for a in argv if a != "-disableHttp"], env, address

    def is_healthy(self, address: str) -> bool:
        return self._answers_s3(address)


def test_a_running_store_that_answers_without_credentials_is_replaced(tmp_path, monkeypatch):
    monkeypatch.setenv("WEED_JWT_SIGNING_READ_KEY", "a key the user exported in a shell")
    older = _OlderStore(tmp_path / "object-store")
    older_pid = None
    try:
        older.acquire()
        older_pid = older.status().pid
        assert set(exposed_ports(HOST, older.ports())) >= {"filer.port", "master.port", "volume.port",
                                                          "filer.port.grpc", "master.port.grpc"}
        current = ObjectStoreServer(older.root)
        address = current.acquire()
        pid = current.status().pid
        assert pid != older_pid, "the exposed store was stopped and a private one started"
        assert exposed_ports(HOST, current.ports()) == []
        environment = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        assert not [v for v in environment if v.startswith(b"WEED_")], "the user's WEED_* variables stay out"
        store = store_for(current, address)
        store.ensure_bucket()
        store.close()
    finally:
        server = ObjectStoreServer(tmp_path / "object-store")
        pid = server.status().pid or server._read_state().get("pid")
        server.stop()
        assert_service_gone(pid, server)
        assert_service_gone(older_pid)
