"""Fixtures for the pipeline tests: a small random model and a short labelled recording."""

from __future__ import annotations

import pytest

from .helpers import make_checkpoint, make_recording


@pytest.fixture(scope="session")
def small_ckpt_path(tmp_path_factory):
    return make_checkpoint(tmp_path_factory.mktemp("ckpt") / "small.safetensors")


@pytest.fixture(scope="session")
def small_ckpt(small_ckpt_path):
    from asa_live.model import load_checkpoint

    return load_checkpoint(small_ckpt_path)


@pytest.fixture(scope="session")
def recording(tmp_path_factory):
    """(path, events, labels) of a ~2.9 s synthetic recording with two labelled gestures."""
    return make_recording(tmp_path_factory.mktemp("rec"))
