"""What keeps the embedded `weed mini` private: only its S3 endpoint, with the app's credentials, gives out data.

weed mini runs a master, a volume server, a filer, an S3 gateway and an admin server, each with an HTTP and a gRPC
port on 127.0.0.1. Left as they are, any local user reads every memo through the filer's HTTP port or any gRPC port
(`weed shell` needs no password). At every start the store gets a fresh `security.toml` (0600, in the service dir,
which is weed's working directory; weed prefers it to ~/.seaweedfs/ and /etc/seaweedfs/):

- JWT signing keys for the volume server and the filer: an HTTP read or write of a volume needle needs a token
  signed with them (weed's S3 gateway signs its own; nobody else has the keys) -> the volume port answers 401.
- mutual TLS on every gRPC port, with a CA made for this start only (its private key is never written, so no other
  certificate can be issued): a client without the store's certificate is refused during the TLS handshake.
- with `-disableHttp` (a flag, see ObjectStoreServer) the filer's and the master's HTTP APIs are off (404): no
  listing, no `/dir/assign`, `/dir/lookup` handing out signed tokens.

Fresh keys and certificates at every start rather than once: nothing weed signs with them outlives the process
(JWTs live 10 s, the certificates only join weed's own parts), so there is nothing to migrate or to leak later.
`exposed_ports` checks the running store: a store that answers without credentials (an older version's orphan, or a
weed build that ignores this file) is not used.
"""

from __future__ import annotations

import datetime
import http.client
import ipaddress
import secrets
import socket
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from memo_desktop.core.private_files import atomic_write_text, make_private_dir

SECURITY_FILE = "security.toml"
TLS_DIR = "tls"
# weed's TLS sections: one per component that serves or dials gRPC (weed mini runs most of them in one process)
GRPC_COMPONENTS = ("master", "volume", "filer", "s3", "admin", "worker", "msg_broker", "msg_agent", "mq", "client")
JWT_SECTIONS = ("jwt.signing", "jwt.signing.read", "jwt.filer_signing", "jwt.filer_signing.read")
CERT_VALIDITY = datetime.timedelta(days=3650)
# an HTTP/2 client preface and an empty SETTINGS frame: a plaintext gRPC server answers with its own SETTINGS frame
_H2_HELLO = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + bytes([0, 0, 0, 4, 0, 0, 0, 0, 0])
_H2_SETTINGS = 0x04
_PROBE_TIMEOUT = 1.0


def write_security_config(root: Path) -> Path:
    """Write fresh JWT keys, a CA and a certificate for weed into `root` (all 0600, `tls/` 0700); returns the file.

    Paths in the file are relative: weed runs with `root` as its working directory."""
    tls = make_private_dir(root / TLS_DIR)
    cert_pem, key_pem, ca_pem = _new_certificate()
    for name, pem in (("ca.crt", ca_pem), ("store.crt", cert_pem), ("store.key", key_pem)):
        atomic_write_text(tls / name, pem, durable=False)
    lines = ["# written by memo-desktop at every start of its object store: edits are replaced", ""]
    for section in JWT_SECTIONS:
        lines += [f"[{section}]", f'key = "{secrets.token_urlsafe(32)}"', ""]
    lines += ["[access]", "ui = false", "", "[filer.expose_directory_metadata]", "enabled = false", ""]
    lines += ["[grpc]", f'ca = "{TLS_DIR}/ca.crt"', ""]
    for component in GRPC_COMPONENTS:
        lines += [f"[grpc.{component}]", f'cert = "{TLS_DIR}/store.crt"', f'key = "{TLS_DIR}/store.key"', ""]
    path = root / SECURITY_FILE
    atomic_write_text(path, "\n".join(lines), durable=False)
    return path


def exposed_ports(host: str, ports: dict[str, int]) -> list[str]:
    """The ports of a running store that answer without credentials: plaintext gRPC, the filer's or the master's
    HTTP API, volume reads without a token. A port nobody listens on exposes nothing."""
    exposed = []
    for flag, port in sorted(ports.items()):
        if flag.endswith(".grpc"):
            if _answers_plaintext_grpc(host, port):
                exposed.append(flag)
        elif flag == "filer.port" and _http_status(host, port, "/") == 200:
            exposed.append(flag)
        elif flag == "master.port" and _http_status(host, port, "/dir/status") == 200:
            exposed.append(flag)
        elif flag == "volume.port" and _http_status(host, port, "/") not in (None, 401):
            exposed.append(flag)
    return exposed


def _answers_plaintext_grpc(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=_PROBE_TIMEOUT) as sock:
            sock.sendall(_H2_HELLO)
            head = sock.recv(9)
    except OSError:
        return False
    return len(head) > 3 and head[3] == _H2_SETTINGS


def _http_status(host: str, port: int, path: str) -> int | None:
    connection = http.client.HTTPConnection(host, port, timeout=_PROBE_TIMEOUT)
    try:
        connection.request("GET", path)
        response = connection.getresponse()
        response.read()
        return response.status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        connection.close()


def _new_certificate() -> tuple[str, str, str]:
    """(certificate, private key, CA certificate) in PEM; the CA's own key is dropped once it has signed."""
    now = datetime.datetime.now(datetime.timezone.utc)
    start, end = now - datetime.timedelta(days=1), now + CERT_VALIDITY  # a day back: clocks that disagree a little
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "memo-desktop object store CA")])
    ca = (x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name).public_key(ca_key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
          .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
          .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False, key_encipherment=False,
                                       data_encipherment=False, key_agreement=False, key_cert_sign=True,
                                       crl_sign=True, encipher_only=False, decipher_only=False), critical=True)
          .sign(ca_key, hashes.SHA256()))
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "memo-desktop object store")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(ca_name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(start).not_valid_after(end)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                        x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
                           critical=False)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH, ExtendedKeyUsageOID.CLIENT_AUTH]),
                           critical=False)
            .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    key_pem = key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    return cert.public_bytes(pem).decode(), key_pem.decode(), ca.public_bytes(pem).decode()
