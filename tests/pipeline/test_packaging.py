"""A wheel built from the repository ships the default model, and the installed package finds
and loads it with no repository around (bug: "The default model ... is missing")."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CHECK = """
import asa_live
from asa_live.pipeline.models import default_model_path, load_model
path = default_model_path()
checkpoint = load_model()
print(asa_live.__file__)
print(path)
print(len(checkpoint.class_names))
"""


def test_built_wheel_ships_and_loads_the_default_model(tmp_path):
    wheels, site = tmp_path / "wheels", tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(
        [*pip, "wheel", "--no-deps", "--no-build-isolation", "-w", str(wheels), str(REPO)],
        check=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    (wheel,) = wheels.glob("asa_live-*.whl")
    subprocess.run(
        [*pip, "install", "--no-deps", "--no-index", "--target", str(site), str(wheel)],
        check=True, cwd=tmp_path, timeout=300,
    )  # fmt: skip
    env = {k: v for k, v in os.environ.items() if k != "ASA_LIVE_MODEL"}
    env["PYTHONPATH"] = str(site)  # ahead of the editable install's finder
    proc = subprocess.run(
        [sys.executable, "-c", CHECK], cwd=tmp_path, env=env, capture_output=True, text=True,
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    package, model, classes = proc.stdout.split()
    assert Path(package).is_relative_to(site)
    assert Path(model) == site / "asa_live" / "_models" / "gesture-3layer-asa.safetensors"
    assert int(classes) >= 11
    assert not (REPO / "asa_live" / "_models").exists()  # the build left the tree alone


def test_missing_default_model_names_no_internal_words(monkeypatch, tmp_path):
    from asa_live.errors import ModelFileError
    from asa_live.pipeline import models

    monkeypatch.delenv("ASA_LIVE_MODEL", raising=False)
    monkeypatch.setattr(models, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(models, "PACKAGE_ROOT", tmp_path / "asa_live")
    with pytest.raises(ModelFileError) as err:
        models.load_model()
    text = str(err.value)
    assert "issue" not in text and "--model" in text


def test_packaged_copy_is_found_when_the_repository_has_none(monkeypatch, tmp_path):
    from asa_live.pipeline import models

    packaged = tmp_path / "asa_live" / "_models" / models.DEFAULT_MODEL_NAME
    packaged.parent.mkdir(parents=True)
    packaged.write_bytes(b"x")
    monkeypatch.delenv("ASA_LIVE_MODEL", raising=False)
    monkeypatch.setattr(models, "REPO_ROOT", tmp_path)
    monkeypatch.setattr(models, "PACKAGE_ROOT", tmp_path / "asa_live")
    assert models.default_model_path() == packaged
