"""The finetune recipe's augmentation on a recordings folder (issue 9: few-shot swipes).

The class list comes from the folder's ``classes.txt`` in the user's own order: a mirrored
item must turn swipe_left into swipe_right (and back) and keep swipe_up / swipe_down, and no
step may flip the image vertically (that would turn an up swipe into a down one).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import torch

from asa_live.errors import ConfigError
from asa_live.events.aedat4 import write_aedat4
from asa_live.events.augment import AugmentConfig
from asa_live.events.dtype import make_events
from asa_live.events.ibm import LABEL_DTYPE, write_labels_csv
from asa_live.train.cli import main as train_main
from asa_live.train.ddp import DistInfo
from asa_live.train.recipes import get_recipe
from asa_live.train.run_data import load_run_data

NAMES = ["swipe_up", "swipe_right", "swipe_down", "swipe_left"]  # not the built-in order
SPANS = [(c, 400_000 + 1_200_000 * c, 1_300_000 + 1_200_000 * c) for c in range(4)]
LENGTH_US = 5_200_000


def _events(seed: int) -> np.ndarray:
    """Sparse noise, and inside take c a dense blob in its own quadrant (x and y both tell
    which class it is, so a mirror or a vertical flip shows in the frames)."""
    rng = np.random.default_rng(seed)
    n = LENGTH_US // 2000
    t, x, y = rng.integers(0, LENGTH_US, n), rng.integers(0, 128, n), rng.integers(0, 128, n)
    parts = [(t, x, y)]
    for c, a, b in SPANS:
        m = (b - a) // 50
        x0, y0 = (8 if c % 2 == 0 else 72), (8 if c < 2 else 72)
        parts.append((rng.integers(a, b, m), rng.integers(x0, x0 + 40, m),
                      rng.integers(y0, y0 + 16, m)))  # fmt: skip
    t, x, y = (np.concatenate(v) for v in zip(*parts, strict=True))
    order = np.argsort(t, kind="stable")
    return make_events(t[order], x[order], y[order], rng.integers(0, 2, len(t)))


def _finetune_dataset(tmp_path, config: AugmentConfig | None = None, **changes):
    root = tmp_path / "mine"
    root.mkdir(parents=True)
    (root / "classes.txt").write_text("\n".join(NAMES) + "\n")
    for s in range(2):
        write_aedat4(root / f"me_{s + 1:03d}.aedat4", _events(s), (128, 128))
        write_labels_csv(root / f"me_{s + 1:03d}_labels.csv", np.array(SPANS, LABEL_DTYPE),
                         num_classes=len(NAMES))  # fmt: skip
    cfg = get_recipe("finetune").replace(
        data_root=str(root), cache_dir=str(tmp_path / "cache"), holdout_fraction=0.0,
        bptt_chunks=20, segments_per_sample=1, burn_in_windows=0, stream_samples_per_epoch=8,
        augment_fraction=1.0 if config is not None else get_recipe("finetune").augment_fraction,
    ).replace(**changes)  # fmt: skip
    run = load_run_data(cfg, DistInfo())
    if config is not None:
        run.dataset.augmenter.config = config
    return run


def _only(**probabilities) -> AugmentConfig:
    return dataclasses.replace(AugmentConfig.off(), **probabilities)


def test_finetune_mirror_swaps_left_and_right_and_keeps_up_and_down(tmp_path):
    run = _finetune_dataset(tmp_path)
    assert run.class_names == tuple(NAMES)
    # the recipe's own augmenter: mirrored with the folder's class list
    assert run.dataset.augmenter.config.p_mirror > 0
    assert run.dataset.augmenter.class_map.tolist() == [0, 3, 2, 1]
    plain = _finetune_dataset(tmp_path / "a", _only()).dataset
    mirrored = _finetune_dataset(tmp_path / "b", _only(p_mirror=1.0)).dataset
    swap = torch.tensor([0, 3, 2, 1, 4])  # + the "no gesture" output, index 4
    seen = set()
    for i in range(len(plain)):
        (x0, y0), (x1, y1) = plain[i], mirrored[i]
        assert torch.equal(x1, x0.flip(-1))  # x mirrored, rows (y) untouched
        labelled = y0 >= 0
        assert torch.equal(y1[labelled], swap[y0[labelled]])
        assert torch.equal(y1[~labelled], y0[~labelled])
        seen |= set(y0[(y0 >= 0) & (y0 < 4)].tolist())
    assert seen >= {0, 1}  # a vertical swipe and a horizontal one were drawn


def test_finetune_augmentation_never_flips_vertically(tmp_path):
    """Every geometric step on at once (no noise): the blob of a swipe_up take stays in the
    upper half of the frames, wherever scale and shift move it."""
    geometry = _only(p_mirror=1.0, p_scale=1.0, p_translate=1.0, p_time_stretch=1.0,
                     p_invert_polarity=1.0)  # fmt: skip
    dataset = _finetune_dataset(tmp_path, geometry).dataset
    checked = 0
    for i in range(len(dataset)):
        x, y = dataset[i]
        up = (y == 0).nonzero().flatten()
        if len(up) < 5:
            continue
        frames = x[up].sum(dim=(0, 1))  # [H, W] events of the swipe_up windows
        rows = frames.sum(dim=1)
        centre = float((rows * torch.arange(len(rows))).sum() / rows.sum())
        # the blob sits at y 8..24 of 128 (row 2..6 of 32); shifts reach 25 px, scale 1.4
        assert centre < 16, f"item {i}: swipe_up's events moved to row {centre:.1f}"
        checked += 1
    assert checked >= 1


@pytest.mark.parametrize("p", [0.0, 1.0])
def test_augment_invert_polarity_reaches_the_finetune_augmenter(tmp_path, p):
    run = _finetune_dataset(tmp_path, augment_invert_polarity=p)
    assert run.dataset.augmenter.config.p_invert_polarity == p
    # the rest of the augmentation is the AugmentConfig default
    assert run.dataset.augmenter.config == dataclasses.replace(AugmentConfig(),
                                                               p_invert_polarity=p)  # fmt: skip


def test_augment_invert_polarity_is_checked(tmp_path, capsys):
    for bad in (float("nan"), float("inf"), -0.1, 1.5):
        with pytest.raises(ConfigError, match="augment_invert_polarity must be in"):
            get_recipe("finetune").replace(augment_invert_polarity=bad)
    for bad in ("nan", "inf", "1.5", "-1", "half"):
        with pytest.raises(SystemExit) as exc:
            train_main(["--recipe", "finetune", "--out-dir", str(tmp_path),
                        "--augment-invert-polarity", bad])  # fmt: skip
        assert exc.value.code == 2
        err = capsys.readouterr().err.strip()
        assert len(err.splitlines()) == 1 and "--augment-invert-polarity" in err
        assert "Traceback" not in err


def test_only_the_finetune_recipe_turns_polarity_inversion_off():
    """A user teaches in their own clothes (docs/teach.md); the big-data recipes keep 0.5."""
    assert get_recipe("finetune").augment_invert_polarity == 0.0
    for name in ("streaming", "paper-3layer", "paper-5layer"):
        assert get_recipe(name).augment_invert_polarity == AugmentConfig().p_invert_polarity
