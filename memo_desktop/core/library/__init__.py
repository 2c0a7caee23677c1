"""The memo library: memos and their audio files (SQLite index + files in the audio dir). No Qt here.

    library = Library.from_settings(settings)
    memo = library.add_file("talk.wav")                 # validated, copied in, state `local`
    library.set_upload_state(memo.id, UploadState.QUEUED, job_id=job.id)
    library.list(search="budget", limit=50)            # newest first
"""

from memo_desktop.core.library.library import Library
from memo_desktop.core.library.models import Memo, UploadState, Variant, check_memo_id, new_memo_id

__all__ = ["Library", "Memo", "UploadState", "Variant", "check_memo_id", "new_memo_id"]
