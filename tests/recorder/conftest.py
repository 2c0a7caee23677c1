"""Recorder tests capture through a real virtual microphone (tests/fixtures/virtual_mic.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from memo_desktop.core.config import Settings
from tests.fixtures.virtual_mic import VirtualMic, virtual_mic_session  # noqa: F401  (session fixture)


@pytest.fixture
def mic(virtual_mic_session) -> VirtualMic:  # noqa: F811
    return virtual_mic_session


@pytest.fixture
def rec_settings(tmp_path: Path) -> Settings:
    """Settings for recording only (no Redis, no object store)."""
    return Settings(data_dir=tmp_path / "data")
