"""Fine-tuning from the Teach panel: progress from the trainer's output, success, failure,
cancel, and "Use this model" swapping the window's model while the GUI stays live."""

from __future__ import annotations

import re
import sys
import textwrap

import numpy as np
import pytest

pytest.importorskip("PyQt6")  # the gui extra; CI installs it (dev extra)

from asa_live.events import make_events  # noqa: E402
from asa_live.events.aedat4 import write_aedat4  # noqa: E402
from asa_live.events.ibm import LABEL_DTYPE, write_labels_csv  # noqa: E402
from asa_live.gui.finetune import (  # noqa: E402
    FinetuneJob,
    FinetuneRunner,
    ProgressParser,
    next_run_dir,
    train_command,
)
from asa_live.gui.main_window import MainWindow  # noqa: E402
from asa_live.teach.folder import write_classes  # noqa: E402

pytestmark = pytest.mark.gui

# A stand-in for asa-live-train: tqdm-like bars over the whole run on stderr (\r, no newline),
# then it waits for the test's go-ahead (a file) and copies a checkpoint to
# RUN/best.safetensors. With an ack folder, it waits after each step until the test has seen
# it (ACK/<epoch>-<step>). It never sleeps to pretend work: it waits on conditions the test controls.
FAKE_TRAINER = textwrap.dedent(
    """
    import os, shutil, sys, time
    run, ckpt, gate, code, ack = sys.argv[1:4] + [int(sys.argv[4]), sys.argv[5]]

    def wait_for(path):
        deadline = time.monotonic() + 60
        while path != "-" and not os.path.exists(path) and time.monotonic() < deadline:
            time.sleep(0.01)

    print("INFO data: 2 sessions, 4 takes", flush=True)
    for epoch in (1, 2):
        for step in range(4 * epoch - 4, 4 * epoch + 1):
            sys.stderr.write(f"\\repoch {epoch}/2: {12 * step:3d}%|##   | {step}/8 [00:01<00:02]")
            sys.stderr.flush()
            wait_for("-" if ack == "-" else os.path.join(ack, f"{epoch}-{step}"))
        sys.stderr.write("\\n")
    if code:
        print("asa-live-train: The folder 'x' holds no recording with a labels CSV.", file=sys.stderr)
        sys.exit(code)
    wait_for(gate)
    os.makedirs(run, exist_ok=True)
    shutil.copy(ckpt, os.path.join(run, "best.safetensors"))
    """
)


@pytest.fixture
def fake(tmp_path):
    script = tmp_path / "fake_train.py"
    script.write_text(FAKE_TRAINER)

    def command(ckpt, gate="-", code=0, ack="-"):
        return lambda job: [sys.executable, str(script), str(job.run_dir), str(ckpt), str(gate),
                            str(code), str(ack)]  # fmt: skip

    return command


@pytest.fixture
def folder(tmp_path):
    """A recordings folder with one session holding a take of each class."""
    folder = tmp_path / "mine"
    folder.mkdir()
    write_classes(folder, ["swipe_left", "thumbs_up"])
    rng = np.random.default_rng(0)
    n = 2000
    events = make_events(np.sort(rng.integers(0, 2_000_000, n)), rng.integers(0, 64, n),
                         rng.integers(0, 48, n), rng.integers(0, 2, n))  # fmt: skip
    write_aedat4(folder / "user_001.aedat4", events, (64, 48))
    labels = np.array([(0, 200_000, 800_000), (1, 1_000_000, 1_600_000)], LABEL_DTYPE)
    write_labels_csv(folder / "user_001_labels.csv", labels, num_classes=2)
    return folder


def _bar(epoch, epochs, step, steps):
    return (
        f"\repoch {epoch}/{epochs}: {100 * step // steps:3d}%|##   | {step}/{steps} [00:01<00:02]"
    )


def _feed_all(text, size):
    parser, seen = ProgressParser(), []
    for i in range(0, len(text), size):
        if parser.feed(text[i : i + size]):
            seen.append(parser.fraction)
    parser.feed("\n")
    return parser, seen


