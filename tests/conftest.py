"""Shared test fixtures. Qt runs offscreen; real recordings come from ../shared when present."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_REAL = REPO_ROOT.parent / "shared" / "data" / "real"
DEMO_RECORDING = REPO_ROOT / "recordings" / "demo.aedat4"


@pytest.fixture
def shared_real() -> Path:
    """The folder of real recordings; tests using it skip only when ../shared is absent."""
    if not (REPO_ROOT.parent / "shared").is_dir():
        pytest.skip("../shared is absent (real recordings are not available here)")
    return SHARED_REAL


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)
