"""The `compress` operation: a FLAC or Opus copy of a memo, uploaded next to the original.

The local recording is never touched (the library is the source of truth, and a background job must not destroy a
recording). With `keep_original = false` the variant replaces the *remote* original to save store space: once the
variant is uploaded and verified, the original object is deleted and the memo points at the variant.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from memo_desktop.core.audio import CompressFormat, compress_file, decoded_duration
from memo_desktop.core.context import AppContext
from memo_desktop.core.errors import BadProcessOptions, ProcessingError
from memo_desktop.core.library import UploadState
from memo_desktop.core.processing.keys import derived_key, variant_name
from memo_desktop.core.processing.local_results import local_memo, save_variant
from memo_desktop.core.processing.request import ProcessRequest, StageProgress

UPLOAD_SHARE = 0.1
# A variant must decode to the length it was written with; Opus pre-skip and resampling round to < 1 ms.
DURATION_TOLERANCE = 0.01


@dataclass(frozen=True)
class CompressOptions:
    format: CompressFormat
    opus_bitrate: int

    @classmethod
    def parse(cls, options: dict[str, Any], default_format: str, default_bitrate: int) -> CompressOptions:
        """A job's `options` (`format`: flac|opus, `bitrate`: Opus bit/s) over the settings' defaults."""
        unknown = sorted(set(options) - {"format", "bitrate"})
        if unknown:
            raise BadProcessOptions(f"unknown compress option(s): {', '.join(unknown)} (known: format, bitrate)")
        fmt = options.get("format", default_format)
        if fmt not in {f.value for f in CompressFormat}:
            raise BadProcessOptions(f"compress option 'format' must be flac or opus, got {fmt!r}")
        bitrate = options.get("bitrate", default_bitrate)
        if isinstance(bitrate, bool) or not isinstance(bitrate, int) or not 6000 <= bitrate <= 512000:
            raise BadProcessOptions(f"compress option 'bitrate' must be an integer from 6000 to 512000 bit/s, "
                                    f"got {bitrate!r}")
        return cls(CompressFormat(fmt), bitrate)


@dataclass(frozen=True)
class CompressOperation:
    ctx: AppContext
    request: ProcessRequest
    options: CompressOptions

    def run(self, source: Path, workspace: Path, progress: StageProgress) -> dict[str, Any]:
        encoding, uploading = progress.split(1.0 - UPLOAD_SHARE)
        fmt = self.options.format
        out = workspace / variant_name(fmt.extension)
        compressed = compress_file(source, out, fmt, opus_bitrate=self.options.opus_bitrate,
                                   progress=encoding.frames)
        decoded = decoded_duration(out)
        if abs(decoded - compressed.duration) > DURATION_TOLERANCE:
            raise ProcessingError(f"the {fmt.value} copy decodes to {decoded:.3f} s instead of "
                                  f"{compressed.duration:.3f} s; not uploaded")
        key = derived_key(self.request.source_key, variant_name(fmt.extension))
        self.ctx.object_store.upload(out, key, content_type=fmt.mime_type, progress=uploading.frames)
        memo = local_memo(self.ctx.library, self.request.memo_id, self.request.source_key)
        if memo is not None:
            save_variant(self.ctx.library, memo, fmt, out, key)
        replace_original = not self.ctx.settings.keep_original and key != self.request.source_key
        if replace_original:
            self.ctx.object_store.delete(self.request.source_key)
            if memo is not None:
                self.ctx.library.set_upload_state(memo.id, UploadState.UPLOADED, object_key=key)
        return {"variant": {**compressed.as_dict(), "objectKey": key}, "originalKept": not replace_original,
                "libraryUpdated": memo is not None}


def prepare(ctx: AppContext, request: ProcessRequest) -> CompressOperation:
    settings = ctx.settings
    return CompressOperation(ctx, request, CompressOptions.parse(dict(request.options), settings.compress_format,
                                                                 settings.opus_bitrate))