def test_progress_parser_reads_the_whole_run_bar_in_any_chunking():
    # the trainer's bar spans the run: 3 epochs x 4 steps; epoch 2's bar starts at step 4
    text = (
        "INFO start\n" + _bar(1, 3, 0, 12) + _bar(1, 3, 2, 12) + _bar(1, 3, 4, 12) + "\n"
        "\rpaper protocol:  50%|##  | 1/2 [00:00<00:00]" + _bar(2, 3, 4, 12) + _bar(2, 3, 5, 12)
    )
    for size in (1, 7, len(text)):
        parser, seen = _feed_all(text, size)
        # the evaluation bar ("paper protocol") is not training progress
        assert parser.fraction == pytest.approx(5 / 12) and not parser.per_epoch_bars
        assert parser.text == "epoch 2/3, step 5/12"
        assert seen == sorted(seen)
        if size == 1:  # every update seen, as it came
            assert seen == pytest.approx([0.0, 2 / 12, 4 / 12, 4 / 12, 5 / 12])


def test_progress_parser_reads_bars_of_one_epoch():
    text = _bar(1, 3, 0, 4) + _bar(1, 3, 4, 4) + "\n" + _bar(2, 3, 0, 4) + _bar(2, 3, 1, 4)
    parser, _ = _feed_all(text, 5)
    assert parser.per_epoch_bars
    assert parser.fraction == pytest.approx((1 + 1 / 4) / 3)


def test_progress_parser_error_message():
    parser = ProgressParser()
    parser.feed("INFO x\nasa-live-train: The class 'a' has no take: record it.\n")
    assert parser.error_message(2) == "The class 'a' has no take: record it."
    parser = ProgressParser()
    parser.feed("Traceback...\nKeyError: 'x'\n")
    assert parser.error_message(1) == "Fine-tuning failed (exit code 1): KeyError: 'x'"


def test_train_command_and_run_dir(tmp_path):
    job = FinetuneJob(tmp_path / "m.safetensors", tmp_path / "mine", tmp_path / "mine/runs/a")
    argv = train_command(job)
    assert argv[:3] == [sys.executable, "-m", "asa_live.train.cli"]
    joined = " ".join(argv[3:])
    assert f"--recipe finetune --init {job.init} --data folder --data-root {job.data_root}" in (
        joined
    )
    assert argv[-2:] == ["--out-dir", str(job.run_dir)]
    assert next_run_dir(tmp_path) == tmp_path / "runs" / "finetune_001"
    (tmp_path / "runs" / "finetune_001").mkdir(parents=True)
    assert next_run_dir(tmp_path) == tmp_path / "runs" / "finetune_002"


def _job(tmp_path, small_ckpt_path, folder):
    return FinetuneJob(small_ckpt_path, folder, next_run_dir(folder))


def test_runner_reports_progress_and_its_checkpoint(qtbot, fake, tmp_path, small_ckpt_path, folder):
    ack = tmp_path / "ack"
    ack.mkdir()
    runner = FinetuneRunner(fake(small_ckpt_path, ack=ack))
    progress = []

    def seen(fraction, text):
        progress.append((fraction, text))
        match = re.match(r"epoch (\d+)/\d+, step (\d+)/", text)
        if match:
            (ack / "-".join(match.groups())).touch()  # the fake goes on

    runner.progress.connect(seen)
    job = _job(tmp_path, small_ckpt_path, folder)
    with qtbot.waitSignal(runner.succeeded, timeout=30000) as done:
        runner.start(job)
        assert runner.running
    assert done.args == [str(job.run_dir / "best.safetensors")]
    assert not runner.running
    fractions = [f for f, _ in progress]
    assert fractions == sorted(fractions) and fractions[-1] == 1.0
    # every step reported as the trainer printed it, then "done"
    steps = [(1, s) for s in range(5)] + [(2, s) for s in range(4, 9)]
    assert [t for _, t in progress] == [f"epoch {e}/2, step {s}/8" for e, s in steps] + ["done"]
    assert fractions[:-1] == [s / 8 for s in [*range(5), *range(4, 9)]]


