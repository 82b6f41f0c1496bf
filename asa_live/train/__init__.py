"""Training and evaluation of the (streaming) ASA-SNN: ``asa-live-train`` and ``asa-live-eval``.

Modules (imported on demand, so ``import asa_live`` stays light):

* :mod:`asa_live.train.recipes` - :class:`TrainConfig` and the presets ``paper-3layer``,
  ``paper-5layer`` and ``streaming``;
* :mod:`asa_live.train.data` - IBM raw / tonic / synthetic data as binned, cached sequences;
  :class:`ClipDataset` (paper crops and test clips) and :class:`StreamDataset` (streaming runs);
* :mod:`asa_live.train.loop` - ``train_one_epoch`` (clip mode, truncated-BPTT stream mode) and
  ``evaluate_clips``;
* :mod:`asa_live.train.evaluation` - the paper's 10-clip protocol and the streaming protocol;
* :mod:`asa_live.train.trainer` - ``run_training``: logs, checkpoints, resume, DDP;
* :mod:`asa_live.train.plots` - confusion matrix, firing rate per layer, accuracy vs onset;
* :mod:`asa_live.train.ddp` - torchrun / DistributedDataParallel plumbing;
* :mod:`asa_live.train.cli` - the two command lines.

tonic (GPL-3.0-only) is an optional import of :mod:`asa_live.train.data` only.
"""
