"""Where processing results live in the object store: next to the audio they were made from.

    memos/<memo id>/<hash>.wav              the uploaded original (named by the upload job)
    memos/<memo id>/analysis.json           analyze
    memos/<memo id>/compressed.flac|.opus   compress
    memos/<memo id>/transcript.json|.txt|.srt|.vtt   transcribe

Fixed names under the memo's prefix: a machine that has only the memo id can find them, a repeated job overwrites
its own results instead of adding copies, and deleting the memo's prefix deletes them too.
"""

from __future__ import annotations

import posixpath

ANALYSIS_NAME = "analysis.json"


def derived_key(source_key: str, name: str) -> str:
    """The key of a result called `name` that belongs with the object `source_key`."""
    folder = posixpath.dirname(source_key)
    return f"{folder}/{name}" if folder else name


def transcript_name(fmt: str) -> str:
    return f"transcript.{fmt}"


def variant_name(extension: str) -> str:
    return f"compressed.{extension}"
