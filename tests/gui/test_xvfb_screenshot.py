"""The real-window screenshot script: asa-live in an X11 window under Xvfb, grabbed as a PNG.

.ci/run installs Xvfb and ImageMagick (Debian packages) before the tests, so this runs in CI;
on a developer machine without them it skips and says which packages to install.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "docs" / "tools" / "xvfb_screenshot.sh"


@pytest.mark.skipif(
    shutil.which("Xvfb") is None or shutil.which("import") is None,
    reason="needs Xvfb and ImageMagick: apt-get install -y xvfb libxcb-icccm4 libxcb-keysyms1 "
    "libxcb-cursor0 imagemagick",
)
def test_xvfb_script_makes_a_real_window_screenshot(tmp_path, small_ckpt_path, recording):
    rec_path, _, _ = recording
    env = dict(
        os.environ,
        OUT_DIR=str(tmp_path),
        MODEL=str(small_ckpt_path),
        ASA_LIVE=str(Path(sys.executable).with_name("asa-live")),
    )
    proc = subprocess.run(
        ["bash", str(SCRIPT), str(rec_path), "3"],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    for name in ("gui_replay.png", "gui_offscreen.png"):
        png = tmp_path / name
        assert png.stat().st_size > 10_000, name
        import cv2

        image = cv2.imread(str(png))
        assert image is not None and image.shape[0] >= 400 and image.shape[1] >= 800, name
        # A real window, not a blank screen: many distinct colours (plots, events, text).
        colours = np.unique(image.reshape(-1, 3)[::7], axis=0)
        assert len(colours) > 50, f"{name} looks blank ({len(colours)} colours)"
