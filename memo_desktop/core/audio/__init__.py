"""Audio files as the processing jobs see them: analysis (levels, clipping, silence) and compression (FLAC/Opus).

Everything streams in blocks of a few seconds, so a 2 h memo costs a few MB of memory. libsndfile's errors leave
this package as `CorruptAudio` (the file itself is bad: not retried) or `ProcessingError` (it cannot be encoded).
"""

from memo_desktop.core.audio.analysis import AudioAnalysis, analyze_file
from memo_desktop.core.audio.codecs import CompressedAudio, CompressFormat, compress_file, decoded_duration
from memo_desktop.core.audio.reading import AudioFormat, probe

__all__ = ["AudioAnalysis", "AudioFormat", "CompressFormat", "CompressedAudio", "analyze_file", "compress_file",
           "decoded_duration", "probe"]
