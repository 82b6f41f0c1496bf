"""asa_live.gui: the PyQt6 + pyqtgraph window (the only package that imports Qt).

The pipeline runs in its own threads (:mod:`asa_live.pipeline.runner`); the window only draws,
pulling the latest reports on a timer at no more than 60 Hz, so the worker never waits for
the GUI.
"""
