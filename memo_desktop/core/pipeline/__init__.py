"""The memo pipeline: the library is the source of truth; the queue carries the work.

    add_memo        import a file (or a finished recording) and queue its upload
    queue_upload    the origin design's addFileUploadJob: queue one memo's upload (idempotent)
    requeue_pending at every start and when Redis is back: memos without a live job are queued again
    delete_memo     remove a memo locally and queue the deletion of its objects
    queue_process   queue analyze / compress / transcribe of an uploaded memo

When Redis is unreachable, memos stay `local` and the result says so; nothing is lost.
"""

from memo_desktop.core.pipeline.memos import (AddResult, add_file_upload_job, add_memo, delete_memo, queue_process,
                                              queue_upload, requeue_pending)

__all__ = ["AddResult", "add_file_upload_job", "add_memo", "delete_memo", "queue_process", "queue_upload",
           "requeue_pending"]
