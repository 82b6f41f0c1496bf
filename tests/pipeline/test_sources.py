"""SourceSpec: the one way the CLI, the GUI start-up and the Open dialog open a source."""

from __future__ import annotations

import ast
from pathlib import Path

import numpy as np
import pytest

from asa_live.errors import ConfigError, InputFileError
from asa_live.pipeline import sources as pipeline_sources
from asa_live.pipeline.sources import LoopingSource, SourceSpec

PACKAGE = Path(pipeline_sources.__file__).resolve().parents[1]


def test_replay_spec_opens_an_unpaced_source_with_its_labels(recording):
    path, events, labels = recording
    spec = SourceSpec.replay(path)
    assert not spec.live and spec.name == path.name
    with spec.open() as source:
        got = np.concatenate(list(source))
    np.testing.assert_array_equal(got, events)
    truth = spec.labels()
    assert truth is not None and len(truth) == len(labels)


def test_explicit_labels_and_no_labels(recording, tmp_path):
    path, _, _ = recording
    alone = tmp_path / "alone.aedat4"
    alone.write_bytes(path.read_bytes())
    assert SourceSpec.replay(alone).labels() is None
    csv = path.with_name(f"{path.stem}_labels.csv")
    assert len(SourceSpec.replay(alone, labels_path=csv).labels()) > 0


def test_loop_spec_loops(recording):
    path, events, _ = recording
    source = SourceSpec.replay(path, loop=True).open()
    assert isinstance(source, LoopingSource)
    total = 0
    for packet in source:
        total += len(packet)
        if total > 2 * len(events):
            source.close()
    assert source.passes >= 2


def test_format_and_sensor_size_are_passed_only_when_given(recording, monkeypatch):
    path, _, _ = recording
    calls = []
    monkeypatch.setattr(pipeline_sources, "open_source", lambda p, **kw: calls.append(kw))
    SourceSpec.replay(path).open()
    SourceSpec.replay(path, format="csv", sensor_size=(640, 480)).open()
    assert calls == [{}, {"format": "csv", "sensor_size": (640, 480)}]


def test_camera_spec(monkeypatch):
    opened = []
    monkeypatch.setattr(pipeline_sources, "CameraSource", lambda serial: opened.append(serial))
    spec = SourceSpec.camera("DXA0093")
    assert spec.live and spec.name == "camera DXA0093" and spec.labels() is None
    spec.open()
    SourceSpec.camera().open()
    assert opened == ["DXA0093", None]


@pytest.mark.parametrize(
    ("kw", "needle"),
    [({"loop": True}, "--loop"), ({"speed": 2.0}, "--speed")],
)
def test_camera_spec_rejects_replay_options(kw, needle):
    with pytest.raises(ConfigError, match=needle):
        SourceSpec(serial="X", **kw)


@pytest.mark.parametrize("speed", [float("nan"), float("inf"), 0.0, 500])
def test_bad_speed(recording, speed):
    with pytest.raises(ConfigError, match="speed"):
        SourceSpec.replay(recording[0], speed=speed)


def test_missing_file_and_folder_are_one_sentence(tmp_path):
    with pytest.raises(InputFileError, match="does not exist"):
        SourceSpec.replay(tmp_path / "nope.aedat4").open()
    with pytest.raises(InputFileError, match="folder"):
        SourceSpec.replay(tmp_path).open()


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return names


def test_layering_no_cli_gui_cycle_and_no_qt_in_the_pipeline():
    for module in (PACKAGE / "gui").glob("*.py"):
        assert "asa_live.cli" not in _imports(module), module.name
    for module in (PACKAGE / "pipeline").glob("*.py"):
        assert not any(name.startswith(("PyQt6", "asa_live.gui")) for name in _imports(module))
        assert len(module.read_text().splitlines()) <= 400, module.name
