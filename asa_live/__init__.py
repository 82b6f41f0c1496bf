"""asa-live: real-time gesture recognition for event cameras with a streaming ASA-SNN.

Layering (dependencies point one way):
``events`` (numpy) -> ``model`` (torch) -> ``pipeline`` (no Qt) -> ``gui`` (PyQt6);
``train`` uses ``events`` and ``model`` and is the only package that imports tonic.
"""

__version__ = "0.1.0"
