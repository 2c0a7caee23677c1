"""Input devices as PortAudio sees them: list, rescan, pick the default or one by name, open a capture stream.

PortAudio enumerates devices once, when it is initialised (at `import sounddevice`): a USB microphone plugged in
later, or a sound server that appears later, stays invisible until `rescan()` re-initialises it. Re-initialising
closes every open stream, so `rescan()` refuses while a capture stream opened here is still open.

sounddevice is imported lazily: without the PortAudio library (Debian `libportaudio2`) the rest of the app, the
headless workers included, still runs, and recording fails with a clear NoInputDevice instead of an import error.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from memo_desktop.core.errors import NoInputDevice, RecorderError
from memo_desktop.core.portaudio import import_sounddevice

_lock = threading.Lock()
_open_streams = 0


@dataclass(frozen=True)
class InputDevice:
    index: int
    name: str
    host_api: str
    max_input_channels: int
    default_sample_rate: float
    is_default: bool

    def to_dict(self) -> dict[str, Any]:
        return {"index": self.index, "name": self.name, "host_api": self.host_api,
                "max_input_channels": self.max_input_channels, "default_sample_rate": self.default_sample_rate,
                "is_default": self.is_default}


def _sounddevice() -> ModuleType:
    return import_sounddevice(NoInputDevice, "use audio input")


def rescan() -> None:
    """Re-initialise PortAudio so that devices (and sound-server settings) that changed since start are seen."""
    sd = _sounddevice()
    with _lock:
        if _open_streams:
            raise RecorderError("cannot rescan audio devices while a recording is in progress")
        # sounddevice exposes no public re-init; these two are what `import sounddevice` itself runs.
        sd._terminate()
        sd._initialize()


def list_input_devices() -> list[InputDevice]:
    """Every device with at least one input channel, the system default flagged. Empty when there is none."""
    sd = _sounddevice()
    host_apis = [api["name"] for api in sd.query_hostapis()]
    default_index = _default_input_index(sd)
    return [
        InputDevice(index=info["index"], name=info["name"], host_api=host_apis[info["hostapi"]],
                    max_input_channels=info["max_input_channels"],
                    default_sample_rate=float(info["default_samplerate"]), is_default=info["index"] == default_index)
        for info in sd.query_devices()
        if info["max_input_channels"] > 0
    ]


def default_input_device() -> InputDevice:
    devices = list_input_devices()
    for device in devices:
        if device.is_default:
            return device
    if devices:  # no system default but something to record from: take the first, as PortAudio itself would
        return devices[0]
    raise NoInputDevice(_no_device_message())


def find_input_device(query: str | int | None) -> InputDevice:
    """The device to record from: the default for ""/None, an index, or the one whose name contains `query`.

    An exact (case-insensitive) name match wins over substring matches; several substring matches are an error
    that lists them, so `--device usb` never picks one of two USB microphones at random.
    """
    if query is None or (isinstance(query, str) and not query.strip()):
        return default_input_device()
    devices = list_input_devices()
    if not devices:
        raise NoInputDevice(_no_device_message())
    if isinstance(query, int) or query.strip().isdigit():
        index = int(query)
        for device in devices:
            if device.index == index:
                return device
        raise NoInputDevice(f"no input device with index {index}; {_available(devices)}")
    wanted = query.strip().lower()
    exact = [d for d in devices if d.name.lower() == wanted]
    if exact:
        return exact[0]
    partial = [d for d in devices if wanted in d.name.lower()]
    if len(partial) == 1:
        return partial[0]
    if not partial:
        raise NoInputDevice(f"no input device matches {query!r}; {_available(devices)}")
    raise NoInputDevice(f"{len(partial)} input devices match {query!r}, be more specific; {_available(partial)}")


def open_input_stream(device: InputDevice, **stream_args: Any) -> Any:
    """Open (not start) a sounddevice.InputStream on `device`; PortAudio errors become NoInputDevice."""
    global _open_streams
    sd = _sounddevice()
    with _lock:
        try:
            stream = sd.InputStream(device=device.index, **stream_args)
        except sd.PortAudioError as exc:
            raise NoInputDevice(f"cannot open input device {device.name!r}: {_portaudio_message(exc)}") from None
        _open_streams += 1
    return stream


def close_stream(stream: Any) -> None:
    """Stop and close a stream from `open_input_stream`; a device that vanished makes these calls fail, which
    changes nothing for the caller (the stream is gone either way), so only the bookkeeping must happen."""
    global _open_streams
    sd = _sounddevice()
    errors: list[str] = []
    for step in (stream.stop, stream.close):
        try:
            step()
        except sd.PortAudioError as exc:
            errors.append(_portaudio_message(exc))
    with _lock:
        _open_streams -= 1
    if errors:
        raise RecorderError(f"the input stream did not close cleanly: {'; '.join(errors)}")


def close_stream_reporting(stream: Any) -> str | None:
    """`close_stream`, returning what went wrong instead of raising it (a lost device cannot close cleanly, and the
    caller is already on its way out): None when it closed cleanly."""
    try:
        close_stream(stream)
    except RecorderError as exc:
        return str(exc)
    return None


def portaudio_error_type() -> type[Exception]:
    return _sounddevice().PortAudioError


def _default_input_index(sd: ModuleType) -> int | None:
    try:
        info = sd.query_devices(kind="input")
    except sd.PortAudioError:  # raised when there is no default input device at all
        return None
    return int(info["index"])


def _portaudio_message(exc: Exception) -> str:
    return " ".join(str(a) for a in exc.args) if exc.args else type(exc).__name__


def _available(devices: list[InputDevice]) -> str:
    return "available inputs: " + ", ".join(f"[{d.index}] {d.name}" for d in devices)


def _no_device_message() -> str:
    return ("no audio input device found: connect a microphone (or start the sound server) and rescan devices; "
            "PortAudio lists no device with an input channel")
