"""The one way into sounddevice: its Linux wheel does not bundle PortAudio, so importing it can fail with OSError.
Callers (recording, playback) turn that into their own error with an install hint."""

from __future__ import annotations

from types import ModuleType

from memo_desktop.core.errors import MemoError

INSTALL_HINT = "on Debian/Ubuntu install libportaudio2"


def import_sounddevice(error: type[MemoError], purpose: str) -> ModuleType:
    """`sounddevice`, or `error` saying the PortAudio library is missing (e.g. purpose "play audio")."""
    try:
        import sounddevice
    except OSError as exc:
        raise error(f"cannot {purpose}: the PortAudio library is missing ({exc}); {INSTALL_HINT}") from None
    return sounddevice
