"""Make a WAV file whose writer died (or hit a full disk) valid again, in place.

The samples of an interrupted recording are on disk; only the sizes in the header may be wrong: 0 (the writer was
killed before its first header update), too small (killed between updates) or too large (a write failed half-way
on a full disk). The fix is to set the RIFF and `data` sizes from the file's real length and cut a trailing partial
frame. Patching the header in place needs no free space, which matters exactly when the disk is full; rewriting
the file would need as much space again.
"""

from __future__ import annotations

import os
import re
import struct
from dataclasses import dataclass
from pathlib import Path

from memo_desktop.core.errors import RecorderError

_CHUNK_ID = re.compile(rb"[ -~]{4}")  # printable ASCII, as every RIFF chunk id is


@dataclass(frozen=True)
class RepairResult:
    frames: int
    repaired: bool  # False: the header was already right


def repair_wav_header(path: Path) -> RepairResult:
    with open(path, "r+b") as f:
        file_size = os.fstat(f.fileno()).st_size
        head = f.read(12)
        if len(head) < 12 or head[:4] != b"RIFF" or head[8:12] != b"WAVE":
            raise RecorderError(f"{path.name} is not a RIFF/WAVE file; it cannot be repaired")
        block_align = 0
        pos = 12
        while pos + 8 <= file_size:
            f.seek(pos)
            chunk_id, declared = struct.unpack("<4sI", f.read(8))
            if chunk_id == b"fmt ":
                fmt = f.read(min(declared, 16))
                if len(fmt) < 14:
                    break
                block_align = struct.unpack_from("<H", fmt, 12)[0]
            elif chunk_id == b"data":
                if block_align <= 0:
                    break
                return _fix_data_chunk(f, path, file_size, data_offset=pos + 8, declared=declared,
                                       block_align=block_align)
            pos += 8 + declared + (declared & 1)
        raise RecorderError(f"{path.name} has no usable 'fmt ' and 'data' chunks; it cannot be repaired")


def _fix_data_chunk(f, path: Path, file_size: int, *, data_offset: int, declared: int,
                    block_align: int) -> RepairResult:
    on_disk = (file_size - data_offset) // block_align * block_align
    end_of_declared = data_offset + declared + (declared & 1)
    if declared <= on_disk and end_of_declared < file_size:
        f.seek(end_of_declared)
        if _CHUNK_ID.fullmatch(f.read(4)):
            # A chunk follows the data (a cleanly closed file with trailing metadata): the sizes are right.
            return RepairResult(frames=declared // block_align, repaired=False)
    riff_size = data_offset + on_disk - 8
    f.seek(4)
    current_riff = struct.unpack("<I", f.read(4))[0]
    if declared == on_disk and current_riff == riff_size and file_size == data_offset + on_disk:
        return RepairResult(frames=on_disk // block_align, repaired=False)
    f.seek(4)
    f.write(struct.pack("<I", riff_size))
    f.seek(data_offset - 4)
    f.write(struct.pack("<I", on_disk))
    f.truncate(data_offset + on_disk)  # drop a trailing partial frame
    f.flush()
    os.fsync(f.fileno())
    return RepairResult(frames=on_disk // block_align, repaired=True)
