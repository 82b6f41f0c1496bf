"""Teach it your gestures: guided recording into a recordings folder (and its validation).

* :mod:`asa_live.teach.folder` - the recordings folder: classes.txt, sessions, trial lists.
* :mod:`asa_live.teach.record` - the guided session: prompts on the stream's clock, labels.
* :mod:`asa_live.teach.cli` - ``asa-live-record``.

Fine-tuning on a folder is ``asa-live-train --recipe finetune`` (asa_live.train).
"""
