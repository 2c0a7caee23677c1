"""`POST /api/files/upload-async` (multipart: `file`, optional `memoId`, `title`) -> `{success, jobId, memoId,
message}`; a bad file -> 400 (empty, no file part, ...), 413 (over 'upload_max_bytes'), 415 (not audio), with
`{success: false, error}`.

The body is parsed as it arrives (python-multipart's streaming parser over `request.stream()`): the file part goes
straight to a private temp file in the data dir, never whole into memory, and the upload stops as soon as it passes
the limit. The temp file is always removed: a good one after the library has taken its copy, a bad one at once.
"""

from __future__ import annotations

import os
import re
import tempfile
from pathlib import Path
from typing import IO, Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse
from python_multipart.exceptions import MultipartParseError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool

from memo_desktop.core.errors import BadAudioFile, MemoError
from memo_desktop.core.pipeline.memos import import_or_requeue
from memo_desktop.core.private_files import make_private_dir
from memo_desktop.web.app import state_of, status_of

router = APIRouter()
FIELD_LIMIT = 64 * 1024  # bytes of a text field (memoId, title)
UPLOAD_DIR = "uploads"


def too_large(limit: int) -> str:
    return f"the file is larger than the upload limit of {limit} bytes (setting 'upload_max_bytes')"


class UploadRefused(Exception):
    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


class FormReader:
    """python-multipart callbacks: the `file` part into a temp file, other parts into small strings."""

    def __init__(self, directory: Path, limit: int) -> None:
        self.directory = directory
        self.limit = limit
        self.fields: dict[str, str] = {}
        self.file_path: Path | None = None
        self.filename = ""
        self.size = 0
        self._headers: dict[bytes, bytes] = {}
        self._field = bytearray()
        self._value = bytearray()
        self._name = ""
        self._sink: IO[bytes] | None = None
        self._text = bytearray()

    def callbacks(self) -> dict[str, Any]:
        return {"on_part_begin": self._part_begin, "on_header_field": self._header_field,
                "on_header_value": self._header_value, "on_header_end": self._header_end,
                "on_headers_finished": self._headers_finished, "on_part_data": self._part_data,
                "on_part_end": self._part_end}

    def _part_begin(self) -> None:
        self._headers, self._name, self._text = {}, "", bytearray()

    def _header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _header_end(self) -> None:
        self._headers[bytes(self._field).lower()] = bytes(self._value)
        self._field, self._value = bytearray(), bytearray()

    def _headers_finished(self) -> None:
        _, params = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._name = params.get(b"name", b"").decode("utf-8", "replace")
        if self._name == "file":
            if self.file_path is not None:
                raise UploadRefused(400, "send one 'file' part per upload")
            self.filename = params.get(b"filename", b"").decode("utf-8", "replace")
            make_private_dir(self.directory)
            fd, name = tempfile.mkstemp(prefix=".upload-", suffix=".part", dir=self.directory)  # mode 0600
            self.file_path = Path(name)
            self._sink = os.fdopen(fd, "wb")

    def _part_data(self, data: bytes, start: int, end: int) -> None:
        if self._sink is not None:
            self.size += end - start
            if self.size > self.limit:
                raise UploadRefused(413, too_large(self.limit))
            self._sink.write(data[start:end])
            return
        self._text += data[start:end]
        if len(self._text) > FIELD_LIMIT:
            raise UploadRefused(400, f"the form field '{self._name}' is too long")

    def _part_end(self) -> None:
        if self._sink is not None:
            self._sink.close()
            self._sink = None
        elif self._name:
            self.fields[self._name] = self._text.decode("utf-8", "replace")

    def discard(self) -> None:
        if self._sink is not None:
            self._sink.close()
        if self.file_path is not None:
            self.file_path.unlink(missing_ok=True)


def _refusal(status: int, message: str) -> JSONResponse:
    return JSONResponse({"success": False, "error": message}, status_code=status)


def _title(reader: FormReader) -> str | None:
    title = reader.fields.get("title", "").strip()
    if title:
        return title
    stem = Path(reader.filename.replace("\\", "/")).stem
    return stem or None


@router.post("/api/files/upload-async", summary="Take an audio file as a memo and queue its upload")
async def upload(request: Request) -> JSONResponse:
    web = state_of(request)
    settings = web.runtime.settings
    kind, params = parse_options_header(request.headers.get("content-type", ""))
    if kind != b"multipart/form-data" or b"boundary" not in params:
        return _refusal(400, "send multipart/form-data with a 'file' part")
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > settings.upload_max_bytes + FIELD_LIMIT:
        return _refusal(413, too_large(settings.upload_max_bytes))
    reader = FormReader(settings.data_dir / UPLOAD_DIR, settings.upload_max_bytes)
    parser = MultipartParser(params[b"boundary"], reader.callbacks())
    try:
        async for chunk in request.stream():
            parser.write(chunk)
        parser.finalize()
        if reader.file_path is None:
            return _refusal(400, "the form has no 'file' part")
        memo_id = reader.fields.get("memoId", "").strip() or None
        result = await run_in_threadpool(import_or_requeue, web.context, reader.file_path, memo_id, _title(reader))
    except UploadRefused as exc:
        return _refusal(exc.status, str(exc))
    except MultipartParseError as exc:
        return _refusal(400, f"the multipart body is malformed ({exc})")
    except BadAudioFile as exc:
        message = _own_words(str(exc), reader)
        return _refusal(400 if "empty" in message else 415, message)
    except MemoError as exc:
        return _refusal(status_of(exc), _own_words(str(exc), reader))
    finally:
        reader.discard()
    return JSONResponse({"success": True, "jobId": result.job_id, "memoId": result.memo.id,
                         "message": result.message})


def _own_words(message: str, reader: FormReader) -> str:
    """Errors name the client's file, never our temp path."""
    if reader.file_path is not None:
        message = message.replace(str(reader.file_path), reader.filename or "the file")
    return re.sub(r"\s+", " ", message)
