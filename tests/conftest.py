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


# Shared by tests/pipeline, tests/gui and tests/test_cli.py: a small random model and a short
# labelled recording, made once per session.
@pytest.fixture(scope="session")
def small_ckpt_path(tmp_path_factory):
    from pipeline.helpers import make_checkpoint

    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "small.safetensors")


@pytest.fixture(scope="session")
def small_ckpt(small_ckpt_path):
    from asa_live.model import load_checkpoint

    return load_checkpoint(small_ckpt_path)


@pytest.fixture(scope="session")
def recording(tmp_path_factory):
    """(path, events, labels) of a ~2.9 s synthetic recording with two labelled gestures."""
    from pipeline.helpers import make_recording

    return make_recording(tmp_path_factory.mktemp("rec"))
