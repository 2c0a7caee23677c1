"""File processing: the `analyze`, `compress` and `transcribe` operations of `file-process` jobs.

    run_process(ctx, payload, progress)   the job body (memo_desktop.core.jobs.tasks.process_file calls it)
    pick_up_result(ctx, result)           results computed on another machine -> this library
    load_transcript(ctx, memo_id)         local transcript, else the object store's

Where results go: the object store (next to the audio: `keys`), the job result, and, where the memo lives, the
library and the audio dir (`local_results`).
"""

from memo_desktop.core.processing.jobs import run_process
from memo_desktop.core.processing.pickup import load_transcript, pick_up_result

__all__ = ["load_transcript", "pick_up_result", "run_process"]
