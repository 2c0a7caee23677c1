"""Checking an audio file before it enters the library, and copying it in with its digest computed on the way."""

from __future__ import annotations

import errno
import hashlib
import os
from dataclasses import dataclass
from pathlib import Path

import soundfile

from memo_desktop.core.errors import BadAudioFile
from memo_desktop.core.private_files import atomic_write

CHUNK = 1024 * 1024

# libsndfile major format -> (extension, MIME type). Opus lives in an OGG container but deserves its own extension.
_FORMATS = {
    "WAV": ("wav", "audio/wav"),
    "WAVEX": ("wav", "audio/wav"),
    "RF64": ("wav", "audio/wav"),
    "W64": ("w64", "audio/x-w64"),
    "FLAC": ("flac", "audio/flac"),
    "OGG": ("ogg", "audio/ogg"),
    "MP3": ("mp3", "audio/mpeg"),
    "AIFF": ("aiff", "audio/aiff"),
    "AU": ("au", "audio/basic"),
    "CAF": ("caf", "audio/x-caf"),
}


@dataclass(frozen=True)
class AudioFacts:
    duration: float
    extension: str
    mime_type: str
    size: int


def inspect_audio(path: Path) -> AudioFacts:
    """Duration and format of a readable, non-empty audio file; BadAudioFile naming the file and the reason otherwise."""
    try:
        stat = path.stat()
    except FileNotFoundError:
        raise BadAudioFile(f"{path}: no such file") from None
    except OSError as exc:
        raise BadAudioFile(f"{path}: cannot be read ({exc.strerror})") from None
    if path.is_dir():
        raise BadAudioFile(f"{path}: is a directory, not an audio file")
    if stat.st_size == 0:
        raise BadAudioFile(f"{path}: the file is empty")
    # libsndfile reports every open failure as "System error" or "Format not recognised"; opening the file ourselves
    # first tells a permission problem apart from a file that is not audio.
    try:
        with open(path, "rb"):
            pass
    except OSError as exc:
        raise BadAudioFile(f"{path}: cannot be read ({exc.strerror})") from None
    try:
        info = soundfile.info(str(path))
    except soundfile.SoundFileError as exc:
        raise BadAudioFile(f"{path}: not an audio file this app can read ({_libsndfile_reason(exc)})") from None
    if info.frames <= 0 or info.samplerate <= 0:
        raise BadAudioFile(f"{path}: the audio file contains no sound (0 frames)")
    extension, mime_type = _FORMATS.get(info.format, (info.format.lower(), f"audio/x-{info.format.lower()}"))
    if info.format == "OGG" and info.subtype == "OPUS":
        extension = "opus"
    return AudioFacts(duration=info.frames / info.samplerate, extension=extension, mime_type=mime_type,
                      size=stat.st_size)


def _libsndfile_reason(exc: soundfile.SoundFileError) -> str:
    # "Error opening 'x.wav': Format not recognised." -> "format not recognised"
    text = str(exc).rsplit(":", 1)[-1].strip().rstrip(".")
    return text[:1].lower() + text[1:] if text else "unknown error"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        while chunk := fh.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def copy_with_sha256(source: Path, dest: Path) -> str:
    """Copy `source` to `dest` atomically (a crash never leaves a half file under the final name); return the digest.

    The copy is private (0600) and on disk before it appears; an existing `dest` is never replaced (FileExistsError):
    it is another memo's audio. The digest is of the bytes actually written, so it describes the library's copy even
    if the source changes.
    """
    digest = hashlib.sha256()
    with open(source, "rb") as src, atomic_write(dest, overwrite=False) as pending, \
            open(pending.fd, "wb", closefd=False) as out:
        while chunk := src.read(CHUNK):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def move_into(source: Path, dest: Path) -> str:
    """Move `source` to `dest` (rename when on the same file system); return the digest of the moved file."""
    if source.resolve() != dest.resolve():
        try:
            os.replace(source, dest)
        except OSError as exc:
            if exc.errno != errno.EXDEV:
                raise
            # another file system: copy, then drop the original only once the copy is safely on disk
            digest = copy_with_sha256(source, dest)
            source.unlink()
            return digest
    return file_sha256(dest)


__all__ = ["AudioFacts", "copy_with_sha256", "file_sha256", "inspect_audio", "move_into"]