def test_runner_failure_is_the_trainers_sentence(qtbot, fake, tmp_path, small_ckpt_path, folder):
    runner = FinetuneRunner(fake(small_ckpt_path, code=2))
    with qtbot.waitSignal(runner.failed, timeout=30000) as failed:
        runner.start(_job(tmp_path, small_ckpt_path, folder))
    assert failed.args == ["The folder 'x' holds no recording with a labels CSV."]
    runner = FinetuneRunner(lambda job: [str(tmp_path / "no-such-program")])
    with qtbot.waitSignal(runner.failed, timeout=30000) as failed:
        runner.start(_job(tmp_path, small_ckpt_path, folder))
    assert failed.args[0].startswith("Cannot start fine-tuning")
    assert not runner.running


def test_runner_cancel(qtbot, fake, tmp_path, small_ckpt_path, folder):
    runner = FinetuneRunner(fake(small_ckpt_path, gate=tmp_path / "never"))
    runner.start(_job(tmp_path, small_ckpt_path, folder))
    qtbot.waitUntil(lambda: runner.parser.fraction == 1.0, timeout=30000)  # waits on the gate
    with qtbot.waitSignal(runner.cancelled, timeout=30000):
        runner.cancel()
        assert runner.running  # cancel() does not block the window: the end comes as a signal
    assert not runner.running


def test_runner_kills_a_trainer_that_ignores_sigterm(qtbot, monkeypatch, tmp_path, folder):
    from asa_live.gui import finetune

    monkeypatch.setattr(finetune, "CANCEL_WAIT_MS", 300)
    script = tmp_path / "stubborn.py"
    script.write_text(
        "import signal, sys, time\n"
        "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
        "print('epoch 1/1:   0%|   | 0/9 [00:00<?]', flush=True)\n"
        "time.sleep(120)\n"
    )
    runner = FinetuneRunner(lambda job: [sys.executable, str(script)])
    runner.start(FinetuneJob(tmp_path / "m.safetensors", folder, tmp_path / "run"))
    qtbot.waitUntil(lambda: runner.parser.text == "epoch 1/1, step 0/9", timeout=30000)
    with qtbot.waitSignal(runner.cancelled, timeout=30000):
        runner.cancel()
    assert not runner.running


def test_finetune_then_use_this_model(qtbot, fake, tmp_path, small_ckpt, small_ckpt_path, folder,
                                      recording):  # fmt: skip
    from pipeline.helpers import make_checkpoint

    win = MainWindow(small_ckpt, redraw_hz=30, model_path=str(small_ckpt_path))
    qtbot.addWidget(win)
    win.show()
    path, _, _ = recording
    assert win.open_file(path, speed=1.0)
    panel = win.teach
    tuned = make_checkpoint(tmp_path / "tuned.safetensors", seed=5)
    gate = tmp_path / "go"
    panel.runner.command = fake(tuned, gate=gate)
    assert not panel.form.use_button.isEnabled()
    panel.form.folder_edit.setText(str(folder))
    panel.form.finetune_button.click()
    assert panel.runner.running and panel.runner.job.init == small_ckpt_path.resolve()
    assert not panel.form.finetune_button.isEnabled() and panel.form.cancel_button.isEnabled()
    qtbot.waitUntil(lambda: panel.form.progress.value() == 1000, timeout=30000)
    # the window stays live while the trainer runs: new predictions keep being drawn
    drawn = win.reports_drawn
    qtbot.waitUntil(lambda: win.reports_drawn > drawn + 10, timeout=20000)
    assert panel.runner.running
    gate.touch()
    qtbot.waitUntil(lambda: panel.form.use_button.isEnabled(), timeout=30000)
    best = folder / "runs" / "finetune_001" / "best.safetensors"
    assert panel.checkpoint == str(best) and str(best) in panel.form.status_label.text()
    old = win.checkpoint
    panel.form.use_button.click()
    assert win.model_path == str(best) and win.checkpoint is not old
    assert win.worker.checkpoint is win.checkpoint  # the pipeline restarted with it
    new_weights = dict(win.checkpoint.model.named_parameters())
    old_weights = dict(old.model.named_parameters())
    assert any(not (new_weights[k] == old_weights[k]).all() for k in new_weights)
    drawn = win.reports_drawn
    qtbot.waitUntil(lambda: win.reports_drawn > drawn + 5, timeout=20000)
    assert win.errors_shown == []
    win.close()
