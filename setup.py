"""Packaging hook: ship the trained models in the wheel.

The models live in the repository's ``models/`` folder (beside their card and logs). A built
wheel has no repository, so build_py copies ``models/*.safetensors`` into the package as
``asa_live/_models/``, where ``asa_live.pipeline.models.default_model_path`` finds them. An
editable install keeps reading ``models/`` directly. Everything else is in pyproject.toml.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

MODELS = Path(__file__).resolve().parent / "models"


class BuildPyWithModels(build_py):
    """build_py, plus the shipped checkpoints copied to ``<build>/asa_live/_models/``."""

    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return  # an editable install reads models/ in place
        target = Path(self.build_lib) / "asa_live" / "_models"
        target.mkdir(parents=True, exist_ok=True)
        for model in sorted(MODELS.glob("*.safetensors")):
            shutil.copy2(model, target / model.name)


setup(cmdclass={"build_py": BuildPyWithModels})
