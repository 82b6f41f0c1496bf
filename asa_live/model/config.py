"""Configuration of the networks and of the binning a model was trained with.

Both classes are frozen dataclasses that round-trip through JSON (``to_dict`` / ``from_dict``),
because both are stored in every checkpoint: the live binner must use exactly the window length
and geometry the model was trained on.

Defaults are the paper's (Yao et al., ICCV 2023; ../shared/docs/paper.md). Fields whose paper
value depends on the architecture (``channels``, ``hidden``, ``dropout``, ``input_size``,
``chunk_windows``, ``reduction``) default to ``None`` and are resolved in ``__post_init__``, so a
``ModelConfig`` always holds concrete values once built:

=============  ======================  ==========================
field          "3layer" (LIF)          "5layer" (PLIF + voting)
=============  ======================  ==========================
input_size     (32, 32)                (128, 128)
channels       (64, 128, 128)          (128, 128, 128, 128, 128)
hidden         256                     512
dropout        (0, 0, 0.1, 0.1, 0.1)   (0,) * 7 (as the release)
chunk_windows  60                      20
reduction      4                       1
=============  ======================  ==========================
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from asa_live.errors import ConfigError

ARCHES = ("3layer", "5layer")
ATTENTIONS = ("asa", "none")
ASA_MODES = ("chunk", "sliding")

_ARCH_DEFAULTS: dict[str, dict[str, Any]] = {
    "3layer": {
        "input_size": (32, 32),
        "channels": (64, 128, 128),
        "hidden": 256,
        "dropout": (0.0, 0.0, 0.1, 0.1, 0.1),
        "chunk_windows": 60,
        "reduction": 4,
    },
    "5layer": {
        "input_size": (128, 128),
        "channels": (128, 128, 128, 128, 128),
        "hidden": 512,
        "dropout": (0.0,) * 7,
        "chunk_windows": 20,
        "reduction": 1,
    },
}


def _fail(message: str) -> None:
    raise ConfigError(message)


def _check_keys(cls: type, data: Any, what: str) -> None:
    """``data`` must be a dict of ``cls``'s field names (a ``what`` config from a file)."""
    if not isinstance(data, dict):
        _fail(f"A {what} config must be a JSON object, got {type(data).__name__}.")
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(data) - known)
    if unknown:
        _fail(f"Unknown {what} config keys {unknown}; this file needs a newer asa-live.")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a network (weights come from the checkpoint).

    Attributes:
        arch: "3layer" (the paper's LIF-SNN for 32x32 input) or "5layer" (PLIF net with voting).
        attention: "asa" (Advance Spatial Attention in every conv block) or "none" (the baseline).
        num_classes: output classes (11 for DVS128 Gesture).
        in_channels: input planes per window (2: OFF, ON).
        input_size: (H, W) of one input frame.
        chunk_windows: K, the ASA's T (its FC runs over T). A model with ASA consumes whole
            chunks: one forward call takes T = m*K windows and applies ASA to each chunk of K on
            its own. Without attention any length works.
        reduction: r of the ASA's FC over time (T -> max(1, T // r) -> T). ``max(1, .)`` keeps
            K < r (e.g. K = 1 with r = 4) valid; the release would build a Linear(T, 0).
        lam: fraction of channels / time steps ranked "important" in ASA.
        asa_mode: "chunk" (ASA over each chunk of K = chunk_windows windows; old checkpoints)
            or "sliding" (causal: window t attends over its trailing ``asa_window`` windows,
            see docs/model.md). Sliding needs attention "asa" and runs per window:
            chunk_windows is then 1 (the default it gets), any other value is an error.
        asa_window: K of sliding ASA (its FC runs over K windows); only with "sliding".
        channels: output channels of the conv blocks.
        hidden: width of the hidden fully connected spiking layer.
        dropout: dropout probability on the input of each spiking layer (conv blocks, then the two
            fully connected layers); the mask is fixed over all windows of a sample.
        v_threshold, leak, surrogate_half_width: LIF (3layer) threshold, multiplicative leak and
            half-width ``a`` of the box surrogate (height 1 / (2a)).
        plif_tau0, plif_v_threshold, plif_surrogate_alpha: PLIF (5layer) initial time constant,
            threshold and ATan surrogate sharpness.
        voting: output neurons per class of the 5layer net (averaged into one class score).
    """

    arch: str = "3layer"
    attention: str = "asa"
    num_classes: int = 11
    in_channels: int = 2
    input_size: tuple[int, int] | None = None
    chunk_windows: int | None = None
    reduction: int | None = None
    lam: float = 0.5
    asa_mode: str = "chunk"
    asa_window: int | None = None
    channels: tuple[int, ...] | None = None
    hidden: int | None = None
    dropout: tuple[float, ...] | None = None
    v_threshold: float = 0.3
    leak: float = 0.3
    surrogate_half_width: float = 0.25
    plif_tau0: float = 2.0
    plif_v_threshold: float = 1.0
    plif_surrogate_alpha: float = 2.0
    voting: int = 10

    def __post_init__(self) -> None:
        if self.arch not in ARCHES:
            _fail(f"ModelConfig.arch must be one of {ARCHES}, got {self.arch!r}.")
        if self.attention not in ATTENTIONS:
            _fail(f"ModelConfig.attention must be one of {ATTENTIONS}, got {self.attention!r}.")
        if self.asa_mode not in ASA_MODES:
            _fail(f"ModelConfig.asa_mode must be one of {ASA_MODES}, got {self.asa_mode!r}.")
        if self.asa_mode == "sliding" and self.chunk_windows is None:
            object.__setattr__(self, "chunk_windows", 1)  # sliding runs window by window
        defaults = _ARCH_DEFAULTS[self.arch]
        for name, value in defaults.items():
            current = getattr(self, name)
            if current is None:
                current = value
            if isinstance(current, list):
                current = tuple(current)
            # frozen dataclass: __post_init__ is the one place allowed to fill in defaults
            object.__setattr__(self, name, current)
        object.__setattr__(self, "input_size", tuple(int(v) for v in self.input_size))
        object.__setattr__(self, "channels", tuple(int(v) for v in self.channels))
        object.__setattr__(self, "dropout", tuple(float(v) for v in self.dropout))
        self._validate()

    def _validate(self) -> None:
        n_conv = 3 if self.arch == "3layer" else 5
        if self.num_classes < 1:
            _fail(f"ModelConfig.num_classes must be >= 1, got {self.num_classes}.")
        if self.in_channels < 1:
            _fail(f"ModelConfig.in_channels must be >= 1, got {self.in_channels}.")
        if len(self.input_size) != 2 or min(self.input_size) < 1:
            _fail(f"ModelConfig.input_size must be (H, W) with H, W >= 1, got {self.input_size}.")
        factor = 4 if self.arch == "3layer" else 32
        h, w = self.input_size
        if h % factor or w % factor:
            _fail(
                f"ModelConfig.input_size {self.input_size} must be divisible by {factor} for the "
                f"{self.arch} net (its pooling halves the size {factor.bit_length() - 1} times)."
            )
        if self.chunk_windows < 1:
            _fail(f"ModelConfig.chunk_windows (K) must be >= 1, got {self.chunk_windows}.")
        if self.reduction < 1:
            _fail(f"ModelConfig.reduction must be >= 1, got {self.reduction}.")
        self._validate_asa_mode()
        if not 0.0 <= self.lam <= 1.0:
            _fail(f"ModelConfig.lam must be in [0, 1], got {self.lam}.")
        if len(self.channels) != n_conv or min(self.channels) < 1:
            _fail(
                f"ModelConfig.channels must hold {n_conv} positive values for the {self.arch} "
                f"net, got {self.channels}."
            )
        if self.hidden < 1:
            _fail(f"ModelConfig.hidden must be >= 1, got {self.hidden}.")
        if len(self.dropout) != n_conv + 2 or any(not 0.0 <= p < 1.0 for p in self.dropout):
            _fail(
                f"ModelConfig.dropout must hold {n_conv + 2} probabilities in [0, 1) for the "
                f"{self.arch} net, got {self.dropout}."
            )
        if self.v_threshold <= 0 or self.plif_v_threshold <= 0:
            _fail("ModelConfig thresholds (v_threshold, plif_v_threshold) must be > 0.")
        if not 0.0 <= self.leak <= 1.0:
            _fail(f"ModelConfig.leak must be in [0, 1], got {self.leak}.")
        if self.surrogate_half_width <= 0 or self.plif_surrogate_alpha <= 0:
            _fail("ModelConfig surrogate widths must be > 0.")
        if self.plif_tau0 <= 1.0:
            _fail(f"ModelConfig.plif_tau0 must be > 1, got {self.plif_tau0}.")
        if self.voting < 1:
            _fail(f"ModelConfig.voting must be >= 1, got {self.voting}.")

    def _validate_asa_mode(self) -> None:
        if self.asa_mode == "chunk":
            if self.asa_window is not None:
                _fail("ModelConfig.asa_window is only used with asa_mode 'sliding'.")
            return
        if self.attention != "asa":
            _fail("ModelConfig.asa_mode 'sliding' needs attention 'asa'.")
        window = self.asa_window
        if isinstance(window, bool) or not isinstance(window, int) or window < 1:
            _fail(f"ModelConfig.asa_window (sliding K) must be an integer >= 1, got {window!r}.")
        if self.chunk_windows != 1:
            _fail(
                "ModelConfig.chunk_windows must be 1 with asa_mode 'sliding' (it runs per "
                f"window), got {self.chunk_windows}."
            )

    @property
    def asa_time_steps(self) -> int:
        """The T of every ASA layer's FC: asa_window (sliding) or chunk_windows (chunk)."""
        return self.asa_window if self.asa_mode == "sliding" else self.chunk_windows

    @property
    def num_spiking_layers(self) -> int:
        """L: conv blocks + two fully connected layers."""
        return len(self.channels) + 2

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict (tuples become lists)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            out[f.name] = list(value) if isinstance(value, tuple) else value
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ConfigError``."""
        _check_keys(cls, data, "model")
        kwargs = {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}
        try:
            return cls(**kwargs)
        except TypeError as err:
            raise ConfigError(f"Invalid model config: {err}.") from err


@dataclass(frozen=True)
class BinningConfig:
    """How events become input frames; stored in every checkpoint.

    Attributes:
        window_us: window length in microseconds (15 ms in the paper's recipe).
        sensor_size: (width, height) of the (adapted) sensor, in pixels.
        downsample: integer factor; frames are (height // downsample, width // downsample).
        adapt_mode: how a camera of another resolution is mapped onto ``sensor_size``
            (see asa_live.events.adapt.SensorAdapter).
    """

    window_us: int = 15000
    sensor_size: tuple[int, int] = (128, 128)
    downsample: int = 4
    adapt_mode: str = "crop_scale"

    def __post_init__(self) -> None:
        object.__setattr__(self, "sensor_size", tuple(int(v) for v in self.sensor_size))
        if int(self.window_us) != self.window_us or self.window_us <= 0:
            _fail(f"BinningConfig.window_us must be a positive integer, got {self.window_us}.")
        object.__setattr__(self, "window_us", int(self.window_us))
        if len(self.sensor_size) != 2 or min(self.sensor_size) < 1:
            _fail(f"BinningConfig.sensor_size must be (width, height), got {self.sensor_size}.")
        if int(self.downsample) != self.downsample or self.downsample < 1:
            _fail(f"BinningConfig.downsample must be an integer >= 1, got {self.downsample}.")
        object.__setattr__(self, "downsample", int(self.downsample))
        if not isinstance(self.adapt_mode, str) or not self.adapt_mode:
            _fail(f"BinningConfig.adapt_mode must be a non-empty string, got {self.adapt_mode!r}.")

    @property
    def frame_size(self) -> tuple[int, int]:
        """(H, W) of the frames this binning produces."""
        width, height = self.sensor_size
        return (height // self.downsample, width // self.downsample)

    def to_dict(self) -> dict[str, Any]:
        return {
            "window_us": self.window_us,
            "sensor_size": list(self.sensor_size),
            "downsample": self.downsample,
            "adapt_mode": self.adapt_mode,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BinningConfig:
        _check_keys(cls, data, "binning")
        try:
            return cls(**data)
        except TypeError as err:
            raise ConfigError(f"Invalid binning config: {err}.") from err
