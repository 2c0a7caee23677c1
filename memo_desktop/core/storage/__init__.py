"""The S3 object store the app uploads memos to (over the minio SDK; errors are the app's StorageError tree).

    store = ObjectStore(StoreConfig.from_settings(settings, secret_key=get_secret(settings, S3_SECRET_KEY)))
    key = store.object_key_for(memo.id, memo.sha256, memo.extension)
    if not store.has_object(key, memo.size):
        store.upload(memo.audio_path, key, content_type=memo.mime_type, sha256=memo.sha256, progress=report)
    url = store.presigned_url(key)
    store.delete_memo(memo.id)
"""

from memo_desktop.core.storage.store import (ObjectInfo, ObjectStore, ProgressCallback, StoreConfig,
                                             UploadResult)

__all__ = ["ObjectInfo", "ObjectStore", "ProgressCallback", "StoreConfig", "UploadResult"]
