"""Embedded object store: weed start/stop time, and ObjectStore upload/download speed against a baseline measured in
the same run (one plain HTTP PUT of the same file to a presigned URL: the loopback limit for one stream).

    .venv/bin/python bench/bench_storage.py [MEGABYTES]
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

import urllib3

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from memo_desktop.core.services.object_store_server import ObjectStoreServer  # noqa: E402
from memo_desktop.core.storage import ObjectStore, StoreConfig  # noqa: E402
from timing import best_of  # noqa: E402

def main(megabytes: int) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        server = ObjectStoreServer(Path(tmp) / "object-store")
        start = time.perf_counter()
        address = server.acquire()
        print(f"weed mini cold start to authenticated S3 answer: {time.perf_counter() - start:.2f} s")
        try:
            credentials = server.credentials()
            store = ObjectStore(StoreConfig(endpoint=address.removeprefix("http://"), bucket="bench",
                                            access_key=credentials.access_key, secret_key=credentials.secret_key,
                                            region=ObjectStoreServer.region))
            store.ensure_bucket()
            path = Path(tmp) / "payload.bin"
            path.write_bytes(os.urandom(megabytes * 1024 * 1024))
            http = urllib3.PoolManager()

            def plain_put() -> None:
                url = store._client.presigned_put_object("bench", "baseline.bin", expires=timedelta(minutes=5))
                with open(path, "rb") as body:
                    response = http.request("PUT", url, body=body, headers={"Content-Length": str(path.stat().st_size)})
                assert response.status == 200, response.status

            baseline = best_of(3, plain_put)
            upload = best_of(3, lambda: store.upload(path, "memos/bench/0123456789abcdef.bin"))
            download = best_of(3, lambda: store.download("memos/bench/0123456789abcdef.bin", Path(tmp) / "back.bin"))
            for name, seconds in (("baseline: one plain PUT", baseline), ("ObjectStore.upload", upload),
                                  ("ObjectStore.download", download)):
                print(f"{name:28s} {megabytes / seconds:7.1f} MB/s   {baseline / seconds:5.2f}x baseline speed")
            store.close()
        finally:
            start = time.perf_counter()
            server.stop()
            print(f"weed mini stop (SIGTERM to exit): {time.perf_counter() - start:.2f} s")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100)
