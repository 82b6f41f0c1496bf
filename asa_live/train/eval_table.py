"""The table asa-live-eval prints: one row per model, then the per-layer firing rates."""

from __future__ import annotations

from typing import Any

__all__ = ["format_table"]


def format_table(results: dict[str, Any]) -> str:
    """The printed summary: one row per model."""
    header = (
        f"{'model':<28} {'epoch':>5} {'seg acc':>8} {'clip acc':>8} {'NASFR clip':>10} "
        f"{'win acc':>8} {'win>grace':>9} {'onset med':>9} {'missed':>6} {'NASFR strm':>10}"
    )
    lines = [header, "-" * len(header)]
    for label, r in results.items():
        p, s = r.get("paper", {}), r.get("stream", {})
        onset = s.get("onset_latency_ms", {}) if s else {}
        med = onset.get("median")
        lines.append(
            f"{label:<28} {str(r.get('epoch')):>5} {_p(p.get('segment_accuracy')):>8} "
            f"{_p(p.get('clip_accuracy')):>8} {_f(p.get('nasfr')):>10} "
            f"{_p(s.get('window_accuracy')):>8} {_p(s.get('window_accuracy_after_grace')):>9} "
            f"{(f'{med:.0f} ms' if med is not None else ('-' if not s else 'missed')):>9} "
            f"{str(onset.get('missed', '-')):>6} {_f(s.get('nasfr')):>10}"
        )
    first = next(iter(results.values()), {})
    for proto in ("paper", "stream"):
        if proto in first and "layer_rates" in first[proto]:
            names = list(first[proto]["layer_rates"])
            lines.append("")
            lines.append(f"per-layer firing rate ({proto}): " + "  ".join(f"{n:>8}" for n in names))
            for label, r in results.items():
                if proto in r:
                    rates = r[proto]["layer_rates"]
                    lines.append(f"  {label:<28}" + "  ".join(f"{rates[n]:8.4f}" for n in names))
    return "\n".join(lines)


def _p(v) -> str:
    return "-" if v is None else f"{100 * v:.2f}%"


def _f(v) -> str:
    return "-" if v is None else f"{v:.4f}"
