"""Training and evaluation of the (streaming) ASA-SNN: ``asa-live-train`` and ``asa-live-eval``.

Modules (imported on demand, so ``import asa_live`` stays light; docs/training.md has the table):

* :mod:`asa_live.train.recipes` - :class:`TrainConfig` and the presets;
* :mod:`asa_live.train.data` - IBM raw / tonic / synthetic data as binned, cached sequences
  (a package: config, sequences, frames, cache, ibm, tonic, synthetic, splits, pool, datasets);
* :mod:`asa_live.train.loop` - ``train_one_epoch`` and ``evaluate_clips``;
* :mod:`asa_live.train.evaluation` - the paper's 10-clip protocol and the streaming protocol;
* :mod:`asa_live.train.trainer` - ``run_training``: build, resume, fit, evaluate, save;
* :mod:`asa_live.train.sampling`, :mod:`~asa_live.train.resume`, :mod:`~asa_live.train.stop`
  - exact resume: seeded batch order, run position + RNG states, Ctrl-C / SIGTERM handling;
* :mod:`asa_live.train.run_log`, :mod:`~asa_live.train.devices`, :mod:`~asa_live.train.ddp`,
  :mod:`~asa_live.train.estimate`, :mod:`~asa_live.train.plots`;
* :mod:`asa_live.train.cli` (+ ``cli_options``) and :mod:`asa_live.train.eval_cli`
  (+ ``eval_table``) - the two command lines.

tonic (GPL-3.0-only) is an optional import of :mod:`asa_live.train.data.tonic` only.
"""
